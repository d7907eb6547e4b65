/**
 * Checks a hand-written layout against a struct in BTF and explains every
 * difference with a suggested fix (`btf.validate(name, layout)`).
 *
 * Both sides are BTF model objects (layouts become synthetic structs, see
 * layout.ts), flattened as the views flatten them: anonymous struct/union
 * members contribute their fields to the parent. Nested named structs and
 * arrays of structs are compared recursively (`inner.x`, `points[].y`).
 */
import {
  BtfError,
  BtfValidationError,
  type LayoutMismatch,
} from "../errors.ts";
import {
  type BtfType,
  type Struct,
  type Union,
  alignOf,
  memberBits,
  resolveType,
  sizeOf,
} from "./types.ts";
import { isCharType } from "./cells.ts";
import { type LayoutOptions, type LayoutSpec, layoutType } from "./layout.ts";
import { MAX_ANONYMOUS_DEPTH, type StructClass } from "./views.ts";

interface Flat {
  readonly name: string;
  readonly offset: number;
  readonly bitOffset: number;
  readonly bitSize: number;
  readonly type: BtfType;
  /** Identifies the anonymous union this field is an alternative of. */
  readonly union?: object;
}

function flatten(t: Struct | Union): Flat[] {
  const out: Flat[] = [];
  const walk = (
    s: Struct | Union,
    base: number,
    union: object | undefined,
    depth: number,
  ) => {
    for (const m of s.members) {
      const mb = memberBits(m);
      const bits = base + mb.bitOffset;
      const r = resolveType(m.type);
      if (!m.name) {
        if (r.kind === "struct" || r.kind === "union") {
          if (depth >= MAX_ANONYMOUS_DEPTH)
            throw new BtfError(
              `anonymous members of ${String(t)} nest deeper than ${MAX_ANONYMOUS_DEPTH} levels`,
            );
          walk(r, bits, r.kind === "union" ? r : union, depth + 1);
        }
        continue;
      }
      out.push({
        name: m.name,
        offset: bits >>> 3,
        bitOffset: bits,
        bitSize: mb.bitSize,
        type: m.type,
        union,
      });
    }
  };
  walk(t, 0, undefined, 0);
  return out;
}

/** The layout type string that matches a BTF type, e.g. "u32", "char[16]". */
export function suggestType(t: BtfType, depth = 0): string {
  const r = resolveType(t);
  switch (r.kind) {
    case "int":
      if (r.encoding.bool) return "'bool'";
      return `'${r.signed ? "s" : "u"}${r.size * 8}'`;
    case "enum":
    case "enum64":
      return `'${r.signed ? "s" : "u"}${r.size * 8}'`;
    case "ptr":
      return "'u64'";
    case "float":
      return `'f${r.size * 8}'`;
    case "array": {
      if (isCharType(r.element)) return `'char[${r.length}]'`;
      const e = resolveType(r.element);
      if (e.kind === "struct" || e.kind === "union")
        return `[${suggestType(e, depth)}, ${r.length}]`;
      const inner = suggestType(e, depth);
      if (!inner.startsWith("'")) return `[${inner}, ${r.length}]`;
      // C order: `u32 m[3][4]` is 'u32[3][4]', the outer length first.
      const base = inner.slice(1, -1);
      const cut = base.indexOf("[") < 0 ? base.length : base.indexOf("[");
      return `'${base.slice(0, cut)}[${r.length}]${base.slice(cut)}'`;
    }
    case "union":
      // Layouts are structs: a union's bytes are the closest they come.
      return `'u8[${r.size}]'`;
    case "struct": {
      if (depth > 2) return "{ … }";
      const fields = flatten(r)
        .filter((f) => !f.bitSize)
        .map((f) => `${f.name}: ${suggestType(f.type, depth + 1)}`);
      return `{ ${fields.join(", ")} }`;
    }
    default:
      return `'u8[${sizeOf(r)}]'`;
  }
}

function spell(t: BtfType): string {
  const s = String(t);
  return `${s} (${sizeOf(t)} byte${sizeOf(t) === 1 ? "" : "s"})`;
}

function near(name: string, names: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const n of names) {
    const d = distance(name, n);
    if (d < bestD) [best, bestD] = [n, d];
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]++;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(
        row[j] + 1,
        row[j - 1] + 1,
        prev + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      prev = cur;
    }
  }
  return row[b.length];
}

const isPad = (name: string) => /^_?_pad/.test(name);

