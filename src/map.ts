/**
 * `BpfMap`: a BPF map, either one of a `BpfObject` (libbpf's `struct
 * bpf_map`; configurable before load, usable after) or a standalone map
 * this process created, opened from a pin or found by id (an fd we own).
 *
 * Element access is Map-like (`get/set/delete/has/keys/values/entries`,
 * iteration, `clear`), typed from the map's BTF (`__type(key, ...)`) or from
 * the types given at creation; raw `Uint8Array`s are always accepted.
 * Per-CPU maps read and write one value per possible CPU. Iteration uses
 * the kernel's batch lookups; `setMany`/`deleteMany` its batch writes.
 *
 * The element hot path (`get`/`set`/`delete`/`has`) reuses one key buffer
 * and one value buffer per map, prepared once for the FFI (`bufArg`), so a
 * call allocates nothing besides the decoded value.
 */
import { readFileSync, unlinkSync } from "node:fs";
import {
  type BufArg,
  type Ptr,
  bufArg,
  cstr,
  libbpf,
  readCString,
} from "../ffi/mod.ts";
import { bpfError, checkPinPath } from "./bpf_error.ts";
import { parseCpuList } from "./cpus.ts";
import type { Btf } from "./btf/btf.ts";
import type { StructView, ViewClass } from "./btf/views.ts";
import {
  BpfError,
  BpfTypeError,
  BtfError,
  ClosedError,
  DrainError,
  StateError,
  TsbpfError,
} from "./errors.ts";
import { cancelRelease, releaseOnCollect } from "./gc_release.ts";
import { trackOpen, untrackOpen } from "./thread_exit.ts";
import { clearLibbpfLog } from "./libbpf_log.ts";
import { BpfLink } from "./link.ts";
import { registerStructOps } from "./struct_ops.ts";
import {
  type Chunk,
  type RawMap,
  defaultChunk,
  deleteBatch,
  lookupChunks,
  takeChunks,
  updateBatch,
} from "./map_batch.ts";
import {
  type CodecContext,
  type HasFd,
  type MapCodec,
  type TypeSpec,
  bytesCodec,
  codecOfBtf,
  codecOfSpec,
  describeValue,
  mapOfMapsCodec,
  progArrayCodec,
  stackBuildIdCodec,
  stackIdCodec,
  stackTraceCodec,
} from "./map_codecs.ts";
import { loadMapBtf } from "./map_btf.ts";
import {
  type MapInfo,
  checkMapName,
  closeFd,
  createMapFd,
  kernelBtf,
  mapInfo,
  openById,
  openPinned,
} from "./map_create.ts";
import {
  type KnownMapType,
  type LookupFlags,
  type MapType,
  type PerCpuMapType,
  type UpdateFlags,
  BPF_EXIST,
  BPF_F_LOCK,
  BPF_NOEXIST,
  isArrayLike,
  isIndexed,
  resumesByBucket,
  isKeyless,
  isMapOfMaps,
  isPerCpu,
  knownMapTypes,
  lookupFlags,
  MAP_FLAGS,
  mapTypeId,
  mapTypeName,
  updateFlags,
} from "./map_types.ts";
import { type ObjectOwner, notLoadedReason } from "./owner.ts";
import { checkPinOf } from "./pin_owner.ts";

export { mapTypeId, mapTypeName, type MapType } from "./map_types.ts";

const EPERM = 1;
const ENOENT = 2;
const E2BIG = 7;
const EBUSY = 16;
const EEXIST = 17;
const EINVAL = 22;
const EOPNOTSUPP = 95;
// The kernel's internal ENOTSUPP, which map ops return to user space.
const ENOTSUPP = 524;

/** The "frozen:" line of a map fd's /proc/self/fdinfo (kernel ≥ 5.2). */
function fdinfoFrozen(fd: number): boolean {
  try {
    return /^frozen:\s*1$/m.test(
      readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"),
    );
  } catch {
    return false; // no procfs, or Deno without read permission
  }
}

/** What to use instead of element calls on maps without elements. */
const NO_ELEMENTS: Partial<Record<MapType, string>> = {
  ringbuf: "read its records with RingBuffer.open(map)",
  user_ringbuf:
    "user space writes records into its memory-mapped ring, and BPF programs drain them with bpf_user_ringbuf_drain",
  arena: "it is memory that BPF programs and user space share through mmap()",
};

/** What user space passes as the key of a local storage map. */
const STORAGE_KEY: Partial<Record<MapType, string>> = {
  task_storage: "a pidfd",
  sk_storage: "a socket fd",
  inode_storage: "an open file's fd",
  cgrp_storage: "a cgroup directory's fd",
};

/**
 * Why an element operation got ENOTSUPP/EOPNOTSUPP: the map type does not
 * offer it to user space (kernel/bpf/syscall.c: the ops it leaves unset).
 */
function unsupportedHint(op: string, type: MapType): string {
  const key = STORAGE_KEY[type];
  if (key !== undefined)
    return `${type} maps are keyed by an fd (${key}): get, set and delete take one, but user space cannot list their keys`;
  if (type === "perf_event_array" && op.includes("lookup"))
    return "user space cannot read a perf_event_array's values (perf event fds): read the events it carries with PerfBuffer";
  if (op.includes("lookup_and_delete") && isArrayLike(type))
    return "array maps cannot delete elements (every index always exists): get() the value, then set it to zero";
  const what = op.includes("lookup_and_delete")
    ? "look up and delete"
    : op.includes("get_next_key") || op.includes("batch")
      ? "list"
      : op.includes("lookup")
        ? "read"
        : op.includes("update")
          ? "write"
          : "delete";
  return `user space cannot ${what} elements of a ${type} map on this kernel (some map types offer that to BPF programs only)`;
}

/**
 * The JS type a key/value spec decodes to: "u32" → number, "u64" →
 * bigint, "char[16]" → string, a struct class → its view, a byte count →
 * Uint8Array.
 */
export type ValueOfSpec<S> =
  S extends ViewClass<infer T>
    ? T
    : S extends number
      ? Uint8Array
      : S extends `${"" | "__"}${"u" | "s" | "i"}64`
        ? bigint
        : S extends `${"" | "__"}${"u" | "s" | "i"}${8 | 16 | 32}`
          ? number
          : S extends `char[${number}]`
            ? string
            : S extends undefined
              ? Uint8Array
              : unknown;

/** What `set` accepts for a value of type `V`. */
export type Writable<V> =
  | V
  | (V extends readonly (infer E)[] ? E : never)
  | (V extends StructView ? Record<string, unknown> : never)
  | (V extends bigint ? number : never)
  | Uint8Array
  | HasFd;

/** Options of {@link BpfMap.create}. */
export interface CreateOptions {
  /** Map type, e.g. "hash", "array", "percpu_hash", "hash_of_maps". */
  readonly type: KnownMapType;
  /** Key type (omit for queue/stack/bloom_filter: no key). */
  readonly key?: TypeSpec;
  /** Value type (omit for map-in-map: the value is an inner map). */
  readonly value?: TypeSpec;
  /** Capacity. */
  readonly maxEntries: number;
  /** Kernel name: ≤ 15 characters of [A-Za-z0-9_.]. */
  readonly name?: string;
  /** BPF_F_* creation flags (see MAP_FLAGS). */
  readonly flags?: number;
  /** Map-in-map: a map of the kind the outer map holds (its template). */
  readonly innerMap?: BpfMap | HasFd;
  /** Allocate on this NUMA node. */
  readonly numaNode?: number;
  /** map_extra: bloom filter hash count (low 4 bits). */
  readonly mapExtra?: bigint | number;
}

/** Key/value types for a map whose BTF is unknown or unwanted. */
export interface MapTypes {
  /** Key type. */
  readonly key?: TypeSpec;
  /** Value type (per-CPU maps: one CPU's value). */
  readonly value?: TypeSpec;
}

/** Options of `keys()`, `values()`, `entries()`. */
export interface IterateOptions {
  /**
   * Use BPF_MAP_LOOKUP_BATCH (default true; the kernel's absence of it for
   * a map type falls back to get_next_key + lookup by itself).
   */
  readonly batch?: boolean;
  /** Entries per batch (default: ~256 KiB of buffers; at most 2^20 or 64 MiB). */
  readonly batchSize?: number;
  /**
   * Read each value under its `struct bpf_spin_lock` (BPF_F_LOCK), whole:
   * for values that hold one.
   */
  readonly lock?: boolean;
}

/** Options of `drain()`. */
export interface DrainOptions {
  /** Entries per batch (default: ~256 KiB of buffers; capped as for `entries()`). */
  readonly batchSize?: number;
  /**
   * Take each value under its `struct bpf_spin_lock` (BPF_F_LOCK), whole:
   * hash maps of values that hold one.
   */
  readonly lock?: boolean;
}

/** Largest batch `entries()` asks for: 2^20 entries, and 64 MiB of buffers. */
const MAX_BATCH = 1 << 20;
const MAX_BATCH_BYTES = 64 << 20;

/** Map value of a `create` call's options. */
type CreatedValue<O extends CreateOptions> = O["type"] extends PerCpuMapType
  ? ValueOfSpec<O["value"]>[]
  : O["type"] extends "array_of_maps" | "hash_of_maps" | "prog_array"
    ? number
    : O["type"] extends "stack_trace"
      ? BigUint64Array
      : ValueOfSpec<O["value"]>;

/** State of a usable map: fd, sizes, codecs and the reusable buffers. */
interface Live extends RawMap {
  readonly type: MapType;
  readonly valueSize: number;
  /** Possible CPUs for per-CPU maps, else 0. */
  readonly perCpu: number;
  /** Bytes between per-CPU values: round_up(value_size, 8). */
  readonly stride: number;
  readonly key: MapCodec;
  readonly value: MapCodec;
  readonly keyBuf: Uint8Array;
  readonly keyDv: DataView;
  readonly keyArg: BufArg | null;
  readonly valBuf: Uint8Array;
  readonly valDv: DataView;
  readonly valArg: BufArg;
}

