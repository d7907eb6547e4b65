/**
 * `obj.globals`: the object's global variables (.rodata, .data, .bss and
 * custom .data.* / .rodata.* sections, and the .kconfig externs, read-only
 * once libbpf has filled them in at load) by name, typed from BTF.
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
  errno,
  libbpf,
  mmap,
  pageSize,
  viewMemory,
} from "../ffi/mod.ts";
import type { Btf } from "./btf/btf.ts";
import { type Cell, isCharType } from "./btf/cells.ts";
import { type Codec, codecForType } from "./btf/codec.ts";
import {
  type BtfType,
  type Datasec,
  type Var,
  resolveType,
} from "./btf/types.ts";
import { cellOf } from "./btf/views.ts";
import {
  BpfTypeError,
  BtfTypeError,
  ClosedError,
  NotFoundError,
  StateError,
} from "./errors.ts";
import type { BpfMap } from "./map.ts";

// BPF_F_RDONLY_PROG (uapi/linux/bpf.h): libbpf sets it on .rodata maps.
const BPF_F_RDONLY_PROG = 1 << 7;
const EPERM = 1;

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
  /** Its section's map (a handle the caller closed is replaced: see #mapOf). */
  map: BpfMap;
  readonly codec: Codec;
  /** Structs, unions and non-char arrays: read as live views (see `#live`). */
  readonly cell: Cell | null;
  /** Its map is frozen (BPF_MAP_FREEZE): mapped read-only, writes refused. */
  frozen?: boolean;
}

/**
 * Structs, unions and arrays other than char[N] (those read as strings):
 * byte arrays too, or an element written to one would land in a copy.
 */
function isAggregate(type: BtfType): boolean {
  const r = resolveType(type);
  if (r.kind === "struct" || r.kind === "union") return true;
  if (r.kind !== "array") return false;
  return !isCharType(r.element);
}

function isGlobalDataSection(name: string): boolean {
  return /^\.(bss|data|rodata)(\..+)?$/.test(name) || name === KCONFIG;
}

// libbpf's section of `extern ... __kconfig` variables: it fills them in
// from the kernel's config at load (bpf_object__resolve_externs), then
// freezes the map; before that its copy holds zeros.
const KCONFIG = ".kconfig";

/** The global variables of an object, read and written by name. */
export class Globals {
  readonly #owner: GlobalsOwner;
  readonly #slots = new Map<string, Slot>();
  // Keyed by map name: a handle may be replaced (#mapOf), the map is one.
  readonly #mapped: Map<string, MappedMemory>;
  // DataViews of each section: libbpf's copy before load, the mmap after,
  // and for .rodata after load a private copy (frozen, so it cannot change).
  readonly #views = new Map<string, { loaded: boolean; view: DataView }>();
  readonly #liveCache = new Map<string, object>();
  // Writes in progress: encoding a value runs the caller's getters and
  // valueOf, which may close the object under the memory being written.
  #writing = 0;

