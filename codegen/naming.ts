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

/**
 * The anonymous declarable a use of `t` refers to: through qualifiers,
 * arrays and pointers, but not through a typedef (which names its target
 * itself) nor a named type.
 */
function anonymousUse(t: BtfType): Declarable | undefined {
  for (let i = 0; i < MAX_HOPS; i++) {
    switch (t.kind) {
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
      case "ptr":
        t = t.target;
        break;
      case "array":
        t = t.element;
        break;
      case "struct":
      case "union":
      case "enum":
      case "enum64":
        return t.name === "" ? t : undefined;
      default:
        return undefined;
    }
  }
  return undefined;
}

/** Same as {@link anonymousUse} but also through typedefs' own qualifiers. */
function typedefTarget(t: BtfType): Declarable | undefined {
  for (let i = 0; i < MAX_HOPS; i++) {
    switch (t.kind) {
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        t = t.target;
        break;
      case "struct":
      case "union":
      case "enum":
      case "enum64":
        return t.name === "" ? t : undefined;
      default:
        return undefined;
    }
  }
  return undefined;
}

/**
 * Assigns every struct, union and enum in `types` its C-level name: its own
 * name, or a derived one (see the module comment). Keyed by type id.
 */
export function deriveNames(types: readonly BtfType[]): Map<number, string> {
  const names = new Map<number, string>();
  const named: (Struct | Union)[] = [];
  const typedefs: BtfType[] = [];
  const vars: BtfType[] = [];
  const anon: Declarable[] = [];
  for (const t of types) {
    if (isDeclarable(t)) {
      if (t.name !== "") {
        names.set(t.id, t.name);
        if (t.kind === "struct" || t.kind === "union") named.push(t);
      } else anon.push(t);
    } else if (t.kind === "typedef" && t.name !== "") typedefs.push(t);
    else if (t.kind === "var" && t.name !== "") vars.push(t);
  }
  const byName = (a: BtfType, b: BtfType) => compareNamed(a.name, a, b.name, b);
  typedefs.sort(byName);
  vars.sort(byName);
  named.sort(byName);

  for (const td of typedefs) {
    const target = safe(() =>
      typedefTarget((td as { target: BtfType }).target),
    );
    if (target && !names.has(target.id)) names.set(target.id, td.name);
  }

  const queue: (Struct | Union)[] = named;
  let head = 0;
  const drain = () => {
    while (head < queue.length) {
      const parent = queue[head++]!;
      const pname = names.get(parent.id)!;
      let k = 0;
      for (const m of parent.members) {
        const child = safe(() => anonymousUse(m.type));
        const label = m.name === "" ? `anon${k++}` : m.name;
        if (!child || names.has(child.id)) continue;
        names.set(child.id, `${pname}__${label}`);
        if (child.kind === "struct" || child.kind === "union")
          queue.push(child);
      }
    }
  };
  // Typedef-named composites are parents too.
  for (const t of anon) {
    if ((t.kind === "struct" || t.kind === "union") && names.has(t.id)) {
      queue.push(t);
    }
  }
  queue.sort((a, b) => compareNamed(names.get(a.id)!, a, names.get(b.id)!, b));
  drain();

  for (const v of vars) {
    const child = safe(() => anonymousUse((v as { target: BtfType }).target));
    if (!child || names.has(child.id)) continue;
    names.set(child.id, v.name);
    if (child.kind === "struct" || child.kind === "union") queue.push(child);
  }
  drain();

  for (const t of anon) {
    if (names.has(t.id)) continue;
    if (t.kind === "enum" || t.kind === "enum64") {
      const first = t.values[0];
      names.set(t.id, first ? `enum__${first.name}` : `anon_enum__${t.id}`);
    } else if (t.kind === "struct" || t.kind === "union") {
      names.set(t.id, `anon_${t.kind}__${t.id}`);
      queue.push(t);
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
