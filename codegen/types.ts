/**
 * `tsbpf-gen types`: BTF → one TypeScript module with a class
 * per struct/union (the view shape of DESIGN.md, "Struct views and generated
 * classes: one shape"), a plain-object type per class, and a const object +
 * type per enum. A class declares its typed fields (each with its C type,
 * offset and size in JSDoc) and has one field table, from which the
 * helpers' `$def` installs the accessors at load; `XObject` is the mapped
 * type `$Plain<X>`. The helpers (src/generated/struct_runtime.ts) are inlined,
 * so the module imports nothing, or imported from the runtime
 * (`importFrom`). Output is deterministic: declarations sorted by (C name,
 * kind, id), names settled by a deterministic allocator, no timestamps.
 * Hostile names cannot inject code: bindings are sanitized, property keys
 * and table names are identifiers or JSON string literals, doc text is
 * escaped.
 */
import { editDistance } from "../src/btf/edit_distance.ts";
import { BtfNotFoundError } from "../src/errors.ts";
import type { BtfType } from "../src/btf/types.ts";
import { type Access, rawAccess } from "./access.ts";
import {
  CODE,
  CODE_END,
  INFO,
  INT_BITS,
  INT_OFF,
  INT_SIZE,
  MAX_HOPS,
  MemberTypes,
  PRE,
  PRE_END,
  R,
  TAIL,
  TAIL_END,
} from "./member_types.ts";
import { type CNames, IDENT, isDeclarableKind, nameTable } from "./naming.ts";
import { sortByName } from "./name_sort.ts";
import { TypeNames } from "./type_names.ts";
import {
  docText,
  isPropertyIdentifier,
  literalKey,
  propertyKey,
  RESERVED_MEMBERS,
} from "./names.ts";
import {
  asciiString,
  ByteOut,
  type ByteSink,
  putUint,
  utf8,
} from "./output.ts";
import { helperImport } from "./prelude.ts";
import { inlineHead, moduleHeader } from "./module_head.ts";
import {
  type Flat,
  type IndexedTypes,
  type RawBtf,
  KIND,
  type TypeGraph,
  typeGraph,
} from "./type_graph.ts";
import { runOnce } from "./run_once.ts";

export type { IndexedTypes, RawBtf } from "./type_graph.ts";

/** Options of {@link generateTypes}. */
export interface GenerateOptions {
  /**
   * C names (struct, union, enum, typedef, or a derived anonymous name) to
   * emit, with everything they use by value, transitively. Default: all.
   */
  readonly only?: readonly string[];
  /** Byte order of the data the classes read; default little-endian. */
  readonly littleEndian?: boolean;
  /** Where the BTF came from, for the header comment. */
  readonly source?: string;
  /**
   * Import the helpers (`$Struct`, `$def`, ...) from this module specifier
   * of the tsbpf runtime (e.g. "tsbpf") instead of inlining them. The
   * runtime's helpers read little-endian data: with `littleEndian: false`
   * they stay inlined.
   */
  readonly importFrom?: string;
  /**
   * When given, receives the milliseconds spent in each phase (naming,
   * selection, sorting, name allocation, emission, aliases, output): what
   * bench/codegen_vmlinux.ts prints.
   */
  readonly phases?: { name: string; ms: number }[];
}

/**
 * The module for the structs, unions and enums of `types` (a `Btf`, read
 * from its raw type section, or model objects).
 */
export function generateTypes(
  types: Iterable<BtfType> | IndexedTypes | RawBtf,
  options: GenerateOptions = {},
): string {
  const parts: string[] = [];
  writeTypes(types, options, (chunk) => parts.push(chunk));
  return parts.join("");
}

/** Same text as {@link generateTypes}, handed to `write` in chunks as it is produced. */
export function writeTypes(
  types: Iterable<BtfType> | IndexedTypes | RawBtf,
  options: GenerateOptions,
  write: (chunk: string) => void,
): void {
  const decoder = new TextDecoder();
  writeTypeBytes(types, options, (b) =>
    write(decoder.decode(b, { stream: true })),
  );
  const tail = decoder.decode();
  if (tail) write(tail);
}

/**
 * Same text as {@link generateTypes} as UTF-8, handed to `sink` in chunks
 * of about {@link CHUNK} bytes as it is produced (the CLI writes them
 * straight to stdout). A chunk is only valid during the call.
 */
