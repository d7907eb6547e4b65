/**
 * The BTF type model: one class per BTF kind, in the spirit of cilium/ebpf's
 * `btf.Type`. Objects are created lazily by the parser; references to other
 * types are ids resolved on first access through a {@link TypeResolver}, so
 * decoding one struct never decodes the whole graph.
 *
 * This file knows nothing of the wire format (see `wire.ts`/`parse.ts`) and
 * nothing of views or codegen, which build on it.
 */
import { BtfError } from "../errors.ts";
import { cSpelling } from "./spelling.ts";

/** Kind names, as bpftool prints them (lower case). */
export type Kind =
  | "void"
  | "int"
  | "ptr"
  | "array"
  | "struct"
  | "union"
  | "enum"
  | "fwd"
  | "typedef"
  | "volatile"
  | "const"
  | "restrict"
  | "func"
  | "func_proto"
  | "var"
  | "datasec"
  | "float"
  | "decl_tag"
  | "type_tag"
  | "enum64";

/** Resolves a type id to its (lazily decoded) type. Implemented by `Btf`. */
export interface TypeResolver {
  /** The type with this id; id 0 is `void`. Throws `BtfError` when out of range. */
  typeById(id: number): BtfType;
}

/** Every BTF type. Narrow on `kind`. */
export type BtfType =
  | Void
  | Int
  | Pointer
  | ArrayType
  | Struct
  | Union
  | Enum
  | Fwd
  | Typedef
  | Volatile
  | Const
  | Restrict
  | Func
  | FuncProto
  | Var
  | Datasec
  | Float
  | DeclTag
  | TypeTag;

/** A type with a C spelling (`toString()`) and an id in its BTF. */
abstract class TypeBase {
  abstract readonly kind: Kind;
  constructor(
    /** Type id within its BTF (0 is void). */
    readonly id: number,
    /** Name; empty for anonymous types. */
    readonly name: string,
  ) {}

  /**
   * C spelling in declarator order, e.g. `struct exec_event`, `__u64`,
   * `char[16]`, `__u32[3][4]`, `const char *const`, `int (*)(void *)`.
   */
  toString(): string {
    return cSpelling(this as unknown as BtfType);
  }
}

/** `void`: type id 0. */
export class Void extends TypeBase {
  readonly kind = "void" as const;
  /** Always 0. */
  readonly size = 0;
}

/** Encoding of an integer (BTF_INT_SIGNED/CHAR/BOOL). */
export interface IntEncoding {
  readonly signed: boolean;
  readonly char: boolean;
  readonly bool: boolean;
}

/** An integer, `char` or `_Bool`. */
export class Int extends TypeBase {
  readonly kind = "int" as const;
  constructor(
    id: number,
    name: string,
    /** Storage size in bytes. */
    readonly size: number,
    /** Signed, char, bool. */
    readonly encoding: IntEncoding,
    /** Number of value bits (BTF_INT_BITS). */
    readonly bits: number,
    /** Bit offset within storage (BTF_INT_OFFSET); 0 in practice. */
    readonly bitOffset: number,
  ) {
    super(id, name);
  }
  /** True for signed integers. */
  get signed(): boolean {
    return this.encoding.signed;
  }
}

/** A floating point number (`float`, `double`). */
export class Float extends TypeBase {
  readonly kind = "float" as const;
  constructor(
    id: number,
    name: string,
    /** Size in bytes: 4, 8, 12 or 16. */
    readonly size: number,
  ) {
    super(id, name);
  }
}

/** Base of the kinds that only refer to another type. */
abstract class RefBase extends TypeBase {
  constructor(
    id: number,
    name: string,
    protected readonly resolver: TypeResolver,
    /** Id of the referenced type. */
    readonly targetId: number,
  ) {
    super(id, name);
  }
  /** The referenced type. */
  get target(): BtfType {
    return this.resolver.typeById(this.targetId);
  }
}

/** A pointer. Its size is the target machine's pointer size (8). */
export class Pointer extends RefBase {
  readonly kind = "ptr" as const;
  /** Pointer size in bytes (BPF is 64-bit). */
  readonly size = 8;
}

/** `typedef target name`. */
export class Typedef extends RefBase {
  readonly kind = "typedef" as const;
  /** Size in bytes of the underlying type. */
  get size(): number {
    return sizeOf(this);
  }
}

