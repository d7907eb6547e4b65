/**
 * `tsbpf-gen types`: BTF → one self-contained TypeScript module with a class
 * per struct/union (the view shape of DESIGN.md, "Struct views and generated
 * classes: one shape"), a plain-object interface per class, and a const
 * object + type per enum. Output is deterministic: declarations sorted by
 * (C name, kind, id), names settled by a deterministic allocator, no
 * timestamps. Hostile names cannot inject code: bindings are sanitized,
 * property keys are identifiers or JSON string literals, doc text is
 * escaped.
 */
import { BtfNotFoundError } from "../src/errors.ts";
import type { BtfType, Kind, Member, Struct, Union } from "../src/btf/types.ts";
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
  compareNamed,
  type Declarable,
  deriveNames,
  isDeclarable,
  safe,
} from "./naming.ts";
import {
  docText,
  literalKey,
  memberKey,
  NameAllocator,
  pascalCase,
  propertyAccess,
  propertyKey,
} from "./names.ts";
import { prelude } from "./prelude.ts";

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

/** A declaration to emit. */
interface Decl {
  readonly type: Declarable;
  /** C name, own or derived. */
  readonly cName: string;
  /** TypeScript name (class, or enum object + type). */
  tsName: string;
}

/** Longest typedef/qualifier chain followed (hostile BTF may loop). */
const MAX_HOPS = 64;
/** Most array dimensions mapped to views (hostile BTF may loop). */
const MAX_DIMS = 16;
/** Deepest anonymous-member flattening (hostile BTF may nest itself). */
const MAX_FLATTEN = 16;

/** Follows typedefs and qualifiers; undefined if the chain loops. */
function resolve(t: BtfType): BtfType | undefined {
  for (let i = 0; i < MAX_HOPS; i++) {
    switch (t.kind) {
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
        t = t.target;
        break;
      default:
        return t;
    }
  }
  return undefined;
}

/** C spelling for doc comments, bounded against loops. */
function spelling(t: BtfType, depth = 0): string {
  if (depth > 8) return "...";
  switch (t.kind) {
    case "void":
      return "void";
    case "ptr":
      return `${spelling(t.target, depth + 1)} *`;
    case "array":
      return `${spelling(t.element, depth + 1)}[${t.length}]`;
    case "const":
    case "volatile":
    case "restrict":
      return `${t.kind} ${spelling(t.target, depth + 1)}`;
    case "type_tag":
      return spelling(t.target, depth + 1);
    case "struct":
    case "union":
    case "enum":
    case "enum64":
      return `${t.kind === "enum64" ? "enum" : t.kind} ${t.name || "(anon)"}`;
    case "fwd":
      return `${t.fwdKind} ${t.name}`;
    case "func_proto":
      return "(function)";
    default:
      return t.name || `(anon ${t.kind})`;
  }
}

/**
 * A BTF that can tell a type's kind without decoding it (`Btf` does):
 * the generator then decodes only what it needs.
 */
export interface IndexedTypes {
  readonly count: number;
  kindOf(id: number): Kind;
  typeById(id: number): BtfType;
}

/** The kinds the generator looks at; the rest are reached through them. */
const WANTED: ReadonlySet<Kind> = new Set<Kind>([
  "struct",
  "union",
  "enum",
  "enum64",
  "typedef",
  "var",
]);

function wantedTypes(src: Iterable<BtfType> | IndexedTypes): BtfType[] {
  const out: BtfType[] = [];
  if ("kindOf" in src && typeof src.kindOf === "function") {
    for (let id = 1; id <= src.count; id++) {
      if (WANTED.has(src.kindOf(id))) out.push(src.typeById(id));
    }
  } else {
    for (const t of src as Iterable<BtfType>)
      if (WANTED.has(t.kind)) out.push(t);
  }
  return out;
}

/** The module for the structs, unions and enums of `types`. */
export function generateTypes(
  types: Iterable<BtfType> | IndexedTypes,
  options: GenerateOptions = {},
): string {
  return new Generator(wantedTypes(types), options).run();
}

