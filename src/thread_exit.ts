/**
 * The end of a JavaScript thread that used tsbpf. A Worker's finalizers
 * never run once it ends, so what it left open (fds, mappings, libbpf
 * objects) would stay open for the life of the process, and libbpf would
 * stay held by a thread that is gone. `closeAll()` closes every handle the
 * thread still has open and gives libbpf back; a Worker runs it by itself
 * when it ends in a way that runs its code: Bun fires `process`'s "exit"
 * when a Worker's work is done, on `self.close()` and on `process.exit()`,
 * Deno fires "unload" on `process.exit()`. `worker.terminate()` (both
 * runtimes) and Deno's `self.close()` run none of the Worker's code: what
 * it left open stays open unless it called `closeAll()` first.
 */
import { releaseLibbpf } from "../ffi/mod.ts";
import { closeEpollSetsNow, openEpollSets } from "./event_wait_epoll.ts";
import { releasePending } from "./gc_release.ts";
import { inWorker } from "./thread_kind.ts";
import { closeLibbpfLog } from "./libbpf_log.ts";

/** A handle that owns something native until closed. */
interface Closeable {
  close(): void;
}

// Weak: tracking must not keep a dropped handle from being collected
// (its release then comes from gc_release.ts).
const open = new Set<WeakRef<Closeable>>();
const refOf = new WeakMap<Closeable, WeakRef<Closeable>>();
let sinceSweep = 0;

/**
 * Records a handle this thread opened, for `closeAll()`: in a Worker only.
 * A WeakRef keeps its target until the running job ends, which in a loop
 * opening and closing handles without yielding grows V8's heap (Deno's
 * RSS grew ~25 KiB a closed object): the main thread, whose end releases
 * everything with the process, does without.
 */
export function trackOpen(handle: Closeable): void {
  if (!inWorker) return;
  const ref = new WeakRef(handle);
  refOf.set(handle, ref);
  open.add(ref);
  // Collected handles leave empty refs behind: drop them now and then.
  if (++sinceSweep >= 1024) {
    sinceSweep = 0;
    for (const r of open) if (r.deref() === undefined) open.delete(r);
  }
}

/** Forgets a handle that closed. */
export function untrackOpen(handle: Closeable): void {
  if (!inWorker) return;
  const ref = refOf.get(handle);
  if (ref) open.delete(ref);
  refOf.delete(handle);
}

/**
 * In a Worker: closes every tsbpf handle the thread still has open
 * (readers, links, standalone maps, objects: the newest first, as a
 * process exit would release them: unpinned links detach, pins stay), and
 * gives libbpf's log callback back, so that another thread (the main
 * thread, or another Worker) can load objects. Call it before a Worker is
 * ended with `terminate()` or, in Deno, with `self.close()`: one that
 * ends otherwise (its work done or `self.close()` in Bun, `process.exit()`
 * in both) calls it by itself. On the main thread, whose end releases
 * everything with the process, it only gives libbpf back (its handles
 * stay open, and take libbpf again when they need it and it is free).
 * The thread may use tsbpf again afterwards.
 *
 * All is closed when it returns but the fds of a reader's wait that was
 * pending, freed once that native wait has returned: await the promise
 * (a few milliseconds at most) before ending the thread.
 */
export function closeAll(): Promise<void> {
  closeHandles();
  if (openEpollSets() === 0) return Promise.resolve();
  return new Promise((resolve) => {
    const started = Date.now();
    const check = () => {
      if (openEpollSets() === 0) return resolve();
      // A native wait that does not return (it cannot: it was woken)
      // must not hold the thread's end up: close its fds anyway.
      if (Date.now() - started > 1000) {
        closeEpollSetsNow();
        return resolve();
      }
      setTimeout(check, 1);
    };
    check();
  });
}

/** The synchronous part of {@link closeAll}. */
function closeHandles(): void {
  const refs = [...open].reverse();
  open.clear();
  for (const ref of refs) {
    try {
      ref.deref()?.close();
    } catch {
      // keep closing the rest
    }
  }
  // Handles collected whose releases have not run yet: they never will.
  releasePending();
  releaseLibbpf();
  closeLibbpfLog();
}

// The main thread's exit needs nothing: the process's end releases all.
if (inWorker) {
  let done = false;
  const atEnd = () => {
    if (done) return;
    done = true;
    closeHandles();
    // No later turn of the event loop comes to free them.
    closeEpollSetsNow();
  };
  const g = globalThis as {
    process?: { on?(event: string, fn: () => void): unknown };
    addEventListener?(event: string, fn: () => void): void;
  };
  g.process?.on?.("exit", atEnd);
  g.addEventListener?.("unload", atEnd);
}
