/**
 * Reading the kernel's trace_pipe, where `bpf_printk` output goes: the
 * `cat /sys/kernel/tracing/trace_pipe` of bcc's `trace_print()`, as an
 * async iterable of parsed lines that waits without blocking the event loop.
 */
import { cstr, errno, libc } from "../ffi/mod.ts";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { bpfError } from "./bpf_error.ts";
import { BpfTypeError, ClosedError } from "./errors.ts";
import { FairTurns } from "./event_iterate.ts";
import { type EventWaiter, createWaiter } from "./event_wait.ts";
import { describeValue } from "./map_codecs.ts";
import { type TraceLine, TraceLineSplitter } from "./trace_line.ts";
import { trackOpen, untrackOpen } from "./thread_exit.ts";

// asm-generic/fcntl.h, errno-base.h
const O_RDONLY = 0;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const EINTR = 4;
const EAGAIN = 11;
const ENOENT = 2;
const EBUSY = 16;

/**
 * Where trace_pipe is, in the order libbpf looks for tracefs: its own
 * mount first, then the one debugfs mounts on access.
 */
export const TRACE_PIPE_PATHS = [
  "/sys/kernel/tracing/trace_pipe",
  "/sys/kernel/debug/tracing/trace_pipe",
] as const;

/**
 * The kernel hands out at most a trace_seq (one page) per read of
 * trace_pipe (kernel/trace/trace.c tracing_read_pipe), in whole lines.
 */
const READ_SIZE = 8192;
/** Reads per `read()` call: a busy trace never keeps it from returning. */
const MAX_READS = 64;
/** Longest sleep between waits that find nothing (see the iterator). */
const MAX_IDLE_MS = 50;

/** Options of {@link tracePipe}. */
export interface TracePipeOptions {
  /** Aborting closes the pipe: a `for await` over it ends, its fds are freed. */
  readonly signal?: AbortSignal;
}

/**
 * An open trace_pipe. `for await (const line of pipe)` yields its lines as
 * they come; leaving the loop (`break`, a throw, the signal) closes it.
 *
 * trace_pipe is one machine-wide, consuming stream: the lines of every
 * event enabled in tracefs come through it, not only `bpf_printk`'s (filter
 * on `pid`, `event` or `message`), and since Linux 6.5 one reader at a time
 * may open it: close a pipe when done.
 */
export class TracePipe implements AsyncIterable<TraceLine>, Disposable {
  /** The trace_pipe file this reads. */
  readonly path: string;
  #fd: number;
  #waiter: EventWaiter | null = null;
  readonly #splitter = new TraceLineSplitter();
  readonly #buf = new Uint8Array(READ_SIZE);
  /** Lines read from the kernel and not handed out yet, from #head on. */
  #queue: TraceLine[] = [];
  #head = 0;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.close();
  /** Ends the iterator's sleep between idle waits, if it sleeps. */
  #endSleep: (() => void) | null = null;

