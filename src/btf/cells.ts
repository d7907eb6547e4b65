/**
 * Cells: how one value of a BTF type is read from and written to bytes.
 *
 * A {@link Cell} is the single place that knows the mapping of a type to a
 * JavaScript value (ints ≤ 32 bits → number, 64-bit → bigint, `char[N]` →
 * string, arrays → array views, ...). Struct views (`views.ts`) and codecs
 * (`codec.ts`) are both built from cells, so they cannot disagree.
 *
 * Structs and unions are not handled here: the caller passes a hook that
 * makes their cell (views.ts), which keeps this file below views.ts.
 */
import { BtfError, BtfTypeError } from "../errors.ts";
import {
  type ArrayType,
  type BtfType,
  type Enum,
  type Int,
  type Struct,
  type Union,
  resolveType,
  sizeOf,
} from "./types.ts";

/** Scalar kinds that are one DataView call (used by generated accessors). */
export type Prim =
  | "u8"
  | "s8"
  | "u16"
  | "s16"
  | "u32"
  | "s32"
  | "u64"
  | "s64"
  | "f32"
  | "f64"
  | "bool";

/** Reads and writes one value of a type at a byte offset of a DataView. */
export interface Cell {
  /** Size in bytes. */
  readonly size: number;
  /** What the value is, for messages: "__u32", "char[16]", "struct exec_event". */
  readonly description: string;
  /** Set when read/write are a single DataView call of this kind. */
  readonly prim?: Prim;
  /** True when `write` accepts more than `prim` does (enum names). */
  readonly customWrite?: boolean;
  /** The live value: primitives, strings, or views over the same bytes. */
  read(view: DataView, offset: number): unknown;
  /** A detached value: primitives, strings, plain arrays and objects. */
  plain(view: DataView, offset: number): unknown;
  /** Validates and stores `value`; `what` names the target in errors. */
  write(view: DataView, offset: number, value: unknown, what: string): void;
}

/** DataView method names and ranges of the scalar kinds. */
export const PRIMS: Readonly<
  Record<
    Prim,
    {
      readonly get: string;
      readonly set: string;
      readonly size: number;
      readonly min: number | bigint;
      readonly max: number | bigint;
    }
  >
> = {
  u8: { get: "getUint8", set: "setUint8", size: 1, min: 0, max: 0xff },
  s8: { get: "getInt8", set: "setInt8", size: 1, min: -0x80, max: 0x7f },
  u16: { get: "getUint16", set: "setUint16", size: 2, min: 0, max: 0xffff },
  s16: { get: "getInt16", set: "setInt16", size: 2, min: -0x8000, max: 0x7fff },
  u32: { get: "getUint32", set: "setUint32", size: 4, min: 0, max: 0xffffffff },
  s32: {
    get: "getInt32",
    set: "setInt32",
    size: 4,
    min: -0x80000000,
    max: 0x7fffffff,
  },
  u64: {
    get: "getBigUint64",
    set: "setBigUint64",
    size: 8,
    min: 0n,
    max: 0xffffffffffffffffn,
  },
  s64: {
    get: "getBigInt64",
    set: "setBigInt64",
    size: 8,
    min: -0x8000000000000000n,
    max: 0x7fffffffffffffffn,
  },
  f32: { get: "getFloat32", set: "setFloat32", size: 4, min: 0, max: 0 },
  f64: { get: "getFloat64", set: "setFloat64", size: 8, min: 0, max: 0 },
  bool: { get: "getUint8", set: "setUint8", size: 1, min: 0, max: 1 },
};

/** Short rendering of a bad value for error messages. */
export function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "string")
    return JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v);
  if (v === null || v === undefined) return String(v);
  if (typeof v === "object")
    return v.constructor?.name ? `a ${v.constructor.name}` : "an object";
  if (typeof v === "number") return String(v);
  return `${typeof v} ${String(v)}`;
}

