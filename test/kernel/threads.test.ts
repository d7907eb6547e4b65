/**
 * tsbpf used from Workers, each case in a process of its own
 * (test/_support/thread_child.ts): libbpf passes from a Worker that ended
 * to another thread, and what a Worker opened is closed when it ends.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, isRoot, need } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");
const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;

interface Outcome {
  first: number;
  last: number;
  said: string[];
  during: string[];
  main: string;
}

function run(end: string, cycles: number): Outcome {
  const script = join(ROOT, "test/_support/thread_child.ts");
  const r = deno
    ? spawnSync(deno.execPath(), ["run", "-A", script, end, String(cycles)], {
        encoding: "utf8",
        timeout: 60_000,
      })
    : spawnSync(process.execPath, [script, end, String(cycles)], {
        encoding: "utf8",
        timeout: 60_000,
      });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    throw new Error(`thread child (${end}) failed (${r.status}): ${r.stderr}`);
  }
  return JSON.parse(line) as Outcome;
}

describe.skipIf(!root)("Workers", () => {
  it("a terminated Worker's libbpf passes to the main thread, whose log callback then works", () => {
    // Bun: the Worker's log callback stayed libbpf's, and the main thread
    // was refused libbpf for the rest of the process.
    const out = run("terminate", 2);
    expect(out.said).toEqual(["ready", "ready"]);
    // Refused while a Worker held it, and not for good (it was remembered).
    expect(out.during).toEqual(["FfiError", "FfiError"]);
    expect(out.main).toMatch(/^BpfVerifierError [1-9]/);
  }, 60_000);

  it("a Worker reads a ring buffer (by fd) and maps (by id) while the main thread holds libbpf", () => {
    // The Worker was refused libbpf as a whole: now only what may print
    // (objects here) is refused, the syscall wrappers work on any thread.
    const script = join(ROOT, "test/_support/thread_rings_child.ts");
    const r = deno
      ? spawnSync(deno.execPath(), ["run", "-A", script], {
          encoding: "utf8",
          timeout: 60_000,
        })
      : spawnSync(process.execPath, [script], {
          encoding: "utf8",
          timeout: 60_000,
        });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
      report: Record<string, unknown>;
      main: string;
    };
    expect(out.report).toEqual({
      hash: "49",
      cpus: expect.any(Number),
      object: "FfiError",
      records: 5,
    });
    expect(out.main).toMatch(/^BpfVerifierError [1-9]/);
  }, 60_000);
});
