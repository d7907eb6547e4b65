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
 *
 * Names are kept as UTF-8 bytes in one buffer ({@link CNames}), not as
 * strings: vmlinux has tens of thousands, and the generator copies them
 * into its output as bytes.
 */
import type { BtfType } from "../src/btf/types.ts";
import { KIND, type TypeGraph, typeGraph } from "./type_graph.ts";
import { sortByName } from "./name_sort.ts";
import { asciiString, ByteOut } from "./output.ts";
import { runOnce } from "./run_once.ts";

/** Longest qualifier/array/pointer chain followed (hostile BTF may loop). */
const MAX_HOPS = 32;

/** True for the KIND numbers of struct, union, enum and enum64. */
export function isDeclarableKind(k: number): boolean {
  return (
    k === KIND.STRUCT ||
    k === KIND.UNION ||
    k === KIND.ENUM ||
    k === KIND.ENUM64
  );
}

/**
 * Byte classes of plain names: 1 may start one (`A-Za-z_$`), 2 may only
 * follow (`0-9`), 0 neither (NUL, anything else, every byte >= 0x80).
 */
export const IDENT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36)
    IDENT[c] = 1;
  else if (c >= 48 && c <= 57) IDENT[c] = 2;
}

/**
 * The C names of a graph's declarables, named typedefs and named vars, by
 * type id, as UTF-8 in one buffer. A plain name (an ASCII identifier) can
 * be copied into generated code as it is; others go through the string
 * escapes.
 */
export class CNames {
  /** The names' bytes, back to back (its `pos` is the end of the used part). */
  readonly out = new ByteOut(1 << 16);
  /** Start of each id's name in {@link bytes}; -1 when it has none (yet). */
  readonly off: Int32Array;
  /** Length in bytes of each id's name. */
  readonly len: Int32Array;
  /** 1 when the id's name is a plain ASCII identifier (`[A-Za-z_$][A-Za-z0-9_$]*`). */
  readonly plain: Uint8Array;
  /** Ids of the structs, unions and enums, ascending. */
  declarable: Int32Array = new Int32Array(0);
  /** Ids of the named typedefs, ascending. */
  typedefs: Int32Array = new Int32Array(0);

  constructor(count: number) {
    this.off = new Int32Array(count + 1).fill(-1);
    this.len = new Int32Array(count + 1);
    this.plain = new Uint8Array(count + 1);
  }

  /** True when `id` has a name. */
  has(id: number): boolean {
    return this.off[id]! >= 0;
  }

  /** The name of `id` as a string ("" when it has none). */
  get(id: number): string {
    const o = this.off[id]!;
    if (o < 0) return "";
    const b = this.bytes;
    const n = this.len[id]!;
    if (this.plain[id]) return asciiString(b, o, o + n);
    return new TextDecoder().decode(b.subarray(o, o + n));
  }

  /** The names' bytes (read it again after a name is added). */
  get bytes(): Uint8Array {
    return this.out.buf;
  }

  /** Names `id` with the string `s`. */
  setString(id: number, s: string): void {
    const out = this.out;
    const at = out.pos;
    out.text(s);
    const b = out.buf;
    const end = out.pos;
    let plain = end > at && IDENT[b[at]!] === 1 ? 1 : 0;
    for (let i = at + 1; i < end && plain; i++)
      if (IDENT[b[i]!] === 0) plain = 0;
    this.off[id] = at;
    this.len[id] = end - at;
    this.plain[id] = plain;
  }

  /** Names `id` with the plain name of `n` bytes at `at` of `src`. */
  setPlain(id: number, src: Uint8Array, at: number, n: number): void {
    this.off[id] = this.out.pos;
    this.len[id] = n;
    this.plain[id] = 1;
    this.out.range(src, at, at + n);
  }

  /** Compares the names of `a` and `b` as strings compare. */
  compare(a: number, b: number): number {
    if (this.plain[a] && this.plain[b]) {
      const s = this.bytes;
      const na = this.len[a]!;
      const nb = this.len[b]!;
      const oa = this.off[a]!;
      const ob = this.off[b]!;
      const n = na < nb ? na : nb;
      for (let i = 0; i < n; i++) {
        const d = s[oa + i]! - s[ob + i]!;
        if (d !== 0) return d;
      }
      return na - nb;
    }
    const x = this.get(a);
    const y = this.get(b);
    return x === y ? 0 : x < y ? -1 : 1;
  }

