/**
 * The BTF type graph as the generator reads it: integer ids and kind
 * numbers, no model objects. Over a parsed `Btf` it reads the type section's
 * words directly (decoding a model object per struct costs more than the
 * whole generation of vmlinux); over model objects (`BtfBuilder` output, a
 * filtered list) it answers the same questions from them. Invalid ids (out
 * of range, or a reference that fails to resolve) have kind -1, so every
 * walk over hostile BTF ends.
 */
import type { ByteOrder } from "../src/elf/types.ts";
import {
  type BtfHeader,
  indexTypes,
  readHeader,
  typeWords,
} from "../src/btf/parse.ts";
import { StringTable } from "../src/btf/strings.ts";
import type { BtfType, Kind } from "../src/btf/types.ts";
import { KIND, KIND_NAMES } from "../src/btf/wire.ts";
import { runOnce } from "./run_once.ts";

export { KIND };

/**
 * What the generator reads of a parsed BTF blob: a `Btf` is one, and so is
 * {@link rawBtf}'s result, which needs neither the `Btf` class nor what it
 * imports (the CLI's path for vmlinux).
 */
export interface RawBtf {
  readonly bytes: Uint8Array;
  readonly header: BtfHeader;
  readonly byteOrder: ByteOrder;
  readonly strings: StringTable;
  readonly firstId: number;
  readonly count: number;
  readonly base?: RawBtf;
  /** Type section words and record offsets, when already computed. */
  readonly words?: Uint32Array;
  readonly offsets?: Uint32Array;
}

/** Parses a base (not split) raw BTF blob as `Btf.fromBytes` does, without a `Btf`. */
export function rawBtf(bytes: Uint8Array): RawBtf {
  const { header, byteOrder } = readHeader(bytes);
  const strStart = header.hdrLen + header.strOff;
  const strings = new StringTable(
    bytes.subarray(strStart, strStart + header.strLen),
    undefined,
    strStart,
  );
  const words = typeWords(bytes, header, byteOrder);
  const offsets = indexTypes(words, header.hdrLen + header.typeOff);
  return {
    bytes,
    header,
    byteOrder,
    strings,
    firstId: 1,
    count: offsets.length,
    words,
    offsets,
  };
}

function isRawBtf(src: unknown): src is RawBtf {
  const x = src as { header?: unknown; strings?: unknown };
  return typeof x.header === "object" && x.strings instanceof StringTable;
}

/**
 * The graph as arrays indexed by type id (and by member index): what the
 * generator's loops read, with no call per question. Ids past `count` and
 * references that do not resolve are invalid: check `id <= count` before
 * indexing; an invalid id's `kind` is -1.
 */
export interface Flat {
  readonly count: number;
  /** `KIND` number; 0 for void; -1 for an id that does not resolve. */
  readonly kind: Int8Array;
  /** Name offset, as {@link TypeGraph.memberNameOff} for a member. */
  readonly name: Int32Array;
  /** As {@link TypeGraph.size}. */
  readonly size: Uint32Array;
  /** As {@link TypeGraph.target}, or -1. */
  readonly ref: Int32Array;
  /** Array length. */
  readonly len: Uint32Array;
  /** Members or enumerators. */
  readonly vlen: Int32Array;
  /** As {@link TypeGraph.flag}: 1 or 0. */
  readonly flag: Uint8Array;
  /** As {@link TypeGraph.intInfo} for ints. */
  readonly intInfo: Int32Array;
  /** Index of a struct/union/enum's first member (or enumerator) in the `m*` arrays. */
  readonly first: Int32Array;
  /** Member or enumerator name offset, as {@link TypeGraph.memberNameOff}. */
  readonly mName: Int32Array;
  /** Member type; an enumerator's value, low 32 bits. */
  readonly mType: Uint32Array;
  /** Member bit offset; an enumerator's value, high 32 bits (enum64). */
  readonly mBitOff: Uint32Array;
  /** Member bitfield size (kind_flag), else 0. */
  readonly mBitSize: Uint8Array;
  /** True when `mType`/`mBitOff` hold enumerator values (else ask {@link TypeGraph.enumValue}). */
  enumValues: boolean;
  /** Members and enumerators in the `m*` arrays (which may be longer). */
  members: number;
}