/** One run of the generator over one BTF. */
class Generator {
  private readonly cNames: Map<number, string>;
  private readonly decls = new Map<number, Decl>();
  private readonly access = new Map<number, Access>();
  private readonly le: string;
  private readonly out: string[] = [];

  constructor(
    private readonly types: BtfType[],
    private readonly options: GenerateOptions,
  ) {
    this.cNames = deriveNames(types);
    this.le = options.littleEndian === false ? ", false" : ", true";
  }

  run(): string {
    const { selected, aliases } = this.select();
    selected.sort((a, b) => compareNamed(a.cName, a.type, b.cName, b.type));
    const names = new NameAllocator();
    for (const d of selected) {
      const composite = d.type.kind === "struct" || d.type.kind === "union";
      d.tsName = names.claim(
        pascalCase(d.cName),
        composite ? ["", "Object"] : [""],
      );
      this.decls.set(d.type.id, d);
    }
    const src = this.options.source;
    this.out.push(
      `// Generated by tsbpf-gen types${src ? ` from ${docText(src)}` : ""}. Do not edit.`,
      "// Struct classes are zero-copy views over bytes; see tsbpf's docs/DESIGN.md.",
      "/* eslint-disable */",
      "",
      prelude(this.options.littleEndian !== false),
    );
    for (const d of selected) {
      const t = d.type;
      if (t.kind === "struct" || t.kind === "union") this.emitClass(d, t);
      else this.emitEnum(d);
    }
    this.emitAliases(aliases, names);
    return this.out.join("\n");
  }

  /** What to emit: everything, or the closure of `options.only`. */
  private select(): { selected: Decl[]; aliases: BtfType[] } {
    const only = this.options.only;
    const typedefs = this.types.filter(
      (t) => t.kind === "typedef" && t.name !== "",
    );
    if (!only) {
      const selected: Decl[] = [];
      for (const t of this.types) {
        if (isDeclarable(t)) selected.push(this.decl(t));
      }
      return { selected, aliases: typedefs };
    }
    const byName = new Map<string, BtfType>();
    for (const t of this.types) {
      if (isDeclarable(t)) {
        const n = this.cNames.get(t.id)!;
        if (!byName.has(n)) byName.set(n, t);
      }
    }
    const aliases: BtfType[] = [];
    const roots: Declarable[] = [];
    for (const name of only) {
      let t = byName.get(name);
      if (!t) {
        const td = typedefs.find((x) => x.name === name);
        const target = td && safe(() => resolve(td));
        if (target && isDeclarable(target)) {
          t = target;
          aliases.push(td!);
        }
      }
      if (!t || !isDeclarable(t)) throw notFound(name, byName);
      roots.push(t);
    }
    const seen = new Set<number>();
    const selected: Decl[] = [];
    const queue = roots;
    for (let i = 0; i < queue.length; i++) {
      const t = queue[i]!;
      if (seen.has(t.id)) continue;
      seen.add(t.id);
      selected.push(this.decl(t));
      if (t.kind !== "struct" && t.kind !== "union") continue;
      for (const m of t.members) {
        const used = safe(() => valueUse(m.type));
        if (used && !seen.has(used.id)) queue.push(used);
      }
    }
    return { selected, aliases };
  }

  private decl(t: Declarable): Decl {
    return { type: t, cName: this.cNames.get(t.id)!, tsName: "" };
  }

  private emitEnum(d: Decl): void {
    const t = d.type as Extract<Declarable, { kind: "enum" | "enum64" }>;
    const wide = t.kind === "enum64" || t.size === 8;
    const keys = new Set<string>();
    const lines: string[] = [
      `/** \`enum ${docText(d.cName)}\` (${t.size} bytes). */`,
      `export const ${d.tsName} = {`,
    ];
    for (const v of t.values) {
      // First wins, as in C a name can only be declared once.
      if (keys.has(v.name)) continue;
      keys.add(v.name);
      const value = wide ? `${v.value}n` : String(Number(v.value));
      lines.push(`  ${literalKey(v.name)}: ${value},`);
    }
    lines.push(
      "} as const;",
      `/** A value of \`enum ${docText(d.cName)}\`. */`,
      `export type ${d.tsName} = (typeof ${d.tsName})[keyof typeof ${d.tsName}];`,
      "",
    );
    this.out.push(lines.join("\n"));
  }

