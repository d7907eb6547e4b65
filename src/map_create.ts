/**
 * Standalone maps at the fd level: BPF_MAP_CREATE with its options, what
 * the kernel says about a map fd (bpf_map_info), and the map's BTF when it
 * has one (for pinned maps and maps found by id).
 */
import { readFileSync } from "node:fs";
import { addressOf, cstr, errno, libbpf, libc } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import { Btf } from "./btf/btf.ts";
import { BpfTypeError } from "./errors.ts";
import { bpfFdKind, describeFdKind } from "./fd_kind.ts";
import { objectInfo } from "./obj_info.ts";
import { clearLibbpfLog } from "./libbpf_log.ts";
import {
  type MapType,
  isArrayLike,
  isIndexed,
  isKeyless,
  mapTypeName,
} from "./map_types.ts";

// sizeof(struct bpf_map_create_opts) in libbpf 1.1 (map_ifindex is last).
const CREATE_OPTS_SIZE = 48;
// sizeof(struct bpf_map_info) up to map_extra (uapi/linux/bpf.h, 5.16+);
// older kernels fill less and report the length they wrote.
const MAP_INFO_SIZE = 88;
/** BPF_F_NUMA_NODE: the kernel reads numa_node only with this flag. */
const BPF_F_NUMA_NODE = 1 << 2;

/** What the kernel reports about a map (struct bpf_map_info). */
export interface MapInfo {
  /** enum bpf_map_type. */
  readonly type: number;
  /** Kernel map id. */
  readonly id: number;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes (one CPU's, for per-CPU maps). */
  readonly valueSize: number;
  /** Capacity. */
  readonly maxEntries: number;
  /** BPF_F_* flags. */
  readonly flags: number;
  /** Name (at most 15 bytes). */
  readonly name: string;
  /** Id of the kernel BTF object of the key/value types; 0 when none. */
  readonly btfId: number;
  /** Key type id in that BTF. */
  readonly btfKeyTypeId: number;
  /** Value type id in that BTF. */
  readonly btfValueTypeId: number;
  /** map_extra (bloom filter hash count, arena address). */
  readonly mapExtra: bigint;
}

/** bpf_obj_get_info_by_fd on a map fd. */
export function mapInfo(fd: number): MapInfo {
  const buf = objectInfo(fd, new Uint8Array(MAP_INFO_SIZE));
  const v = new DataView(buf.buffer);
  const nameBytes = buf.subarray(24, 40);
  const end = nameBytes.indexOf(0);
  return {
    type: v.getUint32(0, true),
    id: v.getUint32(4, true),
    keySize: v.getUint32(8, true),
    valueSize: v.getUint32(12, true),
    maxEntries: v.getUint32(16, true),
    flags: v.getUint32(20, true),
    name: new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? 16 : end)),
    btfId: v.getUint32(64, true),
    btfKeyTypeId: v.getUint32(68, true),
    btfValueTypeId: v.getUint32(72, true),
    mapExtra: v.getBigUint64(80, true),
  };
}

/** Arguments of {@link createMapFd}. */
export interface CreateArgs {
  readonly type: number;
  readonly name: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  readonly flags: number;
  readonly innerMapFd?: number;
  readonly numaNode?: number;
  readonly mapExtra?: bigint | number;
  /** A BTF object with the key and value types (see map_btf.ts). */
  readonly btf?: { fd: number; keyId: number; valueId: number };
}

/** A valid kernel object name: ≤ 15 bytes of [A-Za-z0-9_.] (kernel/bpf/syscall.c, bpf_obj_name_cpy). */
export function checkMapName(name: string): void {
  if (!/^[A-Za-z0-9_.]{0,15}$/.test(name)) {
    throw new BpfTypeError(
      `map name '${name}' is invalid: the kernel takes at most 15 characters of A-Z a-z 0-9 _ .`,
    );
  }
}

