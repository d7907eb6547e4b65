/**
 * Stable C-level names for anonymous structs, unions and enums, derived
 * from where they are used, never from a global counter:
 *
 * 1. `typedef struct { ... } foo_t` → `foo_t`;
 * 2. member `un` of `exec_event` → `exec_event__un`; the k-th unnamed
 *    member of `anon_members` → `anon_members__anon<k>` (nested ones build
 *    on their parent's derived name, breadth first);
 * 3. the type of a variable (`struct { ... } stats SEC(".maps")`) → `stats`;
 * 4. anything left: `enum__<first enumerator>` or `anon_<kind>__<id>`.
 *
 * Parents are visited sorted by (name, kind, id), so the result depends
 * only on the BTF, not on the order of iteration.
 */
import type { BtfType, Enum, Struct, Union } from "../src/btf/types.ts";
import { KIND, type TypeGraph, typeGraph } from "./type_graph.ts";

/** A type that becomes a generated declaration. */
export type Declarable = Struct | Union | Enum;

/** Sort order of kinds when names tie. */
export const KIND_ORDER: Readonly<Record<string, number>> = {
  struct: 0,
  union: 1,
  enum: 2,
  enum64: 2,
};

/** Compares (name, kind, id): the one stable order of everything emitted. */
export function compareNamed(
  an: string,
  a: BtfType,
  bn: string,
  b: BtfType,
): number {
  if (an !== bn) return an < bn ? -1 : 1;
  const ka = KIND_ORDER[a.kind] ?? 9;
  const kb = KIND_ORDER[b.kind] ?? 9;
  return ka !== kb ? ka - kb : a.id - b.id;
}

/** Longest qualifier/array/pointer chain followed (hostile BTF may loop). */
const MAX_HOPS = 32;

/** True for struct, union, enum and enum64. */
export function isDeclarable(t: BtfType): t is Declarable {
  return (
    t.kind === "struct" ||
    t.kind === "union" ||
    t.kind === "enum" ||
    t.kind === "enum64"
  );
}

/** True for the KIND numbers of struct, union, enum and enum64. */
export function isDeclarableKind(k: number): boolean {
  return (
    k === KIND.STRUCT ||
    k === KIND.UNION ||
    k === KIND.ENUM ||
    k === KIND.ENUM64
  );
}

/** Sort rank of a KIND number when names tie (as {@link KIND_ORDER}). */
export function kindRank(k: number): number {
  return k === KIND.STRUCT
    ? 0
    : k === KIND.UNION
      ? 1
      : k === KIND.ENUM || k === KIND.ENUM64
        ? 2
        : 9;
}

/** A type to sort: its (C) name, kind rank and id. */
export interface Named {
  readonly name: string;
  readonly rank: number;
  readonly id: number;
}

/** Compares (name, kind rank, id), as {@link compareNamed}. */
export function compareRanked(a: Named, b: Named): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.rank !== b.rank ? a.rank - b.rank : a.id - b.id;
}

/**
 * The anonymous declarable a use of `id` refers to: through qualifiers (and,
 * unless `onlyQualifiers`, arrays and pointers), but not through a typedef
 * (which names its target itself) nor a named type. -1 when none.
 */
function anonymousUse(
  g: TypeGraph,
  id: number,
  onlyQualifiers: boolean,
): number {
  const { kind, ref, count } = g.flat;
  for (let i = 0; i < MAX_HOPS; i++) {
    const k = id >= 0 && id <= count ? kind[id]! : -1;
    switch (k) {
      case KIND.CONST:
      case KIND.VOLATILE:
      case KIND.RESTRICT:
      case KIND.TYPE_TAG:
        id = ref[id]!;
        break;
      case KIND.PTR:
      case KIND.ARRAY:
        if (onlyQualifiers) return -1;
        id = ref[id]!;
        break;
      default:
        return isDeclarableKind(k) && !g.named(id) ? id : -1;
    }
  }
  return -1;
}

/**
 * Assigns every struct, union and enum in `types` its C-level name: its own
 * name, or a derived one (see the module comment). Keyed by type id.
 */
export function deriveNames(types: readonly BtfType[]): Map<number, string> {
  return deriveGraphNames(typeGraph(types));
}

/** {@link deriveNames} over a type graph's wanted types. */
export function deriveGraphNames(g: TypeGraph): Map<number, string> {
  const { names, declarable } = nameTable(g);
  const out = new Map<number, string>();
  for (const id of declarable) out.set(id, names.get(id)!);
  return out;
}

/** A {@link Named} with its sort keys (see {@link sortKeys}). */
export interface Keyed extends Named {
  k1: number;
  k2: number;
  k3: number;
}