  private emitClass(d: Decl, t: Struct | Union): void {
    const cls = d.tsName;
    const cDoc = `\`${t.kind} ${docText(d.cName)}\``;
    const body: string[] = [];
    const iface: string[] = [];
    const obj: string[] = [];
    const members = new Set<string>();
    this.fields(t, 0, members, body, iface, obj, 0, new Set([t.id]));
    this.out.push(
      `/** ${cDoc} as a plain object: what {@link ${cls}.toObject} returns. */`,
      `export interface ${cls}Object {`,
      ...iface,
      "}",
      "",
      `/** ${cDoc}, ${t.size} bytes. */`,
      `export class ${cls} extends $Struct {`,
      `  static readonly size = ${t.size};`,
      `  static readonly typeName = ${JSON.stringify(d.cName)};`,
      ...body,
      `  /** A detached plain copy. */`,
      `  toObject(): ${cls}Object {`,
      obj.length ? `    return {\n${obj.join("\n")}\n    };` : "    return {};",
      "  }",
      "}",
      "",
    );
  }

  /** Emits the members of `t` at bit offset `base`, flattening anonymous ones. */
  private fields(
    t: Struct | Union,
    base: number,
    names: Set<string>,
    body: string[],
    iface: string[],
    obj: string[],
    depth: number,
    seen: Set<number>,
  ): void {
    for (const m of t.members) {
      const bitOffset = base + m.bitOffset;
      if (m.name === "") {
        const inner = safe(() => resolve(m.type));
        if (
          inner &&
          (inner.kind === "struct" || inner.kind === "union") &&
          depth < MAX_FLATTEN &&
          !seen.has(inner.id)
        ) {
          seen.add(inner.id);
          this.fields(
            inner,
            bitOffset,
            names,
            body,
            iface,
            obj,
            depth + 1,
            seen,
          );
          seen.delete(inner.id);
        }
        continue;
      }
      // First wins, as in the runtime views.
      if (names.has(m.name)) continue;
      names.add(m.name);
      const key = memberKey(m.name);
      const prop = propertyKey(key);
      const { a, doc, byte: o } = this.member(m, bitOffset);
      const off = o === 0 ? "this.$offset" : `this.$offset + ${o}`;
      body.push(
        `  /** ${doc} */`,
        `  get ${prop}(): ${a.t} { return ${a.get(off)}; }`,
        `  set ${prop}(v: ${a.i}) { ${a.set(off, "v")} }`,
      );
      iface.push(`  ${propertyKey(m.name)}: ${a.p};`);
      obj.push(
        `      ${literalKey(m.name)}: ${a.plain(`this${propertyAccess(key)}`)},`,
      );
    }
  }

  /** Access and doc text of one member at an absolute bit offset. */
  private member(
    m: Member,
    bitOffset: number,
  ): { a: Access; doc: string; byte: number } {
    const type = safe(() => m.type);
    const c = type ? this.docSpelling(type) : "?";
    const resolved = type && safe(() => resolve(type));
    let bitSize = m.bitSize;
    // Without kind_flag, BTF encodes a bitfield in the int type itself.
    if (
      resolved?.kind === "int" &&
      !bitSize &&
      (resolved.bits !== resolved.size * 8 || resolved.bitOffset)
    ) {
      bitSize = resolved.bits;
      bitOffset += resolved.bitOffset;
    }
    const byte = (bitOffset - (bitOffset % 8)) / 8;
    if (bitSize > 0 || bitOffset % 8 !== 0) {
      const bits =
        bitSize ||
        (resolved ? (safe(() => sizeOfResolved(resolved)) ?? 0) * 8 : 0);
      const doc = `\`${c}\`, offset ${byte}, bit offset ${bitOffset}, ${bits} bits`;
      return { a: this.bitfield(resolved, bitOffset % 8, bits), doc, byte };
    }
    const a = resolved ? this.accessOf(resolved) : rawAccess(0);
    return { a, doc: `\`${c}\`, offset ${byte}, size ${a.size}`, byte };
  }

