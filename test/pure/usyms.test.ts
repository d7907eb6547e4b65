/**
 * ProcessSymbols (src/usyms.ts) and CodeSymbols (src/elf/code_symbols.ts)
 * on a real process: a small C program prints the addresses of a function
 * of its own and of libc's getpid, and we name them back from
 * /proc/PID/maps and the files' symbols (.symtab, or .dynsym when stripped).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CodeSymbols,
  ProcessSymbols,
  readElf,
  readFileBytes,
} from "../../mod.ts";
import { BpfTypeError, TsbpfError } from "../../src/errors.ts";
import { ROOT, need } from "../_support/fixtures.ts";

const hasCc = need(
  (() => {
    try {
      execFileSync("cc", ["--version"], { stdio: "ignore" });
      return process.platform === "linux";
    } catch {
      return false;
    }
  })(),
  "no C compiler (cc) or not Linux: cannot build the process to symbolize",
);

const DIR = `${ROOT}/build/test`;
const EXE = `${DIR}/usyms_target_${process.pid}`;

/** Starts `exe`; resolves with it and the two addresses it prints. */
function start(exe: string): Promise<[ChildProcess, bigint, bigint]> {
  const child = spawn(exe, [], { stdio: ["pipe", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    child.on("error", reject);
    child.stdout!.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      const m = /^0x([0-9a-f]+) 0x([0-9a-f]+)\n/.exec(out);
      if (m) resolve([child, BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`)]);
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.on("exit", () => resolve());
    child.stdin!.end();
  });
}

describe.skipIf(!hasCc)("ProcessSymbols", () => {
  beforeAll(() => {
    mkdirSync(DIR, { recursive: true });
    execFileSync("cc", [
      "-O2",
      `${ROOT}/test/_support/usyms_target.c`,
      "-o",
      EXE,
    ]);
    execFileSync("strip", ["-o", `${EXE}_stripped`, EXE]);
  });
  afterAll(() => {
    rmSync(EXE, { force: true });
    rmSync(`${EXE}_stripped`, { force: true });
  });

  it("names a function of the program (.symtab) and of libc (.dynsym)", async () => {
    const [child, hot, getpid] = await start(EXE);
    try {
      const syms = ProcessSymbols.load(child.pid!);
      expect(syms.pid).toBe(child.pid);
      expect(syms.resolve(hot)).toMatchObject({
        file: EXE,
        name: "hot_function",
        offset: 0n,
      });
      const name = EXE.slice(EXE.lastIndexOf("/") + 1);
      expect(syms.format(hot + 3n)).toBe(`hot_function+0x3 [${name}]`);
      const libc = syms.resolve(getpid)!;
      expect(libc.file).toMatch(/libc[.-]/);
      // Aliases (__getpid, getpid) share the address: the shorter name.
      expect(libc.name).toBe("getpid");
      expect(syms.format(getpid)).toMatch(/^getpid\+0x0 \[libc[^\]]*\]$/);
      // No file there: the address as it is.
      expect(syms.resolve(1n)).toBeUndefined();
      expect(syms.format(1n)).toBe("0x1");
      expect(() => syms.resolve(Number(hot) as never)).toThrow(BpfTypeError);
      expect(() => syms.format(1 as never)).toThrow(
        /ProcessSymbols.format takes an address as a bigint, got number 1/,
      );
    } finally {
      await stop(child);
    }
  });

  it("a stripped program: the file offset, and libc still by name", async () => {
    const [child, hot, getpid] = await start(`${EXE}_stripped`);
    try {
      const syms = ProcessSymbols.load(child.pid!);
      const r = syms.resolve(hot)!;
      expect(r.name).toBeUndefined();
      // The file offset is where the unstripped program has the function.
      const own = CodeSymbols.of(readElf(readFileBytes(EXE)));
      expect(own.resolve(own.addressOf(r.fileOffset!)!)).toEqual({
        name: "hot_function",
        offset: 0n,
      });
      expect(syms.format(hot)).toBe(
        `0x${r.fileOffset!.toString(16)} [usyms_target_${process.pid}_stripped]`,
      );
      expect(syms.resolve(getpid)!.name).toBe("getpid");
      // A return address just past a function's end (its last instruction
      // a call that never returns) is still that function.
      const hotSym = readElf(readFileBytes(EXE)).symbol("hot_function")!;
      expect(own.resolve(hotSym.value + hotSym.size)).toEqual({
        name: "hot_function",
        offset: hotSym.size,
      });
      expect(own.resolve(hotSym.value + hotSym.size + 1n)?.name).not.toBe(
        "hot_function",
      );
    } finally {
      await stop(child);
    }
  });

  it("JIT-compiled code outside any file: named from the process's perf map", async () => {
    const [child] = await start(EXE);
    const map = `/tmp/perf-${child.pid}.map`;
    try {
      // An address in no file: the stack, standing in for a JIT's code.
      const stack = /^([0-9a-f]+)-[0-9a-f]+ .*\[stack\]$/m.exec(
        readFileSync(`/proc/${child.pid}/maps`, "utf8"),
      )!;
      const base = BigInt(`0x${stack[1]}`);
      const at = (n: bigint) => (base + n).toString(16);
      // What node --perf-basic-prof writes; a later line for the same start
      // (recompiled code) wins, and a half-written last line is skipped.
      writeFileSync(
        map,
        `${at(0x100n)} 40 LazyCompile:~hotJs /app/main.js:3:1\n` +
          `${at(0x100n)} 40 LazyCompile:*hotJs /app/main.js:3:1\n` +
          `${at(0x200n)} 10 Builtin:ArrayForEach\n${at(0x300n)} 1`,
      );
      const syms = ProcessSymbols.load(child.pid!);
      expect(syms.resolve(base + 0x110n)).toEqual({
        file: map,
        name: "LazyCompile:*hotJs /app/main.js:3:1",
        offset: 0x10n,
      });
      expect(syms.format(base + 0x200n)).toBe(
        `Builtin:ArrayForEach+0x0 [perf-${child.pid}.map]`,
      );
      // Past an entry's size, or in none: the address.
      expect(syms.resolve(base + 0x140n)).toBeUndefined();
      expect(syms.format(base + 0x300n)).toBe(`0x${at(0x300n)}`);
    } finally {
      rmSync(map, { force: true });
      await stop(child);
    }
  });

  it("a process that is gone, or no pid: errors that say so", async () => {
    const [child] = await start(EXE);
    const pid = child.pid!;
    await stop(child);
    const e = (() => {
      try {
        ProcessSymbols.load(pid);
      } catch (err) {
        return err as TsbpfError;
      }
    })();
    expect(e).toBeInstanceOf(TsbpfError);
    expect(e!.message.split("\n")[0]).toBe(
      `no process ${pid}: cannot read /proc/${pid}/maps`,
    );
    expect(e!.hint).toMatch(/the process has exited/);
    expect(() => ProcessSymbols.load(0)).toThrow(BpfTypeError);
    expect(() => ProcessSymbols.load("1" as never)).toThrow(
      /takes a process id \(a positive integer\), got string "1"/,
    );
  });
});
