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
  threads: [number, number];
  said: string[];
  during: string[];
  main: string;
}

/**
 * Runs test/_support/<child>.ts in a process of this runtime and returns
 * the JSON of the last line it prints (failing with its stderr otherwise).
 */
function runChild<T>(child: string, args: string[] = []): T {
  const script = join(ROOT, `test/_support/${child}.ts`);
  const r = deno
    ? spawnSync(deno.execPath(), ["run", "-A", script, ...args], {
        encoding: "utf8",
        timeout: 60_000,
      })
    : spawnSync(process.execPath, [script, ...args], {
        encoding: "utf8",
        timeout: 60_000,
      });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    throw new Error(
      `${child} ${args.join(" ")} failed (${r.status}): ${r.stderr}`,
    );
  }
  return JSON.parse(line) as T;
}

function run(end: string, cycles: number): Outcome {
  return runChild<Outcome>("thread_child", [end, String(cycles)]);
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
    const out = runChild<{ report: Record<string, unknown>; main: string }>(
      "thread_rings_child",
    );
    expect(out.report).toEqual({
      hash: "49",
      cpus: expect.any(Number),
      object: "FfiError",
      records: 5,
    });
    expect(out.main).toMatch(/^BpfVerifierError [1-9]/);
  }, 60_000);
  it("one reader per ring buffer map holds across threads: a Worker's second reader is refused, and a terminated Worker's no longer counts", () => {
    // Each thread kept its own claims: a Worker read a map the main
    // thread read, each taking records from under the other.
    const out = runChild<Record<string, string>>("thread_claims_child");
    expect(out.workerWhileMainReads).toMatch(
      /^StateError: .*already read by another RingBuffer of thread \d+ of this process/,
    );
    expect(out.workerAfterMainClosed).toBe("opened");
    expect(out.mainWhileWorkerReads).toMatch(
      /^StateError: map 'rb' .*of thread \d+ of this process/,
    );
    expect(out.mainAfterWorkerTerminated).toBe("opened");
  }, 60_000);
  it("after the main thread's closeAll(), its objects and readers close while a Worker holds libbpf", () => {
    // close() called libbpf's frees through the print-ownership guard: an
    // FfiError, and the object, its maps and the readers stayed open.
    const out = runChild<Record<string, unknown>>("thread_close_child");
    expect(out).toEqual({
      worker: "loaded",
      ringBuffer: "closed",
      perfBuffer: "closed",
      ringObject: "closed",
      perfObject: "closed",
      fdsFreed: expect.any(Number),
    });
    // Two objects' programs and maps, a ring's epoll fd and a perf
    // buffer's per-CPU events.
    expect(out.fdsFreed).toBeGreaterThanOrEqual(10);
  }, 60_000);
  // Each cycle a Worker opens two objects, a link, a reader (with a wait
  // pending) and a map: ~25 fds, all still open after it ended before.
  const ends: [string, string, boolean][] = [
    ["closeAll", "awaits closeAll() and is then terminated", true],
    ["exit", "ends with process.exit()", true],
    [
      "self-close",
      "ends with self.close() (Bun: Deno runs no code then)",
      !deno,
    ],
  ];
  for (const [end, what, runs] of ends) {
    it.skipIf(
      !need(runs, `${end}: Deno runs none of a Worker's code on self.close()`),
    )(
      `a Worker that ${what} leaves no fd or thread behind`,
      () => {
        const out = run(end, 5);
        expect(out.said).toEqual(Array(5).fill("ready"));
        // A runtime may keep a couple of its own (the lifetime tests' bound).
        expect(out.last).toBeLessThanOrEqual(out.first + 2);
        // Deno's blocking pool keeps an idle thread a while: one stuck in
        // a Worker's wait would add one a cycle.
        expect(out.threads[1]).toBeLessThanOrEqual(out.threads[0] + 2);
        expect(out.main).toMatch(/^BpfVerifierError [1-9]/);
      },
      60_000,
    );
  }

  it("the main thread's closeAll() gives libbpf to Workers, and takes it back after", () => {
    const out = run("handover", 2);
    expect(out.said).toEqual(["ready", "ready"]);
    expect(out.main).toMatch(/^BpfVerifierError [1-9]/);
  }, 60_000);
});
