/**
 * How each type id looks in generated code, worked out once per id: the
 * C spelling that starts a field's doc, what it resolves to through
 * typedefs and qualifiers, its TypeScript type and field-table spec
 * (`Access`), and the snippets the generator copies for every field of
 * that type. Snippets live as UTF-8 in one buffer; per-id facts in one
 * table of records.
 */
import {
  MAX_SPELLING_NESTING,
  MAX_SPELLING_STEPS,
  declJoin,
  declParen,
} from "../src/btf/spelling.ts";
import { KIND_NAMES } from "../src/btf/wire.ts";
import {
  type Access,
  arrayAccess,
  bitfieldAccess,
  BOOL_ACCESS,
  floatAccess,
  intAccess,
  rawAccess,
  stringAccess,
  structAccess,
} from "./access.ts";
import { IdMap } from "./id_map.ts";
import { plainLength } from "./naming.ts";
import { docText } from "./names.ts";
import { ByteOut } from "./output.ts";
import { runOnce } from "./run_once.ts";
import { type Flat, KIND, type TypeGraph } from "./type_graph.ts";

/** Numbers per type record (see `MemberTypes.slot`), and what each holds. */
export const INFO = 10;
/** Snippet "  /** `<C spelling>` @" of a member of this type: start, end (0: not made yet). */
export const PRE = 0;
export const PRE_END = 1;
/** The id it resolves to (-1 if none). */
export const R = 2;
/** For an int: bits (else -1), bit offset, size in bytes (at most 64). */
export const INT_BITS = 3;
export const INT_OFF = 4;
export const INT_SIZE = 5;
/** Snippets ": <type>;\n" and "<spec>," of a whole (not bitfield) member of this type. */
export const TAIL = 6;
export const TAIL_END = 7;
export const CODE = 8;
export const CODE_END = 9;

/** Longest typedef/qualifier chain followed (hostile BTF may loop). */
export const MAX_HOPS = 64;
/** Most array dimensions mapped to views (hostile BTF may loop). */
const MAX_DIMS = 16;
/** Deepest C spelling {@link MemberTypes.spellInto} writes itself. */
const MAX_SPELLING = 8;

/** Typedef and qualifier kinds, as bits: what {@link MemberTypes.resolve} follows. */
const QUALIFIERS =
  (1 << KIND.TYPEDEF) |
  (1 << KIND.CONST) |
  (1 << KIND.VOLATILE) |
  (1 << KIND.RESTRICT) |
  (1 << KIND.TYPE_TAG);

/** Access of a member whose type does not resolve: no bytes. */
const UNRESOLVED = rawAccess(0);

/** Thrown inside `spelling` on an invalid reference. */
const BAD_SPELLING = new Error("invalid reference");

/** Facts and snippets of the type ids of one BTF, made on first use. */
export class MemberTypes {
  /**
   * Text written again and again (a member type's doc start, an access's
   * type and spec), stored once as UTF-8 and copied from here: one buffer
   * instead of tens of thousands of small arrays.
   */
  readonly snips = new ByteOut(1 << 16);
  /**
   * Facts about type ids met as member types (`count + 1` stands for an
   * invalid one), {@link INFO} numbers each, in one table: `slot` maps an
   * id to its record (0: none yet, an all-zero record). Records of no id
   * hold the whole-member snippets of each access, copied into the ids'.
   * Compact, because a table per fact indexed by id would be megabytes to
   * allocate and zero for vmlinux.
   */
  readonly slot: Int32Array;
  info = new Int32Array(INFO * 4096);
  private infoCount = 1;
  private readonly access: IdMap<Access>;
  /** The record holding each access's snippets. */
  private readonly wholes = new Map<Access, number>();
  private readonly F: Flat;

  /**
   * `classOf(id)`: the generated class of a struct or union, if it has
   * one (else its fields are raw bytes).
   */
  constructor(
    private readonly g: TypeGraph,
    private readonly classOf: (id: number) => string | undefined,
  ) {
    this.F = g.flat;
    this.slot = new Int32Array(this.F.count + 2);
    this.access = new IdMap(g.count + 1);
  }

