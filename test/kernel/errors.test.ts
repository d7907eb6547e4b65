/**
 * Errors: errno names, libbpf's own codes, hints, the libbpf log attached
 * to errors or routed to a handler, and the complete verifier log.
 */
import { describe, expect, it } from "vitest";
import { bpfError } from "../../src/bpf_error.ts";
import { Errno, errnoMessage, errnoName } from "../../src/errno.ts";
import { BpfError, BpfVerifierError } from "../../src/errors.ts";
import {
  type LibbpfLogLevel,
  setLibbpfLogHandler,
} from "../../src/libbpf_log.ts";
import { BpfObject } from "../../src/object.ts";
import { fixture, isRoot, need } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
}

describe("errno", () => {
  it("maps numbers and names both ways", () => {
    expect(errnoName(1)).toBe("EPERM");
    expect(errnoName(-2)).toBe("ENOENT");
    expect(errnoName(7)).toBe("E2BIG");
    expect(errnoName(524)).toBe("ENOTSUPP");
    expect(errnoName(95)).toBe("EOPNOTSUPP");
    expect(errnoName(4007)).toBe("LIBBPF_ERRNO__VERIFY");
    expect(errnoName(9999)).toBe("E9999");
    expect(Errno.EEXIST).toBe(17);
    expect(errnoMessage(28)).toBe("No space left on device");
  });
});

describe.skipIf(!root)("BpfError", () => {
  it("carries errno, name, libbpf's message and a hint", () => {
    const e = bpfError("bpf_map_update_elem", -7, { kind: "map-update" });
    expect(e).toBeInstanceOf(BpfError);
    expect(e.errno).toBe(7);
    expect(e.code).toBe("E2BIG");
    expect(e.op).toBe("bpf_map_update_elem");
    expect(e.hint).toMatch(/raise maxEntries|LRU/);
    expect(bpfError("x", 4007).message).toMatch(
      /Kernel verifier blocks program loading/,
    );
    expect(bpfError("x", 95).hint).toMatch(/kernel lacks this feature/);
    expect(bpfError("x", 1).hint).toMatch(/CAP_BPF/);
    expect(bpfError("pin", 22, { kind: "pin", path: "/tmp/x" }).hint).toMatch(
      /mount -t bpf bpf \/sys\/fs\/bpf/,
    );
  });

  it("gives the complete verifier log on rejection", () => {
    const obj = BpfObject.open(fixture("bad_verifier"));
    try {
      const e = thrown(() => obj.load()) as BpfVerifierError;
      expect(e).toBeInstanceOf(BpfVerifierError);
      expect(e.message).toMatch(/bad_prog/);
      expect(e.message).toMatch(/outside of the packet/);
      const log = e.verifierLog!;
      expect(log).toMatch(/invalid access to packet/);
      // Complete: from the first instruction to the verifier's summary.
      expect(log).toMatch(/^(func#0 @0\n)?0: R1=ctx/);
      expect(log.trimEnd()).toMatch(/processed \d+ insns .*$/);
      expect(e.libbpfLog).toMatch(/BEGIN PROG LOAD LOG/);
    } finally {
      obj.close();
    }
  });

  it("loads the rest when the bad program's autoload is off", () => {
    using obj = BpfObject.open(fixture("bad_verifier"));
    obj.program("bad_prog").autoload = false;
    obj.load();
    expect(obj.program("ok_prog").fd).toBeGreaterThan(0);
  });

  it("routes libbpf's log to a handler, globally and per object", () => {
    const lines: [LibbpfLogLevel, string][] = [];
    setLibbpfLogHandler((level, msg) => lines.push([level, msg]));
    try {
      using obj = BpfObject.open(fixture("minimal"));
      obj.load();
    } finally {
      setLibbpfLogHandler(null);
    }
    expect(lines.some(([l]) => l === "debug")).toBe(true);
    expect(lines.every(([, m]) => !m.endsWith("\n"))).toBe(true);

    const own: string[] = [];
    const obj = BpfObject.open(fixture("bad_verifier"), {
      logHandler: (_l, m) => own.push(m),
    });
    try {
      thrown(() => obj.load());
    } finally {
      obj.close();
    }
    expect(own.join("\n")).toMatch(/BEGIN PROG LOAD LOG/);
  });

  it("attaches the captured libbpf log to the error", () => {
    const e = thrown(() =>
      BpfObject.open(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0])),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.libbpfLog).toMatch(/libbpf: /);
  });
});