/** What a standalone map knows about itself. */
interface Standalone {
  fd: number;
  readonly info: MapInfo;
  readonly btf: Btf | undefined;
  /** Where `pin()` pinned it or it was opened from, latest last. */
  readonly pins: string[];
}

/** Closes a standalone map's fd (by `close()`, or once its handle is collected). */
function closeStandalone(own: Standalone): void {
  closeFd(own.fd);
  own.fd = -1;
}

/**
 * A bad element of a bulk call's input, as a BpfTypeError that says which
 * one (`where`) and what the call had done already (`done`); other errors
 * pass through.
 */
function bulkInputError(e: unknown, where: string, done: string): unknown {
  if (!(e instanceof TsbpfError)) return e;
  return new BpfTypeError(
    `${where}: ${e.message.split("\n  hint: ")[0]} (${done})`,
    { hint: e.hint, cause: e },
  );
}

/** Throws BpfTypeError unless `x` can be iterated. */
function iterableArg(x: unknown, what: string, of: string): void {
  if (
    x == null ||
    typeof (x as { [Symbol.iterator]?: unknown })[Symbol.iterator] !==
      "function"
  ) {
    throw new BpfTypeError(
      `${what} takes an iterable of ${of} (an array, a Map...), got ${x === null ? "null" : typeof x}`,
    );
  }
}

/**
 * A delete's error that means "no such key". A stack map says E2BIG for an
 * id past its buckets where its lookup says ENOENT (kernel/bpf/stackmap.c).
 */
function absent(err: number, s: Live): boolean {
  return err === -ENOENT || (err === -E2BIG && s.type === "stack_trace");
}

let possibleCpusCache = 0;
/**
 * Number of possible CPUs: per-CPU maps hold one value for each
 * (libbpf_num_possible_cpus, from /sys/devices/system/cpu/possible).
 */
export function possibleCpus(): number {
  if (possibleCpusCache) return possibleCpusCache;
  // Counted here as libbpf counts them: its function may print (on a
  // failure), which only the thread holding libbpf may make it do.
  const n = cpuCount(readSysfs(POSSIBLE_CPUS));
  if (n > 0) return (possibleCpusCache = n);
  const m = libbpf().libbpf_num_possible_cpus();
  if (m <= 0) throw bpfError("libbpf_num_possible_cpus", m);
  return (possibleCpusCache = m);
}

const POSSIBLE_CPUS = "/sys/devices/system/cpu/possible";

/** How many CPUs a kernel cpu list such as "0-3,6" names (0 when it is unreadable). */
function cpuCount(list: string): number {
  try {
    return parseCpuList(list).length;
  } catch {
    return 0;
  }
}

function readSysfs(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

let F: ReturnType<typeof libbpf>;

const ENTRIES = 0;
const KEYS = 1;
const VALUES = 2;

/** Reads one decoded key or value at `off` of a chunk's buffer. */
type ReadAt = (dv: DataView, buf: Uint8Array, off: number) => unknown;

/**
 * Walks the entries of batch-looked-up chunks. A plain iterator, not a
 * generator, with a small per-entry `next()` that the JIT inlines into the
 * caller's loop; the chunk switch lives in `#refill`. In JavaScriptCore a
 * generator step per entry cost as much as the kernel's batch lookup of
 * it (measured in Bun: ~40–60 ns of ~100).
 */
class ChunkIterator<T> implements IterableIterator<T> {
  readonly #chunks: Iterator<[Live, Chunk]>;
  readonly #what: number;
  readonly #valueReader: (s: Live) => ReadAt;
  #keyRead: ReadAt = noRead;
  #keyView: DataView | null = null;
  #keyBytes: Uint8Array | null = null;
  #keySize = 0;
  #valueRead: ReadAt = noRead;
  #valueView: DataView | null = null;
  #valueBytes: Uint8Array | null = null;
  #valueSize = 0;
  #i = 0;
  #n = 0;

  constructor(
    chunks: Iterator<[Live, Chunk]>,
    what: number,
    valueReader: (s: Live) => ReadAt,
  ) {
    this.#chunks = chunks;
    this.#what = what;
    this.#valueReader = valueReader;
  }

  next(): IteratorResult<T> {
    const i = this.#i;
    if (i < this.#n) {
      this.#i = i + 1;
      const what = this.#what;
      if (what === ENTRIES)
        return { value: [this.#key(i), this.#value(i)] as T, done: false };
      return {
        value: (what === KEYS ? this.#key(i) : this.#value(i)) as T,
        done: false,
      };
    }
    return this.#refill();
  }

  #key(i: number): unknown {
    return this.#keyRead(this.#keyView!, this.#keyBytes!, i * this.#keySize);
  }

  #value(i: number): unknown {
    return this.#valueRead(
      this.#valueView!,
      this.#valueBytes!,
      i * this.#valueSize,
    );
  }

  #refill(): IteratorResult<T> {
    for (;;) {
      const r = this.#chunks.next();
      if (r.done) {
        this.#n = 0;
        return { value: undefined, done: true };
      }
      const [s, c] = r.value;
      this.#keyRead = s.key.read;
      this.#keySize = s.keySize;
      this.#valueRead = this.#valueReader(s);
      this.#valueSize = s.valueBytes;
      this.#keyView = c.keysView;
      this.#keyBytes = c.keys;
      this.#valueView = c.valuesView;
      this.#valueBytes = c.values;
      this.#i = 0;
      this.#n = c.count;
      if (c.count > 0) return this.next();
    }
  }

  return(): IteratorResult<T> {
    this.#n = 0;
    this.#chunks.return?.(undefined);
    return { value: undefined, done: true };
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this;
  }
}

/** The reader of an iterator before its first chunk. */
const noRead: ReadAt = () => undefined;

/** A BPF map. `K`/`V` are the decoded key and value types. */
export class BpfMap<K = unknown, V = unknown> implements Iterable<[K, V]> {
  readonly #owner: ObjectOwner | null;
  readonly #ptr: Ptr | null;
  readonly #own: Standalone | null;
  #closed = false;
  /** attachStructOps() succeeded once (the kernel takes a map only once). */
  #structOpsRegistered = false;
  #live: Live | undefined;
  #types: MapTypes | undefined;
  /** BTF key/value type ids as declared: libbpf zeroes them after load when
   * it had to create the map without BTF (it does for queue/stack maps,
   * libbpf.c bpf_object__create_map). */
  readonly #btfIds: readonly [number, number] = [0, 0];
  /** Map name (for global data: `<obj>.bss`, `.data.custom`, ...). */
  readonly name: string;