  /**
   * @internal Made by `BpfObject.globals`, which keeps `mapped` (the
   * mappings made) to unmap them if it is collected unclosed.
   */
  constructor(owner: GlobalsOwner, mapped = new Map<string, MappedMemory>()) {
    this.#owner = owner;
    this.#mapped = mapped;
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
          cell: isAggregate(v.type) ? cellOf(v.type) : null,
        });
      }
    }
  }

  /** Names of all globals, in section order. */
  names(): string[] {
    return [...this.#slots.keys()];
  }

  /**
   * @internal False for a .kconfig extern before load (reading it throws):
   * enumerations (`Object.keys`, spread, JSON) leave it out until then.
   */
  listed(name: string): boolean {
    const s = this.#slots.get(name);
    return s !== undefined && (s.section !== KCONFIG || this.#owner.loaded);
  }

  /**
   * A .kconfig extern before load (zeros until libbpf fills it in), or any
   * write to one (libbpf's, from the kernel's config): a StateError.
   */
  #kconfigGuard(slot: Slot, forWrite: boolean): void {
    if (slot.section !== KCONFIG) return;
    if (forWrite) {
      throw new StateError(
        `global '${slot.name}' is a .kconfig extern: libbpf sets it from the kernel's config at load, it cannot be written`,
      );
    }
    if (!this.#owner.loaded) {
      throw new StateError(
        `global '${slot.name}' is a .kconfig extern: libbpf fills it in at load(), read it after`,
      );
    }
  }

  /** Description of one global (NotFoundError when unknown). */
  describe(name: string): GlobalVariable {
    // Field by field: a slot carries internals (map, codec, cell, frozen).
    const s = this.#slot(name);
    return {
      name: s.name,
      section: s.section,
      offset: s.offset,
      size: s.size,
      readonly: s.readonly,
      typeName: s.typeName,
    };
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

  /**
   * `slot`'s map handle, replaced by the object's current one when the
   * caller closed it (`obj.map(name).close()` closes a handle, not the map).
   */
  #mapOf(slot: Slot): BpfMap {
    if (slot.map.closed && !this.#owner.closed) {
      const name = slot.map.name;
      const fresh = this.#owner.maps.find((m) => m.name === name);
      if (fresh) {
        for (const s of this.#slots.values())
          if (s.map.name === name) s.map = fresh;
      }
    }
    return slot.map;
  }

  /** The bytes of a section: libbpf's copy before load, the kernel's after. */
  #region(slot: Slot, forWrite: boolean): Uint8Array {
    this.#kconfigGuard(slot, forWrite);
    const map = this.#mapOf(slot);
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
    let m = this.#mapped.get(map.name);
    if (!m) {
      const size = map.valueSize;
      const len = Math.ceil(size / pageSize()) * pageSize();
      const ro = slot.readonly || slot.frozen;
      let mapped = mmap(map.fd, len, ro ? PROT_READ : PROT_READ | PROT_WRITE);
      // The kernel refuses a frozen map a writable mapping (EPERM): frozen
      // by map.freeze(), or by whoever shares the map (a pin).
      if (!mapped && !ro && errno() === EPERM) {
        mapped = mmap(map.fd, len, PROT_READ);
        if (mapped) this.#markFrozen(map.name);
      }
      if (!mapped) {
        throw new StateError(
          `cannot mmap global data map '${map.name}' (created without BPF_F_MMAPABLE?)`,
        );
      }
      m = mapped;
      this.#mapped.set(map.name, m);
    }
    if (forWrite && slot.readonly) {
      throw new StateError(
        `global '${slot.name}' is in ${slot.section}, constant once loaded: set it before obj.load()`,
      );
    }
    if (forWrite && slot.frozen) {
      throw new StateError(
        `global '${slot.name}' is in ${slot.section}, whose map '${map.name}' is frozen (BPF_MAP_FREEZE): user space can only read it; BPF programs still write it`,
      );
    }
    return m.bytes;
  }

  /**
   * Reads a global's current value. Numbers, bigints and strings are read
   * at once; structs, unions and arrays come back as live views: reading
   * or writing a field reaches libbpf's initial value before load and the
   * kernel's value after (writes to .rodata fields after load are a
   * StateError, use after close a ClosedError).
   */
  get(name: string): unknown {
    this.#check(`read global '${name}'`);
    const slot = this.#slot(name);
    if (slot.cell) {
      let live = this.#liveCache.get(name);
      if (!live) this.#liveCache.set(name, (live = this.#live(slot, [])));
      return live;
    }
    return slot.codec.decode(this.#region(slot, false), slot.offset);
  }

  /** The DataView of `slot`'s section right now (see `#views`). */
  #sectionView(slot: Slot, forWrite: boolean): DataView {
    const what = `${forWrite ? "write" : "read"} global '${slot.name}'`;
    this.#check(what);
    this.#kconfigGuard(slot, forWrite);
    const loaded = this.#owner.loaded;
    // Throws for a read-only slot (.rodata, or a map frozen since).
    if (forWrite && loaded) this.#region(slot, true);
    const cached = this.#views.get(slot.map.name);
    if (cached && cached.loaded === loaded) return cached.view;
    let bytes = this.#region(slot, false);
    if (loaded && slot.readonly) bytes = bytes.slice();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#views.set(slot.map.name, { loaded, view });
    return view;
  }

  /**
   * A live view of an aggregate global, or of the member at `path` in it.
   * Each access re-reads the section (so it follows load and close); nested
   * views come back wrapped the same way. Raw memory never escapes: `$view`
   * and `$bytes()` give copies, `$repoint` is refused.
   */
  #live(slot: Slot, path: readonly PropertyKey[]): object {
    const resolve = (forWrite: boolean): Record<PropertyKey, unknown> => {
      const dv = this.#sectionView(slot, forWrite);
      let r = slot.cell!.read(dv, slot.offset) as Record<PropertyKey, unknown>;
      for (const k of path) r = Reflect.get(r, k, r) as typeof r;
      return r;
    };
    const wrap = (key: PropertyKey, v: unknown): unknown =>
      v !== null && typeof v === "object"
        ? this.#live(slot, [...path, key])
        : v;
    const where = `global '${slot.name}'${path.map((k) => (typeof k === "string" && /^\d+$/.test(k) ? `[${k}]` : `.${String(k)}`)).join("")}`;
    const target = shownAs(() => {
      const r = resolve(false) as { toArray?(): unknown; toObject?(): unknown };
      return r.toArray ? r.toArray() : r.toObject!();
    });
    return new Proxy(target, {
      get: (_t, key) => {
        const r = resolve(false);
        if (key === "$view") {
          const b = (r.$bytes as () => Uint8Array).call(r).slice();
          return new DataView(b.buffer);
        }
        if (key === "$bytes")
          return () => (resolve(false).$bytes as () => Uint8Array)().slice();
        if (key === "$repoint") {
          return () => {
            throw new BpfTypeError(
              `${where} is a live view of the object's memory: it cannot be re-aimed`,
            );
          };
        }
        if (key === Symbol.iterator && typeof r.length === "number") {
          return function* () {
            const n = resolve(false).length as number;
            for (let i = 0; i < n; i++) yield wrap(i, resolve(false)[i]);
          };
        }
        const v = Reflect.get(r, key, r);
        if (typeof v === "function") {
          return (...args: unknown[]) =>
            this.#write(() => {
              const t = resolve(key === "$set");
              return naming(where, () =>
                Reflect.apply(t[key] as (...a: unknown[]) => unknown, t, args),
              );
            });
        }
        return wrap(key, v);
      },
      set: (_t, key, value) =>
        this.#write(() => {
          const r = resolve(true);
          if (!(key in r)) {
            throw new BpfTypeError(`${where} has no member '${String(key)}'`);
          }
          return naming(where, () => Reflect.set(r, key, value, r));
        }),
      has: (_t, key) => key in resolve(false),
      ownKeys: () => Reflect.ownKeys(resolve(false)),
      getOwnPropertyDescriptor: (_t, key) => {
        const d = Reflect.getOwnPropertyDescriptor(resolve(false), key);
        return d && { ...d, configurable: true };
      },
      getPrototypeOf: () => Reflect.getPrototypeOf(resolve(false)),
      deleteProperty: (_t, key) => refuseShape(where, key),
      defineProperty: (_t, key) => refuseShape(where, key),
    });
  }

  /** Writes a global (before load: its initial value; after: live). */
  set(name: string, value: unknown): void {
    this.#check(`write global '${name}'`);
    const slot = this.#slot(name);
    this.#write(() => {
      const region = this.#region(slot, true);
      // Encode into a scratch copy first: a bad value must not half-write.
      const tmp = region.slice(slot.offset, slot.offset + slot.size);
      slot.codec.encode(value, tmp, 0, `global '${name}'`);
      region.set(tmp, slot.offset);
    });
  }

  /**
   * @internal True while a write runs (the object then closes once it is
   * done, see `BpfObject.close`).
   */
  get writing(): boolean {
    return this.#writing > 0;
  }

  /** Runs a write, counted in `writing`. */
  #write<T>(fn: () => T): T {
    this.#writing++;
    try {
      return fn();
    } finally {
      this.#writing--;
    }
  }

  #markFrozen(mapName: string): void {
    for (const s of this.#slots.values())
      if (s.map.name === mapName) s.frozen = true;
  }

  /**
   * @internal Before map `mapName` is frozen: unmaps the globals' writable
   * mapping of it, which the kernel counts as a writer (freezing is EBUSY
   * while one is live). Raw memory never escapes the globals, so nothing
   * dangles: the next access maps it again, read-only once frozen.
   */
  releaseMapping(mapName: string): void {
    const m = this.#mapped.get(mapName);
    if (!m) return;
    if (this.writing) {
      throw new StateError(
        `freeze: map '${mapName}' cannot be frozen from inside a write to one of its globals (a getter or valueOf of the value)`,
        { hint: "freeze it after the write returns" },
      );
    }
    this.#views.delete(mapName);
    this.#mapped.delete(mapName);
    m.unmap();
  }

  /** @internal Unmaps the live views (the object is closing). */
  release(): void {
    this.#views.clear();
    for (const m of this.#mapped.values()) m.unmap();
    this.#mapped.clear();
  }
}

