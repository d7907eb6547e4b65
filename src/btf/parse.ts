/**
 * BTF decoding after the header (header.ts): a one-pass index of type
 * offsets over the type section viewed as 32-bit words (host order;
 * big-endian input is byte-swapped once), and on-demand decoding of one
 * type into the model of `types.ts`. No string is decoded and no object
 * allocated per type during the index pass.
 */
import { BtfError } from "../errors.ts";
import type { ByteOrder } from "../elf/types.ts";
import type { BtfHeader } from "./header.ts";
import { StringTable } from "./strings.ts";
import {
  ArrayType,
  Const,
  Datasec,
  DeclTag,
  Enum,
  Float,
  Func,
  FuncProto,
  Fwd,
  Int,
  Member,
  Pointer,
  Restrict,
  Struct,
  Typedef,
  TypeTag,
  Union,
  Var,
  VarSecinfo,
  Volatile,
  type BtfType,
  type EnumValue,
  type Param,
  type TypeResolver,
} from "./types.ts";
import {
  INT_BOOL,
  INT_CHAR,
  INT_SIGNED,
  KIND,
  LINKAGE,
  MAX_KIND,
  MAX_TYPE,
  extraSize,
  TYPE_SIZE,
} from "./wire.ts";

export { type BtfHeader, btfByteOrder, readHeader } from "./header.ts";

const HOST_LE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The type section as host-order 32-bit words (zero-copy when possible). */
export function typeWords(
  bytes: Uint8Array,
  header: BtfHeader,
  byteOrder: ByteOrder,
): Uint32Array {
  const start = bytes.byteOffset + header.hdrLen + header.typeOff;
  const n = header.typeLen >>> 2;
  if ((byteOrder === "le") === HOST_LE && start % 4 === 0) {
    return new Uint32Array(bytes.buffer, start, n);
  }
  const words = new Uint32Array(n);
  new Uint8Array(words.buffer).set(
    bytes.subarray(start - bytes.byteOffset, start - bytes.byteOffset + n * 4),
  );
  if ((byteOrder === "le") !== HOST_LE) {
    for (let i = 0; i < n; i++) {
      const w = words[i];
      words[i] =
        ((w & 0xff) << 24) |
        ((w & 0xff00) << 8) |
        ((w >>> 8) & 0xff00) |
        (w >>> 24);
    }
  }
  return words;
}

// Words that follow a type's 12-byte header: vlen * EXTRA_PER_VLEN[kind] +
// EXTRA_FIXED[kind] (see wire.ts extraSize). 255 marks an unknown kind. A
// table lookup beats a switch in the hot loop of the index pass.
const EXTRA_PER_VLEN = new Uint8Array(32).fill(255);
const EXTRA_FIXED = new Uint8Array(32);
for (let k = 1; k <= MAX_KIND; k++) {
  const fixed = extraSize(k, 0);
  EXTRA_FIXED[k] = fixed / 4;
  EXTRA_PER_VLEN[k] = (extraSize(k, 1) - fixed) / 4;
}

/**
 * The index pass: word offset of every type record, in id order. Bounded by
 * the section size (every record is at least 3 words).
 */
export function indexTypes(
  words: Uint32Array,
  sectionOffset: number,
): Uint32Array {
  const n = words.length;
  const offsets = new Uint32Array(((n / 3) | 0) + 1);
  const perVlen = EXTRA_PER_VLEN;
  const fixed = EXTRA_FIXED;
  let count = 0;
  let pos = 0;
  while (pos < n) {
    if (pos + 3 > n) throw truncated(count, pos, 3, n, sectionOffset);
    const info = words[pos + 1];
    const kind = (info >>> 24) & 0x1f;
    const m = perVlen[kind];
    if (m === 255) {
      throw new BtfError(
        `type ${count + 1} has unknown kind ${kind} (info 0x${info.toString(16)})`,
        { offset: sectionOffset + pos * 4 + 4 },
      );
    }
    const next = pos + 3 + fixed[kind] + m * (info & 0xffff);
    if (next > n) throw truncated(count, pos, next - pos, n, sectionOffset);
    offsets[count++] = pos;
    pos = next;
  }
  if (count > MAX_TYPE) {
    throw new BtfError(`BTF has ${count} types; the limit is ${MAX_TYPE}`, {
      offset: sectionOffset,
    });
  }
  return offsets.subarray(0, count);
}

function truncated(
  count: number,
  pos: number,
  words: number,
  n: number,
  sectionOffset: number,
): BtfError {
  return new BtfError(
    `truncated BTF: type ${count + 1} needs ${words * 4} bytes but the type section ends ${(n - pos) * 4} bytes after its start`,
    { offset: sectionOffset + pos * 4 },
  );
}

