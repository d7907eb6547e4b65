/**
 * `tsbpf-gen types`: BTF → one self-contained TypeScript module with a class
 * per struct/union (the view shape of DESIGN.md, "Struct views and generated
 * classes: one shape"), a plain-object type per class, and a const object +
 * type per enum. A class declares its typed fields (each with its C type,
 * offset and size in JSDoc) and has one field table, from which the
 * prelude's `$def` installs the accessors at load; `XObject` is the mapped
 * type `$Plain<X>`. Output is deterministic: declarations sorted by (C name,
 * kind, id), names settled by a deterministic allocator, no timestamps.
 * Hostile names cannot inject code: bindings are sanitized, property keys
 * and table names are identifiers or JSON string literals, doc text is
 * escaped.
 */
import { BtfNotFoundError } from "../src/errors.ts";
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
  compareRanked,
  deriveGraphNames,
  isDeclarableKind,
  kindRank,
  type Named,
} from "./naming.ts";
import {
  docText,
  isPropertyIdentifier,
  literalKey,
  NameAllocator,
  pascalCase,
  propertyKey,
  RESERVED_MEMBERS,
} from "./names.ts";
import { ByteOut, type ByteSink, utf8 } from "./output.ts";
import { prelude } from "./prelude.ts";
import {
  type IndexedTypes,
  KIND,
  type TypeGraph,
  typeGraph,
} from "./type_graph.ts";

export type { IndexedTypes } from "./type_graph.ts";

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
}

/**
 * The module for the structs, unions and enums of `types` (a `Btf`, read
 * from its raw type section, or model objects).
 */
export function generateTypes(
  types: Iterable<BtfType> | IndexedTypes,
  options: GenerateOptions = {},
): string {
  const parts: string[] = [];
  writeTypes(types, options, (chunk) => parts.push(chunk));
  return parts.join("");
}

/** Same text as {@link generateTypes}, handed to `write` in chunks as it is produced. */
export function writeTypes(
  types: Iterable<BtfType> | IndexedTypes,
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
  types: Iterable<BtfType> | IndexedTypes,
  options: GenerateOptions,
  sink: ByteSink,
): void {
  new Generator(typeGraph(types), options, sink).run();
}

/** Bytes buffered before a chunk is handed on. */
export const CHUNK = 1 << 20;

/** A declaration to emit. */
interface Decl extends Named {
  /** `KIND` number. */
  readonly kind: number;
  /** TypeScript name (class, or enum object + type). */
  tsName: string;
}

/** What the fields of one member type need, computed once per type id. */
interface MemberType {
  /** Doc-safe C spelling. */
  readonly c: string;
  /** Resolved id (through typedefs and qualifiers), -1 when it does not resolve. */
  readonly r: number;
  /** Int bits and bit offset of a resolved int (kind_flag = 0 bitfields), else -1. */
  readonly intBits: number;
  readonly intOffset: number;
  readonly intSize: number;
  /** UTF-8 of `c`. */
  readonly cb: Uint8Array;
  /** Access of a whole (non-bitfield) member, with its type and spec as UTF-8; made on first use. */
  whole?: WholeAccess;
}

/** An access with its TypeScript type and table spec as UTF-8. */
interface WholeAccess {
  readonly a: Access;
  readonly tb: Uint8Array;
  readonly cb: Uint8Array;
}

/** Longest typedef/qualifier chain followed (hostile BTF may loop). */
const MAX_HOPS = 64;
/** Most array dimensions mapped to views (hostile BTF may loop). */
const MAX_DIMS = 16;
/** Deepest anonymous-member flattening (hostile BTF may nest itself). */
const MAX_FLATTEN = 16;
/** Deepest C spelling written in docs. */
const MAX_SPELLING = 8;

const KIND_WORDS = [
  "void",
  "int",
  "ptr",
  "array",
  "struct",
  "union",
  "enum",
  "fwd",
  "typedef",
  "volatile",
  "const",
  "restrict",
  "func",
  "func_proto",
  "var",
  "datasec",
  "float",
  "decl_tag",
  "type_tag",
  "enum64",
];

/** Thrown inside {@link Generator.spelling} on an invalid reference. */
const BAD_SPELLING = new Error("invalid reference");

/** One run of the generator over one BTF. */
class Generator {
  private cNames = new Map<number, string>();
  private readonly decls = new Map<number, Decl>();
  private readonly access = new Map<number, Access>();
  private readonly memberTypes = new Map<number, MemberType>();
  /** The module, streamed to the sink. */
  private readonly o: ByteOut;
  /** The `$def` field tables, emitted after every class is declared. */
  private readonly defs = new ByteOut(1 << 18);
  /** Per-class scratch of {@link fields}, reused. */
  private readonly f: Fields = { names: new Set(), extra: "", count: 0 };
  private readonly seen = new Set<number>();

