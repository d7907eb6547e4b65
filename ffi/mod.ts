/**
 * tsbpf's native layer, the only door to `bun:ffi` / `Deno.dlopen`.
 *
 * - `libbpf()` / `libc()`: the symbol tables of `symbols.ts`, loaded on first
 *   use. Capture the functions you call often once:
 *   `const { bpf_map_lookup_elem } = libbpf();`.
 * - Buffers: pass a `Uint8Array` to a `buf` parameter; for a buffer reused on
 *   a hot path pass `bufArg(buf)` (computed once) instead.
 * - Pointers (`Ptr`) are opaque; NULL is `null`. `readCString`, `viewMemory`,
 *   `ptrAdd`, `readU32`/`readU64`/`readPtr`, `addressOf` work on them.
 * - `errno()` right after a call that returned NULL/-1 (libbpf ≥ 1.0 also
 *   returns -errno from int functions: prefer that value).
 */
import { BpfTypeError, FfiError, UnsupportedError } from "../src/errors.ts";
import type { Backend, BufArg, NativeCallback, Ptr } from "./backend.ts";
import { createBunBackend } from "./bun.ts";
import { createDenoBackend } from "./deno.ts";
import {
  type CallbackDef,
  LIBBPF,
  LIBBPF_QUIET,
  LIBC,
  LIBC_WAIT,
  type NativeType,
  type SymbolDef,
} from "./symbols.ts";

export type { BufArg, NativeCallback, Ptr } from "./backend.ts";
export { CALLBACKS, LIBBPF, LIBC } from "./symbols.ts";

type ArgOf<T> = T extends "i32" | "u32" | "u8" | "f64"
  ? number
  : T extends "i64" | "u64" | "usize"
    ? number | bigint
    : T extends "bool"
      ? boolean
      : T extends "ptr"
        ? Ptr | null
        : T extends "buf"
          ? Uint8Array | BufArg | null
          : never;
type ResultOf<T> = T extends "void"
  ? void
  : T extends "bool"
    ? boolean
    : T extends "ptr"
      ? Ptr | null
      : T extends "u64" | "i64" | "usize"
        ? number | bigint
        : number;
type ArgsOf<A extends readonly NativeType[]> = {
  -readonly [I in keyof A]: ArgOf<A[I]>;
};
/** The JS signature of a symbol-table entry. */
export type NativeFn<D extends SymbolDef> = D extends { nonblocking: true }
  ? (...args: ArgsOf<D["args"]>) => Promise<ResultOf<D["result"]>>
  : (...args: ArgsOf<D["args"]>) => ResultOf<D["result"]>;
/** A loaded symbol table. */
export type Lib<T extends Record<string, SymbolDef>> = {
  readonly [K in keyof T]: NativeFn<T[K]>;
};
type CallbackArgOf<T> = T extends "ptr" ? Ptr | null : ArgOf<T>;
type CallbackArgsOf<A extends readonly NativeType[]> = {
  -readonly [I in keyof A]: CallbackArgOf<A[I]>;
};
/** The JS signature of a callback definition. */
export type CallbackFn<D extends CallbackDef> = (
  ...args: CallbackArgsOf<D["args"]>
) => ResultOf<D["result"]>;

let backendCache: Backend | undefined;

/** The runtime backend, detected once. Throws FfiError outside Bun/Deno. */
export function backend(): Backend {
  if (backendCache) return backendCache;
  const g = globalThis as { Deno?: { dlopen?: unknown }; Bun?: unknown };
  if (typeof g.Deno?.dlopen === "function") backendCache = createDenoBackend();
  else if (g.Bun !== undefined) backendCache = createBunBackend();
  else {
    throw new FfiError("tsbpf's loader needs Bun or Deno (no FFI here)", {
      hint: "run under `bun` or `deno run -A`; Node can use the pure parsers only",
    });
  }
  return backendCache;
}

/** "bun" or "deno". */
export function runtimeName(): "bun" | "deno" {
  return backend().name;
}

/** True when `nonblocking` symbols (e.g. `epoll_wait_nb`) run off the JS thread. */
export function hasNonblockingCalls(): boolean {
  return backend().nonblockingCalls;
}

function envLibbpf(): string | undefined {
  const g = globalThis as {
    Deno?: { env?: { get(k: string): string | undefined } };
    process?: { env?: Record<string, string | undefined> };
  };
  try {
    return g.Deno?.env?.get("TSBPF_LIBBPF") ?? g.process?.env?.TSBPF_LIBBPF;
  } catch {
    return undefined; // Deno without --allow-env
  }
}