/** BPF_MAP_CREATE; returns the new fd (BpfError on failure). */
export function createMapFd(a: CreateArgs): number {
  const opts = new Uint8Array(CREATE_OPTS_SIZE);
  const v = new DataView(opts.buffer);
  v.setBigUint64(0, BigInt(CREATE_OPTS_SIZE), true);
  let flags = a.flags;
  if (a.btf) {
    v.setUint32(8, a.btf.fd, true);
    v.setUint32(12, a.btf.keyId, true);
    v.setUint32(16, a.btf.valueId, true);
  }
  if (a.innerMapFd !== undefined) v.setUint32(24, a.innerMapFd, true);
  if (a.mapExtra !== undefined) v.setBigUint64(32, BigInt(a.mapExtra), true);
  if (a.numaNode !== undefined) {
    flags |= BPF_F_NUMA_NODE;
    v.setUint32(40, a.numaNode, true);
  }
  v.setUint32(28, flags >>> 0, true);
  clearLibbpfLog();
  const name = new TextEncoder().encode(a.name + "\0");
  const fd = libbpf().bpf_map_create(
    a.type,
    a.name ? name : null,
    a.keySize,
    a.valueSize,
    a.maxEntries,
    opts,
  );
  if (fd < 0) {
    throw bpfError(
      "bpf_map_create",
      fd,
      { kind: "other" },
      {
        detail: `cannot create map '${a.name}' (key ${a.keySize} B, value ${a.valueSize} B, maxEntries ${a.maxEntries})`,
        hint: createHint(Math.abs(fd), a),
      },
    );
  }
  return fd;
}

/** Map types with no elements of their own (no key, no value). */
const NO_ELEMENTS = new Set<MapType>(["ringbuf", "user_ringbuf", "arena"]);
/** Map types whose maxEntries must be 0 (storage attached to kernel objects). */
const OBJECT_STORAGE = new Set<MapType>([
  "sk_storage",
  "inode_storage",
  "task_storage",
  "cgrp_storage",
  "cgroup_storage",
  "percpu_cgroup_storage",
]);

/**
 * Why the kernel refused to create the map (EINVAL): the attributes its
 * type refuses (the map types' map_alloc_check), else the general list.
 */
function createHint(e: number, a: CreateArgs): string | undefined {
  if (e !== 22) return undefined;
  const t = mapTypeName(a.type);
  const noPrealloc = (a.flags & 1) !== 0;
  const why: string[] = [];
  if (
    t === "sk_storage" ||
    t === "inode_storage" ||
    t === "task_storage" ||
    t === "cgrp_storage"
  ) {
    why.push(
      `${t} maps need key "s32" (the fd), a value type with BTF (a layout string, a layout or a struct class, not a byte count), maxEntries 0 and flags MAP_FLAGS.noPrealloc`,
    );
  }
  if (t === "struct_ops")
    why.push(
      `struct_ops maps are made by libbpf from a BPF object: declare it in SEC(".struct_ops") and use obj.map(name)`,
    );
  if (t === "lpm_trie") {
    if (!noPrealloc) why.push("lpm_trie maps need flags: MAP_FLAGS.noPrealloc");
    if (a.keySize < 5 || a.keySize > 260)
      why.push(
        "an lpm_trie key is a u32 prefixlen followed by 1 to 256 bytes of data",
      );
  }
  if (isIndexed(t) && a.keySize !== 4)
    why.push(`${t} maps need 4-byte keys (u32 indices)`);
  if (
    noPrealloc &&
    (isArrayLike(t) || t === "queue" || t === "stack" || t === "bloom_filter")
  )
    why.push(
      `${t} maps take no noPrealloc flag (they are always preallocated)`,
    );
  if (isKeyless(t) && a.keySize !== 0)
    why.push(`${t} maps have no key: leave out key`);
  else if (
    a.keySize === 0 &&
    !isKeyless(t) &&
    !NO_ELEMENTS.has(t) &&
    !OBJECT_STORAGE.has(t)
  )
    why.push(`${t} maps need a key type`);
  if (a.valueSize === 0 && !NO_ELEMENTS.has(t))
    why.push("values of 0 bytes are refused: give value a type");
  if (
    (t === "ringbuf" || t === "user_ringbuf") &&
    !(
      a.maxEntries > 0 &&
      (a.maxEntries & (a.maxEntries - 1)) === 0 &&
      a.maxEntries % 4096 === 0
    )
  )
    why.push(
      `${t} maxEntries is a size in bytes: a power of 2 and a multiple of the page size (e.g. 262144)`,
    );
  else if (a.maxEntries === 0 && !OBJECT_STORAGE.has(t))
    why.push("maxEntries must be > 0");
  if (a.flags & 2 && t !== "lru_hash" && t !== "lru_percpu_hash")
    why.push("noCommonLru is for lru_hash and lru_percpu_hash maps");
  if (t === "bloom_filter" && BigInt(a.mapExtra ?? 0) > 15n)
    why.push(
      "a bloom filter's mapExtra is its number of hash functions, 0 to 15 (0: 5)",
    );
  const nodes = onlineNumaNodes();
  if (a.numaNode !== undefined && nodes !== undefined) {
    if (!inRanges(a.numaNode, nodes))
      why.push(
        `numaNode ${a.numaNode} is not an online NUMA node (online: ${nodes})`,
      );
  }
  if (why.length > 0) return why.join("; ");
  return (
    "the kernel rejected the attributes: array maps need 4-byte keys; queue/stack/bloom_filter need no key; " +
    "map-in-map needs innerMap; maxEntries must be > 0 (ringbuf: a power-of-2 multiple of the page size)" +
    (a.innerMapFd === undefined
      ? ""
      : "; the inner map type may not be allowed inside a map-in-map")
  );
}

