/**
 * The epoll set under every waiting strategy (event_wait.ts): the watched
 * fds plus an eventfd that interrupts a blocked `epoll_wait`.
 */
import { errno, libc } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import type { EventWaiter } from "./event_wait.ts";

// uapi/linux/eventpoll.h
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;
const EPOLL_CLOEXEC = 0o2000000;
// eventfd(2) flags
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
/** sizeof(struct epoll_event): packed (12) on x86_64, 16 elsewhere. */
export const EPOLL_EVENT_SIZE =
  ((globalThis as { process?: { arch?: string } }).process?.arch ?? "x64") ===
  "x64"
    ? 12
    : 16;
/** Events fetched per epoll_wait. */
export const MAX_EVENTS = 8;
/** epoll data value marking the wake-up eventfd. */
const WAKE_TAG = 0xffffffff;
/** epoll data value marking the eventfd readable while records are held. */
const HELD_TAG = 0xfffffffe;

/** Outcome of one wait. */
export type WaitResult = "ready" | "timeout" | "woken";

// This thread's sets not closed yet: a closed waiter's set stays open
// until its pending native wait has returned.
const openSets = new Set<EpollSet>();

/** How many of this thread's epoll sets are still open. */
export function openEpollSets(): number {
  return openSets.size;
}

/**
 * Wakes and closes every epoll set of this thread now, native waits
 * pending or not: for a thread that ends, where the code that would close
 * them once their wait returned never runs. A pending epoll_wait holds its
 * own reference to the epoll file; the wake ends it.
 */
export function closeEpollSetsNow(): void {
  for (const set of [...openSets]) {
    set.wake();
    set.close();
  }
}

/** The epoll set and eventfd every strategy shares. */
export class EpollSet {
  readonly epollFd: number;
  readonly wakeFd: number;
  /**
   * Readable while the reader holds records in user space that no kernel
   * ring reports any more (see {@link hold}).
   */
  readonly heldFd: number;
  #held = false;
  readonly #events = new Uint8Array(EPOLL_EVENT_SIZE * MAX_EVENTS);
  readonly #eventsView = new DataView(this.#events.buffer);
  readonly #ctl = new Uint8Array(EPOLL_EVENT_SIZE);
  readonly #counter = new Uint8Array(8);
  #closed = false;

  constructor() {
    const c = libc();
    this.epollFd = c.epoll_create1(EPOLL_CLOEXEC);
    if (this.epollFd < 0) throw bpfError("epoll_create1", errno());
    this.wakeFd = c.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (this.wakeFd < 0) {
      const e = errno();
      c.close(this.epollFd);
      throw bpfError("eventfd", e);
    }
    this.heldFd = c.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (this.heldFd < 0) {
      const e = errno();
      c.close(this.epollFd);
      c.close(this.wakeFd);
      throw bpfError("eventfd", e);
    }
    try {
      this.#add(this.wakeFd, WAKE_TAG);
      this.#add(this.heldFd, HELD_TAG);
    } catch (e) {
      this.close();
      throw e;
    }
    openSets.add(this);
  }

  #add(fd: number, tag: number): void {
    const v = new DataView(this.#ctl.buffer);
    v.setUint32(0, EPOLLIN, true);
    v.setUint32(4, tag, true);
    v.setUint32(8, 0, true);
    if (libc().epoll_ctl(this.epollFd, EPOLL_CTL_ADD, fd, this.#ctl) < 0) {
      throw bpfError(
        "epoll_ctl",
        errno(),
        { kind: "other" },
        {
          detail: `cannot watch fd ${fd}`,
        },
      );
    }
  }

  /** Watches `fd` for EPOLLIN. */
  add(fd: number): void {
    this.#add(fd, fd);
  }

  /** A buffer for `epoll_wait` results (one per concurrent native call). */
  eventsBuffer(): Uint8Array {
    return this.#events;
  }

  /**
   * Interprets `n` events in `buf`: drains the eventfd when it fired.
   * Returns "ready" when a watched fd fired, else "woken"/"timeout".
   */
  classify(n: number, buf: Uint8Array = this.#events): WaitResult {
    if (n <= 0) return "timeout";
    const v =
      buf === this.#events
        ? this.#eventsView
        : new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let ready = false;
    let woken = false;
    for (let i = 0; i < n; i++) {
      if (v.getUint32(i * EPOLL_EVENT_SIZE + 4, true) === WAKE_TAG)
        woken = true;
      else ready = true;
    }
    if (woken && !this.#closed) libc().read(this.wakeFd, this.#counter, 8);
    return woken ? "woken" : ready ? "ready" : "timeout";
  }

  /** epoll_wait with timeout 0, on this thread. */
  check(): WaitResult {
    return this.classify(
      libc().epoll_wait(this.epollFd, this.#events, MAX_EVENTS, 0),
    );
  }

  /**
   * Keeps the epoll fd readable while `held` (the reader holds records it
   * took out of a ring: libbpf consumes each as it hands it over, and a
   * kernel ring reports only what it still has). A syscall only when the
   * state changes.
   */
  hold(held: boolean): void {
    if (held === this.#held || this.#closed) return;
    this.#held = held;
    if (held) {
      const one = new Uint8Array(8);
      one[0] = 1;
      libc().write(this.heldFd, one, 8);
    } else libc().read(this.heldFd, this.#counter, 8);
  }

  /** Makes the eventfd readable: interrupts a blocked epoll_wait. */
  wake(): void {
    if (this.#closed) return;
    const one = new Uint8Array(8);
    one[0] = 1;
    libc().write(this.wakeFd, one, 8);
  }

  /** Closes both fds; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    openSets.delete(this);
    libc().close(this.epollFd);
    libc().close(this.wakeFd);
    libc().close(this.heldFd);
  }
}

/**
 * What every waiting strategy shares: the epoll set, the one pending wait,
 * and the closing flag. Subclasses say how a wait happens.
 */
export abstract class EpollWaiter implements EventWaiter {
  protected readonly set = new EpollSet();
  protected pending: Promise<WaitResult> | null = null;
  protected closing = false;

  /** The epoll fd: readable when a watched fd is. */
  get epollFd(): number {
    return this.set.epollFd;
  }
  /** True while a `wait()` is pending. */
  get waiting(): boolean {
    return this.pending !== null;
  }
  /** Watches `fd` for readability. */
  add(fd: number): void {
    this.set.add(fd);
  }
  /** Ends a pending wait with "woken" (the eventfd wakes the native wait). */
  wake(): void {
    this.set.wake();
  }
  /** Keeps the epoll fd readable while the reader holds records. */
  hold(held: boolean): void {
    this.set.hold(held);
  }
  abstract wait(timeoutMs: number): Promise<WaitResult>;
  abstract close(): void;

  /**
   * A wait that joins the pending one (one native wait at a time) but
   * still ends after its own `timeoutMs`: the pending wait may have been
   * asked for with a longer one, or none.
   */
  protected joinPending(timeoutMs: number): Promise<WaitResult> {
    const pending = this.pending!;
    if (timeoutMs < 0) return pending;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<WaitResult>((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    return Promise.race([pending, timedOut]).finally(() => clearTimeout(timer));
  }
}
