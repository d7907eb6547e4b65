/**
 * The runtime half of `tsbpf-gen skeleton`: a generated module describes
 * its object (maps with their key/value types, programs, globals, event
 * streams) in a `SkeletonSpec` and calls `openSkeleton`; the types it
 * declares give the result its shape.
 *
 * The opened and the loaded skeleton are the same object; only their types
 * differ (as libbpf-rs's OpenObject/Object): `load()` returns it typed as
 * loaded, where .rodata globals are readonly and `load` is gone.
 */
import { fileURLToPath } from "node:url";
import type { ArrayView } from "./btf/cells.ts";
import type { BpfLink } from "./link.ts";
import type { BpfMap } from "./map.ts";
import { refuseShape } from "./globals.ts";
import { BpfObject, type OpenOptions } from "./object.ts";
import type { BpfProgram } from "./program.ts";
import { BpfTypeError, NotFoundError, StateError } from "./errors.ts";
import {
  attachSkeleton,
  type SkeletonAttachOptions,
  type SkeletonLinks,
} from "./skeleton_attach.ts";
import {
  type EventReader,
  type RecordClass,
  type ValueSpec,
  perCpuSkeletonMap,
  recordArrayBytes,
  recordBytes,
  skeletonMap,
  skeletonQueue,
  type SkeletonMapBase,
  type SkeletonQueue,
} from "./skeleton_map.ts";

export {
  type SkeletonAttachOptions,
  type SkeletonLinks,
  type SkippedProgram,
} from "./skeleton_attach.ts";
export {
  type DeepReadonly,
  type ReadonlyArrayView,
} from "./skeleton_readonly.ts";
export {
  type PerCpuSkeletonMap,
  type RecordArraySpec,
  type RecordClass,
  type SkeletonBloomFilter,
  type SkeletonMap,
  type SkeletonQueue,
  type ValueSpec,
} from "./skeleton_map.ts";

/**
 * A global C array (of anything but bytes or structs) as a skeleton gives
 * it: a live view of the variable's memory, indexable (`a[i]`, `a[i] = x`).
 */
export type GlobalArray<T> = ArrayView<T> & { [i: number]: T };

/** A BPF object embedded in a generated module. */
export interface EmbeddedObject {
  /** The object file's bytes, base64. */
  readonly base64: string;
}

/** One map as a skeleton spec describes it. */
export interface SkeletonMapSpec {
  /** Map name. */
  readonly name: string;
  /**
   * "ring"/"perf" for event streams, "struct_ops" for an ops table, "data"
   * for the global-data map of `section` (all given as the plain
   * `BpfMap`); otherwise a keyed map.
   */
  readonly kind?: "ring" | "perf" | "struct_ops" | "data";
  /** The data section of a "data" map (".bss", ".rodata.cfg", ...). */
  readonly section?: string;
  /** Key type (keyed maps). */
  readonly key?: ValueSpec;
  /** Value type (keyed maps). */
  readonly value?: ValueSpec;
  /** One value per possible CPU. */
  readonly perCpu?: boolean;
  /** A queue, stack or bloom filter: values only (push/pop/peek/mayContain). */
  readonly keyless?: boolean;
  /** Record class of an event stream, when the BTF names one. */
  readonly event?: RecordClass;
}

/** What a generated skeleton module tells the runtime. */
export interface SkeletonSpec {
  /** Object name (libbpf's: the file name up to its first dot). */
  readonly name: string;
  readonly maps: readonly SkeletonMapSpec[];
  /** Program names. */
  readonly programs: readonly string[];
  /** Global variable names (those with a struct type carry its class). */
  readonly globals: readonly (
    | string
    | { name: string; type: RecordClass; length?: number }
  )[];
}

