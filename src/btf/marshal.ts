/**
 * The BTF writer: the inverse of `parse.ts`. `marshalBtf` encodes model
 * types into a raw BTF blob (header, type section, string section, as in
 * the kernel's include/uapi/linux/btf.h), which `Btf.fromBytes`, bpftool
 * and the kernel read back. `BtfBuilder` makes model types with consecutive
 * ids to marshal: for tests that need unusual BTF (hostile names), and for
 * BPF programs assembled in TypeScript.
 */
import { BtfError } from "../errors.ts";
import {
  type BtfType,
  ArrayType,
  Const,
  Datasec,
  DeclTag,
  Enum,
  type EnumValue,
  Float,
  Func,
  FuncProto,
  Fwd,
  Int,
  type IntEncoding,
  type Linkage,
  Member,
  type Param,
  Pointer,
  Restrict,
  Struct,
  Typedef,
  TypeTag,
  type TypeResolver,
  Union,
  Var,
  VarSecinfo,
  Void,
  Volatile,
} from "./types.ts";
import {
  BTF_MAGIC,
  BTF_VERSION,
  HEADER_SIZE,
  INT_BOOL,
  INT_CHAR,
  INT_SIGNED,
  KIND,
  LINKAGE,
  MAX_VLEN,
} from "./wire.ts";

/** Options of {@link marshalBtf}. */
export interface MarshalOptions {
  /** Byte order of the blob; default little-endian. */
  readonly littleEndian?: boolean;
}

/** Interns strings into a BTF string section (offset 0 is ""). */
class StringWriter {
  private readonly offsets = new Map<string, number>([["", 0]]);
  private readonly chunks: Uint8Array[] = [new Uint8Array(1)];
  private length = 1;
  private readonly encoder = new TextEncoder();