/** Compares one field's types; pushes mismatches. */
function compareType(
  path: string,
  b: BtfType,
  l: BtfType,
  out: LayoutMismatch[],
): void {
  const rb = resolveType(b);
  const rl = resolveType(l);
  const use = `use ${suggestType(b)}`;
  const push = (kind: LayoutMismatch["kind"], fix = use): void => {
    out.push({ field: path, kind, expected: spell(b), actual: spell(l), fix });
  };
  switch (rb.kind) {
    case "struct":
      if (rl.kind !== "struct" && rl.kind !== "union")
        return push("type", `use a nested layout: ${suggestType(b)}`);
      return compareComposite(path, rb, rl, out);
    case "union":
      if (rl.kind === "union") return compareComposite(path, rb, rl, out);
      if (isByteArray(rl) && sizeOf(rl) === rb.size) return;
      return push("type", unionFix(rb));
    case "array": {
      if (rl.kind !== "array") return push("type");
      const bChar = isCharType(rb.element);
      if (bChar !== isCharType(rl.element))
        return push(
          "type",
          `${use} (${bChar ? "a string" : "an array of numbers"} in BTF)`,
        );
      if (rb.length !== rl.length)
        return push(sizeOf(rb) === sizeOf(rl) ? "type" : "size");
      if (bChar) return;
      return compareType(`${path}[]`, rb.element, rl.element, out);
    }
    case "int":
    case "enum":
    case "enum64": {
      const lInt =
        rl.kind === "int" || rl.kind === "enum" || rl.kind === "enum64";
      if (!lInt) return push("type");
      if (rb.size !== rl.size) return push("size");
      const bBool = rb.kind === "int" && rb.encoding.bool;
      const lBool = rl.kind === "int" && rl.encoding.bool;
      if (bBool !== lBool) return push("type");
      // An enum's signedness is a compiler detail; either is accepted.
      if (rb.kind === "int" && !bBool && rb.signed !== rl.signed)
        return push("signedness");
      return;
    }
    case "ptr":
      if (
        rl.kind === "ptr" ||
        (rl.kind === "int" && rl.size === 8 && !rl.signed)
      )
        return;
      return push("type", "use 'u64' (a pointer is a 64-bit address)");
    case "float":
      if (rl.kind !== "float") return push("type");
      if (rb.size !== rl.size) return push("size");
      return;
    default:
      if (sizeOf(rb) !== sizeOf(rl)) push("size");
  }
}

function compareComposite(
  prefix: string,
  b: Struct | Union,
  l: Struct | Union,
  out: LayoutMismatch[],
): void {
  const bf = flatten(b);
  const lf = flatten(l);
  const bByName = new Map(bf.map((f) => [f.name, f]));
  const lNames = new Set(lf.map((f) => f.name));
  const at = (name: string) => (prefix ? `${prefix}.${name}` : name);
  let prev: Flat | undefined;
  const sizeDiffers = new Set<string>();
  let shift = 0;
  let shiftedAt = "";
  for (const f of lf) {
    const m = bByName.get(f.name);
    if (!m) {
      const overlaps = bf.filter(
        (x) =>
          x.bitOffset < f.bitOffset + sizeOf(f.type) * 8 &&
          f.bitOffset < x.bitOffset + (x.bitSize || sizeOf(x.type) * 8),
      );
      if (isPad(f.name) && overlaps.length === 0) {
        prev = f;
        continue;
      }
      const guess = near(
        f.name,
        [...bByName.keys()].filter((n) => !lNames.has(n)),
      );
      out.push({
        field: at(f.name),
        kind: "extra",
        actual: spell(f.type),
        fix: isPad(f.name)
          ? `padding '${f.name}' overlaps BTF field${overlaps.length > 1 ? "s" : ""} ${overlaps.map((x) => `'${x.name}'`).join(", ")}; shrink or move it`
          : guess
            ? `BTF has no field '${f.name}': did you mean '${guess}'?`
            : `BTF has no field '${f.name}': remove it, or name it '_pad…' if it is padding`,
      });
      prev = f;
      continue;
    }
    if (m.bitSize || m.bitOffset % 8) {
      out.push({
        field: at(f.name),
        kind: "type",
        expected: `${String(m.type)}:${m.bitSize} (bitfield at bit ${m.bitOffset})`,
        actual: spell(f.type),
        fix: "layouts cannot express bitfields; use btf.struct(name) for this type",
      });
      prev = f;
      continue;
    }
    if (m.offset !== f.offset) {
      const delta = m.offset - f.offset;
      let fix: string;
      if (delta === shift && shift !== 0) {
        fix = `shifted by the same ${Math.abs(delta)} byte(s) as '${shiftedAt}'; fixing that fixes this`;
      } else {
        const prevName = prev ? `'${prev.name}'` : "the start";
        const missing = bf.filter(
          (x) =>
            !lNames.has(x.name) && x.offset < m.offset && x.offset >= f.offset,
        );
        if (
          sizeOf(m.type) !== sizeOf(f.type) ||
          alignOf(m.type) !== alignOf(f.type)
        )
          fix = `follows from its type, whose alignment or size differs (next mismatch)`;
        else if (prev && sizeDiffers.has(prev.name))
          fix = `follows from the size of '${prev.name}' (mismatch above)`;
        else if (delta > 0 && missing.length)
          fix = `BTF has ${missing.map((x) => `'${x.name}'`).join(", ")} before it; add ${missing.length > 1 ? "them" : "it"}`;
        else if (delta > 0)
          fix = `clang inserts ${delta} byte(s) of padding after ${prevName}; add \`_pad: 'u8[${delta}]'\` after ${prevName} or reorder`;
        else if (m.offset % alignOf(m.type) !== 0)
          fix = `the BTF struct is packed; build the layout with { packed: true }`;
        else
          fix = `the layout places it ${-delta} byte(s) later: a field before it is larger than in BTF, or fields are out of order`;
        shiftedAt = f.name;
      }
      shift = delta;
      out.push({
        field: at(f.name),
        kind: "offset",
        expected: `offset ${m.offset}`,
        actual: `offset ${f.offset}`,
        fix,
      });
    }
    compareType(at(f.name), m.type, f.type, out);
    if (sizeOf(m.type) !== sizeOf(f.type)) sizeDiffers.add(f.name);
    prev = f;
  }
  const presentUnions = new Set(
    bf.filter((x) => x.union && lNames.has(x.name)).map((x) => x.union),
  );
  let before = "";
  for (const m of bf) {
    if (!lNames.has(m.name) && !(m.union && presentUnions.has(m.union))) {
      out.push({
        field: at(m.name),
        kind: "missing",
        expected: m.bitSize ? `${String(m.type)}:${m.bitSize}` : spell(m.type),
        fix: m.bitSize
          ? "layouts cannot express bitfields; use btf.struct(name) for this type"
          : `add \`${m.name}: ${suggestType(m.type)}\` ${before ? `after '${before}'` : "first"} (offset ${m.offset})`,
      });
    }
    before = m.name;
  }
  if (b.size !== l.size) {
    const d = b.size - l.size;
    out.push({
      field: prefix,
      kind: "struct-size",
      expected: `${b.size} bytes`,
      actual: `${l.size} bytes`,
      fix: out.some((x) => x.kind === "missing")
        ? "add the missing fields listed above"
        : d > 0
          ? `BTF has ${d} more byte(s) (trailing padding or a missing field); add \`_pad: 'u8[${d}]'\` at the end`
          : `the layout is ${-d} byte(s) larger: check field sizes and packing`,
    });
  }
}

