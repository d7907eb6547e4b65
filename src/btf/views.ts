/**
 * Struct views: a class per BTF struct or union whose instances read and
 * write a struct's fields directly in someone else's bytes (zero copy).
 * `btf.struct(name)` returns one; `layout(spec)` builds one from a
 * hand-written layout. The shape is the one in docs/DESIGN.md ("Struct
 * views and generated classes: one shape"), shared with codegen.
 *
 * Accessors are defined once per class on its prototype. Where the runtime
 * allows `new Function`, each class gets its own generated getter/setter
 * bodies so property loads stay monomorphic per class (a ring buffer reader
 * decoding millions of records through one view depends on that). Only
 * numbers this file computed are ever written into generated source; field
 * names (hostile input: they come from BTF) are attached with
 * Object.defineProperty and used as data.
 */
import { BtfError, BtfTypeError } from "../errors.ts";
import {
  type BtfType,
  type Struct,
  type Union,
  memberBits,
  resolveType,
} from "./types.ts";
import { RESERVED_MEMBERS as RESERVED } from "./reserved_names.ts";
import {
  type Cell,
  type EnumMap,
  PRIMS,
  badValue,
  bitfieldCell,
  Cells,
  enumMap,
  expectation,
  show,
  toBigInt,
} from "./cells.ts";

/** The members every struct view has, besides its fields. */
export interface StructView {
  /** The bytes it is over. */
  readonly $view: DataView;
  /** Byte offset of the struct in `$view`. */
  readonly $offset: number;
  /** The struct's bytes: a subarray of `$view`'s buffer, no copy. */
  $bytes(): Uint8Array;
  /**
   * Re-aims this view at `byteOffset` of `view`, without allocating. For
   * readers that decode many records through one view. Throws BtfTypeError
   * when the struct would not fit.
   */
  $repoint(view: DataView, byteOffset: number): this;
  /** A plain, detached copy: nested structs become objects, arrays arrays. */
  toObject(): Record<string, unknown>;
  /** Reads a field by name (also fields whose names collide with members). */
  $get(name: string): unknown;
  /** Writes a field by name, validating the value. */
  $set(name: string, value: unknown): void;
}

/** A struct view with its fields (typed by codegen; `any` at runtime). */
// deno-lint-ignore no-explicit-any
export type AnyStructView = StructView & { [field: string]: any };

/** One field as a view class exposes it (anonymous members flattened). */
export interface ViewField {
  /** Name; reachable as a property unless `accessor` is false. */
  readonly name: string;
  /** Byte offset from the start of the struct (bitfields: of their first byte). */
  readonly offset: number;
  /** Size in bytes (0 for bitfields). */
  readonly size: number;
  /** Offset in bits from the start of the struct. */
  readonly bitOffset: number;
  /** Bitfield width; 0 when not a bitfield. */
  readonly bitSize: number;
  /** C type, e.g. "__u32", "char[16]", "struct inner". */
  readonly description: string;
  /**
   * False when the name collides with a view member (`toObject`,
   * `constructor`, `$view`, `__proto__`, ...): read it with `$get(name)`,
   * write it with `$set(name, v)`; `toObject()` includes it.
   */
  readonly accessor: boolean;
}

/** A class made from a BTF struct or union (see docs/DESIGN.md). */
export interface StructClass<T extends StructView = AnyStructView> {
  /** A zeroed struct that owns its bytes. */
  new (): T;
  readonly prototype: T;
  /** sizeof, in bytes. */
  readonly size: number;
  /** C name, e.g. "exec_event"; "" for an anonymous struct. */
  readonly typeName: string;
  /** "struct" or "union". */
  readonly kind: "struct" | "union";
  /** The BTF type it was made from. */
  readonly type: Struct | Union;
  /** Byte order its views decode in. */
  readonly littleEndian: boolean;
  /** Fields in declaration order, anonymous members flattened. */
  readonly fields: readonly ViewField[];
  /**
   * Enumerators of the enum-typed fields, by field name, both ways:
   * `Cls.enums.type.EV_EXEC === 1`, `Cls.enums.type[1] === "EV_EXEC"`.
   */
  readonly enums: Readonly<Record<string, EnumMap>>;
  /**
   * A zero-copy view over `bytes` at `byteOffset` (relative to the view
   * for a DataView). Throws BtfTypeError when the struct does not fit.
   */
  from(bytes: Uint8Array | ArrayBuffer | DataView, byteOffset?: number): T;
}