/** `volatile target`. */
export class Volatile extends RefBase {
  readonly kind = "volatile" as const;
  /** Size in bytes of the underlying type. */
  get size(): number {
    return sizeOf(this);
  }
}

/** `const target`. */
export class Const extends RefBase {
  readonly kind = "const" as const;
  /** Size in bytes of the underlying type. */
  get size(): number {
    return sizeOf(this);
  }
}

/** `restrict target`. */
export class Restrict extends RefBase {
  readonly kind = "restrict" as const;
  /** Size in bytes of the underlying type. */
  get size(): number {
    return sizeOf(this);
  }
}

/**
 * `__attribute__((btf_type_tag(name))) target`; with `attribute`, the
 * C attribute `__attribute__((name)) target` itself.
 */
export class TypeTag extends RefBase {
  readonly kind = "type_tag" as const;
  constructor(
    id: number,
    name: string,
    resolver: TypeResolver,
    targetId: number,
    /**
     * kind_flag (Linux 6.14+): `name` is an attribute to write as
     * `__attribute__((name))`, not a btf_type_tag string.
     */
    readonly attribute = false,
  ) {
    super(id, name, resolver, targetId);
  }
  /** Size in bytes of the underlying type. */
  get size(): number {
    return sizeOf(this);
  }
}

/** A fixed-length array. */
export class ArrayType extends TypeBase {
  readonly kind = "array" as const;
  constructor(
    id: number,
    private readonly resolver: TypeResolver,
    /** Id of the element type. */
    readonly elementId: number,
    /** Id of the index type (an int). */
    readonly indexId: number,
    /** Number of elements. */
    readonly length: number,
  ) {
    super(id, "");
  }
  /** The element type. */
  get element(): BtfType {
    return this.resolver.typeById(this.elementId);
  }
  /** The index type. */
  get index(): BtfType {
    return this.resolver.typeById(this.indexId);
  }
  /** Size in bytes: length × element size. */
  get size(): number {
    return this.length * sizeOf(this.element);
  }
}

/** A struct or union member as BTF stores it. */
export class Member {
  constructor(
    private readonly resolver: TypeResolver,
    /** Member name; empty for an anonymous struct/union member. */
    readonly name: string,
    /** Id of the member's type. */
    readonly typeId: number,
    /** Offset from the start of the struct, in bits. */
    readonly bitOffset: number,
    /** Bitfield width in bits; 0 when not a bitfield. */
    readonly bitSize: number,
  ) {}
  /** The member's type. */
  get type(): BtfType {
    return this.resolver.typeById(this.typeId);
  }
}

/** Introspection record of one struct/union field (`btf.type(n).fields`). */
export interface Field {
  /** Field name; empty for anonymous struct/union members. */
  readonly name: string;
  /** Offset in bytes from the start of the struct (bitOffset >> 3). */
  readonly offset: number;
  /** Size of the field's type in bytes. */
  readonly size: number;
  /** Offset in bits from the start of the struct. */
  readonly bitOffset: number;
  /** Bitfield width in bits; 0 when not a bitfield. */
  readonly bitSize: number;
  /** The field's type; `String(type)` gives its C spelling. */
  readonly type: BtfType;
}

/** Base of struct and union. */
abstract class Composite extends TypeBase {
  constructor(
    id: number,
    name: string,
    /** Size in bytes. */
    readonly size: number,
    /** Members in declaration order. */
    readonly members: readonly Member[],
  ) {
    super(id, name);
  }
  /** Members as introspection records (offsets in bytes, sizes, types). */
  get fields(): Field[] {
    return this.members.map((m) => {
      const type = m.type;
      const { bitOffset, bitSize } = memberBits(m);
      return {
        name: m.name,
        offset: bitOffset >>> 3,
        size: sizeOf(type),
        bitOffset,
        bitSize,
        type,
      };
    });
  }
}

/** A struct. */
export class Struct extends Composite {
  readonly kind = "struct" as const;
}

/** A union. */
export class Union extends Composite {
  readonly kind = "union" as const;
}

/** One enumerator. */
export interface EnumValue {
  readonly name: string;
  readonly value: bigint;
}