  /** The record of type id `id` (`count + 1`: invalid), made when missing. */
  private record(id: number): number {
    let k = this.slot[id]!;
    if (k === 0) k = this.slot[id] = this.newRecord();
    return k * INFO;
  }

  /** Index of a new all-zero record. */
  private newRecord(): number {
    const k = this.infoCount++;
    if (this.infoCount * INFO > this.info.length) {
      const next = new Int32Array(this.info.length * 2);
      next.set(this.info);
      this.info = next;
    }
    return k;
  }

  /**
   * The record (no id's own) holding the whole-member snippets of access
   * `a`, made when missing. Members of one access share it: every pointer,
   * say.
   */
  private wholeFor(a: Access): number {
    let w = this.wholes.get(a);
    if (w !== undefined) return w;
    w = this.newRecord() * INFO;
    const snips = this.snips;
    const info = this.info;
    info[w + TAIL] = snips.pos;
    snips.text(`: ${a.t};\n`);
    info[w + TAIL_END] = snips.pos;
    info[w + CODE] = snips.pos;
    snips.text(`${a.code},`);
    info[w + CODE_END] = snips.pos;
    this.wholes.set(a, w);
    return w;
  }

  /**
   * Spelling, resolution and whole-member snippets of member type `t`
   * (`count + 1`: invalid); returns its record.
   */
  typeInfo(t: number): number {
    const F = this.F;
    const valid = t <= F.count;
    const r = valid ? this.resolve(t) : -1;
    const isInt = r >= 0 && F.kind[r] === KIND.INT;
    const bits = isInt ? F.intInfo[r]! : 0;
    const start = this.snips.pos;
    this.snips.ascii("  /** `");
    if (valid && this.spellInto(t, 0)) this.snips.ascii("` @");
    else {
      // Invalid, or names that need escaping: through strings.
      this.snips.pos = start;
      const c = valid ? docText(this.spellingOrUnknown(t)) : "?";
      this.snips.text(`  /** \`${c}\` @`);
    }
    const b = this.record(t);
    const info = this.info;
    info[b + R] = r;
    info[b + INT_BITS] = isInt ? bits & 0xff : -1;
    info[b + INT_OFF] = (bits >>> 8) & 0xff;
    // Clamped: any size past 32 bytes already differs from the bits / 8.
    info[b + INT_SIZE] = isInt ? Math.min(F.size[r]!, 64) : 0;
    info[b + PRE] = start;
    info[b + PRE_END] = this.snips.pos;
    const w = this.wholeFor(
      r >= 0 && r <= F.count ? this.accessOf(r, 0) : UNRESOLVED,
    );
    const whole = this.info;
    whole[b + TAIL] = whole[w + TAIL]!;
    whole[b + TAIL_END] = whole[w + TAIL_END]!;
    whole[b + CODE] = whole[w + CODE]!;
    whole[b + CODE_END] = whole[w + CODE_END]!;
    return b;
  }