/** Empty flat arrays for ids 0..count and `members` members. */
function newFlat(count: number, members: number): Flat {
  const n = count + 1;
  return {
    count,
    kind: new Int8Array(n).fill(-1),
    name: new Int32Array(n),
    size: new Uint32Array(n),
    ref: new Int32Array(n).fill(-1),
    len: new Uint32Array(n),
    vlen: new Int32Array(n),
    flag: new Uint8Array(n),
    intInfo: new Int32Array(n),
    first: new Int32Array(n),
    mName: new Int32Array(members),
    mType: new Uint32Array(members),
    mBitOff: new Uint32Array(members),
    mBitSize: new Uint8Array(members),
    enumValues: false,
    members: 0,
  };
}

/** What the generator asks of a BTF; ids are BTF type ids, 0 is void. */
export interface TypeGraph {
  /** Highest id. */
  readonly count: number;
  /** The same graph as arrays (built once, on first use). */
  readonly flat: Flat;
  /** First id of this blob's own types (> 1 for a module's split BTF). */
  readonly firstId: number;
  /** Ids of the structs, unions, enums, typedefs and vars to consider, ascending. */
  wanted(): number[];
  /** `KIND` number; 0 for void; -1 for an invalid id. */
  kind(id: number): number;
  name(id: number): string;
  /** False for an anonymous type (cheaper than its name). */
  named(id: number): boolean;
  /** Size in bytes of an int, float, struct, union or enum (8 for pointers). */
  size(id: number): number;
  /** Referenced id of a pointer, typedef, qualifier or var; element of an array. */
  target(id: number): number;
  /** Array length. */
  length(id: number): number;
  /** Number of members or enumerators. */
  vlen(id: number): number;
  /** Signed enum; union forward declaration. */
  flag(id: number): boolean;
  /** Int: `bits | offset << 8 | encoding << 16` (encoding: 1 signed, 2 char, 4 bool). */
  intInfo(id: number): number;
  memberName(id: number, i: number): string;
  /**
   * The names' bytes, NUL-terminated, addressed by name offset: lets the
   * generator copy a plain identifier straight into its output. Read it
   * again after other calls (a model graph grows it as it meets names).
   */
  readonly strings: Uint8Array;
  /**
   * Offset of a member's name in {@link strings}: 0 when anonymous; an
   * offset outside it (or one whose bytes are not a plain ASCII identifier)
   * means "ask {@link memberName}".
   */
  memberNameOff(id: number, i: number): number;
  /** As {@link memberNameOff}, for an enumerator. */
  enumNameOff(id: number, i: number): number;
  /** False for an anonymous member (cheaper than its name). */
  memberHasName(id: number, i: number): boolean;
  memberType(id: number, i: number): number;
  memberBitOffset(id: number, i: number): number;
  memberBitSize(id: number, i: number): number;
  enumName(id: number, i: number): string;
  /** Enumerator value as decimal text. */
  enumValue(id: number, i: number): string;
  /** Type id of parameter `i` of a function prototype (0: varargs). */
  paramType(id: number, i: number): number;
  /** Name of parameter `i` of a function prototype ("" when unnamed). */
  paramName(id: number, i: number): string;
}

const WANTED_MASK =
  (1 << KIND.STRUCT) |
  (1 << KIND.UNION) |
  (1 << KIND.ENUM) |
  (1 << KIND.ENUM64) |
  (1 << KIND.TYPEDEF) |
  (1 << KIND.VAR);

/**
 * Names of a string section. When the section is plain ASCII (vmlinux is)
 * it is decoded once and names are substrings; otherwise each name is
 * decoded by the Btf's own table (same UTF-8 rules as the model).
 */
class Names {
  private readonly text: string | undefined;
  constructor(
    private readonly btf: RawBtf,
    private readonly base: Names | undefined,
  ) {
    const bytes = btf.strings.bytes;
    const text = new TextDecoder().decode(bytes);
    this.text =
      text.length === bytes.length && text.indexOf("\ufffd") < 0
        ? text
        : undefined;
  }

