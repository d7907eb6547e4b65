/**
 * Waiting for event-stream fds (ring buffer maps, perf event fds) without
 * blocking the JS thread: an epoll set holding the watched fds and an
 * eventfd we write to interrupt a wait (close, abort).
 *
 * Strategies, per runtime (measured in bench/ringbuf.ts; see the notes in
 * docs and the report):
 * - Deno: `epoll_wait` declared `nonblocking`, run on Deno's blocking
 *   thread pool. A pending call keeps the process alive, so `close()`
 *   writes the eventfd and frees the fds only once the call has returned.
 * - Bun: has no nonblocking FFI and its threadsafe JSCallback is unreliable
 *   (platform notes); a Worker blocks in `epoll_wait` and posts a message
 *   when something is ready (event_wait_bun.ts). `TSBPF_WAIT=timer` picks an
 *   adaptive timer loop instead (epoll_wait with timeout 0, backing off).
 */
import { hasNonblockingCalls, libc } from "../ffi/mod.ts";
import { createBunWaiter } from "./event_wait_bun.ts";
import {
  EpollWaiter,
  MAX_EVENTS,
  type WaitResult,
} from "./event_wait_epoll.ts";

export type { WaitResult } from "./event_wait_epoll.ts";

/** An epoll set of event-stream fds plus a wake-up eventfd. */
export interface EventWaiter {
  /** The epoll fd: readable when a watched fd is (for users' own loops). */
  readonly epollFd: number;
  /** True while a `wait()` is pending. */
  readonly waiting: boolean;
  /** Watches `fd` for readability. */
  add(fd: number): void;
  /**
   * Keeps `epollFd` readable (and waits "ready") while `held`: the reader
   * holds records in user space that no kernel ring reports any more.
   */
  hold(held: boolean): void;
  /**
   * Resolves "ready" when a watched fd is readable, "timeout" after
   * `timeoutMs` (< 0: never), "woken" after `wake()` or `close()`. One
   * wait at a time.
   */
  wait(timeoutMs: number): Promise<WaitResult>;
  /** Ends a pending wait with "woken" (or the next one, if none is pending). */
  wake(): void;
  /** Ends any wait and releases the fds (once no native call uses them). */
  close(): void;
}

/** Deno: `epoll_wait` on Deno's blocking pool, awaited. */
class NonblockingWaiter extends EpollWaiter {
  wait(timeoutMs: number): Promise<WaitResult> {
    if (this.closing) return Promise.resolve("woken");
    if (this.pending) return this.joinPending(timeoutMs);
    const set = this.set;
    const buf = set.eventsBuffer();
    this.pending = libc()
      .epoll_wait_nb(
        set.epollFd,
        buf,
        MAX_EVENTS,
        timeoutMs < 0 ? -1 : timeoutMs,
      )
      .then((n) => {
        this.pending = null;
        if (this.closing) {
          set.close();
          return "woken" as const;
        }
        return set.classify(n);
      });
    return this.pending;
  }
  close(): void {
    if (this.closing) return;
    this.closing = true;
    // The native call still uses the fds: wake it, free them when it returns.
    if (this.pending) this.set.wake();
    else this.set.close();
  }
}

/** A waiter for this runtime (see the module comment for the strategies). */
export function createWaiter(): EventWaiter {
  if (hasNonblockingCalls()) return new NonblockingWaiter();
  return createBunWaiter();
}