/**
 * Runs `fn`; a value it refuses (a BtfTypeError from a view's setter, which
 * names only the C type) is raised again with `where`, the global, in front.
 */
function naming<T>(where: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof BtfTypeError)) throw e;
    throw new BtfTypeError(`${where}: ${e.message}`, {
      hint: e.hint,
      cause: e,
    });
  }
}

/**
 * A proxy target that logs as `plain()`: Node's util.inspect, Bun's and
 * Deno's console show a proxy by its target, bypassing the traps, so the
 * target itself carries the inspect hooks (configurable: the traps need
 * not report them). A global that cannot be read (closed) logs its error.
 */
function shownAs(plain: () => unknown): object {
  const show = (): unknown => {
    try {
      return plain();
    } catch (e) {
      return `[${e instanceof Error ? e.message : String(e)}]`;
    }
  };
  const target = Object.create(null) as object;
  Object.defineProperty(target, Symbol.for("nodejs.util.inspect.custom"), {
    value: show,
    configurable: true,
  });
  Object.defineProperty(target, Symbol.for("Deno.customInspect"), {
    value: (inspect: (v: unknown, o: unknown) => string, options: unknown) =>
      inspect(show(), options),
    configurable: true,
  });
  return target;
}

// Looked up by runtimes and tooling on any object; never globals.
const PASS_THROUGH = new Set(["then", "toJSON", "constructor", "inspect"]);