export function writeTypeBytes(
  types: Iterable<BtfType> | IndexedTypes | RawBtf,
  options: GenerateOptions,
  sink: ByteSink,
): void {
  new Generator(typeGraph(types), options, sink).run();
}

/** Bytes buffered before a chunk is handed on. */
export const CHUNK = 1 << 20;

/** Deepest anonymous-member flattening (hostile BTF may nest itself). */
const MAX_FLATTEN = 16;
/** FNV-1a step over one byte, as {@link nameHash} does it. */
const FNV_PRIME = 0x01000193;
const FNV_BASIS = 0x811c9dc5 | 0;

/** FNV-1a of an ASCII string (same as the byte scan of a name). */
function nameHash(s: string): number {
  let h = FNV_BASIS;
  for (let i = 0; i < s.length; i++)
    h = Math.imul(h ^ s.charCodeAt(i), FNV_PRIME);
  return h;
}

/**
 * Low bits of the hashes of names that need a second look when they are
 * plain identifiers: view members (reserved) and `__proto__` (enum keys).
 * A hit only means "decode the name and check"; misses are certain.
 */
const SPECIAL = new Uint8Array(1024);
for (const n of [...RESERVED_MEMBERS, "__proto__"]) {
  if (isPropertyIdentifier(n)) SPECIAL[nameHash(n) & 1023] = 1;
}

/** UTF-8 of `s`, without a TextEncoder call when it is ASCII. */
function bytesOf(s: string): Uint8Array {
  const n = s.length;
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return utf8(s);
    b[i] = c;
  }
  return b;
}

const DECLARE = bytesOf(" */ declare ");
const UNION_DOC = bytesOf("/** `union ");
const STRUCT_DOC = bytesOf("/** `struct ");
const SIZE_DOC = bytesOf("`, ");
const CLASS_OPEN = bytesOf(" bytes. */\nexport class ");
const CLASS_EXTENDS = bytesOf(" extends $Struct {\n");
const DEF_OPEN = bytesOf("$def(");
const COMMA_SPACE = bytesOf(", ");
const TABLE_OPEN = bytesOf(", [");
const TABLE_CLOSE = bytesOf("]);\n");
const PLAIN_DOC = bytesOf("}\n/** {@link ");
const PLAIN_TYPE = bytesOf("} as plain data. */\nexport type ");
const PLAIN_OF = bytesOf("Object = $Plain<");
const PLAIN_END = bytesOf(";\n\n");

/** One run of the generator over one BTF. */
class Generator {
  /** C names by id. */
  private names!: CNames;
  /** TypeScript names of the declarations. */
  private readonly tn = new TypeNames();
  /** The declarations to emit, in output order. */
  private order: Int32Array = new Int32Array(0);
  /** Per declaration (by index in `order`): its TypeScript name in `tn.bytes`. */
  private tsAt: Int32Array = new Int32Array(0);
  private tsLen: Int32Array = new Int32Array(0);
  /** 1 + index in `order` of each emitted type id; 0 for the rest. */
  private readonly declIndex: Int32Array;
  /** How each member type looks in the output (spelling, access, snippets). */
  private readonly mt: MemberTypes;
  /**
   * Where the helpers are imported from; undefined: inlined. Importing, the
   * import of what the module uses comes first, so the module is kept whole
   * until the end instead of streamed.
   */
  private readonly importFrom: string | undefined;
  /** The module, streamed to the sink (or kept whole, see `importFrom`). */
  private readonly o: ByteOut;
  /** The `$def` calls, emitted after every class is declared. */
  private readonly defs = new ByteOut(1 << 20);
  /** Names taken in the current class that are not plain identifiers. */
  private readonly strings = new Set<string>();
  /** 1 for the ids on the current flattening path (a class and its anonymous members). */
  private readonly onPath: Uint8Array;
  /** Saved (type, member, end, bit offset) of the outer levels while flattening. */
  private readonly stack = new Int32Array(4 * (MAX_FLATTEN + 1));
  /**
   * Names already taken in the current class or enum: an open-addressing
   * table of (hash, name offset), live where `stamp` is the current one.
   */
  private hStamp = new Int32Array(1024);
  private hHash = new Int32Array(1024);
  private hOff = new Int32Array(1024);
  private hCount = 0;
  private stamp = 0;

  /** The graph's arrays. */
  private readonly F: Flat;