  constructor(
    private readonly g: TypeGraph,
    private readonly options: GenerateOptions,
    sink: ByteSink,
  ) {
    this.o = new ByteOut(CHUNK, sink);
  }

  run(): void {
    this.cNames = deriveGraphNames(this.g);
    const { selected, aliases } = this.select();
    selected.sort(compareRanked);
    const names = new NameAllocator();
    for (const d of selected) {
      const composite = d.kind === KIND.STRUCT || d.kind === KIND.UNION;
      d.tsName = names.claim(
        pascalCase(d.name),
        composite ? COMPOSITE_SUFFIXES : ENUM_SUFFIXES,
      );
      this.decls.set(d.id, d);
    }
    const src = this.options.source;
    const o = this.o;
    o.text(
      `// Generated by tsbpf-gen types${src ? ` from ${docText(src)}` : ""}. Do not edit.\n` +
        "// Struct classes are zero-copy views over bytes; see tsbpf's docs/DESIGN.md.\n" +
        "/* eslint-disable */\n\n" +
        prelude(this.options.littleEndian !== false) +
        "\n",
    );
    for (const d of selected) {
      if (d.kind === KIND.STRUCT || d.kind === KIND.UNION) this.emitClass(d);
      else this.emitEnum(d);
    }
    this.emitAliases(aliases, names);
    if (this.defs.pos > 0) {
      o.ascii(
        "// Field tables: (name, byte offset, spec) triples; see $def.\n",
      );
      o.bytes(this.defs.buf.subarray(0, this.defs.pos));
    }
    o.flush();
  }

  private decl(id: number): Decl {
    const kind = this.g.kind(id);
    return {
      id,
      kind,
      name: this.cNames.get(id)!,
      rank: kindRank(kind),
      tsName: "",
    };
  }

