/**
 * Struct view decode speed vs a hand-written DataView decoder.
 *
 * A buffer of N 64-byte events { u64 ts; u32 pid; u32 ppid; char comm[16];
 * u64 a, b, c; u32 x, y } is decoded two ways, interleaved round by round:
 *   - view: one struct view (from `layout()`) re-aimed with `$repoint` at
 *     each event, as the ring buffer reader does;
 *   - hand: DataView reads at constant offsets, the string by
 *     indexOf(0) + TextDecoder.
 * Two workloads: 3 numeric fields (pid, ppid, x), and all 9 fields
 * including the string. Prints ns/event (median and best of the rounds)
 * and the ratio view/hand. `layout()` classes are the same struct view
 * classes `btf.struct(name)` returns (one builder, views.ts). The view
 * reads `comm` with an ASCII fast path; the hand decoder uses TextDecoder,
 * as typical hand-written code does, so the string row favours the view.
 *
 * Run: bun bench/struct_decode.ts | deno run -A bench/struct_decode.ts
 */
import { layout } from "../src/btf/layout.ts";
import { median } from "./_stats.ts";

const N = 100_000;
const ROUNDS = Number(
  (globalThis as { process?: { env: Record<string, string> } }).process?.env
    .ROUNDS ?? 15,
);

const Event = layout(
  {
    ts: "u64",
    pid: "u32",
    ppid: "u32",
    comm: "char[16]",
    a: "u64",
    b: "u64",
    c: "u64",
    x: "u32",
    y: "u32",
  },
  { name: "event" },
);
if (Event.size !== 64) throw new Error(`event is ${Event.size} bytes`);

const bytes = new Uint8Array(N * 64);
const dv = new DataView(bytes.buffer);
const names = ["bash", "systemd-journal", "sshd", "kworker/0:1", "node", "ls"];
{
  const e = new Event();
  for (let i = 0; i < N; i++) {
    e.$repoint(dv, i * 64);
    e.ts = BigInt(i) * 1000n;
    e.pid = i;
    e.ppid = i >>> 1;
    e.comm = names[i % names.length];
    e.a = BigInt(i);
    e.b = 2n;
    e.c = 3n;
    e.x = i & 0xffff;
    e.y = 7;
  }
}

const view = new Event();

function viewNumeric(): number {
  let s = 0;
  for (let i = 0; i < N; i++) {
    const e = view.$repoint(dv, i * 64);
    s += e.pid + e.ppid + e.x;
  }
  return s;
}

function handNumeric(): number {
  let s = 0;
  for (let i = 0; i < N; i++) {
    const o = i * 64;
    s +=
      dv.getUint32(o + 8, true) +
      dv.getUint32(o + 12, true) +
      dv.getUint32(o + 56, true);
  }
  return s;
}

const decoder = new TextDecoder();

function viewAll(): number {
  let s = 0;
  let big = 0n;
  for (let i = 0; i < N; i++) {
    const e = view.$repoint(dv, i * 64);
    big ^=
      (e.ts as bigint) ^ (e.a as bigint) ^ (e.b as bigint) ^ (e.c as bigint);
    s += e.pid + e.ppid + e.comm.length + e.x + e.y;
  }
  return s + Number(big & 0xffn);
}

function handAll(): number {
  let s = 0;
  let big = 0n;
  for (let i = 0; i < N; i++) {
    const o = i * 64;
    const ts = dv.getBigUint64(o, true);
    const a = dv.getBigUint64(o + 32, true);
    const b = dv.getBigUint64(o + 40, true);
    const c = dv.getBigUint64(o + 48, true);
    let end = bytes.indexOf(0, o + 16);
    if (end < 0 || end > o + 32) end = o + 32;
    const comm = decoder.decode(bytes.subarray(o + 16, end));
    big ^= ts ^ a ^ b ^ c;
    s +=
      dv.getUint32(o + 8, true) +
      dv.getUint32(o + 12, true) +
      comm.length +
      dv.getUint32(o + 56, true) +
      dv.getUint32(o + 60, true);
  }
  return s + Number(big & 0xffn);
}

function nsPerEvent(f: () => number, check: number): number {
  const t0 = performance.now();
  const r = f();
  const t1 = performance.now();
  if (r !== check)
    throw new Error(`${f.name} computed ${r}, expected ${check}`);
  return ((t1 - t0) * 1e6) / N;
}

const best = (xs: number[]) => Math.min(...xs);

const checkNum = handNumeric();
const checkAll = handAll();
if (viewNumeric() !== checkNum || viewAll() !== checkAll)
  throw new Error("view and hand-written decoders disagree");

const runs: Record<string, number[]> = { vn: [], hn: [], va: [], ha: [] };
for (let r = 0; r < ROUNDS + 3; r++) {
  // The first rounds warm the JIT up; they are not counted.
  const keep = r >= 3;
  const vn = nsPerEvent(viewNumeric, checkNum);
  const hn = nsPerEvent(handNumeric, checkNum);
  const va = nsPerEvent(viewAll, checkAll);
  const ha = nsPerEvent(handAll, checkAll);
  if (keep) {
    runs.vn.push(vn);
    runs.hn.push(hn);
    runs.va.push(va);
    runs.ha.push(ha);
  }
}

const runtime =
  "Deno" in globalThis
    ? `deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
    : "Bun" in globalThis
      ? `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
      : `node ${(globalThis as unknown as { process: { version: string } }).process.version}`;
const f = (x: number) => x.toFixed(2).padStart(7);
console.log(
  `struct_decode (${runtime}): ${N} events × 64 B, ${ROUNDS} interleaved rounds; ns/event, median (best)`,
);
console.log(
  "workload              struct view       hand DataView     ratio view/hand (median; < 1 = view faster)",
);
for (const [label, v, h] of [
  ["3 numeric fields", runs.vn, runs.hn],
  ["all 9 + comm string", runs.va, runs.ha],
] as const) {
  console.log(
    `${label.padEnd(22)}${f(median(v))} (${f(best(v))})  ${f(median(h))} (${f(best(h))})  ${(median(v) / median(h)).toFixed(2)}x`,
  );
}
