/**
 * obj.globals: typed initial values before load, live kernel values after
 * (through an mmap of the global-data maps), rodata rules, names.
 */
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import {
  BpfTypeError,
  BtfTypeError,
  ClosedError,
  NotFoundError,
  StateError,
} from "../../src/errors.ts";
import { BpfObject } from "../../src/object.ts";
import { fixture, isRoot, need, thrown } from "../_support/fixtures.ts";
import { existsSync } from "node:fs";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const tracefs = need(
  existsSync("/sys/kernel/tracing/events/syscalls"),
  "tracefs not mounted (mount -t tracefs tracefs /sys/kernel/tracing)",
);

describe.skipIf(!root)("globals", () => {
  it("lists every global of .rodata, .data, .bss and custom sections", () => {
    using obj = BpfObject.open(fixture("globals"));
    expect(Object.keys(obj.globals)).toEqual([
      "target_pid",
      "greeting",
      "rodata_neg",
      "multiplier",
      "name_buf",
      "pair_val",
      "custom_val",
      "counter",
      "seen_multiplier",
      "seen_custom",
      "signed_val",
    ]);
    expect("counter" in obj.globals).toBe(true);
    expect("nope" in obj.globals).toBe(false);
    const d = obj.globalVariables.describe("custom_val");
    expect(d.section).toBe(".data.custom");
    expect(d.readonly).toBe(false);
    expect(obj.globalVariables.describe("greeting").readonly).toBe(true);
    // Offsets come from libbpf's fixed-up BTF, not the object file's zeros.
    expect(obj.globalVariables.describe("pair_val").offset).toBeGreaterThan(0);
  });

  it("describe() gives only the documented fields", () => {
    using obj = BpfObject.open(fixture("globals"));
    // pair_val is a struct: internally it has a cell for live views.
    const d = obj.globalVariables.describe("pair_val");
    expect(Object.keys(d).sort()).toEqual(
      ["name", "offset", "readonly", "section", "size", "typeName"].sort(),
    );
    expect(d).toEqual({
      name: "pair_val",
      section: ".data",
      offset: d.offset,
      size: 16,
      readonly: false,
      typeName: "struct pair",
    });
  });

  it("reads typed initial values before load", () => {
    using obj = BpfObject.open(fixture("globals"));
    const g = obj.globals;
    expect(g.target_pid).toBe(0);
    expect(g.greeting).toBe("hello");
    expect(g.rodata_neg).toBe(-5);
    expect(g.multiplier).toBe(3);
    expect(g.name_buf).toBe("init");
    expect(g.custom_val).toBe(7);
    expect(g.counter).toBe(0n);
    const pair = g.pair_val as { a: number; b: bigint };
    expect(pair.a).toBe(1);
    expect(pair.b).toBe(2n);
  });

  it("writes before load are what the program runs with; .bss is live after", () => {
    if (!tracefs) return;
    using obj = BpfObject.open(fixture("globals"));
    const g = obj.globals;
    const pid = libc().getpid();
    g.target_pid = pid;
    g.multiplier = 10;
    g.custom_val = 42;
    g.name_buf = "changed";
    expect(g.name_buf).toBe("changed");
    obj.load();
    expect(g.target_pid).toBe(pid); // rodata is readable after load
    using _link = obj.program("count_getppid").attach();
    for (let i = 0; i < 7; i++) libc().getppid();
    expect(g.counter).toBe(7n);
    expect(g.seen_multiplier).toBe(15n); // 10 * 2 + rodata_neg
    expect(g.seen_custom).toBe(42);
    // Writes after load reach the kernel's copy.
    g.counter = 100n;
    libc().getppid();
    expect(g.counter).toBe(101n);
    g.multiplier = 4;
    libc().getppid();
    expect(g.seen_multiplier).toBe(3n); // 4 * 2 - 5
  });

  it("refuses to write .rodata after load", () => {
    using obj = BpfObject.open(fixture("globals"));
    obj.load();
    expect(() => (obj.globals.target_pid = 1)).toThrow(StateError);
    expect(() => (obj.globals.greeting = "x")).toThrow(/before obj.load\(\)/);
    obj.globals.signed_val = -9n;
    expect(obj.globals.signed_val).toBe(-9n);
  });

  it("freezes a global-data map the globals have mapped: they read live and refuse writes (EBUSY before)", () => {
    if (!tracefs) return;
    using obj = BpfObject.open(fixture("globals"));
    const g = obj.globals;
    g.target_pid = libc().getpid();
    obj.load();
    using _link = obj.program("count_getppid").attach();
    const bss = obj.maps.find((m) => m.name.endsWith(".bss"))!;
    const data = obj.maps.find((m) => m.name.endsWith(".data"))!;
    g.counter = 5n; // maps .bss writable
    const pair = g.pair_val as { a: number };
    pair.a = 9; // and .data
    bss.freeze();
    data.freeze();
    expect(bss.frozen && data.frozen).toBe(true);
    // BPF programs still write it, and the globals read it live.
    libc().getppid();
    expect(g.counter).toBe(6n);
    expect(pair.a).toBe(9);
    const write = (() => {
      try {
        g.counter = 1n;
      } catch (e) {
        return e;
      }
    })() as StateError;
    expect(write).toBeInstanceOf(StateError);
    expect(write.message).toMatch(/map '.*\.bss' is frozen/);
    expect(() => (pair.a = 1)).toThrow(/is frozen/);
    expect(() => (g.multiplier = 1)).toThrow(/is frozen/);
    expect(g.counter).toBe(6n);
    // Other sections stay writable.
    g.custom_val = 8;
    expect(g.custom_val).toBe(8);
    expect(obj.globalVariables.describe("counter").readonly).toBe(false);
  });

  it("a map frozen from inside a write to one of its globals: a StateError, the write lands", () => {
    using obj = BpfObject.open(fixture("globals"));
    obj.load();
    const data = obj.maps.find((m) => m.name.endsWith(".data"))!;
    obj.globals.multiplier = 1; // maps .data writable
    let refused: unknown;
    obj.globals.pair_val = {
      get a() {
        try {
          data.freeze();
        } catch (e) {
          refused = e;
        }
        return 2;
      },
      b: 3n,
    };
    expect(refused).toBeInstanceOf(StateError);
    expect((obj.globals.pair_val as { a: number }).a).toBe(2);
    data.freeze(); // after it: fine
    expect(() => (obj.globals.multiplier = 3)).toThrow(/is frozen/);
  });

  it("names the globals there are for an unknown one", () => {
    using obj = BpfObject.open(fixture("globals"));
    expect(() => obj.globals.nope).toThrow(NotFoundError);
    expect(() => obj.globals.nope).toThrow(/available: target_pid, greeting/);
    expect(() => (obj.globals.nope = 1)).toThrow(NotFoundError);
  });

  it("rejects a badly typed value without writing", () => {
    using obj = BpfObject.open(fixture("globals"));
    expect(() => (obj.globals.multiplier = "x")).toThrow(BtfTypeError);
    expect(obj.globals.multiplier).toBe(3);
  });

  it("a badly typed value's error names the global it was for (the message named only its C type)", () => {
    using obj = BpfObject.open(fixture("globals"));
    const o = obj.globals as Record<string, any>;
    const e = thrown(() => (o.target_pid = -1));
    expect(e).toBeInstanceOf(BtfTypeError);
    expect(e.message).toMatch(
      /^global 'target_pid': expected .*0\.\.4294967295.*got -1$/,
    );
    expect(() => (o.pair_val = { a: -1 })).toThrow(
      /^global 'pair_val'\.a: expected __u32/,
    );
    expect(() => (o.pair_val.a = -1)).toThrow(
      /^global 'pair_val': field 'a' of struct pair: expected __u32/,
    );
    expect(o.target_pid).toBe(0);
    expect(o.pair_val.a).toBe(1);
    using arrays = BpfObject.open(fixture("skeleton_globals"));
    const g = arrays.globals as Record<string, any>;
    expect(() => (g.slots[1] = "x")).toThrow(/^global 'slots': element \[1\]/);
    expect(() => g.slots.set(0, -1)).toThrow(/^global 'slots': element \[0\]/);
    expect(() => (g.pairs[0].a = -1)).toThrow(
      /^global 'pairs'\[0\]: field 'a' of struct pair/,
    );
    expect(() => (g.pairs[0].nope = 1)).toThrow(
      /^global 'pairs'\[0\] has no member 'nope'/,
    );
    expect(g.slots[1]).toBe(2);
    expect(g.pairs[0].a).toBe(1);
  });

  it("logs as its values: the globals, array and struct globals (console.log showed empty objects)", () => {
    const obj = BpfObject.open(fixture("skeleton_globals"));
    const g = obj.globals as Record<string, unknown>;
    expect(inspect(g.limits)).toBe("[ 10n, 20n, 30n ]");
    expect(inspect(g.rpair)).toBe("{ a: 5, b: 6n }");
    expect(inspect(g)).toMatch(/limits: \[ 10n, 20n, 30n \]/);
    const limits = g.limits;
    obj.close();
    expect(inspect(limits)).toMatch(/is closed/);
  });

  it("is a ClosedError after close", () => {
    const obj = BpfObject.open(fixture("globals"));
    obj.load();
    const g = obj.globals;
    void g.counter;
    obj.close();
    expect(() => g.counter).toThrow(ClosedError);
    expect(() => (g.counter = 1n)).toThrow(ClosedError);
  });

  it("struct and array globals are live views, before and after load", () => {
    const obj = BpfObject.open(fixture("test_run"));
    const g = obj.globals as Record<string, any>;
    const run = (a: number) => {
      const args = new Uint8Array(16);
      new DataView(args.buffer).setUint32(0, a, true);
      return obj.program("apply_cfg").testRun({ ctx: args }).retval;
    };
    const cfg = g.cfg; // held across load: still the live value after it
    expect(cfg.mul).toBe(2);
    cfg.mul = 5; // before load: libbpf's initial value
    g.cfg.vals[2] = 1;
    g.rcfg.add = 7; // .rodata is writable until load
    expect(g.cfg.mul).toBe(5);
    expect([...g.cfg.vals]).toEqual([0, 0, 1, 0]);
    obj.load();
    expect(run(10)).toBe(10 * 5 + 100 + 3000 + 70000);
    cfg.add = 4; // after load: the kernel's value, through the mmap
    cfg.vals[2] = 2;
    expect(run(10)).toBe(10 * 5 + 4 + 200 + 3000 + 70000);
    g.cfg = { mul: 1, add: 0, vals: [0, 0, 0, 0] }; // whole-struct write
    expect(cfg.mul).toBe(1);
    expect(run(10)).toBe(10 + 3000 + 70000);
    expect(cfg.toObject()).toEqual({ mul: 1, add: 0, vals: [0, 0, 0, 0] });
    // .rodata after load: readable, every kind of write refused.
    expect(g.rcfg.add).toBe(7);
    expect(() => {
      g.rcfg.add = 1;
    }).toThrow(StateError);
    expect(() => g.rcfg.$set("add", 1)).toThrow(StateError);
    expect(() => {
      g.rcfg.vals[0] = 1;
    }).toThrow(StateError);
    expect(g.rcfg.$bytes().length).toBe(24);
    expect(() => cfg.$repoint(new DataView(new ArrayBuffer(24)), 0)).toThrow(
      BpfTypeError,
    );
    expect(() => {
      cfg.nosuch = 1;
    }).toThrow(/no member 'nosuch'/);
    obj.close();
    expect(() => cfg.mul).toThrow(ClosedError);
    expect(() => {
      cfg.mul = 1;
    }).toThrow(ClosedError);
    expect(() => g.cfg).toThrow(ClosedError);
  });
});
