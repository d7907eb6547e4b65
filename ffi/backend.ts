/**
 * The contract between `ffi/mod.ts` and a runtime backend (`bun.ts`,
 * `deno.ts`). Only ffi/ sees it; the rest of tsbpf uses `ffi/mod.ts`.
 */
import type { CallbackDef, SymbolDef } from "./symbols.ts";

declare const ptrBrand: unique symbol;
/**
 * An opaque native pointer: a number in Bun, a PointerObject in Deno.
 * NULL is always `null`. Callers never look inside.
 */
export type Ptr = { readonly [ptrBrand]: "Ptr" };

declare const bufBrand: unique symbol;
/**
 * A buffer prepared once for repeated calls (`bufArg()`): in Bun its
 * address, in Deno the typed array itself. Valid while the buffer lives.
 */
export type BufArg = { readonly [bufBrand]: "BufArg" };

/** A JS function made callable from C. */
export interface NativeCallback {
  /** The C function pointer. */
  readonly ptr: Ptr;
  /** Frees the trampoline; C must not call it afterwards. */
  close(): void;
}

/** What each runtime provides. */
export interface Backend {
  /** "bun" or "deno". */
  readonly name: "bun" | "deno";
  /** True when `nonblocking` symbols really run off the JS thread (Deno). */
  readonly nonblockingCalls: boolean;
  /**
   * dlopen `path` with `table`. Symbols with `since` or an alias `name` are
   * looked up one by one; a missing one is `null`. Throws when the library
   * or a required symbol is missing.
   */
  open(
    path: string,
    table: Record<string, SymbolDef>,
  ): Record<string, ((...args: never[]) => unknown) | null>;
  /** Address of a buffer's first byte (the buffer must stay alive). */
  ptrOf(buf: Uint8Array): Ptr;
  /** `buf` prepared for fast repeated passing as a `buf` argument. */
  bufArg(buf: Uint8Array): BufArg;
  /** A pointer's address. */
  address(p: Ptr | null): bigint;
  /** The pointer at an address (0 → null). */
  fromAddress(a: bigint | number): Ptr | null;
  /** p + offset bytes. */
  add(p: Ptr, offset: number): Ptr;
  /** NUL-terminated string at p + offset (UTF-8). */
  readCString(p: Ptr, offset?: number): string;
  /** `len` bytes of native memory at p as an ArrayBuffer (no copy). */
  arrayBuffer(p: Ptr, len: number, offset?: number): ArrayBuffer;
  /** i32 at p + offset. */
  readI32(p: Ptr, offset?: number): number;
  /** u32 at p + offset. */
  readU32(p: Ptr, offset?: number): number;
  /** u64 at p + offset. */
  readU64(p: Ptr, offset?: number): bigint;
  /** Pointer stored at p + offset. */
  readPtr(p: Ptr, offset?: number): Ptr | null;
  /** Wraps `fn` as a same-thread C callback that does not keep the process alive. */
  callback(def: CallbackDef, fn: (...args: never[]) => unknown): NativeCallback;
}
