/**
 * How one C type is read and written by generated code: the TypeScript
 * types of a field (view, plain object, setter input), the expressions of
 * its getter and setter, and its element codec for arrays. Same mapping as
 * the runtime views (DESIGN.md): ints ≤ 32 bits → number, 64-bit → bigint,
 * `_Bool` → boolean, `char[N]` → string, arrays → `$ArrayView`, nested
 * struct/union → its class, enums → number (bigint when 8 bytes),
 * pointers → bigint, floats → number; anything else → raw `Uint8Array`.
 */
/** Generated-code fragments for one type. */
export interface Access {
  /** Type of the getter (the view). */
  readonly t: string;
  /** Type in the `toObject()` result. */
  readonly p: string;
  /** Type the setter accepts. */
  readonly i: string;
  /** Size in bytes. */
  readonly size: number;
  /** Expression reading the value at absolute offset expression `o`. */
  get(o: string): string;
  /** Statement writing `x` at `o`. */
  set(o: string, x: string): string;
  /** Expression turning the getter's value `x` into its plain form. */
  plain(x: string): string;
  /** Expression of the element codec (for arrays of this type). */
  readonly codec: string;
}

const V = "this.$view";

function dataView(
  method: string,
  t: string,
  size: number,
  le: string,
  codec: string,
): Access {
  const e = size > 1 ? le : "";
  return {
    t,
    p: t,
    i: t,
    size,
    get: (o) => `${V}.get${method}(${o}${e})`,
    set: (o, x) => `${V}.set${method}(${o}, ${x}${e});`,
    plain: (x) => x,
    codec,
  };
}

const INT_METHODS: Record<number, [string, string, string, string]> = {
  1: ["Uint8", "Int8", "$u8", "$i8"],
  2: ["Uint16", "Int16", "$u16", "$i16"],
  4: ["Uint32", "Int32", "$u32", "$i32"],
  8: ["BigUint64", "BigInt64", "$u64", "$i64"],
};

/** Access of an integer (or enum) of `size` bytes. */
export function intAccess(size: number, signed: boolean, le: string): Access {
  const m = INT_METHODS[size];
  if (m) {
    return dataView(
      signed ? m[1] : m[0],
      size === 8 ? "bigint" : "number",
      size,
      le,
      signed ? m[3] : m[2],
    );
  }
  if (size === 16) {
    return {
      t: "bigint",
      p: "bigint",
      i: "bigint",
      size,
      get: (o) => `$i128(${V}, ${o}, ${signed})`,
      set: (o, x) => `$setI128(${V}, ${o}, ${x});`,
      plain: (x) => x,
      codec: signed ? "$s128" : "$u128",
    };
  }
  return rawAccess(size);
}

/** `_Bool`. */
export const BOOL_ACCESS: Access = {
  t: "boolean",
  p: "boolean",
  i: "boolean",
  size: 1,
  get: (o) => `${V}.getUint8(${o}) !== 0`,
  set: (o, x) => `${V}.setUint8(${o}, ${x} ? 1 : 0);`,
  plain: (x) => x,
  codec: "$bool",
};

/** `float`/`double`; other float sizes are raw bytes. */
export function floatAccess(size: number, le: string): Access {
  if (size === 4) return dataView("Float32", "number", 4, le, "$f32");
  if (size === 8) return dataView("Float64", "number", 8, le, "$f64");
  return rawAccess(size);
}

/** `char[n]` as a string. */
export function stringAccess(n: number): Access {
  return {
    t: "string",
    p: "string",
    i: "string",
    size: n,
    get: (o) => `$str(${V}, ${o}, ${n})`,
    set: (o, x) => `$setStr(${V}, ${o}, ${n}, ${x});`,
    plain: (x) => x,
    codec: `$strc(${n})`,
  };
}

/** A nested struct/union of generated class `cls`. */
export function structAccess(cls: string, size: number): Access {
  return {
    t: cls,
    p: `${cls}Object`,
    i: `${cls} | Partial<${cls}Object>`,
    size,
    get: (o) => `new ${cls}(${V}, ${o})`,
    set: (o, x) => `$assign(new ${cls}(${V}, ${o}), ${x});`,
    plain: (x) => `${x}.toObject()`,
    codec: `$sc(${cls})`,
  };
}

/** An n-element array of `e`. */
export function arrayAccess(n: number, e: Access): Access {
  const t =
    e.t === e.p && e.t === e.i
      ? `$ArrayView<${e.t}>`
      : `$ArrayView<${e.t}, ${e.p}, ${e.i}>`;
  const view = (o: string) => `$arr(${V}, ${o}, ${n}, ${e.codec})`;
  return {
    t,
    p: `${e.p.includes("|") ? `(${e.p})` : e.p}[]`,
    i: `ArrayLike<${e.i}>`,
    size: n * e.size,
    get: view,
    set: (o, x) => `$fill(${view(o)}, ${x});`,
    plain: (x) => `${x}.toArray()`,
    codec: `$ac(${n}, ${e.codec})`,
  };
}

/** Bytes with no better mapping, as a zero-copy `Uint8Array`. */
export function rawAccess(n: number): Access {
  const bytes = (o: string) =>
    `new Uint8Array(${V}.buffer, ${V}.byteOffset + ${o}, ${n})`;
  return {
    t: "Uint8Array",
    p: "Uint8Array",
    i: "ArrayLike<number>",
    size: n,
    get: bytes,
    set: (o, x) => `${bytes(o)}.set(${x});`,
    plain: (x) => `${x}.slice()`,
    codec: `$rawc(${n})`,
  };
}

/** A bitfield of `bits` bits at `shift` within the bytes at the offset. */
export function bitfieldAccess(
  shift: number,
  bits: number,
  signed: boolean,
  wide: boolean,
  bool: boolean,
): Access {
  const args = `${shift}, ${bits}`;
  if (bool) {
    return {
      t: "boolean",
      p: "boolean",
      i: "boolean",
      size: 0,
      get: (o) => `$bf(${V}, ${o}, ${args}, false) !== 0`,
      set: (o, x) => `$setBf(${V}, ${o}, ${args}, ${x} ? 1 : 0);`,
      plain: (x) => x,
      codec: "$bool",
    };
  }
  const t = wide ? "bigint" : "number";
  const f = wide ? "Bf64" : "Bf";
  return {
    t,
    p: t,
    i: t,
    size: 0,
    get: (o) => `$${f.toLowerCase()}(${V}, ${o}, ${args}, ${signed})`,
    set: (o, x) => `$set${f}(${V}, ${o}, ${args}, ${x});`,
    plain: (x) => x,
    codec: "$u8",
  };
}
