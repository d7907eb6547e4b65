/**
 * BpfProgram: introspection, testRun (BPF_PROG_TEST_RUN), pin/unpin, and
 * the state rules around load.
 */
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { BpfError, ClosedError, StateError } from "../../src/errors.ts";
import { BpfObject } from "../../src/object.ts";
import { fixture, isRoot, need } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const bpffs = need(
  existsSync("/sys/fs/bpf"),
  "bpffs not mounted at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)",
);
const XDP_DROP = 1;
const XDP_PASS = 2;
const PIN_DIR = `/sys/fs/bpf/tsbpf-program-test-${process.pid}`;

function openAttach(): BpfObject {
  const obj = BpfObject.open(fixture("attach"));
  obj.program("on_kprobe").autoload = false; // loads without CONFIG_KPROBES too
  obj.load();
  return obj;
}

describe.skipIf(!root)("BpfProgram", () => {
  afterEach(() => rmSync(PIN_DIR, { recursive: true, force: true }));

  it("describes itself", () => {
    using obj = BpfObject.open(fixture("attach"));
    const p = obj.program("on_getpid");
    expect(p.name).toBe("on_getpid");
    expect(p.sectionName).toBe("tp/syscalls/sys_enter_getpid");
    expect(p.type).toBe("tracepoint");
    expect(obj.program("xdp_filter").type).toBe("xdp");
    expect(obj.program("on_tc").type).toBe("sched_cls");
    expect(obj.program("on_sys_enter").type).toBe("raw_tracepoint");
    expect(() => p.fd).toThrow(StateError);
    expect(() => p.attach()).toThrow(/call obj.load\(\) first/);
  });

  it("test-runs an XDP program with data in and out", () => {
    using obj = openAttach();
    const prog = obj.program("xdp_filter");
    const pkt = new Uint8Array(64);
    pkt[0] = 0x01;
    const pass = prog.testRun({ data: pkt });
    expect(pass.retval).toBe(XDP_PASS);
    expect(pass.data.length).toBe(64);
    expect(pass.data[0]).toBe(0x01);
    expect(pass.data[1]).toBe(0xaa); // written by the program
    expect(pkt[1]).toBe(0); // the input is not touched

    pkt[0] = 0xff;
    const drop = prog.testRun({ data: pkt, repeat: 100 });
    expect(drop.retval).toBe(XDP_DROP);
    expect(drop.duration).toBeGreaterThanOrEqual(0);
    expect(obj.globals.xdp_hits).toBe(101n);
  });

  it("reports a too-small output buffer", () => {
    using obj = openAttach();
    const err = (() => {
      try {
        obj
          .program("xdp_filter")
          .testRun({ data: new Uint8Array(64), dataSizeOut: 8 });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(BpfError);
    expect((err as BpfError).code).toBe("ENOSPC");
    expect(String(err)).toMatch(/dataSizeOut/);
  });

  it.skipIf(!bpffs)("pins and unpins a program", () => {
    using obj = openAttach();
    mkdirSync(PIN_DIR, { recursive: true });
    const prog = obj.program("xdp_filter");
    const path = `${PIN_DIR}/xdp_filter`;
    prog.pin(path);
    expect(existsSync(path)).toBe(true);
    expect(prog.pinnedPath).toBe(path);
    expect(() => prog.pin(path)).toThrow(/EEXIST/);
    prog.unpin();
    expect(existsSync(path)).toBe(false);
    expect(prog.pinnedPath).toBeNull();
  });

  it("explains a pin outside bpffs", () => {
    using obj = openAttach();
    let err: unknown;
    try {
      obj.program("xdp_filter").pin(`/tmp/tsbpf-not-bpffs-${process.pid}`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BpfError);
    expect(String(err)).toMatch(/mount -t bpf bpf \/sys\/fs\/bpf/);
  });

  it("is a ClosedError after its object closes", () => {
    const obj = openAttach();
    const prog = obj.program("xdp_filter");
    obj.close();
    expect(() => prog.testRun({ data: new Uint8Array(64) })).toThrow(
      ClosedError,
    );
    expect(() => prog.pin("/sys/fs/bpf/x")).toThrow(ClosedError);
    expect(() => prog.name).not.toThrow();
  });
});
