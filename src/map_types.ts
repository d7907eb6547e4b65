/**
 * Map type names and the per-type facts the element API depends on, plus
 * the update flags (uapi/linux/bpf.h).
 */

/** enum bpf_map_type names (uapi/linux/bpf.h), index = value. */
const MAP_TYPES = [
  "unspec",
  "hash",
  "array",
  "prog_array",
  "perf_event_array",
  "percpu_hash",
  "percpu_array",
  "stack_trace",
  "cgroup_array",
  "lru_hash",
  "lru_percpu_hash",
  "lpm_trie",
  "array_of_maps",
  "hash_of_maps",
  "devmap",
  "sockmap",
  "cpumap",
  "xskmap",
  "sockhash",
  "cgroup_storage",
  "reuseport_sockarray",
  "percpu_cgroup_storage",
  "queue",
  "stack",
  "sk_storage",
  "devmap_hash",
  "struct_ops",
  "ringbuf",
  "inode_storage",
  "task_storage",
  "bloom_filter",
  "user_ringbuf",
  "cgrp_storage",
  "arena",
] as const;

/** A known map type name, e.g. "hash", "array", "ringbuf". */
export type KnownMapType = (typeof MAP_TYPES)[number];

/** A map type name, e.g. "hash", "array", "ringbuf". */
export type MapType = KnownMapType | `unknown(${number})`;

/** Name of an `enum bpf_map_type` value. */
export function mapTypeName(t: number): MapType {
  return MAP_TYPES[t] ?? `unknown(${t})`;
}