  private bitfield(
    t: BtfType | undefined,
    shift: number,
    bits: number,
  ): Access {
    if (t && bits > 0 && bits <= 64) {
      if (t.kind === "int" && t.encoding.bool) {
        return bitfieldAccess(shift, bits, false, false, true);
      }
      if (t.kind === "int" || t.kind === "enum" || t.kind === "enum64") {
        const wide = t.size > 4 || bits > 32;
        return bitfieldAccess(shift, bits, t.signed, wide, false);
      }
    }
    return rawAccess((shift + bits + 7) >> 3);
  }

  private readonly spellings = new Map<number, string>();

  /** Doc-safe C spelling of `t`, memoized by id. */
  private docSpelling(t: BtfType): string {
    let s = this.spellings.get(t.id);
    if (s === undefined) {
      s = docText(safe(() => spelling(t)) ?? "?");
      this.spellings.set(t.id, s);
    }
    return s;
  }

  /** Access of a resolved type, memoized by id. */
  private accessOf(t: BtfType, depth = 0): Access {
    let a = this.access.get(t.id);
    if (a === undefined) {
      a = this.computeAccess(t, depth);
      this.access.set(t.id, a);
    }
    return a;
  }

  private computeAccess(t: BtfType, depth: number): Access {
    switch (t.kind) {
      case "int":
        if (t.encoding.bool && t.size === 1) return BOOL_ACCESS;
        return intAccess(t.size, t.encoding.signed, this.le);
      case "enum":
      case "enum64":
        return intAccess(t.size, t.signed, this.le);
      case "ptr":
        return intAccess(8, false, this.le);
      case "float":
        return floatAccess(t.size, this.le);
      case "struct":
      case "union": {
        const d = this.decls.get(t.id);
        return d ? structAccess(d.tsName, t.size) : rawAccess(t.size);
      }
      case "array": {
        const el =
          depth < MAX_DIMS ? safe(() => resolve(t.element)) : undefined;
        if (!el) return rawAccess(0);
        if (
          el.kind === "int" &&
          el.size === 1 &&
          (el.encoding.char || el.name === "char")
        ) {
          return stringAccess(t.length);
        }
        return arrayAccess(t.length, this.accessOf(el, depth + 1));
      }
      default:
        return rawAccess(safe(() => sizeOfResolved(t)) ?? 0);
    }
  }

  /** `export { Foo as FooT }` for typedefs of emitted types, where free. */
  private emitAliases(typedefs: BtfType[], names: NameAllocator): void {
    const sorted = typedefs
      .map((td) => ({ td, target: safe(() => resolve(td)) }))
      .filter((x) => x.target && this.decls.has(x.target.id))
      .sort((a, b) => compareNamed(a.td.name, a.td, b.td.name, b.td));
    const lines: string[] = [];
    for (const { td, target } of sorted) {
      const d = this.decls.get(target!.id)!;
      if (d.cName === td.name) continue;
      const alias = names.tryClaim(pascalCase(td.name));
      if (!alias) continue;
      lines.push(
        `/** \`typedef ${docText(spelling(target!))} ${docText(td.name)}\`. */`,
        `export { ${d.tsName} as ${alias} };`,
      );
    }
    if (lines.length) this.out.push(lines.join("\n"), "");
  }
}

/** Size of an already-resolved type. */
function sizeOfResolved(t: BtfType, depth = 0): number {
  if (depth > MAX_DIMS) return 0;
  switch (t.kind) {
    case "int":
    case "float":
    case "ptr":
    case "struct":
    case "union":
    case "enum":
    case "enum64":
      return t.size;
    case "array": {
      const e = resolve(t.element);
      return e ? t.length * sizeOfResolved(e, depth + 1) : 0;
    }
    default:
      return 0;
  }
}

/** The struct/union/enum a member holds by value (through typedefs, arrays). */
function valueUse(t: BtfType): Declarable | undefined {
  for (let i = 0; i < MAX_HOPS; i++) {
    const r = resolve(t);
    if (!r) return undefined;
    if (r.kind === "array") t = r.element;
    else return isDeclarable(r) ? r : undefined;
  }
  return undefined;
}

function notFound(
  name: string,
  byName: Map<string, BtfType>,
): BtfNotFoundError {
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