  /**
   * Appends the C spelling of `id` (as {@link spelling}) to the snippets
   * when it reads left to right (a named type, pointers to one, a
   * one-dimensional array of those) and every name in it is a plain
   * identifier; false otherwise (a declarator such as `char **`,
   * `int (*)(void)`, `__u32[3][4]`, or an invalid reference), leaving the
   * caller to reset and take the string path.
   */
  private spellInto(id: number, depth: number): boolean {
    if (depth > MAX_SPELLING) return false;
    const F = this.F;
    const k = this.kindOf(id);
    switch (k) {
      case -1:
        return false;
      case KIND.UNKN:
        this.snips.ascii("void");
        return true;
      case KIND.PTR:
        // Function pointers are most of vmlinux's declarators: kept on
        // the byte path (the string path costs ~10 ms of a cold run).
        if (this.isFuncPtr(id))
          return this.funcPtrInto(this.untagged(F.ref[id]!), depth);
        if (!this.qualifiedBase(F.ref[id]!)) return false;
        if (!this.spellInto(F.ref[id]!, depth + 1)) return false;
        this.snips.ascii(" *");
        return true;
      case KIND.ARRAY: {
        const e = this.kindOf(this.untagged(F.ref[id]!));
        if (e === KIND.ARRAY || e === KIND.FUNC_PROTO) return false;
        if (this.isFuncPtr(F.ref[id]!)) return false; // void (*[2])(int)
        if (!this.spellInto(F.ref[id]!, depth + 1)) return false;
        this.snips.ascii(`[${F.len[id]!}]`);
        return true;
      }
      case KIND.CONST:
      case KIND.VOLATILE:
      case KIND.RESTRICT:
        if (!this.named(F.ref[id]!)) return false;
        this.snips.ascii(KIND_NAMES[k]!);
        this.snips.ascii(" ");
        return this.spellInto(F.ref[id]!, depth + 1);
      case KIND.TYPE_TAG:
        return this.spellInto(F.ref[id]!, depth + 1);
      case KIND.FUNC_PROTO:
        return false;
      case KIND.STRUCT:
      case KIND.UNION:
      case KIND.ENUM:
      case KIND.ENUM64:
        this.snips.ascii(
          k === KIND.ENUM64
            ? "enum "
            : k === KIND.ENUM
              ? "enum "
              : k === KIND.UNION
                ? "union "
                : "struct ",
        );
        return this.nameInto(id, "(anon)");
      case KIND.FWD:
        this.snips.ascii(F.flag[id] ? "union " : "struct ");
        return this.nameInto(id, "");
      default:
        return this.nameInto(id, `(anon ${KIND_NAMES[k]})`);
    }
  }

  /**
   * Appends `ret (*)(params)` for a pointer to function prototype `fp`
   * when its return type and each (unnamed) parameter read left to right;
   * false otherwise (the string path spells the rest).
   */
  private funcPtrInto(fp: number, depth: number): boolean {
    if (depth >= MAX_SPELLING) return false;
    const F = this.F;
    const g = this.g;
    const snips = this.snips;
    // Returning a function pointer nests declarators: the string path.
    if (this.isFuncPtr(F.ref[fp]!)) return false;
    if (!this.spellInto(F.ref[fp]!, depth + 1)) return false;
    snips.ascii(snips.buf[snips.pos - 1] === 42 ? "(*)(" : " (*)(");
    const n = F.vlen[fp]!;
    if (n === 0 || (n === 1 && g.paramType(fp, 0) === 0)) {
      snips.ascii("void)");
      return true;
    }
    for (let i = 0; i < n; i++) {
      if (i > 0) snips.ascii(", ");
      const t = g.paramType(fp, i);
      if (i === n - 1 && t === 0) snips.ascii("...");
      else if (g.paramName(fp, i) !== "" || !this.spellInto(t, depth + 1))
        return false;
    }
    snips.ascii(")");
    return true;
  }

  /** True when `id` (past type tags) is a pointer to a function prototype. */
  private isFuncPtr(id: number): boolean {
    const t = this.untagged(id);
    return (
      this.kindOf(t) === KIND.PTR &&
      this.kindOf(this.untagged(this.F.ref[t]!)) === KIND.FUNC_PROTO
    );
  }

  /** Kind of `id` in the flat arrays; -1 for an invalid id. */
  private kindOf(id: number): number {
    return id >= 0 && id <= this.F.count ? this.F.kind[id]! : -1;
  }

  /** `id` past any type tags (bounded: hostile BTF may loop). */
  private untagged(id: number): number {
    for (let i = 0; i < MAX_HOPS && this.kindOf(id) === KIND.TYPE_TAG; i++)
      id = this.F.ref[id]!;
    return id;
  }

