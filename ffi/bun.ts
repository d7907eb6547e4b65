/**
 * Bun backend over `bun:ffi`. Loaded only when running in Bun (the module
 * is fetched with `import.meta.require`, so Deno never resolves "bun:ffi").
 */
import type { Backend, BufArg, NativeCallback, Ptr } from "./backend.ts";
import type { CallbackDef, NativeType, SymbolDef } from "./symbols.ts";

// Minimal local typing of bun:ffi: this file must also type-check in Deno.
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: string[]; returns: string }>,
  ): { symbols: Record<string, (...a: unknown[]) => unknown> };
  ptr(buf: ArrayBufferView): number;
  toArrayBuffer(p: number, off?: number, len?: number): ArrayBuffer;
  CString: new (p: number, off?: number) => string;
  JSCallback: new (
    fn: (...a: unknown[]) => unknown,
    def: { args: string[]; returns: string },
  ) => { ptr: number; close(): void };
  read: {
    i32(p: number, off?: number): number;
    u32(p: number, off?: number): number;
    u64(p: number, off?: number): bigint;
    ptr(p: number, off?: number): number;
  };
}

// u64_fast/i64_fast: a number when it fits in 2^53, else a bigint.
const TYPES: Record<NativeType, string> = {
  void: "void",
  bool: "bool",
  u8: "u8",
  i32: "i32",
  u32: "u32",
  i64: "i64_fast",
  u64: "u64_fast",
  usize: "u64_fast",
  f64: "f64",
  ptr: "ptr",
  // A bun "ptr" argument takes a TypedArray or an address (number).
  buf: "ptr",
};

function conv(def: SymbolDef | CallbackDef) {
  return { args: def.args.map((a) => TYPES[a]), returns: TYPES[def.result] };
}

/** Creates the Bun backend. Call only in Bun. */
/**
 * JavaScriptCore keeps a small typed array's bytes inline in the object and
 * moves them out on the first `.buffer` access, so a pointer taken before
 * that access would dangle. Touching `.buffer` first pins the bytes where the
 * pointer says they are.
 */
function stable<T extends ArrayBufferView>(buf: T): T {
  void buf.buffer;
  return buf;
}

/** Creates the Bun backend (over `bun:ffi`). Call only in Bun. */
export function createBunBackend(): Backend {
  const ffi = (
    import.meta as unknown as { require(id: string): BunFfi }
  ).require("bun:ffi");
  const asNum = (p: Ptr | null) => (p === null ? 0 : (p as unknown as number));
  const asPtr = (n: number) => (n ? (n as unknown as Ptr) : null);

  return {
    name: "bun",
    nonblockingCalls: false,
    open(path, table) {
      const plain: Record<string, { args: string[]; returns: string }> = {};
      const separate: [string, SymbolDef][] = [];
      for (const [key, def] of Object.entries(table)) {
        if (def.since || (def.name && def.name !== key)) {
          separate.push([key, def]);
        } else plain[key] = conv(def);
      }
      const out: Record<string, ((...a: never[]) => unknown) | null> = {
        ...ffi.dlopen(path, plain).symbols,
      };
      // Optional and aliased symbols each get their own dlopen handle: bun's
      // dlopen fails as a whole when one symbol is missing, and keys a
      // symbol by its C name.
      for (const [key, def] of separate) {
        const cname = def.name ?? key;
        try {
          const fn = ffi.dlopen(path, { [cname]: conv(def) }).symbols[cname];
          out[key] = def.nonblocking
            ? (...a: unknown[]) => Promise.resolve(fn(...a))
            : fn;
        } catch (e) {
          if (!def.since) throw e;
          out[key] = null;
        }
      }
      return out;
    },
    ptrOf: (buf) => asPtr(ffi.ptr(stable(buf))) as Ptr,
    bufArg: (buf) => ffi.ptr(stable(buf)) as unknown as BufArg,
    address: (p) => BigInt(asNum(p)),
    fromAddress: (a) => asPtr(Number(a)),
    add: (p, off) => (asNum(p) + off) as unknown as Ptr,
    readCString: (p, off = 0) => String(new ffi.CString(asNum(p), off)),
    arrayBuffer: (p, len, off = 0) =>
      len === 0 ? new ArrayBuffer(0) : ffi.toArrayBuffer(asNum(p), off, len),
    readI32: (p, off = 0) => ffi.read.i32(asNum(p), off),
    readU32: (p, off = 0) => ffi.read.u32(asNum(p), off),
    readU64: (p, off = 0) => ffi.read.u64(asNum(p), off),
    readPtr: (p, off = 0) => asPtr(ffi.read.ptr(asNum(p), off)),
    callback(def, fn): NativeCallback {
      // Same-thread JSCallback: libbpf calls back from inside our own call.
      // (threadsafe: true is unreliable for libbpf, see platform notes.)
      const cb = new ffi.JSCallback(
        fn as (...a: unknown[]) => unknown,
        conv(def),
      );
      return { ptr: cb.ptr as unknown as Ptr, close: () => cb.close() };
    },
  };
}
