/**
 * stopSignal() in child processes under Bun and Deno: SIGINT aborts it
 * (a second one during clean-up is absorbed), dispose restores the
 * default handling, it does not keep a process alive, a closed stdout
 * pipe stops it; and its timeout and argument checks, in process.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { BpfTypeError } from "../../src/errors.ts";
import { stopSignal } from "../../src/stop_signal.ts";
import { ROOT } from "../_support/fixtures.ts";

const BIN = join(ROOT, "node_modules/.bin");
const CHILD = join(ROOT, "test/_support/stop_child.ts");

interface Run {
  out: string;
  code: number | null;
  signal: string | null;
}

/**
 * Runs the child in `mode` under `runtime`, sending SIGINT `ints` times
 * (200 ms apart) once it prints "ready".
 */
function run(
  runtime: "bun" | "deno",
  mode: string,
  ints: number,
  pipe?: "head",
): Promise<Run> {
  const args =
    runtime === "bun"
      ? [join(BIN, "bun"), CHILD, mode]
      : [join(BIN, "deno"), "run", "-A", CHILD, mode];
  const cmd =
    pipe === "head"
      ? ["/bin/sh", "-c", `"$@" | head -c 1 >/dev/null`, "sh", ...args]
      : args;
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let sent = false;
    const onData = (d: Buffer) => {
      out += d;
      if (!sent && out.includes("ready\n")) {
        sent = true;
        for (let i = 0; i < ints; i++) {
          // process.kill, not child.kill: Deno's ChildProcess.kill reports
          // the signal it sent as the exit reason even when handled.
          setTimeout(() => process.kill(child.pid!, "SIGINT"), 200 * i);
        }
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    const kill = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.on("exit", (code, signal) => {
      clearTimeout(kill);
      resolve({ out, code, signal });
    });
  });
}

describe("stopSignal", () => {
  for (const rt of ["bun", "deno"] as const) {
    it(`${rt}: SIGINT aborts it; a second SIGINT during clean-up is absorbed`, async () => {
      const r = await run(rt, "stop", 2);
      expect(r.out).toContain("stopped: SIGINT\ncleaning\ncleaned\n");
      expect(r.code).toBe(0);
    }, 20_000);

    it(`${rt}: once disposed, SIGINT ends the process as by default`, async () => {
      const r = await run(rt, "disposed", 1);
      expect(r.out).not.toContain("still alive");
      expect(r.code === 130 || r.signal === "SIGINT").toBe(true);
    }, 20_000);

    it(`${rt}: does not keep the process alive`, async () => {
      const t0 = Date.now();
      const r = await run(rt, "undisposed", 0);
      expect(r.code).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
    }, 20_000);

    it(`${rt}: stdoutClosed stops it when the pipe's reader goes away`, async () => {
      const r = await run(rt, "epipe", 0, "head");
      expect(r.out).toContain("stopped: stdout closed");
      expect(r.code).toBe(0);
    }, 20_000);
  }

  it("aborts after its timeout, with reason 'timeout'; dispose clears it", async () => {
    using stop = stopSignal({ timeout: 30 });
    expect(stop.aborted).toBe(false);
    await new Promise((r) => stop.addEventListener("abort", r));
    expect(stop.reason).toBe("timeout");
    const never = stopSignal({ timeout: 30 });
    never[Symbol.dispose]();
    never[Symbol.dispose](); // idempotent
    await new Promise((r) => setTimeout(r, 60));
    expect(never.aborted).toBe(false);
  });

  it("refuses bad options with a BpfTypeError", () => {
    for (const o of [
      { timeout: -1 },
      { timeout: NaN },
      { timeout: "5" },
      { signals: ["SIGKILL"] },
      { signals: "SIGINT" },
    ]) {
      expect(() => stopSignal(o as never)).toThrow(BpfTypeError);
    }
  });
});
