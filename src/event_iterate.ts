/**
 * The async iteration shared by the ring and perf buffer readers: drain into
 * a batch of detached copies, yield them, wait without busy-polling when
 * there is nothing, end on close or abort.
 */
import { setImmediate } from "node:timers";
import type { StructView } from "./btf/views.ts";
import type { EventWaiter } from "./event_wait.ts";

/** Records copied per drain before they are yielded. */
const ITER_BATCH = 1024;
/**
 * While records keep coming, the event loop gets a turn at least this often:
 * yields alone are microtasks, so a ring that never empties would otherwise
 * starve timers, I/O and `AbortSignal.timeout()`.
 */
const FAIR_MS = 20;

/** What a reader lends {@link iterateDetached}. */
export interface IterationSource {
  /** True once the reader is closed. */
  closed(): boolean;
  /** Drains records into `take` (which returns false to stop). */
  drain(take: (record: unknown) => boolean): void;
  /** The reader's waiter (woken by `close()`). */
  readonly waiter: EventWaiter;
}

/**
 * Yields detached copies of records (`toObject()` for struct views, a copied
 * `Uint8Array` otherwise) until the source closes or `signal` aborts.
 */
export async function* iterateDetached<D>(
  source: IterationSource,
  signal?: AbortSignal,
): AsyncGenerator<D, void, undefined> {
  const { waiter } = source;
  const batch: unknown[] = [];
  const take = (r: unknown) => {
    batch.push(
      r instanceof Uint8Array ? r.slice() : (r as StructView).toObject(),
    );
    return batch.length < ITER_BATCH;
  };
  const onAbort = () => waiter.wake();
  signal?.addEventListener("abort", onAbort);
  let lastTurn = performance.now();
  try {
    while (!source.closed() && !signal?.aborted) {
      source.drain(take);
      if (batch.length) {
        for (let i = 0; i < batch.length; i++) {
          yield batch[i] as D;
          if (source.closed() || signal?.aborted) return;
        }
        batch.length = 0;
        if (performance.now() - lastTurn > FAIR_MS) {
          await new Promise((r) => setImmediate(r));
          lastTurn = performance.now();
        }
        continue;
      }
      // Not a turn of the event loop: wait() resolves at once when ready.
      await waiter.wait(-1);
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