/** An enum (BTF_KIND_ENUM or BTF_KIND_ENUM64; `kind` tells which). */
export class Enum extends TypeBase {
  constructor(
    id: number,
    name: string,
    /** `"enum"` (32-bit values) or `"enum64"`. */
    readonly kind: "enum" | "enum64",
    /** Size in bytes (1, 2, 4 or 8). */
    readonly size: number,
    /** Whether values are signed (kind_flag). */
    readonly signed: boolean,
    /** Enumerators in declaration order. */
    readonly values: readonly EnumValue[],
  ) {
    super(id, name);
  }
}

/** A forward declaration of a struct or union. */
export class Fwd extends TypeBase {
  readonly kind = "fwd" as const;
  /** 0: a forward declaration has no layout. */
  readonly size = 0;
  constructor(
    id: number,
    name: string,
    /** What it forward-declares. */
    readonly fwdKind: "struct" | "union",
  ) {
    super(id, name);
  }
}

/** Linkage of a function or variable. */
export type Linkage = "static" | "global" | "extern";

/** A function (its prototype is `proto`). */
export class Func extends RefBase {
  readonly kind = "func" as const;
  /** 0: functions have no storage size. */
  readonly size = 0;
  constructor(
    id: number,
    name: string,
    resolver: TypeResolver,
    protoId: number,
    /** static, global or extern. */
    readonly linkage: Linkage,
  ) {
    super(id, name, resolver, protoId);
  }
  /** The function's prototype. */
  get proto(): BtfType {
    return this.target;
  }
}

/** One parameter of a function prototype. */
export interface Param {
  readonly name: string;
  readonly typeId: number;
}

/** A function prototype. */
export class FuncProto extends TypeBase {
  readonly kind = "func_proto" as const;
  /** 0: prototypes have no storage size. */
  readonly size = 0;
  constructor(
    id: number,
    private readonly resolver: TypeResolver,
    /** Return type id. */
    readonly returnId: number,
    /** Parameters; a last one with typeId 0 and no name means varargs. */
    readonly params: readonly Param[],
  ) {
    super(id, "");
  }
  /** Return type. */
  get returnType(): BtfType {
    return this.resolver.typeById(this.returnId);
  }
  /** Type of parameter `i`. */
  paramType(i: number): BtfType {
    return this.resolver.typeById(this.params[i].typeId);
  }
}

/** A global or static variable. */
export class Var extends RefBase {
  readonly kind = "var" as const;
  constructor(
    id: number,
    name: string,
    resolver: TypeResolver,
    typeId: number,
    /** static, global or extern. */
    readonly linkage: Linkage,
  ) {
    super(id, name, resolver, typeId);
  }
  /** The variable's type. */
  get type(): BtfType {
    return this.target;
  }
  /** Size in bytes of the variable's type. */
  get size(): number {
    return sizeOf(this.type);
  }
}

/** One variable placed in a data section. */
export class VarSecinfo {
  constructor(
    private readonly resolver: TypeResolver,
    /** Id of the `Var` (or `Func` for `.ksyms`). */
    readonly typeId: number,
    /** Offset in the section, in bytes. 0 in unprocessed object files. */
    readonly offset: number,
    /** Size in bytes. 0 in unprocessed object files. */
    readonly size: number,
  ) {}
  /** The variable. */
  get type(): BtfType {
    return this.resolver.typeById(this.typeId);
  }
}

/**
 * A data section (`.data`, `.bss`, `.rodata`, `.maps`, ...). In an object
 * file clang leaves offsets and sizes 0; libbpf fills them in at open.
 */
export class Datasec extends TypeBase {
  readonly kind = "datasec" as const;
  constructor(
    id: number,
    name: string,
    /** Section size in bytes (0 in unprocessed object files). */
    readonly size: number,
    /** The variables in the section. */
    readonly vars: readonly VarSecinfo[],
  ) {
    super(id, name);
  }
}

/**
 * `__attribute__((btf_decl_tag(name)))` on a type, member or parameter;
 * with `attribute`, the C attribute `__attribute__((name))` itself.
 */
export class DeclTag extends RefBase {
  readonly kind = "decl_tag" as const;
  /** 0: a tag has no storage size. */
  readonly size = 0;
  constructor(
    id: number,
    name: string,
    resolver: TypeResolver,
    targetId: number,
    /** -1 for the type itself, else the member/parameter index. */
    readonly componentIdx: number,
    /**
     * kind_flag (Linux 6.14+): `name` is an attribute to write as
     * `__attribute__((name))`, not a btf_decl_tag string.
     */
    readonly attribute = false,
  ) {
    super(id, name, resolver, targetId);
  }
}