  get(off: number): string {
    const strings = this.btf.strings;
    if (off < strings.start && this.base) return this.base.get(off);
    const text = this.text;
    if (text === undefined || off === 0) return strings.get(off);
    const local = off - strings.start;
    if (local >= text.length) return strings.get(off); // throws BtfError
    return text.substring(local, text.indexOf("\0", local));
  }

  /** True when the name at `off` is not empty. */
  has(off: number): boolean {
    const strings = this.btf.strings;
    if (off === 0) return false;
    if (off < strings.start && this.base) return this.base.has(off);
    const text = this.text;
    const local = off - strings.start;
    if (text === undefined || local >= text.length) return this.get(off) !== "";
    return text.charCodeAt(local) !== 0;
  }
}

/** A graph over a parsed Btf's raw words. */
class RawGraph implements TypeGraph {
  readonly count: number;
  readonly firstId: number;
  private readonly w: Uint32Array;
  private readonly off: Uint32Array;
  private readonly base: RawGraph | undefined;
  private readonly names: Names;
  readonly strings: Uint8Array;

  constructor(btf: RawBtf) {
    this.base = btf.base ? new RawGraph(btf.base) : undefined;
    const h = btf.header;
    this.w = btf.words ?? typeWords(btf.bytes, h, btf.byteOrder);
    this.off = btf.offsets ?? indexTypes(this.w, h.hdrLen + h.typeOff);
    this.firstId = btf.firstId;
    this.count = btf.count;
    this.names = new Names(btf, this.base?.names);
    const own = btf.strings.bytes;
    if (this.base) {
      // One offset space: the base's bytes, then this table's.
      const b = this.base.strings;
      this.strings = new Uint8Array(btf.strings.start + own.length);
      this.strings.set(b.subarray(0, btf.strings.start));
      this.strings.set(own, btf.strings.start);
    } else this.strings = own;
  }

  #flat: Flat | undefined;

