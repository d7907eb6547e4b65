/**
 * What `Btf.struct()`, `Btf.validate()` and `Btf.validates()` do: look the
 * struct up in a Btf (its lookup raises BtfNotFoundError), then hand it to
 * views.ts / validate.ts. Kept apart from btf.ts so the parser does not
 * grow view code, and imports `Btf` as a type only (no cycle).
 */
import { BtfNotFoundError, BtfTypeError } from "../errors.ts";
import { missingStructHint } from "./missing_hint.ts";
import type { Btf } from "./btf.ts";
import { type Struct, type Union, resolveType } from "./types.ts";
import type { LayoutOptions, LayoutSpec } from "./layout.ts";
import { type StructClass, structClass } from "./views.ts";
import { validateLayout } from "./validate.ts";

const classes = new WeakMap<Btf, Map<string, StructClass>>();

/** The struct or union named `name` (through typedefs, e.g. `foo_t`). */
export function compositeNamed(btf: Btf, name: string): Struct | Union {
  if (name === "")
    throw new BtfTypeError(
      "the struct or union name is empty: anonymous types have no name to look up",
      { hint: 'pass a C struct or union name, e.g. btf.struct("exec_event")' },
    );
  const t = btf.type(name);
  const r = resolveType(t);
  if (r.kind === "fwd")
    // What clang emits for a struct it only saw behind a pointer.
    throw new BtfNotFoundError(
      name,
      `${r.fwdKind} '${name}' in ${btf.source} is only forward-declared (\`${r.fwdKind} ${name};\`): BTF has no body for it`,
      { hint: missingStructHint(btf, name, r.fwdKind) },
    );
  if (r.kind !== "struct" && r.kind !== "union") {
    const kind = `${/^[aeiou]/.test(r.kind) ? "an" : "a"} ${r.kind}`;
    throw new BtfTypeError(
      `'${name}' in ${btf.source} is ${t.kind === "typedef" ? `a typedef of ${String(t.target)} (${kind})` : kind}, not a struct or union`,
    );
  }
  return r;
}

/** `btf.struct(name)`: the view class of a struct/union, cached by name. */
export function structOf(btf: Btf, name: string): StructClass {
  let byName = classes.get(btf);
  if (!byName) classes.set(btf, (byName = new Map()));
  let cls = byName.get(name);
  if (!cls) {
    cls = structClass(compositeNamed(btf, name), {
      littleEndian: btf.byteOrder === "le",
    });
    byName.set(name, cls);
  }
  return cls;
}

/** `btf.validate(name, layout)`: throws BtfValidationError on mismatch. */
export function validateStruct(
  btf: Btf,
  name: string,
  spec: LayoutSpec | StructClass,
  options?: LayoutOptions,
): void {
  validateLayout(compositeNamed(btf, name), spec, options);
}

/** A class carrying its layout, for the {@link validatesDecorator} form. */
export interface WithLayout {
  /** The hand-written layout (or a struct class) to validate. */
  readonly layout: LayoutSpec | StructClass;
  /** Layout options, e.g. `{ packed: true }`. */
  readonly layoutOptions?: LayoutOptions;
}

/**
 * `@btf.validates(name)`: a class decorator validating the class's
 * `static layout` against BTF struct `name` when the class is defined.
 * Works as a TC39 (standard) and a legacy (experimentalDecorators) class
 * decorator; under the standard form static fields exist only after the
 * decorator returns, so the check runs as a class initializer.
 */
export function validatesDecorator(btf: Btf, name: string) {
  return <C extends WithLayout>(cls: C, context?: unknown): void => {
    const check = (c: WithLayout) => {
      if (c.layout === undefined)
        throw new BtfTypeError(
          `@validates("${name}"): the class has no static 'layout' to validate`,
        );
      validateStruct(btf, name, c.layout, c.layoutOptions);
    };
    const ctx = context as { addInitializer?: (f: () => void) => void };
    if (ctx && typeof ctx.addInitializer === "function")
      ctx.addInitializer(function (this: unknown) {
        check(this as WithLayout);
      });
    else check(cls);
  };
}
