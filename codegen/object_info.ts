/**
 * What a skeleton is made of, read from a BPF object file without libbpf:
 * its maps (with key/value BTF types from the `.maps` section), programs
 * (functions in program sections) and global variables (`.bss`, `.data`,
 * `.rodata` and their custom `.data.*`/`.rodata.*` variants, and the
 * `.kconfig` externs libbpf fills in at load).
 */
import { Btf } from "../src/btf/btf.ts";
import type { BtfType, Datasec, Struct, Var } from "../src/btf/types.ts";
import { resolveType } from "../src/btf/types.ts";
import { readElf } from "../src/elf/reader.ts";
import { SHF, STT } from "../src/elf/types.ts";
import { isPerCpu, mapTypeName } from "../src/map_types.ts";

/**
 * Prefix of the global that names an event stream's record type when the
 * map itself cannot: `struct exec_event _event_events;` types the ring
 * buffer (or perf event array) map `events`.
 */
export const EVENT_ANCHOR_PREFIX = "_event_";

/** One map of the object. */
export interface MapInfo {
  /** Map name (the `.maps` or `.struct_ops` variable's name). */
  readonly name: string;
  /** Map type name, e.g. "hash", "ringbuf"; "unknown(N)" for new ones. */
  readonly type: string;
  /** One value per possible CPU. */
  readonly perCpu: boolean;
  /** Key type (`__type(key, T)`), when declared. */
  readonly key?: BtfType;
  /** Value type (`__type(value, T)`), when declared. */
  readonly value?: BtfType;
  /** Record type of a ring buffer / perf event array (see EVENT_ANCHOR_PREFIX). */
  readonly event?: BtfType;
  /** `max_entries`, when declared. */
  readonly maxEntries?: number;
  /** `map_flags` (BPF_F_*), when declared. */
  readonly flags?: number;
  /** `key_size`, when declared (maps typed by size, not `__type`). */
  readonly keySize?: number;
  /** `value_size`, when declared. */
  readonly valueSize?: number;
}

/** One program of the object. */
export interface ProgramInfo {
  /** Function name (libbpf's program name). */
  readonly name: string;
  /** ELF section, e.g. "tracepoint/sched/sched_process_exec". */
  readonly section: string;
}

/** One global variable. */
export interface GlobalInfo {
  /** C name. */
  readonly name: string;
  /** Data section, e.g. ".rodata". */
  readonly section: string;
  /** Constant once loaded (.rodata*). */
  readonly readonly: boolean;
  /** Its BTF type. */
  readonly type: BtfType;
}

/** Everything a skeleton exposes, in a deterministic order. */
export interface ObjectInfo {
  /** libbpf's object name: the file name up to its first dot. */
  readonly name: string;
  /** The object's BTF (structs are emitted from it). */
  readonly btf: Btf;
  readonly maps: readonly MapInfo[];
  readonly programs: readonly ProgramInfo[];
  readonly globals: readonly GlobalInfo[];
  /**
   * The data sections with a BTF DATASEC (.bss, .data, .rodata, their
   * custom variants, .kconfig), in BTF order: libbpf makes each one map.
   */
  readonly dataSections: readonly string[];
}

/** `int (*type)[N]` (what `__uint(type, N)` declares) → N. */
function uintField(t: BtfType): number | undefined {
  const p = resolveType(t);
  if (p.kind !== "ptr") return undefined;
  const a = resolveType(p.target);
  return a.kind === "array" ? a.length : undefined;
}

/** `T *key` (what `__type(key, T)` declares) → T. */
function typeField(t: BtfType): BtfType | undefined {
  const p = resolveType(t);
  return p.kind === "ptr" ? p.target : undefined;
}

