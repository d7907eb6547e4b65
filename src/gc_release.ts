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

interface Entry<T> {
  readonly held: T;
  readonly release: (held: T) => void;
}

const registry = new FinalizationRegistry<Entry<unknown>>((e) => {
  try {
    e.release(e.held);
  } catch {
    // Nobody to report to: the handle is gone.
  }
});

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
  registry.register(handle, { held, release } as Entry<unknown>, held);
}

/** Forgets the release of `held` (its handle was closed explicitly). */
export function cancelRelease(held: object): void {
  registry.unregister(held);
}