  /** True when `a` and `b` have the same name. */
  same(a: number, b: number): boolean {
    const n = this.len[a]!;
    if (n !== this.len[b]) return false;
    const s = this.bytes;
    const oa = this.off[a]!;
    const ob = this.off[b]!;
    for (let i = 0; i < n; i++) if (s[oa + i] !== s[ob + i]) return false;
    return true;
  }
}

/**
 * Length of the plain name at `off` of `s` (NUL-terminated ASCII
 * identifier bytes), 0 for an empty one, -1 when it is not plain or `off`
 * is outside `s` (or its bytes run to the end of `s` without a NUL).
 */
export function plainLength(s: Uint8Array, off: number): number {
  if (!(off >= 0 && off < s.length)) return -1;
  let c = s[off]!;
  if (c === 0) return 0;
  if (IDENT[c] !== 1) return -1;
  let j = off;
  do c = s[++j]!;
  while (IDENT[c]! > 0);
  return c === 0 ? j - off : -1;
}

/**
 * Assigns every struct, union and enum in `types` its C-level name: its own
 * name, or a derived one (see the module comment). Keyed by type id.
 */
export function deriveNames(types: readonly BtfType[]): Map<number, string> {
  const g = typeGraph(types);
  const names = nameTable(g);
  const out = new Map<number, string>();
  for (const id of names.declarable) out.set(id, names.get(id));
  return out;
}

/**
 * The anonymous declarable a use of `id` refers to: through qualifiers (and,
 * unless `onlyQualifiers`, arrays and pointers), but not through a typedef
 * (which names its target itself) nor a named type. -1 when none.
 */
function anonymousUse(
  g: TypeGraph,
  names: CNames,
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
        // Named declarables got their names in the first pass.
        return isDeclarableKind(k) && !names.has(id) ? id : -1;
    }
  }
  return -1;
}

/** The C names of the declarables of a graph (and of its typedefs and vars). */
export function nameTable(g: TypeGraph): CNames {
  const F = g.flat;
  const s = g.strings;
  const { kind, name: tName } = F;
  const names = new CNames(F.count);
  const wanted = g.wanted();
  const declarable = new Int32Array(wanted.length);
  const typedefs = new Int32Array(wanted.length);
  const vars = new Int32Array(wanted.length);
  const anon = new Int32Array(wanted.length);
  // Composite parents: the named ones now, typedef-named ones later.
  const queue = new Int32Array(wanted.length);
  let nd = 0;
  let nt = 0;
  let nv = 0;
  let na = 0;
  let nq = 0;
  for (let i = 0; i < wanted.length; i++) {
    const id = wanted[i]!;
    const k = kind[id]!;
    // wanted() holds only these and typedefs and vars.
    const declarableKind = isDeclarableKind(k);
    const off = tName[id]!;
    const n = plainLength(s, off);
    if (n > 0) names.setPlain(id, s, off, n);
    else if (n < 0 && g.named(id)) names.setString(id, g.name(id));
    const named = names.off[id]! >= 0;
    if (declarableKind) {
      declarable[nd++] = id;
      if (!named) anon[na++] = id;
      else if (k === KIND.STRUCT || k === KIND.UNION) queue[nq++] = id;
    } else if (named) {
      if (k === KIND.TYPEDEF) typedefs[nt++] = id;
      else vars[nv++] = id;
    }
  }
  names.declarable = declarable.slice(0, nd);
  names.typedefs = typedefs.slice(0, nt);

  // The first typedef in (name, id) order names its anonymous target: the
  // least name wins, and ids ascend, so a tie keeps the earlier one. The
  // target points at the typedef's bytes until the end of this pass.
  const namer = new Int32Array(F.count + 1);
  for (let i = 0; i < nt; i++) {
    const td = typedefs[i]!;
    const target = anonymousUse(g, names, F.ref[td]!, true);
    if (target < 0) continue;
    const cur = namer[target]!;
    if (cur === 0 || names.compare(td, cur) < 0) namer[target] = td;
  }
  for (let i = 0; i < na; i++) {
    const id = anon[i]!;
    const td = namer[id]!;
    if (td === 0) continue;
    names.off[id] = names.off[td]!;
    names.len[id] = names.len[td]!;
    names.plain[id] = names.plain[td]!;
    const k = kind[id]!;
    if (k === KIND.STRUCT || k === KIND.UNION) queue[nq++] = id;
  }

  const order = new Int32Array(nq + na);
  order.set(sortByName(queue.subarray(0, nq), names, kind));
  const drain = new Drain(g, names, order, nq);
  drain.run();

  for (const v of sortByName(vars.subarray(0, nv), names, kind)) {
    const child = drain.use(F.ref[v]!);
    if (child < 0 || names.off[child]! >= 0) continue;
    names.off[child] = names.off[v]!;
    names.len[child] = names.len[v]!;
    names.plain[child] = names.plain[v]!;
    drain.push(child);
  }
  drain.run();

  for (let i = 0; i < na; i++) {
    const id = anon[i]!;
    if (names.off[id]! >= 0) continue;
    const k = kind[id]!;
    if (k === KIND.ENUM || k === KIND.ENUM64) {
      names.setString(
        id,
        F.vlen[id]! > 0 ? `enum__${g.enumName(id, 0)}` : `anon_enum__${id}`,
      );
    } else {
      names.setString(
        id,
        `anon_${k === KIND.STRUCT ? "struct" : "union"}__${id}`,
      );
      drain.push(id);
      drain.run();
    }
  }
  return names;
}