const TOKEN = Symbol("tsbpf.view");
const META = Symbol("tsbpf.struct");

interface Plan {
  readonly name: string;
  /** Offset passed to the cell (bitfield cells carry their own bits). */
  readonly off: number;
  readonly cell: Cell;
  readonly field: ViewField;
  readonly type: BtfType;
}

interface Meta {
  readonly cls: StructClass;
  readonly size: number;
  readonly byName: Map<string, Plan>;
  readonly plain: (v: DataView, o: number) => Record<string, unknown>;
}

/** Base of every struct view class. */
class StructViewBase {
  $view: DataView;
  $offset: number;
  declare readonly [META]: Meta;

  constructor(token?: unknown, view?: DataView, offset?: number) {
    if (token === TOKEN) {
      this.$view = view!;
      this.$offset = offset!;
    } else {
      this.$view = new DataView(ownBytes(this[META]));
      this.$offset = 0;
    }
  }

  $bytes(): Uint8Array {
    return new Uint8Array(
      this.$view.buffer,
      this.$view.byteOffset + this.$offset,
      this[META].size,
    );
  }

  toObject(): Record<string, unknown> {
    return this[META].plain(this.$view, this.$offset);
  }

  $get(name: string): unknown {
    const p = this.$plan(name);
    return p.cell.read(this.$view, this.$offset + p.off);
  }

  $set(name: string, value: unknown): void {
    const p = this.$plan(name);
    p.cell.write(
      this.$view,
      this.$offset + p.off,
      value,
      what(this[META].cls, name),
    );
  }

