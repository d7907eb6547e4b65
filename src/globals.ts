/**
 * `obj.globals`: the object's global variables (.rodata, .data, .bss and
 * custom .data.* / .rodata.* sections) by name, typed from BTF.
 *
 * - Before load, reads and writes go to libbpf's own copy of each section
 *   (`bpf_map__initial_value`): what is written there is what gets loaded.
 * - After load, they go to the kernel's live values through an mmap of the
 *   global-data map (libbpf creates it BPF_F_MMAPABLE; libbpf 1.1 re-maps
 *   its copy onto the kernel map only for skeletons, so we map it here).
 *   .rodata is frozen at load: writing it afterwards is a StateError.
 *
 * Offsets come from libbpf's fixed-up BTF (in the object file clang leaves
 * DATASEC offsets 0; libbpf fills them in at open).
 */
import {
  PROT_READ,
  PROT_WRITE,
  type MappedMemory,
  libbpf,
  mmap,
  pageSize,
  viewMemory,
} from "../ffi/mod.ts";
import type { Btf } from "./btf/btf.ts";
import { type Codec, codecForType } from "./btf/codec.ts";
import type { Datasec, Var } from "./btf/types.ts";
import { ClosedError, NotFoundError, StateError } from "./errors.ts";
import type { BpfMap } from "./map.ts";

// BPF_F_RDONLY_PROG (uapi/linux/bpf.h): libbpf sets it on .rodata maps.
const BPF_F_RDONLY_PROG = 1 << 7;

/** One global variable. */
export interface GlobalVariable {
  /** C name. */
  readonly name: string;
  /** Data section, e.g. ".bss", ".rodata", ".data.custom". */
  readonly section: string;
  /** Byte offset in the section. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
  /** True for .rodata*: constant once loaded. */
  readonly readonly: boolean;
  /** C spelling of its type. */
  readonly typeName: string;
}

/** What the globals need from their object. */
export interface GlobalsOwner {
  readonly loaded: boolean;
  readonly closed: boolean;
  readonly btf: Btf;
  readonly maps: readonly BpfMap[];
}

interface Slot extends GlobalVariable {
  readonly map: BpfMap;
  readonly codec: Codec;
}

function isGlobalDataSection(name: string): boolean {
  return /^\.(bss|data|rodata)(\..+)?$/.test(name);
}

/** The global variables of an object, read and written by name. */
export class Globals {
  readonly #owner: GlobalsOwner;
  readonly #slots = new Map<string, Slot>();
  readonly #mapped = new Map<BpfMap, MappedMemory>();

  /** @internal Made by `BpfObject.globals`. */
  constructor(owner: GlobalsOwner) {
    this.#owner = owner;
    const btf = owner.btf;
    for (const map of owner.maps) {
      const id = map.btfValueTypeId;
      if (!id || btf.kindOf(id) !== "datasec") continue;
      const sec = btf.typeById(id) as Datasec;
      if (!isGlobalDataSection(sec.name)) continue;
      const ro =
        (map.flags & BPF_F_RDONLY_PROG) !== 0 || sec.name.startsWith(".rodata");
      for (const vs of sec.vars) {
        const v = vs.type as Var;
        if (v.kind !== "var" || !v.name || v.name.startsWith(".")) continue;
        if (this.#slots.has(v.name)) continue;
        this.#slots.set(v.name, {
          name: v.name,
          section: sec.name,
          offset: vs.offset,
          size: vs.size,
          readonly: ro,
          typeName: String(v.type),
          map,
          codec: codecForType(v.type),
        });
      }
    }
  }

  /** Names of all globals, in section order. */
  names(): string[] {
    return [...this.#slots.keys()];
  }

  /** Description of one global (NotFoundError when unknown). */
  describe(name: string): GlobalVariable {
    const { map: _m, codec: _c, ...info } = this.#slot(name);
    return info;
  }

  /** True when the object has a global named `name`. */
  has(name: string): boolean {
    return this.#slots.has(name);
  }

  #slot(name: string): Slot {
    const s = this.#slots.get(name);
    if (!s) throw new NotFoundError("global variable", name, this.names());
    return s;
  }

  #check(what: string): void {
    if (this.#owner.closed) {
      throw new ClosedError(`${what}: the object is closed`);
    }
  }

  /** The bytes of a section: libbpf's copy before load, the kernel's after. */
  #region(slot: Slot, forWrite: boolean): Uint8Array {
    const map = slot.map;
    if (!this.#owner.loaded) {
      const sizeBuf = new BigUint64Array(1);
      const p = libbpf().bpf_map__initial_value(
        map.handle("globals"),
        new Uint8Array(sizeBuf.buffer),
      );
      if (p === null) {
        throw new StateError(`no initial value for section ${slot.section}`);
      }
      return viewMemory(p, Number(sizeBuf[0]));
    }
    let m = this.#mapped.get(map);
    if (!m) {
      const size = map.valueSize;
      const len = Math.ceil(size / pageSize()) * pageSize();
      const prot = slot.readonly ? PROT_READ : PROT_READ | PROT_WRITE;
      const mapped = mmap(map.fd, len, prot);
      if (!mapped) {
        throw new StateError(
          `cannot mmap global data map '${map.name}' (created without BPF_F_MMAPABLE?)`,
        );
      }
      m = mapped;
      this.#mapped.set(map, m);
    }
    if (forWrite && slot.readonly) {
      throw new StateError(
        `global '${slot.name}' is in ${slot.section}, constant once loaded: set it before obj.load()`,
      );
    }
    return m.bytes;
  }

  /** Reads a global's current value. */
  get(name: string): unknown {
    this.#check(`read global '${name}'`);
    const slot = this.#slot(name);
    return slot.codec.decode(this.#region(slot, false), slot.offset);
  }

  /** Writes a global (before load: its initial value; after: live). */
  set(name: string, value: unknown): void {
    this.#check(`write global '${name}'`);
    const slot = this.#slot(name);
    const region = this.#region(slot, true);
    // Encode into a scratch copy first: a bad value must not half-write.
    const tmp = region.slice(slot.offset, slot.offset + slot.size);
    slot.codec.encode(value, tmp, 0);
    region.set(tmp, slot.offset);
  }

  /** @internal Unmaps the live views (the object is closing). */
  release(): void {
    for (const m of this.#mapped.values()) m.unmap();
    this.#mapped.clear();
  }
}

// Looked up by runtimes and tooling on any object; never globals.
const PASS_THROUGH = new Set(["then", "toJSON", "constructor", "inspect"]);

/**
 * The `obj.globals` proxy: `globals.counter`, `globals.x = 1`,
 * `Object.keys(globals)`, `"x" in globals`.
 */
export function globalsProxy(g: Globals): Record<string, unknown> {
  return new Proxy(Object.create(null) as Record<string, unknown>, {
    get(_t, key) {
      if (typeof key === "symbol" || PASS_THROUGH.has(key)) return undefined;
      return g.get(key);
    },
    set(_t, key, value) {
      if (typeof key === "symbol") return false;
      g.set(key, value);
      return true;
    },
    has: (_t, key) => typeof key === "string" && g.has(key),
    ownKeys: () => g.names(),
    getOwnPropertyDescriptor(_t, key) {
      if (typeof key !== "string" || !g.has(key)) return undefined;
      return {
        value: g.get(key),
        writable: true,
        enumerable: true,
        configurable: true,
      };
    },
    deleteProperty: () => false,
    defineProperty: () => false,
  });
}