  /**
   * @internal Made by `BpfObject` for each of its maps (`owner`, `ptr`), or
   * by the static constructors (`own`).
   */
  constructor(
    owner: ObjectOwner | null,
    ptr: Ptr | null,
    own?: Standalone,
    types?: MapTypes,
  ) {
    this.#owner = owner;
    this.#ptr = ptr;
    this.#own = own ?? null;
    this.#types = types;
    if (own) this.name = own.info.name;
    else {
      const L = libbpf();
      this.name = readCString(L.bpf_map__name(ptr));
      this.#btfIds = [
        L.bpf_map__btf_key_type_id(ptr),
        L.bpf_map__btf_value_type_id(ptr),
      ];
    }
  }

  // --- standalone maps ------------------------------------------------------

  /**
   * Creates a map owned by this process (not by any object); `close()` it,
   * or `using m = BpfMap.create(...)`. (A standalone map dropped unclosed
   * has its fd closed once garbage-collected: a safety net, not a way.)
   *
   * ```ts
   * using counts = BpfMap.create({ type: "hash", key: "u32", value: "u64", maxEntries: 1024 });
   * ```
   */
  static create<const O extends CreateOptions>(
    options: O,
  ): BpfMap<ValueOfSpec<O["key"]>, CreatedValue<O>> {
    if (typeof options !== "object" || options === null) {
      throw new BpfTypeError(
        "BpfMap.create needs options: { type, key, value, maxEntries }",
      );
    }
    // Each option read once (a getter runs once): what is checked is what
    // the kernel gets. The inner map's fd is read last, after every other
    // getter has run (one may have closed that map).
    const o = {
      type: options.type,
      name: options.name,
      key: options.key,
      value: options.value,
      maxEntries: options.maxEntries,
      flags: options.flags,
      numaNode: options.numaNode,
      mapExtra: options.mapExtra,
      innerMap: options.innerMap,
    };
    const type = mapTypeId(o.type);
    if (type === undefined) {
      // BPF_MAP_TYPE_LRU_HASH, "LRU_HASH" → "lru_hash"
      const near = String(o.type)
        .toLowerCase()
        .replace(/^bpf_map_type_/, "");
      throw new BpfTypeError(`unknown map type '${o.type}'`, {
        hint:
          mapTypeId(near) !== undefined
            ? `use '${near}' (the enum bpf_map_type name, lower case, without BPF_MAP_TYPE_)`
            : `map types: ${knownMapTypes().join(", ")}`,
      });
    }
    // Unnamed maps get their type as name: it shows in bpftool and errors.
    const name = o.name ?? o.type.slice(0, 15);
    checkMapName(name);
    const ctx = (role: "key" | "value"): CodecContext => ({
      map: name,
      role,
    });
    const key =
      o.key === undefined ? undefined : codecOfSpec(o.key, ctx("key"));
    const mapOfMaps = isMapOfMaps(o.type);
    if (mapOfMaps && o.innerMap === undefined) {
      throw new BpfTypeError(
        `${o.type} needs innerMap: a map like the ones it will hold`,
      );
    }
    const value =
      o.value === undefined ? undefined : codecOfSpec(o.value, ctx("value"));
    if (
      !Number.isInteger(o.maxEntries) ||
      o.maxEntries < 0 ||
      o.maxEntries > 0xffffffff
    ) {
      throw new BpfTypeError(
        `maxEntries must be an integer from 0 to 2^32-1, got ${o.maxEntries}`,
      );
    }
    for (const [key, max] of [
      ["flags", 0xffffffff],
      ["numaNode", 0xffffffff],
    ] as const) {
      const x = o[key];
      if (x !== undefined && !(Number.isInteger(x) && x >= 0 && x <= max)) {
        throw new BpfTypeError(
          `BpfMap.create: ${key} must be an integer from 0 to 2^32-1, got ${describeValue(x)}`,
        );
      }
    }
    const extra = o.mapExtra;
    if (
      extra !== undefined &&
      !(typeof extra === "bigint"
        ? BigInt.asUintN(64, extra) === extra
        : Number.isSafeInteger(extra) && extra >= 0)
    ) {
      throw new BpfTypeError(
        `BpfMap.create: mapExtra must be a u64 (bigint or safe integer), got ${describeValue(extra)}`,
      );
    }
    let innerMapFd: number | undefined;
    if (mapOfMaps) {
      const inner: unknown = o.innerMap;
      const fd =
        typeof inner === "object" && inner !== null
          ? (inner as HasFd).fd // a closed BpfMap throws ClosedError here
          : undefined;
      if (!(typeof fd === "number" && Number.isInteger(fd) && fd >= 0)) {
        throw new BpfTypeError(
          `${o.type}: innerMap must be a BpfMap (or an object with its fd), got ${describeValue(inner)}`,
        );
      }
      innerMapFd = fd;
    }
    const args = {
      type,
      name,
      keySize: key?.size ?? 0,
      // Inner maps and tail call targets are fds in, ids out: 4 bytes.
      valueSize: mapOfMaps || o.type === "prog_array" ? 4 : (value?.size ?? 0),
      maxEntries: o.maxEntries,
      flags: o.flags ?? 0,
      innerMapFd,
      numaNode: o.numaNode,
      mapExtra: o.mapExtra,
    };
    // Keyed maps carry their types as BTF, as libbpf's do.
    const btf =
      key !== undefined && value !== undefined && !mapOfMaps
        ? loadMapBtf(o.key, o.value)
        : undefined;
    let fd: number;
    try {
      fd = createMapFd({ ...args, btf });
    } catch (e) {
      // A map type that takes no BTF (or not of this shape): again
      // without, as libbpf retries (libbpf.c bpf_object__create_map).
      // Local storage maps need it: their error is the one to report.
      if (!btf || !(e instanceof BpfError) || STORAGE_KEY[o.type]) throw e;
      fd = createMapFd(args);
    } finally {
      if (btf) closeFd(btf.fd);
    }
    // The kernel keeps these in the fd's mode, not in the map's info.
    const access = (o.flags ?? 0) & (MAP_FLAGS.rdonly | MAP_FLAGS.wronly);
    return BpfMap.#adopt(
      fd,
      { key: o.key, value: o.value },
      false,
      null,
      access,
    );
  }

  /**
   * Opens the map pinned at `path`. Keys and values are typed from
   * `types` when given, else from the map's BTF when it has one
   * (libbpf-loaded maps do), else as raw `Uint8Array`s.
   */
  static fromPinned<KS extends TypeSpec, VS extends TypeSpec>(
    path: string,
    types?: { key?: KS; value?: VS },
  ): BpfMap<ValueOfSpec<KS>, ValueOfSpec<VS>> {
    return BpfMap.#adopt(openPinned(path), types, true, path);
  }

  /** Opens the map with kernel id `id` (see `bpftool map list`). */
  static fromId(id: number, types?: MapTypes): BpfMap {
    return BpfMap.#adopt(openById(id), types, true);
  }

  static #adopt(
    fd: number,
    types: MapTypes | undefined,
    useBtf: boolean,
    pinnedAt: string | null = null,
    access = 0,
    // deno-lint-ignore no-explicit-any
  ): BpfMap<any, any> {
    try {
      const kernel = mapInfo(fd);
      const info = access
        ? { ...kernel, flags: kernel.flags | access }
        : kernel;
      let btf: Btf | undefined;
      if (useBtf && info.btfId) {
        try {
          btf = kernelBtf(info.btfId);
        } catch {
          btf = undefined; // typed as bytes: still usable
        }
      }
      const pins = pinnedAt === null ? [] : [pinnedAt];
      const own: Standalone = { fd, info, btf, pins };
      const m = new BpfMap(null, null, own, types);
      if (types) m.#ready("open");
      releaseOnCollect(m, own, closeStandalone);
      trackOpen(m);
      return m;
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  // --- handle and state -------------------------------------------------------

  /** @internal The `struct bpf_map *`; ClosedError after close. */
  handle(what: string): Ptr {
    if (this.#closed || this.#owner?.closed) {
      this.#owner?.handle(`${what} (map '${this.name}')`);
      throw new ClosedError(`${what}: map '${this.name}' is closed`);
    }
    if (this.#ptr === null) {
      throw new StateError(
        `${what}: map '${this.name}' is standalone (not part of an object)`,
      );
    }
    this.#owner!.handle(`${what} (map '${this.name}')`);
    return this.#ptr;
  }

  /** @internal The handle, StateError unless the object is loaded. */
  protected loadedHandle(what: string): Ptr {
    const p = this.handle(what);
    if (!this.#owner!.loaded) throw this.#notLoaded(what);
    return p;
  }

  #notLoaded(what: string): StateError {
    return new StateError(
      `${what}: map '${this.name}': ${notLoadedReason(this.#owner!)}`,
    );
  }

  #beforeLoad(what: string): Ptr {
    if (this.#own) {
      throw new StateError(
        `${what} of map '${this.name}' is fixed: the map already exists`,
      );
    }
    const p = this.handle(what);
    if (this.#owner!.loaded) {
      throw new StateError(
        `${what} of map '${this.name}' can only change before load()`,
      );
    }
    if (this.#owner!.loadFailed) {
      throw new StateError(
        `${what} of map '${this.name}': ${notLoadedReason(this.#owner!)}`,
      );
    }
    return p;
  }

  #checkOpen(what: string): void {
    if (this.#own) {
      if (this.#closed)
        throw new ClosedError(`${what}: map '${this.name}' is closed`);
    } else this.handle(what);
  }

  /** True once this handle (or its object) is closed. */
  get closed(): boolean {
    return this.#closed || (this.#owner?.closed ?? false);
  }

  /** True once the map exists in the kernel (standalone maps always do). */
  get loaded(): boolean {
    return this.#own !== null || this.#owner!.loaded;
  }

  /** True for maps this process created or opened (not of an object). */
  get standalone(): boolean {
    return this.#own !== null;
  }

  /** Map type name, e.g. "hash". */
  get type(): MapType {
    return mapTypeName(this.typeId);
  }

  /** Map type as `enum bpf_map_type`. */
  get typeId(): number {
    if (this.#own) return this.#ownInfo("type").type;
    return libbpf().bpf_map__type(this.handle("type"));
  }

  #ownInfo(what: string): MapInfo {
    this.#checkOpen(what);
    return this.#own!.info;
  }

  /** The map fd (after load). Owned by the map or its object: do not close. */
  get fd(): number {
    if (this.#own) {
      this.#checkOpen("fd");
      return this.#own.fd;
    }
    const fd = libbpf().bpf_map__fd(this.loadedHandle("fd"));
    if (fd < 0) {
      throw new StateError(
        `map '${this.name}' was not created (autocreate off)`,
      );
    }
    return fd;
  }

  /** Key size in bytes. */
  get keySize(): number {
    if (this.#own) return this.#ownInfo("keySize").keySize;
    return libbpf().bpf_map__key_size(this.handle("keySize"));
  }

  /** Value size in bytes (per-CPU maps: one CPU's value). */
  get valueSize(): number {
    if (this.#own) return this.#ownInfo("valueSize").valueSize;
    return libbpf().bpf_map__value_size(this.handle("valueSize"));
  }

  /** BPF_F_* map flags. */
  get flags(): number {
    if (this.#own) return this.#ownInfo("flags").flags;
    return libbpf().bpf_map__map_flags(this.handle("flags"));
  }

  /** BTF type id of the key (object maps: in `obj.btf`), 0 when none. */
  get btfKeyTypeId(): number {
    if (this.#own) return this.#ownInfo("btfKeyTypeId").btfKeyTypeId;
    return libbpf().bpf_map__btf_key_type_id(this.handle("btfKeyTypeId"));
  }

  /** BTF type id of the value (the DATASEC for global data), 0 when none. */
  get btfValueTypeId(): number {
    if (this.#own) return this.#ownInfo("btfValueTypeId").btfValueTypeId;
    return libbpf().bpf_map__btf_value_type_id(this.handle("btfValueTypeId"));
  }

  /** Capacity; settable before load. */
  get maxEntries(): number {
    if (this.#own) return this.#ownInfo("maxEntries").maxEntries;
    return libbpf().bpf_map__max_entries(this.handle("maxEntries"));
  }
  set maxEntries(n: number) {
    const p = this.#beforeLoad("maxEntries");
    if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) {
      throw new BpfTypeError(
        `maxEntries must be an integer in 1..2^32-1, got ${n}`,
      );
    }
    const err = libbpf().bpf_map__set_max_entries(p, n);
    if (err < 0) throw bpfError("bpf_map__set_max_entries", err);
  }

  /** What the kernel reports about the map (id, sizes, flags, BTF ids). */
  info(): MapInfo {
    return mapInfo(this.fd);
  }

  /** The kernel's id of this map. */
  get id(): number {
    return this.info().id;
  }

  // --- freezing -----------------------------------------------------------------

  /**
   * Freezes the map for user space (BPF_MAP_FREEZE): from then on no
   * process can write it through the bpf syscall, by any fd; BPF programs
   * still can. It cannot be undone; freezing a frozen map does nothing.
   * libbpf freezes `.rodata` this way. A global-data map (`.data`,
   * `.bss`) can be frozen after load: its globals then read live and
   * refuse writes.
   */
  freeze(): void {
    const fd = this.fd;
    // The globals' writable mapping of it counts as a writer (EBUSY).
    this.#owner?.releaseGlobalsMapping(this.name);
    clearLibbpfLog();
    const err = libbpf().bpf_map_freeze(fd);
    if (err < 0) {
      const e = -err;
      // The kernel refuses a frozen map's fds the write access freezing
      // needs: freezing twice is EPERM.
      if (e === EPERM && fdinfoFrozen(fd)) return;
      throw bpfError("bpf_map_freeze", err, undefined, {
        detail: `map '${this.name}'`,
        hint:
          e === EBUSY
            ? "the map is memory-mapped writable elsewhere (another process, or another object's globals sharing it through a pin): the kernel freezes a map only once no writable mapping of it is left, so close those first"
            : e === ENOTSUPP || e === EOPNOTSUPP
              ? "this map cannot be frozen: struct_ops maps and values with a bpf_spin_lock, bpf_timer or kptr are refused"
              : e === EPERM
                ? this.#readOnlyHint()
                : undefined,
      });
    }
  }

  /**
   * True when the map is frozen (by `freeze()`, or by libbpf at load for
   * `.rodata`): user space may only read it. From /proc/self/fdinfo; false
   * when that cannot be read.
   */
  get frozen(): boolean {
    return fdinfoFrozen(this.fd);
  }

  // --- pinning ----------------------------------------------------------------

  /**
   * Where libbpf pins the map at load (and reuses a map already pinned
   * there). Settable before load; null when none. Standalone maps: where
   * `pin()` last pinned it, or the path it was opened from.
   */
  get pinPath(): string | null {
    if (this.#own) return this.#own.pins.at(-1) ?? null;
    const s = libbpf().bpf_map__pin_path(this.handle("pinPath"));
    return s === null ? null : readCString(s);
  }
  set pinPath(path: string | null) {
    const p = this.#beforeLoad("pinPath");
    clearLibbpfLog();
    const err = libbpf().bpf_map__set_pin_path(
      p,
      path === null ? null : cstr(path),
    );
    if (err < 0) throw bpfError("bpf_map__set_pin_path", err);
  }

  /** True when the map is pinned (by libbpf at load, or by `pin()`). */
  get isPinned(): boolean {
    if (this.#own) return this.#own.pins.length > 0;
    return libbpf().bpf_map__is_pinned(this.handle("isPinned"));
  }

  /** Pins the map at `path` on a bpffs (object maps: default `pinPath`). */
  pin(path?: string): void {
    if (this.#own) {
      if (path === undefined)
        throw new BpfTypeError(`pin: map '${this.name}': give a path`);
      clearLibbpfLog();
      const err = libbpf().bpf_obj_pin(this.fd, cstr(path));
      if (err < 0) throw bpfError("bpf_obj_pin", err, { kind: "pin", path });
      this.#own.pins.push(path);
      return;
    }
    const p = this.loadedHandle("pin");
    const L = libbpf();
    // libbpf keeps the first pin path a map is given (even when pinning
    // there failed, and after unpin) and refuses any other with EINVAL.
    const before = this.pinPath;
    const moving = path !== undefined && before !== null && before !== path;
    if (moving && this.isPinned) {
      throw new StateError(
        `pin: map '${this.name}' is pinned at ${before}: unpin() it first to pin it at ${path}`,
      );
    }
    if (path !== undefined || before !== null) {
      checkPinPath("bpf_map__pin", path ?? before!);
    }
    if (moving) L.bpf_map__set_pin_path(p, null);
    clearLibbpfLog();
    const err = L.bpf_map__pin(p, path === undefined ? null : cstr(path));
    if (err < 0) {
      if (path !== undefined) {
        L.bpf_map__set_pin_path(p, before === null ? null : cstr(before));
      }
      throw bpfError("bpf_map__pin", err, {
        kind: "pin",
        path: path ?? before ?? "",
      });
    }
  }

  /**
   * Removes the pin at `path`; by default where it is pinned (standalone
   * maps: every pin `pin()` made and the one it was opened from).
   */
  unpin(path?: string): void {
    if (this.#own) {
      this.#checkOpen("unpin");
      const pins = this.#own.pins;
      if (path === undefined && pins.length === 0)
        throw new StateError(`unpin: map '${this.name}' is not pinned`);
      // Its own pins only: unlink() removes whatever is at the path.
      if (path !== undefined && !pins.includes(path))
        checkPinOf(path, "bpf-map", this.id, `map '${this.name}'`);
      for (const at of path === undefined ? [...pins].reverse() : [path]) {
        try {
          unlinkSync(at);
        } catch (e) {
          const code = (e as { code?: string }).code ?? "EIO";
          throw new BpfError("unpin", 0, code, `cannot unlink ${at}`, {
            cause: e,
          });
        }
        const i = pins.lastIndexOf(at);
        if (i >= 0) pins.splice(i, 1);
      }
      return;
    }
    const p = this.loadedHandle("unpin");
    // libbpf unlinks a path it is given when the map has no pin path.
    if (path !== undefined && path !== this.pinPath)
      checkPinOf(path, "bpf-map", this.id, `map '${this.name}'`);
    clearLibbpfLog();
    const err = libbpf().bpf_map__unpin(
      p,
      path === undefined ? null : cstr(path),
    );
    if (err < 0) {
      throw bpfError("bpf_map__unpin", err, {
        kind: "pin",
        path: path ?? this.pinPath ?? "",
      });
    }
  }

  // --- struct_ops ---------------------------------------------------------------

  /**
   * Registers this struct_ops map (SEC(".struct_ops"): an ops table such as
   * `tcp_congestion_ops` whose members are the object's struct_ops
   * programs) with the kernel. The returned link unregisters it on
   * `close()`, as does closing the object.
   *
   * ```ts
   * using obj = BpfObject.open("cc.bpf.o");
   * obj.load();
   * using cc = obj.map("my_cc").attachStructOps();
   * ```
   */
  attachStructOps(): BpfLink {
    const p = this.loadedHandle("attachStructOps");
    if (this.type !== "struct_ops") {
      throw new BpfTypeError(
        `attachStructOps: map '${this.name}' is a ${this.type} map, not a struct_ops map`,
        {
          hint: 'declare the ops table as a global in SEC(".struct_ops"), e.g. struct tcp_congestion_ops my_cc = { ... }',
        },
      );
    }
    if (this.#structOpsRegistered) {
      throw new StateError(
        `attachStructOps: struct_ops map '${this.name}' has been registered already`,
        {
          hint: 'close its first link to unregister it; the kernel registers a SEC(".struct_ops") map only once, so to register it again, open the object anew',
        },
      );
    }
    const backend = registerStructOps(
      p,
      this.fd,
      this.name,
      this.#owner!.logHandler,
    );
    this.#structOpsRegistered = true;
    return new BpfLink(backend, this.#owner, `struct_ops ${this.name}`);
  }

  // --- types --------------------------------------------------------------------

  /**
   * Types keys and values with `types` instead of the map's BTF (e.g. a
   * map declared with `__uint(key_size, 4)`). Returns this map, retyped.
   */
  withTypes<KS extends TypeSpec, VS extends TypeSpec>(types: {
    key?: KS;
    value?: VS;
  }): BpfMap<
    KS extends undefined ? K : ValueOfSpec<KS>,
    VS extends undefined ? V : ValueOfSpec<VS>
  > {
    const before = { types: this.#types, live: this.#live };
    this.#types = { ...this.#types, ...types };
    this.#live = undefined;
    try {
      if (this.loaded) this.#ready("withTypes");
    } catch (e) {
      // Rejected types leave the map as it was.
      this.#types = before.types;
      this.#live = before.live;
      throw e;
    }
    // deno-lint-ignore no-explicit-any
    return this as any;
  }

  /** The key codec's description, e.g. "u32" ("4 bytes" when untyped). */
  get keyType(): string {
    return this.#ready("keyType").key.description;
  }

  /** The value codec's description, e.g. "struct process_stats". */
  get valueType(): string {
    return this.#ready("valueType").value.description;
  }

  /** Builds (once) what element access needs; throws when not usable. */
  #ready(what: string): Live {
    if (this.#closed || this.#owner?.closed) {
      if (this.#owner) this.#owner.handle(`${what} (map '${this.name}')`);
      throw new ClosedError(`${what}: map '${this.name}' is closed`);
    }
    if (this.#live) return this.#live;
    F ??= libbpf();
    let fd: number;
    let type: MapType;
    let keySize: number;
    let valueSize: number;
    let flags: number;
    let keyId: number;
    let valueId: number;
    let btf: Btf | undefined;
    if (this.#own) {
      const i = this.#own.info;
      fd = this.#own.fd;
      type = mapTypeName(i.type);
      keySize = i.keySize;
      valueSize = i.valueSize;
      flags = i.flags;
      keyId = i.btfKeyTypeId;
      valueId = i.btfValueTypeId;
      btf = this.#own.btf;
    } else {
      if (!this.#owner!.loaded) throw this.#notLoaded(what);
      fd = this.fd;
      type = this.type;
      keySize = this.keySize;
      valueSize = this.valueSize;
      flags = this.flags;
      [keyId, valueId] = this.#btfIds;
      if (keyId || valueId) btf = this.#objectBtf();
    }
    const ctx = (role: "key" | "value"): CodecContext => ({
      map: this.name,
      role,
    });
    const key = this.#codec(
      ctx("key"),
      keySize,
      this.#types?.key,
      btf,
      keyId,
      type,
      flags,
    );
    const value = this.#codec(
      ctx("value"),
      valueSize,
      this.#types?.value,
      btf,
      valueId,
      type,
      flags,
    );
    const cpus = isPerCpu(type) ? possibleCpus() : 0;
    // Per-CPU values sit round_up(value_size, 8) apart in the syscall
    // buffers (kernel/bpf/syscall.c, bpf_map_value_size).
    const stride = cpus ? Math.ceil(valueSize / 8) * 8 : valueSize;
    const valueBytes = cpus ? stride * cpus : valueSize;
    const keyBuf = new Uint8Array(Math.max(8, keySize));
    const valBuf = new Uint8Array(Math.max(8, valueBytes));
    this.#live = {
      fd,
      name: this.name,
      type,
      keySize,
      valueSize,
      valueBytes,
      perCpu: cpus,
      stride,
      key,
      value,
      keyBuf,
      keyDv: new DataView(keyBuf.buffer),
      keyArg: keySize === 0 ? null : bufArg(keyBuf),
      valBuf,
      valDv: new DataView(valBuf.buffer),
      valArg: bufArg(valBuf),
    };
    return this.#live;
  }

  #objectBtf(): Btf | undefined {
    try {
      return (this.#owner as unknown as { btf?: Btf }).btf;
    } catch (e) {
      if (e instanceof BtfError) return undefined;
      throw e;
    }
  }

  #codec(
    ctx: CodecContext,
    size: number,
    spec: TypeSpec | undefined,
    btf: Btf | undefined,
    id: number,
    type: MapType,
    flags: number,
  ): MapCodec {
    let c: MapCodec | undefined;
    if (spec !== undefined) c = codecOfSpec(spec, ctx);
    else if (ctx.role === "value" && type === "stack_trace")
      c =
        flags & MAP_FLAGS.stackBuildId
          ? stackBuildIdCodec(size, ctx)
          : stackTraceCodec(size, ctx);
    else if (ctx.role === "value" && isMapOfMaps(type)) c = mapOfMapsCodec(ctx);
    else if (ctx.role === "value" && type === "prog_array")
      c = progArrayCodec(ctx);
    else if (btf && id) {
      try {
        c = codecOfBtf(btf.typeById(id), ctx);
      } catch (e) {
        if (!(e instanceof BtfError)) throw e; // e.g. a DATASEC: bytes
      }
      if (c && c.size !== size) c = undefined;
    } else if (
      ctx.role === "key" &&
      size === 4 &&
      (isArrayLike(type) || type === "stack_trace" || type === "array_of_maps")
    ) {
      // Array indices and stack ids are u32 by definition.
      c = codecOfSpec("u32", ctx);
    }
    c ??= bytesCodec(size, ctx);
    if (ctx.role === "key" && type === "stack_trace" && size === 4)
      c = stackIdCodec(c, ctx);
    if (c.size !== size) {
      throw new BpfTypeError(
        `map '${this.name}': ${ctx.role} type ${c.description} is ${c.size} bytes but the map's ${ctx.role}s are ${size} bytes`,
      );
    }
    return c;
  }

  #fail(
    op: string,
    err: number,
    s: Live,
    extra?: { flags?: number; what?: string },
  ): BpfError {
    const e = -err;
    let hint: string | undefined;
    if (e === EEXIST && extra?.flags === BPF_NOEXIST)
      hint =
        "the key already exists and flags 'noexist' (BPF_NOEXIST) only creates: pass 'any' to overwrite or 'exist' to update";
    else if (e === ENOENT && extra?.flags === BPF_EXIST)
      hint =
        "the key does not exist and flags 'exist' (BPF_EXIST) only updates: pass 'any' to create it";
    else if (e === E2BIG && (s.type === "queue" || s.type === "stack"))
      hint = `the ${s.type} is full: pop() values, or push(value, "exist") to replace the oldest`;
    else if (e === E2BIG && isIndexed(s.type))
      hint = `index out of range: '${this.name}' has indices 0..${this.maxEntries - 1}`;
    else if (e === EEXIST && isArrayLike(s.type))
      hint = "array elements always exist: flags 'noexist' never succeeds";
    else if (e === EINVAL && op.includes("delete") && isArrayLike(s.type))
      hint =
        "array maps cannot delete elements (every index always exists): set it to zero, or clear() to zero them all";
    else if (e === EINVAL && op.includes("update") && s.type === "stack_trace")
      // kernel/bpf/stackmap.c: stack_map_update_elem is -EINVAL, always.
      hint =
        "a stack_trace map takes its stacks from bpf_get_stackid() only: user space can read and delete them, not write them";
    else if (e === EINVAL && isKeyless(s.type))
      hint = "queue/stack maps have no keys: use push/pop/peek";
    else if (e === EPERM) hint = this.#accessHint(op);
    else if (e === ENOTSUPP || e === EOPNOTSUPP)
      hint = unsupportedHint(op, s.type);
    else if (
      e === EINVAL &&
      op.includes("lookup") &&
      extra?.flags !== undefined &&
      (extra.flags & ~BPF_F_LOCK) !== 0
    )
      hint = `flags ${extra.flags} has bits a lookup does not take: only BPF_F_LOCK (for values with a bpf_spin_lock)`;
    else if (
      e === EINVAL &&
      extra?.flags !== undefined &&
      (extra.flags & ~(BPF_NOEXIST | BPF_EXIST | BPF_F_LOCK)) !== 0
    )
      hint = `flags ${extra.flags} has bits an update does not take: use "any", "noexist" or "exist" (BPF_F_LOCK for values with a bpf_spin_lock)`;
    else if (
      e === EINVAL &&
      extra?.flags !== undefined &&
      (extra.flags & BPF_F_LOCK) !== 0
    )
      hint =
        "BPF_F_LOCK needs a value type with a struct bpf_spin_lock (in the map's BTF: declare the map in a BPF object, or create it with a struct class from one), in a hash, array or storage map that is not per-CPU";
    else if (e === EINVAL && isMapOfMaps(s.type) && op.includes("update"))
      hint =
        "the inner map must match the outer map's template: same type, key size, value size and (unless created with BPF_F_INNER_MAP) max entries";
    return bpfError(
      op,
      err,
      { kind: op.includes("update") ? "map-update" : "other" },
      { detail: `map '${this.name}'${extra?.what ?? ""}`, hint, log: "" },
    );
  }

  /**
   * Why user space may not do `op` (EPERM): the map is read-only or
   * write-only for it; else undefined (the generic EPERM hint).
   */
  #accessHint(op: string): string | undefined {
    // lookup_and_delete both reads and writes.
    if (op.includes("update") || op.includes("delete")) {
      const ro = this.#readOnlyHint();
      if (ro !== undefined) return ro;
    }
    if (
      (op.includes("lookup") || op.includes("get_next_key")) &&
      this.flags & MAP_FLAGS.wronly
    ) {
      return `map '${this.name}' was created write-only for user space (BPF_F_WRONLY, MAP_FLAGS.wronly): only BPF programs read it`;
    }
    return undefined;
  }

  /** Why user space may not write this map, when it is read-only; else undefined (the generic EPERM hint). */
  #readOnlyHint(): string | undefined {
    if (this.flags & MAP_FLAGS.rdonly) {
      return `map '${this.name}' was created read-only for user space (BPF_F_RDONLY, MAP_FLAGS.rdonly): only BPF programs write it`;
    }
    // libbpf freezes .rodata and .kconfig after creating them (bpf_map_freeze).
    if (/\.(rodata|kconfig)(\.|$)/.test(this.name)) {
      return `libbpf freezes '${this.name}' at load, so user space can only read it: set its const volatile globals before load() (obj.globals.NAME = value)`;
    }
    if (fdinfoFrozen(this.fd)) {
      return `map '${this.name}' is frozen (BPF_MAP_FREEZE, by freeze() or by whoever made it): user space can only read it; BPF programs still write it`;
    }
    return undefined;
  }

  // --- per-CPU values -------------------------------------------------------------

  #readValue(s: Live, dv: DataView, buf: Uint8Array, off: number): V {
    if (!s.perCpu) return s.value.read(dv, buf, off) as V;
    const out = new Array(s.perCpu);
    for (let c = 0; c < s.perCpu; c++)
      out[c] = s.value.read(dv, buf, off + c * s.stride);
    return out as V;
  }

  #writeValue(
    s: Live,
    dv: DataView,
    buf: Uint8Array,
    off: number,
    v: unknown,
  ): void {
    if (!s.perCpu) {
      s.value.write(dv, buf, off, v);
      return;
    }
    if (v instanceof Uint8Array && v.length === s.valueBytes) {
      buf.set(v, off);
      return;
    }
    if (Array.isArray(v)) {
      // An array is one value per CPU, unless the value type is itself an
      // array (a `u64 slots[N]` histogram) that takes it whole.
      let perCpuError: unknown;
      if (v.length === s.perCpu) {
        try {
          for (let c = 0; c < s.perCpu; c++)
            s.value.write(dv, buf, off + c * s.stride, v[c]);
          return;
        } catch (e) {
          if (!(e instanceof BpfTypeError)) throw e;
          perCpuError = e;
        }
      }
      try {
        s.value.write(dv, buf, off, v);
      } catch (e) {
        if (!(e instanceof BpfTypeError)) throw e;
        throw (
          perCpuError ??
          new BpfTypeError(
            `map '${this.name}': a per-CPU value is an array of ${s.perCpu} values (one per possible CPU) or one value for all; got ${describeValue(v)}`,
          )
        );
      }
    } else s.value.write(dv, buf, off, v);
    for (let c = 1; c < s.perCpu; c++)
      buf.copyWithin(off + c * s.stride, off, off + s.valueSize);
  }

  #state(what: string): Live {
    const s = this.#live;
    if (s !== undefined && !this.#owner?.closed) return s;
    return this.#ready(what);
  }

  /**
   * After encoding a key or value: a getter of the caller's object may have
   * closed the map meanwhile, and `s.fd` be another map's by now (fd
   * numbers are reused), whose larger value the kernel would write past
   * our buffer. ClosedError then, before the syscall.
   */
  #still(s: Live, what: string): void {
    if (this.#live !== s || this.#owner?.closed) this.#ready(what);
  }

  #keyed(s: Live, what: string): void {
    if (s.keyArg === null) {
      if (!isKeyless(s.type)) throw this.#noElements(s, what);
      throw new BpfTypeError(
        `${what}: map '${this.name}' (${s.type}) has no keys: use ${s.type === "bloom_filter" ? "push(value) and mayContain(value)" : "push/pop/peek"}`,
      );
    }
  }

  /** For map types with neither keys nor values to pass (ringbuf, arena...). */
  #noElements(s: Live, what: string): BpfTypeError {
    return new BpfTypeError(
      `${what}: ${s.type} map '${this.name}' has no elements: ${NO_ELEMENTS[s.type] ?? "user space reads and writes none"}`,
    );
  }

  #keyless(s: Live, what: string): void {
    if (s.keyArg === null && !isKeyless(s.type))
      throw this.#noElements(s, what);
    if (s.keyArg !== null) {
      throw new BpfTypeError(
        `${what}: map '${this.name}' (${s.type}) has keys: push/pop/peek are for queue, stack and bloom_filter maps; use set/get/delete`,
      );
    }
    // A bloom filter's lookup tests the value it is given: there is no
    // "next" value to pop or peek at.
    if (s.type === "bloom_filter" && what !== "push") {
      throw new BpfTypeError(
        `${what}: map '${this.name}' is a bloom filter, which holds no values to read back`,
        {
          hint: "test a value with mayContain(value); add one with push(value)",
        },
      );
    }
  }

  // --- elements -------------------------------------------------------------------

  /**
   * The value at `key`, or undefined when absent. Per-CPU: one per CPU.
   * `flags` BPF_F_LOCK, or `{ lock: true }`, reads a value that holds a
   * `struct bpf_spin_lock` under its lock, as a whole (else a program may
   * change it mid-read).
   */
  get(key: K | Uint8Array, flags?: LookupFlags): V | undefined {
    if (flags !== undefined) return this.#getWithFlags(key, flags);
    let s = this.#live;
    if (s === undefined || this.#owner?.closed) s = this.#ready("get");
    if (s.keyArg === null) this.#keyed(s, "get");
    s.key.write(s.keyDv, s.keyBuf, 0, key);
    this.#still(s, "get");
    const err = F.bpf_map_lookup_elem(s.fd, s.keyArg, s.valArg);
    if (err !== 0) {
      if (err === -ENOENT) return undefined;
      throw this.#fail("bpf_map_lookup_elem", err, s);
    }
    return s.perCpu
      ? this.#readValue(s, s.valDv, s.valBuf, 0)
      : (s.value.read(s.valDv, s.valBuf, 0) as V);
  }

  // Apart from get(), whose hot path stays small.
  #getWithFlags(key: K | Uint8Array, options: LookupFlags): V | undefined {
    const s = this.#state("get");
    this.#keyed(s, "get");
    const flags = lookupFlags(options);
    if (flags < 0) {
      throw new BpfTypeError(
        `map '${this.name}': the flags of a lookup are BPF_F_LOCK or 0, or { lock?: boolean }; got ${describeValue(options)}`,
      );
    }
    s.key.write(s.keyDv, s.keyBuf, 0, key);
    this.#still(s, "get");
    const err = F.bpf_map_lookup_elem_flags(
      s.fd,
      s.keyArg,
      s.valArg,
      BigInt(flags),
    );
    if (err !== 0) {
      if (err === -ENOENT) return undefined;
      throw this.#fail("bpf_map_lookup_elem_flags", err, s, { flags });
    }
    return this.#readValue(s, s.valDv, s.valBuf, 0);
  }

  /**
   * Stores `value` at `key`. `flags`: "any" (default, BPF_ANY), "noexist"
   * (create only, else EEXIST), "exist" (update only, else ENOENT), the
   * BPF_* number, or options: `{ mode?: "any" | "noexist" | "exist", lock?: true }`
   * (`lock`: BPF_F_LOCK, the value written whole under its bpf_spin_lock). Per-CPU maps take an array (one per possible CPU) or one
   * value for all CPUs; map-in-map takes a map or its fd.
   */
  set(key: K | Uint8Array, value: Writable<V>, flags?: UpdateFlags): void {
    let s = this.#live;
    if (s === undefined || this.#owner?.closed) s = this.#ready("set");
    if (s.keyArg === null) this.#keyed(s, "set");
    const f = flags === undefined ? 0 : this.#flags(flags);
    s.key.write(s.keyDv, s.keyBuf, 0, key);
    if (s.perCpu) this.#writeValue(s, s.valDv, s.valBuf, 0, value);
    else s.value.write(s.valDv, s.valBuf, 0, value);
    this.#still(s, "set");
    const err = F.bpf_map_update_elem_u32(s.fd, s.keyArg, s.valArg, f);
    if (err !== 0)
      throw this.#fail("bpf_map_update_elem", err, s, { flags: f });
  }

  #flags(flags: UpdateFlags): number {
    const f = updateFlags(flags);
    if (f < 0 || f > 0xffffffff) {
      throw new BpfTypeError(
        `map '${this.name}': flags must be "any", "noexist", "exist", { mode?, lock? } or a BPF_* number; got ${describeValue(flags)}`,
      );
    }
    return f;
  }

  /**
   * Deletes `key`; false when it was absent. Array maps cannot delete (a
   * BpfError says so): set zero or use `clear()`.
   */
  delete(key: K | Uint8Array): boolean {
    const s = this.#state("delete");
    this.#keyed(s, "delete");
    s.key.write(s.keyDv, s.keyBuf, 0, key);
    this.#still(s, "delete");
    const err = F.bpf_map_delete_elem(s.fd, s.keyArg);
    if (err === 0) return true;
    if (absent(err, s)) return false;
    throw this.#fail("bpf_map_delete_elem", err, s);
  }

  /** True when `key` is present (bloom filters: `mayContain(value)`). */
  has(key: K | Uint8Array): boolean {
    const s = this.#state("has");
    if (s.keyArg === null) this.#keyed(s, "has");
    s.key.write(s.keyDv, s.keyBuf, 0, key);
    this.#still(s, "has");
    const err = F.bpf_map_lookup_elem(s.fd, s.keyArg, s.valArg);
    if (err === 0) return true;
    if (err === -ENOENT) return false;
    throw this.#fail("bpf_map_lookup_elem", err, s);
  }

  /**
   * Reads and deletes `key` in one step (hash maps: kernel ≥ 5.14), or
   * undefined when absent. `flags` BPF_F_LOCK, or `{ lock: true }`, takes
   * a value that holds a `struct bpf_spin_lock` under its lock, as a whole
   * (hash maps only: no other map type that deletes holds such values).
   */
  lookupAndDelete(key: K | Uint8Array, flags?: LookupFlags): V | undefined {
    const s = this.#state("lookupAndDelete");
    let f = 0;
    if (flags !== undefined) {
      f = lookupFlags(flags);
      if (f < 0) {
        throw new BpfTypeError(
          `lookupAndDelete: map '${this.name}': the flags of a lookup-and-delete are BPF_F_LOCK or 0, or { lock?: boolean }; got ${describeValue(flags)}`,
        );
      }
      this.#lockable("lookupAndDelete", s, f);
    }
    if (s.keyArg !== null) s.key.write(s.keyDv, s.keyBuf, 0, key);
    this.#still(s, "lookupAndDelete");
    const err = f
      ? F.bpf_map_lookup_and_delete_elem_flags(
          s.fd,
          s.keyArg,
          s.valArg,
          BigInt(f),
        )
      : F.bpf_map_lookup_and_delete_elem(s.fd, s.keyArg, s.valArg);
    if (err !== 0) {
      if (err === -ENOENT) return undefined;
      throw this.#fail(
        f
          ? "bpf_map_lookup_and_delete_elem_flags"
          : "bpf_map_lookup_and_delete_elem",
        err,
        s,
        f ? { flags: f } : undefined,
      );
    }
    return this.#readValue(s, s.valDv, s.valBuf, 0);
  }

  /**
   * BPF_F_LOCK in `flags` of a lookup-and-delete on a map other than a
   * hash map: a BpfTypeError. The kernel (≥ 5.14) takes the flag on the
   * hash family only, and of those only BPF_MAP_TYPE_HASH may have a
   * bpf_spin_lock in its values (kernel/bpf/syscall.c map_check_btf).
   */
  #lockable(what: string, s: Live, flags: number): void {
    if ((flags & BPF_F_LOCK) === 0 || s.type === "hash") return;
    throw new BpfTypeError(
      `${what}: map '${this.name}' is a ${s.type} map: { lock: true } (BPF_F_LOCK) takes hash maps only`,
      {
        hint: "of the map types that delete, only hash maps hold values with a struct bpf_spin_lock: leave the lock out",
      },
    );
  }

  /** Queue/stack maps: adds `value` (flags BPF_EXIST: overwrite the oldest when full). */
  push(value: Writable<V>, flags?: UpdateFlags): void {
    const s = this.#state("push");
    this.#keyless(s, "push");
    const f = flags === undefined ? 0 : this.#flags(flags);
    this.#writeValue(s, s.valDv, s.valBuf, 0, value);
    this.#still(s, "push");
    const err = F.bpf_map_update_elem_u32(s.fd, null, s.valArg, f);
    if (err !== 0)
      throw this.#fail("bpf_map_update_elem", err, s, { what: " (push)" });
  }

  /** Queue/stack maps: removes and returns the next value, undefined when empty. */
  pop(): V | undefined {
    const s = this.#state("pop");
    this.#keyless(s, "pop");
    const err = F.bpf_map_lookup_and_delete_elem(s.fd, null, s.valArg);
    if (err === -ENOENT) return undefined;
    if (err !== 0)
      throw this.#fail("bpf_map_lookup_and_delete_elem", err, s, {
        what: " (pop)",
      });
    return this.#readValue(s, s.valDv, s.valBuf, 0);
  }

  /** Queue/stack maps: the next value without removing it, undefined when empty. */
  peek(): V | undefined {
    const s = this.#state("peek");
    this.#keyless(s, "peek");
    const err = F.bpf_map_lookup_elem(s.fd, null, s.valArg);
    if (err === -ENOENT) return undefined;
    if (err !== 0)
      throw this.#fail("bpf_map_lookup_elem", err, s, { what: " (peek)" });
    return this.#readValue(s, s.valDv, s.valBuf, 0);
  }

  /**
   * Bloom filter maps: false when `value` was never pushed; true when it
   * was, or by a false positive (at the rate the map was sized for).
   */
  mayContain(value: Writable<V>): boolean {
    const s = this.#state("mayContain");
    if (s.type !== "bloom_filter") {
      throw new BpfTypeError(
        `mayContain: map '${this.name}' is a ${s.type} map, not a bloom filter`,
        { hint: "keyed maps test a key with has(key)" },
      );
    }
    this.#writeValue(s, s.valDv, s.valBuf, 0, value);
    this.#still(s, "mayContain");
    const err = F.bpf_map_lookup_elem(s.fd, null, s.valArg);
    if (err === 0) return true;
    if (err === -ENOENT) return false;
    throw this.#fail("bpf_map_lookup_elem", err, s, { what: " (mayContain)" });
  }

  // --- iteration ------------------------------------------------------------------

  /** Entries per batch: `batchSize` checked and capped, or the default. */
  #batchSize(what: string, s: Live, size: number | undefined): number {
    if (size === undefined) return defaultChunk(s);
    if (!(Number.isInteger(size) && size > 0 && size <= 0xffffffff)) {
      throw new BpfTypeError(
        `${what}: map '${this.name}': batchSize must be a positive integer (entries per batch), got ${String(size)}`,
      );
    }
    // Bigger batches buy nothing but memory: at most 2^20 entries or
    // 64 MiB of buffers.
    return Math.min(
      size,
      MAX_BATCH,
      Math.max(1, Math.floor(MAX_BATCH_BYTES / (s.keySize + s.valueBytes))),
    );
  }

  *#chunks(what: string, options?: IterateOptions): Generator<[Live, Chunk]> {
    const s = this.#state(what);
    this.#keyed(s, what);
    const lock = options?.lock ? BPF_F_LOCK : 0;
    const chunks = lookupChunks(
      s,
      this.#batchSize(what, s, options?.batchSize),
      options?.batch ?? true,
      !resumesByBucket(s.type),
      lock,
    );
    try {
      for (;;) {
        // Closed while the caller held the iteration → ClosedError before
        // the next syscall: `s.fd` may by now be another map's fd (fd
        // numbers are reused), whose larger keys or values the kernel
        // would write past our chunk buffers.
        this.#state(what);
        let r: IteratorResult<Chunk>;
        try {
          r = chunks.next();
        } catch (e) {
          // The batch layer knows bytes only: hints that need the map's
          // type come from here.
          if (e instanceof BpfError)
            throw this.#fail(
              e.op,
              -e.errno,
              s,
              lock ? { flags: lock } : undefined,
            );
          throw e;
        }
        if (r.done) return;
        yield [s, r.value];
      }
    } finally {
      chunks.return();
    }
  }

  /**
   * Every [key, value] (a snapshot per batch: the kernel may change the map
   * meanwhile). Array maps list every index. The loop may delete entries
   * it has been given, as with a JS Map: each entry still comes once.
   */
  entries(options?: IterateOptions): IterableIterator<[K, V]> {
    checkOptionsArg(this.name, "entries", options, ITERATE_FIELDS);
    return new ChunkIterator(
      this.#chunks("entries", options),
      ENTRIES,
      this.#valueReader,
    );
  }

  /** Every key. */
  keys(options?: IterateOptions): IterableIterator<K> {
    checkOptionsArg(this.name, "keys", options, ITERATE_FIELDS);
    return new ChunkIterator(
      this.#chunks("keys", options),
      KEYS,
      this.#valueReader,
    );
  }

  /** Every value. */
  values(options?: IterateOptions): IterableIterator<V> {
    checkOptionsArg(this.name, "values", options, ITERATE_FIELDS);
    return new ChunkIterator(
      this.#chunks("values", options),
      VALUES,
      this.#valueReader,
    );
  }

  // The codec's own read, or for per-CPU maps one that gathers every CPU's
  // value (the map's #readValue).
  readonly #valueReader = (s: Live): ReadAt =>
    s.perCpu
      ? (dv, buf, off) => this.#readValue(s, dv, buf, off)
      : s.value.read;

  /**
   * Reads and removes every entry, and returns them. Hash maps give them up
   * a batch at a time (BPF_MAP_LOOKUP_AND_DELETE_BATCH), each entry in one
   * step: what a program adds or counts after an entry was taken stays in
   * the map for the next drain (read-and-reset counters lose nothing).
   * Other map types go entry by entry: lookup-and-delete, or where the
   * kernel has none for the type (lpm_trie, devmap_hash) a lookup then a
   * delete, between which a program's update of that entry is lost.
   * Array maps cannot delete: read them with `entries()`, zero with `clear()`.
   *
   * A failure after entries were taken out (a later batch's syscall, the
   * map closed meanwhile, a key or value that does not decode) takes no
   * more and throws a {@link DrainError}: its `entries` are those taken,
   * `undecoded` the bytes of those that did not decode, `cause` the
   * failure. A failure before any was taken throws as it is.
   */
  drain(options?: DrainOptions): [K, V][] {
    checkOptionsArg(this.name, "drain", options, "{ batchSize?, lock? }");
    // Before the map's state: a getter of the options may close the map.
    const batchSize = options?.batchSize;
    const lockOption = options?.lock;
    if (lockOption !== undefined && typeof lockOption !== "boolean") {
      throw new BpfTypeError(
        `drain: map '${this.name}': lock must be a boolean, got ${describeValue(lockOption)}`,
      );
    }
    const lock = lockOption ? BPF_F_LOCK : 0;
    const s = this.#state("drain");
    this.#keyed(s, "drain");
    if (isArrayLike(s.type)) {
      throw new BpfTypeError(
        `drain: map '${this.name}' is an ${s.type} map, whose elements cannot be deleted`,
        {
          hint: "read it with entries() and zero it with clear(); for read-and-reset counters use a hash map",
        },
      );
    }
    this.#lockable("drain", s, lock);
    const size = this.#batchSize("drain", s, batchSize);
    const t = new Taken<K, V>();
    const lockFlags = lock ? { flags: lock } : undefined;
    const take = (c: Chunk): boolean => {
      for (let i = 0; i < c.count; i++)
        this.#keep(
          t,
          s,
          c.keysView,
          c.keys,
          i * s.keySize,
          c.valuesView,
          c.values,
          i * s.valueBytes,
        );
      // A decoder (a struct class's from()) may have closed the map: its
      // fd number may be another map's by now.
      if (!t.failed) t.attempt(() => this.#still(s, "drain"));
      return !t.failed;
    };
    let batched: boolean;
    try {
      batched = takeChunks(s, size, take, lock);
    } catch (e) {
      t.attempt(() => {
        throw e instanceof BpfError
          ? this.#fail(e.op, -e.errno, s, lockFlags)
          : e;
      });
      batched = true;
    }
    if (!batched) {
      const keys: Uint8Array[] = [];
      for (const [, c] of this.#chunks("drain", { batchSize: size }))
        for (let i = 0; i < c.count; i++)
          keys.push(c.keys.slice(i * s.keySize, (i + 1) * s.keySize));
      let atomic = true;
      for (const k of keys) {
        // Nothing more once one failed; and a decoder (a struct class's
        // from()) may have closed the map.
        if (t.failed || !t.attempt(() => this.#still(s, "drain"))) break;
        let err = !atomic
          ? -ENOTSUPP
          : lock
            ? F.bpf_map_lookup_and_delete_elem_flags(
                s.fd,
                k,
                s.valArg,
                BigInt(lock),
              )
            : F.bpf_map_lookup_and_delete_elem(s.fd, k, s.valArg);
        if (err === -ENOTSUPP || err === -EOPNOTSUPP) {
          atomic = false;
          err = lock
            ? F.bpf_map_lookup_elem_flags(s.fd, k, s.valArg, BigInt(lock))
            : F.bpf_map_lookup_elem(s.fd, k, s.valArg);
          if (err === 0) {
            err = F.bpf_map_delete_elem(s.fd, k);
            if (err !== 0 && err !== -ENOENT) {
              t.attempt(() => {
                throw this.#fail("bpf_map_delete_elem", err, s);
              });
              break;
            }
          } else if (err !== -ENOENT) {
            t.attempt(() => {
              throw this.#fail(
                lock ? "bpf_map_lookup_elem_flags" : "bpf_map_lookup_elem",
                err,
                s,
                lockFlags,
              );
            });
            break;
          }
        } else if (err !== 0 && err !== -ENOENT) {
          t.attempt(() => {
            throw this.#fail(
              lock
                ? "bpf_map_lookup_and_delete_elem_flags"
                : "bpf_map_lookup_and_delete_elem",
              err,
              s,
              lockFlags,
            );
          });
          break;
        }
        if (err === -ENOENT) continue; // deleted meanwhile
        this.#keep(t, s, new DataView(k.buffer), k, 0, s.valDv, s.valBuf, 0);
      }
    }
    if (t.failed) throw this.#drainError(t);
    return t.entries;
  }

  /** Decodes one entry drain() took into `t` (its bytes, when it does not decode). */
  #keep(
    t: Taken<K, V>,
    s: Live,
    kdv: DataView,
    kb: Uint8Array,
    koff: number,
    vdv: DataView,
    vb: Uint8Array,
    voff: number,
  ): void {
    // Both checked before either is kept: an entry is in one list only.
    let entry: [K, V];
    try {
      entry = [
        s.key.read(kdv, kb, koff) as K,
        this.#readValue(s, vdv, vb, voff),
      ];
    } catch (e) {
      t.undecoded.push({
        key: kb.slice(koff, koff + s.keySize),
        value: vb.slice(voff, voff + s.valueBytes),
      });
      t.attempt(() => {
        throw e;
      });
      return;
    }
    t.entries.push(entry);
  }

  /** The error of a drain that failed: as it is when nothing was taken. */
  #drainError(t: Taken<K, V>): unknown {
    const n = t.entries.length + t.undecoded.length;
    if (n === 0) return t.cause;
    const why = t.cause instanceof Error ? t.cause.message : String(t.cause);
    return new DrainError(
      `drain: map '${this.name}': failed after taking ${n} entr${n === 1 ? "y" : "ies"} out of it: ${why}`,
      t.entries,
      t.undecoded,
      {
        cause: t.cause,
        hint: `the entries taken are no longer in the map: they are on the error, as err.entries${t.undecoded.length ? ` (and the ${t.undecoded.length} that did not decode as bytes in err.undecoded)` : ""}; the rest are still in the map`,
      },
    );
  }

  /** Same as `entries()`. */
  [Symbol.iterator](): Iterator<[K, V]> {
    return this.entries();
  }

  /** Calls `fn(value, key)` for every entry (no per-entry arrays). */
  forEach(fn: (value: V, key: K) => void, options?: IterateOptions): void {
    checkOptionsArg(this.name, "forEach", options, ITERATE_FIELDS);
    for (const [s, c] of this.#chunks("forEach", options)) {
      for (let i = 0; i < c.count; i++)
        fn(
          this.#readValue(s, c.valuesView, c.values, i * s.valueBytes),
          s.key.read(c.keysView, c.keys, i * s.keySize) as K,
        );
    }
  }

  /**
   * Number of entries. The kernel keeps no count userspace can read, so
   * this walks the map in batches (O(n)); array maps: `maxEntries`.
   */
  count(): number {
    const s = this.#state("count");
    if (isArrayLike(s.type)) return this.maxEntries;
    let n = 0;
    for (const [, c] of this.#chunks("count")) n += c.count;
    return n;
  }

  // --- bulk writes ----------------------------------------------------------------

  /**
   * Stores many entries with BPF_MAP_UPDATE_BATCH (per element where the
   * kernel has no batch update for the map type).
   */
  setMany(
    entries: Iterable<readonly [K | Uint8Array, Writable<V>]>,
    flags?: UpdateFlags,
  ): void {
    const s = this.#state("setMany");
    this.#keyed(s, "setMany");
    iterableArg(entries, "setMany", "[key, value] pairs");
    const f = flags === undefined ? 0 : this.#flags(flags);
    const chunk = defaultChunk(s);
    const keys = new Uint8Array(chunk * s.keySize);
    const kdv = new DataView(keys.buffer);
    const vals = new Uint8Array(Math.max(1, chunk * s.valueBytes));
    const vdv = new DataView(vals.buffer);
    let n = 0;
    let total = 0;
    // BPF_MAP_UPDATE_BATCH takes no BPF_NOEXIST/BPF_EXIST: elem_flags may
    // only be BPF_F_LOCK (kernel/bpf/syscall.c, generic_map_update_batch).
    let batch = (f & ~BPF_F_LOCK) === 0;
    const flush = () => {
      if (n === 0) return;
      // The input ran in between: closed by it → ClosedError before the
      // syscall, as `s.fd` may be another map's by now (see #chunks).
      this.#state("setMany");
      const r = batch ? updateBatch(s, keys, vals, n, f) : null;
      if (r === null) {
        batch = false;
        for (let i = 0; i < n; i++) {
          const err = F.bpf_map_update_elem_u32(
            s.fd,
            keys.subarray(i * s.keySize),
            vals.subarray(i * s.valueBytes),
            f,
          );
          if (err !== 0)
            throw this.#fail("bpf_map_update_elem", err, s, {
              flags: f,
              what: ` (setMany: ${total + i} entries written)`,
            });
        }
      } else if (r.err) {
        throw this.#fail("bpf_map_update_batch", r.err, s, {
          flags: f,
          what: ` (setMany: ${total + r.done} entries written)`,
        });
      }
      total += n;
      n = 0;
    };
    let index = 0;
    const it = entries[Symbol.iterator]();
    for (;;) {
      let entry: unknown;
      try {
        // Inside the try: a lazy iterable (a skeleton's conversion) may
        // throw for an entry while producing it.
        const r = it.next();
        if (r.done) break;
        entry = r.value;
        if (!Array.isArray(entry)) {
          throw new BpfTypeError(
            `an entry is a [key, value] array, got ${describeValue(entry)}`,
          );
        }
        s.key.write(kdv, keys, n * s.keySize, entry[0]);
        this.#writeValue(s, vdv, vals, n * s.valueBytes, entry[1]);
      } catch (e) {
        // Earlier chunks are in the map already: say how far it got.
        throw bulkInputError(
          e,
          `setMany: entry ${index}`,
          total === 0
            ? "nothing was written"
            : `the first ${total} entries were written`,
        );
      }
      index++;
      if (++n === chunk) flush();
    }
    flush();
  }

  /**
   * Deletes many keys with BPF_MAP_DELETE_BATCH (per element where the
   * kernel has none); absent keys are skipped. Returns how many were deleted.
   */
  deleteMany(keys: Iterable<K | Uint8Array>): number {
    const s = this.#state("deleteMany");
    this.#keyed(s, "deleteMany");
    iterableArg(keys, "deleteMany", "keys");
    const chunk = defaultChunk(s);
    const buf = new Uint8Array(chunk * s.keySize);
    const dv = new DataView(buf.buffer);
    let n = 0;
    let deleted = 0;
    let batch = true;
    const flush = () => {
      this.#state("deleteMany"); // closed by the input: see setMany
      let from = 0;
      while (from < n) {
        const part = buf.subarray(from * s.keySize, n * s.keySize);
        const r = batch ? deleteBatch(s, part, n - from) : null;
        if (r === null) {
          batch = false;
          for (let i = from; i < n; i++) {
            const err = F.bpf_map_delete_elem(
              s.fd,
              buf.subarray(i * s.keySize),
            );
            if (err === 0) deleted++;
            else if (!absent(err, s))
              throw this.#fail("bpf_map_delete_elem", err, s);
          }
          break;
        }
        deleted += r.done;
        if (r.err === 0) break;
        // generic_map_delete_batch stops at the first absent key: skip it.
        if (r.err !== -ENOENT)
          throw this.#fail("bpf_map_delete_batch", r.err, s);
        from += r.done + 1;
      }
      n = 0;
    };
    let index = 0;
    for (const k of keys) {
      try {
        s.key.write(dv, buf, n * s.keySize, k);
      } catch (e) {
        throw bulkInputError(
          e,
          `deleteMany: key ${index}`,
          deleted === 0
            ? "nothing was deleted"
            : `${deleted} keys before it were deleted`,
        );
      }
      index++;
      if (++n === chunk) flush();
    }
    flush();
    return deleted;
  }

  /**
   * Empties the map: deletes every entry; array maps (which cannot delete)
   * get every value zeroed; queues and stacks are popped empty.
   */
  clear(): void {
    const s = this.#state("clear");
    if (s.keyArg === null) {
      if (!isKeyless(s.type)) throw this.#noElements(s, "clear");
      if (s.type === "bloom_filter") {
        throw new BpfTypeError(
          `clear: map '${this.name}' is a bloom filter, which cannot remove values`,
          { hint: "create a new bloom filter map instead" },
        );
      }
      for (;;) {
        const err = F.bpf_map_lookup_and_delete_elem(s.fd, null, s.valArg);
        if (err === -ENOENT) return; // empty
        if (err !== 0)
          throw this.#fail("bpf_map_lookup_and_delete_elem", err, s, {
            what: " (clear)",
          });
      }
    }
    if (isArrayLike(s.type)) {
      const zero = new Uint8Array(s.valueBytes);
      const n = this.maxEntries;
      const all = function* (): Generator<[Uint8Array, Uint8Array]> {
        const k = new Uint8Array(4);
        const v = new DataView(k.buffer);
        for (let i = 0; i < n; i++) {
          v.setUint32(0, i, true);
          yield [k, zero];
        }
      };
      this.setMany(all() as Iterable<[Uint8Array, Writable<V>]>);
      return;
    }
    // Collect first: deleting while walking restarts a hash walk.
    const keys: Uint8Array[] = [];
    for (const [, c] of this.#chunks("clear")) {
      keys.push(c.keys.slice(0, c.count * s.keySize));
    }
    for (const block of keys) {
      const n = block.length / s.keySize;
      this.deleteMany(
        (function* () {
          for (let i = 0; i < n; i++)
            yield block.subarray(i * s.keySize, (i + 1) * s.keySize);
        })(),
      );
    }
  }

  // --- lifetime -------------------------------------------------------------------

  /**
   * Releases this handle (further use → ClosedError). A standalone map's
   * fd is closed (the kernel frees the map once nothing else holds it: a
   * pin, a program, a map-in-map); an object's map lives until the object
   * closes.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#live = undefined;
    if (this.#own) {
      cancelRelease(this.#own);
      untrackOpen(this);
      closeStandalone(this.#own);
    }
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** What a drain() has taken out of its map so far, and what stopped it. */
class Taken<K, V> {
  readonly entries: [K, V][] = [];
  readonly undecoded: { key: Uint8Array; value: Uint8Array }[] = [];
  failed = false;
  cause: unknown = undefined;

  /** Runs `f`; a throw is kept as the cause (the first one). True when it did not throw. */
  attempt(f: () => void): boolean {
    try {
      f();
      return true;
    } catch (e) {
      if (!this.failed) {
        this.failed = true;
        this.cause = e;
      }
      return false;
    }
  }
}

/** The fields of {@link IterateOptions}, for errors. */
const ITERATE_FIELDS = "{ batch?, batchSize?, lock? }";

/**
 * Options of map `name`'s `what`: undefined or an object (`fields`), else
 * a BpfTypeError: a number or string there was meant for something else
 * (flags, a batch size), and reading fields off it would take it for none.
 */
function checkOptionsArg(
  name: string,
  what: string,
  options: unknown,
  fields: string,
): void {
  if (options === undefined || (typeof options === "object" && options)) return;
  throw new BpfTypeError(
    `${what}: map '${name}': options are ${fields}, got ${describeValue(options)}`,
  );
}