  private $plan(name: string): Plan {
    const m = this[META];
    const p = m.byName.get(name);
    if (!p)
      throw new BtfTypeError(
        `${describe(m.cls)} has no field '${name}'; fields: ${[...m.byName.keys()].join(", ")}`,
      );
    return p;
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

/** Zeroed bytes for a `new` view; BtfTypeError when they cannot be allocated. */
function ownBytes(meta: Meta): ArrayBuffer {
  try {
    return new ArrayBuffer(meta.size);
  } catch (e) {
    throw new BtfTypeError(
      `cannot allocate the ${meta.size} bytes of ${describe(meta.cls)}`,
      {
        cause: e,
        hint: `use ${meta.cls.typeName || "the class"}.from(bytes) over existing memory`,
      },
    );
  }
}

function describe(t: {
  kind: string;
  name?: string;
  typeName?: string;
}): string {
  return `${t.kind} ${(t.typeName ?? t.name) || "(anon)"}`;
}

function what(t: Struct | Union | StructClass, field: string): string {
  return `field '${field}' of ${describe(t)}`;
}

/** Deepest nesting of anonymous struct/union members a view flattens. */
export const MAX_ANONYMOUS_DEPTH = 64;

/** Flattens members (anonymous structs/unions inlined) into field plans. */
function planFields(type: Struct | Union, cells: Cells): Plan[] {
  const out: Plan[] = [];
  const seen = new Set<string>();
  const le = cells.littleEndian;
  const limitBits = type.size * 8;
  const walk = (t: Struct | Union, baseBits: number, depth: number) => {
    for (const m of t.members) {
      const bitOff = baseBits + m.bitOffset;
      const r = resolveType(m.type);
      if (!m.name) {
        // Unnamed bitfields are padding; unnamed structs/unions are C11
        // anonymous members, whose fields belong to the parent.
        if (r.kind === "struct" || r.kind === "union") {
          if (depth >= MAX_ANONYMOUS_DEPTH)
            throw new BtfError(
              `anonymous members of ${String(type)} nest deeper than ${MAX_ANONYMOUS_DEPTH} levels`,
            );
          walk(r, bitOff, depth + 1);
        }
        continue;
      }
      if (seen.has(m.name)) continue;
      seen.add(m.name);
      const mb = memberBits(m);
      const bits = baseBits + mb.bitOffset;
      let bitSize = mb.bitSize;
      const intLike =
        r.kind === "int" || r.kind === "enum" || r.kind === "enum64";
      let cell: Cell;
      let off: number;
      if (intLike && (bitSize || bits % 8)) {
        bitSize ||= r.size * 8;
        cell = bitfieldCell(
          r,
          bits,
          bitSize,
          le,
          `${String(m.type)}:${bitSize}`,
        );
        off = 0;
        if (bits + bitSize > limitBits) outside(type, m.name);
      } else {
        if (bits % 8)
          throw new BtfError(
            `member '${m.name}' of ${String(type)} is not byte-aligned (bit ${bits})`,
          );
        cell = cells.of(m.type);
        off = bits / 8;
        if (off + cell.size > type.size) outside(type, m.name);
      }
      out.push({
        name: m.name,
        off,
        cell,
        type: m.type,
        field: {
          name: m.name,
          offset: bits >>> 3,
          size: bitSize ? 0 : cell.size,
          bitOffset: bits,
          bitSize,
          description: cell.description,
          accessor: !RESERVED.has(m.name),
        },
      });
    }
  };
  walk(type, 0, 0);
  return out;
}

function outside(type: Struct | Union, name: string): never {
  throw new BtfError(
    `member '${name}' of ${String(type)} lies outside its ${type.size} bytes`,
  );
}

interface Accessors {
  get: Array<(this: StructViewBase) => unknown>;
  set: Array<(this: StructViewBase, x: unknown) => void>;
  plain: (v: DataView, o: number) => Record<string, unknown>;
}

interface Helpers {
  c: Cell[];
  k: string[];
  w: string[];
  bad(i: number, x: unknown): never;
  big(i: number, x: unknown): bigint;
  def(r: object, i: number, x: unknown): void;
}

function helpers(plans: Plan[], type: Struct | Union): Helpers {
  const w = plans.map((p) => what(type, p.name));
  return {
    c: plans.map((p) => p.cell),
    k: plans.map((p) => p.name),
    w,
    bad(i, x) {
      const c = plans[i].cell;
      return badValue(w[i], c.description, expectation(c.prim!), x);
    },
    big(i, x) {
      return toBigInt(x) ?? this.bad(i, x);
    },
    def(r, i, x) {
      Object.defineProperty(r, plans[i].name, {
        value: x,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    },
  };
}

let canGenerate: boolean | undefined;

function generationWorks(): boolean {
  if (canGenerate === undefined) {
    try {
      canGenerate = new Function("return 1")() === 1;
    } catch {
      canGenerate = false; // e.g. a CSP without unsafe-eval
    }
  }
  return canGenerate;
}

/** Generated accessors. Every interpolated value is a number or boolean computed here. */
function generate(plans: Plan[], le: boolean, h: Helpers): Accessors {
  const src: string[] = [
    '"use strict";',
    "const c = h.c, k = h.k, w = h.w, bad = h.bad, big = (i, x) => h.big(i, x), def = h.def;",
    "const get = [], set = [];",
  ];
  const plain: string[] = [];
  const num = (n: number) => {
    if (!Number.isSafeInteger(n)) throw new BtfError(`bad layout number ${n}`);
    return String(n);
  };
  const LE = le ? "true" : "false";
  plans.forEach((p, idx) => {
    const i = num(idx);
    const off = num(p.off);
    const prim = p.cell.prim;
    let read = (v: string, o: string) => `c[${i}].read(${v}, ${o} + ${off})`;
    let write = `c[${i}].write(this.$view, this.$offset + ${off}, x, w[${i}]);`;
    if (prim) {
      const d = PRIMS[prim];
      const leArg = d.size > 1 ? `, ${LE}` : "";
      read = (v, o) =>
        prim === "bool"
          ? `${v}.getUint8(${o} + ${off}) !== 0`
          : `${v}.${d.get}(${o} + ${off}${leArg})`;
      let check: string;
      let value = "x";
      if (prim === "bool") {
        check = `if (x !== true && x !== false && x !== 0 && x !== 1) bad(${i}, x);`;
        value = "x ? 1 : 0";
      } else if (prim === "f32" || prim === "f64") {
        check = `if (typeof x !== "number") bad(${i}, x);`;
      } else if (d.size === 8) {
        check =
          `if (typeof x !== "bigint") x = big(${i}, x); ` +
          `if (x < ${String(d.min)}n || x > ${String(d.max)}n) bad(${i}, x);`;
      } else {
        check =
          `if (typeof x !== "number" || !(x >= ${String(d.min)} && x <= ${String(d.max)}) ` +
          `|| x % 1 !== 0) bad(${i}, x);`;
      }
      // Enum cells also take enumerator names: keep their own write.
      if (!p.cell.customWrite)
        write =
          check +
          ` this.$view.${d.set}(this.$offset + ${off}, ${value}${leArg});`;
    }
    src.push(
      `get[${i}] = function () { return ${read("this.$view", "this.$offset")}; };`,
      `set[${i}] = function (x) { ${write} };`,
    );
    const pv = prim ? read("v", "o") : `c[${i}].plain(v, o + ${off})`;
    plain.push(
      p.name === "__proto__" ? `def(r, ${i}, ${pv});` : `r[k[${i}]] = ${pv};`,
    );
  });
  src.push(
    `const plain = function (v, o) { const r = {}; ${plain.join(" ")} return r; };`,
    "return { get, set, plain };",
  );
  return new Function("h", src.join("\n"))(h) as Accessors;
}

/** The same accessors as closures, for runtimes without `new Function`. */
function closures(plans: Plan[], h: Helpers): Accessors {
  return {
    get: plans.map(
      ({ cell, off }) =>
        function (this: StructViewBase) {
          return cell.read(this.$view, this.$offset + off);
        },
    ),
    set: plans.map(
      ({ cell, off }, i) =>
        function (this: StructViewBase, x: unknown) {
          cell.write(this.$view, this.$offset + off, x, h.w[i]);
        },
    ),
    plain(v, o) {
      const r: Record<string, unknown> = {};
      plans.forEach((p, i) => h.def(r, i, p.cell.plain(v, o + p.off)));
      return r;
    },
  };
}

function toDataView(bytes: unknown, cls: StructClass): DataView {
  if (bytes instanceof DataView) return bytes;
  try {
    if (ArrayBuffer.isView(bytes))
      return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (
      bytes instanceof ArrayBuffer ||
      (typeof SharedArrayBuffer !== "undefined" &&
        bytes instanceof SharedArrayBuffer)
    )
      return new DataView(bytes);
  } catch (e) {
    // A detached ArrayBuffer (transferred or resized away).
    throw new BtfTypeError(
      `${describe(cls)}.from: cannot view these bytes (${(e as Error).message}): was the buffer transferred?`,
      { cause: e },
    );
  }
  throw new BtfTypeError(
    `${describe(cls)}.from: expected a Uint8Array, ArrayBuffer or DataView, got ${show(bytes)}`,
  );
}

function rangeError(cls: StructClass, view: DataView, offset: number): never {
  if (!Number.isInteger(offset)) {
    throw new BtfTypeError(
      `${describe(cls)}: byteOffset must be a non-negative integer, got ${typeof offset === "number" ? offset : show(offset)}`,
    );
  }
  throw new BtfTypeError(
    `${describe(cls)} needs ${cls.size} bytes at offset ${typeof offset === "number" ? offset : show(offset)}, ` +
      `but the buffer has ${view.byteLength} bytes` +
      (offset >= 0 && offset <= view.byteLength
        ? ` (${view.byteLength - offset} from that offset)`
        : ""),
  );
}

/** Builds struct classes and cells for one byte order. */
class ViewFactory {
  readonly cells: Cells;
  private readonly classes = new WeakMap<Struct | Union, StructClass>();

  constructor(readonly littleEndian: boolean) {
    this.cells = new Cells(littleEndian, (t) => this.compositeCell(t));
  }

  classOf(type: Struct | Union): StructClass {
    let cls = this.classes.get(type);
    if (!cls) {
      cls = this.build(type);
      this.classes.set(type, cls);
    }
    return cls;
  }

  private build(type: Struct | Union): StructClass {
    const plans = planFields(type, this.cells);
    const size = type.size;
    const le = this.littleEndian;
    const View = class extends StructViewBase {};
    const cls = View as unknown as StructClass;
    const h = helpers(plans, type);
    const acc = generationWorks() ? generate(plans, le, h) : closures(plans, h);
    const proto = View.prototype as unknown as Record<PropertyKey, unknown>;
    plans.forEach((p, i) => {
      if (p.field.accessor)
        Object.defineProperty(proto, p.name, {
          get: acc.get[i],
          set: acc.set[i],
          enumerable: true,
          configurable: false,
        });
    });
    const enums: Record<string, EnumMap> = Object.create(null);
    for (const p of plans) {
      const r = resolveType(p.type);
      if (r.kind === "enum" || r.kind === "enum64")
        Object.defineProperty(enums, p.name, {
          value: enumMap(r),
          enumerable: true,
        });
    }
    const meta: Meta = {
      cls,
      size,
      byName: new Map(plans.map((p) => [p.name, p])),
      plain: acc.plain,
    };
    Object.defineProperty(proto, META, { value: meta });
    Object.defineProperty(proto, "$repoint", {
      value: function (
        this: StructViewBase,
        view: DataView,
        byteOffset: number,
      ) {
        if (!(byteOffset >= 0 && byteOffset + size <= view.byteLength))
          rangeError(cls, view, byteOffset);
        this.$view = view;
        this.$offset = byteOffset;
        return this;
      },
    });
    const statics: Record<string, unknown> = {
      name: type.name || "AnonymousStruct",
      size,
      typeName: type.name,
      kind: type.kind,
      type,
      littleEndian: le,
      fields: Object.freeze(plans.map((p) => p.field)),
      enums: Object.freeze(enums),
      from(bytes: Uint8Array | ArrayBuffer | DataView, byteOffset = 0) {
        const view = toDataView(bytes, cls);
        if (
          !(
            Number.isInteger(byteOffset) &&
            byteOffset >= 0 &&
            byteOffset + size <= view.byteLength
          )
        )
          rangeError(cls, view, byteOffset);
        return new View(TOKEN, view, byteOffset);
      },
    };
    for (const [k, value] of Object.entries(statics))
      Object.defineProperty(View, k, { value });
    return cls;
  }

  private compositeCell(t: Struct | Union): Cell {
    let cls: StructClass | undefined;
    const get = () => (cls ??= this.classOf(t));
    const size = t.size;
    const description = String(t);
    return {
      size,
      description,
      read: (v, o) =>
        new (get() as unknown as new (...a: unknown[]) => StructView)(
          TOKEN,
          v,
          o,
        ),
      plain: (v, o) =>
        (get().prototype as unknown as StructViewBase)[META].plain(v, o),
      write(v, o, x, where) {
        const c = get();
        const dst = new Uint8Array(v.buffer, v.byteOffset + o, size);
        const other = viewClassOf(x);
        if (other) {
          if (
            other !== c &&
            (other.size !== size || other.typeName !== c.typeName)
          )
            badValue(
              where,
              description,
              `a ${description} view or plain object`,
              x,
            );
          dst.set((x as StructView).$bytes());
          return;
        }
        if (x instanceof Uint8Array) {
          if (x.length !== size)
            badValue(where, description, `a Uint8Array of ${size} bytes`, x);
          dst.set(x);
          return;
        }
        if (x === null || typeof x !== "object" || Array.isArray(x))
          badValue(where, description, "a view, a plain object or bytes", x);
        // Like a C compound literal: fields not given become zero.
        const byName = (c.prototype as unknown as StructViewBase)[META].byName;
        const src = x as Record<string, unknown>;
        for (const key of Object.keys(src))
          if (!byName.has(key))
            throw new BtfTypeError(
              `${where}: ${description} has no field '${key}'; fields: ${[...byName.keys()].join(", ")}`,
            );
        dst.fill(0);
        for (const key of Object.keys(src)) {
          const p = byName.get(key)!;
          p.cell.write(v, o + p.off, src[key], `${where}.${key}`);
        }
      },
    };
  }
}

const factories = new Map<boolean, ViewFactory>();

function factory(littleEndian: boolean): ViewFactory {
  let f = factories.get(littleEndian);
  if (!f) factories.set(littleEndian, (f = new ViewFactory(littleEndian)));
  return f;
}

/** Options of {@link structClass} and {@link cellOf}. */
export interface ViewOptions {
  /** Byte order of the bytes; default true (little-endian). */
  readonly littleEndian?: boolean;
}

/**
 * The view class of a struct or union type (cached per type object and byte
 * order). `btf.struct(name)` calls this; use it directly for types you built.
 */
export function structClass(
  type: Struct | Union,
  options?: ViewOptions,
): StructClass {
  return factory(options?.littleEndian ?? true).classOf(type);
}

/** The cell of any type, for codecs (same mapping as the views). */
export function cellOf(type: BtfType, options?: ViewOptions): Cell {
  return factory(options?.littleEndian ?? true).cells.of(type);
}

/**
 * The class of a struct view: ours, or one generated by `tsbpf-gen types`
 * (any module's copy of its helpers), known by its shape: a `$bytes()`
 * method and a class with `size` and `typeName`.
 */
function viewClassOf(x: unknown): { size: number; typeName: string } | null {
  if (x instanceof StructViewBase) return x[META].cls;
  if (
    typeof x !== "object" ||
    x === null ||
    typeof (x as { $bytes?: unknown }).$bytes !== "function"
  )
    return null;
  const k = (x as { constructor?: { size?: unknown; typeName?: unknown } })
    .constructor;
  return k && typeof k.size === "number" && typeof k.typeName === "string"
    ? (k as { size: number; typeName: string })
    : null;
}

/** True when `x` is a struct view (an instance of some StructClass). */
export function isStructView(x: unknown): x is StructView {
  return x instanceof StructViewBase;
}

/**
 * Throws BtfTypeError unless `x` is null/undefined or has a struct class's
 * shape (static `size` and `from`): a `btf.struct()` class or a generated
 * one, which need not share our base class. `what` names the caller.
 */
export function checkStructArg(x: unknown, what: string): void {
  if (x === null || x === undefined) return;
  const c = x as { size?: unknown; from?: unknown };
  if (
    typeof x !== "function" ||
    typeof c.size !== "number" ||
    typeof c.from !== "function"
  ) {
    throw new BtfTypeError(
      `${what}: expected a struct class (from btf.struct(name) or tsbpf-gen types) or null for raw bytes, got ${typeof x}`,
    );
  }
}

/** True when `x` is a struct view class. */
export function isStructClass(x: unknown): x is StructClass {
  return typeof x === "function" && x.prototype instanceof StructViewBase;
}