  constructor(
    private readonly g: TypeGraph,
    private readonly options: GenerateOptions,
    private readonly sink: ByteSink,
  ) {
    this.F = g.flat;
    this.importFrom =
      options.littleEndian !== false ? options.importFrom : undefined;
    this.o = new ByteOut(
      CHUNK,
      this.importFrom === undefined ? sink : undefined,
    );
    const declIndex = (this.declIndex = new Int32Array(this.F.count + 1));
    this.mt = new MemberTypes(g, (id) =>
      declIndex[id]! > 0 ? this.tsName(declIndex[id]! - 1) : undefined,
    );
    this.onPath = new Uint8Array(this.F.count + 1);
  }

  run(): void {
    const phases = this.options.phases;
    let t = phases ? performance.now() : 0;
    const phase = (name: string) => {
      if (!phases) return;
      const now = performance.now();
      phases.push({ name, ms: now - t });
      t = now;
    };
    const names = (this.names = nameTable(this.g));
    phase("names");
    const { selected, aliases } = this.select();
    phase("select");
    this.order = sortByName(selected, names, this.F.kind);
    phase("sort");
    this.claimAll();
    phase("claim");
    const from = this.importFrom;
    const o = this.o;
    if (from === undefined) o.text(inlineHead(this.options));
    this.emitAll();
    phase("emit");
    this.emitAliases(aliases);
    phase("aliases");
    if (this.defs.pos > 0) {
      o.ascii(
        "// Sizes, C names and field tables ((name, byte offset, spec) triples); see $def.\n",
      );
      o.bytes(this.defs.buf.subarray(0, this.defs.pos));
      o.ascii("$install();\n");
    }
    if (from !== undefined) {
      const body = o.buf.subarray(0, o.pos);
      const imp = helperImport(new TextDecoder().decode(body), from);
      this.sink(utf8(moduleHeader(this.options) + "\n" + (imp && imp + "\n")));
      this.sink(body);
    } else o.flush();
    phase("tables+flush");
  }

