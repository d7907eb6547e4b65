/**
 * `stopSignal()`: the AbortSignal a command-line tool stops on (Ctrl-C,
 * SIGTERM, a closed stdout pipe, a time limit), for Bun, Deno and Node.
 */
import process from "node:process";
import { BpfTypeError } from "./errors.ts";
import { describeValue } from "./map_codecs.ts";

/** The process signals {@link stopSignal} can stop on. */
export type StopOnSignal = "SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT";

/** Options of {@link stopSignal}. */
export interface StopSignalOptions {
  /** Signals that stop (default SIGINT and SIGTERM). */
  readonly signals?: readonly StopOnSignal[];
  /** Stop after this many milliseconds too (default: Infinity, never). */
  readonly timeout?: number;
  /**
   * Stop when stdout's reader goes away (`tool | head`): the write error
   * (EPIPE) is taken as a stop instead of being thrown (default false).
   */
  readonly stdoutClosed?: boolean;
}

/**
 * An AbortSignal that {@link stopSignal} aborts; disposing it removes the
 * process listeners and the timer it installed.
 */
export type StopSignal = AbortSignal & Disposable;

const SIGNALS: readonly StopOnSignal[] = [
  "SIGINT",
  "SIGTERM",
  "SIGHUP",
  "SIGQUIT",
];
// Longest setTimeout delay (a signed 32-bit count of milliseconds); a
// longer one fires at once in Bun and Node.
const MAX_DELAY = 2 ** 31 - 1;

/**
 * An AbortSignal aborted on SIGINT (Ctrl-C) or SIGTERM, and optionally
 * after `timeout` ms or when stdout's reader goes away. Its `reason` says
 * which: the signal's name, `"timeout"` or `"stdout closed"`. The handlers
 * stay until disposed, so a second Ctrl-C during clean-up does not kill the
 * process half-way; `using stop = stopSignal()` removes them (and the
 * timer) at the end of the scope, restoring the default handling.
 *
 * ```ts
 * using stop = stopSignal();
 * for await (const e of obj.ringBuffer("events").events({ signal: stop })) …
 * ```
 */
export function stopSignal(options: StopSignalOptions = {}): StopSignal {
  const signals = options.signals ?? ["SIGINT", "SIGTERM"];
  if (
    !Array.isArray(signals) ||
    !signals.every((s) => SIGNALS.includes(s as StopOnSignal))
  ) {
    throw new BpfTypeError(
      `stopSignal: signals is an array of ${SIGNALS.join(", ")}, got ${describeValue(options.signals)}`,
    );
  }
  const timeout = options.timeout ?? Infinity;
  if (typeof timeout !== "number" || !(timeout >= 0)) {
    throw new BpfTypeError(
      `stopSignal: timeout is a number of milliseconds >= 0 (Infinity: none), got ${describeValue(options.timeout)}`,
    );
  }
  const ctl = new AbortController();
  const handlers = signals.map((s) => [s, () => ctl.abort(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  const onStdoutError = (e: { code?: string }) => {
    if (e?.code !== "EPIPE") throw e;
    ctl.abort("stdout closed");
  };
  // Without a listener, a write to a closed pipe is an uncaught error in
  // Deno, and in Bun a stack trace while the tool runs on.
  if (options.stdoutClosed) process.stdout.on("error", onStdoutError);
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (timeout !== Infinity) {
    const end = Date.now() + timeout;
    const arm = () => {
      const left = end - Date.now();
      if (left <= 0) return ctl.abort("timeout");
      timer = setTimeout(arm, Math.min(left, MAX_DELAY));
    };
    arm();
  }
  const signal = ctl.signal as StopSignal;
  signal.addEventListener("abort", () => clearTimeout(timer), { once: true });
  let disposed = false;
  signal[Symbol.dispose] = () => {
    if (disposed) return;
    disposed = true;
    clearTimeout(timer);
    for (const [s, h] of handlers) process.off(s, h);
    if (options.stdoutClosed) process.stdout.off("error", onStdoutError);
  };
  return signal;
}
