/**
 * obj.globals: typed initial values before load, live kernel values after
 * (through an mmap of the global-data maps), rodata rules, names.
 */
import { describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import {
  BtfTypeError,
  ClosedError,
  NotFoundError,
  StateError,
} from "../../src/errors.ts";
import { BpfObject } from "../../src/object.ts";
import { fixture, isRoot, need } from "../_support/fixtures.ts";
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
    using _link = obj.program("count_getpid").attach();
    for (let i = 0; i < 7; i++) libc().getpid();
    expect(g.counter).toBe(7n);
    expect(g.seen_multiplier).toBe(15n); // 10 * 2 + rodata_neg
    expect(g.seen_custom).toBe(42);
    // Writes after load reach the kernel's copy.
    g.counter = 100n;
    libc().getpid();
    expect(g.counter).toBe(101n);
    g.multiplier = 4;
    libc().getpid();
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

  it("is a ClosedError after close", () => {
    const obj = BpfObject.open(fixture("globals"));
    obj.load();
    const g = obj.globals;
    void g.counter;
    obj.close();
    expect(() => g.counter).toThrow(ClosedError);
    expect(() => (g.counter = 1n)).toThrow(ClosedError);
  });
});
