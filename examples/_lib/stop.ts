/**
 * When an example stops: Ctrl-C (SIGINT), SIGTERM, a closed stdout pipe, or
 * after `--duration` seconds. Handlers are installed once, so a second
 * Ctrl-C during clean-up does not kill the process half-way.
 */
import process from "node:process";

/**
 * An AbortSignal that fires on SIGINT/SIGTERM, when stdout's reader goes
 * away (`tool | head`), or after `seconds` (if given).
 */
export function stopSignal(seconds?: number): AbortSignal {
  const ctl = new AbortController();
  const stop = () => ctl.abort();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // Without a listener, a write to a closed pipe is an uncaught error in
  // Deno, and in Bun a stack trace while the tool runs on.
  process.stdout.on("error", (e: { code?: string }) => {
    if (e.code !== "EPIPE") throw e;
    stop();
  });
  if (seconds !== undefined) {
    const t = setTimeout(stop, seconds * 1000);
    ctl.signal.addEventListener("abort", () => clearTimeout(t));
  }
  return ctl.signal;
}

// Longest setTimeout delay (a signed 32-bit count of milliseconds).
const MAX_DELAY = 2 ** 31 - 1;

/**
 * Resolves after `ms` (Infinity: never), or at once when `signal` fires.
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const t = ms <= MAX_DELAY ? setTimeout(done, ms) : undefined;
    signal.addEventListener("abort", done);
  });
}