/**
 * Sets `x.k1`..`x.k3` from the first 21 UTF-16 units of `x.name`, 7 per key,
 * each clamped to 0..127 (0 past the end). The clamp is monotone, so keys
 * that differ order like the names; equal keys fall back to the names. Sorting
 * tens of thousands of names (many sharing long prefixes such as
 * `trace_event_raw_`) then mostly compares numbers.
 */
export function sortKeys<T extends Keyed>(x: T): T {
  const s = x.name;
  const n = s.length;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  for (let i = 0; i < 7; i++) {
    const c = i < n ? s.charCodeAt(i) : 0;
    k1 = k1 * 128 + (c > 127 ? 127 : c);
  }
  for (let i = 7; i < 14; i++) {
    const c = i < n ? s.charCodeAt(i) : 0;
    k2 = k2 * 128 + (c > 127 ? 127 : c);
  }
  for (let i = 14; i < 21; i++) {
    const c = i < n ? s.charCodeAt(i) : 0;
    k3 = k3 * 128 + (c > 127 ? 127 : c);
  }
  x.k1 = k1;
  x.k2 = k2;
  x.k3 = k3;
  return x;
}

/** A keyed {@link Named}. */
export function keyed(name: string, rank: number, id: number): Keyed {
  return sortKeys({ name, rank, id, k1: 0, k2: 0, k3: 0 });
}

/** Compares (name, kind rank, id) of keyed items: same order as {@link compareRanked}. */
export function compareKeyed(a: Keyed, b: Keyed): number {
  if (a.k1 !== b.k1) return a.k1 - b.k1;
  if (a.k2 !== b.k2) return a.k2 - b.k2;
  if (a.k3 !== b.k3) return a.k3 - b.k3;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.rank !== b.rank ? a.rank - b.rank : a.id - b.id;
}

/**
 * Sorts keyed items in place by {@link compareKeyed}: a merge sort over
 * indexes that compares the numeric keys inline and calls the comparator
 * only on ties (a comparator call per comparison costs more than all the
 * rest of naming vmlinux).
 */
export function sortKeyed<T extends Keyed>(xs: T[]): void {
  const n = xs.length;
  if (n < 2) return;
  const k1 = new Float64Array(n);
  const k2 = new Float64Array(n);
  const k3 = new Float64Array(n);
  let from = new Int32Array(n);
  let to = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const x = xs[i]!;
    k1[i] = x.k1;
    k2[i] = x.k2;
    k3[i] = x.k3;
    from[i] = i;
  }
  // Insertion sort of runs of RUN, then merges of doubling width.
  const RUN = 8;
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = Math.min(lo + RUN, n);
    for (let i = lo + 1; i < hi; i++) {
      const v = from[i]!;
      let j = i - 1;
      for (; j >= lo; j--) {
        const u = from[j]!;
        const c =
          k1[u]! - k1[v]! ||
          k2[u]! - k2[v]! ||
          k3[u]! - k3[v]! ||
          compareKeyed(xs[u]!, xs[v]!);
        if (c <= 0) break;
        from[j + 1] = u;
      }
      from[j + 1] = v;
    }
  }
  for (let width = RUN; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        const u = from[i]!;
        const v = from[j]!;
        const c =
          k1[u]! - k1[v]! ||
          k2[u]! - k2[v]! ||
          k3[u]! - k3[v]! ||
          compareKeyed(xs[u]!, xs[v]!);
        if (c <= 0) {
          to[k++] = u;
          i++;
        } else {
          to[k++] = v;
          j++;
        }
      }
      while (i < mid) to[k++] = from[i++]!;
      while (j < hi) to[k++] = from[j++]!;
    }
    const t = from;
    from = to;
    to = t;
  }
  const copy = xs.slice();
  for (let i = 0; i < n; i++) xs[i] = copy[from[i]!]!;
}

/**
 * Values by type id: a typed index into a dense list. Assigning ids at
 * random into a plain array turns it into a slow dictionary, and filling
 * one with a slot per id first costs more than the lookups it serves.
 */
export class IdMap<T> {
  private index: Int32Array;
  private readonly list: T[] = [];
  constructor(size: number) {
    this.index = new Int32Array(Math.max(size, 16));
  }
  get(id: number): T | undefined {
    const i = id >= 0 && id < this.index.length ? this.index[id]! : 0;
    return i === 0 ? undefined : this.list[i - 1];
  }
  set(id: number, v: T): void {
    if (id >= this.index.length) {
      let n = this.index.length * 2;
      while (n <= id) n *= 2;
      const next = new Int32Array(n);
      next.set(this.index);
      this.index = next;
    }
    const i = this.index[id]!;
    if (i !== 0) this.list[i - 1] = v;
    else this.index[id] = this.list.push(v);
  }
}

