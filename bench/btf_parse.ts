/**
 * Benchmark: parse /sys/kernel/btf/vmlinux and look up `struct task_struct`,
 * tsbpf (pure TypeScript) beside libbpf's btf__parse + btf__find_by_name_kind
 * (bench/btf_parse.c). Every iteration reads and parses afresh. Rounds
 * alternate C and TS; each side reports its best of 20 per round, and the
 * best over all rounds is compared. The file read alone is timed too.
 * libbpf decodes and validates every type up front; tsbpf indexes type
 * offsets in one pass and decodes a type on first use (task_struct here).
 *
 *   bun bench/btf_parse.ts      deno run -A bench/btf_parse.ts
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Btf } from "../src/btf/btf.ts";
import { readFileBytes } from "../src/io.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const VMLINUX = "/sys/kernel/btf/vmlinux";
const ITERATIONS = 20;
const ROUNDS = 5;
const runtime =
  "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

function buildC(): string {
  const src = join(ROOT, "bench/btf_parse.c");
  const out = join(ROOT, "build/bench/btf_parse");
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dirname(out), { recursive: true });
    execFileSync("cc", ["-O2", src, "-lbpf", "-o", out], { stdio: "inherit" });
  }
  return out;
}

function runC(bin: string): { parse: number; read: number } {
  const [parse, read] = execFileSync(bin, [String(ITERATIONS)])
    .toString()
    .trim()
    .split(/\s+/)
    .map(Number);
  return { parse, read };
}

function runTs(): { parse: number; read: number } {
  let parse = Infinity;
  let read = Infinity;
  for (let i = 0; i < ITERATIONS; i++) {
    let t0 = performance.now();
    const btf = Btf.fromFile(VMLINUX);
    const t = btf.find("task_struct", "struct");
    let t1 = performance.now();
    if (!t || t.size === 0) throw new Error("task_struct not found");
    parse = Math.min(parse, t1 - t0);
    t0 = performance.now();
    const bytes = readFileBytes(VMLINUX);
    t1 = performance.now();
    if (bytes.length === 0) throw new Error("empty read");
    read = Math.min(read, t1 - t0);
  }
  return { parse, read };
}

if (!existsSync(VMLINUX)) {
  console.log(`skip: ${VMLINUX} missing (kernel without BTF)`);
} else {
  const bin = buildC();
  const c = { parse: Infinity, read: Infinity };
  const ts = { parse: Infinity, read: Infinity };
  for (let r = 0; r < ROUNDS; r++) {
    const cr = runC(bin);
    const tr = runTs();
    c.parse = Math.min(c.parse, cr.parse);
    c.read = Math.min(c.read, cr.read);
    ts.parse = Math.min(ts.parse, tr.parse);
    ts.read = Math.min(ts.read, tr.read);
  }
  const f = (x: number) => `${x.toFixed(2)} ms`;
  console.log(
    `btf_parse: read ${VMLINUX} + parse + find struct task_struct, best of ${ITERATIONS} x ${ROUNDS} interleaved rounds (${runtime})`,
  );
  const pct = (part: number, whole: number) =>
    `${Math.round((100 * part) / whole)}%`;
  console.log(`  libbpf btf__parse + btf__find_by_name_kind : ${f(c.parse)}`);
  console.log(`  tsbpf  Btf.fromFile + find(kind "struct")   : ${f(ts.parse)}`);
  console.log(
    `  ratio tsbpf/libbpf: ${(ts.parse / c.parse).toFixed(2)}x (target <= 1.25x)`,
  );
  console.log(
    `  file read alone: C fread ${f(c.read)} (${pct(c.read, c.parse)} of libbpf's total), ` +
      `tsbpf readFileBytes ${f(ts.read)} (${pct(ts.read, ts.parse)} of tsbpf's total); ` +
      `ratio ${(ts.read / c.read).toFixed(2)}x`,
  );
}
