/**
 * Deno backend over `Deno.dlopen`. Touches the `Deno` global only inside
 * `createDenoBackend()`, so importing this file in Bun is harmless.
 */
import type { Backend, BufArg, NativeCallback, Ptr } from "./backend.ts";
import type { NativeType } from "./symbols.ts";

// Minimal local typing of Deno's FFI: this file must also type-check in Bun/tsc.
type DPtr = object | null;
interface DenoFfi {
  dlopen(
    path: string,
    symbols: Record<string, unknown>,
  ): { symbols: Record<string, ((...a: unknown[]) => unknown) | null> };
  UnsafePointer: {
    of(buf: ArrayBufferView): DPtr;
    value(p: DPtr): bigint | number;
    create(a: bigint): DPtr;
    offset(p: object, off: number | bigint): DPtr;
  };
  UnsafePointerView: {
    new (p: object): {
      getInt32(off?: number): number;
      getUint32(off?: number): number;
      getBigUint64(off?: number): bigint;
      getPointer(off?: number): DPtr;
    };
    getCString(p: object, off?: number): string;
    getArrayBuffer(p: object, len: number, off?: number): ArrayBuffer;
  };
  UnsafeCallback: new (
    def: { parameters: string[]; result: string },
    fn: (...a: unknown[]) => unknown,
  ) => { pointer: object; close(): void; unref(): void };
}

const TYPES: Record<NativeType, string> = {
  void: "void",
  bool: "bool",
  u8: "u8",
  i32: "i32",
  u32: "u32",
  i64: "i64",
  u64: "u64",
  usize: "usize",
  f64: "f64",
  ptr: "pointer",
  // "buffer" takes a TypedArray directly: the fast path for in/out buffers.
  buf: "buffer",
};

const WIDE = new Set<NativeType>(["i64", "u64", "usize"]);
function narrow(r: unknown): unknown {
  return typeof r === "bigint" &&
    r <= BigInt(Number.MAX_SAFE_INTEGER) &&
    r >= BigInt(Number.MIN_SAFE_INTEGER)
    ? Number(r)
    : r;
}

/** Creates the Deno backend. Call only in Deno. */
export function createDenoBackend(): Backend {
  const D = (globalThis as unknown as { Deno: DenoFfi }).Deno;
  const P = D.UnsafePointer;
  const V = D.UnsafePointerView;
  const raw = (p: Ptr | null) => p as unknown as object;

  return {
    name: "deno",
    nonblockingCalls: true,
    open(path, table) {
      const defs: Record<string, unknown> = {};
      for (const [key, def] of Object.entries(table)) {
        defs[key] = {
          name: def.name ?? key,
          parameters: def.args.map((a) => TYPES[a]),
          result: TYPES[def.result],
          optional: def.since !== undefined,
          nonblocking: def.nonblocking ?? false,
        };
      }
      const syms = D.dlopen(path, defs).symbols;
      const out: Record<string, ((...a: never[]) => unknown) | null> = {};
      for (const [key, def] of Object.entries(table)) {
        const fn = syms[key];
        // Deno returns every 64-bit result as a bigint; the neutral contract
        // is a number when it fits (none of our hot calls returns 64 bits).
        out[key] =
          fn && WIDE.has(def.result)
            ? def.nonblocking
              ? (...a: unknown[]) => (fn(...a) as Promise<unknown>).then(narrow)
              : (...a: unknown[]) => narrow(fn(...a))
            : fn;
      }
      return out;
    },
    ptrOf: (buf) => P.of(buf) as unknown as Ptr,
    bufArg: (buf) => buf as unknown as BufArg,
    address: (p) => (p === null ? 0n : BigInt(P.value(raw(p)))),
    fromAddress: (a) => P.create(BigInt(a)) as unknown as Ptr | null,
    add: (p, off) => P.offset(raw(p), off) as unknown as Ptr,
    readCString: (p, off = 0) => V.getCString(raw(p), off),
    arrayBuffer: (p, len, off = 0) =>
      len === 0 ? new ArrayBuffer(0) : V.getArrayBuffer(raw(p), len, off),
    readI32: (p, off = 0) => new V(raw(p)).getInt32(off),
    readU32: (p, off = 0) => new V(raw(p)).getUint32(off),
    readU64: (p, off = 0) => new V(raw(p)).getBigUint64(off),
    readPtr: (p, off = 0) => new V(raw(p)).getPointer(off) as unknown as Ptr,
    callback(def, fn): NativeCallback {
      const cb = new D.UnsafeCallback(
        {
          parameters: def.args.map((a) => TYPES[a]),
          result: TYPES[def.result],
        },
        fn as (...a: unknown[]) => unknown,
      );
      // A plain (not threadSafe) UnsafeCallback is already unref'd: it never
      // keeps the event loop alive. Same-thread calls only.
      return { ptr: cb.pointer as unknown as Ptr, close: () => cb.close() };
    },
  };
}