  /** True when `id` (past type tags) is spelled by its name alone: no declarator, no qualifier. */
  private named(id: number): boolean {
    const k = this.kindOf(this.untagged(id));
    return (
      k >= 0 &&
      k !== KIND.PTR &&
      k !== KIND.ARRAY &&
      k !== KIND.FUNC_PROTO &&
      !((QUALIFIERS >>> k) & 1)
    );
  }

  /** A named type, or one qualifier on one (`const char`). */
  private qualifiedBase(id: number): boolean {
    const t = this.untagged(id);
    const k = this.kindOf(t);
    return k === KIND.CONST || k === KIND.VOLATILE || k === KIND.RESTRICT
      ? this.named(this.F.ref[t]!)
      : this.named(t);
  }

  /** Appends the name of `id` (`anon` when it has none); false unless plain. */
  private nameInto(id: number, anon: string): boolean {
    const s = this.g.strings;
    const off = this.F.name[id]!;
    const n = plainLength(s, off);
    if (n < 0) return false;
    if (n === 0) {
      this.snips.ascii(anon);
      return true;
    }
    this.snips.range(s, off, off + n);
    return true;
  }

  /** Access of a bitfield of `bits` bits at bit `shift` of resolved type `t`. */
  bitfield(t: number, shift: number, bits: number): Access {
    const g = this.g;
    if (t >= 0 && bits > 0 && bits <= 64) {
      const k = g.kind(t);
      if (k === KIND.INT && (g.intInfo(t) >>> 16) & 4) {
        return bitfieldAccess(shift, bits, false, false, true);
      }
      if (k === KIND.INT || k === KIND.ENUM || k === KIND.ENUM64) {
        const wide = g.size(t) > 4 || bits > 32;
        const signed =
          k === KIND.INT ? ((g.intInfo(t) >>> 16) & 1) === 1 : g.flag(t);
        return bitfieldAccess(shift, bits, signed, wide, false);
      }
    }
    return rawAccess((shift + bits + 7) >> 3);
  }

  /** The C spelling of `id` for docs, or "?" when a reference in it is invalid. */
  spellingOrUnknown(id: number): string {
    try {
      return this.spelling(id, "", 0, { steps: MAX_SPELLING_STEPS });
    } catch {
      return "?";
    }
  }

  /**
   * C spelling for doc comments, declaring `name`: the same text as the
   * runtime's `String(type)` (src/btf/spelling.ts, whose comments say how
   * the declarator is built), with the same bounds against loops.
   */
  private spelling(
    id: number,
    name: string,
    depth: number,
    budget: { steps: number },
  ): string {
    const g = this.g;
    let decl = name;
    let quals: string[] = [];
    let cur = id;
    while (budget.steps-- > 0) {
      const k = g.kind(cur);
      switch (k) {
        case -1:
          throw BAD_SPELLING;
        case KIND.PTR: {
          const q = quals.join(" ");
          decl = `*${q}${q && decl ? " " : ""}${decl}`;
          quals = [];
          cur = g.target(cur);
          continue;
        }
        case KIND.ARRAY:
          decl = `${declParen(decl)}[${g.length(cur)}]`;
          cur = g.target(cur);
          continue;
        case KIND.FUNC_PROTO:
          quals = [];
          decl = `${declParen(decl)}(${this.params(cur, depth, budget)})`;
          cur = g.target(cur);
          if (g.kind(cur) === -1) return declJoin("?", decl);
          continue;
        case KIND.CONST:
        case KIND.VOLATILE:
        case KIND.RESTRICT: {
          const q = KIND_NAMES[k]!;
          if (!quals.includes(q)) quals.push(q);
          cur = g.target(cur);
          continue;
        }
        case KIND.TYPE_TAG:
          cur = g.target(cur);
          continue;
        default: {
          const base = this.baseName(cur, k);
          return declJoin(
            quals.length ? `${quals.join(" ")} ${base}` : base,
            decl,
          );
        }
      }
    }
    return declJoin("...", decl);
  }

