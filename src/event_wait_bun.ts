/**
 * Bun's waiting strategies (Bun has no nonblocking FFI calls, and its
 * threadsafe JSCallback is unreliable for native callbacks):
 * - {@link WorkerWaiter} (default): a Worker blocks in `epoll_wait` and posts
 *   a message; idle costs no CPU, wake-up latency is one message hop.
 * - {@link TimerWaiter} (`TSBPF_WAIT=timer`): `epoll_wait` with timeout 0 on
 *   the JS thread, re-tried with setImmediate for a short hot phase, then
 *   setTimeout backing off to 50 ms; no thread, but idle wakes ~20×/s and
 *   the first event after idle can wait up to one back-off step.
 * Measured here (idle reader for 2 s, then 20 single records 20–94 ms
 * apart): worker 0.35 % of a core idle, wake-up latency median 0.24 ms;
 * timer 0.44 % idle, median 14 ms (max 29 ms). Deno's nonblocking call:
 * 0.19 % idle, median 0.25 ms. Hence the worker by default.
 */
import { UnsupportedError } from "./errors.ts";
import type { EventWaiter } from "./event_wait.ts";
import { EpollWaiter, type WaitResult } from "./event_wait_epoll.ts";

interface BunWorker {
  postMessage(m: unknown): void;
  onmessage: ((e: { data: number }) => void) | null;
  onerror: ((e: unknown) => void) | null;
  terminate(): void;
  ref(): void;
  unref(): void;
}

/**
 * The worker's module, beside this one: `.ts` in the repository, `.js` in the
 * published package (whose modules are compiled to `dist/`).
 */
const WORKER = new URL(
  `./event_wait_worker.${import.meta.url.endsWith(".js") ? "js" : "ts"}`,
  import.meta.url,
);

function envWait(): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string> } })
    .process;
  return p?.env?.TSBPF_WAIT;
}

/** Bun: a waiter of the configured kind (worker unless TSBPF_WAIT=timer). */
export function createBunWaiter(): EventWaiter {
  return envWait() === "timer" ? new TimerWaiter() : new WorkerWaiter();
}

/** Idle waiter Workers (unref'd) of {@link WORKER}, reused before a new one is started. */
const idleWorkers: BunWorker[] = [];
const MAX_IDLE_WORKERS = 4;

/** A Worker blocked in epoll_wait on our set; refs the process only while waiting. */
export class WorkerWaiter extends EpollWaiter {
  readonly #url: URL;
  #worker: BunWorker | null = null;
  #resolve: ((r: WaitResult) => void) | null = null;
  #reject: ((e: Error) => void) | null = null;
  #failure: UnsupportedError | null = null;

  /** `url`: the worker's module (tests give one that does not load). */
  constructor(url: URL = WORKER) {
    super();
    this.#url = url;
  }

  #spawn(): BunWorker {
    const W = (
      globalThis as unknown as {
        Worker: new (url: URL) => BunWorker;
      }
    ).Worker;
    const w =
      (this.#url === WORKER ? idleWorkers.pop() : undefined) ??
      new W(this.#url);
    w.onmessage = (e) => this.#done(e.data);
    w.onerror = (e) => this.#fail(e);
    return w;
  }

  /**
   * The worker died (its module did not load, or it threw): it will answer
   * no wait again, so every wait, pending or later, fails rather than hang.
   */
  #fail(e: unknown): void {
    const why = (e as { message?: unknown } | null)?.message;
    this.#failure = new UnsupportedError(
      `the worker that waits for ring/perf buffer events stopped${why ? `: ${String(why)}` : ""}`,
      {
        hint: `${this.#url.href} must load as a Worker module (a \`bun build --compile\` binary has none): set TSBPF_WAIT=timer to wait without a thread`,
        cause: e,
      },
    );
    const resolve = this.#resolve;
    const reject = this.#reject;
    this.pending = this.#resolve = this.#reject = null;
    this.#worker?.terminate();
    this.#worker = null;
    if (this.closing) {
      this.set.close();
      resolve?.("woken");
    } else reject?.(this.#failure);
  }

