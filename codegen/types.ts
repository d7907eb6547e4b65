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
import { BtfNotFoundError } from "../src/errors.ts";
import { KIND_NAMES } from "../src/btf/wire.ts";
import type { BtfType } from "../src/btf/types.ts";
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
import {
  isDeclarableKind,
  type Keyed,
  kindRank,
  type NameTable,
  nameTable,
  IdMap,
  sortKeyed,
  sortKeys,
} from "./naming.ts";
import {
  docText,
  isPropertyIdentifier,
  literalKey,
  isUnavailable,
  pascalCase,
  pascalCaseAll,
  propertyKey,
  RESERVED_MEMBERS,
} from "./names.ts";
import { ByteOut, type ByteSink, utf8 } from "./output.ts";
import { helperImport, prelude } from "./prelude.ts";
import {
  type Flat,
  type IndexedTypes,
  type RawBtf,
  KIND,
  type TypeGraph,
  typeGraph,
} from "./type_graph.ts";

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

/** A declaration to emit. */
interface Decl extends Keyed {
  /** `KIND` number. */
  readonly kind: number;
  /** TypeScript name (class, or enum object + type). */
  tsName: string;
}

/** What the fields of one member type need, computed once per type id. */
interface MemberType {
  /** Snippet `  /** \`<C spelling>\` @`: how each field of this type starts. */
  readonly pre: number;
  readonly preEnd: number;
  /** Resolved id (through typedefs and qualifiers), -1 when it does not resolve. */
  readonly r: number;
  /** Int bits and bit offset of a resolved int (kind_flag = 0 bitfields), else -1. */
  readonly intBits: number;
  readonly intOffset: number;
  readonly intSize: number;
  /** Access of a whole (non-bitfield) member; made on first use. */
  whole?: WholeAccess;
}

/** An access with snippets for the end of its field line and its table spec. */
interface WholeAccess {
  readonly a: Access;
  /** Snippet `: <type>;\n`. */
  readonly tail: number;
  readonly tailEnd: number;
  /** Snippet `<spec>,`. */
  readonly code: number;
  readonly codeEnd: number;
}

/** Longest typedef/qualifier chain followed (hostile BTF may loop). */
const MAX_HOPS = 64;
/** Most array dimensions mapped to views (hostile BTF may loop). */
const MAX_DIMS = 16;
/** Deepest anonymous-member flattening (hostile BTF may nest itself). */
const MAX_FLATTEN = 16;
/** Deepest C spelling written in docs. */
const MAX_SPELLING = 8;

/** Typedef and qualifier kinds, as bits: what {@link Generator.resolve} follows. */
const QUALIFIERS =
  (1 << KIND.TYPEDEF) |
  (1 << KIND.CONST) |
  (1 << KIND.VOLATILE) |
  (1 << KIND.RESTRICT) |
  (1 << KIND.TYPE_TAG);

/** Thrown inside {@link Generator.spelling} on an invalid reference. */
const BAD_SPELLING = new Error("invalid reference");

/**
 * Byte classes of plain identifiers: 1 may start one (`A-Za-z_$`), 2 may
 * only follow (`0-9`), 0 neither (NUL, anything else, every byte >= 0x80).
 */