/**
 * Where libbpf is looked for, in order: `$TSBPF_LIBBPF` alone when set;
 * else the soname (found the way the dynamic loader finds it: ld.so.cache,
 * LD_LIBRARY_PATH) then the usual distribution paths.
 */
export function libbpfCandidates(): string[] {
  const env = envLibbpf();
  if (env) return [env];
  return [
    "libbpf.so.1",
    "/usr/lib/x86_64-linux-gnu/libbpf.so.1",
    "/usr/lib/aarch64-linux-gnu/libbpf.so.1",
    "/usr/lib64/libbpf.so.1",
    "/usr/lib/libbpf.so.1",
    "/usr/local/lib64/libbpf.so.1",
    "/usr/local/lib/libbpf.so.1",
  ];
}

function loadTable<T extends Record<string, SymbolDef>>(
  what: string,
  candidates: string[],
  table: T,
  missing: (key: string, def: SymbolDef) => (...a: never[]) => never,
): { lib: Lib<T>; path: string; absent: Set<string> } {
  const b = backend();
  const errors: string[] = [];
  for (const path of candidates) {
    let syms;
    try {
      syms = b.open(path, table);
    } catch (e) {
      errors.push(`${path}: ${(e as Error).message}`);
      continue;
    }
    const lib: Record<string, unknown> = {};
    const absent = new Set<string>();
    for (const [key, def] of Object.entries(table)) {
      if (!syms[key]) absent.add(key);
      lib[key] = syms[key] ?? missing(key, def);
    }
    return { lib: lib as Lib<T>, path, absent };
  }
  throw new FfiError(`cannot load ${what}:\n  ${errors.join("\n  ")}`, {
    hint:
      what === "libbpf"
        ? "install libbpf 1.1 or newer (Debian/Ubuntu: apt install libbpf1; Fedora: dnf install libbpf), or set TSBPF_LIBBPF=/path/to/libbpf.so.1"
        : undefined,
  });
}

let libbpfCache:
  | {
      /** What callers get: the functions that may print, guarded. */
      lib: Lib<typeof LIBBPF>;
      /** The bare functions. */
      raw: Lib<typeof LIBBPF>;
      path: string;
      absent: Set<string>;
    }
  | undefined;
let libcCache: Lib<typeof LIBC> | undefined;

let onLoaded: ((lib: Lib<typeof LIBBPF>) => void) | undefined;

/**
 * Runs `fn` each time this thread takes libbpf's print function (at once
 * if it holds it). The log router uses it so libbpf never prints to
 * stderr on its own, whoever calls libbpf first.
 */
export function onLibbpfLoaded(fn: (lib: Lib<typeof LIBBPF>) => void): void {
  onLoaded = fn;
  if (holding) fn(libbpfCache!.raw);
}

/** True while this thread holds libbpf's print function. */
let holding = false;

/**
 * Takes libbpf's print function for this thread, or throws the FfiError
 * saying which thread has it. Not remembered when refused: that thread
 * may end, or give it back.
 */
function hold(raw: Lib<typeof LIBBPF>): void {
  const refused = claimLibbpfPrint(raw);
  if (refused) throw refused;
  holding = true;
  onLoaded?.(raw);
}

/**
 * The libbpf symbol table (loaded on first call). The functions that
 * never print (LIBBPF_QUIET: the syscall wrappers behind maps, ring
 * buffer reading, ids and pins) work on every thread. Any other one first
 * takes libbpf's print function for this thread: an FfiError while
 * another JavaScript thread holds it.
 */
export function libbpf(): Lib<typeof LIBBPF> {
  if (libbpfCache) return libbpfCache.lib;
  const loaded = loadTable(
    "libbpf",
    libbpfCandidates(),
    LIBBPF,
    (key, def) => () => {
      throw new UnsupportedError(
        `${key} needs libbpf ≥ ${def.since} (this is ${libbpfVersion()})`,
        {
          hint: "upgrade libbpf, or point TSBPF_LIBBPF at a newer libbpf.so.1",
        },
      );
    },
  );
  const raw = loaded.lib;
  const guarded: Record<string, unknown> = { ...raw };
  for (const key of Object.keys(LIBBPF)) {
    if (LIBBPF_QUIET.has(key) || loaded.absent.has(key)) continue;
    const fn = (raw as Record<string, (...a: unknown[]) => unknown>)[key]!;
    guarded[key] = (...a: unknown[]) => {
      if (!holding) hold(raw);
      return fn(...a);
    };
  }
  libbpfCache = { ...loaded, lib: guarded as Lib<typeof LIBBPF>, raw };
  return libbpfCache.lib;
}

