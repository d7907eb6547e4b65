/**
 * BpfProgram: introspection, testRun (BPF_PROG_TEST_RUN), pin/unpin, and
 * the state rules around load.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { availableParallelism } from "node:os";
import {
  BpfError,
  BpfTypeError,
  ClosedError,
  StateError,
} from "../../src/errors.ts";
import { BpfObject } from "../../src/object.ts";
import { enableRunStats } from "../../src/program_info.ts";
import {
  fixture,
  isRoot,
  need,
  thrown,
  CGROUP2,
} from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const bpffs = need(
  existsSync("/sys/fs/bpf"),
  "bpffs not mounted at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)",
);
const XDP_DROP = 1;
const XDP_PASS = 2;
// struct __sk_buff (uapi/linux/bpf.h): sizeof and the offsets of mark, priority.
const SK_BUFF_SIZE = 192;
const SKB_MARK = 8;
const SKB_PRIORITY = 32;
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

  it("test-runs a tc (sched_cls) program with data and __sk_buff in and out", () => {
    using obj = BpfObject.open(fixture("test_run"));
    obj.load();
    const prog = obj.program("skb_mark");
    const pkt = new Uint8Array(64); // Ethernet header + payload
    pkt[12] = 0x08; // ETH_P_IP
    const skb = new Uint8Array(SK_BUFF_SIZE);
    const sv = new DataView(skb.buffer);
    sv.setUint32(SKB_MARK, 41, true);
    const r = prog.testRun({ data: pkt, ctx: skb, repeat: 10 });
    expect(r.retval).toBe(0); // TC_ACT_OK
    expect(r.data.length).toBe(64);
    expect(r.data[14]).toBe(0xbb);
    expect(pkt[14]).toBe(0);
    const outCtx = new DataView(r.ctx!.buffer, r.ctx!.byteOffset);
    expect(r.ctx!.length).toBe(SK_BUFF_SIZE);
    expect(outCtx.getUint32(SKB_PRIORITY, true)).toBe(42);
    // Too short for the Ethernet header the kernel needs.
    expect(() => prog.testRun({ data: new Uint8Array(4) })).toThrow(BpfError);
    // A ctx shorter than __sk_buff (the rest zero): the whole struct comes
    // back (the kernel said ENOSPC when the out buffer was the ctx's size).
    const short = prog.testRun({ data: pkt, ctx: skb.subarray(0, 40) });
    expect(short.ctx!.length).toBe(SK_BUFF_SIZE);
    expect(new DataView(short.ctx!.buffer).getUint32(SKB_PRIORITY, true)).toBe(
      42,
    );
    // Larger than a page: the hint gives both bounds.
    expect(() => prog.testRun({ data: new Uint8Array(1 << 20) })).toThrow(
      /14 bytes \(an Ethernet header\) up to about a page/,
    );
  });

  it("test-runs a syscall program: ctx in, ctx written back", () => {
    using obj = BpfObject.open(fixture("test_run"));
    obj.load();
    const prog = obj.program("sum_syscall");
    expect(prog.type).toBe("syscall");
    const args = new Uint8Array(16);
    const v = new DataView(args.buffer);
    v.setUint32(0, 20, true);
    v.setUint32(4, 22, true);
    const r = prog.testRun({ ctx: args });
    expect(r.retval).toBe(40);
    expect(r.data.length).toBe(0);
    expect(new DataView(r.ctx!.buffer).getBigUint64(8, true)).toBe(42n);
    expect(v.getBigUint64(8, true)).toBe(0n); // the caller's bytes are kept
    expect(() => prog.testRun({ ctx: args, data: new Uint8Array(14) })).toThrow(
      /syscall test runs take ctx only/,
    );
    expect(() => prog.testRun({ ctx: args, repeat: 5 })).toThrow(BpfTypeError);
    // A ctx smaller than what the program reads is the kernel's EINVAL.
    const small = (() => {
      try {
        prog.testRun({ ctx: new Uint8Array(4) });
      } catch (e) {
        return e as BpfError;
      }
    })();
    expect(small).toBeInstanceOf(BpfError);
    expect(small!.code).toBe("EINVAL");
    expect(small!.hint).toMatch(/ctx at least as large/);
  });

  it("test-runs a raw_tp program with its u64 args, on a chosen CPU", () => {
    using obj = BpfObject.open(fixture("test_run"));
    obj.load();
    const prog = obj.program("raw_tp_args");
    const args = new BigUint64Array([1n, 0x1234_5678_9n]);
    const bytes = new Uint8Array(args.buffer);
    const r = prog.testRun({ ctx: bytes });
    expect(r.retval).toBe(7);
    expect(r.ctx).toBeUndefined();
    expect(obj.globals.raw_tp_arg1).toBe(0x1234_5678_9n);
    const cpus = availableParallelism();
    const cpu = cpus - 1;
    prog.testRun({ ctx: bytes, cpu });
    expect(obj.globals.raw_tp_cpu).toBe(cpu);
    expect(() => prog.testRun({ ctx: bytes, repeat: 3 })).toThrow(
      /raw_tracepoint test runs take ctx \(the u64 arguments\) and cpu/,
    );
    expect(() => prog.testRun({ data: new Uint8Array(64) })).toThrow(
      BpfTypeError,
    );
  });

  it("test-runs a flow dissector: the output is its struct bpf_flow_keys", () => {
    using obj = BpfObject.open(fixture("attach_kinds"));
    obj.load();
    const pkt = new Uint8Array(64);
    pkt[12] = 0x08; // ETH_P_IP
    const r = obj.program("on_flow").testRun({ data: pkt });
    expect(r.retval).toBe(0); // BPF_OK
    // sizeof(struct bpf_flow_keys); nhoff and thoff start past Ethernet.
    expect(r.data.length).toBe(56);
    expect(new DataView(r.data.buffer).getUint16(0, true)).toBe(14);
  });

  it("says when a program type cannot be test-run (kernel feature absent)", () => {
    using obj = openAttach();
    const err = (() => {
      try {
        obj.program("on_getpid").testRun({ data: new Uint8Array(64) });
      } catch (e) {
        return e as BpfError;
      }
    })();
    expect(err).toBeInstanceOf(BpfError);
    expect(err!.code).toBe("ENOTSUPP");
    expect(err!.hint).toMatch(/tracepoint does not support test runs/);
  });

  it("says tp_btf and iterator programs cannot be test-run (the kernel's EFAULT)", () => {
    using obj = BpfObject.open(fixture("iter"));
    obj.load();
    const e = thrown(() => obj.program("dump_task").testRun()) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("EFAULT");
    expect(e.hint).toMatch(
      /only fentry\/fexit\/fmod_ret programs .* can be test-run: this one is in SEC\("iter\/task"\)/,
    );
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
    // A second pin would orphan the first (it keeps the program loaded
    // after the process exits, and unpin() only knows the last).
    expect(() => prog.pin(`${PIN_DIR}/again`)).toThrow(
      /is pinned at .*xdp_filter already: unpin\(\) it first/,
    );
    expect(existsSync(`${PIN_DIR}/again`)).toBe(false);
    prog.unpin();
    expect(existsSync(path)).toBe(false);
    expect(prog.pinnedPath).toBeNull();
    // Something else at the path: libbpf's EEXIST.
    prog.pin(path);
    const other = obj.program("on_getpid");
    expect(() => other.pin(path)).toThrow(/EEXIST/);
    prog.unpin();
    // unpin(path) removes a pin of this program only: a typo must not
    // remove a map's pin or another program's.
    const mapPin = `${PIN_DIR}/map`;
    obj.maps[0]!.pin(mapPin);
    other.pin(`${PIN_DIR}/other`);
    try {
      expect(() => prog.unpin(mapPin)).toThrow(
        /is a map pinned on bpffs, not a pin of program 'xdp_filter'/,
      );
      expect(() => prog.unpin(`${PIN_DIR}/other`)).toThrow(
        /pins another program \(id \d+\), not 'xdp_filter' \(id \d+\)/,
      );
      expect(existsSync(mapPin)).toBe(true);
      expect(existsSync(`${PIN_DIR}/other`)).toBe(true);
      // Its own pin under another path than pin()'s is fine.
      other.unpin(`${PIN_DIR}/other`);
      expect(existsSync(`${PIN_DIR}/other`)).toBe(false);
    } finally {
      obj.maps[0]!.unpin(mapPin);
    }
  });

  it.skipIf(!bpffs)(
    "a program's pin outlives a handle closed on its own: the next handle knows it",
    () => {
      using obj = openAttach();
      mkdirSync(PIN_DIR, { recursive: true });
      const path = `${PIN_DIR}/xdp_filter`;
      {
        using prog = obj.program("xdp_filter");
        prog.pin(path);
      }
      const again = obj.program("xdp_filter");
      expect(again.closed).toBe(false);
      expect(again.pinnedPath).toBe(path);
      // Still one pin at a time: a second would be orphaned.
      expect(() => again.pin(`${PIN_DIR}/second`)).toThrow(
        /is pinned at .*xdp_filter already: unpin\(\) it first/,
      );
      again.unpin();
      expect(existsSync(path)).toBe(false);
      expect(existsSync(`${PIN_DIR}/second`)).toBe(false);
      expect(obj.program("xdp_filter").pinnedPath).toBeNull();
    },
  );

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

  it("names the program in attach errors and says which attach*() it needs", () => {
    using obj = openAttach();
    // SEC("xdp") names no interface: libbpf's EOPNOTSUPP, with the way out.
    const auto = (() => {
      try {
        obj.program("xdp_filter").attach();
      } catch (e) {
        return e as BpfError;
      }
    })();
    expect(auto).toBeInstanceOf(BpfError);
    expect(auto!.code).toBe("EOPNOTSUPP");
    expect(auto!.message).toMatch(/program 'xdp_filter' \(xdp\)/);
    expect(auto!.hint).toBe(
      'SEC("xdp") names no attach target: attach this xdp program with attachXdp(ifname)',
    );
    // An explicit attach of the wrong program type says so.
    expect(() => obj.program("on_getpid").attachXdp("lo")).toThrow(
      /program 'on_getpid' \(xdp lo\)[^]*'on_getpid' is a tracepoint program \(SEC\("tp\/syscalls\/sys_enter_getpid"\)\): attachXdp attaches SEC\("xdp"\) programs/,
    );
    expect(() =>
      obj
        .program("xdp_filter")
        .attachTracepoint("syscalls", "sys_enter_getpid"),
    ).toThrow(/'xdp_filter' is a xdp program .*attachTracepoint attaches/);
    const xdp = obj.program("xdp_filter");
    expect(() => xdp.attachLsm()).toThrow(/attachLsm attaches SEC\("lsm/);
    expect(() => xdp.attachNetns("/proc/self/ns/net")).toThrow(
      /attachNetns attaches SEC\("flow_dissector"\) and SEC\("sk_lookup"\)/,
    );
    expect(() =>
      obj
        .program("on_uprobe")
        .attachUprobe({ binaryPath: "/bin/ls", symbol: "no_such_function" }),
    ).toThrow(/no function 'no_such_function' in \/bin\/ls/);
    expect(() =>
      obj
        .program("on_uprobe")
        .attachUprobe({ binaryPath: "/no/such/binary", symbol: "main" }),
    ).toThrow(/no such file \/no\/such\/binary/);
    expect(() =>
      obj.program("on_uprobe").attachUsdt({
        binaryPath: "/no/such/binary",
        provider: "p",
        name: "n",
      }),
    ).toThrow(/no such file \/no\/such\/binary/);
    // Each explicit attach names the sections it takes when the program
    // is of another type (these were bare EINVALs).
    const tp = obj.program("on_getpid");
    const hintOf = (fn: () => unknown) => (thrown(fn) as BpfError).hint ?? "";
    expect(hintOf(() => xdp.attachTc("lo", "ingress"))).toMatch(
      /'xdp_filter' is a xdp program .*: attachTc attaches SEC\("tc"\) programs/,
    );
    expect(hintOf(() => tp.attachCgroup(CGROUP2 ?? "/sys/fs/cgroup"))).toMatch(
      /attachCgroup attaches SEC\("cgroup_skb\/\.\.\."\), SEC\("cgroup\/\.\.\."\) and SEC\("sockops"\) programs/,
    );
    expect(hintOf(() => tp.attachRawTracepoint("sys_enter"))).toMatch(
      /attachRawTracepoint attaches SEC\("raw_tp\/\.\.\."\)/,
    );
    expect(
      hintOf(() =>
        tp.attachUprobe({ binaryPath: "libc.so.6", symbol: "getppid" }),
      ),
    ).toMatch(/attachUprobe attaches SEC\("uprobe\/\.\.\."\)/);
    expect(
      hintOf(() =>
        xdp.attachPerfEvent({
          type: "software",
          config: "cpu-clock",
          frequency: 10,
          cpu: 0,
        }),
      ),
    ).toMatch(/attachPerfEvent attaches SEC\("perf_event"\) programs/);
    expect(hintOf(() => tp.attachTrace())).toMatch(
      /attachTrace attaches SEC\("fentry\/\.\.\."\)/,
    );
    expect(hintOf(() => tp.attachIter())).toMatch(
      /attachIter attaches SEC\("iter\/\.\.\."\) programs/,
    );
    // A raw tracepoint is named without a category.
    const raw = hintOf(() =>
      obj.program("on_sys_enter").attachRawTracepoint("no_such_tp"),
    );
    expect(raw).toMatch(/no raw tracepoint 'no_such_tp'/);
    expect(raw).not.toMatch(/\(raw\)/);
    // lo has no native (driver) XDP.
    expect(hintOf(() => xdp.attachXdp("lo", { mode: "drv" }))).toMatch(
      /lo has no native XDP in its driver: use mode "skb"/,
    );
    // One XDP program per interface and mode: the second says who holds it.
    using _first = xdp.attachXdp("lo");
    expect(() => xdp.attachXdp("lo")).toThrow(
      /interface lo already has an XDP program/,
    );
  });

  it("says which section libbpf does not know, and the one meant", () => {
    using obj = BpfObject.open(fixture("unknown_section"));
    expect(obj.program("misspelled").type).toBe("unspec");
    const e = thrown(() => obj.load()) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("EINVAL");
    expect(e.hint).toMatch(
      /libbpf [0-9.]+ gives no program type to SEC\("tracepiont\/syscalls\/sys_enter_getpid"\) \(program 'misspelled'\): did you mean SEC\("tracepoint\/\.\.\."\)\?/,
    );
  });

  it("attach() of a uprobe or USDT program without a target names the call that takes one", () => {
    using obj = BpfObject.open(fixture("usdt"));
    obj.load();
    expect(
      (thrown(() => obj.program("on_tick").attach()) as BpfError).hint,
    ).toBe(
      'SEC("usdt") names no attach target: attach this kprobe program with attachUsdt({ binaryPath, provider, name })',
    );
    using att = BpfObject.open(fixture("attach"));
    att.program("on_kprobe").autoload = false;
    att.load();
    expect(
      (thrown(() => att.program("on_uprobe").attach()) as BpfError).hint,
    ).toBe(
      'SEC("uprobe") names no attach target: attach this kprobe program with attachUprobe({ binaryPath, symbol | offset })',
    );
  });

  it("attach() of a perf_event program names the options form a profiler needs, per CPU", () => {
    using obj = openAttach();
    expect(
      (thrown(() => obj.program("on_perf_event").attach()) as BpfError).hint,
    ).toBe(
      'SEC("perf_event") names no attach target: attach this perf_event program with attachPerfEvent({ type: "software", config: "cpu-clock", frequency: 99, cpu }) for each cpu of onlineCpus(), or attachPerfEvent(fd) for a perf event you opened',
    );
  });

  it("a netkit program (typed by tsbpf, which has no netkit attach) loads, and attach() says what it can do", () => {
    using obj = BpfObject.open(fixture("netkit"));
    const prog = obj.program("nk_next");
    expect(prog.type).toBe("sched_cls");
    obj.load();
    const hint = (thrown(() => prog.attach()) as BpfError).hint;
    expect(hint).not.toMatch(/names no attach target|attachTc\(/);
    expect(hint).toBe(
      "SEC(\"netkit/primary\"): tsbpf cannot attach netkit programs yet (a netkit link on a netkit device, Linux ≥ 6.7): attachTcx(ifname, { direction }) runs 'nk_next' as a tcx program instead (their verdicts are the same)",
    );
    // As the hint says (the kernel takes sched_cls programs on tcx hooks).
    using link = prog.attachTcx("lo", { direction: "ingress" });
    expect(link.info().type).toBe("tcx");
  });

  it("attaching a program left out of load() is a StateError", () => {
    using obj = BpfObject.open(fixture("attach"));
    obj.program("on_kprobe").autoload = false;
    obj.program("on_getpid").autoload = false;
    obj.load();
    const p = obj.program("on_getpid");
    for (const attach of [
      () => p.attach(),
      () => p.attachTracepoint("syscalls", "sys_enter_getpid"),
    ]) {
      const e = thrown(attach);
      expect(e).toBeInstanceOf(StateError);
      expect(e.message).toMatch(
        /'on_getpid' was not loaded \(autoload was off/,
      );
    }
  });

  it("is a ClosedError after its object closes", () => {
    const obj = openAttach();
    const prog = obj.program("xdp_filter");
    obj.close();
    expect(() => prog.testRun({ data: new Uint8Array(64) })).toThrow(
      ClosedError,
    );
    expect(() => prog.pin("/sys/fs/bpf/x")).toThrow(ClosedError);
    // Every attach form, before it reaches libbpf or the kernel.
    for (const attach of [
      () => prog.attach(),
      () => prog.attachXdp("lo"),
      () => prog.attachXdp("lo", { mode: "skb" }),
      () => prog.attachTc("lo", "ingress"),
      () => prog.attachTcx("lo", { direction: "ingress" }),
      () => prog.attachIter(),
      () =>
        prog.attachNetfilter({ family: "ipv4", hook: "output", priority: 1 }),
      () => prog.attachNetns("/proc/self/ns/net"),
      () => prog.attachCgroup("/sys/fs/cgroup"),
      () => prog.attachRawTracepoint("sys_enter"),
      () =>
        prog.attachPerfEvent({
          type: "software",
          config: "cpu-clock",
          frequency: 1,
          cpu: 0,
        }),
    ]) {
      expect(attach).toThrow(ClosedError);
    }
    expect(() => prog.name).not.toThrow();
  });
});

describe.skipIf(!root)("program.info() and run statistics", () => {
  /** `bpftool prog show id N -j`: the reference. */
  function bpftoolShow(id: number): Record<string, unknown> {
    const out = execFileSync(
      "bpftool",
      ["prog", "show", "id", String(id), "-j"],
      {
        encoding: "utf8",
      },
    );
    return JSON.parse(out);
  }

  it("reports what bpftool reports", () => {
    using obj = openAttach();
    const prog = obj.program("xdp_filter");
    const info = prog.info();
    const ref = bpftoolShow(info.id);
    expect(info.id).toBe(prog.id);
    expect(info.type).toBe("xdp");
    expect(info.name).toBe(ref.name);
    expect(info.tag).toBe(ref.tag);
    expect(info.gplCompatible).toBe(ref.gpl_compatible);
    expect(info.translatedSize).toBe(ref.bytes_xlated);
    expect(info.jitedSize).toBe(ref.bytes_jited ?? 0);
    expect(info.createdByUid).toBe(0);
    expect(info.btfId).toBe(ref.btf_id);
    expect([...info.mapIds].sort()).toEqual(
      [...((ref.map_ids as number[]) ?? [])].sort(),
    );
    expect(info.mapIds.length).toBeGreaterThan(0); // its .bss
    expect(info.verifiedInstructions).toBeGreaterThan(0);
    expect(info.loadTime).toBeGreaterThan(0n);
  });

  it("counts runs while run statistics are on", () => {
    using obj = openAttach();
    const prog = obj.program("xdp_filter");
    const before = prog.info();
    {
      using stats = enableRunStats();
      expect(stats.closed).toBe(false);
      prog.testRun({ data: new Uint8Array(64), repeat: 50 });
      const during = prog.info();
      expect(during.runCount - before.runCount).toBe(50n);
      expect(during.runTimeNs).toBeGreaterThan(before.runTimeNs);
      expect(bpftoolShow(during.id).run_cnt).toBe(Number(during.runCount));
    }
    // Whether counting stops once `stats` closes depends on every other
    // process too (the kernel counts while any such fd is open): not
    // something this test can know.
  });

  it("needs a loaded program", () => {
    using obj = BpfObject.open(fixture("attach"));
    expect(() => obj.program("xdp_filter").info()).toThrow(StateError);
    obj.close();
    expect(() => obj.program("xdp_filter").info()).toThrow(ClosedError);
  });
});
