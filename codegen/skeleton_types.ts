/**
 * The TypeScript type and the runtime codec spec of one map key, map value,
 * event record or global: the same mapping as struct fields (DESIGN.md),
 * with named structs/unions as their generated classes.
 */
import type { BtfType } from "../src/btf/types.ts";
import { resolveType, sizeOf } from "../src/btf/types.ts";

/** How one value is typed in the skeleton and decoded at run time. */
export interface ValueType {
  /** TypeScript type of a decoded value. */
  readonly ts: string;
  /** TypeScript type accepted on writes. */
  readonly input: string;
  /** JS expression of the runtime codec spec (a layout string, a class, `{ bytes }`). */
  readonly spec: string;
  /** C name of the struct/union whose generated class it uses. */
  readonly struct?: string;
  /** That class's name. */
  readonly cls?: string;
  /** For an array of structs: its length (the value is `cls[]`). */
  readonly length?: number;
}

const TYPED_ARRAYS: Record<string, string> = {
  u8: "Uint8Array",
  s8: "Int8Array",
  u16: "Uint16Array",
  s16: "Int16Array",
  u32: "Uint32Array",
  s32: "Int32Array",
  u64: "BigUint64Array",
  s64: "BigInt64Array",
  f32: "Float32Array",
  f64: "Float64Array",
};

function safeResolve(t: BtfType): BtfType | undefined {
  try {
    return resolveType(t);
  } catch {
    return undefined;
  }
}

function raw(t: BtfType | undefined): ValueType {
  let size = 0;
  try {
    size = t ? sizeOf(t) : 0;
  } catch {
    // a looping chain: leave size 0, the runtime then uses the map's own size
  }
  return {
    ts: "Uint8Array",
    input: "Uint8Array",
    spec: `{ bytes: ${size} }`,
  };
}

/** The layout name of a scalar ("u32", "s64", "bool", "f64"), if it is one. */
function scalar(r: BtfType): string | undefined {
  switch (r.kind) {
    case "int":
      if (r.encoding.bool && r.size === 1) return "bool";
      if (![1, 2, 4, 8].includes(r.size)) return undefined;
      return `${r.encoding.signed ? "s" : "u"}${r.size * 8}`;
    case "enum":
    case "enum64":
      if (![1, 2, 4, 8].includes(r.size)) return undefined;
      return `${r.signed ? "s" : "u"}${r.size * 8}`;
    case "ptr":
      return "u64";
    case "float":
      return r.size === 4 ? "f32" : r.size === 8 ? "f64" : undefined;
    default:
      return undefined;
  }
}

function tsOfScalar(s: string): string {
  if (s === "bool") return "boolean";
  return s.endsWith("64") && s[0] !== "f" ? "bigint" : "number";
}

/**
 * The value type of `t`; `classOf` gives the generated class of a named
 * struct/union (undefined when it was not emitted).
 */
export function valueType(
  t: BtfType | undefined,
  classOf: (cName: string) => string | undefined,
): ValueType {
  const r = t && safeResolve(t);
  if (!r) return raw(t);
  const s = scalar(r);
  if (s) {
    const ts = tsOfScalar(s);
    // 64-bit codecs also take a safe-integer number.
    const input = ts === "bigint" ? "bigint | number" : ts;
    return { ts, input, spec: JSON.stringify(s) };
  }
  if ((r.kind === "struct" || r.kind === "union") && r.name) {
    const cls = classOf(r.name);
    if (cls) {
      return {
        ts: cls,
        input: `${cls} | Partial<${cls}Object> | Uint8Array`,
        spec: cls,
        struct: r.name,
        cls,
      };
    }
  }
  if (r.kind === "array") {
    const e = safeResolve(r.element);
    if (
      e?.kind === "int" &&
      e.size === 1 &&
      (e.encoding.char || e.name === "char")
    ) {
      return {
        ts: "string",
        input: "string",
        spec: JSON.stringify(`char[${r.length}]`),
      };
    }
    if ((e?.kind === "struct" || e?.kind === "union") && e.name) {
      const cls = classOf(e.name);
      if (cls) {
        return {
          ts: `${cls}[]`,
          input: `readonly (${cls} | Partial<${cls}Object> | Uint8Array)[] | Uint8Array`,
          spec: `{ array: ${cls}, length: ${r.length} }`,
          struct: e.name,
          cls,
          length: r.length,
        };
      }
    }
    const es = e && scalar(e);
    const typed = es && TYPED_ARRAYS[es];
    if (typed) {
      return {
        ts: typed,
        input: `${typed} | ArrayLike<${tsOfScalar(es)}>`,
        spec: JSON.stringify(`${es}[${r.length}]`),
      };
    }
    // src/btf/codec.ts decodes other arrays (of _Bool, of arrays) to arrays.
    if (es === "bool") {
      return {
        ts: "boolean[]",
        input: "readonly boolean[] | Uint8Array",
        spec: JSON.stringify(String(t)),
      };
    }
    if (e?.kind === "array") {
      const inner = valueType(e, () => undefined);
      if (!inner.spec.startsWith("{")) {
        return {
          ts: `${inner.ts}[]`,
          input: `readonly (${inner.input})[] | Uint8Array`,
          spec: JSON.stringify(String(t)),
        };
      }
    }
  }
  return raw(r);
}

/** The C name of the struct/union `valueType` would use for `t` (or its elements). */
export function structName(t: BtfType | undefined): string | undefined {
  let r = t && safeResolve(t);
  if (r?.kind === "array") r = safeResolve(r.element);
  return r && (r.kind === "struct" || r.kind === "union") && r.name
    ? r.name
    : undefined;
}

/**
 * The type of global variable `t`: as `valueType`, except that arrays of
 * elements wider than a byte read as live views (src/globals.ts: every
 * aggregate is a view of the section's memory), typed
 * `$tsbpf.GlobalArray<element>`; nested arrays nest them.
 */
export function globalType(
  t: BtfType,
  classOf: (cName: string) => string | undefined,
): ValueType {
  const live = liveArray(t);
  return live ?? valueType(t, classOf);
}

/**
 * A non-struct array global's view type; undefined for other globals.
 * A char[N] is a string (a copy); every other array, byte arrays too, is
 * a view, and so are the arrays inside it, but char[N].
 */
function liveArray(t: BtfType, top = true): ValueType | undefined {
  const r = safeResolve(t);
  if (r?.kind !== "array") return undefined;
  const e = safeResolve(r.element);
  if (!e) return undefined;
  let elem: { ts: string; input: string } | undefined;
  if (e.kind === "array") {
    const inner = safeResolve(e.element);
    elem =
      inner?.kind === "int" &&
      inner.size === 1 &&
      (inner.encoding.char || inner.name === "char")
        ? { ts: "string", input: "string" }
        : liveArray(e, false);
  } else if (
    !top ||
    e.kind !== "int" ||
    e.size !== 1 ||
    !(e.encoding.char || e.name === "char")
  ) {
    const es = scalar(e);
    const ts = es && tsOfScalar(es);
    if (ts) elem = { ts, input: ts === "bigint" ? "bigint | number" : ts };
  }
  if (!elem) return undefined;
  return {
    ts: `$tsbpf.GlobalArray<${elem.ts}>`,
    input: `ArrayLike<${elem.input}>${top ? " | Uint8Array" : ""}`,
    spec: JSON.stringify(String(t)),
  };
}
