/**
 * A safety net for handles dropped without `close()`: once one is
 * garbage-collected, what it owned natively (fds, mappings, libbpf
 * structures, native callbacks) is released, as cilium/ebpf does with
 * runtime finalizers on its fds. `close()` (or `using`) stays the way to
 * release: a collection comes late, or never before the process exits.
 *
 * The held part must not reach its handle (a FinalizationRegistry holds it
 * strongly, so the handle would never be collected), and neither may a
 * native callback the handle made: both runtimes keep a callback's
 * function alive until the callback is closed.
 */

import { inWorker } from "./thread_kind.ts";

interface Entry<T> {
  readonly held: T;
  readonly release: (held: T) => void;
  /** The handle, until collected (in a Worker only: see releasePending). */
  readonly handle: WeakRef<object> | null;
}

const registry = new FinalizationRegistry<Entry<unknown>>((e) => {
  pending.delete(e.held as object);
  try {
    e.release(e.held);
  } catch {
    // Nobody to report to: the handle is gone.
  }
});

// A Worker's entries registered and not yet released or cancelled, by
// held part.
const pending = new Map<object, Entry<unknown>>();

/**
 * Runs `release(held)` once `handle` has been collected, unless
 * {@link cancelRelease}`(held)` ran first. `release` should be a
 * module-level function: a closure made next to code using `this` may
 * keep the handle alive through their shared scope.
 */
export function releaseOnCollect<T extends object>(
  handle: object,
  held: T,
  release: (held: T) => void,
): void {
  const entry = {
    held,
    release,
    // Costly to the main thread (see trackOpen in thread_exit.ts).
    handle: inWorker ? new WeakRef(handle) : null,
  } as Entry<unknown>;
  if (inWorker) pending.set(held, entry);
  registry.register(handle, entry, held);
}

/** Forgets the release of `held` (its handle was closed explicitly). */
export function cancelRelease(held: object): void {
  registry.unregister(held);
  pending.delete(held);
}

/**
 * Runs now the releases of handles already collected whose finalizers
 * have not run yet: for a Worker that ends, where they never would. A
 * live handle's release is left (its parts would be freed under it), and
 * so is every one on the main thread, which does not keep the handles'
 * WeakRefs (there the process's end releases all).
 */
export function releasePending(): void {
  const entries = [...pending.values()].reverse();
  for (const e of entries) {
    if (!e.handle || e.handle.deref() !== undefined) continue;
    pending.delete(e.held as object);
    registry.unregister(e.held as object);
    try {
      e.release(e.held);
    } catch {
      // keep releasing the rest
    }
  }
}
