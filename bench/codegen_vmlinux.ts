/**
 * `tsbpf-gen types /sys/kernel/btf/vmlinux` (whole process, under Bun and
 * Deno) beside `bpftool btf dump file /sys/kernel/btf/vmlinux format c`
 * (whole process), interleaved, median of N; both write to a file. Then
 * what bounds it, per runtime (medians of N): process start-up with an
 * empty script, and in-process phases (module load, read, the wasm
 * generator into a discarding sink and into a file, then the TypeScript
 * generator it falls back to, twice in the same process: the first minus
 * the second is JIT warm-up, split by its own phases). Then field reads:
 * ns per 3-field read through `$repoint` on a reused instance, generated
 * class (helpers inlined, and imported from the runtime as skeletons do,
 * each in its own process) vs runtime view. Then, once and untimed, checks that the generated
 * module type-checks (`tsc --strict --noEmit --skipLibCheck`, `deno check`)
 * and imports in both runtimes.
 *
 *   bun bench/codegen_vmlinux.ts [--runs N] [--no-check]
 */
import { spawnSync } from "node:child_process";
import {
  closeSync,
  mkdtempSync,
  openSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { median } from "./_stats.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(ROOT, "node_modules/.bin");
const VMLINUX = "/sys/kernel/btf/vmlinux";
const argv = process.argv.slice(2);
const RUNS = Number(argv[argv.indexOf("--runs") + 1]) || 9;
const CHECK = !argv.includes("--no-check");

const commands: Record<string, string[]> = {
  bun: [join(BIN, "bun"), join(ROOT, "codegen/cli.ts"), "types", VMLINUX],
  deno: [
    join(BIN, "deno"),
    "run",
    "-A",
    join(ROOT, "codegen/cli.ts"),
    "types",
    VMLINUX,
  ],
  bpftool: ["bpftool", "btf", "dump", "file", VMLINUX, "format", "c"],
};

const dir = mkdtempSync(join(tmpdir(), "tsbpf-bench-codegen-"));

/** A runtime running a script file. */
function runner(rt: "bun" | "deno", script: string): string[] {
  return rt === "bun"
    ? [join(BIN, "bun"), script]
    : [join(BIN, "deno"), "run", "-A", script];
}

/**
 * In-process phases, printed as one JSON line on stderr. Loads what the CLI
 * loads for raw BTF (no \`Btf\` class; no \`node:\` module under Deno, whose
 * Node layer alone costs more than parsing vmlinux), reads the file, runs
 * the wasm generator on its bytes (what the CLI runs; "write" mode: into a
 * file), then, in "discard" mode, the TypeScript generator it falls back
 * to, twice (with rawBtf and the CLI's JIT hint): the second run shows how
 * much of the first is JIT warm-up.
 */
const PHASES = `
const t0 = performance.now();
const { writeTypeBytesWasm } = await import(${JSON.stringify(join(ROOT, "codegen/wasm_types.ts"))});
const t1 = performance.now();
const D = globalThis.Deno;
const fs = D ? undefined : await import("node:fs");
const args = D ? D.args : process.argv.slice(2);
const bytes = D ? D.readFileSync(${JSON.stringify(VMLINUX)}) : new Uint8Array(fs.readFileSync(${JSON.stringify(VMLINUX)}));
const t2 = performance.now();
let t3 = t2;
const phases = [];
let ts = 0, again = 0;
if (args[0] === "discard") {
  if (!writeTypeBytesWasm(bytes, { source: "vmlinux" }, () => {})) throw new Error("the wasm generator gave up");
  t3 = performance.now();
  const { rawBtf } = await import(${JSON.stringify(join(ROOT, "codegen/type_graph.ts"))});
  const { writeTypeBytes } = await import(${JSON.stringify(join(ROOT, "codegen/types.ts"))});
  const { hintRunOnce } = await import(${JSON.stringify(join(ROOT, "codegen/run_once.ts"))});
  await hintRunOnce(); // as the CLI does
  const btf = rawBtf(bytes);
  const t4 = performance.now();
  writeTypeBytes(btf, { source: "vmlinux", phases }, () => {});
  const t5 = performance.now();
  writeTypeBytes(btf, { source: "vmlinux" }, () => {});
  ts = t5 - t4;
  again = performance.now() - t5;
} else {
  // Opened (and truncated) before the clock starts, as the whole-process runs' files are.
  const f = D ? D.openSync(args[1], { write: true, create: true, truncate: true }) : fs.openSync(args[1], "w");
  const write = D ? (b) => { for (let o = 0; o < b.length; ) o += f.writeSync(b.subarray(o)); } : (b) => { for (let o = 0; o < b.length; ) o += fs.writeSync(f, b, o, b.length - o); };
  const t = performance.now();
  if (!writeTypeBytesWasm(bytes, { source: "vmlinux" }, write)) throw new Error("the wasm generator gave up");
  if (D) f.close(); else fs.closeSync(f);
  t3 = performance.now() - t + t2;
}
console.error(JSON.stringify({ load: t1 - t0, parse: t2 - t1, gen: t3 - t2, ts, again, phases }));
`;

/** ns per 3-field read through $repoint, generated class vs runtime view. */
const READS = (mod: string) => `
const { Btf } = await import(${JSON.stringify(join(ROOT, "src/btf/btf.ts"))});
const m = await import(${JSON.stringify("file://" + mod)});
const G = m.ExecEvent;
const V = Btf.fromFile(${JSON.stringify(join(ROOT, "build/fixtures/btf_types.bpf.o"))}).struct("exec_event");
const N = 64, size = G.size;
const buf = new Uint8Array(size * N).map((_, i) => (i * 131) & 0xff);
const dv = new DataView(buf.buffer);
function run(C, iters) {
  const v = C.from(buf, 0); let acc = 0;
  const t0 = performance.now();
  for (let k = 0; k < iters; k++) { v.$repoint(dv, (k & (N - 1)) * size); acc += v.pid + v.ppid + v.event_type; }
  const ns = ((performance.now() - t0) * 1e6) / iters;
  if (acc === 0.5) console.log(acc);
  return ns;
}
const g = [], r = [];
for (let i = 0; i < 7; i++) { g.push(run(G, 2e6)); r.push(run(V, 2e6)); }
const med = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
console.log(JSON.stringify({ gen: med(g), view: med(r) }));
`;

/** Runs `cmd` with stdout to `out`; returns wall milliseconds. */
function run(cmd: string[], out: string): number {
  const fd = openSync(out, "w");
  try {
    const t0 = performance.now();
    const r = spawnSync(cmd[0]!, cmd.slice(1), {
      cwd: ROOT,
      stdio: ["ignore", fd, "pipe"],
    });
    const ms = performance.now() - t0;
    if (r.status !== 0) {
      throw new Error(`${cmd.join(" ")} failed: ${r.stderr?.toString()}`);
    }
    return ms;
  } finally {
    closeSync(fd);
  }
}

try {
  const times: Record<string, number[]> = { bun: [], deno: [], bpftool: [] };
  for (const name of Object.keys(commands))
    run(commands[name]!, join(dir, name)); // warm up
  for (let i = 0; i < RUNS; i++) {
    for (const name of Object.keys(commands)) {
      times[name]!.push(run(commands[name]!, join(dir, name)));
    }
  }
  const c = median(times.bpftool!);
  const size = (n: string) => (statSync(join(dir, n)).size / 1e6).toFixed(1);
  console.log(
    `vmlinux types, whole process, median of ${RUNS} interleaved runs:`,
  );
  console.log(
    `  bpftool btf dump format c  ${c.toFixed(1)} ms  (${size("bpftool")} MB of C)`,
  );
  for (const rt of ["bun", "deno"]) {
    const m = median(times[rt]!);
    console.log(
      `  tsbpf-gen types (${rt.padEnd(4)})    ${m.toFixed(1)} ms  (${size(rt)} MB of TS)  ratio ${(m / c).toFixed(2)}x bpftool (target <= 0.9x)`,
    );
  }

  console.log(`what bounds it, median of ${RUNS} (ms):`);
  const empty = join(dir, "empty.ts");
  writeFileSync(empty, "");
  const phases = join(dir, "phases.ts");
  writeFileSync(phases, PHASES);
  for (const rt of ["bun", "deno"] as const) {
    const start: number[] = [];
    const load: number[] = [];
    const parse: number[] = [];
    const gen: number[] = [];
    const genWrite: number[] = [];
    const ts: number[] = [];
    const again: number[] = [];
    const inGen: Record<string, number[]> = {};
    for (let i = 0; i < RUNS; i++) {
      start.push(run(runner(rt, empty), join(dir, "empty.out")));
      for (const mode of ["discard", "write"]) {
        const r = spawnSync(
          runner(rt, phases)[0]!,
          [...runner(rt, phases).slice(1), mode, join(dir, "phases.out")],
          { encoding: "utf8" },
        );
        const p = JSON.parse(r.stderr.trim().split("\n").pop()!);
        if (mode === "discard") {
          load.push(p.load);
          parse.push(p.parse);
          gen.push(p.gen);
          ts.push(p.ts);
          again.push(p.again);
          for (const { name, ms } of p.phases) (inGen[name] ??= []).push(ms);
        } else genWrite.push(p.gen);
      }
    }
    const f = (xs: number[]) => median(xs).toFixed(1);
    console.log(
      `  ${rt.padEnd(4)}  start-up (empty script) ${f(start)}  module load ${f(load)}  read ${f(parse)}  wasm generation ${f(gen)}  wasm generation+write ${f(genWrite)}`,
    );
    console.log(
      `        TypeScript generator (the fallback) ${f(ts)}, again in the same process (warm JIT) ${f(again)}; by phase: ${Object.entries(
        inGen,
      )
        .map(([name, xs]) => `${name} ${f(xs)}`)
        .join("  ")}`,
    );
  }

  const fixtureMod = join(dir, "fixture.ts");
  run(
    [
      ...commands.bun!.slice(0, 2),
      "types",
      join(ROOT, "build/fixtures/btf_types.bpf.o"),
    ],
    fixtureMod,
  );
  const importedMod = join(dir, "fixture_imported.ts");
  run(
    [
      ...commands.bun!.slice(0, 2),
      "types",
      join(ROOT, "build/fixtures/btf_types.bpf.o"),
      "--import",
      join(ROOT, "mod.ts"),
    ],
    importedMod,
  );
  console.log("field reads (ns per 3-field read via $repoint, median of 7):");
  for (const [what, mod] of [
    ["helpers inlined ", fixtureMod],
    ["helpers imported", importedMod],
  ] as const) {
    const reads = join(dir, "reads.mjs");
    writeFileSync(reads, READS(mod));
    for (const rt of ["bun", "deno"] as const) {
      const r = spawnSync(runner(rt, reads)[0]!, runner(rt, reads).slice(1), {
        encoding: "utf8",
      });
      const x = JSON.parse(r.stdout.trim());
      console.log(
        `  ${rt.padEnd(4)}  generated class (${what}) ${x.gen.toFixed(1)}  runtime view ${x.view.toFixed(1)}  ratio ${(x.gen / x.view).toFixed(2)}x`,
      );
    }
  }

  if (CHECK) {
    const mod = join(dir, "vmlinux.ts");
    writeFileSync(mod, "");
    run(commands.bun!, mod);
    for (const rt of ["bun", "deno"] as const) {
      const code = `const m = await import(${JSON.stringify("file://" + mod)}); console.log(Object.keys(m).length);`;
      const r =
        rt === "bun"
          ? spawnSync(join(BIN, "bun"), ["-e", code], { encoding: "utf8" })
          : spawnSync(join(BIN, "deno"), ["eval", code], { encoding: "utf8" });
      console.log(
        `  import under ${rt}: ${r.status === 0 ? `ok, ${r.stdout.trim()} exports` : `FAILED ${r.stderr.slice(0, 500)}`}`,
      );
    }
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noImplicitOverride: true,
          noEmit: true,
          skipLibCheck: true,
          target: "es2022",
          lib: ["es2022"],
          types: [],
        },
        files: ["vmlinux.ts"],
      }),
    );
    const t0 = performance.now();
    const tsc = spawnSync(
      join(BIN, "tsc"),
      ["-p", join(dir, "tsconfig.json")],
      {
        encoding: "utf8",
        maxBuffer: 1 << 26,
        env: { ...process.env, NODE_OPTIONS: "--max-old-space-size=8192" },
      },
    );
    const secs = ((performance.now() - t0) / 1000).toFixed(0);
    console.log(
      `  tsc --strict --noEmit: ${tsc.status === 0 ? "ok" : `FAILED\n${(tsc.stdout + tsc.stderr).slice(0, 2000)}`} (${secs} s)`,
    );
    const d0 = performance.now();
    const dc = spawnSync(join(BIN, "deno"), ["check", "-q", mod], {
      encoding: "utf8",
      cwd: dir,
      maxBuffer: 1 << 26,
    });
    console.log(
      `  deno check: ${dc.status === 0 ? "ok" : `FAILED\n${(dc.stdout + dc.stderr).slice(0, 2000)}`} (${((performance.now() - d0) / 1000).toFixed(0)} s)`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
