/**
 * Routes libbpf's log (libbpf_set_print) into JS. By default nothing is
 * printed: WARN and INFO lines are kept and attached to the next error
 * (`BpfError.libbpfLog`); a handler set with `setLibbpfLogHandler` (or an
 * object's `logHandler` option) sees every line as it comes.
 */
import {
  CALLBACKS,
  type NativeCallback,
  type Ptr,
  libbpf,
  libc,
  nativeCallback,
  onLibbpfLoaded,
  viewMemory,
} from "../ffi/mod.ts";

/** libbpf's print levels (enum libbpf_print_level). */
export type LibbpfLogLevel = "warn" | "info" | "debug";

/** Receives one libbpf log message (no trailing newline). */
export type LibbpfLogHandler = (level: LibbpfLogLevel, message: string) => void;

const LEVELS: readonly LibbpfLogLevel[] = ["warn", "info", "debug"];
/** How libbpf starts a verifier log (libbpf.c, bpf_object_load_prog). */
const VERIFIER_LOG_MARK = "-- BEGIN PROG LOAD LOG --";
// Drop the oldest captured lines beyond this (a verifier log can be MBs).
const CAPTURE_LIMIT = 64 << 20;

let globalHandler: LibbpfLogHandler | null = null;
let scopedHandler: LibbpfLogHandler | null = null;
let captured: string[] = [];
let capturedBytes = 0;
let printer: NativeCallback | null = null;

// A va_list is a pointer to a 24-byte struct on x86_64 and to a 32-byte one on
// arm64 (AAPCS64 passes the struct by reference). vsnprintf consumes it, so we
// format from a copy (what va_copy does) and can retry with a larger buffer.
const VA_SIZE =
  (globalThis as { process?: { arch?: string } }).process?.arch === "arm64"
    ? 32
    : 24;
const vaCopy = new Uint8Array(32);
let out = new Uint8Array(8192);
const decoder = new TextDecoder();

function format(fmt: Ptr | null, va: Ptr | null): string {
  if (fmt === null || va === null) return "";
  const { vsnprintf } = libc();
  const vaBytes = viewMemory(va, VA_SIZE);
  vaCopy.set(vaBytes);
  let n = vsnprintf(out, out.length, fmt, vaCopy);
  if (n >= out.length) {
    out = new Uint8Array(Math.max(n + 1, out.length * 2));
    vaCopy.set(vaBytes);
    n = vsnprintf(out, out.length, fmt, vaCopy);
  }
  const msg =
    n > 0 ? decoder.decode(out.subarray(0, Math.min(n, out.length - 1))) : "";
  // A whole verifier log arrives as one message (tens of MB): do not keep
  // a buffer that size for the life of the process.
  if (out.length > 1 << 20) out = new Uint8Array(8192);
  return msg;
}

function onPrint(level: number, fmt: Ptr | null, va: Ptr | null): number {
  try {
    const lvl = LEVELS[level] ?? "debug";
    const handler = scopedHandler ?? globalHandler;
    // Formatting debug lines nobody reads is wasted work.
    if (lvl === "debug" && !handler) return 0;
    const msg = format(fmt, va);
    if (lvl !== "debug") {
      captured.push(msg);
      capturedBytes += msg.length;
      if (capturedBytes > CAPTURE_LIMIT) evictOldest();
    }
    if (handler) {
      inHandler++;
      try {
        handler(lvl, msg.replace(/\n$/, ""));
      } finally {
        inHandler--;
      }
    }
  } catch {
    // Never throw across the C boundary.
  }
  return 0;
}

/**
 * Drops the oldest captured lines until under the limit, but never a
 * verifier log: it is what the error is about, and it arrives whole, as
 * one message of up to tens of MB.
 */
function evictOldest(): void {
  for (let i = 0; capturedBytes > CAPTURE_LIMIT && i < captured.length - 1; ) {
    if (captured[i]!.includes(VERIFIER_LOG_MARK)) i++;
    else capturedBytes -= captured.splice(i, 1)[0]!.length;
  }
}

/** Depth of log handler calls in progress (so: inside a libbpf call). */
let inHandler = 0;

/**
 * True while a libbpf log handler runs: libbpf is in the middle of a call
 * and what it works on must not be freed (see `BpfObject.close`).
 */
export function inLibbpfLogHandler(): boolean {
  return inHandler > 0;
}

function install(l: ReturnType<typeof libbpf>): void {
  // Module-level reference: the callback must never be collected while
  // libbpf holds its pointer (for as long as this thread holds libbpf).
  printer ??= nativeCallback(CALLBACKS.libbpf_print, onPrint);
  l.libbpf_set_print(printer.ptr);
}

// Each time this thread takes libbpf (loader, maps, ring buffers, or again
// after giving it back), the print callback goes in right then: libbpf
// never prints to stderr on its own.
onLibbpfLoaded(install);

/**
 * Frees the print callback, once libbpf no longer holds it (after
 * `releaseLibbpf()`): Deno keeps a Worker's event loop (an eventfd and an
 * epoll fd) while a callback made there is open.
 */
export function closeLibbpfLog(): void {
  // From a log handler: the callback is running (kept, then).
  if (inHandler > 0) return;
  printer?.close();
  printer = null;
}

/** Returns libbpf with the print callback installed. */
export function libbpfWithLog(): ReturnType<typeof libbpf> {
  return libbpf();
}

/**
 * Sets the process-wide libbpf log handler; `null` restores the default
 * (keep lines for the next error, print nothing).
 */
export function setLibbpfLogHandler(handler: LibbpfLogHandler | null): void {
  libbpfWithLog();
  globalHandler = handler;
}

/** Forgets captured lines: call before the libbpf operation to watch. */
export function clearLibbpfLog(): void {
  captured = [];
  capturedBytes = 0;
}

/** Returns and forgets the lines captured since the last clear. */
export function takeLibbpfLog(): string {
  const s = captured.join("");
  clearLibbpfLog();
  return s;
}

/**
 * Runs `fn` with the captured log cleared first and, when given, `handler`
 * receiving the lines it produces (an object's own `logHandler`).
 */
export function withLibbpfLog<T>(
  handler: LibbpfLogHandler | null | undefined,
  fn: () => T,
): T {
  libbpfWithLog();
  clearLibbpfLog();
  const prev = scopedHandler;
  scopedHandler = handler ?? prev;
  try {
    return fn();
  } finally {
    scopedHandler = prev;
  }
}