const IDENT = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 36)
    IDENT[c] = 1;
  else if (c >= 48 && c <= 57) IDENT[c] = 2;
}

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
  private names = new IdMap<string>(0);
  private readonly decls = new Map<number, Decl>();
  private readonly access: IdMap<Access>;
  private readonly memberTypes: IdMap<MemberType>;
  private readonly wholes = new Map<Access, WholeAccess>();
  private invalidMt: MemberType | undefined;
  /**
   * Text written again and again (a member type's doc start, an access's
   * type and spec), stored once as UTF-8 and copied from here: one buffer
   * instead of tens of thousands of small arrays.
   */
  private snips = new Uint8Array(1 << 16);
  private snipEnd = 0;
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
  /** Per-class scratch of {@link fields}, reused. */
  private readonly f: Fields = { strings: new Set(), extra: "" };
  private readonly seen = new Set<number>();
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
    this.memberTypes = new IdMap(g.count + 1);
    this.access = new IdMap(g.count + 1);
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
    const table = nameTable(this.g);
    phase("names");
    this.names = table.names;
    const { selected, aliases } = this.select(table);
    phase("select");
    sortKeyed(selected);
    phase("sort");
    const names = new TypeNames();
    const pascal = pascalCaseAll(selected.map((d) => d.name));
    for (let i = 0; i < selected.length; i++) {
      const d = selected[i]!;
      const composite = d.kind === KIND.STRUCT || d.kind === KIND.UNION;
      d.tsName = names.claim(pascal[i]!, composite);
      this.decls.set(d.id, d);
    }
    phase("claim");
    const src = this.options.source;
    const from = this.importFrom;
    const header =
      `// Generated by tsbpf-gen types${src ? ` from ${docText(src)}` : ""}. Do not edit.\n` +
      "// Struct classes are zero-copy views over bytes; see tsbpf's docs/DESIGN.md.\n" +
      "// A field's doc: its C type and byte offset (@).\n" +
      "/* eslint-disable */\n";
    const o = this.o;
    if (from === undefined) {
      o.text(
        header + "\n" + prelude(this.options.littleEndian !== false) + "\n",
      );
    }
    for (const d of selected) {
      if (d.kind === KIND.STRUCT || d.kind === KIND.UNION) this.emitClass(d);
      else this.emitEnum(d);
    }
    phase("emit");
    this.emitAliases(aliases, names);
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
      this.sink(utf8(header + "\n" + (imp && imp + "\n")));
      this.sink(body);
    } else o.flush();
    phase("tables+flush");
  }

  private decl(id: number): Decl {
    const kind = this.g.kind(id);
    const name = this.names.get(id)!;
    return sortKeys({
      name,
      rank: kindRank(kind),
      id,
      kind,
      tsName: "",
      k1: 0,
      k2: 0,
      k3: 0,
    });
  }

  /**
   * What to emit: everything; for a module's split BTF, its own types and
   * the base types they use by value; or the closure of `options.only`.
   */
  private select(table: NameTable): { selected: Decl[]; aliases: number[] } {
    const g = this.g;
    const only = this.options.only;
    const { declarable, typedefs } = table;
    if (!only) {
      if (g.firstId > 1) {
        const own = (id: number) => id >= g.firstId;
        return {
          selected: this.closure(declarable.filter(own)),
          aliases: typedefs.filter(own),
        };
      }
      return {
        selected: declarable.map((id) => this.decl(id)),
        aliases: typedefs,
      };
    }
    const byName = new Map<string, number>();
    for (const id of declarable) {
      const n = this.names.get(id)!;
      if (!byName.has(n)) byName.set(n, id);
    }
    const aliases: number[] = [];
    const roots: number[] = [];
    for (const name of only) {
      let t = byName.get(name);
      if (t === undefined) {
        const td = typedefs.find((x) => g.name(x) === name);
        const target = td === undefined ? -1 : this.resolve(td);
        if (target >= 0 && isDeclarableKind(g.kind(target))) {
          t = target;
          aliases.push(td!);
        }
      }
      if (t === undefined) throw notFound(name, byName);
      roots.push(t);
    }
    return { selected: this.closure(roots), aliases };
  }

  /** `roots` and every declarable they hold by value, transitively. */
  private closure(roots: number[]): Decl[] {
    const g = this.g;
    const seen = new Set<number>();
    const selected: Decl[] = [];
    const queue = roots;
    for (let i = 0; i < queue.length; i++) {
      const t = queue[i]!;
      if (seen.has(t)) continue;
      seen.add(t);
      selected.push(this.decl(t));
      const k = g.kind(t);
      if (k !== KIND.STRUCT && k !== KIND.UNION) continue;
      for (let m = 0, n = g.vlen(t); m < n; m++) {
        const used = this.valueUse(g.memberType(t, m));
        if (used >= 0 && !seen.has(used)) queue.push(used);
      }
    }
    return selected;
  }

  /** Follows typedefs and qualifiers; -1 if the chain loops or breaks. */
  private resolve(id: number): number {
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

  /** The struct/union/enum a member holds by value (through typedefs, arrays). */
  private valueUse(id: number): number {
    for (let i = 0; i < MAX_HOPS; i++) {
      const r = this.resolve(id);
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
    if (this.f.strings.size > 0) this.f.strings.clear();
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

  /** The name at `off` as a string (plain identifier bytes). */
  private identAt(off: number, len: number): string {
    const s = this.g.strings;
    let out = "";
    for (let i = 0; i < len; i++) out += String.fromCharCode(s[off + i]!);
    return out;
  }

  private emitEnum(d: Decl): void {
    const g = this.g;
    const o = this.o;
    const id = d.id;
    const size = g.size(id);
    const wide = d.kind === KIND.ENUM64 || size === 8;
    const cDoc = docText(d.name);
    const ts = d.tsName;
    o.ascii("/** `enum ");
    o.text(cDoc);
    o.ascii("` (");
    o.int(size);
    o.ascii(" bytes). */\nexport const ");
    o.ascii(ts);
    o.ascii(" = {\n");
    this.newScope();
    const strings = this.f.strings;
    const F = this.F;
    const first = F.first[id]!;
    const s = g.strings;
    for (let i = 0, n = F.vlen[id]!; i < n; i++) {
      const m = first + i;
      const off = F.mName[m]!;
      let len = -1;
      let h = FNV_BASIS;
      if (off > 0 && off < s.length && IDENT[s[off]!] === 1) {
        let j = off;
        let c = s[j]!;
        do {
          h = Math.imul(h ^ c, FNV_PRIME);
          c = s[++j]!;
        } while (IDENT[c] !== 0);
        if (c === 0) len = j - off;
      }
      // First wins, as in C a name can only be declared once.
      if (
        len > 0 &&
        !(SPECIAL[h & 1023] && this.identAt(off, len) === "__proto__")
      ) {
        if (!this.take(off, len, h)) continue;
        o.ascii("  ");
        o.range(s, off, off + len);
      } else {
        const name = g.enumName(id, i);
        if (strings.has(name)) continue;
        strings.add(name);
        o.ascii("  ");
        o.text(literalKey(name));
      }
      o.ascii(": ");
      const lo = F.mType[m]!;
      const hi = F.mBitOff[m]!;
      const signed = F.flag[id] === 1;
      if (!F.enumValues) o.ascii(g.enumValue(id, i));
      else if (d.kind === KIND.ENUM) {
        if (signed && lo >= 0x80000000) o.ascii(String(lo | 0));
        else o.int(lo);
      } else if (hi === 0) o.int(lo);
      else o.ascii(g.enumValue(id, i));
      o.ascii(wide ? "n,\n" : ",\n");
    }
    o.ascii("} as const;\n/** A value of `enum ");
    o.text(cDoc);
    o.ascii(
      `\`. */\nexport type ${ts} = (typeof ${ts})[keyof typeof ${ts}];\n\n`,
    );
  }

  private emitClass(d: Decl): void {
    const g = this.g;
    const o = this.o;
    const defs = this.defs;
    const size = g.size(d.id);
    // The class name and (when a plain identifier) the C name as snippets:
    // each is written several times.
    const t0 = this.snip(d.tsName);
    const t1 = this.snipEnd;
    const ident = isPropertyIdentifier(d.name);
    const c0 = ident ? this.snip(d.name) : 0;
    const c1 = this.snipEnd;
    let snips = this.snips;
    o.bytes(d.kind === KIND.UNION ? UNION_DOC : STRUCT_DOC);
    if (ident) o.range(snips, c0, c1);
    else o.text(docText(d.name));
    o.bytes(SIZE_DOC);
    o.int(size);
    o.bytes(CLASS_OPEN);
    o.range(snips, t0, t1);
    o.bytes(CLASS_EXTENDS);
    defs.bytes(DEF_OPEN);
    defs.range(snips, t0, t1);
    defs.bytes(COMMA_SPACE);
    defs.int(size);
    defs.bytes(COMMA_SPACE);
    if (ident) {
      defs.byte(34);
      defs.range(snips, c0, c1);
      defs.byte(34);
    } else defs.text(JSON.stringify(d.name));
    defs.bytes(TABLE_OPEN);
    const mark = defs.pos;
    const f = this.f;
    this.newScope();
    f.extra = "";
    // Empty between classes: fields() removes what it adds.
    const seen = this.seen;
    seen.add(d.id);
    this.fields(d.id, 0, f, 0, seen);
    seen.delete(d.id);
    // Each entry ends with a comma: the last one becomes the bracket.
    if (defs.pos > mark) defs.pos--;
    defs.bytes(TABLE_CLOSE);
    snips = this.snips;
    o.bytes(PLAIN_DOC);
    o.range(snips, t0, t1);
    o.bytes(PLAIN_TYPE);
    o.range(snips, t0, t1);
    o.bytes(PLAIN_OF);
    o.range(snips, t0, t1);
    o.byte(62);
    if (f.extra) o.text(` & {${f.extra} }`);
    o.bytes(PLAIN_END);
  }

  /** Writes the members of `id` at bit offset `base`, flattening anonymous ones. */
  private fields(
    id: number,
    base: number,
    f: Fields,
    depth: number,
    seen: Set<number>,
  ): void {
    const g = this.g;
    const F = this.F;
    const { mName, mType, mBitOff, mBitSize } = F;
    const o = this.o;
    const defs = this.defs;
    const s = g.strings;
    const first = F.first[id]!;
    const end = first + F.vlen[id]!;
    for (let m = first; m < end; m++) {
      const off = mName[m]!;
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
          } while (IDENT[c] !== 0);
          if (c === 0) len = j - off;
        }
      }
      let name = "";
      if (len < 0) {
        name = g.memberName(id, m - first);
        if (name === "") len = 0;
      }
      const bitOffset = base + mBitOff[m]!;
      if (len === 0) {
        const inner = this.resolve(mType[m]!);
        const k = inner < 0 ? -1 : F.kind[inner]!;
        if (
          (k === KIND.STRUCT || k === KIND.UNION) &&
          depth < MAX_FLATTEN &&
          !seen.has(inner)
        ) {
          seen.add(inner);
          this.fields(inner, bitOffset, f, depth + 1, seen);
          seen.delete(inner);
        }
        continue;
      }
      // First wins, as in the runtime views.
      let reserved = false;
      if (len > 0) {
        if (!this.take(off, len, h)) continue;
        if (SPECIAL[h & 1023]) {
          name = this.identAt(off, len);
          reserved = RESERVED_MEMBERS.has(name);
        }
      } else {
        if (f.strings.has(name)) continue;
        f.strings.add(name);
        reserved = RESERVED_MEMBERS.has(name);
      }
      const mt = this.memberType(mType[m]!);
      let bitSize = mBitSize[m]!;
      let bits = bitOffset;
      // Without kind_flag, BTF encodes a bitfield in the int type itself.
      if (
        mt.intBits >= 0 &&
        !bitSize &&
        (mt.intBits !== mt.intSize * 8 || mt.intOffset)
      ) {
        bitSize = mt.intBits;
        bits += mt.intOffset;
      }
      const byte = (bits - (bits % 8)) / 8;
      const bitfield = bitSize > 0 || bits % 8 !== 0;
      let w: WholeAccess | undefined;
      let a: Access;
      let width = 0;
      if (bitfield) {
        width = bitSize || (mt.r >= 0 ? this.sizeOfResolved(mt.r, 0) * 8 : 0);
        a = this.bitfield(mt.r, bits % 8, width);
      } else {
        w = mt.whole;
        if (w === undefined)
          w = mt.whole = this.whole(
            mt.r >= 0 ? this.accessOf(mt.r, 0) : rawAccess(0),
          );
        a = w.a;
      }
      const snips = this.snips;
      if (reserved) {
        f.extra += ` ${JSON.stringify(name)}: $PlainOf<${a.t}>;`;
      } else {
        o.range(snips, mt.pre, mt.preEnd);
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
        if (w) o.range(snips, w.tail, w.tailEnd);
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
      if (w) defs.range(snips, w.code, w.codeEnd);
      else {
        defs.ascii(a.code);
        defs.byte(44);
      }
    }
  }

  /** Stores the UTF-8 of `s` as a snippet; returns its start (its end is `snipEnd`). */
  private snip(s: string): number {
    const n = s.length;
    if (this.snipEnd + n * 3 > this.snips.length) {
      const next = new Uint8Array((this.snips.length + n * 3) * 2);
      next.set(this.snips.subarray(0, this.snipEnd));
      this.snips = next;
    }
    const buf = this.snips;
    const start = this.snipEnd;
    let p = start;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        const u = utf8(s);
        buf.set(u, start);
        p = start + u.length;
        break;
      }
      buf[p++] = c;
    }
    this.snipEnd = p;
    return start;
  }

  /** The snippets of a whole-member access, made once per access. */
  private whole(a: Access): WholeAccess {
    let w = this.wholes.get(a);
    if (w === undefined) {
      const tail = this.snip(`: ${a.t};\n`);
      const tailEnd = this.snipEnd;
      const code = this.snip(`${a.code},`);
      w = { a, tail, tailEnd, code, codeEnd: this.snipEnd };
      this.wholes.set(a, w);
    }
    return w;
  }

  /** Per member type id: spelling and resolution. */
  private memberType(id: number): MemberType {
    const F = this.F;
    const valid = id >= 0 && id <= F.count && F.kind[id]! >= 0;
    let mt = valid ? this.memberTypes.get(id) : this.invalidMt;
    if (mt === undefined) {
      const r = valid ? this.resolve(id) : -1;
      const isInt = r >= 0 && F.kind[r] === KIND.INT;
      const info = isInt ? F.intInfo[r]! : 0;
      const c = valid ? docText(this.spellingOrUnknown(id)) : "?";
      const pre = this.snip(`  /** \`${c}\` @`);
      mt = {
        pre,
        preEnd: this.snipEnd,
        r,
        intBits: isInt ? info & 0xff : -1,
        intOffset: (info >>> 8) & 0xff,
        intSize: isInt ? F.size[r]! : 0,
      };
      if (valid) this.memberTypes.set(id, mt);
      else this.invalidMt = mt;
    }
    return mt;
  }

  private bitfield(t: number, shift: number, bits: number): Access {
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

  private spellingOrUnknown(id: number): string {
    try {
      return this.spelling(id, 0);
    } catch {
      return "?";
    }
  }

  /** C spelling for doc comments, bounded against loops. */
  private spelling(id: number, depth: number): string {
    if (depth > MAX_SPELLING) return "...";
    const g = this.g;
    const k = g.kind(id);
    switch (k) {
      case -1:
        throw BAD_SPELLING;
      case KIND.UNKN:
        return "void";
      case KIND.PTR:
        return `${this.spelling(g.target(id), depth + 1)} *`;
      case KIND.ARRAY:
        return `${this.spelling(g.target(id), depth + 1)}[${g.length(id)}]`;
      case KIND.CONST:
      case KIND.VOLATILE:
      case KIND.RESTRICT:
        return `${KIND_NAMES[k]} ${this.spelling(g.target(id), depth + 1)}`;
      case KIND.TYPE_TAG:
        return this.spelling(g.target(id), depth + 1);
      case KIND.STRUCT:
      case KIND.UNION:
      case KIND.ENUM:
      case KIND.ENUM64:
        return `${k === KIND.ENUM64 ? "enum" : KIND_NAMES[k]} ${g.name(id) || "(anon)"}`;
      case KIND.FWD:
        return `${g.flag(id) ? "union" : "struct"} ${g.name(id)}`;
      case KIND.FUNC_PROTO:
        return "(function)";
      default:
        return g.name(id) || `(anon ${KIND_NAMES[k]})`;
    }
  }

  /** Access of a resolved type, memoized by id. */
  private accessOf(t: number, depth: number): Access {
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
        const d = this.decls.get(t);
        return d ? structAccess(d.tsName, g.size(t)) : rawAccess(g.size(t));
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
  private sizeOfResolved(t: number, depth: number): number {
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

  /** `export { Foo as FooT }` for typedefs of emitted types, where free. */
  private emitAliases(typedefs: number[], names: TypeNames): void {
    const g = this.g;
    const sorted: (Keyed & { target: number })[] = [];
    for (const id of typedefs) {
      const target = this.resolve(id);
      if (target >= 0 && this.decls.has(target))
        sorted.push(
          sortKeys({
            name: g.name(id),
            rank: 9,
            id,
            target,
            k1: 0,
            k2: 0,
            k3: 0,
          }),
        );
    }
    sortKeyed(sorted);
    let s = "";
    for (const td of sorted) {
      const d = this.decls.get(td.target)!;
      if (d.name === td.name) continue;
      const alias = names.tryClaim(pascalCase(td.name));
      if (!alias) continue;
      s +=
        `/** \`typedef ${docText(this.spellingOrUnknown(td.target))} ${docText(td.name)}\`. */\n` +
        `export { ${d.tsName} as ${alias} };\n`;
    }
    if (s) this.o.text(s + "\n");
  }
}

/** What {@link Generator.fields} collects for one class. */
interface Fields {
  /** Names taken in the class that are not plain identifiers. */
  readonly strings: Set<string>;
  /** Type members of fields with reserved names (plain types). */
  extra: string;
}

/**
 * The generator's namespace: what `NameAllocator` gives with suffixes
 * `["", "Object"]` for a class (which also takes `<Name>Object`) and `[""]`
 * for an enum or alias, without building `<Name>Object` strings: a
 * companion is taken exactly when its class is, or when a name taken as
 * such ends in `Object` (kept by stem). No reserved word or global ends in
 * `Object` except `Object` itself, so companions never need those checks.
 */
class TypeNames {
  /** Names taken as such (classes, enums, aliases). */
  private readonly taken = new Set<string>();
  /** Classes: each also has its `Object` companion. */
  private readonly classes = new Set<string>();
  /** `X` for each taken name `XObject`. */
  private readonly stems = new Set<string>();

  /** True when `n` is taken, as a name or as a class's companion. */
  private has(n: string): boolean {
    if (this.taken.has(n)) return true;
    return (
      n.length > 6 && n.endsWith("Object") && this.classes.has(n.slice(0, -6))
    );
  }

  private free(n: string, composite: boolean): boolean {
    if (this.has(n) || isUnavailable(n)) return false;
    return !composite || !(this.stems.has(n) || this.classes.has(n));
  }

  private add(n: string, composite: boolean): void {
    this.taken.add(n);
    if (composite) this.classes.add(n);
    if (n.length > 6 && n.endsWith("Object")) this.stems.add(n.slice(0, -6));
  }

  /** `base`, or `base_` for a reserved word or global, or the first free `base_<k>`. */
  claim(base: string, composite: boolean): string {
    let c = isUnavailable(base) ? base + "_" : base;
    for (let k = 2; !this.free(c, composite); k++) c = `${base}_${k}`;
    this.add(c, composite);
    return c;
  }

  /** `base` if it is free (and not reserved); else undefined. */
  tryClaim(base: string): string | undefined {
    if (!this.free(base, false)) return undefined;
    this.add(base, false);
    return base;
  }
}

function notFound(name: string, byName: Map<string, number>): BtfNotFoundError {
  const lower = name.toLowerCase();
  const suggestions = [...byName.keys()]
    .filter(
      (n) => n.toLowerCase().includes(lower) || lower.includes(n.toLowerCase()),
    )
    .sort()
    .slice(0, 5);
  return new BtfNotFoundError(
    name,
    `no struct, union, enum or typedef named '${name}' in the BTF` +
      (suggestions.length ? `; similar: ${suggestions.join(", ")}` : ""),
  );
}