  offset(s: string): number {
    let off = this.offsets.get(s);
    if (off !== undefined) return off;
    if (s.includes("\0")) {
      throw new BtfError(`BTF names cannot contain NUL: ${JSON.stringify(s)}`);
    }
    const bytes = this.encoder.encode(s + "\0");
    off = this.length;
    this.offsets.set(s, off);
    this.chunks.push(bytes);
    this.length += bytes.length;
    return off;
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

/** Appends 32-bit words, growing as needed. */
class WordWriter {
  private buf = new Uint32Array(1024);
  length = 0;

  push(...words: number[]): void {
    if (this.length + words.length > this.buf.length) {
      const next = new Uint32Array(
        Math.max(this.buf.length * 2, this.length + words.length),
      );
      next.set(this.buf);
      this.buf = next;
    }
    for (const w of words) this.buf[this.length++] = w >>> 0;
  }

  words(): Uint32Array {
    return this.buf.subarray(0, this.length);
  }
}

function info(kind: number, vlen: number, kflag: boolean): number {
  if (vlen > MAX_VLEN) {
    throw new BtfError(`vlen ${vlen} exceeds BTF's maximum of ${MAX_VLEN}`);
  }
  return ((kflag ? 1 << 31 : 0) | (kind << 24) | vlen) >>> 0;
}

function linkage(l: Linkage): number {
  return LINKAGE.indexOf(l);
}

/** Appends one type's `btf_type` and trailing data. */
function writeType(t: BtfType, w: WordWriter, s: StringWriter): void {
  const name = s.offset(t.name);
  switch (t.kind) {
    case "void":
      throw new BtfError("void (id 0) is implicit and cannot be written");
    case "int": {
      const e =
        (t.encoding.signed ? INT_SIGNED : 0) |
        (t.encoding.char ? INT_CHAR : 0) |
        (t.encoding.bool ? INT_BOOL : 0);
      w.push(name, info(KIND.INT, 0, false), t.size);
      w.push((e << 24) | (t.bitOffset << 16) | t.bits);
      return;
    }
    case "ptr":
      w.push(name, info(KIND.PTR, 0, false), t.targetId);
      return;
    case "array":
      w.push(name, info(KIND.ARRAY, 0, false), 0);
      w.push(t.elementId, t.indexId, t.length);
      return;
    case "struct":
    case "union": {
      const kflag = t.members.some((m) => m.bitSize > 0);
      const kind = t.kind === "struct" ? KIND.STRUCT : KIND.UNION;
      w.push(name, info(kind, t.members.length, kflag), t.size);
      for (const m of t.members) {
        if (m.bitSize > 255 || (kflag && m.bitOffset > 0xffffff)) {
          throw new BtfError(
            `member '${m.name}' of ${String(t)} cannot be encoded (bit offset ${m.bitOffset}, bitfield size ${m.bitSize})`,
          );
        }
        const off = kflag ? (m.bitSize << 24) | m.bitOffset : m.bitOffset;
        w.push(s.offset(m.name), m.typeId, off);
      }
      return;
    }
    case "enum":
    case "enum64": {
      const wide = t.kind === "enum64";
      const kind = wide ? KIND.ENUM64 : KIND.ENUM;
      w.push(name, info(kind, t.values.length, t.signed), t.size);
      for (const v of t.values) {
        const u = BigInt.asUintN(64, v.value);
        if (wide) {
          w.push(s.offset(v.name), Number(u & 0xffffffffn), Number(u >> 32n));
        } else {
          w.push(s.offset(v.name), Number(u & 0xffffffffn));
        }
      }
      return;
    }
    case "fwd":
      w.push(name, info(KIND.FWD, 0, t.fwdKind === "union"), 0);
      return;
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag": {
      const kind = {
        typedef: KIND.TYPEDEF,
        volatile: KIND.VOLATILE,
        const: KIND.CONST,
        restrict: KIND.RESTRICT,
        type_tag: KIND.TYPE_TAG,
      }[t.kind];
      const kflag = t.kind === "type_tag" && t.attribute;
      w.push(name, info(kind, 0, kflag), t.targetId);
      return;
    }
    case "func":
      w.push(name, info(KIND.FUNC, linkage(t.linkage), false), t.targetId);
      return;
    case "func_proto":
      w.push(name, info(KIND.FUNC_PROTO, t.params.length, false), t.returnId);
      for (const p of t.params) w.push(s.offset(p.name), p.typeId);
      return;
    case "var":
      w.push(name, info(KIND.VAR, 0, false), t.targetId, linkage(t.linkage));
      return;
    case "datasec":
      w.push(name, info(KIND.DATASEC, t.vars.length, false), t.size);
      for (const v of t.vars) w.push(v.typeId, v.offset, v.size);
      return;
    case "float":
      w.push(name, info(KIND.FLOAT, 0, false), t.size);
      return;
    case "decl_tag":
      w.push(
        name,
        info(KIND.DECL_TAG, 0, t.attribute),
        t.targetId,
        t.componentIdx,
      );
      return;
  }
}

/**
 * Encodes `types` (ids 1, 2, ... in order: `types[i].id === i + 1`) into a
 * raw BTF blob with a version-1 header.
 */
export function marshalBtf(
  types: readonly BtfType[],
  options: MarshalOptions = {},
): Uint8Array {
  const strings = new StringWriter();
  const words = new WordWriter();
  types.forEach((t, i) => {
    if (t.id !== i + 1) {
      throw new BtfError(
        `type at index ${i} has id ${t.id}; marshalBtf needs ids 1..n in order`,
      );
    }
    writeType(t, words, strings);
  });
  const typeWords = words.words();
  const str = strings.bytes();
  const typeLen = typeWords.length * 4;
  const out = new Uint8Array(HEADER_SIZE + typeLen + str.length);
  const v = new DataView(out.buffer);
  const le = options.littleEndian !== false;
  v.setUint16(0, BTF_MAGIC, le);
  v.setUint8(2, BTF_VERSION);
  v.setUint8(3, 0);
  v.setUint32(4, HEADER_SIZE, le);
  v.setUint32(8, 0, le); // type_off
  v.setUint32(12, typeLen, le);
  v.setUint32(16, typeLen, le); // str_off
  v.setUint32(20, str.length, le);
  for (let i = 0; i < typeWords.length; i++) {
    v.setUint32(HEADER_SIZE + i * 4, typeWords[i]!, le);
  }
  out.set(str, HEADER_SIZE + typeLen);
  return out;
}

/** A reference to a type: the type itself or its id (for forward references). */
export type TypeRef = BtfType | number;

/** A member for {@link BtfBuilder.struct}/{@link BtfBuilder.union}. */
export interface MemberSpec {
  readonly name: string;
  readonly type: TypeRef;
  /** Offset in bits from the start of the struct. */
  readonly bitOffset: number;
  /** Bitfield width; 0 or absent when not a bitfield. */
  readonly bitSize?: number;
}

/**
 * Makes model types with ids 1, 2, ... and resolves them, so they can be
 * used (e.g. by codegen) and marshalled. Every method returns the new type.
 */
export class BtfBuilder implements TypeResolver {
  private readonly list: BtfType[] = [];
  private readonly voidType = new Void(0, "");

  /** The types made so far, in id order. */
  get types(): readonly BtfType[] {
    return this.list;
  }

  /** The type with this id (0 is void). */
  typeById(id: number): BtfType {
    if (id === 0) return this.voidType;
    const t = this.list[id - 1];
    if (!t)
      throw new BtfError(
        `type id ${id} is not defined (1..${this.list.length})`,
      );
    return t;
  }

  /** Iterates the types in id order. */
  [Symbol.iterator](): Iterator<BtfType> {
    return this.list[Symbol.iterator]();
  }

  /** The raw BTF of the types made so far. */
  toBytes(options?: MarshalOptions): Uint8Array {
    return marshalBtf(this.list, options);
  }

  private get nextId(): number {
    return this.list.length + 1;
  }

  private add<T extends BtfType>(t: T): T {
    this.list.push(t);
    return t;
  }

