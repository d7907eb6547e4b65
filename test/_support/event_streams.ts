/**
 * Helpers shared by the ring and perf buffer kernel tests: a reader flooded
 * by its own syscalls (does it leave the event loop its turns?), and child
 * scripts run in this runtime (does the process exit, or crash?).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BpfObject } from "../../src/object.ts";
import { fixture } from "./fixtures.ts";

/**
 * Runs `loop(stop)` for 200 ms of a reader whose own syscalls produce the
 * next records (fixtures/selftrace): the data never stops. Returns how often
 * a 10 ms interval fired meanwhile and how long the loop took (it gives up
 * after 3 s, which only a starved event loop needs).
 */
export async function turnsWhileFlooded(
  loop: (stop: () => boolean, signal: AbortSignal) => Promise<void>,
): Promise<{ ticks: number; ms: number }> {
  let ticks = 0;
  let stopped = false;
  const start = performance.now();
  const timer = setInterval(() => ticks++, 10);
  const end = setTimeout(() => (stopped = true), 200);
  try {
    await loop(
      () => stopped || performance.now() - start > 3000,
      AbortSignal.timeout(200),
    );
  } finally {
    clearInterval(timer);
    clearTimeout(end);
  }
  return { ticks, ms: performance.now() - start };
}

/** fixtures/selftrace loaded to trace this process's own syscalls. */
export function selfTraced(): BpfObject {
  const obj = BpfObject.open(fixture("selftrace"));
  obj.globals.target_pid = process.pid;
  obj.load();
  return obj;
}

/** How this runtime runs `script`. */
function runtimeCommand(script: string): [string, string[]] {
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  return deno
    ? [deno.execPath(), ["run", "-A", script]]
    : [process.execPath, [script]];
}

/** Runs `body` as a child script; resolves to its exit code and time taken. */
export function runChild(
  body: string,
): Promise<{ code: number | null; ms: number; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-rb-"));
  const script = join(dir, "child.ts");
  writeFileSync(script, body);
  const [cmd, args] = runtimeCommand(script);
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const kill = setTimeout(() => child.kill("SIGKILL"), 8000);
    child.on("exit", (code) => {
      clearTimeout(kill);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, ms: performance.now() - t0, out });
    });
  });
}

/**
 * Runs `body` as a child script to its end, blocking this process
 * (records a test's own reader holds stay where they are meanwhile).
 * Returns its stdout, trimmed, or throws with its stderr.
 */
export function runChildSync(body: string): string {
  const dir = mkdtempSync(join(tmpdir(), "tsbpf-rb-"));
  const script = join(dir, "child.ts");
  writeFileSync(script, body);
  const [cmd, args] = runtimeCommand(script);
  try {
    const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 8000 });
    if (r.status !== 0)
      throw new Error(`child exited ${r.status}: ${r.stderr}`);
    return r.stdout.trim();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
