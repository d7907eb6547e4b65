/**
 * `tsbpf-gen types /sys/kernel/btf/vmlinux` (whole process, under Bun and
 * Deno) beside `bpftool btf dump file /sys/kernel/btf/vmlinux format c`
 * (whole process), interleaved, median of N; both write to a file. Then,
 * once and untimed, checks that the generated module type-checks
 * (`tsc --strict --noEmit --skipLibCheck`) and imports in both runtimes.
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

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
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
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