/** /sys/devices/system/node/online, e.g. "0" or "0-1,3"; undefined if unreadable. */
function onlineNumaNodes(): string | undefined {
  try {
    return readFileSync("/sys/devices/system/node/online", "utf8").trim();
  } catch {
    return undefined;
  }
}

/** True when `n` is in a kernel range list such as "0-1,3". */
function inRanges(n: number, list: string): boolean {
  return list.split(",").some((r) => {
    const [lo, hi = lo] = r.split("-").map(Number);
    return n >= lo! && n <= hi!;
  });
}

// sizeof(struct bpf_btf_info) (uapi/linux/bpf.h): btf (u64), btf_size,
// id, name (u64), name_len, kernel_btf.
const BTF_INFO_SIZE = 32;

/**
 * The kernel BTF object `id` (the types a map was created with), or
 * undefined. Read as libbpf's btf_get_from_fd does, through the syscall
 * wrappers alone: they never print, so any thread may call this.
 */
export function kernelBtf(id: number): Btf | undefined {
  if (!id) return undefined;
  const L = libbpf();
  const fd = L.bpf_btf_get_fd_by_id(id);
  if (fd < 0) return undefined;
  try {
    const info = new Uint8Array(BTF_INFO_SIZE);
    const v = new DataView(info.buffer);
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, BTF_INFO_SIZE, true);
    if (L.bpf_obj_get_info_by_fd(fd, info, len) < 0) return undefined;
    const size = v.getUint32(8, true);
    if (size === 0) return undefined;
    // Again with a buffer: the kernel copies the raw BTF into it.
    const raw = new Uint8Array(size);
    info.fill(0);
    v.setBigUint64(0, addressOf(raw), true);
    v.setUint32(8, size, true);
    if (L.bpf_obj_get_info_by_fd(fd, info, len) < 0) return undefined;
    return Btf.fromBytes(
      raw.subarray(0, Math.min(size, v.getUint32(8, true))),
      {
        source: `kernel BTF object ${id}`,
      },
    );
  } finally {
    closeFd(fd);
  }
}

/** close(2) of an fd we own. */
export function closeFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/** bpf_obj_get(path) → fd (BpfError with a pin hint on failure). */
export function openPinned(path: string): number {
  clearLibbpfLog();
  const fd = libbpf().bpf_obj_get(cstr(path));
  if (fd < 0) {
    throw bpfError(
      "bpf_obj_get",
      fd < -1 ? fd : -errno(),
      { kind: "pin", path },
      {
        detail: `cannot open pinned map ${path}`,
      },
    );
  }
  const kind = bpfFdKind(fd);
  if (kind !== undefined && kind !== "bpf-map") {
    closeFd(fd);
    throw new BpfTypeError(
      `${path} is ${describeFdKind(kind)} pinned on bpffs, not a map`,
    );
  }
  return fd;
}

/** bpf_map_get_fd_by_id(id) → fd. */
export function openById(id: number): number {
  if (!(Number.isInteger(id) && id > 0 && id <= 0xffffffff)) {
    throw new BpfTypeError(
      `a map id is a positive integer (see bpftool map list), got ${String(id)}`,
    );
  }
  const fd = libbpf().bpf_map_get_fd_by_id(id);
  if (fd < 0) {
    throw bpfError(
      "bpf_map_get_fd_by_id",
      fd,
      { kind: "other" },
      {
        detail: `no map with id ${id}`,
      },
    );
  }
  return fd;
}
