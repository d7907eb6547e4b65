/**
 * The type a loaded skeleton gives its constant (.rodata, .kconfig)
 * globals: readonly all the way down. `Readonly<T>` stops at the first
 * level, so a write to a nested struct's field or an array element
 * compiled and then threw StateError at run time.
 */
import type { ArrayView } from "./btf/cells.ts";
import type { $ArrayView, $Struct } from "./generated/struct_runtime.ts";

/**
 * An array view with its writes taken away: readonly elements (each deeply
 * readonly), no `set`; reads (`a[i]`, `get(i)`, iteration, `toArray()`,
 * `length`) as the view has them.
 */
export type ReadonlyArrayView<V, E> = Readonly<
  Omit<V, "set" | "get" | number | typeof Symbol.iterator>
> & {
  readonly [i: number]: E;
  /** Element `i`; throws when out of range. */
  get(i: number): E;
  /** The elements in order. */
  [Symbol.iterator](): IterableIterator<E>;
};

/**
 * `T` with every field of every nested struct, and every element of every
 * (nested) array view, readonly: a generated struct class, a skeleton's
 * `GlobalArray`, or a struct field's `$ArrayView`. Methods stay callable;
 * other types are themselves.
 */
export type DeepReadonly<T> =
  T extends ArrayView<infer E>
    ? ReadonlyArrayView<T, DeepReadonly<E>>
    : T extends $ArrayView<infer E, infer _P, infer _I>
      ? ReadonlyArrayView<T, DeepReadonly<E>>
      : T extends $Struct
        ? {
            readonly [K in keyof T]: T[K] extends (...args: never[]) => unknown
              ? T[K]
              : DeepReadonly<T[K]>;
          }
        : T;