  /**
   * Gives each declaration its TypeScript name, in output order, except
   * that names starting with `_` come last: `sk_buff` is `SkBuff` and
   * `__sk_buff` (sorted before it) `SkBuff_2`, not the other way round.
   * Names are settled over every declarable type, not only the selected
   * ones, so a class is called the same whatever else `only` picks.
   */
  private claimAll(): void {
    const { order, names } = this;
    const F = this.F;
    const all =
      order.length === names.declarable.length
        ? order
        : sortByName(names.declarable, names, F.kind);
    const at = new Int32Array(F.count + 1);
    const len = new Int32Array(F.count + 1);
    const later = new Int32Array(all.length);
    let nLater = 0;
    for (let i = 0; i < all.length; i++) {
      const id = all[i]!;
      const underscore = names.plain[id]
        ? names.bytes[names.off[id]!] === 95
        : names.get(id).startsWith("_");
      if (underscore) later[nLater++] = id;
      else this.claimId(id, at, len);
    }
    for (let j = 0; j < nLater; j++) this.claimId(later[j]!, at, len);
    const n = order.length;
    this.tsAt = new Int32Array(n);
    this.tsLen = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const id = order[i]!;
      this.tsAt[i] = at[id]!;
      this.tsLen[i] = len[id]!;
      this.declIndex[id] = i + 1;
    }
  }

  /** Names type `id`: its name's place in `tn.bytes` goes to `at[id]`, `len[id]`. */
  private claimId(id: number, at: Int32Array, len: Int32Array): void {
    const k = this.F.kind[id]!;
    this.tn.pascal(this.names, id);
    this.tn.claim(k === KIND.STRUCT || k === KIND.UNION);
    at[id] = this.tn.at;
    len[id] = this.tn.n;
  }

  /** Every declaration's class or enum. */
  private emitAll(): void {
    const { order } = this;
    const kind = this.F.kind;
    for (let i = 0, n = order.length; i < n; i++) {
      const k = kind[order[i]!]!;
      if (k === KIND.STRUCT || k === KIND.UNION) this.emitClass(i);
      else this.emitEnum(i);
    }
  }

  /** The TypeScript name of declaration `i` (an ASCII identifier). */
  private tsName(i: number): string {
    return this.tn.get(this.tsAt[i]!, this.tsLen[i]!);
  }

  /**
   * What to emit: everything; for a module's split BTF, its own types and
   * the base types they use by value; or the closure of `options.only`.
   */
  private select(): { selected: Int32Array; aliases: Int32Array } {
    const g = this.g;
    const only = this.options.only;
    const { declarable, typedefs } = this.names;
    if (!only) {
      if (g.firstId > 1) {
        const own = (id: number) => id >= g.firstId;
        return {
          selected: this.closure(Array.from(declarable.filter(own))),
          aliases: typedefs.filter(own),
        };
      }
      return { selected: declarable, aliases: typedefs };
    }
    const byName = new Map<string, number>();
    for (const id of declarable) {
      const n = this.names.get(id);
      if (!byName.has(n)) byName.set(n, id);
    }
    const aliases: number[] = [];
    const roots: number[] = [];
    for (const name of only) {
      let t = byName.get(name);
      if (t === undefined) {
        const td = typedefs.find((x) => g.name(x) === name);
        const target = td === undefined ? -1 : this.mt.resolve(td);
        if (target >= 0 && isDeclarableKind(g.kind(target))) {
          t = target;
          aliases.push(td!);
        }
      }
      if (t === undefined) {
        const td = typedefs.find((x) => g.name(x) === name);
        if (td !== undefined) {
          const used = this.valueUse(td);
          throw new BtfNotFoundError(
            name,
            `'${name}' is a typedef of ${this.mt.spellingOrUnknown(this.mt.resolve(td))}, not of a struct, union or enum: tsbpf-gen types emits classes for those only` +
              (used >= 0
                ? `; use --type ${g.name(used)} for its elements`
                : " (a scalar or a pointer needs none)"),
          );
        }
        throw notFound(name, byName);
      }
      roots.push(t);
    }
    return { selected: this.closure(roots), aliases: Int32Array.from(aliases) };
  }

  /** `roots` and every declarable they hold by value, transitively. */
  private closure(roots: number[]): Int32Array {
    const g = this.g;
    const seen = new Set<number>();
    const selected: number[] = [];
    const queue = roots;
    for (let i = 0; i < queue.length; i++) {
      const t = queue[i]!;
      if (seen.has(t)) continue;
      seen.add(t);
      selected.push(t);
      const k = g.kind(t);
      if (k !== KIND.STRUCT && k !== KIND.UNION) continue;
      for (let m = 0, n = g.vlen(t); m < n; m++) {
        const used = this.valueUse(g.memberType(t, m));
        if (used >= 0 && !seen.has(used)) queue.push(used);
      }
    }
    return Int32Array.from(selected);
  }

  /** The struct/union/enum a member holds by value (through typedefs, arrays). */
  private valueUse(id: number): number {
    for (let i = 0; i < MAX_HOPS; i++) {
      const r = this.mt.resolve(id);
      if (r < 0) return -1;
      const k = this.g.kind(r);
      if (k === KIND.ARRAY) id = this.g.target(r);
      else return isDeclarableKind(k) ? r : -1;
    }
    return -1;
  }

  /** Starts a new set of taken names (one class or enum). */
  private newScope(): void {
    if (++this.stamp === 0x7fffffff) {
      this.hStamp.fill(0);
      this.stamp = 1;
    }
    this.hCount = 0;
    if (this.strings.size > 0) this.strings.clear();
  }

  /**
   * Takes the identifier of `len` bytes at `off` of the graph's strings
   * (hash `h`); false when the scope already has it.
   */
  private take(off: number, len: number, h: number): boolean {
    const stamp = this.stamp;
    const st = this.hStamp;
    const mask = st.length - 1;
    const hh = this.hHash;
    const ho = this.hOff;
    const s = this.g.strings;
    let i = h & mask;
    for (; st[i] === stamp; i = (i + 1) & mask) {
      if (hh[i] !== h) continue;
      const o = ho[i]!;
      if (o === off) return false;
      let k = 0;
      while (k < len && s[o + k] === s[off + k]) k++;
      if (k === len && s[o + len] === 0) return false;
    }
    st[i] = stamp;
    hh[i] = h;
    ho[i] = off;
    if (++this.hCount * 2 > st.length) this.growScope();
    return true;
  }

  /** Doubles the name table, keeping the current scope's entries. */
  private growScope(): void {
    const st = this.hStamp;
    const hh = this.hHash;
    const ho = this.hOff;
    const size = st.length * 2;
    this.hStamp = new Int32Array(size);
    this.hHash = new Int32Array(size);
    this.hOff = new Int32Array(size);
    const mask = size - 1;
    for (let j = 0; j < st.length; j++) {
      if (st[j] !== this.stamp) continue;
      let i = hh[j]! & mask;
      while (this.hStamp[i] === this.stamp) i = (i + 1) & mask;
      this.hStamp[i] = this.stamp;
      this.hHash[i] = hh[j]!;
      this.hOff[i] = ho[j]!;
    }
  }

  /** The C name of `id` for a doc comment. */
  private cDoc(out: ByteOut, id: number): void {
    const names = this.names;
    if (names.plain[id]) {
      const at = names.off[id]!;
      out.range(names.bytes, at, at + names.len[id]!);
    } else out.text(docText(names.get(id)));
  }

  private emitEnum(i: number): void {
    const o = this.o;
    const F = this.F;
    const id = this.order[i]!;
    this.enumHead(i);
    this.newScope();
    const first = F.first[id]!;
    const s = this.g.strings;
    const signed = F.flag[id] === 1;
    const plainValues = F.enumValues && F.kind[id] === KIND.ENUM;
    const tail =
      F.kind[id] === KIND.ENUM64 || F.size[id] === 8 ? "n,\n" : ",\n";
    for (let m = first, end = first + F.vlen[id]!; m < end; m++) {
      const off = F.mName[m]!;
      let len = -1;
      let h = FNV_BASIS;
      if (off > 0 && off < s.length && IDENT[s[off]!] === 1) {
        let q = off;
        let c = s[q]!;
        do {
          h = Math.imul(h ^ c, FNV_PRIME);
          c = s[++q]!;
        } while (IDENT[c]! > 0);
        if (c === 0) len = q - off;
      }
      const lo = F.mType[m]!;
      // A plain name and a 32-bit value (as most are), else the general way.
      if (
        len > 0 &&
        !SPECIAL[h & 1023] &&
        plainValues &&
        !(signed && lo >= 0x80000000)
      ) {
        // First wins, as in C a name can only be declared once.
        if (!this.take(off, len, h)) continue;
        o.ascii("  ");
        o.range(s, off, off + len);
        o.ascii(": ");
        o.int(lo);
        o.ascii(tail);
      } else this.enumerator(id, m - first, off, len, h);
    }
    this.enumFoot(i);
  }

  /** One enumerator the general way: any name, any value. */
  private enumerator(
    id: number,
    j: number,
    off: number,
    len: number,
    h: number,
  ): void {
    const g = this.g;
    const o = this.o;
    const F = this.F;
    const s = g.strings;
    const m = F.first[id]! + j;
    if (
      len > 0 &&
      !(
        SPECIAL[h & 1023] &&
        asciiString(this.g.strings, off, off + len) === "__proto__"
      )
    ) {
      // First wins, as in C a name can only be declared once.
      if (!this.take(off, len, h)) return;
      o.ascii("  ");
      o.range(s, off, off + len);
    } else {
      const name = g.enumName(id, j);
      if (this.strings.has(name)) return;
      this.strings.add(name);
      o.ascii("  ");
      o.text(literalKey(name));
    }
    o.ascii(": ");
    const lo = F.mType[m]!;
    const hi = F.mBitOff[m]!;
    if (!F.enumValues) o.ascii(g.enumValue(id, j));
    else if (F.kind[id] === KIND.ENUM) {
      if (F.flag[id] === 1 && lo >= 0x80000000) o.ascii(String(lo | 0));
      else o.int(lo);
    } else if (hi === 0) o.int(lo);
    else o.ascii(g.enumValue(id, j));
    o.ascii(F.kind[id] === KIND.ENUM64 || F.size[id] === 8 ? "n,\n" : ",\n");
  }

  /** The doc and first line of enum declaration `i`. */
  private enumHead(i: number): void {
    const o = this.o;
    const id = this.order[i]!;
    const ta = this.tsAt[i]!;
    o.ascii("/** `enum ");
    this.cDoc(o, id);
    o.ascii("` (");
    o.int(this.F.size[id]!);
    o.ascii(" bytes). */\nexport const ");
    o.range(this.tn.bytes, ta, ta + this.tsLen[i]!);
    o.ascii(" = {\n");
  }

  /** The end of enum declaration `i` and its value type. */
  private enumFoot(i: number): void {
    const o = this.o;
    const tb = this.tn.bytes;
    const ta = this.tsAt[i]!;
    const te = ta + this.tsLen[i]!;
    o.ascii("} as const;\n/** A value of `enum ");
    this.cDoc(o, this.order[i]!);
    o.ascii("`. */\nexport type ");
    o.range(tb, ta, te);
    o.ascii(" = (typeof ");
    o.range(tb, ta, te);
    o.ascii(")[keyof typeof ");
    o.range(tb, ta, te);
    o.ascii("];\n\n");
  }

  private emitClass(i: number): void {
    const F = this.F;
    const o = this.o;
    const defs = this.defs;
    const names = this.names;
    const id = this.order[i]!;
    const size = F.size[id]!;
    const tb = this.tn.bytes;
    const ta = this.tsAt[i]!;
    const te = ta + this.tsLen[i]!;
    o.bytes(F.kind[id] === KIND.UNION ? UNION_DOC : STRUCT_DOC);
    this.cDoc(o, id);
    o.bytes(SIZE_DOC);
    o.int(size);
    o.bytes(CLASS_OPEN);
    o.range(tb, ta, te);
    o.bytes(CLASS_EXTENDS);
    defs.bytes(DEF_OPEN);
    defs.range(tb, ta, te);
    defs.bytes(COMMA_SPACE);
    defs.int(size);
    defs.bytes(COMMA_SPACE);
    if (names.plain[id]) {
      const at = names.off[id]!;
      defs.byte(34);
      defs.range(names.bytes, at, at + names.len[id]!);
      defs.byte(34);
    } else defs.text(JSON.stringify(names.get(id)));
    defs.bytes(TABLE_OPEN);
    const mark = defs.pos;
    this.newScope();
    const extra = this.fields(id);
    // Each entry ends with a comma: the last one becomes the bracket.
    if (defs.pos > mark) defs.pos--;
    defs.bytes(TABLE_CLOSE);
    o.bytes(PLAIN_DOC);
    o.range(tb, ta, te);
    o.bytes(PLAIN_TYPE);
    o.range(tb, ta, te);
    o.bytes(PLAIN_OF);
    o.range(tb, ta, te);
    o.byte(62);
    if (extra) o.text(` & {${extra} }`);
    o.bytes(PLAIN_END);
  }

  /**
   * Writes the members of struct/union `top`, flattening anonymous ones
   * (with an explicit stack: one loop over every member reached). Returns
   * the type members of fields with reserved names, for the plain type.
   */
  private fields(top: number): string {
    const g = this.g;
    const F = this.F;
    const { mName, mType, mBitOff, mBitSize, first, vlen, count } = F;
    const o = this.o;
    const defs = this.defs;
    const s = g.strings;
    const onPath = this.onPath;
    const stack = this.stack;
    let extra = "";
    let cur = top;
    let m = first[top]!;
    let end = m + vlen[top]!;
    let base = 0;
    let depth = 0;
    onPath[top] = 1;
    for (;;) {
      if (m >= end) {
        onPath[cur] = 0;
        if (depth === 0) break;
        const q = 4 * --depth;
        cur = stack[q]!;
        m = stack[q + 1]!;
        end = stack[q + 2]!;
        base = stack[q + 3]!;
        continue;
      }
      const mi = m++;
      const off = mName[mi]!;
      // A plain identifier is copied from the string bytes (len > 0); else
      // the name is decoded (len < 0) or the member is anonymous (len 0).
      let len = -1;
      let h = FNV_BASIS;
      if (off === 0) len = 0;
      else if (off > 0 && off < s.length) {
        let j = off;
        let c = s[j]!;
        if (IDENT[c] === 1) {
          do {
            h = Math.imul(h ^ c, FNV_PRIME);
            c = s[++j]!;
          } while (IDENT[c]! > 0);
          if (c === 0) len = j - off;
        }
      }
      let name = "";
      if (len < 0) {
        name = g.memberName(cur, mi - first[cur]!);
        if (name === "") len = 0;
      }
      const bitOffset = base + mBitOff[mi]!;
      if (len === 0) {
        const inner = this.mt.resolve(mType[mi]!);
        const k = inner < 0 ? -1 : F.kind[inner]!;
        if (
          (k === KIND.STRUCT || k === KIND.UNION) &&
          depth < MAX_FLATTEN &&
          onPath[inner] === 0
        ) {
          const q = 4 * depth++;
          stack[q] = cur;
          stack[q + 1] = m;
          stack[q + 2] = end;
          stack[q + 3] = base;
          onPath[inner] = 1;
          cur = inner;
          m = first[inner]!;
          end = m + vlen[inner]!;
          base = bitOffset;
        }
        continue;
      }
      if (len < 0 || SPECIAL[h & 1023]) {
        extra += this.oddField(cur, mi, bitOffset, off, len, h, name, false);
        continue;
      }
      // First wins, as in the runtime views.
      if (!this.take(off, len, h)) continue;
      let t = mType[mi]!;
      if (!(t <= count && F.kind[t]! >= 0)) t = count + 1;
      let tb = this.mt.slot[t]! * INFO;
      if (this.mt.info[tb + PRE_END] === 0) tb = this.mt.typeInfo(t);
      const info = this.mt.info;
      const intBits = info[tb + INT_BITS]!;
      if (
        mBitSize[mi] !== 0 ||
        bitOffset % 8 !== 0 ||
        (intBits >= 0 &&
          (intBits !== info[tb + INT_SIZE]! * 8 || info[tb + INT_OFF]))
      ) {
        // A bitfield.
        this.oddField(cur, mi, bitOffset, off, len, h, name, true);
        continue;
      }
      // The common field, copied straight into the buffers.
      const byte = bitOffset / 8;
      const snips = this.mt.snips.buf;
      const pre = info[tb + PRE]!;
      const preEnd = info[tb + PRE_END]!;
      const tail = info[tb + TAIL]!;
      const tailEnd = info[tb + TAIL_END]!;
      o.reserve(preEnd - pre + tailEnd - tail + len + 32);
      const ob = o.buf;
      let p = o.pos;
      for (let j = pre; j < preEnd; j++) ob[p++] = snips[j]!;
      p = putUint(ob, p, byte);
      // " */ declare "
      ob[p] = 32;
      ob[p + 1] = 42;
      ob[p + 2] = 47;
      ob[p + 3] = 32;
      ob[p + 4] = 100;
      ob[p + 5] = 101;
      ob[p + 6] = 99;
      ob[p + 7] = 108;
      ob[p + 8] = 97;
      ob[p + 9] = 114;
      ob[p + 10] = 101;
      ob[p + 11] = 32;
      p += 12;
      for (let j = off; j < off + len; j++) ob[p++] = s[j]!;
      for (let j = tail; j < tailEnd; j++) ob[p++] = snips[j]!;
      o.pos = p;
      const code = info[tb + CODE]!;
      const codeEnd = info[tb + CODE_END]!;
      defs.reserve(codeEnd - code + len + 32);
      const db = defs.buf;
      p = defs.pos;
      db[p++] = 34;
      for (let j = off; j < off + len; j++) db[p++] = s[j]!;
      db[p++] = 34;
      db[p++] = 44;
      p = putUint(db, p, byte);
      db[p++] = 44;
      for (let j = code; j < codeEnd; j++) db[p++] = snips[j]!;
      defs.pos = p;
    }
    return extra;
  }

  /**
   * A field the general way: a name that is not a plain identifier (`len`
   * < 0, `name` decoded) or may be reserved, or a bitfield. `taken`: the
   * name was already checked for a clash. Returns the plain type's member
   * for a reserved name, else "".
   */
  private oddField(
    cur: number,
    mi: number,
    bitOffset: number,
    off: number,
    len: number,
    h: number,
    name: string,
    taken: boolean,
  ): string {
    const F = this.F;
    const count = F.count;
    const o = this.o;
    const defs = this.defs;
    const s = this.g.strings;
    // First wins, as in the runtime views.
    let reserved = false;
    if (len > 0) {
      if (!taken && !this.take(off, len, h)) return "";
      if (SPECIAL[h & 1023]) {
        name = asciiString(this.g.strings, off, off + len);
        reserved = RESERVED_MEMBERS.has(name);
      }
    } else {
      if (this.strings.has(name)) return "";
      this.strings.add(name);
      reserved = RESERVED_MEMBERS.has(name);
    }
    let t = F.mType[mi]!;
    if (!(t <= count && F.kind[t]! >= 0)) t = count + 1;
    let tb = this.mt.slot[t]! * INFO;
    if (this.mt.info[tb + PRE_END] === 0) tb = this.mt.typeInfo(t);
    const r = this.mt.info[tb + R]!;
    const intBits = this.mt.info[tb + INT_BITS]!;
    let bitSize = F.mBitSize[mi]!;
    let bits = bitOffset;
    // Without kind_flag, BTF encodes a bitfield in the int type itself.
    if (intBits >= 0 && !bitSize) {
      const intOff = this.mt.info[tb + INT_OFF]!;
      if (intBits !== this.mt.info[tb + INT_SIZE]! * 8 || intOff) {
        bitSize = intBits;
        bits += intOff;
      }
    }
    const byte = (bits - (bits % 8)) / 8;
    const bitfield = bitSize > 0 || bits % 8 !== 0;
    let a: Access;
    let width = 0;
    if (bitfield) {
      width = bitSize || (r >= 0 ? this.mt.sizeOfResolved(r, 0) * 8 : 0);
      a = this.mt.bitfield(r, bits % 8, width);
    } else a = r >= 0 ? this.mt.accessOf(r, 0) : rawAccess(0);
    const snips = this.mt.snips.buf;
    if (!reserved) {
      o.range(snips, this.mt.info[tb + PRE]!, this.mt.info[tb + PRE_END]!);
      o.int(byte);
      if (bitfield) {
        o.ascii(", bit offset ");
        o.int(bits);
        o.ascii(", ");
        o.int(width);
        o.ascii(" bits");
      }
      o.bytes(DECLARE);
      if (len > 0) o.range(s, off, off + len);
      else o.text(propertyKey(name));
      if (!bitfield)
        o.range(snips, this.mt.info[tb + TAIL]!, this.mt.info[tb + TAIL_END]!);
      else {
        o.ascii(": ");
        o.ascii(a.t);
        o.ascii(";\n");
      }
    }
    if (len > 0) {
      defs.byte(34);
      defs.range(s, off, off + len);
      defs.byte(34);
    } else defs.text(JSON.stringify(name));
    defs.byte(44);
    defs.int(byte);
    defs.byte(44);
    if (!bitfield)
      defs.range(snips, this.mt.info[tb + CODE]!, this.mt.info[tb + CODE_END]!);
    else {
      defs.ascii(a.code);
      defs.byte(44);
    }
    return reserved ? ` ${JSON.stringify(name)}: $PlainOf<${a.t}>;` : "";
  }

  /** `export { Foo as FooT }` for typedefs of emitted types, where free. */
  private emitAliases(typedefs: Int32Array): void {
    const names = this.names;
    const tn = this.tn;
    const emitted = (id: number) => {
      const target = this.mt.resolve(id);
      return target >= 0 && this.declIndex[target]! > 0;
    };
    let s = "";
    for (const td of sortByName(typedefs.filter(emitted), names, this.F.kind)) {
      const target = this.mt.resolve(td);
      if (names.same(target, td)) continue;
      tn.pascal(names, td);
      if (!tn.tryClaim()) continue;
      const alias = tn.get(tn.at, tn.n);
      s +=
        `/** \`typedef ${docText(this.mt.spellingOrUnknown(target))} ${docText(names.get(td))}\`. */\n` +
        `export { ${this.tsName(this.declIndex[target]! - 1)} as ${alias} };\n`;
    }
    if (s) this.o.text(s + "\n");
  }
}

function notFound(name: string, byName: Map<string, number>): BtfNotFoundError {
  const lower = name.toLowerCase();
  const limit = Math.max(1, Math.floor(name.length / 4));
  // Within a quarter of the name's length in edits, or containing it (or
  // contained in it) with 3+ characters: "s" is in every name.
  const score = (n: string) => {
    const c = n.toLowerCase();
    if (c.length < 3) return Infinity;
    const d =
      Math.abs(c.length - lower.length) <= limit
        ? editDistance(c, lower, limit)
        : limit + 1;
    if (d <= limit) return d;
    return lower.length >= 3 && (c.includes(lower) || lower.includes(c))
      ? limit + 0.5
      : Infinity;
  };
  const suggestions = [...byName.keys()]
    .map((n) => [n, score(n)] as const)
    .filter(([, d]) => d !== Infinity)
    .sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, 5)
    .map(([n]) => n);
  return new BtfNotFoundError(
    name,
    `no struct, union, enum or typedef named '${name}' in the BTF` +
      (suggestions.length ? `; similar: ${suggestions.join(", ")}` : ""),
  );
}

runOnce(Generator, nameHash, bytesOf);
