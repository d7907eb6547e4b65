/**
 * What a uprobe or USDT attach says when its target is not there: a binary
 * libbpf cannot find by name, a symbol it cannot resolve, a process that
 * has exited.
 */
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BpfError, BpfTypeError } from "../../src/errors.ts";
import { BpfObject } from "../../src/object.ts";
import { resolveFunction } from "../../src/uprobe_target.ts";
import { ROOT, fixture, isRoot, need, thrown } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const hasCc = need(
  spawnSync("sh", ["-c", "command -v cc"]).status === 0,
  "no C compiler (cc) to build the USDT target",
);

/**
 * A program that waits for a line on stdin, then calls realpath() argv[1]
 * times: built with `cc` from the source below, `strip`ped when asked.
 */
const REALPATH_CALLER = `
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  char line[8], out[PATH_MAX];
  if (!fgets(line, sizeof line, stdin)) return 1;
  for (int i = atoi(argv[1]); i > 0; i--) realpath("/tmp", out);
  return 0;
}
`;

/** Runs `fn` with {@link REALPATH_CALLER} built (stripped if asked); removes it after. */
function withRealpathCaller<T>(
  fn: (exe: string) => Promise<T>,
  stripped = false,
): Promise<T> {
  const dir = `${ROOT}/build/test`;
  mkdirSync(dir, { recursive: true });
  const exe = `${dir}/realpath_caller_${process.pid}`;
  execFileSync("cc", ["-O0", "-x", "c", "-", "-o", exe], {
    input: REALPATH_CALLER,
  });
  if (stripped) execFileSync("strip", [exe]);
  return fn(exe).finally(() => rmSync(exe, { force: true }));
}

/** Runs `exe n` and lets it go at once; resolves when it has exited 0. */
async function run(exe: string, n: number): Promise<void> {
  const child = spawn(exe, [String(n)], {
    stdio: ["pipe", "ignore", "inherit"],
  });
  const exited = new Promise<number | null>((r) => child.on("exit", r));
  child.stdin!.end("go\n");
  expect(await exited).toBe(0);
}

/** Runs `fn` with test/_support/usdt_target.c built; removes the binary after. */
function withUsdtTarget<T>(fn: (exe: string) => T): T {
  const dir = `${ROOT}/build/test`;
  mkdirSync(dir, { recursive: true });
  const exe = `${dir}/uprobe_target_usdt_${process.pid}`;
  execFileSync("cc", ["-O2", `${ROOT}/test/_support/usdt_target.c`, "-o", exe]);
  try {
    return fn(exe);
  } finally {
    rmSync(exe, { force: true });
  }
}

/** The attach fixture loaded (its kprobe left out: kprobes may be compiled out). */
function openAttach(): BpfObject {
  const obj = BpfObject.open(fixture("attach"));
  obj.program("on_kprobe").autoload = false;
  obj.load();
  return obj;
}