/** Everything `decodeType` needs about one BTF blob. */
export interface TypeTable {
  /** Type section words, host order. */
  readonly words: Uint32Array;
  /** Word offset of each type, for ids `firstId ..`. */
  readonly offsets: Uint32Array;
  /** Id of `offsets[0]` (1, or the base's count + 1 for split BTF). */
  readonly firstId: number;
  /** Strings (with the base's, for split BTF). */
  readonly strings: StringTable;
  /** Byte offset of the type section in the blob, for error offsets. */
  readonly sectionOffset: number;
  /** Reference-check state per type: 0 unchecked, 1 in progress, 2 sound. */
  readonly checked: Uint8Array;
  /** The base BTF's table, for split BTF. */
  readonly base?: TypeTable;
}

/** Longest chain of references followed (the kernel's MAX_RESOLVE_DEPTH is 32). */
const MAX_DEPTH = 32;
/** Deepest by-value nesting accepted (real kernels stay far below 100). */
const MAX_NESTING = 512;

function locate(t: TypeTable, id: number): TypeTable | undefined {
  for (let x: TypeTable | undefined = t; x; x = x.base) {
    if (id >= x.firstId)
      return id - x.firstId < x.offsets.length ? x : undefined;
  }
  return undefined;
}

function rawKind(t: TypeTable, id: number): number {
  return (t.words[t.offsets[id - t.firstId] + 1] >>> 24) & 0x1f;
}

/**
 * Checks what the model's recursive helpers rely on before a type is handed
 * out: every type it refers to exists, the by-value containment graph
 * (typedef, qualifiers, var, array element, struct/union members) has no
 * cycle, and pointer/qualifier/array spelling chains end within 32 steps.
 * The kernel's verifier rejects such BTF too; checking lazily keeps a
 * corrupt input from turning into a stack overflow in `sizeOf`/`toString`.
 * Results are memoised per type, so checking every type is linear.
 */
export function checkReferences(t: TypeTable, id: number): void {
  if (id === 0) return;
  const home = locate(t, id)!;
  if (home.checked[id - home.firstId] === 2) return;
  checkSpelling(t, id);
  // Iterative DFS over by-value edges: [id, next edge index] pairs.
  const stack: number[] = [id, 0];
  home.checked[id - home.firstId] = 1;
  while (stack.length > 0) {
    const top = stack.length - 2;
    const cur = stack[top];
    const edge = stack[top + 1];
    const ct = locate(t, cur)!;
    const next = layoutEdge(ct, cur, edge);
    if (next < 0) {
      ct.checked[cur - ct.firstId] = 2;
      stack.length = top;
      continue;
    }
    stack[top + 1] = edge + 1;
    if (next === 0) continue;
    const nt = locate(t, next);
    if (!nt) throw dangling(ct, cur, next);
    const state = nt.checked[next - nt.firstId];
    if (state === 2) continue;
    if (state === 1) {
      throw new BtfError(
        `type ${next} contains itself (reference cycle through type ${cur})`,
        {
          offset: ct.sectionOffset + ct.offsets[cur - ct.firstId] * 4,
        },
      );
    }
    if (stack.length > 2 * MAX_NESTING) {
      throw new BtfError(
        `type ${id} nests types deeper than ${MAX_NESTING} levels`,
        {
          offset: ct.sectionOffset + ct.offsets[cur - ct.firstId] * 4,
        },
      );
    }
    checkSpelling(t, next);
    nt.checked[next - nt.firstId] = 1;
    stack.push(next, 0);
  }
}

/** The `edge`-th by-value reference of type `id`, 0 for void, -1 when done. */
function layoutEdge(t: TypeTable, id: number, edge: number): number {
  const pos = t.offsets[id - t.firstId];
  const w = t.words;
  const info = w[pos + 1];
  switch ((info >>> 24) & 0x1f) {
    case KIND.TYPEDEF:
    case KIND.VOLATILE:
    case KIND.CONST:
    case KIND.RESTRICT:
    case KIND.TYPE_TAG:
    case KIND.VAR:
      return edge === 0 ? w[pos + 2] : -1;
    case KIND.ARRAY:
      return edge === 0 ? w[pos + 3] : edge === 1 ? w[pos + 4] : -1;
    case KIND.STRUCT:
    case KIND.UNION:
      return edge < (info & 0xffff) ? w[pos + 3 + 3 * edge + 1] : -1;
    default:
      return -1;
  }
}

