/**
 * Codecs: encode/decode one value of a BTF type, a layout or a struct class
 * to and from bytes. Maps (keys, values) and globals use them; the maps
 * layer wraps errors with the map's name.
 *
 * Values follow the struct views' mapping (they share cells): ints ≤ 32
 * bits → number, 64-bit → bigint (a safe-integer number is accepted on
 * encode), `char[N]` → string, enums → number, structs/unions → a view over
 * a private copy, numeric arrays → typed arrays, other arrays → arrays.
 */
import { BtfTypeError } from "../errors.ts";
import { type BtfType, resolveType } from "./types.ts";
import { type Cell, isCharType } from "./cells.ts";
import { type LayoutSpec, layoutType } from "./layout.ts";
import {
  type StructClass,
  type ViewOptions,
  cellOf,
  isStructClass,
} from "./views.ts";

/** Encodes and decodes values of one type. */
export interface Codec<T = unknown> {
  /** Size of an encoded value in bytes. */
  readonly size: number;
  /** What it encodes: "u32", "struct exec_event", "char[16]". */
  readonly description: string;
  /** A detached value (a struct decodes to a view over a copy). */
  decode(bytes: Uint8Array, offset?: number): T;
  /**
   * Writes `value` at `offset` of `into`. A Uint8Array of exactly `size`
   * bytes is always accepted as the encoded form. Throws BtfTypeError
   * describing what was expected.
   */
  encode(value: T | Uint8Array, into: Uint8Array, offset?: number): void;
}

type TypedArrayCtor = {
  new (n: number): ArrayLike<unknown> & { [i: number]: unknown };
};

const TYPED: Partial<Record<string, TypedArrayCtor>> = {
  u8: Uint8Array,
  s8: Int8Array,
  u16: Uint16Array,
  s16: Int16Array,
  u32: Uint32Array,
  s32: Int32Array,
  u64: BigUint64Array,
  s64: BigInt64Array,
  f32: Float32Array,
  f64: Float64Array,
};

function dataView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function checkRoom(
  what: string,
  size: number,
  bytes: unknown,
  offset: number,
): void {
  if (!(bytes instanceof Uint8Array))
    throw new BtfTypeError(
      `${what}: expected a Uint8Array to hold ${size} bytes`,
    );
  if (
    !(Number.isInteger(offset) && offset >= 0 && offset + size <= bytes.length)
  )
    throw new BtfTypeError(
      `${what}: needs ${size} bytes at offset ${offset}, buffer has ${bytes.length}`,
    );
}

function makeCodec(type: BtfType, cell: Cell, options?: ViewOptions): Codec {
  const r = resolveType(type);
  const { size, description } = cell;
  let decodeAt: (v: DataView, o: number, bytes: Uint8Array) => unknown;
  if (r.kind === "struct" || r.kind === "union") {
    decodeAt = (_v, o, bytes) =>
      cell.read(dataView(bytes.slice(o, o + size)), 0);
  } else if (r.kind === "array") {
    const elem = cellOf(r.element, options);
    const Typed =
      elem.prim && elem.prim !== "bool" ? TYPED[elem.prim] : undefined;
    if (isCharType(r.element)) {
      decodeAt = (v, o) => cell.read(v, o);
    } else if (Typed) {
      decodeAt = (v, o) => {
        const out = new Typed(r.length);
        for (let i = 0; i < r.length; i++)
          out[i] = elem.read(v, o + i * elem.size);
        return out;
      };
    } else {
      const inner = makeCodec(r.element, elem, options);
      decodeAt = (_v, o, bytes) => {
        const out = new Array(r.length);
        for (let i = 0; i < r.length; i++)
          out[i] = inner.decode(bytes, o + i * elem.size);
        return out;
      };
    }
  } else {
    decodeAt = (v, o) => cell.read(v, o);
  }
  return {
    size,
    description,
    decode(bytes, offset = 0) {
      checkRoom(`decoding ${description}`, size, bytes, offset);
      return decodeAt(dataView(bytes), offset, bytes);
    },
    encode(value, into, offset = 0) {
      checkRoom(`encoding ${description}`, size, into, offset);
      if (value instanceof Uint8Array && value.length === size) {
        into.set(value, offset);
        return;
      }
      cell.write(dataView(into), offset, value, `value of type ${description}`);
    },
  };
}

/** The codec of a BTF type (typedefs and qualifiers followed). */
export function codecForType(type: BtfType, options?: ViewOptions): Codec {
  if (typeof type !== "object" || type === null || !("kind" in type)) {
    throw new BtfTypeError(
      `codecForType takes a BTF type (e.g. btf.type(name)), got ${type === null ? "null" : typeof type}`,
    );
  }
  return makeCodec(type, cellOf(type, options), options);
}

/**
 * The codec of a hand-written type: a string ("u32", "u64", "char[16]",
 * "u32[4]"), a layout object, or a struct class (`btf.struct(name)`,
 * `layout(spec)`), whose byte order it keeps.
 */
export function codecForLayout(
  spec: string | LayoutSpec | StructClass,
  options?: ViewOptions,
): Codec {
  if (isStructClass(spec))
    return codecForType(spec.type, {
      littleEndian: spec.littleEndian,
      ...options,
    });
  return codecForType(layoutType(spec, options), options);
}
