/**
 * How one C type is typed and described in generated code: the TypeScript
 * type of its field (the view; plain-object and setter types are derived
 * from it by the helpers' `$Plain`/`$In`) and its spec in the class's field
 * table, which the helpers' `$def`/`$install` turn into accessors at load. Same
 * mapping as the runtime views (DESIGN.md): ints ≤ 32 bits → number, 64-bit
 * → bigint, `_Bool` → boolean, `char[N]` → string, arrays → `$ArrayView`,
 * nested struct/union → its class, enums → number (bigint when 8 bytes),
 * pointers → bigint, floats → number; anything else → raw `Uint8Array`.
 *
 * Table specs (see src/generated/struct_runtime.ts): a number is a scalar code, an identifier a
 * struct class, `"c<n>"` a char[n] string, `"r<n>"` n raw bytes,
 * `"<m><shift>:<bits>"` a bitfield (m: u/i number, U/I bigint, B boolean),
 * `[n,spec]` an array.
 */
/** Generated-code fragments for one type. */
export interface Access {
  /** TypeScript type of the field (what reading it gives). */
  readonly t: string;
  /** Spec in the field table. */
  readonly code: string;
  /** Size in bytes. */
  readonly size: number;
}

/** Scalar codes of the field table, as the helpers number them. */
export const SCALAR = {
  u8: 0,
  i8: 1,
  u16: 2,
  i16: 3,
  u32: 4,
  i32: 5,
  u64: 6,
  i64: 7,
  f32: 8,
  f64: 9,
  bool: 10,
  u128: 11,
  i128: 12,
} as const;

function scalar(code: number, t: string, size: number): Access {
  return { t, code: String(code), size };
}

const INTS: Record<number, [Access, Access]> = {
  1: [scalar(SCALAR.u8, "number", 1), scalar(SCALAR.i8, "number", 1)],
  2: [scalar(SCALAR.u16, "number", 2), scalar(SCALAR.i16, "number", 2)],
  4: [scalar(SCALAR.u32, "number", 4), scalar(SCALAR.i32, "number", 4)],
  8: [scalar(SCALAR.u64, "bigint", 8), scalar(SCALAR.i64, "bigint", 8)],
  16: [scalar(SCALAR.u128, "bigint", 16), scalar(SCALAR.i128, "bigint", 16)],
};

/** Access of an integer (or enum) of `size` bytes. */
export function intAccess(size: number, signed: boolean): Access {
  const pair = INTS[size];
  return pair ? pair[signed ? 1 : 0] : rawAccess(size);
}

/** `_Bool`. */
export const BOOL_ACCESS: Access = scalar(SCALAR.bool, "boolean", 1);

const F32 = scalar(SCALAR.f32, "number", 4);
const F64 = scalar(SCALAR.f64, "number", 8);

/** `float`/`double`; other float sizes are raw bytes. */
export function floatAccess(size: number): Access {
  return size === 4 ? F32 : size === 8 ? F64 : rawAccess(size);
}

/** `char[n]` as a string. */
export function stringAccess(n: number): Access {
  return { t: "string", code: `"c${n}"`, size: n };
}

/** A nested struct/union of generated class `cls`. */
export function structAccess(cls: string, size: number): Access {
  return { t: cls, code: cls, size };
}

/** An n-element array of `e`. */
export function arrayAccess(n: number, e: Access): Access {
  return {
    t: `$ArrayView<${e.t}>`,
    code: `[${n},${e.code}]`,
    size: n * e.size,
  };
}

/** Bytes with no better mapping, as a zero-copy `Uint8Array`. */
export function rawAccess(n: number): Access {
  return { t: "Uint8Array", code: `"r${n}"`, size: n };
}

/** A bitfield of `bits` bits at `shift` within the bytes at the offset. */
export function bitfieldAccess(
  shift: number,
  bits: number,
  signed: boolean,
  wide: boolean,
  bool: boolean,
): Access {
  const m = bool ? "B" : wide ? (signed ? "I" : "U") : signed ? "i" : "u";
  return {
    t: bool ? "boolean" : wide ? "bigint" : "number",
    code: `"${m}${shift}:${bits}"`,
    size: 0,
  };
}