/**
 * The breadth-first walk of rule 2: each parent names the anonymous types
 * of its members (`parent__member`, `parent__anon<k>`), which become parents
 * in turn.
 */
class Drain {
  private head = 0;
  /** anonymousUse(g, id, false) by id, -2 until asked. */
  private readonly memo: Int32Array;

  constructor(
    private readonly g: TypeGraph,
    private readonly names: CNames,
    private readonly queue: Int32Array,
    private tail: number,
  ) {
    this.memo = new Int32Array(g.flat.count + 1).fill(-2);
  }

  /** Queues `id` as a parent when it is a struct or union. */
  push(id: number): void {
    const k = this.g.flat.kind[id]!;
    if (k === KIND.STRUCT || k === KIND.UNION) this.queue[this.tail++] = id;
  }

  /** The anonymous declarable a member of type `id` holds, or -1. */
  use(id: number): number {
    const memo = this.memo;
    if (!(id >= 0 && id < memo.length))
      return anonymousUse(this.g, this.names, id, false);
    let r = memo[id]!;
    if (r === -2) memo[id] = r = anonymousUse(this.g, this.names, id, false);
    return r;
  }

  /** Names the members' anonymous types of every queued parent. */
  run(): void {
    const g = this.g;
    const names = this.names;
    const { first, vlen, mName, mType, count, kind } = g.flat;
    const s = g.strings;
    const queue = this.queue;
    const { off, len, plain } = names;
    while (this.head < this.tail) {
      const parent = queue[this.head++]!;
      let k = 0;
      const m0 = first[parent]!;
      for (let i = 0, n = vlen[parent]!; i < n; i++) {
        const mo = mName[m0 + i]!;
        const unnamed =
          mo === 0 ||
          (mo > 0 && mo < s.length ? s[mo] === 0 : !g.memberHasName(parent, i));
        const slot = unnamed ? k++ : 0;
        const t = mType[m0 + i]!;
        const child = this.use(t <= count ? t : -1);
        if (child < 0 || off[child]! >= 0) continue;
        // Plain name length (0 when unnamed), or -1: ask the graph.
        const ml = unnamed ? 0 : plainLength(s, mo);
        if (plain[parent] && (unnamed || ml > 0)) {
          // parent + "__" + member, or + "__anon<k>", as bytes.
          const slotText = unnamed ? String(slot) : "";
          const pl = len[parent]!;
          const out = names.out;
          out.reserve(pl + 2 + (unnamed ? 4 + slotText.length : ml));
          const b = out.buf;
          const po = off[parent]!;
          let p = out.pos;
          for (let j = po; j < po + pl; j++) b[p++] = b[j]!;
          b[p++] = 95;
          b[p++] = 95;
          if (unnamed) {
            b[p++] = 97; // anon
            b[p++] = 110;
            b[p++] = 111;
            b[p++] = 110;
            for (let j = 0; j < slotText.length; j++)
              b[p++] = slotText.charCodeAt(j);
          } else for (let j = mo; j < mo + ml; j++) b[p++] = s[j]!;
          off[child] = out.pos;
          len[child] = p - out.pos;
          plain[child] = 1;
          out.pos = p;
        } else {
          names.setString(
            child,
            `${names.get(parent)}__${unnamed ? `anon${slot}` : g.memberName(parent, i)}`,
          );
        }
        const ck = kind[child]!;
        if (ck === KIND.STRUCT || ck === KIND.UNION) queue[this.tail++] = child;
      }
    }
  }
}

runOnce(CNames, Drain, nameTable, anonymousUse, plainLength);
