/**
 * What every generated struct class runs on (`tsbpf-gen types` and
 * skeletons): the `$Struct` base class with the view shape of DESIGN.md,
 * `$def`, which keeps a class's field table, and `$install`, which turns the
 * tables into accessors on the prototypes at load; array views, C strings,
 * bitfields, element codecs, and the `$Plain`/`$In` types derived from a
 * class's declared fields.
 *
 * One source, two uses: generated modules import these helpers from the
 * runtime (`tsbpf-gen ... --import SPEC`; skeletons always do), and
 * self-contained ones carry this file's text inline (codegen/prelude.ts reads
 * it, drops the `export`s and sets `$LE` and `$RESERVED`). So it imports
 * nothing but the reserved member names, and is written in erasable
 * TypeScript only (no enums, namespaces or parameter properties) so type
 * stripping works on the inlined copy too. Every name starts with `$`, which
 * generated type names never do, so they cannot clash; field names only ever
 * reach `Object.defineProperty` and `Map` keys as data.
 *
 * @module
 */
import { RESERVED_MEMBERS as $RESERVED } from "../btf/reserved_names.ts";

/** Byte order of the data (little-endian here; an inlined copy may say otherwise). */
const $LE = true;
// Declared here so that self-contained copies type-check without the DOM lib.
declare const TextDecoder: new () => { decode(bytes: Uint8Array): string };
declare const TextEncoder: new () => { encode(text: string): Uint8Array };
const $dec = new TextDecoder();
const $enc = new TextEncoder();

type $Bytes = Uint8Array | ArrayBuffer | DataView;
interface $Sized {
  readonly size: number;
  readonly typeName: string;
}
type $Class<T> = $Sized & {
  new (view?: DataView, byteOffset?: number, inside?: unknown): T;
};
/** The plain form of a field's value: what `toObject()` holds for it. */
export type $PlainOf<T> = T extends $Struct
  ? $Plain<T>
  : T extends $ArrayView<any, infer P, any>
    ? P[]
    : T;
/** A struct class's fields as plain data (the `XObject` types). */
export type $Plain<T> = {
  -readonly [K in Exclude<keyof T, keyof $Struct>]: $PlainOf<T[K]>;
};
/** What a field's setter accepts. */
export type $In<T> = T extends $Struct
  ? T | Partial<$Plain<T>>
  : T extends $ArrayView<any, any, infer I>
    ? ArrayLike<I>
    : T extends Uint8Array
      ? Uint8Array
      : T;

/**
 * Throws unless a struct of class `c` fits in `view` at `o`. A TypeError,
 * as for a bad value: one error class for everything a caller passes
 * wrong, as tsbpf's runtime views throw BtfTypeError for all of it.
 */
function $check(c: $Sized, view: DataView, o: number): void {
  if (!Number.isInteger(o) || o < 0 || o + c.size > view.byteLength)
    $badOffset(c, view, o);
}

/** What {@link $check} throws (kept out of it: a small function inlines). */
function $badOffset(c: $Sized, view: DataView, o: number): never {
  if (!(Number.isInteger(o) && o >= 0)) {
    throw new TypeError(
      `${c.typeName}: byteOffset must be a non-negative integer, got ${$show(o)}`,
    );
  }
  throw new TypeError(
    `${c.typeName} needs ${c.size} bytes at byteOffset ${o}, but the buffer has ${view.byteLength}`,
  );
}

/** A value as an error message shows it. */
function $show(x: unknown): string {
  if (typeof x === "string") return JSON.stringify(x);
  if (typeof x === "bigint") return `${x}n`;
  if (x instanceof Uint8Array) return `a Uint8Array of ${x.length} bytes`;
  if (typeof x === "object" && x !== null) {
    const k = $viewClass(x);
    return k ? `a view of ${k.typeName}` : "an object";
  }
  return String(x);
}

/**
 * Throws for a value field `n` of `t` (an array element when `t` is null)
 * cannot hold: setters check, as tsbpf's runtime struct views do, instead
 * of letting DataView wrap or coerce it.
 */
function $bad(
  t: $Struct | null,
  n: string,
  want: string,
  x: unknown,
  note?: string,
): never {
  throw new TypeError(
    `${$where(t, n)}: expected ${want}, got ${$show(x)}${note ? ` (${note})` : ""}`,
  );
}

/**
 * `$bad` for an integer: a string is most likely an enumerator's name,
 * which the runtime views take; here enum fields are typed as their
 * numbers (knowing the enum would cost a table entry per field).
 */
function $badInt(
  t: $Struct | null,
  n: string,
  want: string,
  x: unknown,
): never {
  return $bad(
    t,
    n,
    want,
    x,
    typeof x === "string"
      ? "for an enum field, pass the enumerator's number (from the module's enum object), not its name"
      : undefined,
  );
}