/** `u8[N]`, `s8[N]` or `char[N]`: bytes. */
function isByteArray(t: BtfType): boolean {
  if (t.kind !== "array") return false;
  const e = resolveType(t.element);
  return e.kind === "int" && e.size === 1;
}

/**
 * The fix for a union a layout describes as something else: a layout is a
 * struct, whose fields never share an offset, so no layout of members can
 * pass; its bytes or the union's own view class can.
 */
function unionFix(u: Union): string {
  const view = u.name
    ? `btf.struct(${JSON.stringify(u.name)}) (a view class, which a layout takes as a field)`
    : "btf.struct(name) for the enclosing struct";
  return `layouts cannot express unions: use 'u8[${u.size}]' for its bytes, or ${view}`;
}

/** Every difference between a BTF struct/union and a layout. */
export function layoutMismatches(
  type: Struct | Union,
  spec: LayoutSpec | StructClass,
  options?: LayoutOptions,
): LayoutMismatch[] {
  const l = resolveType(layoutType(spec, options));
  const out: LayoutMismatch[] = [];
  if (l.kind !== "struct" && l.kind !== "union")
    return [
      {
        field: "",
        kind: "type",
        expected: String(type),
        fix: "pass a layout object or struct class",
      },
    ];
  if (type.kind === "union" && l.kind !== "union")
    return [
      {
        field: "",
        kind: "type",
        expected: spell(type),
        actual: spell(l),
        fix:
          `layouts cannot express unions: validate btf.struct(${JSON.stringify(type.name)}) ` +
          `(the union's view class) instead of a layout, or use 'u8[${type.size}]' for its bytes`,
      },
    ];
  compareComposite("", type, l, out);
  return out;
}

/**
 * Throws BtfValidationError listing every mismatch between `type` and the
 * layout; returns normally when they agree.
 */
export function validateLayout(
  type: Struct | Union,
  spec: LayoutSpec | StructClass,
  options?: LayoutOptions,
): void {
  const mismatches = layoutMismatches(type, spec, options);
  if (mismatches.length)
    throw new BtfValidationError(
      type.name || String(type),
      mismatches,
      type.kind,
    );
}