/** What a scalar kind accepts, in words. */
export function expectation(prim: Prim): string {
  const p = PRIMS[prim];
  if (prim === "bool") return "a boolean";
  if (prim === "f32" || prim === "f64") return "a number";
  if (p.size === 8)
    return `a bigint (or safe-integer number) in ${p.min}..${p.max}`;
  return `an integer in ${p.min}..${p.max}`;
}

/** Throws the standard "expected X, got Y" error. */
export function badValue(
  what: string,
  description: string,
  expected: string,
  value: unknown,
): never {
  throw new BtfTypeError(
    `${what}: expected ${description} (${expected}), got ${show(value)}`,
  );
}

/**
 * Coerces a value for a 64-bit field: a bigint, or a number that is a safe
 * integer. Range is checked by the caller.
 */
export function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isSafeInteger(value))
    return BigInt(value);
  return undefined;
}

/** Validates a scalar and returns what to pass to the DataView setter. */
export function checkPrim(
  prim: Prim,
  value: unknown,
  what: string,
  description: string,
): number | bigint {
  const p = PRIMS[prim];
  switch (prim) {
    case "bool":
      if (value === true || value === 1) return 1;
      if (value === false || value === 0) return 0;
      break;
    case "f32":
    case "f64":
      if (typeof value === "number") return value;
      break;
    case "u64":
    case "s64": {
      const b = toBigInt(value);
      if (b !== undefined && b >= (p.min as bigint) && b <= (p.max as bigint))
        return b;
      break;
    }
    default:
      if (
        typeof value === "number" &&
        Number.isInteger(value) &&
        value >= (p.min as number) &&
        value <= (p.max as number)
      )
        return value;
  }
  return badValue(what, description, expectation(prim), value);
}

/** A cell for one scalar kind. */
export function primCell(
  prim: Prim,
  le: boolean,
  description: string = prim,
): Cell {
  const p = PRIMS[prim];
  const get = p.get as "getUint32";
  const set = p.set as "setUint32";
  const read =
    prim === "bool"
      ? (v: DataView, o: number) => v.getUint8(o) !== 0
      : (v: DataView, o: number) => v[get](o, le);
  return {
    size: p.size,
    description,
    prim,
    read,
    plain: read,
    write(v, o, x, what) {
      const c = checkPrim(prim, x, what, description);
      (v[set] as (o: number, x: number | bigint, le: boolean) => void)(
        o,
        c,
        le,
      );
    },
  };
}

/** The scalar kind of an int or enum, or undefined (e.g. __int128). */
export function primOfInt(t: Int | Enum): Prim | undefined {
  if (t.kind === "int" && t.encoding.bool && t.size === 1) return "bool";
  const s = t.signed ? "s" : "u";
  switch (t.size) {
    case 1:
      return `${s}8`;
    case 2:
      return `${s}16`;
    case 4:
      return `${s}32`;
    case 8:
      return `${s}64`;
  }
  return undefined;
}

