/**
 * Builds and runs test/_support/layout_ref.c (the host C compiler's
 * sizeof/offsetof and sample bytes for fixtures/btf_types.h).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./fixtures.ts";

/** What layout_ref prints. */
export interface LayoutRef {
  readonly layouts: Record<
    string,
    { readonly size: number; readonly fields: Record<string, number> }
  >;
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
