/**
 * Waiting between an example's reports until it stops. The stop itself is
 * the library's `stopSignal()` (Ctrl-C, SIGTERM, a closed stdout pipe, or
 * after `--duration` seconds).
 */

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