function mapInfo(v: Var): Omit<MapInfo, "event"> {
  const def = resolveType(v.type);
  let typeId = 0;
  let key: BtfType | undefined;
  let value: BtfType | undefined;
  let maxEntries: number | undefined;
  let flags: number | undefined;
  let keySize: number | undefined;
  let valueSize: number | undefined;
  if (def.kind === "struct") {
    for (const m of (def as Struct).members) {
      if (m.name === "type") typeId = uintField(m.type) ?? 0;
      else if (m.name === "max_entries") maxEntries = uintField(m.type);
      else if (m.name === "map_flags") flags = uintField(m.type);
      else if (m.name === "key_size") keySize = uintField(m.type);
      else if (m.name === "value_size") valueSize = uintField(m.type);
      else if (m.name === "key") key = typeField(m.type);
      else if (m.name === "value") value = typeField(m.type);
    }
  }
  const type = mapTypeName(typeId);
  return {
    name: v.name,
    type,
    perCpu: isPerCpu(type),
    key,
    value,
    maxEntries,
    flags,
    ...(keySize !== undefined && { keySize }),
    ...(valueSize !== undefined && { valueSize }),
  };
}

/** An ops table in SEC(".struct_ops") or SEC(".struct_ops.link"): a map with one value. */
function structOpsInfo(v: Var): Omit<MapInfo, "event"> {
  return {
    name: v.name,
    type: "struct_ops",
    perCpu: false,
    value: v.type,
    maxEntries: 1,
  };
}

function isStructOpsSection(name: string): boolean {
  return name === ".struct_ops" || name === ".struct_ops.link";
}

function isDataSection(name: string): boolean {
  return /^\.(bss|data|rodata)(\..+)?$/.test(name) || name === ".kconfig";
}

/** Reads the maps, programs and globals of a BPF object file's bytes. */
export function describeObject(
  bytes: Uint8Array,
  fileName: string,
): ObjectInfo {
  const elf = readElf(bytes);
  // Without .BTF, a BtfError that names a host executable for what it is,
  // and tells a BPF object to be built with -g.
  const btf = Btf.fromElf(elf, { source: fileName });
  const base = fileName.split("/").pop() ?? fileName;
  const name = base.split(".")[0] || base;

  const maps: Omit<MapInfo, "event">[] = [];
  const globals: GlobalInfo[] = [];
  const dataSections: string[] = [];
  for (let id = 1; id <= btf.count; id++) {
    if (btf.kindOf(id) !== "datasec") continue;
    const sec = btf.typeById(id) as Datasec;
    const isMaps = sec.name === ".maps";
    const isOps = isStructOpsSection(sec.name);
    if (!isMaps && !isOps && !isDataSection(sec.name)) continue;
    if (!isMaps && !isOps && !dataSections.includes(sec.name))
      dataSections.push(sec.name);
    for (const vs of sec.vars) {
      const v = vs.type as Var;
      if (v.kind !== "var" || !v.name) continue;
      if (isMaps) maps.push(mapInfo(v));
      else if (isOps) maps.push(structOpsInfo(v));
      else if (v.linkage !== "static" && !v.name.startsWith(".")) {
        globals.push({
          name: v.name,
          section: sec.name,
          readonly: sec.name.startsWith(".rodata") || sec.name === ".kconfig",
          type: v.type,
        });
      }
    }
  }

  const anchors = new Map<string, BtfType>();
  for (const g of globals) {
    if (g.name.startsWith(EVENT_ANCHOR_PREFIX)) {
      anchors.set(g.name.slice(EVENT_ANCHOR_PREFIX.length), g.type);
    }
  }
  const withEvents: MapInfo[] = maps.map((m) => {
    if (m.type !== "ringbuf" && m.type !== "perf_event_array") return m;
    // An anchor wins: a perf event array's declared value is the CPU fd slot.
    const event =
      anchors.get(m.name) ?? (m.type === "ringbuf" ? m.value : undefined);
    return { ...m, event };
  });
  const streams = new Set(
    withEvents.filter((m) => m.event).map((m) => EVENT_ANCHOR_PREFIX + m.name),
  );

  const programs: ProgramInfo[] = [];
  for (const s of elf.sections) {
    if (!(s.flags & SHF.EXECINSTR) || s.name === ".text") continue;
    for (const sym of elf.symbolsIn(s.index)) {
      if (sym.type === STT.FUNC && sym.name) {
        programs.push({ name: sym.name, section: s.name });
      }
    }
  }

  return {
    name,
    btf,
    maps: withEvents,
    programs,
    globals: globals.filter((g) => !streams.has(g.name)),
    dataSections,
  };
}