  /**
   * What to emit: everything; for a module's split BTF, its own types and
   * the base types they use by value; or the closure of `options.only`.
   */
  private select(): { selected: Decl[]; aliases: number[] } {
    const g = this.g;
    const only = this.options.only;
    const wanted = g.wanted();
    const typedefs: number[] = [];
    const declarable: number[] = [];
    for (const id of wanted) {
      const k = g.kind(id);
      if (isDeclarableKind(k)) declarable.push(id);
      else if (k === KIND.TYPEDEF && g.name(id) !== "") typedefs.push(id);
    }
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
      const n = this.cNames.get(id)!;
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
    const g = this.g;
    for (let i = 0; i < MAX_HOPS; i++) {
      const k = g.kind(id);
      switch (k) {
        case KIND.TYPEDEF:
        case KIND.CONST:
        case KIND.VOLATILE:
        case KIND.RESTRICT:
        case KIND.TYPE_TAG:
          id = g.target(id);
          break;
        default:
          return k < 0 ? -1 : id;
      }
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
    const keys = new Set<string>();
    for (let i = 0, n = g.vlen(id); i < n; i++) {
      const name = g.enumName(id, i);
      // First wins, as in C a name can only be declared once.
      if (keys.has(name)) continue;
      keys.add(name);
      o.ascii("  ");
      o.text(literalKey(name));
      o.ascii(": ");
      o.ascii(g.enumValue(id, i));
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
    const cls = d.tsName;
    const size = g.size(d.id);
    const ident = isPropertyIdentifier(d.name);
    const cDoc = `\`${d.kind === KIND.UNION ? "union" : "struct"} ${ident ? d.name : docText(d.name)}\``;
    o.ascii("/** ");
    o.text(cDoc);
    o.ascii(", ");
    o.int(size);
    o.ascii(" bytes. */\nexport class ");
    o.ascii(cls);
    o.ascii(" extends $Struct {\n  static readonly size = ");
    o.int(size);
    o.ascii(";\n  static readonly typeName = ");
    if (ident) {
      o.byte(34);
      o.ascii(d.name);
      o.byte(34);
    } else o.text(JSON.stringify(d.name));
    o.ascii(";\n");
    const mark = defs.pos;
    defs.ascii("$def(");
    defs.ascii(cls);
    defs.ascii(", [");
    const f = this.f;
    f.names.clear();
    f.extra = "";
    f.count = 0;
    const seen = this.seen;
    seen.clear();
    seen.add(d.id);
    this.fields(d.id, 0, f, 0, seen);
    if (f.count) defs.ascii("]);\n");
    else defs.pos = mark;
    o.ascii("}\n/** ");
    o.text(cDoc);
    o.ascii(
      ` as a plain object: what {@link ${cls}.toObject} returns. */\nexport type ${cls}Object = $Plain<${cls}>`,
    );
    if (f.extra) o.text(` & {${f.extra} }`);
    o.ascii(";\n\n");
  }

  /** Collects the members of `id` at bit offset `base`, flattening anonymous ones. */
  private fields(
    id: number,
    base: number,
    f: Fields,
    depth: number,
    seen: Set<number>,
  ): void {
    const g = this.g;
    for (let i = 0, n = g.vlen(id); i < n; i++) {
      const name = g.memberName(id, i);
      const bitOffset = base + g.memberBitOffset(id, i);
      if (name === "") {
        const inner = this.resolve(g.memberType(id, i));
        const k = inner < 0 ? -1 : g.kind(inner);
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
      if (f.names.has(name)) continue;
      f.names.add(name);
      const ident = isPropertyIdentifier(name);
      const quoted = ident ? "" : JSON.stringify(name);
      const mt = this.memberType(g.memberType(id, i));
      let bitSize = g.memberBitSize(id, i);
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
      let a: Access;
      let tb: Uint8Array | undefined;
      let cb: Uint8Array | undefined;
      let width = 0;
      const bitfield = bitSize > 0 || bits % 8 !== 0;
      if (bitfield) {
        width = bitSize || (mt.r >= 0 ? this.sizeOfResolved(mt.r, 0) * 8 : 0);
        a = this.bitfield(mt.r, bits % 8, width);
      } else {
        let w = mt.whole;
        if (w === undefined) {
          const x = mt.r >= 0 ? this.accessOf(mt.r, 0) : rawAccess(0);
          w = mt.whole = { a: x, tb: utf8(x.t), cb: utf8(x.code) };
        }
        a = w.a;
        tb = w.tb;
        cb = w.cb;
      }
      const o = this.o;
      const reserved = RESERVED_MEMBERS.has(name);
      if (reserved) f.extra += ` ${JSON.stringify(name)}: $PlainOf<${a.t}>;`;
      else {
        o.ascii("  /** `");
        o.bytes(mt.cb);
        o.ascii("`, offset ");
        o.int(byte);
        if (bitfield) {
          o.ascii(", bit offset ");
          o.int(bits);
          o.ascii(", ");
          o.int(width);
          o.ascii(" bits */\n  declare ");
        } else {
          o.ascii(", size ");
          o.int(a.size);
          o.ascii(" */\n  declare ");
        }
        if (ident) o.ascii(name);
        else o.text(quoted);
        o.ascii(": ");
        if (tb) o.bytes(tb);
        else o.ascii(a.t);
        o.ascii(";\n");
      }
      const defs = this.defs;
      if (f.count++) defs.byte(44);
      if (ident) {
        defs.byte(34);
        defs.ascii(name);
        defs.byte(34);
      } else defs.text(quoted);
      defs.byte(44);
      defs.int(byte);
      defs.byte(44);
      if (cb) defs.bytes(cb);
      else defs.ascii(a.code);
    }
  }

  /** Per member type id: spelling and resolution. */
  private memberType(id: number): MemberType {
    let mt = this.memberTypes.get(id);
    if (mt === undefined) {
      const g = this.g;
      const valid = g.kind(id) >= 0;
      const r = valid ? this.resolve(id) : -1;
      const isInt = r >= 0 && g.kind(r) === KIND.INT;
      const info = isInt ? g.intInfo(r) : 0;
      const c = valid ? docText(this.spellingOrUnknown(id)) : "?";
      mt = {
        c,
        cb: utf8(c),
        r,
        intBits: isInt ? info & 0xff : -1,
        intOffset: (info >>> 8) & 0xff,
        intSize: isInt ? g.size(r) : 0,
      };
      this.memberTypes.set(id, mt);
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
        return `${KIND_WORDS[k]} ${this.spelling(g.target(id), depth + 1)}`;
      case KIND.TYPE_TAG:
        return this.spelling(g.target(id), depth + 1);
      case KIND.STRUCT:
      case KIND.UNION:
      case KIND.ENUM:
      case KIND.ENUM64:
        return `${k === KIND.ENUM64 ? "enum" : KIND_WORDS[k]} ${g.name(id) || "(anon)"}`;
      case KIND.FWD:
        return `${g.flag(id) ? "union" : "struct"} ${g.name(id)}`;
      case KIND.FUNC_PROTO:
        return "(function)";
      default:
        return g.name(id) || `(anon ${KIND_WORDS[k]})`;
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
  private emitAliases(typedefs: number[], names: NameAllocator): void {
    const g = this.g;
    const sorted: (Named & { target: number })[] = [];
    for (const id of typedefs) {
      const target = this.resolve(id);
      if (target >= 0 && this.decls.has(target))
        sorted.push({ name: g.name(id), rank: 9, id, target });
    }
    sorted.sort(compareRanked);
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
  readonly names: Set<string>;
  /** Type members of fields with reserved names (plain types). */
  extra: string;
  /** Fields written to the table so far. */
  count: number;
}

const COMPOSITE_SUFFIXES = ["", "Object"];
const ENUM_SUFFIXES = [""];

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
