/**
 * Hand-written layouts: the TypeScript counterpart of a ctypes Structure.
 *
 * ```ts
 * const ExecEvent = layout({ timestamp: "u64", event_type: "u8", pid: "u32", comm: "char[16]" });
 * ```
 *
 * A layout is turned into ordinary BTF model objects (a synthetic `Struct`
 * with members at C natural-alignment offsets), so views, codecs and
 * validation treat it exactly like a struct parsed from an object file.
 *
 * Field types: `u8 u16 u32 u64`, `s8…s64` (or `i8…i64`, `__u32`, ...),
 * `bool`, `f32`, `f64`, `char` (one byte, a number), `char[N]` (a string),
 * `T[N]` and `T[N][M]` for arrays, a nested layout object, a struct class,
 * or `[type, N]` for arrays of those. Bitfields and unions are not
 * expressible: use `btf.struct(name)` for such types.
 */
import { BtfTypeError } from "../errors.ts";
import { show } from "./cells.ts";
import {
  ArrayType,
  type BtfType,
  Float,
  Int,
  Member,
  Struct,
  type TypeResolver,
  Void,
  alignOf,
  sizeOf,
} from "./types.ts";
import {
  type StructClass,
  type ViewOptions,
  isStructClass,
  structClass,
} from "./views.ts";

/** One field's type in a layout. */
export type LayoutField =
  | string
  | LayoutSpec
  | StructClass
  | readonly [LayoutField, number];

/** Field name → type, in declaration order. */
export interface LayoutSpec {
  readonly [field: string]: LayoutField;
}

/** Options of {@link layout}. */
export interface LayoutOptions extends ViewOptions {
  /** The struct's C name (the class's `typeName`); default "". */
  readonly name?: string;
  /** Lay fields out without padding, as `__attribute__((packed))`. */
  readonly packed?: boolean;
}

/** A small type table: gives synthetic types ids and resolves them. */
class TypeTable implements TypeResolver {
  private readonly types: BtfType[] = [new Void(0, "")];
  private readonly byKey = new Map<string, BtfType>();

  add<T extends BtfType>(make: (id: number) => T): T {
    const t = make(this.types.length);
    this.types.push(t);
    return t;
  }

  /** Adds a type from another BTF (a nested struct class) by reference. */
  ref(t: BtfType): number {
    this.types.push(t);
    return this.types.length - 1;
  }

  /** One shared object per named scalar, e.g. "u32". */
  scalar(key: string, make: (id: number) => BtfType): BtfType {
    let t = this.byKey.get(key);
    if (!t) {
      t = this.add(make);
      this.byKey.set(key, t);
    }
    return t;
  }

  typeById(id: number): BtfType {
    const t = this.types[id];
    if (!t) throw new BtfTypeError(`layout type id ${id} out of range`);
    return t;
  }
}

const INT_RE = /^(?:__)?([usi])(8|16|32|64)$/;

function scalarType(table: TypeTable, name: string): BtfType | undefined {
  const m = INT_RE.exec(name);
  if (m) {
    const bits = Number(m[2]);
    const signed = m[1] !== "u";
    const canon = `${signed ? "s" : "u"}${bits}`;
    return table.scalar(
      canon,
      (id) =>
        new Int(
          id,
          canon,
          bits / 8,
          { signed, char: false, bool: false },
          bits,
          0,
        ),
    );
  }
  switch (name) {
    case "bool":
      return table.scalar(
        name,
        (id) =>
          new Int(
            id,
            "bool",
            1,
            { signed: false, char: false, bool: true },
            8,
            0,
          ),
      );
    case "char":
      return table.scalar(
        name,
        (id) =>
          new Int(
            id,
            "char",
            1,
            { signed: true, char: true, bool: false },
            8,
            0,
          ),
      );
    case "f32":
      return table.scalar(name, (id) => new Float(id, "f32", 4));
    case "f64":
      return table.scalar(name, (id) => new Float(id, "f64", 8));
  }
  return undefined;
}

const TYPE_RE = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*((?:\[\s*\d+\s*\]\s*)*)$/;

/** BTF stores sizes and array lengths in 32 bits; so do layouts. */
const MAX_SIZE = 0xffffffff;

function tooLarge(path: string, what: string): never {
  throw new BtfTypeError(
    `${where(path)}${what} exceeds ${MAX_SIZE} bytes, the largest size BTF can describe`,
  );
}