/**
 * The `obj.globals` proxy: `globals.counter`, `globals.x = 1`,
 * `Object.keys(globals)`, `"x" in globals`.
 */
export function globalsProxy(g: Globals): Record<string, unknown> {
  const target = shownAs(() =>
    Object.fromEntries(
      g
        .names()
        .filter((n) => g.listed(n))
        .map((n) => [n, g.get(n)]),
    ),
  ) as Record<string, unknown>;
  return new Proxy(target, {
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
    ownKeys: () => g.names().filter((n) => g.listed(n)),
    getOwnPropertyDescriptor(_t, key) {
      if (typeof key !== "string" || !g.listed(key)) return undefined;
      return {
        value: g.get(key),
        writable: true,
        enumerable: true,
        configurable: true,
      };
    },
    deleteProperty: (_t, key) => refuseShape("globals", key),
    defineProperty: (_t, key) => refuseShape("globals", key),
  });
}

/**
 * Globals mirror the object's data sections: members can be read and
 * assigned, never deleted or redefined (a proxy trap returning false
 * would surface as a bare TypeError).
 */
/** @internal The error for deleting or redefining a global. */
export function refuseShape(where: string, key: string | symbol): never {
  throw new BpfTypeError(
    `${where}: '${String(key)}' cannot be deleted or redefined: globals mirror the object's data sections; assign a value instead`,
  );
}
