/**
 * Resource lifetime across the FFI boundary: many open/use/close cycles
 * leave fds, memory and programs as they were.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, isRoot, need } from "../_support/fixtures.ts";

const root = need(isRoot(), "kernel tests need root (CAP_BPF, CAP_PERFMON)");

interface Usage {
  fds: [number, number];
  rssKiB: [number, number];
  programs: number;
}

/** Runs a scenario of test/_support/lifetime_child.ts in this runtime. */
function cycles(scenario: string, n: number, warmUp: number): Usage {
  const script = join(ROOT, "test/_support/lifetime_child.ts");
  const args = [scenario, String(n), String(warmUp)];
  const deno = (globalThis as { Deno?: { execPath(): string } }).Deno;
  const r = deno
    ? spawnSync(
        deno.execPath(),
        ["run", "-A", "--v8-flags=--expose-gc", script, ...args],
        { encoding: "utf8", timeout: 120_000 },
      )
    : spawnSync(process.execPath, [script, ...args], {
        encoding: "utf8",
        timeout: 120_000,
      });
  const line = r.stdout.trim().split("\n").pop() ?? "";
  if (r.status !== 0 || !line.startsWith("{")) {
    throw new Error(`${scenario} child failed (${r.status}): ${r.stderr}`);
  }
  return JSON.parse(line) as Usage;
}

describe.skipIf(!root)("many cycles in a child process", () => {
  // Bounds: the fds exactly (a runtime may open a couple of its own once),
  // RSS well under what one leaked object, reader or Worker per cycle adds.
  const cases: [string, number, number, number][] = [
    // scenario, cycles, warm-up cycles, RSS growth bound (MiB)
    ["object", 500, 50, 10],
    ["readers", 100, 20, 8],
    ["maps", 5000, 2000, 6],
    // Bun: each reader's first wait used to start a Worker that loaded all
    // of libc's table, ~8 KiB of which Bun never gives back.
    ["waiters", 1000, 300, 4],
  ];
  for (const [scenario, n, warmUp, mib] of cases) {
    it(`${scenario}: ${n} cycles leave fds, programs and memory as they were`, () => {
      const u = cycles(scenario, n, warmUp);
      expect(u.fds[1]).toBeLessThanOrEqual(u.fds[0] + 2);
      expect(u.programs).toBe(0);
      expect((u.rssKiB[1] - u.rssKiB[0]) / 1024).toBeLessThan(mib);
    }, 120_000);
  }
});
