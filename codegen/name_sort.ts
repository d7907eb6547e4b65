/**
 * The one stable order of everything the generator emits: by C name (as
 * strings compare), then kind (struct, union, enum, the rest), then id.
 */
import type { CNames } from "./naming.ts";
import { KIND } from "./type_graph.ts";
import { runOnce } from "./run_once.ts";

/** Sort rank of a KIND number when names tie: struct, union, enum, the rest. */
function kindRank(k: number): number {
  return k === KIND.STRUCT
    ? 0
    : k === KIND.UNION
      ? 1
      : k === KIND.ENUM || k === KIND.ENUM64
        ? 2
        : 9;
}

/** Name bytes per key: 5, above 24 bits of item index. */
const PREFIX = 5;
/** Items sorted by one call (the index field of a key). */
const MAX_ITEMS = 1 << 24;
/** Levels of keys before the rest of a run is sorted by comparisons. */
const MAX_LEVEL = 8;
/** Runs this short are sorted by comparisons. */
const SHORT_RUN = 12;
/** Word order of a 64-bit key seen as two 32-bit words. */
const HI = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1 ? 1 : 0;
const LO = 1 - HI;

/**
 * `ids` (each named in `names`) sorted by (name, kind rank, id), as a new
 * array. Names are sorted a few bytes at a time as 64-bit keys (bytes
 * above the item's index) by the engine's native typed-array sort, and
 * runs of equal bytes are refined by the next bytes: vmlinux's ten
 * thousand names share long prefixes (`trace_event_raw_`), and a sort
 * that calls back into JavaScript per comparison costs more than the rest
 * of naming. From a name's first non-ASCII byte on its key bytes are 0x80,
 * so keys only order ASCII, where UTF-8 and UTF-16 agree; ties are
 * settled by comparing the names as strings.
 */
export function sortByName(
  ids: Int32Array,
  names: CNames,
  kind: Int8Array,
): Int32Array {
  const n = ids.length;
  const out = new Int32Array(n);
  // Too many items for a key's index field: sorted by comparisons alone.
  const keyed = n <= MAX_ITEMS;
  const keys = new BigUint64Array(keyed ? n : 0);
  const words = new Uint32Array(keys.buffer);
  /** Item (index into `ids`) at each sorted position. */
  const item = new Int32Array(n);
  for (let i = 0; i < n; i++) item[i] = i;
  const saturated = new Uint8Array(keyed ? n : 0);
  // Runs [lo, hi) still to order from byte `level * PREFIX` on.
  const runs: number[] = [0, n, keyed ? 0 : MAX_LEVEL];
  while (runs.length > 0) {
    const level = runs.pop()!;
    const hi = runs.pop()!;
    const lo = runs.pop()!;
    if (hi - lo <= SHORT_RUN || level >= MAX_LEVEL) {
      sortRun(item, lo, hi, ids, names, kind);
      continue;
    }
    const longest = fillKeys(
      words,
      saturated,
      item,
      lo,
      hi,
      level * PREFIX,
      ids,
      names,
    );
    keys.subarray(lo, hi).sort();
    readItems(words, item, lo, hi);
    const done = longest <= (level + 1) * PREFIX;
    eachRun(words, lo, hi, done, level + 1, runs, item, ids, names, kind);
  }
  for (let i = 0; i < n; i++) out[i] = ids[item[i]!]!;
  return out;
}

/**
 * Writes the keys of positions [lo, hi) of `item`: name bytes `from` to
 * `from + PREFIX` above the item's index (`saturated`: by item, 1 once a
 * non-ASCII byte was met). Returns the longest name's length.
 */
function fillKeys(
  words: Uint32Array,
  saturated: Uint8Array,
  item: Int32Array,
  lo: number,
  hi: number,
  from: number,
  ids: Int32Array,
  names: CNames,
): number {
  const { bytes, off, len } = names;
  let longest = 0;
  for (let p = lo; p < hi; p++) {
    const x = item[p]!;
    const id = ids[x]!;
    const o = off[id]! + from;
    const full = len[id]!;
    if (full > longest) longest = full;
    const l = full - from;
    // Once a name has a non-ASCII byte, all its later key bytes are 0x80.
    let sat = saturated[x] === 1;
    let h = 0;
    let b4 = 0;
    for (let j = 0; j < PREFIX; j++) {
      let c = 0;
      if (sat) c = 128;
      else if (j < l) {
        c = bytes[o + j]!;
        if (c > 127) {
          c = 128;
          sat = true;
        }
      }
      if (j < 4) h = h * 256 + c;
      else b4 = c;
    }
    if (sat) saturated[x] = 1;
    words[2 * p + HI] = h;
    words[2 * p + LO] = b4 * MAX_ITEMS + x;
  }
  return longest;
}

/** Reads back the item of each sorted key in [lo, hi). */
function readItems(
  words: Uint32Array,
  item: Int32Array,
  lo: number,
  hi: number,
): void {
  for (let p = lo; p < hi; p++) item[p] = words[2 * p + LO]! & (MAX_ITEMS - 1);
}

/** True when sorted positions `a` and `b` have the same key bytes. */
function sameKey(words: Uint32Array, a: number, b: number): boolean {
  return (
    words[2 * a + HI] === words[2 * b + HI] &&
    words[2 * a + LO]! >>> 24 === words[2 * b + LO]! >>> 24
  );
}

/**
 * Each run of equal keys in [lo, hi): queued to be refined at `level`, or,
 * when `done` (past every name's end, so equal keys are equal names),
 * sorted by comparisons.
 */
function eachRun(
  words: Uint32Array,
  lo: number,
  hi: number,
  done: boolean,
  level: number,
  runs: number[],
  item: Int32Array,
  ids: Int32Array,
  names: CNames,
  kind: Int8Array,
): void {
  let start = lo;
  for (let p = lo + 1; p <= hi; p++) {
    if (p < hi && sameKey(words, p, start)) continue;
    if (p - start > 1) {
      if (done) sortRun(item, start, p, ids, names, kind);
      else runs.push(start, p, level);
    }
    start = p;
  }
}

/** Sorts positions [lo, hi) of `item` by comparisons (insertion sort for short runs). */
function sortRun(
  item: Int32Array,
  lo: number,
  hi: number,
  ids: Int32Array,
  names: CNames,
  kind: Int8Array,
): void {
  if (hi - lo > SHORT_RUN) {
    const run = Array.from(item.subarray(lo, hi)).sort((a, b) =>
      compare(ids[a]!, ids[b]!, names, kind),
    );
    item.set(run, lo);
    return;
  }
  for (let i = lo + 1; i < hi; i++) {
    const v = item[i]!;
    let j = i - 1;
    for (; j >= lo; j--) {
      const u = item[j]!;
      if (compare(ids[u]!, ids[v]!, names, kind) <= 0) break;
      item[j + 1] = u;
    }
    item[j + 1] = v;
  }
}

/** Order of two ids: name, kind rank, id. */
function compare(a: number, b: number, names: CNames, kind: Int8Array): number {
  return (
    names.compare(a, b) || kindRank(kind[a]!) - kindRank(kind[b]!) || a - b
  );
}

runOnce(
  sortByName,
  fillKeys,
  readItems,
  sameKey,
  eachRun,
  sortRun,
  compare,
  kindRank,
);