  /** Parameter list of a function prototype, as the runtime spells it. */
  private params(id: number, depth: number, budget: { steps: number }): string {
    if (depth >= MAX_SPELLING_NESTING) return "...";
    const g = this.g;
    const n = g.vlen(id);
    if (n === 0 || (n === 1 && g.paramType(id, 0) === 0)) return "void";
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const t = g.paramType(id, i);
      const name = g.paramName(id, i);
      if (i === n - 1 && t === 0) out.push("...");
      else if (g.kind(t) === -1) out.push(declJoin("?", name));
      else out.push(this.spelling(t, name, depth + 1, budget));
    }
    return out.join(", ");
  }

  /** A type spelled by name: `void`, `struct x`, `enum (anon)`, `__u32`. */
  private baseName(id: number, k: number): string {
    const g = this.g;
    switch (k) {
      case KIND.UNKN:
        return "void";
      case KIND.STRUCT:
      case KIND.UNION:
      case KIND.ENUM:
      case KIND.ENUM64:
        return `${k === KIND.ENUM64 ? "enum" : KIND_NAMES[k]} ${g.name(id) || "(anon)"}`;
      case KIND.FWD:
        return `${g.flag(id) ? "union" : "struct"} ${g.name(id)}`;
      default:
        return g.name(id) || `(anon ${KIND_NAMES[k]})`;
    }
  }

  /** Access of a resolved type, memoized by id. */
  accessOf(t: number, depth: number): Access {
    let a = this.access.get(t);
    if (a === undefined) {
      a = this.computeAccess(t, depth);
      this.access.set(t, a);
    }
    return a;
  }

  private computeAccess(t: number, depth: number): Access {
    const g = this.g;
    switch (g.kind(t)) {
      case KIND.INT: {
        const enc = g.intInfo(t) >>> 16;
        const size = g.size(t);
        if (enc & 4 && size === 1) return BOOL_ACCESS;
        return intAccess(size, (enc & 1) === 1);
      }
      case KIND.ENUM:
      case KIND.ENUM64:
        return intAccess(g.size(t), g.flag(t));
      case KIND.PTR:
        return intAccess(8, false);
      case KIND.FLOAT:
        return floatAccess(g.size(t));
      case KIND.STRUCT:
      case KIND.UNION: {
        const cls = this.classOf(t);
        return cls !== undefined
          ? structAccess(cls, g.size(t))
          : rawAccess(g.size(t));
      }
      case KIND.ARRAY: {
        const el = depth < MAX_DIMS ? this.resolve(g.target(t)) : -1;
        if (el < 0) return rawAccess(0);
        if (
          g.kind(el) === KIND.INT &&
          g.size(el) === 1 &&
          ((g.intInfo(el) >>> 16) & 2 || g.name(el) === "char")
        ) {
          return stringAccess(g.length(t));
        }
        return arrayAccess(g.length(t), this.accessOf(el, depth + 1));
      }
      default:
        return rawAccess(this.sizeOfResolved(t, 0));
    }
  }

  /** Size of an already-resolved type. */
  sizeOfResolved(t: number, depth: number): number {
    if (depth > MAX_DIMS) return 0;
    const g = this.g;
    switch (g.kind(t)) {
      case KIND.INT:
      case KIND.FLOAT:
      case KIND.PTR:
      case KIND.STRUCT:
      case KIND.UNION:
      case KIND.ENUM:
      case KIND.ENUM64:
        return g.size(t);
      case KIND.ARRAY: {
        const e = this.resolve(g.target(t));
        return e >= 0 ? g.length(t) * this.sizeOfResolved(e, depth + 1) : 0;
      }
      default:
        return 0;
    }
  }

  /** Follows typedefs and qualifiers; -1 if the chain loops or breaks. */
  resolve(id: number): number {
    const { kind, ref, count } = this.F;
    for (let i = 0; i < MAX_HOPS; i++) {
      if (!(id >= 0 && id <= count)) return -1;
      const k = kind[id]!;
      if (k < 0) return -1;
      if (((QUALIFIERS >>> k) & 1) === 0) return id;
      id = ref[id]!;
    }
    return -1;
  }
}

runOnce(MemberTypes);