/** What opened and loaded skeletons share. */
export interface SkeletonBase<M, P, R, PB> {
  /** The underlying object (every runtime API is there). */
  readonly object: BpfObject;
  /** Maps by name, typed. */
  readonly maps: M;
  /** Programs by name. */
  readonly programs: P;
  /** Ring buffer readers by map name, made on first use (after load). */
  readonly ringBuffers: R;
  /** Perf buffer readers by map name, made on first use (after load). */
  readonly perfBuffers: PB;
  /** The reader of ring buffer map `name` (same as `ringBuffers[name]`). */
  ringBuffer<N extends keyof R>(name: N): R[N];
  /** The reader of perf event array map `name`. */
  perfBuffer<N extends keyof PB>(name: N): PB[N];
  /** True once loaded. */
  readonly loaded: boolean;
  /** Closes readers, destroys links, frees the object; idempotent. */
  close(): void;
  /** Same as `close()`. */
  [Symbol.dispose](): void;
}

/** A skeleton before load: globals are initial values, `load()` is there. */
export interface OpenedSkeleton<M, P, R, PB, G, LG>
  extends SkeletonBase<M, P, R, PB> {
  /** Global variables (initial values; .rodata too). */
  readonly globals: G;
  /** Loads the object; returns this skeleton, typed as loaded. */
  load(): LoadedSkeleton<M, P, R, PB, LG>;
}

/** A loaded skeleton: .rodata globals are constant. */
export interface LoadedSkeleton<M, P, R, PB, G>
  extends SkeletonBase<M, P, R, PB> {
  /** Global variables (live values). */
  readonly globals: G;
  /**
   * Attaches every program whose autoload is on by its section name
   * (`prog.attach()`), as libbpf's attach_skeleton, and registers every
   * struct_ops map (`map.attachStructOps()`); the links belong to the
   * object. Sections libbpf cannot attach by name alone (xdp, tc, cgroup,
   * a bare SEC("uprobe"), map and cgroup iterators...) are listed in the result's `skipped`, each
   * with how to attach it. A program or struct_ops table the kernel
   * refuses throws (closing the links made so far), unless
   * `onError: "skip"` lists it there too (a table with `map` set).
   * Called again, it keeps the links still open and attaches the rest.
   */
  attach(
    options?: SkeletonAttachOptions,
  ): SkeletonLinks<Extract<keyof P | keyof M, string>>;
}