/**
 * Gives libbpf's print function back: NULL (silent) again, and the
 * process-wide record of the thread holding it cleared, so another
 * JavaScript thread can take it. This thread's next call of a function
 * that may print takes it again if it is free. See src/thread_exit.ts.
 */
export function releaseLibbpf(): void {
  if (!holding) return;
  holding = false;
  libbpfCache!.raw.libbpf_set_print(null);
  const holder = readHolder();
  const me = thisThread();
  if (holder && holder.pid === me.pid && holder.tid === me.tid)
    writeProcessRecord(HOLDER_ENV, ""); // emptied, never unset (see there)
}

/**
 * Which thread holds libbpf, as "pid:tid", in the environment: the one
 * store every thread of a process shares. The pid tells a child process,
 * which inherits the variable, that the record is not about it.
 */
const HOLDER_ENV = "TSBPF_LIBBPF_THREAD";

/** An OS thread of a process. */
export interface ThreadId {
  readonly pid: number;
  readonly tid: number;
}

/**
 * A process-wide record shared by every JavaScript thread: the value of
 * environment variable `name` ("" when unset).
 */
export function readProcessRecord(name: string): string {
  return readCString(libc().getenv(cstr(name)));
}

/**
 * Sets the process-wide record `name` (see {@link readProcessRecord}).
 * Emptied, never unset: glibc reallocates the environment array when a
 * variable is added, under any other thread reading it at that moment.
 */
export function writeProcessRecord(name: string, value: string): void {
  libc().setenv(cstr(name), cstr(value), 1);
}

function readHolder(): ThreadId | null {
  const m = /^(\d+):(\d+)$/.exec(readProcessRecord(HOLDER_ENV));
  return m ? { pid: Number(m[1]), tid: Number(m[2]) } : null;
}

let thisThreadCache: ThreadId | undefined;
/** The calling thread's pid and tid (a JS thread never changes OS thread). */
export function thisThread(): ThreadId {
  if (thisThreadCache) return thisThreadCache;
  const pid = libc().getpid();
  // /proc/thread-self/stat starts with the calling thread's id.
  const tid = Number(/^\d+/.exec(readProcFile("/proc/thread-self/stat"))?.[0]);
  return (thisThreadCache = { pid, tid: tid || pid });
}

/**
 * False once thread `tid` of this process has exited: both runtimes run a
 * Worker on a thread of its own, which exits when the Worker ends.
 */
export function threadAlive(tid: number): boolean {
  const fd = libc().open(
    cstr(`/proc/self/task/${tid}/stat`),
    0o2000000 /* O_RDONLY | O_CLOEXEC */,
    0,
  );
  if (fd < 0) return errno() !== 2; /* ENOENT */
  libc().close(fd);
  return true;
}

/**
 * libbpf's print function is one per process, and a JS callback can run
 * only on the thread (isolate) that made it: once a second JS thread (a
 * Worker, or the main thread after a Worker) installed its own, libbpf
 * called it from the first thread, or after its Worker ended, and the
 * process crashed. So one JS thread at a time holds libbpf: the first to
 * load it, until it ends or gives it back (`releaseLibbpf`). Another gets
 * an FfiError, and may try again later. A holder that ended without
 * giving it back (a Worker's terminate() runs none of its code) is seen
 * by its thread being gone: its callback is replaced before libbpf can
 * call it. On success the print function is left NULL (silent) until the
 * log router sets ours.
 */
function claimLibbpfPrint(lib: Lib<typeof LIBBPF>): FfiError | undefined {
  const me = thisThread();
  const holder = readHolder();
  const otherHolder =
    holder !== null && holder.pid === me.pid && holder.tid !== me.tid
      ? holder.tid
      : null;
  const prev = lib.libbpf_set_print(null);
  let free: boolean;
  if (prev === null) {
    // Given back, or a holder between taking it and setting its callback.
    free = otherHolder === null || !threadAlive(otherHolder);
  } else if (isLibbpfOwn(lib, prev)) {
    // Nobody set one since libbpf was loaded (Deno unloads it when the
    // last isolate that opened it ends), whatever the record says.
    free = true;
  } else if (otherHolder !== null) {
    free = !threadAlive(otherHolder);
  } else {
    // This thread's own (another copy of tsbpf here); without a record,
    // set by something that is not tsbpf: leave it.
    free = holder?.pid === me.pid;
  }
  if (!free) {
    lib.libbpf_set_print(prev);
    return inUse(
      otherHolder === null ? "another thread" : `thread ${otherHolder}`,
    );
  }
  writeProcessRecord(HOLDER_ENV, `${me.pid}:${me.tid}`);
  return undefined;
}