/** What is wrong with a type string that did not parse, when it is guessable. */
function whyUnknown(t: string): string {
  if (/\[\s*\]/.test(t))
    return ': an array in a layout needs its length (C\'s flexible `T x[]` has no size), e.g. "char[16]"';
  if (
    /^\s*(?:__)?[usi]\d+\b/.test(t) &&
    !INT_RE.test(t.replace(/\[.*$/, "").trim())
  )
    return ": integers are 8, 16, 32 or 64 bits wide (u8…u64, s8…s64)";
  return "";
}

function arrayOf(
  table: TypeTable,
  elem: BtfType,
  n: number,
  path: string,
): BtfType {
  if (n > MAX_SIZE || n * sizeOf(elem) > MAX_SIZE)
    tooLarge(path, `${String(elem)}[${n}]`);
  const index = table.scalar(
    "u32",
    (id) =>
      new Int(id, "u32", 4, { signed: false, char: false, bool: false }, 32, 0),
  );
  const elemId = table.ref(elem);
  return table.add((id) => new ArrayType(id, table, elemId, index.id, n));
}

function fieldType(
  table: TypeTable,
  t: LayoutField,
  path: string,
  options: LayoutOptions,
): BtfType {
  if (typeof t === "string") {
    const m = TYPE_RE.exec(t);
    const base = m && scalarType(table, m[1]);
    if (!m || !base)
      throw new BtfTypeError(
        `${where(path)}unknown type ${JSON.stringify(t)}${whyUnknown(t)}`,
        {
          hint: "use u8…u64, s8…s64, bool, f32, f64, char[N], T[N] or a nested layout",
        },
      );
    const dims = [...m[2].matchAll(/\d+/g)].map((d) => Number(d[0]));
    let type = base;
    // C `T a[3][4]`: an array of 3 arrays of 4, so wrap from the innermost.
    for (let i = dims.length - 1; i >= 0; i--)
      type = arrayOf(table, type, dims[i], path);
    return type;
  }
  if (isStructClass(t)) return t.type;
  if (Array.isArray(t)) {
    const [elem, n] = t as readonly [LayoutField, number];
    if (t.length !== 2 || !Number.isSafeInteger(n) || n < 0)
      throw new BtfTypeError(
        `${where(path)}an array is written [type, count], got ${JSON.stringify(t)}`,
      );
    return arrayOf(table, fieldType(table, elem, path, options), n, path);
  }
  if (t !== null && typeof t === "object")
    return structType(table, t as LayoutSpec, "", path, options);
  throw new BtfTypeError(
    `${where(path)}bad type ${show(t)}; expected a type name such as "u32" or "char[16]", ` +
      "[type, count], a nested layout object or a struct class",
  );
}

function structType(
  table: TypeTable,
  spec: LayoutSpec,
  name: string,
  path: string,
  options: LayoutOptions,
): Struct {
  const members: Member[] = [];
  let offset = 0;
  let maxAlign = 1;
  for (const key of Object.keys(spec)) {
    const fpath = path ? `${path}.${key}` : key;
    const type = fieldType(table, spec[key], fpath, options);
    const align = options.packed ? 1 : alignOf(type);
    offset = Math.ceil(offset / align) * align;
    maxAlign = Math.max(maxAlign, align);
    members.push(new Member(table, key, table.ref(type), offset * 8, 0));
    offset += sizeOf(type);
  }
  const size = Math.ceil(offset / maxAlign) * maxAlign;
  if (size > MAX_SIZE) tooLarge(path || "(layout)", `the struct`);
  return table.add((id) => new Struct(id, name, size, members));
}

/** How an error starts for the field at `path` (nothing for a bare type string). */
function where(path: string): string {
  return path ? `layout field '${path}': ` : "";
}

/**
 * The synthetic BTF type of a layout: a `Struct` for an object or a struct
 * class, an int/float/array for a string such as "u32" or "char[16]".
 */
export function layoutType(
  spec: LayoutSpec | StructClass | string,
  options: LayoutOptions = {},
): BtfType {
  if (isStructClass(spec)) return spec.type;
  const table = new TypeTable();
  if (typeof spec === "string") return fieldType(table, spec, "", options);
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    throw new BtfTypeError(
      `a layout is an object of field → type, got ${show(spec)}`,
    );
  return structType(table, spec, options.name ?? "", "", options);
}

/**
 * A struct class from a hand-written layout, with C natural alignment
 * (padding inserted as clang would; `{ packed: true }` for none). The class
 * has the same shape as `btf.struct(name)`'s, so maps and ring buffers take
 * either.
 */
export function layout(
  spec: LayoutSpec,
  options: LayoutOptions = {},
): StructClass {
  if (spec === null || typeof spec !== "object" || Array.isArray(spec))
    throw new BtfTypeError(
      `layout(): expected an object of field → type, got ${show(spec)}`,
      {
        hint: `for a single value use codecForLayout(${typeof spec === "string" ? JSON.stringify(spec) : "spec"})`,
      },
    );
  return structClass(layoutType(spec, options) as Struct, options);
}

/** Alias of {@link layout}. */
export const defineLayout: typeof layout = layout;
