/**
 * Array fields: element access through the array views of a class generated
 * by `tsbpf-gen types` (helpers inlined) beside the runtime views of
 * `btf.struct()`, on `struct nested_arrays` of fixtures/btf_types
 * (`__u16 shorts[5]`, `__u32 matrix[3][4]`). Workloads, interleaved round by
 * round: reads `a[i]` and writes `a[i] = v` over one reused array view,
 * and `n.shorts[2]` (the field getter makes a view, then one read). Prints
 * ns per element access (median of the rounds) for both and the ratio
 * generated/runtime.
 *
 * Run: bun bench/array_views.ts | deno run -A bench/array_views.ts
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Btf } from "../src/btf/btf.ts";
import { generateTypes } from "../codegen/types.ts";
import { median } from "./_stats.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const N = 1_000_000;
const ROUNDS = 15;

const btf = Btf.fromFile(join(ROOT, "build/fixtures/btf_types.bpf.o"));
const dir = join(ROOT, "build/bench");
mkdirSync(dir, { recursive: true });
const file = join(dir, `array_views_${Date.now()}.ts`);
writeFileSync(file, generateTypes(btf, { only: ["nested_arrays"] }));
const G = (await import(pathToFileURL(file).href)).NestedArrays;
const R = btf.struct("nested_arrays");

type Shorts = { [i: number]: number; length: number };
type Nested = { shorts: Shorts; matrix: { [i: number]: Shorts } };

// Each kind of view gets its own copy of the workloads (`new Function`), so
// neither sees the other's shapes.
const BODIES = {
  reads:
    "const a = n.matrix[1]; let s = 0; for (let i = 0; i < N; i++) s += a[i & 3]; return s;",
  writes:
    "const a = n.shorts; for (let i = 0; i < N; i++) a[i % 5] = i & 0xff; return a[0];",
  "field + read":
    "let s = 0; for (let i = 0; i < N; i++) s += n.shorts[2]; return s;",
};
type Workload = (n: Nested, N: number) => number;
const copy = () =>
  Object.entries(BODIES).map(
    ([name, body]) => [name, new Function("n", "N", body) as Workload] as const,
  );
const gWork = copy();
const rWork = copy();

const g = new G() as Nested;
const r = new R() as unknown as Nested;
for (const n of [g, r]) {
  for (let i = 0; i < 4; i++) n.matrix[1]![i] = i + 1;
  n.shorts[2] = 3;
}

const times: Record<string, { g: number[]; r: number[] }> = {};
for (let round = 0; round < ROUNDS + 3; round++) {
  for (let w = 0; w < gWork.length; w++) {
    const [name] = gWork[w]!;
    const t = (times[name] ??= { g: [], r: [] });
    for (const [k, n, f] of [
      ["g", g, gWork[w]![1]],
      ["r", r, rWork[w]![1]],
    ] as const) {
      const t0 = performance.now();
      f(n, N);
      const ns = ((performance.now() - t0) * 1e6) / N;
      // The first rounds warm the JIT up; they are not counted.
      if (round >= 3) t[k].push(ns);
    }
  }
}

console.log(
  `array element access, ns per access, median of ${ROUNDS} rounds of ${N}:`,
);
for (const [name, t] of Object.entries(times)) {
  const gm = median(t.g);
  const rm = median(t.r);
  console.log(
    `  ${name.padEnd(13)} generated ${gm.toFixed(2).padStart(6)}  runtime view ${rm.toFixed(2).padStart(6)}  ratio ${(gm / rm).toFixed(2)}x`,
  );
}