function inUse(who: string): FfiError {
  return new FfiError(
    `libbpf is in use by another JavaScript thread of this process (${who}: a Worker, or the main thread)`,
    {
      hint: "libbpf's log callback is process-wide, and a JavaScript callback runs only on the thread that made it: one thread at a time loads objects (maps and ring buffers work on every thread). It is free again once that thread ends or calls closeAll()",
    },
  );
}

/** True when `print` lies in libbpf's own image (its default printer). */
function isLibbpfOwn(lib: Lib<typeof LIBBPF>, print: Ptr): boolean {
  const maps = readProcFile("/proc/self/maps");
  // Without /proc there is no telling: keep the old behaviour (take it).
  if (maps === "") return true;
  const b = backend();
  const own = mappingOf(b.address(lib.libbpf_version_string()), maps);
  return own !== null && mappingOf(b.address(print), maps) === own;
}

/** The file path of the /proc/self/maps line whose range holds `address`. */
function mappingOf(address: bigint, maps: string): string | null {
  for (const line of maps.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (!m) continue;
    if (address >= BigInt(`0x${m[1]}`) && address < BigInt(`0x${m[2]}`))
      return m[3]!;
  }
  return null;
}

/** A /proc file's text, through libc (no runtime permission needed). */
function readProcFile(path: string): string {
  const c = libc();
  const fd = c.open(cstr(path), 0o2000000 /* O_RDONLY | O_CLOEXEC */, 0);
  if (fd < 0) return "";
  const chunks: Uint8Array[] = [];
  try {
    for (;;) {
      const buf = new Uint8Array(64 * 1024);
      const n = Number(c.read(fd, buf, buf.length));
      if (n <= 0) break;
      chunks.push(buf.subarray(0, n));
    }
  } finally {
    c.close(fd);
  }
  const dec = new TextDecoder();
  return (
    chunks.map((x) => dec.decode(x, { stream: true })).join("") + dec.decode()
  );
}

/** Path libbpf was loaded from (as given to dlopen). */
export function libbpfPath(): string {
  libbpf();
  return libbpfCache!.path;
}

/** The libc symbol table (loaded on first call). */
export function libc(): Lib<typeof LIBC> {
  libcCache ??= loadTable("libc", ["libc.so.6"], LIBC, (key) => () => {
    throw new FfiError(`libc has no ${key}`);
  }).lib;
  return libcCache;
}

let libcWaitCache: Lib<typeof LIBC_WAIT> | undefined;

/**
 * Only `epoll_wait` and errno from libc, for a waiter's Worker thread (see
 * LIBC_WAIT): `libc()` there would load the whole table in every Worker.
 */
export function libcWait(): Lib<typeof LIBC_WAIT> {
  libcWaitCache ??= loadTable("libc", ["libc.so.6"], LIBC_WAIT, (key) => () => {
    throw new FfiError(`libc has no ${key}`);
  }).lib;
  return libcWaitCache;
}

/** True when the loaded libbpf has `symbol` (only optional ones can be absent). */
export function hasSymbol(symbol: keyof typeof LIBBPF): boolean {
  libbpf();
  return !libbpfCache!.absent.has(symbol);
}

/** libbpf's major and minor version. */
export function libbpfVersionNumbers(): { major: number; minor: number } {
  const l = libbpf();
  return { major: l.libbpf_major_version(), minor: l.libbpf_minor_version() };
}

/** libbpf's version as "1.1". */
export function libbpfVersion(): string {
  const v = libbpfVersionNumbers();
  return `${v.major}.${v.minor}`;
}

let errnoPtr: Ptr | null = null;
/**
 * The calling thread's errno. Read it immediately after the failing call:
 * any later native call may overwrite it.
 */