/** Pointer/qualifier/array chains (what `toString` follows) end within MAX_DEPTH. */
function checkSpelling(t: TypeTable, id: number): void {
  let cur = id;
  for (let depth = 0; depth <= MAX_DEPTH; depth++) {
    if (cur === 0) return;
    const ct = locate(t, cur);
    if (!ct)
      throw new BtfError(
        `type ${id} refers to type ${cur}, which does not exist`,
      );
    const pos = ct.offsets[cur - ct.firstId];
    switch (rawKind(ct, cur)) {
      case KIND.PTR:
      case KIND.VOLATILE:
      case KIND.CONST:
      case KIND.RESTRICT:
      case KIND.TYPE_TAG: {
        const next = ct.words[pos + 2];
        if (next !== 0 && !locate(t, next)) throw dangling(ct, cur, next);
        cur = next;
        break;
      }
      case KIND.ARRAY: {
        const next = ct.words[pos + 3];
        if (next !== 0 && !locate(t, next)) throw dangling(ct, cur, next);
        cur = next;
        break;
      }
      default:
        return;
    }
  }
  throw new BtfError(
    `type ${id}: pointer/qualifier/array chain is longer than ${MAX_DEPTH} or loops`,
  );
}

/**
 * Checks every type of `t` (not its base) at once: each type id it names
 * exists, each name offset is in the string table, and by-value chains
 * are sound (as {@link checkReferences}). libbpf trusts all of this: a
 * dangling id in an object's BTF crashes `bpf_object__open`.
 */
export function checkAllTypes(t: TypeTable): void {
  const w = t.words;
  const ref = (id: number, target: number) => {
    if (target !== 0 && !locate(t, target)) throw dangling(t, id, target);
  };
  const name = (id: number, off: number) => {
    if (!t.strings.has(off)) {
      throw new BtfError(
        `type ${id}: name offset ${off} is outside the string table (${t.strings.end} bytes)`,
        { offset: t.sectionOffset + t.offsets[id - t.firstId] * 4 },
      );
    }
  };
  for (let i = 0; i < t.offsets.length; i++) {
    const id = t.firstId + i;
    const pos = t.offsets[i];
    const info = w[pos + 1];
    const vlen = info & 0xffff;
    name(id, w[pos]);
    switch ((info >>> 24) & 0x1f) {
      case KIND.PTR:
      case KIND.TYPEDEF:
      case KIND.VOLATILE:
      case KIND.CONST:
      case KIND.RESTRICT:
      case KIND.FUNC:
      case KIND.VAR:
      case KIND.DECL_TAG:
      case KIND.TYPE_TAG:
        ref(id, w[pos + 2]);
        break;
      case KIND.ARRAY:
        ref(id, w[pos + 3]);
        ref(id, w[pos + 4]);
        break;
      case KIND.STRUCT:
      case KIND.UNION:
        for (let m = 0; m < vlen; m++) {
          name(id, w[pos + 3 + 3 * m]);
          ref(id, w[pos + 3 + 3 * m + 1]);
        }
        break;
      case KIND.ENUM:
        for (let m = 0; m < vlen; m++) name(id, w[pos + 3 + 2 * m]);
        break;
      case KIND.ENUM64:
        for (let m = 0; m < vlen; m++) name(id, w[pos + 3 + 3 * m]);
        break;
      case KIND.FUNC_PROTO:
        ref(id, w[pos + 2]);
        for (let m = 0; m < vlen; m++) {
          name(id, w[pos + 3 + 2 * m]);
          ref(id, w[pos + 3 + 2 * m + 1]);
        }
        break;
      case KIND.DATASEC:
        for (let m = 0; m < vlen; m++) ref(id, w[pos + 3 + 3 * m]);
        break;
    }
    checkReferences(t, id);
  }
}

function dangling(t: TypeTable, id: number, ref: number): BtfError {
  return new BtfError(
    `type ${id} refers to type ${ref}, which does not exist`,
    {
      offset: t.sectionOffset + t.offsets[id - t.firstId] * 4,
    },
  );
}

