/**
 * Builds and runs test/_support/layout_ref.c (the host C compiler's
 * sizeof/offsetof/_Alignof and sample bytes for fixtures/btf_types.h), and
 * asks the host compiler for sizeof/_Alignof of types of another header
 * (build/vmlinux.h).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./fixtures.ts";

/** What layout_ref prints. */
export interface LayoutRef {
  readonly layouts: Record<
    string,
    { readonly size: number; readonly fields: Record<string, number> }
  >;
  /** `_Alignof` of each struct/union. */
  readonly aligns: Record<string, number>;
  readonly samples: Record<
    string,
    { readonly hex: string; readonly values: Record<string, unknown> }
  >;
}

/** True when a host C compiler is available. */
export function hasCc(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v cc"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

let cached: LayoutRef | undefined;

/** Compiles (once per process) and runs the reference program. */
export function layoutRef(): LayoutRef {
  if (cached) return cached;
  const dir = join(ROOT, "build", "test");
  mkdirSync(dir, { recursive: true });
  const exe = join(dir, `layout_ref_${process.pid}`);
  execFileSync("cc", [
    "-I/usr/include/x86_64-linux-gnu",
    `-I${join(ROOT, "fixtures")}`,
    join(ROOT, "test/_support/layout_ref.c"),
    "-o",
    exe,
  ]);
  try {
    cached = JSON.parse(execFileSync(exe).toString()) as LayoutRef;
  } finally {
    execFileSync("rm", ["-f", exe]);
  }
  return cached;
}

/**
 * `[sizeof, _Alignof]` of each C type spelled in `types` (e.g. "struct
 * list_head"), compiled against `header` in `includeDir` by the host
 * compiler (x86_64, whose layout of kernel types is the BPF one).
 */
export function cSizesAligns(
  includeDir: string,
  header: string,
  types: readonly string[],
): [number, number][] {
  const dir = join(ROOT, "build", "test");
  mkdirSync(dir, { recursive: true });
  const src = join(dir, `aligns_${process.pid}.c`);
  const exe = join(dir, `aligns_${process.pid}`);
  // No libc headers: they clash with vmlinux.h's typedefs.
  const lines = [
    "#define BPF_NO_PRESERVE_ACCESS_INDEX",
    `#include "${header}"`,
    "int printf(const char *, ...);",
    "int main(void) {",
    ...types.map(
      (t) => `printf("%d %d\\n", (int)sizeof(${t}), (int)_Alignof(${t}));`,
    ),
    "return 0; }",
  ];
  writeFileSync(src, lines.join("\n"));
  try {
    execFileSync("cc", [`-I${includeDir}`, src, "-o", exe]);
    return execFileSync(exe)
      .toString()
      .trim()
      .split("\n")
      .map((l) => l.split(" ").map(Number) as [number, number]);
  } finally {
    execFileSync("rm", ["-f", src, exe]);
  }
}

/** Hex string → bytes. */
export function unhex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++)
    out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Bytes → hex string. */
export function tohex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** JSON-comparable form of a decoded value: bigint → decimal string. */
export function jsonish(v: unknown): unknown {
  return JSON.parse(
    JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? String(x) : x)),
  );
}