/** True when `t` is a one-byte char (so `t[N]` maps to a string). */
export function isCharType(t: BtfType): boolean {
  const r = resolveType(t);
  return (
    r.kind === "int" && r.size === 1 && (r.encoding.char || r.name === "char")
  );
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Reads a NUL-terminated string of at most `n` bytes (UTF-8). */
export function readCString(v: DataView, o: number, n: number): string {
  // ASCII fast path: comm and most kernel strings are ASCII, and building a
  // short string here is cheaper than a subarray + TextDecoder call.
  let s = "";
  for (let i = 0; i < n; i++) {
    const b = v.getUint8(o + i);
    if (b === 0) return s;
    if (b > 0x7f) {
      let end = i;
      while (end < n && v.getUint8(o + end) !== 0) end++;
      return decoder.decode(new Uint8Array(v.buffer, v.byteOffset + o, end));
    }
    s += String.fromCharCode(b);
  }
  return s;
}

/**
 * Writes `value` into `char[n]` as C's strncpy does: at most n bytes of
 * UTF-8 (never a partial character), the rest NUL. A string of exactly n
 * bytes has no terminator, as in C.
 */
function writeCString(
  v: DataView,
  o: number,
  n: number,
  value: unknown,
  what: string,
): void {
  const dst = new Uint8Array(v.buffer, v.byteOffset + o, n);
  if (typeof value === "string") {
    const { written } = encoder.encodeInto(value, dst);
    dst.fill(0, written);
  } else if (value instanceof Uint8Array && value.length <= n) {
    dst.set(value);
    dst.fill(0, value.length);
  } else {
    badValue(
      what,
      `char[${n}]`,
      `a string or a Uint8Array of at most ${n} bytes`,
      value,
    );
  }
}

function charArrayCell(n: number): Cell {
  const read = (v: DataView, o: number) => readCString(v, o, n);
  return {
    size: n,
    description: `char[${n}]`,
    read,
    plain: read,
    write: (v, o, x, what) => writeCString(v, o, n, x, what),
  };
}

/** Bytes of a type this library does not interpret (long double, __int128...). */
function opaqueCell(size: number, description: string): Cell {
  return {
    size,
    description,
    read: (v, o) => new Uint8Array(v.buffer, v.byteOffset + o, size),
    plain: (v, o) => new Uint8Array(v.buffer, v.byteOffset + o, size).slice(),
    write(v, o, x, what) {
      if (!(x instanceof Uint8Array) || x.length !== size)
        badValue(what, description, `a Uint8Array of ${size} bytes`, x);
      new Uint8Array(v.buffer, v.byteOffset + o, size).set(x);
    },
  };
}

/** Enumerator name → value and value → name, as TypeScript enums do. */
export type EnumMap = Readonly<Record<string, number | bigint | string>>;

/**
 * The enumerators of an enum as a two-way map (`m.EV_EXEC`, `m[1]`).
 * Values of enums wider than 4 bytes are bigint. Names win over values,
 * and the first of several enumerators with one name or value wins (only
 * corrupt BTF repeats a name).
 */
export function enumMap(t: Enum): EnumMap {
  const m: Record<string, number | bigint | string> = Object.create(null);
  const big = t.size > 4;
  const value = (x: bigint) => (big ? x : Number(x));
  for (const e of t.values)
    if (!(e.name in m))
      Object.defineProperty(m, e.name, {
        value: value(e.value),
        enumerable: true,
      });
  for (const e of t.values) {
    const key = String(value(e.value));
    if (!(key in m))
      Object.defineProperty(m, key, { value: e.name, enumerable: false });
  }
  return Object.freeze(m);
}

function enumCell(t: Enum, le: boolean): Cell {
  const prim = primOfInt(t);
  const description = String(t);
  if (!prim) return opaqueCell(t.size, description);
  const base = primCell(prim, le, description);
  const names = enumMap(t);
  return {
    ...base,
    customWrite: true,
    write(v, o, x, what) {
      if (typeof x === "string") {
        const value = Object.prototype.hasOwnProperty.call(names, x)
          ? names[x]
          : undefined;
        if (value === undefined || typeof value === "string")
          badValue(
            what,
            description,
            `a number or one of ${Object.keys(names).join(", ")}`,
            x,
          );
        x = value;
      }
      base.write(v, o, x, what);
    },
  };
}

/** A 128-bit integer as bigint (two 64-bit halves). */
function int128Cell(t: Int, le: boolean): Cell {
  const description = String(t);
  const lo = le ? 0 : 8;
  const hi = le ? 8 : 0;
  const min = t.signed ? -(1n << 127n) : 0n;
  const max = t.signed ? (1n << 127n) - 1n : (1n << 128n) - 1n;
  const read = (v: DataView, o: number) => {
    const x = (v.getBigUint64(o + hi, le) << 64n) | v.getBigUint64(o + lo, le);
    return t.signed ? BigInt.asIntN(128, x) : x;
  };
  return {
    size: 16,
    description,
    read,
    plain: read,
    write(v, o, x, what) {
      const b = toBigInt(x);
      if (b === undefined || b < min || b > max)
        badValue(what, description, `a bigint in ${min}..${max}`, x);
      const u = BigInt.asUintN(128, b);
      v.setBigUint64(o + lo, BigInt.asUintN(64, u), le);
      v.setBigUint64(o + hi, u >> 64n, le);
    },
  };
}

/**
 * A bitfield of `bits` bits at `bitOffset` (from the start of the struct;
 * the cell is read with the struct's own offset). In little-endian BTF bit
 * 0 is the least significant bit of byte 0; in big-endian BTF it is the
 * most significant one (as clang numbers them).
 */
export function bitfieldCell(
  base: Int | Enum,
  bitOffset: number,
  bits: number,
  le: boolean,
  description: string,
  size = 0,
): Cell {
  if (bits < 1 || bits > 64)
    throw new BtfError(`bitfield of ${bits} bits is not supported`);
  const byte = bitOffset >>> 3;
  const shift = bitOffset & 7;
  const nbytes = (shift + bits + 7) >>> 3;
  const isBool = base.kind === "int" && base.encoding.bool;
  const big = base.size > 4;
  const signed = base.signed && !isBool;
  // Position of the field's least significant bit in the nbytes-long integer.
  const pos = le ? shift : nbytes * 8 - shift - bits;
  const width = 2 ** bits;
  const raw = (v: DataView, o: number): bigint => {
    let x = 0n;
    for (let i = 0; i < nbytes; i++) {
      const b = BigInt(v.getUint8(o + byte + i));
      x |= le ? b << BigInt(8 * i) : b << BigInt(8 * (nbytes - 1 - i));
    }
    return x;
  };
  const read = big
    ? (v: DataView, o: number): unknown => {
        const x = BigInt.asUintN(bits, raw(v, o) >> BigInt(pos));
        return signed ? BigInt.asIntN(bits, x) : x;
      }
    : (v: DataView, o: number): unknown => {
        // nbytes ≤ 5 here: the integer stays below 2^40, exact in a double.
        let x = 0;
        for (let i = 0; i < nbytes; i++) {
          const b = v.getUint8(o + byte + i);
          x += le ? b * 2 ** (8 * i) : b * 2 ** (8 * (nbytes - 1 - i));
        }
        let val = Math.floor(x / 2 ** pos) % width;
        if (signed && val >= width / 2) val -= width;
        return isBool ? val !== 0 : val;
      };
  const min = signed ? -(2n ** BigInt(bits - 1)) : 0n;
  const max = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
  const expected = isBool
    ? "a boolean"
    : `${big ? "a bigint" : "an integer"} in ${min}..${max} (${bits}-bit bitfield)`;
  return {
    size,
    description,
    read,
    plain: read,
    write(v, o, x, what) {
      let b: bigint | undefined;
      if (isBool)
        b =
          x === true || x === 1 ? 1n : x === false || x === 0 ? 0n : undefined;
      else if (big) b = toBigInt(x);
      else if (typeof x === "number" && Number.isInteger(x)) b = BigInt(x);
      if (b === undefined || b < min || b > max)
        badValue(what, description, expected, x);
      const mask = ((1n << BigInt(bits)) - 1n) << BigInt(pos);
      const y =
        (raw(v, o) & ~mask) | ((BigInt.asUintN(bits, b) << BigInt(pos)) & mask);
      for (let i = 0; i < nbytes; i++) {
        const sh = le ? 8 * i : 8 * (nbytes - 1 - i);
        v.setUint8(o + byte + i, Number((y >> BigInt(sh)) & 0xffn));
      }
    },
  };
}

/**
 * Indexes below this get their own accessor on the array class's prototype
 * (the fast path). Higher indexes of longer arrays, and every index out of
 * range, reach {@link indexGuard} instead: defining millions of accessors
 * for a large array would cost far more than the occasional slow access.
 */
const MAX_INDEXED = 4096;

/**
 * A property key that is a canonical numeric string ("3", "-1", "1.5"), as
 * typed arrays define it: such keys are indexes, never ordinary properties.
 */
function numericKey(key: string | symbol): number | undefined {
  if (typeof key !== "string" || key === "") return undefined;
  const n = Number(key);
  return String(n) === key ? n : undefined;
}

/**
 * The last prototype of every array view: property lookups that the
 * accessors on the class prototype did not answer end here. A Proxy in the
 * prototype chain (not around each view) costs nothing on the fast path,
 * yet sees every read and write of a numeric key that has no accessor:
 * in-range indexes past {@link MAX_INDEXED} are served through `get`/`set`,
 * out-of-range writes throw BtfTypeError (a plain object would silently
 * gain a property), and out-of-range reads give undefined, as for typed
 * arrays.
 */
const indexGuard: object = new Proxy(
  {},
  {
    get(target, key, receiver) {
      const i = numericKey(key);
      if (i === undefined) return Reflect.get(target, key, receiver);
      return receiver instanceof ArrayView &&
        Number.isInteger(i) &&
        i >= 0 &&
        i < receiver.length
        ? receiver.get(i)
        : undefined;
    },
    set(target, key, value, receiver) {
      const i = numericKey(key);
      if (i === undefined || !(receiver instanceof ArrayView))
        return Reflect.set(target, key, value, receiver);
      receiver.set(i, value);
      return true;
    },
  },
);

/**
 * A live, fixed-length view of a C array: `a[i]` reads and writes the
 * bytes, `a.length`, iteration, `get(i)`, `set(i, v)`, `toArray()`.
 * `a[i] = v` validates like `set(i, v)`: a bad value or an index outside
 * 0..length-1 throws BtfTypeError. Reading `a[i]` out of range gives
 * undefined (as for typed arrays); `get(i)` throws.
 */
export class ArrayView<T = unknown> implements Iterable<T> {
  /** The bytes it is over. */
  $view: DataView;
  /** Byte offset of element 0 in `$view`. */
  $offset: number;
  /** Number of elements. */
  declare readonly length: number;
  /** The element cell (internal). */
  declare protected readonly $cell: Cell;
  /** The array's C spelling, for errors (internal). */
  declare protected readonly $description: string;

  /** @internal Use the struct getter, not `new`. */
  constructor(view: DataView, offset: number) {
    this.$view = view;
    this.$offset = offset;
  }

  /** Element `i`; throws BtfTypeError when out of range. */
  get(i: number): T {
    this.$check(i);
    return this.$cell.read(this.$view, this.$offset + i * this.$cell.size) as T;
  }

  /** Stores element `i`, validating the value; throws BtfTypeError when out of range. */
  set(i: number, value: T): void {
    this.$check(i);
    this.$cell.write(
      this.$view,
      this.$offset + i * this.$cell.size,
      value,
      `element [${i}] of ${this.$description}`,
    );
  }

  /** A detached plain array (nested arrays and structs become plain too). */
  toArray(): unknown[] {
    const out = new Array(this.length);
    const c = this.$cell;
    for (let i = 0; i < this.length; i++)
      out[i] = c.plain(this.$view, this.$offset + i * c.size);
    return out;
  }

  /** The array's bytes (a view, no copy). */
  $bytes(): Uint8Array {
    return new Uint8Array(
      this.$view.buffer,
      this.$view.byteOffset + this.$offset,
      this.length * this.$cell.size,
    );
  }

  /** The elements in order (live values, as `get(i)` returns them). */
  *[Symbol.iterator](): Iterator<T> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  /** Logged (console.log, Node's util.inspect) as its plain elements. */
  [Symbol.for("nodejs.util.inspect.custom")](): unknown {
    return this.toArray();
  }

  /** Logged under Deno as its plain elements. */
  [Symbol.for("Deno.customInspect")](
    inspect: (v: unknown, o: unknown) => string,
    options: unknown,
  ): string {
    return inspect(this.toArray(), options);
  }

  private $check(i: number): void {
    if (!(Number.isInteger(i) && i >= 0 && i < this.length))
      throw new BtfTypeError(
        `index ${show(i)} out of range for ${this.$description}`,
      );
  }
}
Object.setPrototypeOf(ArrayView.prototype, indexGuard);

function arrayViewClass(elem: Cell, length: number, description: string) {
  class A extends ArrayView {}
  Object.defineProperty(A.prototype, "length", { value: length });
  Object.defineProperty(A.prototype, "$cell", { value: elem });
  Object.defineProperty(A.prototype, "$description", { value: description });
  const stride = elem.size;
  for (let i = 0, n = Math.min(length, MAX_INDEXED); i < n; i++) {
    const at = i * stride;
    Object.defineProperty(A.prototype, i, {
      get(this: ArrayView) {
        return elem.read(this.$view, this.$offset + at);
      },
      set(this: ArrayView, x: unknown) {
        this.set(i, x);
      },
    });
  }
  return (v: DataView, o: number): ArrayView => new A(v, o);
}

/** The cell of an array; `description` is its C spelling (`__u32[3][4]`). */
function arrayCell(elem: Cell, length: number, description: string): Cell {
  let make: ((v: DataView, o: number) => ArrayView) | undefined;
  const size = elem.size * length;
  return {
    size,
    description,
    read: (v, o) => (make ??= arrayViewClass(elem, length, description))(v, o),
    plain(v, o) {
      const out = new Array(length);
      for (let i = 0; i < length; i++)
        out[i] = elem.plain(v, o + i * elem.size);
      return out;
    },
    write(v, o, x, what) {
      if (x instanceof Uint8Array && x.length === size) {
        new Uint8Array(v.buffer, v.byteOffset + o, size).set(x);
        return;
      }
      const a = x as ArrayLike<unknown> | undefined;
      if (
        a === null ||
        typeof a !== "object" ||
        typeof a.length !== "number" ||
        a.length !== length
      )
        badValue(
          what,
          description,
          `an array of ${length} elements or a Uint8Array of ${size} bytes`,
          x,
        );
      const get =
        x instanceof ArrayView ? (i: number) => x.get(i) : (i: number) => a[i];
      for (let i = 0; i < length; i++)
        elem.write(v, o + i * elem.size, get(i), `${what}[${i}]`);
    },
  };
}

/** Makes the cell of a struct or union (supplied by views.ts). */
export type CompositeHook = (t: Struct | Union) => Cell;

/**
 * Builds and caches cells for one byte order. Caches by type object, so a
 * type seen again (nested, repeated fields) costs nothing.
 */
export class Cells {
  private readonly cache = new WeakMap<BtfType, Cell>();

  constructor(
    /** Byte order of the bytes the cells will read. */
    readonly littleEndian: boolean,
    private readonly composite: CompositeHook,
  ) {}

  /** The cell of a type (typedefs and qualifiers followed). */
  of(t: BtfType): Cell {
    let c = this.cache.get(t);
    if (!c) {
      c = this.make(t);
      this.cache.set(t, c);
    }
    return c;
  }

  private make(t: BtfType): Cell {
    const r = resolveType(t);
    const le = this.littleEndian;
    const description = String(t);
    switch (r.kind) {
      case "int": {
        const prim = primOfInt(r);
        if (prim && r.bits === r.size * 8)
          return primCell(prim, le, description);
        if (r.encoding.bool && r.size === 1)
          return primCell("bool", le, description);
        if (r.size === 16) return int128Cell(r, le);
        if (r.bits < r.size * 8 || r.bitOffset)
          return bitfieldCell(r, r.bitOffset, r.bits, le, description, r.size);
        return opaqueCell(r.size, description);
      }
      case "enum":
      case "enum64":
        return enumCell(r, le);
      case "ptr":
        return primCell("u64", le, description);
      case "float":
        if (r.size === 4) return primCell("f32", le, description);
        if (r.size === 8) return primCell("f64", le, description);
        return opaqueCell(r.size, description);
      case "array":
        return this.array(r);
      case "struct":
      case "union":
        return this.composite(r);
      default:
        return opaqueCell(sizeOf(r), description);
    }
  }

  private array(r: ArrayType): Cell {
    if (isCharType(r.element)) return charArrayCell(r.length);
    const elem = this.of(r.element);
    // Elements of no size (empty structs, void) hold no bytes however many
    // there are: a per-element view of 2^32 of them would never finish.
    if (elem.size === 0) return opaqueCell(0, String(r));
    return arrayCell(elem, r.length, String(r));
  }
}
