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
  for (let i = 0; i < MAX_HOPS; i++) {
    const k = g.kind(id);
    switch (k) {
      case KIND.CONST:
      case KIND.VOLATILE:
      case KIND.RESTRICT:
      case KIND.TYPE_TAG:
        id = g.target(id);
        break;
      case KIND.PTR:
      case KIND.ARRAY:
        if (onlyQualifiers) return -1;
        id = g.target(id);
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
  const names = new Map<number, string>();
  const named: Named[] = [];
  const typedefs: Named[] = [];
  const vars: Named[] = [];
  const anon: number[] = [];
  for (const id of g.wanted()) {
    const k = g.kind(id);
    const name = g.name(id);
    if (isDeclarableKind(k)) {
      if (name !== "") {
        names.set(id, name);
        if (k === KIND.STRUCT || k === KIND.UNION)
          named.push({ name, rank: kindRank(k), id });
      } else anon.push(id);
    } else if (name !== "") {
      if (k === KIND.TYPEDEF) typedefs.push({ name, rank: 9, id });
      else if (k === KIND.VAR) vars.push({ name, rank: 9, id });
    }
  }
  typedefs.sort(compareRanked);
  vars.sort(compareRanked);

  for (const td of typedefs) {
    const target = anonymousUse(g, g.target(td.id), true);
    if (target >= 0 && !names.has(target)) names.set(target, td.name);
  }

  const queue: Named[] = named;
  // Typedef-named composites are parents too.
  for (const id of anon) {
    const k = g.kind(id);
    const n = names.get(id);
    if ((k === KIND.STRUCT || k === KIND.UNION) && n !== undefined)
      queue.push({ name: n, rank: kindRank(k), id });
  }
  queue.sort(compareRanked);
  let head = 0;
  const drain = () => {
    while (head < queue.length) {
      const parent = queue[head++]!;
      const pname = names.get(parent.id)!;
      let k = 0;
      for (let i = 0, n = g.vlen(parent.id); i < n; i++) {
        const unnamed = !g.memberHasName(parent.id, i);
        const slot = unnamed ? k++ : 0;
        const child = anonymousUse(g, g.memberType(parent.id, i), false);
        if (child < 0 || names.has(child)) continue;
        const label = unnamed ? `anon${slot}` : g.memberName(parent.id, i);
        const cname = `${pname}__${label}`;
        names.set(child, cname);
        const ck = g.kind(child);
        if (ck === KIND.STRUCT || ck === KIND.UNION)
          queue.push({ name: cname, rank: kindRank(ck), id: child });
      }
    }
  };
  drain();

  for (const v of vars) {
    const child = anonymousUse(g, g.target(v.id), false);
    if (child < 0 || names.has(child)) continue;
    names.set(child, v.name);
    const ck = g.kind(child);
    if (ck === KIND.STRUCT || ck === KIND.UNION)
      queue.push({ name: v.name, rank: kindRank(ck), id: child });
  }
  drain();

  for (const id of anon) {
    if (names.has(id)) continue;
    const k = g.kind(id);
    if (k === KIND.ENUM || k === KIND.ENUM64) {
      names.set(
        id,
        g.vlen(id) > 0 ? `enum__${g.enumName(id, 0)}` : `anon_enum__${id}`,
      );
    } else {
      const n = `anon_${k === KIND.STRUCT ? "struct" : "union"}__${id}`;
      names.set(id, n);
      queue.push({ name: n, rank: kindRank(k), id });
      drain();
    }
  }
  return names;
}

/** Runs `f`, turning a failure on hostile BTF (loops, bad ids) into undefined. */
export function safe<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
}