/** Field `n` of `t` (an array element when `t` is null), as errors name it. */
function $where(t: $Struct | null, n: string): string {
  return t
    ? `field '${n}' of ${(t.constructor as unknown as $Sized).typeName}`
    : "array element";
}

/**
 * The class of `x` when `x` is a struct view (it has `$bytes()`): its
 * `size` and `typeName` if it has them, as generated classes (of any
 * module) and tsbpf's runtime views do; null for another kind of view
 * (an array's); undefined when `x` is no view.
 */
function $viewClass(x: object): $Sized | null | undefined {
  if (typeof (x as { $bytes?: unknown }).$bytes !== "function") return;
  const k = (x as { constructor?: Partial<$Sized> }).constructor;
  return k && typeof k.size === "number" && typeof k.typeName === "string"
    ? (k as $Sized)
    : null;
}

/** Range and name of the integer scalar codes 0..5. */
const $INT: readonly (readonly [number, number, string])[] = [
  [0, 0xff, "u8"],
  [-0x80, 0x7f, "s8"],
  [0, 0xffff, "u16"],
  [-0x8000, 0x7fff, "s16"],
  [0, 0xffffffff, "u32"],
  [-0x80000000, 0x7fffffff, "s32"],
];

const $U64 = 0xffffffffffffffffn;
const $S64_MIN = -0x8000000000000000n;
const $S64_MAX = 0x7fffffffffffffffn;

/**
 * `x` if it is an integer of scalar code `c` (0..5), else throws. Setters
 * test the common case inline first (e.g. `(x & 0xff) === x`, false for
 * anything but an integer in range) and call this only otherwise.
 */
function $int(x: unknown, c: number, t: $Struct | null, n: string): number {
  const r = $INT[c] as readonly [number, number, string];
  if (typeof x === "number" && Number.isInteger(x) && x >= r[0] && x <= r[1])
    return x;
  return $badInt(t, n, `${r[2]} (an integer in ${r[0]}..${r[1]})`, x);
}

/** `x` as a bigint of `bits` bits (a bigint, or a safe-integer number), else throws. */
function $bigint(
  x: unknown,
  bits: number,
  signed: boolean,
  t: $Struct | null,
  n: string,
): bigint {
  const b =
    typeof x === "bigint"
      ? x
      : typeof x === "number" && Number.isSafeInteger(x)
        ? BigInt(x)
        : undefined;
  if (
    b !== undefined &&
    (signed ? BigInt.asIntN(bits, b) : BigInt.asUintN(bits, b)) === b
  )
    return b;
  return $badInt(
    t,
    n,
    `${signed ? "s" : "u"}${bits} (a bigint${bits <= 64 ? " or a safe integer" : ""} in range)`,
    x,
  );
}

/** `x` as a bitfield of `bits` bits (≤ 32), else throws. */
function $bits(
  x: unknown,
  bits: number,
  signed: boolean,
  t: $Struct | null,
  n: string,
): number {
  const lo = signed ? -(2 ** (bits - 1)) : 0;
  const hi = signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  if (typeof x === "number" && Number.isInteger(x) && x >= lo && x <= hi)
    return x;
  return $badInt(t, n, `a ${bits}-bit integer in ${lo}..${hi}`, x);
}

/** 1 or 0 for a boolean (or 1/0), else throws. */
function $flag(x: unknown, t: $Struct | null, n: string): number {
  if (x === true || x === 1) return 1;
  if (x === false || x === 0) return 0;
  return $bad(t, n, "a boolean", x);
}

/** `x` if it is a number, else throws. */
function $float(x: unknown, t: $Struct | null, n: string): number {
  return typeof x === "number" ? x : $bad(t, n, "a number", x);
}

/** One field: name, getter, setter and plain copy of a read value. */
interface $Field {
  readonly n: string;
  readonly g: (this: $Struct) => any;
  readonly s: (this: $Struct, x: any) => void;
  readonly p: (x: any) => unknown;
}
interface $Fields {
  readonly list: readonly $Field[];
  readonly byName: Map<string, $Field>;
}
/** Passed by the helpers to `$Struct`'s constructor for a view known to fit. */
const $INSIDE: unique symbol = Symbol("tsbpf.inside");
/** Where a class's prototype keeps its fields (a symbol: never a field name). */
const $F: unique symbol = Symbol("tsbpf.fields");

