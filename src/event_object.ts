/**
 * What `BpfObject` does for event-stream maps: before load, strip the
 * key/value sizes a ring buffer map declares only to name its event type
 * (the kernel rejects a ringbuf with either size set, and libbpf 1.1 does
 * not strip them), remembering that type; after load, open readers typed by
 * it, owned (and closed) by the object.
 */
import { libbpf } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import type { Btf } from "./btf/btf.ts";
import { type ViewClass, checkStructArg } from "./btf/views.ts";
import type { BpfMap } from "./map.ts";
import type { ObjectOwner } from "./owner.ts";
import { BpfTypeError } from "./errors.ts";
import { checkShort } from "./event_struct.ts";
import { describeValue } from "./map_codecs.ts";
import { PerfBuffer, type PerfBufferOptions } from "./perfbuf.ts";
import {
  RingBuffer,
  type RingBufferOptions,
  type RingSource,
} from "./ringbuf.ts";

/** The object, as the event readers need it. */
export interface EventMapsOwner extends ObjectOwner {
  readonly maps: readonly BpfMap[];
  readonly btf: Btf;
  map(name: string): BpfMap;
}

const eventTypes = new WeakMap<object, Map<string, string>>();

/**
 * Before load: for every ringbuf map with a key or value size, remembers
 * its BTF value type's name and sets both sizes to 0. libbpf then fails the
 * creation with the BTF ids once (the kernel's map_check_btf wants
 * value_size == sizeof(type)) and retries without BTF, which succeeds.
 */
export function prepareRingbufMaps(obj: EventMapsOwner): void {
  const L = libbpf();
  const types = new Map<string, string>();
  for (const m of obj.maps) {
    if (m.type !== "ringbuf" || (m.keySize === 0 && m.valueSize === 0))
      continue;
    const id = m.btfValueTypeId;
    if (id) {
      try {
        const name = obj.btf.nameOf(id);
        if (name) types.set(m.name, name);
      } catch {
        // no usable BTF: the map still loads, its records stay bytes
      }
    }
    const p = m.handle("ringbuf sizes");
    let err = L.bpf_map__set_key_size(p, 0);
    if (err >= 0) err = L.bpf_map__set_value_size(p, 0);
    if (err < 0) throw bpfError("bpf_map__set_value_size", err);
  }
  eventTypes.set(obj, types);
}

/** The struct name `__type(value, ...)` gave ring buffer map `name`, if any. */
export function ringbufEventType(
  obj: EventMapsOwner,
  name: string,
): string | undefined {
  return eventTypes.get(obj)?.get(name);
}

function owned<R extends { close(): void }>(
  obj: EventMapsOwner,
  open: (onClose: () => void) => R,
): R {
  let reader: R | undefined;
  const link = { close: () => reader?.close() };
  reader = open(() => obj.releaseLink(link));
  obj.adoptLink(link);
  return reader;
}

/**
 * A struct smaller than the map's `__type(value, ...)` is refused: every
 * record would decode as a prefix of itself without a word, most likely
 * through the wrong class (a stale generated one, or another map's). A
 * larger one is the header-plus-payload pattern (the map declares the
 * header, records carry up to a whole struct); records shorter than it are
 * reported one by one (see the `short` option), so it passes.
 */
function checkDeclaredSize(
  obj: EventMapsOwner,
  name: string,
  declared: string,
  struct: ViewClass,
): void {
  let size: number;
  try {
    size = obj.btf.struct(declared).size;
  } catch {
    return; // not a struct (e.g. a union or an int): nothing to compare
  }
  if (struct.size >= size) return;
  const given = struct.typeName ? `struct ${struct.typeName}` : "the struct";
  throw new BpfTypeError(
    `obj.ringBuffer: ring buffer map '${name}' declares __type(value, struct ${declared}) (${size} bytes), but ${given} is ${struct.size} bytes: records would decode as a prefix of themselves`,
    {
      hint: `omit the struct to read records as struct ${declared}, pass the class generated for it, or read bytes with obj.ringBuffer("${name}", null) and decode them with ${struct.typeName || "Struct"}.from(record)`,
    },
  );
}

/**
 * `obj.ringBuffer(names, struct?)`: a reader of one or several ringbuf maps.
 * Without `struct`, each map's remembered event type decodes its records
 * (bytes when it has none), and records shorter than it come as bytes
 * unless `options.short` says otherwise: such a reader's records may be
 * bytes anyway, and a variable-length record is a common pattern. With
 * `struct`, the reader is typed as its views: "error" (default) or
 * "zero-pad".
 */
export function openObjectRingBuffer(
  obj: EventMapsOwner,
  names: string | readonly string[],
  struct: ViewClass | null | undefined,
  options: RingBufferOptions = {},
): RingBuffer<unknown> {
  obj.handle("ringBuffer");
  const list = typeof names === "string" ? [names] : names;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    !list.every((n) => typeof n === "string")
  ) {
    throw new BpfTypeError(
      `obj.ringBuffer: give a ring buffer map's name, or several in an array, got ${describeValue(names)}`,
    );
  }
  const given =
    options.short === undefined
      ? undefined
      : checkShort(options.short, struct == null, "obj.ringBuffer");
  const sources: RingSource[] = list.map((name) => {
    const map = obj.map(name);
    const declared = ringbufEventType(obj, name);
    if (struct != null && declared) {
      // A class, checked before its size is read.
      checkStructArg(struct, "ring buffer");
      checkDeclaredSize(obj, name, declared, struct);
    }
    const typeName = struct === undefined ? declared : undefined;
    if (typeName)
      return { map, struct: obj.btf.struct(typeName), short: given ?? "bytes" };
    return { map, struct: struct ?? null, short: given ?? "error" };
  });
  return owned(obj, (onClose) =>
    RingBuffer.open(sources, null, { ...options, onClose }),
  ) as RingBuffer<unknown>;
}

/** `obj.perfBuffer(name, struct?)`: a reader of a perf_event_array map. */
export function openObjectPerfBuffer(
  obj: EventMapsOwner,
  name: string,
  struct: ViewClass | null | undefined,
  options: PerfBufferOptions = {},
): PerfBuffer<unknown> {
  obj.handle("perfBuffer");
  if (typeof name !== "string") {
    throw new BpfTypeError(
      `obj.perfBuffer: give the perf_event_array map's name, got ${describeValue(name)}`,
    );
  }
  const map = obj.map(name);
  return owned(obj, (onClose) =>
    PerfBuffer.open(map, struct ?? null, { ...options, onClose }),
  ) as PerfBuffer<unknown>;
}
