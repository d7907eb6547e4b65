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
 *
 * This module's state is one per JavaScript thread (a Worker loads its
 * own copy), so the claims of every thread are also kept process-wide, in
 * an environment variable as libbpf's holder is (ffi/mod.ts): a Worker's
 * reader of a map the main thread reads is refused too. A claim of a
 * thread that has ended (a Worker terminated with its reader open) no
 * longer counts.
 */
import {
  readProcessRecord,
  thisThread,
  threadAlive,
  writeProcessRecord,
} from "../ffi/mod.ts";
import { StateError } from "./errors.ts";

/** "pid:tid:mapId" entries, space-separated: every thread's claims. */
const CLAIMS_ENV = "TSBPF_EVENT_READERS";

interface Shared {
  readonly pid: number;
  readonly tid: number;
  readonly id: number;
}

function readShared(): Shared[] {
  const out: Shared[] = [];
  for (const word of readProcessRecord(CLAIMS_ENV).split(" ")) {
    const m = /^(\d+):(\d+):(\d+)$/.exec(word);
    if (m) out.push({ pid: +m[1]!, tid: +m[2]!, id: +m[3]! });
  }
  return out;
}

/**
 * Writes the process-wide claims: this thread's on `id` added or removed,
 * dropping those of other processes (a child inherits the variable) and of
 * ended threads.
 */
function writeShared(id: number, add: boolean): void {
  const me = thisThread();
  const kept = readShared().filter(
    (c) =>
      c.pid === me.pid &&
      !(c.tid === me.tid && c.id === id) &&
      (c.tid === me.tid || threadAlive(c.tid)),
  );
  if (add) kept.push({ pid: me.pid, tid: me.tid, id });
  writeProcessRecord(
    CLAIMS_ENV,
    kept.map((c) => `${c.pid}:${c.tid}:${c.id}`).join(" "),
  );
}

/** The live thread of this process, not this one, that reads map `id`. */
function otherThreadOf(id: number): number | null {
  const me = thisThread();
  for (const c of readShared()) {
    if (c.id !== id || c.pid !== me.pid || c.tid === me.tid) continue;
    if (threadAlive(c.tid)) return c.tid;
  }
  return null;
}

/** Map id → the reader that reads it. */
const claims = new Map<number, object>();

/**
 * Records that `reader` reads the map with kernel id `id`, described as
 * `what` (e.g. "map 'events'"). StateError naming the fix when another
 * live reader of this process (of any of its threads) has it.
 */
export function claimEventMap(
  id: number,
  reader: object,
  kind: "ring" | "perf",
  what: string,
): void {
  const other = claims.get(id);
  if (other !== undefined && other !== reader) throw inUse(id, kind, what);
  if (other === undefined) {
    const tid = otherThreadOf(id);
    if (tid !== null) throw inUse(id, kind, what, tid);
    writeShared(id, true);
  }
  claims.set(id, reader);
}

function inUse(
  id: number,
  kind: "ring" | "perf",
  what: string,
  tid?: number,
): StateError {
  const by =
    tid === undefined
      ? "this process"
      : `thread ${tid} of this process (a Worker, or the main thread)`;
  const there = tid === undefined ? "" : " (in that thread)";
  return kind === "ring"
    ? new StateError(
        `${what} (map id ${id}) is already read by another RingBuffer of ${by}: two readers share the kernel's consumer position, so each would take records from under the other`,
        {
          hint: `read each ring buffer map with one reader: close the other reader first${there}, or add() this map to it (one RingBuffer reads several maps; \`source\` tells their records apart)`,
        },
      )
    : new StateError(
        `${what} (map id ${id}) is already read by another PerfBuffer of ${by}: a second one would take the map's per-CPU slots, so the first would get no more samples, and closing either would empty them`,
        {
          hint: `read each perf_event_array with one PerfBuffer: close the other reader first${there}`,
        },
      );
}

/** Forgets `reader`'s claim on map `id` (no-op when it has none). */
export function releaseEventMap(id: number, reader: object): void {
  if (claims.get(id) !== reader) return;
  claims.delete(id);
  writeShared(id, false);
}
