/**
 * `BpfMap`: a map of a `BpfObject` (libbpf's `struct bpf_map`). Before load:
 * `maxEntries`, `pinPath`. After load: `fd`, `pin()`/`unpin()`.
 *
 * Minimal core owned by the loader; element access (get/set/delete/
 * iteration) and standalone maps build on it.
 */
import { type Ptr, cstr, libbpf, readCString } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import { BpfTypeError, ClosedError, StateError } from "./errors.ts";
import { clearLibbpfLog } from "./libbpf_log.ts";
import type { ObjectOwner } from "./owner.ts";

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

/** A map type name, e.g. "hash", "array", "ringbuf". */
export type MapType = (typeof MAP_TYPES)[number] | `unknown(${number})`;

/** Name of an `enum bpf_map_type` value. */
export function mapTypeName(t: number): MapType {
  return MAP_TYPES[t] ?? `unknown(${t})`;
}

/** The `enum bpf_map_type` value of a name (undefined when unknown). */
export function mapTypeId(name: string): number | undefined {
  const i = (MAP_TYPES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : i;
}

/** A map of a `BpfObject`. */
export class BpfMap {
  /** @internal The object this map belongs to. */
  protected readonly owner: ObjectOwner;
  readonly #ptr: Ptr;
  #closed = false;
  /** Map name (for global data: `<obj>.bss`, `.data.custom`, ...). */
  readonly name: string;

  /** @internal Made by `BpfObject` for each of its maps. */
  constructor(owner: ObjectOwner, ptr: Ptr) {
    this.owner = owner;
    this.#ptr = ptr;
    this.name = readCString(libbpf().bpf_map__name(ptr));
  }

  /** @internal The `struct bpf_map *`; ClosedError after close. */
  handle(what: string): Ptr {
    if (this.#closed) {
      throw new ClosedError(`${what}: map '${this.name}' handle is closed`);
    }
    this.owner.handle(`${what} (map '${this.name}')`);
    return this.#ptr;
  }

  /** @internal The handle, StateError unless the object is loaded. */
  protected loadedHandle(what: string): Ptr {
    const p = this.handle(what);
    if (!this.owner.loaded) {
      throw new StateError(
        `${what}: map '${this.name}' exists only after obj.load()`,
      );
    }
    return p;
  }

  #beforeLoad(what: string): Ptr {
    const p = this.handle(what);
    if (this.owner.loaded) {
      throw new StateError(
        `${what} of map '${this.name}' can only change before load()`,
      );
    }
    return p;
  }

  /** True once this handle or its object is closed. */
  get closed(): boolean {
    return this.#closed || this.owner.closed;
  }

  /** True once the object is loaded (the map exists in the kernel). */
  get loaded(): boolean {
    return this.owner.loaded;
  }

  /** Map type name, e.g. "hash". */
  get type(): MapType {
    return mapTypeName(this.typeId);
  }

  /** Map type as `enum bpf_map_type`. */
  get typeId(): number {
    return libbpf().bpf_map__type(this.handle("type"));
  }

  /** The map fd (after load; owned by the object: do not close). */
  get fd(): number {
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
    return libbpf().bpf_map__key_size(this.handle("keySize"));
  }

  /** Value size in bytes. */
  get valueSize(): number {
    return libbpf().bpf_map__value_size(this.handle("valueSize"));
  }

  /** BPF_F_* map flags. */
  get flags(): number {
    return libbpf().bpf_map__map_flags(this.handle("flags"));
  }

  /** BTF type id of the key in the object's BTF (0 when none). */
  get btfKeyTypeId(): number {
    return libbpf().bpf_map__btf_key_type_id(this.handle("btfKeyTypeId"));
  }

  /** BTF type id of the value in the object's BTF (the DATASEC for global data). */
  get btfValueTypeId(): number {
    return libbpf().bpf_map__btf_value_type_id(this.handle("btfValueTypeId"));
  }

  /** Capacity; settable before load. */
  get maxEntries(): number {
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

  /**
   * Where libbpf pins the map at load (and reuses a map already pinned
   * there). Settable before load; null when none.
   */
  get pinPath(): string | null {
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

  /** True when libbpf pinned (or reused a pin of) this map. */
  get isPinned(): boolean {
    return libbpf().bpf_map__is_pinned(this.handle("isPinned"));
  }

  /** Pins the map at `path` (default: its `pinPath`). */
  pin(path?: string): void {
    const p = this.loadedHandle("pin");
    clearLibbpfLog();
    const err = libbpf().bpf_map__pin(
      p,
      path === undefined ? null : cstr(path),
    );
    if (err < 0) {
      throw bpfError("bpf_map__pin", err, {
        kind: "pin",
        path: path ?? this.pinPath ?? "",
      });
    }
  }

  /** Removes the pin at `path` (default: its `pinPath`). */
  unpin(path?: string): void {
    const p = this.loadedHandle("unpin");
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

  /**
   * Releases this handle (further use → ClosedError). The map lives on
   * until its object closes.
   */
  close(): void {
    this.#closed = true;
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