  get flat(): Flat {
    return (this.#flat ??= this.buildFlat());
  }

  /** One pass over the type records (after the base's arrays, for split BTF). */
  private buildFlat(): Flat {
    const w = this.w;
    const off = this.off;
    const n = off.length;
    const b = this.base?.flat;
    const bm = b ? b.members : 0;
    // A member or enumerator takes at least 2 words: room enough without
    // a counting pass (pages never written are never touched).
    const count = this.count;
    const f = newFlat(count, bm + (w.length >> 1));
    f.kind[0] = 0;
    f.enumValues = true;
    if (b) {
      const m = b.count + 1;
      f.kind.set(b.kind.subarray(0, m));
      f.name.set(b.name.subarray(0, m));
      f.size.set(b.size.subarray(0, m));
      f.ref.set(b.ref.subarray(0, m));
      f.len.set(b.len.subarray(0, m));
      f.vlen.set(b.vlen.subarray(0, m));
      f.flag.set(b.flag.subarray(0, m));
      f.intInfo.set(b.intInfo.subarray(0, m));
      f.first.set(b.first.subarray(0, m));
      f.mName.set(b.mName.subarray(0, bm));
      f.mType.set(b.mType.subarray(0, bm));
      f.mBitOff.set(b.mBitOff.subarray(0, bm));
      f.mBitSize.set(b.mBitSize.subarray(0, bm));
    }
    const { kind, name, size, ref, len, vlen, flag, intInfo, first } = f;
    const { mName, mType, mBitOff, mBitSize } = f;
    let m = bm;
    for (let i = 0, id = this.firstId; i < n; i++, id++) {
      const p = off[i]!;
      const info = w[p + 1]!;
      const k = (info >>> 24) & 0x1f;
      const v = info & 0xffff;
      const kf = info >>> 31;
      kind[id] = k;
      name[id] = w[p]!;
      flag[id] = kf;
      vlen[id] = v;
      size[id] = k === KIND.PTR ? 8 : w[p + 2]!;
      switch (k) {
        case KIND.INT: {
          const enc = w[p + 3]!;
          intInfo[id] =
            (enc & 0xff) |
            (((enc >>> 16) & 0xff) << 8) |
            (((enc >>> 24) & 0xf) << 16);
          break;
        }
        case KIND.ARRAY: {
          const t = w[p + 3]!;
          ref[id] = t <= count ? t : -1;
          len[id] = w[p + 5]!;
          break;
        }
        case KIND.STRUCT:
        case KIND.UNION:
          first[id] = m;
          for (let j = 0, q = p + 3; j < v; j++, q += 3, m++) {
            mName[m] = w[q]!;
            mType[m] = w[q + 1]!;
            const o = w[q + 2]!;
            mBitOff[m] = kf ? o & 0xffffff : o;
            mBitSize[m] = kf ? o >>> 24 : 0;
          }
          break;
        case KIND.ENUM:
        case KIND.ENUM64: {
          // btf_enum: name, value; btf_enum64: name, low, high.
          const wide = k === KIND.ENUM64;
          first[id] = m;
          for (let j = 0, q = p + 3; j < v; j++, q += wide ? 3 : 2, m++) {
            mName[m] = w[q]!;
            mType[m] = w[q + 1]!;
            if (wide) mBitOff[m] = w[q + 2]!;
          }
          break;
        }
        default: {
          const t = w[p + 2]!;
          ref[id] = t <= count ? t : -1;
        }
      }
    }
    f.members = m;
    return f;
  }

  wanted(): number[] {
    const out: number[] = [];
    if (this.base) out.push(...this.base.wanted());
    const w = this.w;
    const off = this.off;
    for (let i = 0, n = off.length; i < n; i++) {
      if ((WANTED_MASK >>> ((w[off[i]! + 1]! >>> 24) & 0x1f)) & 1)
        out.push(this.firstId + i);
    }
    return out;
  }

  /** Word position of `id`'s record, or -1. */
  private pos(id: number): number {
    const i = id - this.firstId;
    return i >= 0 && i < this.off.length ? this.off[i]! : -1;
  }

  kind(id: number): number {
    if (id === 0) return 0;
    if (id < this.firstId) return this.base && id > 0 ? this.base.kind(id) : -1;
    const p = this.pos(id);
    return p < 0 ? -1 : (this.w[p + 1]! >>> 24) & 0x1f;
  }
  name(id: number): string {
    if (id < this.firstId) return id > 0 && this.base ? this.base.name(id) : "";
    const p = this.pos(id);
    return p < 0 ? "" : this.names.get(this.w[p]!);
  }
  named(id: number): boolean {
    if (id < this.firstId) return id > 0 && !!this.base && this.base.named(id);
    const p = this.pos(id);
    return p >= 0 && this.names.has(this.w[p]!);
  }
  size(id: number): number {
    if (id < this.firstId) return this.base ? this.base.size(id) : 0;
    const p = this.pos(id);
    if (p < 0) return 0;
    return ((this.w[p + 1]! >>> 24) & 0x1f) === KIND.PTR ? 8 : this.w[p + 2]!;
  }
  target(id: number): number {
    if (id < this.firstId) return this.base ? this.base.target(id) : -1;
    const p = this.pos(id);
    if (p < 0) return -1;
    const kind = (this.w[p + 1]! >>> 24) & 0x1f;
    return this.w[kind === KIND.ARRAY ? p + 3 : p + 2]!;
  }
  length(id: number): number {
    if (id < this.firstId) return this.base ? this.base.length(id) : 0;
    const p = this.pos(id);
    return p < 0 ? 0 : this.w[p + 5]!;
  }
  vlen(id: number): number {
    if (id < this.firstId) return this.base ? this.base.vlen(id) : 0;
    const p = this.pos(id);
    return p < 0 ? 0 : this.w[p + 1]! & 0xffff;
  }
  flag(id: number): boolean {
    if (id < this.firstId) return this.base ? this.base.flag(id) : false;
    const p = this.pos(id);
    return p >= 0 && this.w[p + 1]! >>> 31 === 1;
  }
  intInfo(id: number): number {
    if (id < this.firstId) return this.base ? this.base.intInfo(id) : 0;
    const enc = this.w[this.pos(id) + 3]!;
    return (
      (enc & 0xff) | (((enc >>> 16) & 0xff) << 8) | (((enc >>> 24) & 0xf) << 16)
    );
  }
  memberName(id: number, i: number): string {
    if (id < this.firstId) return this.base!.memberName(id, i);
    return this.names.get(this.w[this.pos(id) + 3 + 3 * i]!);
  }
  memberHasName(id: number, i: number): boolean {
    if (id < this.firstId) return this.base!.memberHasName(id, i);
    return this.names.has(this.w[this.pos(id) + 3 + 3 * i]!);
  }
  memberNameOff(id: number, i: number): number {
    if (id < this.firstId) return this.base!.memberNameOff(id, i);
    return this.w[this.pos(id) + 3 + 3 * i]!;
  }
  enumNameOff(id: number, i: number): number {
    if (id < this.firstId) return this.base!.enumNameOff(id, i);
    const p = this.pos(id);
    const step = ((this.w[p + 1]! >>> 24) & 0x1f) === KIND.ENUM ? 2 : 3;
    return this.w[p + 3 + step * i]!;
  }
  memberType(id: number, i: number): number {
    if (id < this.firstId) return this.base!.memberType(id, i);
    return this.w[this.pos(id) + 4 + 3 * i]!;
  }
  memberBitOffset(id: number, i: number): number {
    if (id < this.firstId) return this.base!.memberBitOffset(id, i);
    const p = this.pos(id);
    const o = this.w[p + 5 + 3 * i]!;
    return this.w[p + 1]! >>> 31 ? o & 0xffffff : o;
  }
  memberBitSize(id: number, i: number): number {
    if (id < this.firstId) return this.base!.memberBitSize(id, i);
    const p = this.pos(id);
    return this.w[p + 1]! >>> 31 ? this.w[p + 5 + 3 * i]! >>> 24 : 0;
  }
  enumName(id: number, i: number): string {
    if (id < this.firstId) return this.base!.enumName(id, i);
    const p = this.pos(id);
    const step = ((this.w[p + 1]! >>> 24) & 0x1f) === KIND.ENUM ? 2 : 3;
    return this.names.get(this.w[p + 3 + step * i]!);
  }
  enumValue(id: number, i: number): string {
    if (id < this.firstId) return this.base!.enumValue(id, i);
    const p = this.pos(id);
    const w = this.w;
    const signed = w[p + 1]! >>> 31 === 1;
    if (((w[p + 1]! >>> 24) & 0x1f) === KIND.ENUM) {
      const v = w[p + 4 + 2 * i]!;
      return String(signed ? v | 0 : v);
    }
    const raw = (BigInt(w[p + 5 + 3 * i]!) << 32n) | BigInt(w[p + 4 + 3 * i]!);
    return String(signed ? BigInt.asIntN(64, raw) : raw);
  }
  paramType(id: number, i: number): number {
    if (id < this.firstId) return this.base!.paramType(id, i);
    return this.w[this.pos(id) + 4 + 2 * i]!;
  }
  paramName(id: number, i: number): string {
    if (id < this.firstId) return this.base!.paramName(id, i);
    return this.names.get(this.w[this.pos(id) + 3 + 2 * i]!);
  }
}

/** The model's view of a type, loose enough for every kind. */
type Loose = BtfType & {
  target?: BtfType;
  element?: BtfType;
  length?: number;
  size?: number;
  signed?: boolean;
  fwdKind?: string;
  bits?: number;
  bitOffset?: number;
  encoding?: { signed: boolean; char: boolean; bool: boolean };
  members?: readonly {
    name: string;
    bitOffset: number;
    bitSize: number;
    readonly type: BtfType;
  }[];
  values?: readonly { name: string; value: bigint }[];
  params?: readonly { name: string; typeId: number }[];
  returnType?: BtfType;
  paramType?(i: number): BtfType;
};

/** A graph over model objects, registered by id as references reach them. */
class ModelGraph implements TypeGraph {
  readonly firstId = 1;
  count = 0;
  private readonly byId = new Map<number, Loose>();
  private readonly ids: number[] = [];
  strings = new Uint8Array(256);
  private stringsEnd = 1;
  private readonly interned = new Map<string, number>();