describe.skipIf(!root)("uprobe and USDT targets", () => {
  it("a bare program name libbpf does not find on PATH: the hint says where it looked", () => {
    using obj = openAttach();
    const e = thrown(() =>
      obj.program("on_uprobe").attachUprobe({
        binaryPath: "tsbpf-no-such-program",
        symbol: "main",
      }),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("ENOENT");
    expect(e.hint).toMatch(
      /libbpf found no 'tsbpf-no-such-program': .* PATH, \/usr\/bin and \/usr\/sbin.*\.\/name/,
    );
    expect(e.hint).not.toMatch(/no function/);
  });

  it("a bare library name libbpf does not find: the hint names the library directories", () => {
    using obj = openAttach();
    const e = thrown(() =>
      obj.program("on_uprobe").attachUprobe({
        binaryPath: "libtsbpf-nope.so.1",
        symbol: "f",
      }),
    ) as BpfError;
    expect(e.hint).toMatch(
      /libbpf found no 'libtsbpf-nope.so.1': .*LD_LIBRARY_PATH/,
    );
  });

  it("attachUsdt with a bare name libbpf does not find: not 'no USDT probe'", () => {
    using obj = BpfObject.open(fixture("usdt"));
    obj.load();
    const e = thrown(() =>
      obj.program("on_tick").attachUsdt({
        binaryPath: "tsbpf-no-such-program",
        provider: "tsbpf",
        name: "tick",
      }),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.hint).toMatch(/libbpf found no 'tsbpf-no-such-program'/);
  });

  it("a pid that has exited: ESRCH with a hint saying so, for uprobe and USDT", () => {
    // A pid that existed and is gone: a child that ran and was reaped.
    const gone = spawnSync("true").pid;
    using obj = openAttach();
    const e = thrown(() =>
      obj.program("on_uprobe").attachUprobe({
        binaryPath: "libc.so.6",
        symbol: "getppid",
        pid: gone,
      }),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.code).toBe("ESRCH");
    expect(e.hint).toMatch(new RegExp(`no process ${gone} \\(it has exited`));
    if (!hasCc) return;
    using usdt = BpfObject.open(fixture("usdt"));
    usdt.load();
    const u = withUsdtTarget((exe) =>
      thrown(() =>
        usdt.program("on_tick").attachUsdt({
          binaryPath: exe,
          provider: "tsbpf",
          name: "tick",
          pid: gone,
        }),
      ),
    ) as BpfError;
    expect(u.code).toBe("ESRCH");
    expect(u.hint).toMatch(new RegExp(`no process ${gone} \\(it has exited`));
  });

  it("attachUsdt of a program whose object lacks <bpf/usdt.bpf.h>: the hint says to include it", () => {
    if (!hasCc) return;
    using obj = openAttach(); // attach.bpf.c includes no usdt.bpf.h
    const e = withUsdtTarget((exe) =>
      thrown(() =>
        obj.program("on_uprobe").attachUsdt({
          binaryPath: exe,
          provider: "tsbpf",
          name: "tick",
        }),
      ),
    ) as BpfError;
    expect(e).toBeInstanceOf(BpfError);
    expect(e.hint).toMatch(/#include <bpf\/usdt.bpf.h>.*SEC\("usdt"\)/);
  });

  it.skipIf(!hasCc)(
    "a versioned libc function: a bare name attaches to its default version, name@VERSION to that version",
    async () => {
      using obj = openAttach();
      // libc has realpath@@GLIBC_2.3 and the old realpath@GLIBC_2.2.5;
      // libbpf 1.1 called the bare name ambiguous (LIBBPF_ERRNO__FORMAT).
      using bare = obj.program("on_uprobe").attachUprobe({
        binaryPath: "libc.so.6",
        symbol: "realpath",
      });
      await withRealpathCaller((exe) => run(exe, 3));
      const afterBare = obj.globals.uprobe_hits as bigint;
      expect(afterBare).toBeGreaterThanOrEqual(3n);
      bare.close();
      // The old version is a different function: a new program calls none of it.
      using old = obj.program("on_uprobe").attachUprobe({
        binaryPath: "libc.so.6",
        symbol: "realpath@GLIBC_2.2.5",
      });
      using current = obj.program("on_uretprobe").attachUprobe({
        binaryPath: "libc.so.6",
        symbol: "realpath@@GLIBC_2.3",
        retprobe: true,
      });
      await withRealpathCaller((exe) => run(exe, 2));
      expect(obj.globals.uretprobe_hits as bigint).toBeGreaterThanOrEqual(2n);
      void old;
      const e = thrown(() =>
        obj.program("on_uprobe").attachUprobe({
          binaryPath: "libc.so.6",
          symbol: "realpath@@GLIBC_2.2.5", // exists, but not as the default
        }),
      ) as BpfError;
      expect(e.code).toBe("ENOENT");
      expect(e.hint).toMatch(
        /realpath@@GLIBC_2.3 at offset 0x[0-9a-f]+, realpath@GLIBC_2.2.5 at offset/,
      );
    },
  );

  it("an IFUNC (memcpy, strlen) is refused with a hint, not attached to its resolver or an old version", () => {
    using obj = openAttach();
    for (const symbol of ["memcpy", "strlen"]) {
      const e = thrown(() =>
        obj
          .program("on_uprobe")
          .attachUprobe({ binaryPath: "libc.so.6", symbol }),
      ) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect(e.code).toBe("ENOENT");
      expect(e.hint).toMatch(
        new RegExp(`'${symbol}@@GLIBC_[0-9.]+' in .*libc.so.6 is an IFUNC`),
      );
    }
  });

  it.skipIf(!hasCc)(
    "a stripped binary without the function: the hint says it is stripped",
    async () => {
      using obj = openAttach();
      await withRealpathCaller(async (exe) => {
        const e = thrown(() =>
          obj
            .program("on_uprobe")
            .attachUprobe({ binaryPath: exe, symbol: "main" }),
        ) as BpfError;
        expect(e.code).toBe("ENOENT");
        expect(e.hint).toMatch(
          /it is stripped \(no \.symtab\).*attach by offset/,
        );
      }, true);
    },
  );

  it.skipIf(!hasCc)(
    'attach() of SEC("uprobe/libc.so.6:realpath") takes the default version; of an IFUNC, refuses with the hint; of SEC("usdt/...") of a missing binary, says so',
    async () => {
      using obj = BpfObject.open(fixture("uprobe_sections"));
      obj.load();
      await withRealpathCaller(async (exe) => {
        const child = spawn(exe, ["4"], {
          stdio: ["pipe", "ignore", "inherit"],
        });
        const exited = new Promise<number | null>((r) => child.on("exit", r));
        obj.globals.target_pid = child.pid!; // other processes call it too
        // libbpf 1.1 failed here with LIBBPF_ERRNO__FORMAT, "ambiguous match".
        using _l = obj.program("on_realpath").attach();
        child.stdin!.end("go\n");
        expect(await exited).toBe(0);
      });
      expect(obj.globals.realpath_hits).toBe(4n);
      const e = thrown(() => obj.program("on_memcpy").attach()) as BpfError;
      expect(e).toBeInstanceOf(BpfError);
      expect(e.hint).toMatch(/'memcpy@@GLIBC_[0-9.]+' in .* is an IFUNC/);
      const u = thrown(() =>
        obj.program("on_missing_tick").attach(),
      ) as BpfError;
      expect(u).toBeInstanceOf(BpfError);
      expect(u.hint).toMatch(/libbpf found no 'tsbpf-no-such-program'/);
    },
  );

  it("a directory or a script as the binary: the hint says what it is, for uprobe and USDT", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsbpf-uprobe-"));
    try {
      const script = join(dir, "run.sh");
      writeFileSync(script, "#!/bin/sh\necho hi\n", { mode: 0o755 });
      using obj = openAttach();
      using usdt = BpfObject.open(fixture("usdt"));
      usdt.load();
      for (const [path, want] of [
        [dir, /is a directory/],
        [script, /is a script \(#!\/bin\/sh\).*its interpreter \/bin\/sh/],
      ] as const) {
        const u = thrown(() =>
          obj
            .program("on_uprobe")
            .attachUprobe({ binaryPath: path, symbol: "main" }),
        ) as BpfError;
        expect(u).toBeInstanceOf(BpfError);
        expect(u.hint).toMatch(want);
        const d = thrown(() =>
          usdt
            .program("on_tick")
            .attachUsdt({ binaryPath: path, provider: "a", name: "b" }),
        ) as BpfError;
        expect(d).toBeInstanceOf(BpfError);
        expect(d.hint).toMatch(want);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('attachUprobe of a SEC("usdt") program is refused: its arguments would read 0', () => {
    using obj = BpfObject.open(fixture("usdt"));
    obj.load();
    const e = thrown(() =>
      obj.program("on_tick").attachUprobe({
        binaryPath: "libc.so.6",
        symbol: "getppid",
      }),
    );
    expect(e).toBeInstanceOf(BpfTypeError);
    expect(e.message).toMatch(/'on_tick' is a USDT program .*attachUsdt/);
  });
});

describe("resolveFunction", () => {
  it.skipIf(!hasCc)(
    "reads a binary replaced at the same path again (the symbols of recent binaries are kept by inode, size and mtime)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "tsbpf-uprobe-again-"));
      try {
        const lib = join(dir, "libtarget.so");
        const build = (body: string) => {
          const src = join(dir, "t.c");
          writeFileSync(src, body);
          const tmp = join(dir, "new.so");
          execFileSync("cc", ["-shared", "-fPIC", "-O0", src, "-o", tmp]);
          // A new file (new inode) at the old path, as a package upgrade does.
          execFileSync("mv", ["-f", tmp, lib]);
        };
        build("int target(int x) { return x + 1; }\n");
        const first = resolveFunction(lib, "target");
        expect(first).toHaveProperty("fileOffset");
        expect(resolveFunction(lib, "target")).toEqual(first);
        expect(resolveFunction(lib, "other")).toHaveProperty("problem");
        build(
          "int pad(int x) { return x * 3 + 7; }\nint other(int x) { return x - 1; }\nint target(int x) { return x + 2; }\n",
        );
        const second = resolveFunction(lib, "target");
        expect(second).toHaveProperty("fileOffset");
        expect(second).not.toEqual(first);
        expect(resolveFunction(lib, "other")).toHaveProperty("fileOffset");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