  /** @internal Use {@link tracePipe}. */
  constructor(path: string, fd: number, signal?: AbortSignal) {
    this.path = path;
    this.#fd = fd;
    this.#signal = signal;
    signal?.addEventListener("abort", this.#onAbort);
    if (fd >= 0) trackOpen(this);
  }

  /** True once closed (by `close()`, leaving a loop, or the signal). */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * The lines there are now, without waiting (`[]` when none). After an
   * iteration was left, a later one yields only lines read after it.
   */
  read(): TraceLine[] {
    if (this.#fd < 0) throw new ClosedError("trace_pipe is closed");
    for (let i = 0; i < MAX_READS && this.#fill(); i++);
    const lines = this.#queue.slice(this.#head);
    this.#queue = [];
    this.#head = 0;
    return lines;
  }

  /**
   * Yields lines as they come, waiting (without blocking the event loop)
   * when there are none. Ends when the pipe closes; leaving the loop early
   * closes it.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<TraceLine, void, undefined> {
    const turns = new FairTurns();
    let idle = 0;
    try {
      while (this.#fd >= 0) {
        const line = this.#next();
        if (line !== undefined) {
          idle = 0;
          yield line;
          if (turns.counted()) await turns.settle();
          continue;
        }
        await turns.settle();
        // Waits that end at once with nothing to read (the `block` option
        // makes trace_pipe always poll ready; another reader may take the
        // lines): after two, sleep between them, which also gives timers
        // (an AbortSignal.timeout) the event-loop turns a resolved wait is not.
        if (++idle > 2)
          await this.#sleep(Math.min(MAX_IDLE_MS, 2 ** (idle - 3)));
        if (this.#fd < 0) break;
        await this.#wait().wait(-1);
      }
    } finally {
      this.close();
    }
  }

  /** The next line: queued, else read now; undefined when none is there. */
  #next(): TraceLine | undefined {
    if (this.#head === this.#queue.length && !this.#fill()) return undefined;
    const line = this.#queue[this.#head++]!;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return line;
  }

  /**
   * One read of trace_pipe into the queue. False when nothing was there
   * (EAGAIN: the fd is non-blocking) or the pipe is closed.
   */
  #fill(): boolean {
    for (;;) {
      if (this.#fd < 0) return false;
      const n = Number(libc().read(this.#fd, this.#buf, this.#buf.length));
      if (n > 0) {
        for (const l of this.#splitter.push(this.#buf.subarray(0, n)))
          this.#queue.push(l);
        // A read may end inside a line (only if a line outgrew a page):
        // the rest comes with the next one.
        if (this.#head < this.#queue.length) return true;
        continue;
      }
      if (n === 0) return false;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) return false;
      throw bpfError(
        "read",
        e,
        { kind: "tracefs", path: this.path },
        {
          detail: `cannot read ${this.path}`,
        },
      );
    }
  }

  /** Resolves after `ms`, or at once when the pipe closes. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#endSleep = null;
        resolve();
      }, ms);
      this.#endSleep = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  /** The waiter, with the pipe's fd in its epoll set (made on first wait). */
  #wait(): EventWaiter {
    if (!this.#waiter) {
      const w = createWaiter();
      try {
        w.add(this.#fd);
      } catch (e) {
        w.close();
        throw e;
      }
      this.#waiter = w;
    }
    return this.#waiter;
  }

  /**
   * Closes the pipe: a pending wait ends (the loop over it with it), the
   * fds are freed. Lines read and not yet handed out are dropped: they are
   * gone from trace_pipe too. Idempotent.
   */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    untrackOpen(this);
    this.#signal?.removeEventListener("abort", this.#onAbort);
    this.#queue = [];
    this.#head = 0;
    this.#endSleep?.();
    this.#endSleep = null;
    // Waiter first: it wakes a native wait that has our fd in its set.
    this.#waiter?.close();
    this.#waiter = null;
    libc().close(fd);
  }

  /** Same as {@link close}: for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens the kernel's trace_pipe (`/sys/kernel/tracing/trace_pipe`, else
 * `/sys/kernel/debug/tracing/trace_pipe`), where `bpf_printk` writes:
 *
 * ```ts
 * for await (const line of tracePipe({ signal: AbortSignal.timeout(5000) })) {
 *   if (line.event === "bpf_trace_printk") console.log(line.pid, line.message);
 * }
 * ```
 *
 * Throws a `BpfError` with the fix when tracefs is not mounted
 * (`mount -t tracefs tracefs /sys/kernel/tracing`), not readable (root
 * only), or another reader has trace_pipe open (`EBUSY`: its hint names
 * that process). An already aborted `signal` gives a closed pipe, which
 * yields nothing.
 */
export function tracePipe(options: TracePipeOptions = {}): TracePipe {
  if (typeof options !== "object" || options === null) {
    throw new BpfTypeError(
      `tracePipe: options is an object ({ signal? }), got ${describeValue(options)}`,
    );
  }
  const { signal } = options;
  if (signal != null && !(signal instanceof AbortSignal)) {
    throw new BpfTypeError(
      `tracePipe: signal is an AbortSignal (e.g. AbortSignal.timeout(ms)), got ${describeValue(signal)}`,
    );
  }
  const [first] = TRACE_PIPE_PATHS;
  if (signal?.aborted) return new TracePipe(first, -1);
  for (const path of TRACE_PIPE_PATHS) {
    const fd = libc().open(cstr(path), O_RDONLY | O_NONBLOCK | O_CLOEXEC, 0);
    if (fd >= 0) return new TracePipe(path, fd, signal ?? undefined);
    const e = errno();
    // Not there: try the next place. Any other failure is the answer.
    if (e !== ENOENT) {
      throw bpfError(
        "open",
        e,
        { kind: "tracefs", path },
        {
          detail: `cannot open ${path}`,
          hint: e === EBUSY ? busyHint(path) : undefined,
        },
      );
    }
  }
  throw bpfError(
    "open",
    ENOENT,
    { kind: "tracefs", path: first },
    { detail: `cannot open ${first}` },
  );
}

/**
 * What to do when trace_pipe is busy. Since Linux 6.5 the kernel lets one
 * file at a time read a trace buffer's trace_pipe (kernel/trace/trace.c
 * open_pipe_on_cpu: EBUSY), the per-CPU ones included: names who has it.
 */
function busyHint(path: string): string {
  const self = String(libc().getpid());
  const who = traceReaders(path.slice(0, -"/trace_pipe".length));
  const one = "the kernel allows one reader at a time";
  if (who.some((w) => w.pid === self)) {
    return `this process (pid ${self}) reads ${path} already, through another TracePipe: close that one first (${one})`;
  }
  if (who.length > 0) {
    const names = who.map((w) => `pid ${w.pid} (${w.comm})`).join(", ");
    return `${names} reads ${path} already, and ${one}: end that reader and retry`;
  }
  return `another process reads ${path} already, and ${one}: end that reader and retry (fuser -v ${path} names it)`;
}

/**
 * The processes with a trace_pipe of tracefs `dir` open, found in
 * /proc/<pid>/fd; [] when that cannot be read.
 */
function traceReaders(dir: string): { pid: string; comm: string }[] {
  const found: { pid: string; comm: string }[] = [];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return found;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or not ours to see
    }
    const reads = fds.some((fd) => {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        return target.startsWith(dir) && target.endsWith("/trace_pipe");
      } catch {
        return false;
      }
    });
    if (!reads) continue;
    let comm = "?";
    try {
      comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
      // exited meanwhile
    }
    found.push({ pid, comm });
  }
  return found;
}