/** C names of the declarables of a graph, by id. */
export interface NameTable {
  /** C name of each declarable by id. */
  readonly names: IdMap<string>;
  /** Ids of the structs, unions and enums, ascending. */
  readonly declarable: number[];
  /** Ids of the named typedefs, ascending. */
  readonly typedefs: number[];
}

/** The names of {@link deriveGraphNames}, as arrays (what the generator reads). */
export function nameTable(g: TypeGraph): NameTable {
  const names = new IdMap<string>(g.count + 1);
  const declarable: number[] = [];
  const named: Keyed[] = [];
  const typedefs: number[] = [];
  const vars: Keyed[] = [];
  const anon: number[] = [];
  for (const id of g.wanted()) {
    const k = g.kind(id);
    if (isDeclarableKind(k)) {
      declarable.push(id);
      if (g.named(id)) {
        const name = g.name(id);
        names.set(id, name);
        if (k === KIND.STRUCT || k === KIND.UNION)
          named.push(keyed(name, kindRank(k), id));
      } else anon.push(id);
    } else if (g.named(id)) {
      if (k === KIND.TYPEDEF) typedefs.push(id);
      else if (k === KIND.VAR) vars.push(keyed(g.name(id), 9, id));
    }
  }

  // The first typedef in (name, id) order names its anonymous target: the
  // least name wins, and ids ascend, so a tie keeps the earlier one.
  for (const td of typedefs) {
    const target = anonymousUse(g, g.target(td), true);
    if (target < 0) continue;
    const n = g.name(td);
    const cur = names.get(target);
    if (cur === undefined || n < cur) names.set(target, n);
  }

  const queue: Keyed[] = named;
  // Typedef-named composites are parents too.
  for (const id of anon) {
    const k = g.kind(id);
    const n = names.get(id);
    if ((k === KIND.STRUCT || k === KIND.UNION) && n !== undefined)
      queue.push(keyed(n, kindRank(k), id));
  }
  sortKeyed(queue);
  // anonymousUse(g, id, false) by id, -2 until asked.
  const memo = new Int32Array(g.count + 1).fill(-2);
  const use = (id: number): number => {
    if (id < 0 || id >= memo.length) return anonymousUse(g, id, false);
    let r = memo[id]!;
    if (r === -2) memo[id] = r = anonymousUse(g, id, false);
    return r;
  };
  let head = 0;
  const { first, vlen, mName, mType } = g.flat;
  const strings = g.strings;
  const drain = () => {
    while (head < queue.length) {
      const parent = queue[head++]!.id;
      let pname: string | undefined;
      let k = 0;
      const m0 = first[parent]!;
      for (let i = 0, n = vlen[parent]!; i < n; i++) {
        const off = mName[m0 + i]!;
        const unnamed =
          off === 0 ||
          (off > 0 && off < strings.length
            ? strings[off] === 0
            : !g.memberHasName(parent, i));
        const slot = unnamed ? k++ : 0;
        const t = mType[m0 + i]!;
        const child = use(t <= g.flat.count ? t : -1);
        if (child < 0 || names.get(child) !== undefined) continue;
        pname ??= names.get(parent)!;
        const cname = `${pname}__${unnamed ? `anon${slot}` : g.memberName(parent, i)}`;
        names.set(child, cname);
        const ck = g.kind(child);
        if (ck === KIND.STRUCT || ck === KIND.UNION)
          queue.push(keyed(cname, kindRank(ck), child));
      }
    }
  };
  drain();

  sortKeyed(vars);
  for (const v of vars) {
    const child = use(g.target(v.id));
    if (child < 0 || names.get(child) !== undefined) continue;
    names.set(child, v.name);
    const ck = g.kind(child);
    if (ck === KIND.STRUCT || ck === KIND.UNION)
      queue.push(keyed(v.name, kindRank(ck), child));
  }
  drain();

  for (const id of anon) {
    if (names.get(id) !== undefined) continue;
    const k = g.kind(id);
    if (k === KIND.ENUM || k === KIND.ENUM64) {
      names.set(
        id,
        g.vlen(id) > 0 ? `enum__${g.enumName(id, 0)}` : `anon_enum__${id}`,
      );
    } else {
      const n = `anon_${k === KIND.STRUCT ? "struct" : "union"}__${id}`;
      names.set(id, n);
      queue.push(keyed(n, kindRank(k), id));
      drain();
    }
  }
  return { names, declarable, typedefs };
}

/** Runs `f`, turning a failure on hostile BTF (loops, bad ids) into undefined. */
export function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