function decodeBase64(s: string): Uint8Array {
  let bin: string;
  try {
    bin = atob(s);
  } catch (e) {
    throw new BpfTypeError(
      "openSkeleton: the embedded object is not base64: regenerate the skeleton (tsbpf-gen skeleton)",
      { cause: e },
    );
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Defines read-only, enumerable, lazily computed properties on a null-prototype object. */
function lazyRecord<T>(
  names: readonly string[],
  make: (name: string) => T,
): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  const cache = new Map<string, T>();
  for (const name of names) {
    Object.defineProperty(out, name, {
      enumerable: true,
      get() {
        let v = cache.get(name);
        if (v === undefined) {
          v = make(name);
          cache.set(name, v);
        }
        return v;
      },
    });
  }
  return Object.freeze(out);
}

interface Closable {
  close(): void;
}

/** The object behind every generated skeleton. */
class Skeleton {
  readonly object: BpfObject;
  readonly maps: Record<
    string,
    SkeletonMapBase | SkeletonQueue<unknown> | BpfMap
  >;
  readonly programs: Record<string, BpfProgram>;
  readonly ringBuffers: Record<string, EventReader>;
  readonly perfBuffers: Record<string, EventReader>;
  readonly globals: Record<string, unknown>;
  readonly #readers: Closable[] = [];
  // The links attach() made (owned by the object), by program or map.
  readonly #links = new Map<string, BpfLink>();

  constructor(object: BpfObject, spec: SkeletonSpec) {
    this.object = object;
    const mapSpecs = new Map(spec.maps.map((m) => [m.name, m]));
    this.maps = lazyRecord(
      spec.maps.map((m) => m.name),
      (name) => {
        const m = mapSpecs.get(name)!;
        if (m.kind === "data") return dataMap(object, m.section ?? name);
        const map = object.map(name);
        if (m.kind) return map;
        if (m.keyless) return skeletonQueue(map, m.value);
        return m.perCpu
          ? perCpuSkeletonMap(map, m.key, m.value)
          : skeletonMap(map, m.key, m.value);
      },
    );
    this.programs = lazyRecord(spec.programs, (name) => object.program(name));
    const stream = (kind: "ring" | "perf") =>
      lazyRecord(
        spec.maps.filter((m) => m.kind === kind).map((m) => m.name),
        (name) => {
          // Closed before it was ever loaded: closed is what to say.
          if (object.closed) object.handle(`${kind}Buffer('${name}')`);
          if (!object.loaded) {
            throw new StateError(
              `${kind === "ring" ? "ring" : "perf"} buffer '${name}' can be read only after load()`,
            );
          }
          const ev = mapSpecs.get(name)!.event;
          const o = object as unknown as {
            ringBuffer(n: string, c?: unknown): EventReader;
            perfBuffer(n: string, c?: unknown): EventReader;
          };
          const r =
            kind === "ring" ? o.ringBuffer(name, ev) : o.perfBuffer(name, ev);
          this.#readers.push(r);
          return r;
        },
      );
    this.ringBuffers = stream("ring");
    this.perfBuffers = stream("perf");
    this.globals = globalsView(object, spec.globals);
  }

  get loaded(): boolean {
    return this.object.loaded;
  }

  ringBuffer(name: string): EventReader {
    return pick(this.ringBuffers, name, "ring buffer");
  }

  perfBuffer(name: string): EventReader {
    return pick(this.perfBuffers, name, "perf buffer");
  }

  load(): this {
    this.object.load();
    return this;
  }

  attach(options?: SkeletonAttachOptions): SkeletonLinks {
    return attachSkeleton(this.object, this.#links, options);
  }

  close(): void {
    for (const r of this.#readers.splice(0)) {
      try {
        r.close();
      } catch {
        // keep closing the rest
      }
    }
    this.object.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The map libbpf made for data section `section`: the one whose value type
 * is that section's DATASEC (its name is libbpf's, `<obj>.bss` or
 * `.rodata.cfg`, and differs between libbpf versions).
 */
function dataMap(object: BpfObject, section: string): BpfMap {
  const btf = object.btf;
  const maps = object.maps;
  for (const map of maps) {
    const id = map.btfValueTypeId;
    if (id && btf.kindOf(id) === "datasec" && btf.typeById(id).name === section)
      return map;
  }
  throw new NotFoundError(
    "map of data section",
    section,
    maps.map((m) => m.name),
  );
}

function pick<T>(rec: Record<string, T>, name: string, what: string): T {
  if (!Object.prototype.hasOwnProperty.call(rec, name)) {
    throw new NotFoundError(what, name, Object.keys(rec));
  }
  return rec[name]!;
}

/**
 * The skeleton's globals: the object's own (`obj.globals`). A struct global
 * reads as the object's live view (field writes reach the kernel after
 * load), which is an `instanceof` its generated class; an array of structs
 * as an array of such views. Either is written from instances, plain
 * objects or bytes.
 */
function globalsView(
  object: BpfObject,
  globals: SkeletonSpec["globals"],
): Record<string, unknown> {
  const out = Object.create(null) as Record<string, unknown>;
  // One wrapper per live view: a global reads as the same object twice.
  const asClass = new WeakMap<object, object>();
  for (const g of globals) {
    const name = typeof g === "string" ? g : g.name;
    const cls = typeof g === "string" ? undefined : g.type;
    const length = typeof g === "string" ? undefined : g.length;
    // obj.globals hands out live views of the object's memory (guarded
    // proxies); they read as instances of the generated class too.
    const live = (v: unknown) => {
      let p = asClass.get(v as object);
      if (!p) {
        p = new Proxy(v as object, { getPrototypeOf: () => cls!.prototype });
        asClass.set(v as object, p);
      }
      return p;
    };
    Object.defineProperty(out, name, {
      enumerable: true,
      // Configurable, so that the proxy below may leave out a .kconfig
      // extern before load; the proxy refuses redefining and deleting.
      configurable: true,
      get() {
        // Through Globals, not the obj.globals proxy: that one leaves
        // names such as `then` and `toJSON` to runtimes and tooling.
        const v = object.globalVariables.get(name);
        if (!cls) return v;
        if (length === undefined) return live(v);
        return structArray(
          Array.from(v as Iterable<unknown>, live),
          name,
          (i, x) => {
            const view = object.globalVariables.get(name) as unknown[];
            view[i] = recordBytes(x, cls);
          },
        );
      },
      set(v: unknown) {
        object.globalVariables.set(
          name,
          !cls
            ? v
            : length === undefined
              ? recordBytes(v, cls)
              : recordArrayBytes(v, cls, length),
        );
      },
    });
  }
  const names = Object.keys(out);
  // Enumerations (spread, Object.entries, JSON) read every global they
  // list: a .kconfig extern, unreadable before load, is listed after.
  const listed = (key: string | symbol) =>
    typeof key === "string" &&
    Object.hasOwn(out, key) &&
    (object.closed || object.globalVariables.listed(key));
  // Writing a global the object does not have names the ones it has.
  return new Proxy(out, {
    set(target, key, value, receiver) {
      if (typeof key === "symbol") return refuseShape("globals", key);
      if (!(key in target)) {
        throw new NotFoundError("global variable", key, names);
      }
      return Reflect.set(target, key, value, receiver);
    },
    ownKeys: () => names.filter(listed),
    getOwnPropertyDescriptor: (target, key) =>
      listed(key) ? Reflect.getOwnPropertyDescriptor(target, key) : undefined,
    defineProperty: (_t, key) => refuseShape("globals", key),
    deleteProperty: (_t, key) => refuseShape("globals", key),
  });
}

/**
 * An array of struct globals as read: `a[i] = x` writes element `i` of the
 * object's memory (`write`); any other change (an index past the end,
 * `push`, `length`, delete) is a BpfTypeError, not a change to a copy.
 */
function structArray(
  elements: unknown[],
  name: string,
  write: (i: number, value: unknown) => void,
): unknown[] {
  const refuse = (key: PropertyKey): never => {
    throw new BpfTypeError(
      `global '${name}' has ${elements.length} elements: '${String(key)}' cannot be set, added or removed`,
      { hint: `write an element (${name}[i] = ...) or the whole array` },
    );
  };
  return new Proxy(elements, {
    set(target, key, value) {
      if (typeof key !== "string" || !/^(0|[1-9][0-9]*)$/.test(key))
        return refuse(key);
      const i = Number(key);
      if (i >= target.length) return refuse(key);
      write(i, value);
      return true;
    },
    defineProperty: (_t, key) => refuse(key),
    deleteProperty: (_t, key) => refuse(key),
  });
}

/**
 * Opens a generated skeleton's object: embedded bytes, a file URL (relative
 * to the skeleton module) or a path. Generated modules call this.
 */
export function openSkeleton(
  source: EmbeddedObject | URL | string,
  spec: SkeletonSpec,
  options?: OpenOptions,
): OpenedSkeleton<unknown, unknown, unknown, unknown, unknown, unknown> {
  const embedded = source as Partial<EmbeddedObject> | null;
  if (
    !(source instanceof URL) &&
    typeof source !== "string" &&
    typeof embedded?.base64 !== "string"
  ) {
    throw new BpfTypeError(
      "openSkeleton: source is the skeleton's embedded object ({ base64 }), a URL or a path",
    );
  }
  const from =
    source instanceof URL
      ? fileURLToPath(source)
      : typeof source === "string"
        ? source
        : decodeBase64(source.base64);
  const object = BpfObject.open(from, { name: spec.name, ...options });
  try {
    return new Skeleton(object, spec) as unknown as OpenedSkeleton<
      unknown,
      unknown,
      unknown,
      unknown,
      unknown,
      unknown
    >;
  } catch (e) {
    object.close();
    throw e;
  }
}