  /** An integer (`char`: `{ char: true }` or name "char"; `_Bool`: `{ bool: true }`). */
  int(name: string, size: number, enc: Partial<IntEncoding> = {}): Int {
    const encoding = {
      signed: enc.signed ?? false,
      char: enc.char ?? false,
      bool: enc.bool ?? false,
    };
    return this.add(new Int(this.nextId, name, size, encoding, size * 8, 0));
  }

  /** A float of `size` bytes. */
  float(name: string, size: number): Float {
    return this.add(new Float(this.nextId, name, size));
  }

  /** A pointer to `target`. */
  ptr(target: TypeRef): Pointer {
    return this.add(new Pointer(this.nextId, "", this, id(target)));
  }

  /** `element[length]`, indexed by `index` (an int type; made if absent). */
  array(element: TypeRef, length: number, index?: TypeRef): ArrayType {
    const idx = index ?? this.indexType();
    return this.add(
      new ArrayType(this.nextId, this, id(element), id(idx), length),
    );
  }

  private indexType(): BtfType {
    const found = this.list.find(
      (t) => t.kind === "int" && t.name === "__ARRAY_SIZE_TYPE__",
    );
    return found ?? this.int("__ARRAY_SIZE_TYPE__", 4);
  }

  /** A struct of `size` bytes. */
  struct(name: string, size: number, members: readonly MemberSpec[]): Struct {
    return this.add(new Struct(this.nextId, name, size, this.members(members)));
  }

  /** A union of `size` bytes. */
  union(name: string, size: number, members: readonly MemberSpec[]): Union {
    return this.add(new Union(this.nextId, name, size, this.members(members)));
  }

  private members(specs: readonly MemberSpec[]): Member[] {
    return specs.map(
      (m) => new Member(this, m.name, id(m.type), m.bitOffset, m.bitSize ?? 0),
    );
  }

  /** An enum (values ≤ 32 bits) or, with `kind: "enum64"`, a 64-bit one. */
  enum(
    name: string,
    size: number,
    values: readonly { name: string; value: bigint | number }[],
    opts: { signed?: boolean; kind?: "enum" | "enum64" } = {},
  ): Enum {
    const vals: EnumValue[] = values.map((v) => ({
      name: v.name,
      value: BigInt(v.value),
    }));
    const kind = opts.kind ?? (size > 4 ? "enum64" : "enum");
    return this.add(
      new Enum(this.nextId, name, kind, size, opts.signed ?? false, vals),
    );
  }

  /** `struct name;` or `union name;`. */
  fwd(name: string, fwdKind: "struct" | "union" = "struct"): Fwd {
    return this.add(new Fwd(this.nextId, name, fwdKind));
  }

  /** `typedef target name`. */
  typedef(name: string, target: TypeRef): Typedef {
    return this.add(new Typedef(this.nextId, name, this, id(target)));
  }

  /** `const target`. */
  const(target: TypeRef): Const {
    return this.add(new Const(this.nextId, "", this, id(target)));
  }

  /** `volatile target`. */
  volatile(target: TypeRef): Volatile {
    return this.add(new Volatile(this.nextId, "", this, id(target)));
  }

  /** `target restrict`. */
  restrict(target: TypeRef): Restrict {
    return this.add(new Restrict(this.nextId, "", this, id(target)));
  }

  /** A btf_type_tag on `target` (`attribute`: an `__attribute__((name))`). */
  typeTag(name: string, target: TypeRef, attribute = false): TypeTag {
    return this.add(
      new TypeTag(this.nextId, name, this, id(target), attribute),
    );
  }

  /** A function prototype. */
  funcProto(
    returns: TypeRef,
    params: readonly { name: string; type: TypeRef }[],
  ): FuncProto {
    const ps: Param[] = params.map((p) => ({
      name: p.name,
      typeId: id(p.type),
    }));
    return this.add(new FuncProto(this.nextId, this, id(returns), ps));
  }

  /** A function of prototype `proto`. */
  func(name: string, proto: TypeRef, linkage: Linkage = "global"): Func {
    return this.add(new Func(this.nextId, name, this, id(proto), linkage));
  }

  /** A variable. */
  var(name: string, type: TypeRef, linkage: Linkage = "global"): Var {
    return this.add(new Var(this.nextId, name, this, id(type), linkage));
  }

  /** A data section. */
  datasec(
    name: string,
    size: number,
    vars: readonly { type: TypeRef; offset: number; size: number }[],
  ): Datasec {
    const vs = vars.map(
      (v) => new VarSecinfo(this, id(v.type), v.offset, v.size),
    );
    return this.add(new Datasec(this.nextId, name, size, vs));
  }

  /**
   * A btf_decl_tag on `target` (component -1: the type itself;
   * `attribute`: an `__attribute__((name))`).
   */
  declTag(
    name: string,
    target: TypeRef,
    componentIdx = -1,
    attribute = false,
  ): DeclTag {
    return this.add(
      new DeclTag(this.nextId, name, this, id(target), componentIdx, attribute),
    );
  }
}

function id(ref: TypeRef): number {
  return typeof ref === "number" ? ref : ref.id;
}