/**
 * A member's bit offset and bitfield width (0: not a bitfield) as C lays
 * it out. A struct with kind_flag = 0 (older pahole and clang output)
 * keeps a bitfield's width, and any extra bit offset, in its INT type
 * (BTF_INT_BITS < the size's bits, BTF_INT_OFFSET), not in the member.
 */
export function memberBits(m: Member): { bitOffset: number; bitSize: number } {
  if (m.bitSize) return { bitOffset: m.bitOffset, bitSize: m.bitSize };
  const r = resolveType(m.type);
  if (r.kind === "int" && (r.bits !== r.size * 8 || r.bitOffset))
    return { bitOffset: m.bitOffset + r.bitOffset, bitSize: r.bits };
  return { bitOffset: m.bitOffset, bitSize: 0 };
}

/** Kinds that are transparent for layout: typedef and qualifiers. */
export type Qualifier = Typedef | Volatile | Const | Restrict | TypeTag;

/** True for typedef, volatile, const, restrict and type_tag. */
export function isQualifier(t: BtfType): t is Qualifier {
  return (
    t.kind === "typedef" ||
    t.kind === "volatile" ||
    t.kind === "const" ||
    t.kind === "restrict" ||
    t.kind === "type_tag"
  );
}

/** Longest typedef/qualifier chain followed before giving up (loops in bad BTF). */
const MAX_CHAIN = 64;

/**
 * Follows typedef and qualifier chains to the underlying type
 * (`const volatile __u64` → the `unsigned long long` int).
 */
export function resolveType(t: BtfType): BtfType {
  for (let i = 0; i < MAX_CHAIN; i++) {
    if (!isQualifier(t)) return t;
    t = t.target;
  }
  throw new BtfError(
    `type chain starting at id ${t.id} is longer than ${MAX_CHAIN} or loops`,
  );
}

/** Size in bytes of a type (through typedefs/qualifiers); 0 for void/func. */
export function sizeOf(t: BtfType): number {
  const r = resolveType(t);
  switch (r.kind) {
    case "int":
    case "float":
    case "ptr":
    case "struct":
    case "union":
    case "enum":
    case "enum64":
    case "datasec":
      return r.size;
    case "array":
      return r.size;
    case "var":
      return sizeOf(r.type);
    default:
      return 0;
  }
}

/** Pointer size of the BPF target, in bytes. */
const POINTER_SIZE = 8;

const compositeAligns = new WeakMap<BtfType, number>();

/**
 * C alignment in bytes of a type, by libbpf's `btf__align_of` rules (BTF
 * does not record alignment, so it is inferred): int, enum and float align
 * to their size up to the pointer size (`__int128`: 16, as clang does); arrays to their element; a struct
 * or union to its most aligned member, or to 1 when it must be packed (a
 * non-bitfield member off its type's alignment, or a size that is not a
 * multiple of that alignment). An `aligned(N)` attribute leaves no trace
 * in BTF and is not seen.
 */
export function alignOf(t: BtfType): number {
  const r = resolveType(t);
  switch (r.kind) {
    case "int":
      // clang aligns __int128 to 16 for BPF as for x86-64 (libbpf says 8).
      return r.size === 16 ? 16 : Math.min(r.size, POINTER_SIZE) || 1;
    case "float":
    case "enum":
    case "enum64":
      return Math.min(r.size, POINTER_SIZE) || 1;
    case "ptr":
      return POINTER_SIZE;
    case "array":
      return alignOf(r.element);
    case "struct":
    case "union": {
      let a = compositeAligns.get(r);
      if (a === undefined) {
        a = compositeAlign(r);
        compositeAligns.set(r, a);
      }
      return a;
    }
    default:
      return 1;
  }
}

function compositeAlign(r: Struct | Union): number {
  let max = 1;
  for (const m of r.members) {
    const a = alignOf(m.type);
    max = Math.max(max, a);
    if (memberBits(m).bitSize === 0 && m.bitOffset % (8 * a) !== 0) return 1;
  }
  return r.size % max === 0 ? max : 1;
}