export function errno(): number {
  // A waiter's Worker has loaded only libcWait(): no second table there.
  errnoPtr ??= (libcCache ?? libcWaitCache ?? libc()).__errno_location();
  return backend().readI32(errnoPtr!);
}

const encoder = new TextEncoder();
/** `s` as a NUL-terminated UTF-8 buffer, for a `buf` parameter taking `const char *`. */
export function cstr(s: string): Uint8Array {
  // A non-string from JavaScript would make a buffer without its NUL, which
  // C reads past (Deno segfaults); an inner NUL would cut the string short.
  if (typeof s !== "string") {
    throw new BpfTypeError(
      `expected a string (a path or name), got ${s === null ? "null" : typeof s}`,
    );
  }
  if (s.includes("\0")) {
    throw new BpfTypeError(`${JSON.stringify(s)} contains a NUL character`);
  }
  const bytes = new Uint8Array(s.length * 3 + 1);
  const { written } = encoder.encodeInto(s, bytes);
  return bytes.subarray(0, written + 1);
}

/** The NUL-terminated string at `p` (+`offset`); "" for NULL. */
export function readCString(p: Ptr | null, offset = 0): string {
  return p === null ? "" : backend().readCString(p, offset);
}

/** A buffer prepared once for many calls (fast path in Bun). */
export function bufArg(buf: Uint8Array): BufArg {
  return backend().bufArg(buf);
}

/** Pointer to a buffer's first byte; valid while `buf` is alive. */
export function ptrOf(buf: Uint8Array): Ptr {
  return backend().ptrOf(buf);
}

/** Numeric address of a pointer (0n for null), for storing in C structs. */
export function addressOf(p: Ptr | Uint8Array | null): bigint {
  const b = backend();
  if (p instanceof Uint8Array) return p.byteLength ? b.address(b.ptrOf(p)) : 0n;
  return b.address(p);
}

/** The pointer at a numeric address (0 → null). */
export function ptrFromAddress(a: bigint | number): Ptr | null {
  return backend().fromAddress(a);
}

/** `p + offset` bytes. */
export function ptrAdd(p: Ptr, offset: number): Ptr {
  return backend().add(p, offset);
}

/**
 * Native memory as a `Uint8Array` (no copy): for mmap'd regions and libbpf
 * buffers. The view dangles once the memory is freed; callers must stop
 * using it (the library guards with ClosedError).
 */
export function viewMemory(p: Ptr, length: number, offset = 0): Uint8Array {
  return new Uint8Array(backend().arrayBuffer(p, length, offset));
}

/** Native memory as an `ArrayBuffer` (no copy). */
export function memoryBuffer(p: Ptr, length: number, offset = 0): ArrayBuffer {
  return backend().arrayBuffer(p, length, offset);
}

/** i32 at `p + offset`. */
export function readI32(p: Ptr, offset = 0): number {
  return backend().readI32(p, offset);
}
/** u32 at `p + offset`. */
export function readU32(p: Ptr, offset = 0): number {
  return backend().readU32(p, offset);
}
/** u64 at `p + offset`. */
export function readU64(p: Ptr, offset = 0): bigint {
  return backend().readU64(p, offset);
}
/** The pointer stored at `p + offset`. */
export function readPtr(p: Ptr, offset = 0): Ptr | null {
  return backend().readPtr(p, offset);
}

/**
 * Makes `fn` callable from C for the duration of the calls that use it (same
 * thread only). Keep the returned object referenced while C holds the
 * pointer, and `close()` it after; it never keeps the process alive.
 */
export function nativeCallback<D extends CallbackDef>(
  def: D,
  fn: CallbackFn<D>,
): NativeCallback {
  return backend().callback(def, fn as (...a: never[]) => unknown);
}

/** mmap protection bits. */
export const PROT_READ = 1;
/** mmap protection bits. */
export const PROT_WRITE = 2;
/** mmap flag: shared mapping (writes reach the kernel object). */
export const MAP_SHARED = 1;
// mmap flags (uapi asm-generic/mman-common.h; the same on x86_64 and arm64)
const MAP_PRIVATE = 0x02;
const MAP_FIXED = 0x10;
const MAP_ANONYMOUS = 0x20;

// Unmaps a retired region's zero-page placeholder once no JS view of it is
// left (the views share one ArrayBuffer: the one `bytes` was made over).
// The held value is plain data: a closure made in mmap() would keep its
// scope, and with it `bytes`, alive, so the buffer was never collected.
const placeholders = new FinalizationRegistry<{ ptr: Ptr; length: number }>(
  (region) => libc().munmap(region.ptr, region.length),
);