  #done(n: number): void {
    const resolve = this.#resolve;
    this.pending = this.#resolve = this.#reject = null;
    this.#worker?.unref();
    if (this.closing) {
      this.#shutdown();
      resolve?.("woken");
      return;
    }
    let r = this.set.check();
    // perf fds report readiness once per wake-up: the worker may have taken it.
    if (r === "timeout" && n > 0) r = "ready";
    resolve?.(r);
  }

  wait(timeoutMs: number): Promise<WaitResult> {
    if (this.closing) return Promise.resolve("woken");
    if (this.pending) return this.joinPending(timeoutMs);
    // Ready already: skip the message round trip.
    const now = this.set.check();
    if (now !== "timeout" || timeoutMs === 0) return Promise.resolve(now);
    if (this.#failure) return Promise.reject(this.#failure);
    this.#worker ??= this.#spawn();
    this.#worker.ref();
    this.pending = new Promise<WaitResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#worker.postMessage({
      epfd: this.set.epollFd,
      timeout: timeoutMs < 0 ? -1 : timeoutMs,
    });
    return this.pending;
  }

  #shutdown(): void {
    const w = this.#worker;
    this.#worker = null;
    if (w) {
      // Idle now (it answered, or never got a wait): kept for the next
      // waiter unless enough are kept already. A Worker costs milliseconds
      // to start, and Bun never gives back some of each one's memory.
      w.onmessage = w.onerror = null;
      if (this.#url !== WORKER || idleWorkers.length >= MAX_IDLE_WORKERS)
        w.terminate();
      else {
        w.unref();
        idleWorkers.push(w);
      }
    }
    this.set.close();
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    // The worker is inside epoll_wait on our fds: wake it, clean up on reply.
    if (this.pending) this.set.wake();
    else this.#shutdown();
  }
}

const HOT_MS = 2;
const MAX_SLEEP_MS = 50;

/** epoll_wait(timeout 0) re-tried from timers: no thread, adaptive back-off. */
export class TimerWaiter extends EpollWaiter {
  #timer: ReturnType<typeof setTimeout> | null = null;
  #finish: ((r: WaitResult) => void) | null = null;

  wait(timeoutMs: number): Promise<WaitResult> {
    if (this.closing) return Promise.resolve("woken");
    if (this.pending) return this.joinPending(timeoutMs);
    const first = this.set.check();
    if (first !== "timeout" || timeoutMs === 0) return Promise.resolve(first);
    const start = performance.now();
    const deadline = timeoutMs < 0 ? Infinity : start + timeoutMs;
    this.pending = new Promise<WaitResult>((resolve) => {
      let sleep = 0;
      const finish = (r: WaitResult) => {
        this.pending = this.#timer = this.#finish = null;
        resolve(r);
      };
      this.#finish = finish;
      const tick = () => {
        this.#timer = null;
        if (this.closing) return finish("woken");
        const r = this.set.check();
        const now = performance.now();
        if (r !== "timeout") return finish(r);
        if (now >= deadline) return finish("timeout");
        if (now - start < HOT_MS) {
          // Hot phase: events usually follow events closely.
          this.#timer = setTimeout(tick, 0);
          return;
        }
        sleep = Math.min(MAX_SLEEP_MS, Math.max(1, sleep * 2), deadline - now);
        this.#timer = setTimeout(tick, sleep);
      };
      this.#timer = setTimeout(tick, 0);
    });
    return this.pending;
  }

  override wake(): void {
    super.wake();
    if (this.#timer !== null && this.#finish) {
      clearTimeout(this.#timer);
      this.set.check();
      this.#finish("woken");
    }
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#finish?.("woken");
    this.set.close();
  }
}