/** Decodes the type with id `id` (which must belong to `t`) into a model object. */
export function decodeType(t: TypeTable, id: number, r: TypeResolver): BtfType {
  const w = t.words;
  const pos = t.offsets[id - t.firstId];
  const at = t.sectionOffset + pos * 4;
  const info = w[pos + 1];
  const kind = (info >>> 24) & 0x1f;
  const vlen = info & 0xffff;
  const kflag = info >>> 31 === 1;
  const sizeOrType = w[pos + 2];
  const name = str(t, w[pos], at);
  const e = pos + 3;
  switch (kind) {
    case KIND.INT: {
      const enc = w[e];
      const encoding = (enc >>> 24) & 0x0f;
      return new Int(
        id,
        name,
        sizeOrType,
        {
          signed: (encoding & INT_SIGNED) !== 0,
          char: (encoding & INT_CHAR) !== 0,
          bool: (encoding & INT_BOOL) !== 0,
        },
        enc & 0xff,
        (enc >>> 16) & 0xff,
      );
    }
    case KIND.PTR:
      return new Pointer(id, name, r, sizeOrType);
    case KIND.ARRAY:
      return new ArrayType(id, r, w[e], w[e + 1], w[e + 2]);
    case KIND.STRUCT:
    case KIND.UNION: {
      const members: Member[] = [];
      for (let i = 0; i < vlen; i++) {
        const m = e + 3 * i;
        const off = w[m + 2];
        // kind_flag: bitfield size in the top 8 bits, bit offset in the low 24.
        members.push(
          new Member(
            r,
            str(t, w[m], at + 12 + 12 * i),
            w[m + 1],
            kflag ? off & 0xffffff : off,
            kflag ? off >>> 24 : 0,
          ),
        );
      }
      return kind === KIND.STRUCT
        ? new Struct(id, name, sizeOrType, members)
        : new Union(id, name, sizeOrType, members);
    }
    case KIND.ENUM:
    case KIND.ENUM64: {
      const values: EnumValue[] = [];
      const step = kind === KIND.ENUM ? 2 : 3;
      for (let i = 0; i < vlen; i++) {
        const v = e + step * i;
        let value: bigint;
        if (kind === KIND.ENUM) {
          value = kflag ? BigInt(w[v + 1] | 0) : BigInt(w[v + 1]);
        } else {
          const raw = (BigInt(w[v + 2]) << 32n) | BigInt(w[v + 1]);
          value = kflag ? BigInt.asIntN(64, raw) : raw;
        }
        values.push({ name: str(t, w[v], at + 12 + 4 * step * i), value });
      }
      return new Enum(
        id,
        name,
        kind === KIND.ENUM ? "enum" : "enum64",
        sizeOrType,
        kflag,
        values,
      );
    }
    case KIND.FWD:
      return new Fwd(id, name, kflag ? "union" : "struct");
    case KIND.TYPEDEF:
      return new Typedef(id, name, r, sizeOrType);
    case KIND.VOLATILE:
      return new Volatile(id, name, r, sizeOrType);
    case KIND.CONST:
      return new Const(id, name, r, sizeOrType);
    case KIND.RESTRICT:
      return new Restrict(id, name, r, sizeOrType);
    case KIND.TYPE_TAG:
      return new TypeTag(id, name, r, sizeOrType, kflag);
    case KIND.FUNC:
      return new Func(id, name, r, sizeOrType, linkage(vlen, at + 4));
    case KIND.FUNC_PROTO: {
      const params: Param[] = [];
      for (let i = 0; i < vlen; i++) {
        params.push({
          name: str(t, w[e + 2 * i], at + 12 + 8 * i),
          typeId: w[e + 2 * i + 1],
        });
      }
      return new FuncProto(id, r, sizeOrType, params);
    }
    case KIND.VAR:
      return new Var(id, name, r, sizeOrType, linkage(w[e], at + 12));
    case KIND.DATASEC: {
      const vars: VarSecinfo[] = [];
      for (let i = 0; i < vlen; i++) {
        const v = e + 3 * i;
        vars.push(new VarSecinfo(r, w[v], w[v + 1], w[v + 2]));
      }
      return new Datasec(id, name, sizeOrType, vars);
    }
    case KIND.FLOAT:
      return new Float(id, name, sizeOrType);
    case KIND.DECL_TAG:
      return new DeclTag(id, name, r, sizeOrType, w[e] | 0, kflag);
    default:
      // indexTypes rejects unknown kinds; unreachable for indexed input.
      throw new BtfError(`type ${id} has unknown kind ${kind}`, {
        offset: at + 4,
      });
  }
}

function str(t: TypeTable, off: number, at: number): string {
  if (!t.strings.has(off)) {
    throw new BtfError(
      `name offset ${off} is outside the string table (${t.strings.end} bytes)`,
      { offset: at },
    );
  }
  return t.strings.get(off);
}

function linkage(v: number, at: number): "static" | "global" | "extern" {
  const l = LINKAGE[v];
  if (l === undefined) {
    throw new BtfError(
      `linkage ${v}: expected 0 (static), 1 (global) or 2 (extern)`,
      {
        offset: at,
      },
    );
  }
  return l;
}