/** A mapped region of a file descriptor. */
export interface MappedMemory {
  /** Start of the mapping. */
  readonly ptr: Ptr;
  /** Mapped length in bytes. */
  readonly length: number;
  /** The mapping as bytes (no copy); invalid after `unmap()`. */
  readonly bytes: Uint8Array;
  /** munmap; idempotent. Views of `bytes` kept past this crash on access. */
  unmap(): void;
  /**
   * Releases the mapping of the fd but keeps its addresses readable: the
   * range is replaced in place by read-only zero pages, so views of `bytes`
   * that callers kept read zeros instead of faulting. The placeholder is
   * unmapped when the last such view is garbage-collected. Idempotent.
   */
  retire(): void;
}

/**
 * mmap(NULL, length, prot, flags, fd, offset). Returns null on failure with
 * errno set (read it with `errno()` at once).
 */
export function mmap(
  fd: number,
  length: number,
  prot: number = PROT_READ | PROT_WRITE,
  flags: number = MAP_SHARED,
  offset = 0,
): MappedMemory | null {
  const c = libc();
  const addr = c.mmap(null, length, prot, flags, fd, offset);
  // MAP_FAILED is (void *)-1: the only "address" above 2^53 we can get back.
  if (typeof addr === "bigint") return null;
  const ptr = ptrFromAddress(addr)!;
  const bytes = viewMemory(ptr, length);
  let mapped = true;
  return {
    ptr,
    length,
    bytes,
    unmap() {
      if (!mapped) return;
      mapped = false;
      c.munmap(ptr, length);
    },
    retire() {
      if (!mapped) return;
      mapped = false;
      // MAP_FIXED replaces the fd's pages atomically: no moment in which
      // another mmap could take the range while stale views still point at it.
      const zero = c.mmap(
        ptr,
        length,
        PROT_READ,
        MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
        -1,
        0,
      );
      if (typeof zero === "bigint") {
        c.munmap(ptr, length);
        return;
      }
      placeholders.register(bytes.buffer, { ptr, length });
    },
  };
}

let pageSizeCache = 0;
/** The system page size. */
export function pageSize(): number {
  return (pageSizeCache ||= libc().getpagesize());
}

/**
 * The interface index of `name` (e.g. "lo"), or 0 when there is none.
 */
export function ifNameToIndex(name: string): number {
  return libc().if_nametoindex(cstr(name));
}

// __NR_bpf (arch/x86/entry/syscalls/syscall_64.tbl, asm-generic/unistd.h)
const SYS_BPF: Record<string, number> = { x64: 321, arm64: 280 };

/**
 * bpf(2) itself: `cmd` with `attr` (a `union bpf_attr` prefix, the rest of
 * it zero). Returns the result (an fd for the commands making one), or
 * -errno. For what libbpf 1.1 has no call for; everything else goes
 * through libbpf.
 */
export function bpfSyscall(cmd: number, attr: Uint8Array): number {
  const arch =
    (globalThis as { process?: { arch?: string } }).process?.arch ?? "x64";
  const nr = SYS_BPF[arch];
  if (nr === undefined) {
    throw new FfiError(`bpf: unknown syscall number on ${arch}`);
  }
  const r = Number(libc().syscall_bpf(nr, cmd, attr, attr.length));
  return r < 0 ? -errno() : r;
}

// __NR_perf_event_open (arch/x86/entry/syscalls/syscall_64.tbl, asm-generic/unistd.h)
const SYS_PERF_EVENT_OPEN: Record<string, number> = { x64: 298, arm64: 241 };

/**
 * perf_event_open(2): `attr` is a `struct perf_event_attr` (its `size`
 * field filled in). Returns the fd, or -errno.
 */
export function perfEventOpen(
  attr: Uint8Array,
  pid: number,
  cpu: number,
  groupFd = -1,
  flags = 0,
): number {
  const arch =
    (globalThis as { process?: { arch?: string } }).process?.arch ?? "x64";
  const nr = SYS_PERF_EVENT_OPEN[arch];
  if (nr === undefined) {
    throw new FfiError(`perf_event_open: unknown syscall number on ${arch}`);
  }
  const fd = Number(
    libc().syscall_perf_event_open(nr, attr, pid, cpu, groupFd, flags),
  );
  return fd < 0 ? -errno() : fd;
}