/** Base of the generated struct classes: a view over `size` bytes at `$offset` of `$view`. */
export class $Struct {
  /** `sizeof` the C type (set by `$def`). */
  declare static readonly size: number;
  /** The C type's name (set by `$def`). */
  declare static readonly typeName: string;
  /** The bytes the struct is read from and written to. */
  readonly $view: DataView;
  /** Where the struct starts in `$view`. */
  readonly $offset: number;
  /**
   * Without arguments: a zeroed struct over its own bytes; else a view
   * over `view` at `byteOffset`, bounds-checked as by `from`. (`inside` is
   * the helpers' own: nested structs, known to fit, skip the check.)
   */
  constructor(view?: DataView, byteOffset = 0, inside?: unknown) {
    if (view === undefined)
      view = new DataView(
        new ArrayBuffer((new.target as unknown as $Sized).size),
      );
    else if (inside !== $INSIDE)
      $check(new.target as unknown as $Sized, view, byteOffset);
    this.$view = view;
    this.$offset = byteOffset;
  }
  /** A view over `bytes` at `byteOffset` (zero-copy, bounds-checked). */
  static from<T>(this: $Class<T>, bytes: $Bytes, byteOffset = 0): T {
    let view: DataView;
    try {
      view =
        bytes instanceof DataView
          ? bytes
          : ArrayBuffer.isView(bytes)
            ? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
            : new DataView(bytes);
    } catch (e) {
      const buffer =
        bytes instanceof ArrayBuffer || ArrayBuffer.isView(bytes as object);
      throw new TypeError(
        `${this.typeName}.from: ${buffer ? "cannot view these bytes: was the buffer transferred?" : `expected a Uint8Array, ArrayBuffer or DataView, got ${$show(bytes)}`}`,
        { cause: e },
      );
    }
    $check(this, view, byteOffset);
    return new this(view, byteOffset, $INSIDE);
  }
  /** Re-aims this view at other bytes without allocating. */
  $repoint(view: DataView, byteOffset: number): this {
    $check(this.constructor as unknown as $Sized, view, byteOffset);
    (this as { $view: DataView }).$view = view;
    (this as { $offset: number }).$offset = byteOffset;
    return this;
  }
  /** The struct's bytes (a view, no copy). */
  $bytes(): Uint8Array {
    const v = this.$view;
    return new Uint8Array(
      v.buffer,
      v.byteOffset + this.$offset,
      (this.constructor as unknown as $Sized).size,
    );
  }
  /** Reads a field by name (also fields whose names collide with members). */
  $get(name: string): unknown {
    return $field(this, name).g.call(this);
  }
  /** Writes a field by name. */
  $set(name: string, value: unknown): void {
    $field(this, name).s.call(this, value);
  }
  /** A detached plain copy (nested structs and arrays plain too). */
  toObject(): $Plain<this> {
    const r: Record<string, unknown> = {};
    for (const f of (this as unknown as { [$F]: $Fields })[$F].list) {
      const x = f.p(f.g.call(this));
      if (f.n === "__proto__") {
        Object.defineProperty(r, f.n, {
          value: x,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else r[f.n] = x;
    }
    return r as $Plain<this>;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): unknown {
    return this.toObject();
  }
  [Symbol.for("Deno.customInspect")](
    inspect: (v: unknown, o: unknown) => string,
    options: unknown,
  ): string {
    return inspect(this.toObject(), options);
  }
}
Object.defineProperty($Struct.prototype, $F, {
  value: { list: [], byName: new Map() },
});

/** Field `name` of the class of `t`. */
function $field(t: $Struct, name: string): $Field {
  const f = (t as unknown as { [$F]: $Fields })[$F].byName.get(name);
  if (f) return f;
  throw new TypeError(
    `${(t.constructor as unknown as $Sized).typeName} has no field ${JSON.stringify(name)}`,
  );
}

/** A field spec of a class's table (see codegen/access.ts). */
type $Spec = number | string | $Class<$Struct> | readonly [number, $Spec];

function $id<T>(x: T): T {
  return x;
}

/** The accessor pair of a field at byte offset `o`. */
function $make(n: string, o: number, t: $Spec): $Field {
  let g: (this: $Struct) => any;
  let s: (this: $Struct, x: any) => void;
  let p: (x: any) => unknown = $id;
  if (typeof t === "number") {
    // prettier-ignore
    switch (t) {
      case 0: g = function () { return this.$view.getUint8(this.$offset + o); }; s = function (x) { this.$view.setUint8(this.$offset + o, typeof x === "number" && (x & 0xff) === x ? x : $int(x, 0, this, n)); }; break;
      case 1: g = function () { return this.$view.getInt8(this.$offset + o); }; s = function (x) { this.$view.setInt8(this.$offset + o, typeof x === "number" && (x << 24) >> 24 === x ? x : $int(x, 1, this, n)); }; break;
      case 2: g = function () { return this.$view.getUint16(this.$offset + o, $LE); }; s = function (x) { this.$view.setUint16(this.$offset + o, typeof x === "number" && (x & 0xffff) === x ? x : $int(x, 2, this, n), $LE); }; break;
      case 3: g = function () { return this.$view.getInt16(this.$offset + o, $LE); }; s = function (x) { this.$view.setInt16(this.$offset + o, typeof x === "number" && (x << 16) >> 16 === x ? x : $int(x, 3, this, n), $LE); }; break;
      case 4: g = function () { return this.$view.getUint32(this.$offset + o, $LE); }; s = function (x) { this.$view.setUint32(this.$offset + o, typeof x === "number" && x >>> 0 === x ? x : $int(x, 4, this, n), $LE); }; break;
      case 5: g = function () { return this.$view.getInt32(this.$offset + o, $LE); }; s = function (x) { this.$view.setInt32(this.$offset + o, typeof x === "number" && (x | 0) === x ? x : $int(x, 5, this, n), $LE); }; break;
      case 6: g = function () { return this.$view.getBigUint64(this.$offset + o, $LE); }; s = function (x) { this.$view.setBigUint64(this.$offset + o, typeof x === "bigint" && x >= 0n && x <= $U64 ? x : $bigint(x, 64, false, this, n), $LE); }; break;
      case 7: g = function () { return this.$view.getBigInt64(this.$offset + o, $LE); }; s = function (x) { this.$view.setBigInt64(this.$offset + o, typeof x === "bigint" && x >= $S64_MIN && x <= $S64_MAX ? x : $bigint(x, 64, true, this, n), $LE); }; break;
      case 8: g = function () { return this.$view.getFloat32(this.$offset + o, $LE); }; s = function (x) { this.$view.setFloat32(this.$offset + o, typeof x === "number" ? x : $float(x, this, n), $LE); }; break;
      case 9: g = function () { return this.$view.getFloat64(this.$offset + o, $LE); }; s = function (x) { this.$view.setFloat64(this.$offset + o, typeof x === "number" ? x : $float(x, this, n), $LE); }; break;
      case 10: g = function () { return this.$view.getUint8(this.$offset + o) !== 0; }; s = function (x) { this.$view.setUint8(this.$offset + o, x === true ? 1 : x === false ? 0 : $flag(x, this, n)); }; break;
      default: {
        const signed = t === 12;
        g = function () {
          return $i128(this.$view, this.$offset + o, signed);
        };
        s = function (x) {
          $setI128(this.$view, this.$offset + o, $bigint(x, 128, signed, this, n));
        };
      }
    }
  } else if (typeof t === "function") {
    const C = t;
    g = function () {
      return new C(this.$view, this.$offset + o, $INSIDE);
    };
    s = function (x) {
      $assign(new C(this.$view, this.$offset + o, $INSIDE), x, this, n);
    };
    p = (x: $Struct) => x.toObject();
  } else if (typeof t === "string") {
    const m = t.charCodeAt(0);
    const colon = t.indexOf(":");
    const a = Number(t.slice(1, colon < 0 ? undefined : colon));
    if (m === 99 /* c */) {
      g = function () {
        return $str(this.$view, this.$offset + o, a);
      };
      s = function (x) {
        $setStr(this.$view, this.$offset + o, a, x, this, n);
      };
    } else if (m === 114 /* r */) {
      g = function () {
        return new Uint8Array(
          this.$view.buffer,
          this.$view.byteOffset + this.$offset + o,
          a,
        );
      };
      s = function (x) {
        $setRaw(this.$view, this.$offset + o, a, x, this, n);
      };
      p = (x: Uint8Array) => x.slice();
    } else {
      const bits = Number(t.slice(colon + 1));
      if (m === 85 /* U */ || m === 73 /* I */) {
        const signed = m === 73;
        g = function () {
          return $bf64(this.$view, this.$offset + o, a, bits, signed);
        };
        s = function (x) {
          const b = $bigint(x, bits, signed, this, n);
          $setBf64(this.$view, this.$offset + o, a, bits, b);
        };
      } else {
        const signed = m === 105; /* i */
        const bool = m === 66; /* B */
        g = bool
          ? function () {
              return $bf(this.$view, this.$offset + o, a, bits, false) !== 0;
            }
          : function () {
              return $bf(this.$view, this.$offset + o, a, bits, signed);
            };
        s = function (x) {
          const b = bool ? $flag(x, this, n) : $bits(x, bits, signed, this, n);
          $setBf(this.$view, this.$offset + o, a, bits, b);
        };
      }
    }
  } else {
    const len = t[0];
    const e = $codec(t[1]);
    g = function () {
      return $arr(this.$view, this.$offset + o, len, e);
    };
    s = function (x) {
      $fill($arr(this.$view, this.$offset + o, len, e), x, this, n);
    };
    p = (x: $ArrayView<unknown>) => x.toArray();
  }
  return { n, g, s, p };
}

type $Table = readonly (string | number | $Spec)[];
const $tables: [$Class<$Struct>, $Table][] = [];

/**
 * Sets the statics of class `C` (`size`, `typeName`) and keeps its field
 * table, (name, byte offset, spec) triples, for `$install`.
 */
export function $def(
  C: $Class<$Struct>,
  size: number,
  typeName: string,
  table: $Table,
): void {
  Object.defineProperty(C, "size", { value: size, enumerable: true });
  Object.defineProperty(C, "typeName", { value: typeName, enumerable: true });
  $tables.push([C, table]);
}

/**
 * Installs the accessors of every class given to `$def` since the last call,
 * once all sizes are set (an array of structs needs its element's): a
 * generated module's body declares its classes, calls `$def` for each, then
 * `$install()` once. Names colliding with view
 * members are reachable with `$get`/`$set` only; all are in `toObject()`.
 */
export function $install(): void {
  for (const [C, table] of $tables) {
    const list: $Field[] = [];
    const byName = new Map<string, $Field>();
    const proto = (C as unknown as { prototype: object }).prototype;
    for (let i = 0; i < table.length; i += 3) {
      const f = $make(
        table[i] as string,
        table[i + 1] as number,
        table[i + 2] as $Spec,
      );
      list.push(f);
      byName.set(f.n, f);
      if (!$RESERVED.has(f.n))
        Object.defineProperty(proto, f.n, {
          get: f.g,
          set: f.s,
          enumerable: true,
        });
    }
    Object.defineProperty(proto, $F, { value: { list, byName } });
  }
  $tables.length = 0;
}

/** The element codec of a table spec. */
function $codec(t: $Spec): $Codec<any, any, any> {
  if (typeof t === "number") return $SCALARS[t]!;
  if (typeof t === "function") return $sc(t);
  if (typeof t === "string")
    return t.charCodeAt(0) === 99
      ? $strc(Number(t.slice(1)))
      : $rawc(Number(t.slice(1)));
  return $ac(t[0], $codec(t[1]));
}

/** Reads and writes one array element of a type at a byte offset. */
interface $Codec<T, P, I> {
  readonly size: number;
  g(v: DataView, o: number): T;
  s(v: DataView, o: number, x: I): void;
  p(x: T): P;
}

/**
 * A fixed-length C array over bytes: `a[i]`, `get(i)`/`set(i, x)`, `length`,
 * iteration, `toArray()` (a detached plain copy), `$bytes()`.
 */
export class $ArrayView<T, P = $PlainOf<T>, I = $In<T>> {
  [i: number]: T;
  readonly $view: DataView;
  readonly $offset: number;
  readonly length: number;
  private readonly $e: $Codec<T, P, I>;
  constructor(
    view: DataView,
    byteOffset: number,
    length: number,
    codec: $Codec<T, P, I>,
  ) {
    this.$view = view;
    this.$offset = byteOffset;
    this.length = length;
    this.$e = codec;
  }
  private $at(i: number): number {
    if (!(Number.isInteger(i) && i >= 0 && i < this.length)) {
      throw new TypeError(
        `index ${i} is outside the array's 0..${this.length - 1}`,
      );
    }
    return this.$offset + i * this.$e.size;
  }
  /** Element `i`. */
  get(i: number): T {
    return this.$e.g(this.$view, this.$at(i));
  }
  /** Writes element `i`. */
  set(i: number, x: I): void {
    this.$e.s(this.$view, this.$at(i), x);
  }
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
  /** A detached plain copy (nested structs and arrays plain too). */
  toArray(): P[] {
    const out: P[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.$e.p(this.get(i)));
    return out;
  }
  /** The array's bytes (a view, no copy). */
  $bytes(): Uint8Array {
    return new Uint8Array(
      this.$view.buffer,
      this.$view.byteOffset + this.$offset,
      this.length * this.$e.size,
    );
  }
}

/**
 * Indexes up to this one get accessors on the class prototype; the rest
 * reach `$guard` instead: defining millions of accessors for a large array
 * would cost far more than the occasional slow access.
 */
const $MAX_INDEXED = 4096;
type $AnyArray = $ArrayView<unknown, unknown, unknown>;
type $ArrayClass = new (
  v: DataView,
  o: number,
  n: number,
  e: $Codec<unknown, unknown, unknown>,
) => $AnyArray;
const $arrayClasses = new Map<number, $ArrayClass>();

/**
 * `k` as a number when it is a canonical numeric string ("3", "-1", "1.5"),
 * as typed arrays define it: such keys are indexes, never ordinary
 * properties.
 */
function $index(k: string | symbol): number | undefined {
  if (typeof k !== "string" || k === "") return undefined;
  const i = Number(k);
  return String(i) === k ? i : undefined;
}

/**
 * The last prototype of every array view, as in tsbpf's runtime views: it
 * sees the reads and writes of numeric keys that no accessor answered.
 * In-range indexes past `$MAX_INDEXED` are served through `get`/`set`,
 * out-of-range writes throw (a plain object would silently gain a
 * property), and out-of-range reads give undefined, as for typed arrays.
 * In the prototype chain rather than around each view, it costs the
 * accessors of in-range indexes nothing.
 */
const $guard: object = new Proxy(
  {},
  {
    get(target, k, receiver) {
      const i = $index(k);
      if (i === undefined) return Reflect.get(target, k, receiver);
      return receiver instanceof $ArrayView &&
        Number.isInteger(i) &&
        i >= 0 &&
        i < receiver.length
        ? receiver.get(i)
        : undefined;
    },
    set(target, k, x, receiver) {
      const i = $index(k);
      if (i === undefined || !(receiver instanceof $ArrayView))
        return Reflect.set(target, k, x, receiver);
      receiver.set(i, x);
      return true;
    },
  },
);
Object.setPrototypeOf($ArrayView.prototype, $guard);

/** An array view of `n` elements of codec `e` at `o`. */
function $arr<T, P, I>(
  v: DataView,
  o: number,
  n: number,
  e: $Codec<T, P, I>,
): $ArrayView<T, P, I> {
  let C = $arrayClasses.get(n);
  if (!C) {
    const K = class extends $ArrayView<unknown, unknown, unknown> {};
    for (let i = 0; i < Math.min(n, $MAX_INDEXED); i++) {
      Object.defineProperty(K.prototype, i, {
        get(this: $AnyArray) {
          return this.get(i);
        },
        set(this: $AnyArray, x: unknown) {
          this.set(i, x);
        },
      });
    }
    $arrayClasses.set(n, (C = K));
  }
  return new C(v, o, n, e as $Codec<unknown, unknown, unknown>) as $ArrayView<
    T,
    P,
    I
  >;
}

/**
 * Writes all elements of `a` from `xs`: an array-like of exactly its length,
 * or a Uint8Array of exactly its bytes (as the runtime views take them).
 */
function $fill<T, P, I>(
  a: $ArrayView<T, P, I>,
  xs: unknown,
  t: $Struct | null = null,
  name = "",
): void {
  const b = a.$bytes();
  if (xs instanceof Uint8Array && xs.length === b.length) {
    b.set(xs);
    return;
  }
  const l = xs as ArrayLike<I> | null;
  if (typeof l !== "object" || l === null || l.length !== a.length) {
    return $bad(
      t,
      name,
      `an array of ${a.length} elements or a Uint8Array of ${b.length} bytes`,
      xs,
    );
  }
  for (let i = 0; i < l.length; i++) a.set(i, l[i] as I);
}

/** Reads a NUL-terminated string of at most `n` bytes. */
function $str(v: DataView, o: number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const c = v.getUint8(o + i);
    if (c === 0) return s;
    if (c > 127) {
      let end = i;
      while (end < n && v.getUint8(o + end) !== 0) end++;
      return (
        s + $dec.decode(new Uint8Array(v.buffer, v.byteOffset + o + i, end - i))
      );
    }
    s += String.fromCharCode(c);
  }
  return s;
}

/**
 * Writes `s` as UTF-8, truncated to `n` bytes on a character boundary,
 * NUL-padded; or the bytes of a Uint8Array of at most `n` bytes.
 */
function $setStr(
  v: DataView,
  o: number,
  n: number,
  s: unknown,
  t: $Struct | null = null,
  name = "",
): void {
  let b: Uint8Array;
  let len: number;
  if (typeof s === "string") {
    b = $enc.encode(s);
    len = b.length;
    if (len > n) {
      len = n;
      while (len > 0 && ((b[len] as number) & 0xc0) === 0x80) len--;
    }
  } else if (s instanceof Uint8Array && s.length <= n) {
    b = s;
    len = s.length;
  } else {
    return $bad(
      t,
      name,
      `char[${n}] (a string or a Uint8Array of at most ${n} bytes)`,
      s,
    );
  }
  for (let i = 0; i < n; i++) v.setUint8(o + i, i < len ? (b[i] as number) : 0);
}

/** Copies a Uint8Array of exactly `n` bytes to `o` (as the runtime views take opaque bytes). */
function $setRaw(
  v: DataView,
  o: number,
  n: number,
  x: unknown,
  t: $Struct | null = null,
  name = "",
): void {
  if (!(x instanceof Uint8Array && x.length === n)) {
    return $bad(t, name, `a Uint8Array of ${n} bytes`, x);
  }
  new Uint8Array(v.buffer, v.byteOffset + o, n).set(x);
}

/** Raw bytes of the bitfield's storage, as an unsigned integer, and its bit position in it. */
function $bfSpan(
  v: DataView,
  o: number,
  shift: number,
  bits: number,
): [bigint, bigint] {
  const nb = (shift + bits + 7) >> 3;
  let raw = 0n;
  for (let i = 0; i < nb; i++) {
    const b = BigInt(v.getUint8(o + ($LE ? nb - 1 - i : i)));
    raw = (raw << 8n) | b;
  }
  return [raw, BigInt($LE ? shift : nb * 8 - shift - bits)];
}

/** Reads a bitfield of up to 64 bits as bigint. */
function $bf64(
  v: DataView,
  o: number,
  shift: number,
  bits: number,
  signed: boolean,
): bigint {
  const [raw, pos] = $bfSpan(v, o, shift, bits);
  const x = (raw >> pos) & ((1n << BigInt(bits)) - 1n);
  return signed ? BigInt.asIntN(bits, x) : x;
}

/** Writes a bitfield of up to 64 bits (wraps like C). */
function $setBf64(
  v: DataView,
  o: number,
  shift: number,
  bits: number,
  x: bigint,
): void {
  const [raw, pos] = $bfSpan(v, o, shift, bits);
  const mask = ((1n << BigInt(bits)) - 1n) << pos;
  let out = (raw & ~mask) | ((BigInt.asUintN(bits, x) << pos) & mask);
  const nb = (shift + bits + 7) >> 3;
  for (let i = 0; i < nb; i++) {
    v.setUint8(o + ($LE ? i : nb - 1 - i), Number(out & 0xffn));
    out >>= 8n;
  }
}

/** Reads a bitfield of up to 32 bits as number. */
function $bf(
  v: DataView,
  o: number,
  shift: number,
  bits: number,
  signed: boolean,
): number {
  const nb = (shift + bits + 7) >> 3;
  let raw = 0;
  for (let i = 0; i < nb; i++)
    raw = raw * 256 + v.getUint8(o + ($LE ? nb - 1 - i : i));
  const pos = $LE ? shift : nb * 8 - shift - bits;
  const m = 2 ** bits;
  const x = Math.floor(raw / 2 ** pos) % m;
  return signed && x >= m / 2 ? x - m : x;
}

/** Writes a bitfield of up to 32 bits (wraps like C). */
function $setBf(
  v: DataView,
  o: number,
  shift: number,
  bits: number,
  x: number,
): void {
  $setBf64(v, o, shift, bits, BigInt(Math.trunc(x) || 0));
}

/** Reads a 128-bit integer. */
function $i128(v: DataView, o: number, signed: boolean): bigint {
  const lo = v.getBigUint64(o + ($LE ? 0 : 8), $LE);
  const hi = v.getBigUint64(o + ($LE ? 8 : 0), $LE);
  const x = (hi << 64n) | lo;
  return signed ? BigInt.asIntN(128, x) : x;
}

/** Writes a 128-bit integer (wraps like C). */
function $setI128(v: DataView, o: number, x: bigint): void {
  v.setBigUint64(o + ($LE ? 0 : 8), BigInt.asUintN(64, x), $LE);
  v.setBigUint64(o + ($LE ? 8 : 0), BigInt.asUintN(64, x >> 64n), $LE);
}

/**
 * Copies into `t` a view of its type, a Uint8Array of its size, or the
 * fields of a plain object; `owner`/`name` name the field for errors. A
 * view of its type is one of the same class, or of a class with the same
 * `typeName` and `size` (the type as another generated module or tsbpf's
 * runtime views have it); any other view is refused, never mixed in.
 */
function $assign(
  t: $Struct,
  x: unknown,
  owner: $Struct | null,
  name: string,
): void {
  const c = t.constructor as unknown as $Class<$Struct>;
  if (x instanceof Uint8Array && x.length === c.size) {
    t.$bytes().set(x);
    return;
  }
  const want = `${c.typeName} (a view of ${c.typeName}, a plain object or a Uint8Array of ${c.size} bytes)`;
  if (
    typeof x !== "object" ||
    x === null ||
    Array.isArray(x) ||
    ArrayBuffer.isView(x)
  ) {
    return $bad(owner, name, want, x);
  }
  const k = $viewClass(x);
  if (k !== undefined) {
    if (k !== c && !(k && k.size === c.size && k.typeName === c.typeName))
      return $bad(owner, name, want, x);
    t.$bytes().set((x as $Struct).$bytes());
    return;
  }
  // Like a C compound literal: fields not given are zero. Built in a
  // scratch struct, so a bad key or value leaves `t` as it was, and values
  // that are views of `t`'s own bytes are read before `t` changes.
  const s = new c();
  const byName = (s as unknown as { [$F]: $Fields })[$F].byName;
  for (const key of Object.keys(x)) {
    const f = byName.get(key);
    if (!f)
      throw new TypeError(
        `${$where(owner, name)}: ${c.typeName} has no field ${JSON.stringify(key)}`,
      );
    f.s.call(s, (x as Record<string, unknown>)[key]);
  }
  t.$bytes().set(s.$bytes());
}

function $num(
  size: number,
  g: (v: DataView, o: number) => number,
  s: (v: DataView, o: number, x: number) => void,
): $Codec<number, number, number> {
  return { size, g, s, p: $id };
}
function $big(
  size: number,
  g: (v: DataView, o: number) => bigint,
  s: (v: DataView, o: number, x: bigint) => void,
): $Codec<bigint, bigint, bigint> {
  return { size, g, s, p: $id };
}
const $u8 = $num(
  1,
  (v, o) => v.getUint8(o),
  (v, o, x) =>
    v.setUint8(
      o,
      typeof x === "number" && (x & 0xff) === x ? x : $int(x, 0, null, ""),
    ),
);
const $i8 = $num(
  1,
  (v, o) => v.getInt8(o),
  (v, o, x) =>
    v.setInt8(
      o,
      typeof x === "number" && (x << 24) >> 24 === x ? x : $int(x, 1, null, ""),
    ),
);
const $u16 = $num(
  2,
  (v, o) => v.getUint16(o, $LE),
  (v, o, x) =>
    v.setUint16(
      o,
      typeof x === "number" && (x & 0xffff) === x ? x : $int(x, 2, null, ""),
      $LE,
    ),
);
const $i16 = $num(
  2,
  (v, o) => v.getInt16(o, $LE),
  (v, o, x) =>
    v.setInt16(
      o,
      typeof x === "number" && (x << 16) >> 16 === x ? x : $int(x, 3, null, ""),
      $LE,
    ),
);
const $u32 = $num(
  4,
  (v, o) => v.getUint32(o, $LE),
  (v, o, x) =>
    v.setUint32(
      o,
      typeof x === "number" && x >>> 0 === x ? x : $int(x, 4, null, ""),
      $LE,
    ),
);
const $i32 = $num(
  4,
  (v, o) => v.getInt32(o, $LE),
  (v, o, x) =>
    v.setInt32(
      o,
      typeof x === "number" && (x | 0) === x ? x : $int(x, 5, null, ""),
      $LE,
    ),
);
const $f32 = $num(
  4,
  (v, o) => v.getFloat32(o, $LE),
  (v, o, x) => v.setFloat32(o, $float(x, null, ""), $LE),
);
const $f64 = $num(
  8,
  (v, o) => v.getFloat64(o, $LE),
  (v, o, x) => v.setFloat64(o, $float(x, null, ""), $LE),
);
const $u64 = $big(
  8,
  (v, o) => v.getBigUint64(o, $LE),
  (v, o, x) => v.setBigUint64(o, $bigint(x, 64, false, null, ""), $LE),
);
const $i64 = $big(
  8,
  (v, o) => v.getBigInt64(o, $LE),
  (v, o, x) => v.setBigInt64(o, $bigint(x, 64, true, null, ""), $LE),
);
const $u128 = $big(
  16,
  (v, o) => $i128(v, o, false),
  (v, o, x) => $setI128(v, o, $bigint(x, 128, false, null, "")),
);
const $s128 = $big(
  16,
  (v, o) => $i128(v, o, true),
  (v, o, x) => $setI128(v, o, $bigint(x, 128, true, null, "")),
);
const $bool: $Codec<boolean, boolean, boolean> = {
  size: 1,
  g: (v, o) => v.getUint8(o) !== 0,
  s: (v, o, x) => v.setUint8(o, $flag(x, null, "")),
  p: $id,
};
/** Scalar codecs by table code. */
const $SCALARS: readonly $Codec<any, any, any>[] = [
  $u8,
  $i8,
  $u16,
  $i16,
  $u32,
  $i32,
  $u64,
  $i64,
  $f32,
  $f64,
  $bool,
  $u128,
  $s128,
];
/** Codec of char[n] as a string. */
function $strc(n: number): $Codec<string, string, string> {
  return {
    size: n,
    g: (v, o) => $str(v, o, n),
    s: (v, o, x) => $setStr(v, o, n, x),
    p: $id,
  };
}
/** Codec of n bytes the generator has no better type for. */
function $rawc(n: number): $Codec<Uint8Array, Uint8Array, Uint8Array> {
  return {
    size: n,
    g: (v, o) => new Uint8Array(v.buffer, v.byteOffset + o, n),
    s: (v, o, x) => $setRaw(v, o, n, x),
    p: (x) => x.slice(),
  };
}
/** Codec of a struct class. */
function $sc<T extends $Struct & { toObject(): unknown }>(
  c: $Class<T>,
): $Codec<
  T,
  ReturnType<T["toObject"]>,
  T | Partial<ReturnType<T["toObject"]>>
> {
  return {
    size: c.size,
    g: (v, o) => new c(v, o, $INSIDE),
    s: (v, o, x) => $assign(new c(v, o, $INSIDE), x, null, ""),
    p: (x) => x.toObject() as ReturnType<T["toObject"]>,
  };
}
/** Codec of an n-element array. */
function $ac<T, P, I>(
  n: number,
  e: $Codec<T, P, I>,
): $Codec<$ArrayView<T, P, I>, P[], ArrayLike<I>> {
  return {
    size: n * e.size,
    g: (v, o) => $arr(v, o, n, e),
    s: (v, o, x) => $fill($arr(v, o, n, e), x),
    p: (x) => x.toArray(),
  };
}