  constructor(types: Iterable<BtfType>) {
    const seen = new Set<number>();
    for (const t of types) {
      this.add(t);
      if (!seen.has(t.id) && (WANTED_MASK >>> KIND_NAMES.indexOf(t.kind)) & 1) {
        seen.add(t.id);
        this.ids.push(t.id);
      }
    }
    this.ids.sort((a, b) => a - b);
  }

  #flat: Flat | undefined;

  get flat(): Flat {
    return (this.#flat ??= this.buildFlat());
  }

  /**
   * Arrays over every type reachable from the wanted ones (reaching a type
   * is what registers it), filled through the methods below.
   */
  private buildFlat(): Flat {
    const queue = [...this.ids];
    const seen = new Set<number>(queue);
    const reach = (t: number) => {
      if (t > 0 && !seen.has(t)) {
        seen.add(t);
        queue.push(t);
      }
    };
    let members = 0;
    for (let i = 0; i < queue.length; i++) {
      const id = queue[i]!;
      const k = this.kind(id);
      if (k === KIND.STRUCT || k === KIND.UNION) {
        const n = this.vlen(id);
        members += n;
        for (let j = 0; j < n; j++) reach(this.memberType(id, j));
      } else if (k === KIND.ENUM || k === KIND.ENUM64) members += this.vlen(id);
      else if (k > 0) reach(this.target(id));
    }
    const f = newFlat(this.count, members);
    f.kind[0] = 0;
    let m = 0;
    for (const id of queue) {
      const k = this.kind(id);
      if (k < 0) continue;
      f.kind[id] = k;
      f.name[id] = this.intern(this.name(id));
      f.size[id] = this.size(id);
      f.flag[id] = this.flag(id) ? 1 : 0;
      if (k === KIND.INT) f.intInfo[id] = this.intInfo(id);
      const isComposite = k === KIND.STRUCT || k === KIND.UNION;
      if (isComposite || k === KIND.ENUM || k === KIND.ENUM64) {
        const n = this.vlen(id);
        f.vlen[id] = n;
        f.first[id] = m;
        for (let j = 0; j < n; j++, m++) {
          if (isComposite) {
            f.mName[m] = this.memberNameOff(id, j);
            const t = this.memberType(id, j);
            f.mType[m] = t < 0 ? 0xffffffff : t;
            f.mBitOff[m] = this.memberBitOffset(id, j);
            f.mBitSize[m] = this.memberBitSize(id, j);
          } else f.mName[m] = this.enumNameOff(id, j);
        }
      } else if (k > 0) {
        const t = this.target(id);
        f.ref[id] = t <= this.count ? t : -1;
        if (k === KIND.ARRAY) f.len[id] = this.length(id);
      }
    }
    f.members = m;
    return f;
  }

  private add(t: BtfType): number {
    if (!this.byId.has(t.id)) this.byId.set(t.id, t as Loose);
    if (t.id > this.count) this.count = t.id;
    return t.id;
  }

  private ref(f: () => BtfType | undefined): number {
    try {
      const t = f();
      return t ? this.add(t) : -1;
    } catch {
      return -1;
    }
  }

  wanted(): number[] {
    return this.ids;
  }
  kind(id: number): number {
    if (id === 0) return 0;
    const t = this.byId.get(id);
    return t ? KIND_NAMES.indexOf(t.kind as Kind) : -1;
  }
  name(id: number): string {
    return this.byId.get(id)?.name ?? "";
  }
  named(id: number): boolean {
    return !!this.byId.get(id)?.name;
  }
  size(id: number): number {
    const t = this.byId.get(id);
    if (!t) return 0;
    try {
      return t.size ?? 0;
    } catch {
      return 0;
    }
  }
  target(id: number): number {
    const t = this.byId.get(id);
    if (!t) return -1;
    return this.ref(() =>
      t.kind === "array"
        ? t.element
        : t.kind === "func_proto"
          ? t.returnType
          : t.target,
    );
  }
  length(id: number): number {
    return this.byId.get(id)?.length ?? 0;
  }
  vlen(id: number): number {
    const t = this.byId.get(id);
    return t?.members?.length ?? t?.values?.length ?? t?.params?.length ?? 0;
  }
  flag(id: number): boolean {
    const t = this.byId.get(id);
    return t?.kind === "fwd" ? t.fwdKind === "union" : !!t?.signed;
  }
  intInfo(id: number): number {
    const t = this.byId.get(id)!;
    const e = t.encoding!;
    const enc = (e.signed ? 1 : 0) | (e.char ? 2 : 0) | (e.bool ? 4 : 0);
    return (t.bits! & 0xff) | ((t.bitOffset! & 0xff) << 8) | (enc << 16);
  }
  memberName(id: number, i: number): string {
    return this.byId.get(id)!.members![i]!.name;
  }
  memberHasName(id: number, i: number): boolean {
    return this.byId.get(id)!.members![i]!.name !== "";
  }
  memberNameOff(id: number, i: number): number {
    return this.intern(this.byId.get(id)!.members![i]!.name);
  }
  enumNameOff(id: number, i: number): number {
    return this.intern(this.byId.get(id)!.values![i]!.name);
  }

  /** Offset of `name` in {@link strings}: 0 for "", -1 unless a plain ASCII identifier. */
  private intern(name: string): number {
    if (name === "") return 0;
    let off = this.interned.get(name);
    if (off !== undefined) return off;
    off = -1;
    const n = name.length;
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const c = name.charCodeAt(i);
      ok =
        (c >= 97 && c <= 122) ||
        (c >= 65 && c <= 90) ||
        c === 95 ||
        c === 36 ||
        (i > 0 && c >= 48 && c <= 57);
    }
    if (ok) {
      if (this.stringsEnd + n + 1 > this.strings.length) {
        const next = new Uint8Array((this.strings.length + n + 1) * 2);
        next.set(this.strings);
        this.strings = next;
      }
      off = this.stringsEnd;
      for (let i = 0; i < n; i++) this.strings[off + i] = name.charCodeAt(i);
      this.strings[off + n] = 0;
      this.stringsEnd = off + n + 1;
    }
    this.interned.set(name, off);
    return off;
  }
  memberType(id: number, i: number): number {
    const m = this.byId.get(id)!.members![i]!;
    return this.ref(() => m.type);
  }
  memberBitOffset(id: number, i: number): number {
    return this.byId.get(id)!.members![i]!.bitOffset;
  }
  memberBitSize(id: number, i: number): number {
    return this.byId.get(id)!.members![i]!.bitSize;
  }
  enumName(id: number, i: number): string {
    return this.byId.get(id)!.values![i]!.name;
  }
  enumValue(id: number, i: number): string {
    return String(this.byId.get(id)!.values![i]!.value);
  }
  paramType(id: number, i: number): number {
    const t = this.byId.get(id)!;
    if (t.params![i]!.typeId === 0) return 0;
    return this.ref(() => t.paramType!(i));
  }
  paramName(id: number, i: number): string {
    return this.byId.get(id)!.params![i]!.name;
  }
}

/**
 * A BTF that can tell a type's kind without decoding it: only the wanted
 * kinds are then decoded.
 */
export interface IndexedTypes {
  readonly count: number;
  kindOf(id: number): Kind;
  typeById(id: number): BtfType;
}

const WANTED_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  "struct",
  "union",
  "enum",
  "enum64",
  "typedef",
  "var",
]);

/** The graph of a Btf (raw words), an indexed source, or model objects. */
export function typeGraph(
  src: Iterable<BtfType> | IndexedTypes | RawBtf,
): TypeGraph {
  if (isRawBtf(src)) return new RawGraph(src);
  if ("kindOf" in src && typeof src.kindOf === "function") {
    const s = src as IndexedTypes;
    const types: BtfType[] = [];
    for (let id = 1; id <= s.count; id++) {
      if (WANTED_KINDS.has(s.kindOf(id))) types.push(s.typeById(id));
    }
    return new ModelGraph(types);
  }
  return new ModelGraph(src as Iterable<BtfType>);
}

runOnce(RawGraph, Names, newFlat);