/** The `enum bpf_map_type` value of a name (undefined when unknown). */
export function mapTypeId(name: string): number | undefined {
  const i = (MAP_TYPES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : i;
}

/** Known map type names, in `enum bpf_map_type` order (without "unspec"). */
export function knownMapTypes(): readonly KnownMapType[] {
  return MAP_TYPES.slice(1);
}

/** Map types whose values exist once per possible CPU. */
export type PerCpuMapType =
  | "percpu_hash"
  | "percpu_array"
  | "lru_percpu_hash"
  | "percpu_cgroup_storage";

/** True for per-CPU map types: a lookup returns one value per possible CPU. */
export function isPerCpu(type: MapType): boolean {
  return (
    type === "percpu_hash" ||
    type === "percpu_array" ||
    type === "lru_percpu_hash" ||
    type === "percpu_cgroup_storage"
  );
}

/** True for map-in-map types: values are map fds in, map ids out. */
export function isMapOfMaps(type: MapType): boolean {
  return type === "array_of_maps" || type === "hash_of_maps";
}

/** Array maps: every index always exists; the kernel refuses to delete. */
export function isArrayLike(type: MapType): boolean {
  return type === "array" || type === "percpu_array";
}

/** Maps keyed by an index below maxEntries (E2BIG past it). */
export function isIndexed(type: MapType): boolean {
  return (
    isArrayLike(type) ||
    type === "prog_array" ||
    type === "perf_event_array" ||
    type === "array_of_maps" ||
    type === "cgroup_array"
  );
}

/**
 * Hash maps whose batch lookups resume from a bucket index
 * (kernel/bpf/hashtab.c); other map types' resume from a key.
 */
export function resumesByBucket(type: MapType): boolean {
  return (
    type === "hash" ||
    type === "lru_hash" ||
    type === "percpu_hash" ||
    type === "lru_percpu_hash" ||
    type === "hash_of_maps"
  );
}

/** Queue and stack maps: no keys, push/pop/peek only. */
export function isKeyless(type: MapType): boolean {
  return type === "queue" || type === "stack" || type === "bloom_filter";
}

/** Create a new element or update an existing one. */
export const BPF_ANY = 0;
/** Create a new element only if it did not exist (else EEXIST). */
export const BPF_NOEXIST = 1;
/** Update an existing element only (else ENOENT). */
export const BPF_EXIST = 2;
/** Update a spin-locked value under its lock. */
export const BPF_F_LOCK = 4;

/**
 * Update flags as options: `{ lock: true }` is BPF_F_LOCK, `mode` the
 * existence condition ("any" by default). `set(k, v, { mode: "exist", lock: true })`
 * is `set(k, v, BPF_EXIST | BPF_F_LOCK)`.
 */
export interface UpdateOptions {
  /** "any" (default, BPF_ANY), "noexist" (create only) or "exist" (update only). */
  readonly mode?: "any" | "noexist" | "exist";
  /** Write the value whole under its `struct bpf_spin_lock` (BPF_F_LOCK). */
  readonly lock?: boolean;
}

/** Update flags by name, as options, or the BPF_* number. */
export type UpdateFlags = "any" | "noexist" | "exist" | number | UpdateOptions;

/**
 * Lookup flags as options: `get(key, { lock: true })` is
 * `get(key, BPF_F_LOCK)`, as `entries({ lock: true })` reads under the lock.
 */
export interface LookupOptions {
  /** Read the value whole under its `struct bpf_spin_lock` (BPF_F_LOCK). */
  readonly lock?: boolean;
}

/** Lookup flags: BPF_F_LOCK (or 0) as a number, or as options. */
export type LookupFlags = number | LookupOptions;

const MODES = { any: BPF_ANY, noexist: BPF_NOEXIST, exist: BPF_EXIST };

/**
 * The `lock` of options: BPF_F_LOCK, 0, or -1 when `o` is not an object
 * of only `keys` with a boolean (or absent) `lock`.
 */
function lockOption(o: unknown, keys: readonly string[]): number {
  if (typeof o !== "object" || o === null || Array.isArray(o)) return -1;
  for (const k of Object.keys(o)) if (!keys.includes(k)) return -1;
  const lock = (o as { lock?: unknown }).lock;
  if (lock !== undefined && typeof lock !== "boolean") return -1;
  return lock ? BPF_F_LOCK : 0;
}

/** The numeric value of update flags (-1 when they are none). */
export function updateFlags(flags: UpdateFlags | undefined): number {
  if (flags === undefined || flags === "any") return BPF_ANY;
  if (flags === "noexist") return BPF_NOEXIST;
  if (flags === "exist") return BPF_EXIST;
  if (typeof flags === "number")
    return Number.isInteger(flags) && flags >= 0 && flags <= 0xffffffff
      ? flags
      : -1;
  const lock = lockOption(flags, ["mode", "lock"]);
  if (lock < 0) return -1;
  const mode = (flags as UpdateOptions).mode ?? "any";
  if (!Object.hasOwn(MODES, mode)) return -1;
  return MODES[mode] | lock;
}

/** The numeric value of lookup flags (-1 when they are none). */
export function lookupFlags(flags: LookupFlags): number {
  if (typeof flags === "number")
    return Number.isInteger(flags) && flags >= 0 && flags <= 0xffffffff
      ? flags
      : -1;
  return lockOption(flags, ["lock"]);
}

/** Map creation flags (BPF_F_*, uapi/linux/bpf.h) by name. */
export const MAP_FLAGS = {
  /** Do not preallocate hash elements. */
  noPrealloc: 1 << 0,
  /** Do not use a common LRU list (per-CPU LRU lists). */
  noCommonLru: 1 << 1,
  /** Allocate on the given NUMA node. */
  numaNode: 1 << 2,
  /** Userspace may only read. */
  rdonly: 1 << 3,
  /** Userspace may only write. */
  wronly: 1 << 4,
  /** Stack trace maps store build ids. */
  stackBuildId: 1 << 5,
  /** Hash maps: zero-initialize the hash seed (for tests only). */
  zeroSeed: 1 << 6,
  /** Programs may only read. */
  rdonlyProg: 1 << 7,
  /** Programs may only write. */
  wronlyProg: 1 << 8,
  /** Clone local storage with the socket. */
  clone: 1 << 9,
  /** Array map can be mmap()ed. */
  mmapable: 1 << 10,
  /** A map meant as an inner map: its outer map then takes inner maps of any max_entries. */
  innerMap: 1 << 12,
} as const;
