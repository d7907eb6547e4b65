/**
 * KernelSymbols against the kernel itself: the frames of a real stack
 * trace (bpf_get_stackid from the getpid tracepoint, for our own calls)
 * resolve to the syscall entry path, and lookups agree both ways.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { libc } from "../../ffi/mod.ts";
import { BpfTypeError, TsbpfError } from "../../src/errors.ts";
import { KernelSymbols } from "../../src/ksyms.ts";
import { BpfObject } from "../../src/object.ts";
import { fixture, isRoot, need, thrown } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel addresses need root (CAP_SYSLOG, CAP_BPF)");

describe.skipIf(!root)("KernelSymbols", () => {
  it("resolves both ways and formats name+offset", () => {
    const ksyms = KernelSymbols.load();
    expect(ksyms.size).toBeGreaterThan(1000);
    const at = ksyms.address("do_sys_openat2")!;
    expect(at).toBeGreaterThan(0n);
    expect(ksyms.resolve(at)).toMatchObject({
      name: "do_sys_openat2",
      offset: 0n,
    });
    expect(ksyms.resolve(at + 5n)).toMatchObject({
      name: "do_sys_openat2",
      offset: 5n,
    });
    expect(ksyms.format(at + 0x1fn)).toBe("do_sys_openat2+0x1f");
    expect(ksyms.resolve(1n)).toBeUndefined();
    expect(ksyms.format(1n)).toBe("0x1");
    expect(ksyms.address("no_such_symbol_here")).toBeUndefined();
  });

  it("names the frames of a real kernel stack trace", () => {
    using obj = BpfObject.open(fixture("stacks"));
    obj.load();
    obj.globals.tgid = libc().getpid();
    using _link = obj.program("on_getpid").attach();
    libc().getpid();
    const id = obj.globals.last_stack as bigint;
    expect(id).toBeGreaterThanOrEqual(0n);
    // A stack map's value is its frames (the kernel zero-fills the rest).
    const frames = obj.map("stacks").get(Number(id)) as BigUint64Array;
    expect(frames).toBeInstanceOf(BigUint64Array);
    const ksyms = KernelSymbols.load();
    const names: string[] = [];
    for (const ip of frames) {
      expect(ip).not.toBe(0n);
      const at = ksyms.resolve(ip)!;
      // Inside a function, not past the end of the table.
      expect(at.offset).toBeLessThan(0x10000n);
      expect(ksyms.address(at.name)! + at.offset).toBe(ip);
      names.push(at.name);
    }
    // How deep the kernel unwinds varies (6.18 gives four frames here, from
    // perf_syscall_enter to entry_SYSCALL_64), but the first is on the
    // syscall tracepoint's path, and every one resolves.
    expect(names.length).toBe(frames.length);
    expect(names.length).toBeGreaterThan(0);
    expect(names[0]).toMatch(/syscall/);
  });

  it("says when there are no symbols, or their addresses are hidden", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-ksyms-"));
    try {
      writeFileSync(join(dir, "empty"), "");
      expect(() => KernelSymbols.load(join(dir, "empty"))).toThrow(
        /lists no kernel symbols/,
      );
      // What a process without CAP_SYSLOG reads under kptr_restrict.
      writeFileSync(
        join(dir, "hidden"),
        "0000000000000000 T _text\n0000000000000000 t do_sys_openat2\n",
      );
      const e = thrown(() => KernelSymbols.load(join(dir, "hidden")));
      expect(e).toBeInstanceOf(TsbpfError);
      expect(e.message).toMatch(/hides the kernel's addresses/);
      expect((e as TsbpfError).hint).toMatch(/kptr_restrict/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const ksyms = KernelSymbols.load();
    // A wrong argument type is a BpfTypeError, as everywhere else.
    expect(() => ksyms.resolve(123 as never)).toThrow(BpfTypeError);
    expect(() => ksyms.format(123 as never)).toThrow(
      /KernelSymbols.format takes an address as a bigint, got number 123/,
    );
    expect(() => ksyms.address(1 as never)).toThrow(BpfTypeError);
    // Far past the last symbol is in no symbol.
    expect(ksyms.resolve(0xffffffffffffff00n)).toBeUndefined();
  });
});
