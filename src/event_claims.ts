/**
 * One live reader per event-stream map in this process, by kernel map id.
 *
 * Two readers of one ring buffer map share the kernel's consumer position
 * (it lives in the map): each takes records from under the other, so a
 * record reaches one of them, or both (one peeked at it before the other
 * consumed it). Two perf buffers of one perf_event_array are worse:
 * libbpf's `perf_buffer__new` points the map's per-CPU slots at its own
 * rings, so the first reader gets nothing from then on, and
 * `perf_buffer__free` deletes the slots, so closing either starves the
 * other. Readers of other processes cannot be seen from here.
 */
import { StateError } from "./errors.ts";

/** Map id → the reader that reads it. */
const claims = new Map<number, object>();

/**
 * Records that `reader` reads the map with kernel id `id`, described as
 * `what` (e.g. "map 'events'"). StateError naming the fix when another
 * live reader of this process has it.
 */
export function claimEventMap(
  id: number,
  reader: object,
  kind: "ring" | "perf",
  what: string,
): void {
  const other = claims.get(id);
  if (other !== undefined && other !== reader) {
    throw kind === "ring"
      ? new StateError(
          `${what} (map id ${id}) is already read by another RingBuffer of this process: two readers share the kernel's consumer position, so each would take records from under the other`,
          {
            hint: "read each ring buffer map with one reader: close the other reader first, or add() this map to it (one RingBuffer reads several maps; `source` tells their records apart)",
          },
        )
      : new StateError(
          `${what} (map id ${id}) is already read by another PerfBuffer of this process: a second one would take the map's per-CPU slots, so the first would get no more samples, and closing either would empty them`,
          {
            hint: "read each perf_event_array with one PerfBuffer: close the other reader first",
          },
        );
  }
  claims.set(id, reader);
}

/** Forgets `reader`'s claim on map `id` (no-op when it has none). */
export function releaseEventMap(id: number, reader: object): void {
  if (claims.get(id) === reader) claims.delete(id);
}
