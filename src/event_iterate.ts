/**
 * The waiting shared by the ring and perf buffer readers: `poll` (drain,
 * else wait and drain), async iteration of detached copies, and the event
 * loop turns both owe while records keep coming.
 */
import { setImmediate } from "node:timers";
import type { StructView } from "./btf/views.ts";
import { describeValue } from "./map_codecs.ts";
import { BpfTypeError } from "./errors.ts";
import type { EventWaiter } from "./event_wait.ts";

/** Items (records, trace lines) an iteration yields between checks for a due event-loop turn. */
const TURN_CHECK = 1024;
/**
 * While records keep coming, the event loop gets a turn at least this often:
 * yields alone are microtasks, so a ring that never empties would otherwise
 * starve timers, I/O and `AbortSignal.timeout()`.
 */
const FAIR_MS = 20;

/**
 * Gives the event loop a turn at least every {@link FAIR_MS} while records
 * keep coming. An awaited `wait()` is no turn when data is there already
 * (it resolves at once), so only our own setImmediate counts as one.
 */
export class FairTurns {
  #last: number;

  /** `start`: when the last turn was (0: the first delivery takes one). */
  constructor(start = performance.now()) {
    this.#last = start;
  }

  /** Items an iteration yielded since its last {@link settle}. */
  #yielded = 0;

  /** After a drain that delivered `n`: a real turn if one is due. */
  async after(n: number): Promise<void> {
    if (n > 0 && performance.now() - this.#last > FAIR_MS) {
      await new Promise((r) => setImmediate(r));
      this.#last = performance.now();
    }
  }

  /**
   * Counts an item an iteration yielded; true every {@link TURN_CHECK}
   * items, when the iteration should {@link settle} (no await per item).
   */
  counted(): boolean {
    return ++this.#yielded === TURN_CHECK;
  }

  /** {@link after} for the items yielded since the last settle. */
  settle(): Promise<void> {
    const n = this.#yielded;
    this.#yielded = 0;
    return this.after(n);
  }
}

/** What a reader lends {@link pollOnce}. */
export interface PollSource {
  /** True once the reader is closed. */
  closed(): boolean;
  /** Drains what is there now; returns the count. */
  drain(): number;
  /** The reader's waiter (created on first use). */
  waiter(): EventWaiter;
}

/**
 * Drains; if nothing was there, waits (without blocking the event loop) up
 * to `timeoutMs` (< 0: no limit) and drains. Resolves to the count.
 */
export async function pollOnce(
  source: PollSource,
  timeoutMs: number,
  turns: FairTurns,
  signal?: AbortSignal,
): Promise<number> {
  const timeout = waitTimeout(timeoutMs);
  checkSignal(signal, "poll");
  if (signal?.aborted) return 0;
  let n = source.drain();
  if (n === 0 && timeout !== 0) {
    const waiter = source.waiter();
    const onAbort = () => waiter.wake();
    signal?.addEventListener("abort", onAbort);
    try {
      // Until records come, the time is up or `signal` aborts: a wait can
      // end early (joined to another caller's shorter wait, woken for
      // another's abort, or ready with only discarded records to drain).
      const end = timeout < 0 ? Infinity : performance.now() + timeout;
      for (;;) {
        const left = end - performance.now();
        if (left <= 0) break;
        await waiter.wait(left === Infinity ? -1 : Math.ceil(left));
        if (source.closed() || signal?.aborted) return 0;
        n = source.drain();
        if (n > 0) break;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }
  await turns.after(n);
  return n;
}

/** Throws BpfTypeError unless `signal` is an AbortSignal or absent. */
function checkSignal(signal: unknown, what: string): void {
  if (signal != null && !(signal instanceof AbortSignal)) {
    throw new BpfTypeError(
      `${what}: signal is an AbortSignal (e.g. AbortSignal.timeout(ms)), got ${typeof signal}`,
    );
  }
}

/**
 * `timeoutMs` as epoll takes it: whole milliseconds up to 2^31-1, -1 for
 * no limit (any negative, Infinity, or past 2^31-1 ms: 24.8 days).
 * BpfTypeError for anything but a number (NaN would wait forever).
 */
export function waitTimeout(timeoutMs: unknown): number {
  if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs)) {
    throw new BpfTypeError(
      `poll: timeoutMs is a number of milliseconds (< 0: no limit), got ${describeValue(timeoutMs)}`,
    );
  }
  if (timeoutMs < 0 || timeoutMs > 0x7fffffff) return -1;
  return Math.ceil(timeoutMs);
}

/** Throws BpfTypeError unless `cb` is a function (before any record is taken). */
export function checkCallback(cb: unknown, what: string): void {
  if (typeof cb !== "function") {
    throw new BpfTypeError(
      `${what}: the callback must be a function (record, source) => void | boolean, got ${describeValue(cb)}`,
    );
  }
}

/**
 * Throws BpfTypeError unless `map` is a map (a `BpfMap`: something with a
 * name and a type) or an fd (a non-negative integer).
 */
export function checkMapArg(map: unknown, what: string, kind: string): void {
  const ok =
    typeof map === "number"
      ? Number.isInteger(map) && map >= 0 && map <= 0x7fffffff
      : typeof map === "object" &&
        map !== null &&
        typeof (map as { name?: unknown }).name === "string" &&
        "type" in map &&
        "fd" in map;
  if (!ok) {
    throw new BpfTypeError(
      `${what}: give the ${kind} map (a BpfMap) or its fd, got ${describeValue(map)}`,
    );
  }
}

/** What a reader lends {@link iterateDetached}. */
export interface IterationSource {
  /** True once the reader is closed. */
  closed(): boolean;
  /**
   * Hands detached records (see {@link detached}) to `take` until it
   * returns false, which it does after each one. A record leaves the
   * reader only as `take` receives it: whatever the reader drained ahead
   * stays with it, so nothing is lost when the iteration ends.
   */
  drain(take: (record: unknown) => boolean): void;
  /** The reader's waiter (woken by `close()`). */
  readonly waiter: EventWaiter;
}

/** A record's detached copy: `toObject()` of a struct view, else a copied `Uint8Array`. */
export function detached(record: unknown): unknown {
  return record instanceof Uint8Array
    ? record.slice()
    : (record as StructView).toObject();
}

/**
 * Yields the source's detached records until it closes or `signal`
 * aborts. Takes one record per drain: a record taken is a record yielded,
 * so a `break`, `return()` or abort leaves the rest with the reader.
 */
export async function* iterateDetached<D>(
  source: IterationSource,
  signal?: AbortSignal,
): AsyncGenerator<D, void, undefined> {
  const { waiter } = source;
  let record: unknown;
  let got = false;
  const take = (r: unknown) => {
    record = r;
    got = true;
    return false;
  };
  checkSignal(signal, "events");
  const onAbort = () => waiter.wake();
  signal?.addEventListener("abort", onAbort);
  const turns = new FairTurns();
  try {
    while (!source.closed() && !signal?.aborted) {
      got = false;
      source.drain(take);
      if (got) {
        const r = record;
        record = undefined;
        yield r as D;
        if (turns.counted()) await turns.settle();
        continue;
      }
      await turns.settle();
      // Not a turn of the event loop: wait() resolves at once when ready.
      await waiter.wait(-1);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
