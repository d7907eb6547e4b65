/**
 * `tsbpf-gen skeleton`: a BPF object → a typed TypeScript module, like
 * `bpftool gen skeleton`, libbpf-cargo and bpf2go. The module exports
 * `open(options?)` (configure, then `load()`) and `load(options?)`; the
 * skeleton has typed `.maps`, `.programs`, `.globals` and `.ringBuffers` /
 * `.perfBuffers`, with the structs it uses emitted by `tsbpf-gen types`
 * (their helpers imported from the runtime, like everything else).
 *
 * Deterministic: the same object and options give the same bytes.
 */
import { docText, NameAllocator, pascalCase, propertyKey } from "./names.ts";
import {
  describeObject,
  type GlobalInfo,
  type MapInfo,
  type ObjectInfo,
} from "./object_info.ts";
import {
  globalType,
  structName,
  type ValueType,
  valueType,
} from "./skeleton_types.ts";
import { generateTypes } from "./types.ts";

/** Map types whose values are kernel objects: an fd in, an id out. */
const FD_VALUED = new Set(["prog_array", "array_of_maps", "hash_of_maps"]);
/** A stack_trace map of build ids + offsets (uapi/linux/bpf.h). */
const BPF_F_STACK_BUILD_ID = 1 << 5;
/** Map types whose untyped 4-byte keys BpfMap reads as u32 numbers. */
const U32_INDEXED = new Set([
  "array",
  "percpu_array",
  "array_of_maps",
  "stack_trace",
]);
/** Maps without keys: values go in and come out (or are tested). */
const KEYLESS = new Set(["queue", "stack", "bloom_filter"]);

/**
 * What a key or value without `__type` holds, for a map's doc: what
 * BpfMap decodes it as (src/map.ts, #codec), else its size.
 */
function untypedDoc(m: MapInfo, role: "key" | "value"): string {
  const t = role === "key" ? m.key : m.value;
  if (t) return `\`${docText(String(t))}\``;
  const size = role === "key" ? m.keySize : m.valueSize;
  if (m.type === "stack_trace") {
    if (role === "key") return "`u32` (stack id)";
    if (size === undefined) return "stack frames";
    return (m.flags ?? 0) & BPF_F_STACK_BUILD_ID
      ? `\`struct bpf_stack_build_id[${Math.floor(size / 32)}]\` (stack frames)`
      : `\`u64[${Math.floor(size / 8)}]\` (stack frames)`;
  }
  if (role === "value" && m.type === "prog_array") return "a program (its id)";
  if (role === "value" && FD_VALUED.has(m.type)) return "a map (its id)";
  if (role === "key" && size === 4 && U32_INDEXED.has(m.type)) return "`u32`";
  return size !== undefined ? `${size} bytes` : "?";
}

/** Options of {@link generateSkeleton}. */
export interface SkeletonOptions {
  /** File name of the object, for names and comments (e.g. "execsnoop.bpf.o"). */
  readonly fileName: string;
  /**
   * Reference the object by this path, relative to the skeleton module
   * (resolved through `import.meta.url`), instead of embedding its bytes.
   */
  readonly path?: string;
  /** Module specifier of the runtime; default "tsbpf". */
  readonly importFrom?: string;
}

/** Exported names the types module declares (classes, enums, aliases). */
function exportedNames(src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(
    /^export (?:class|const|interface|type) ([A-Za-z0-9_$]+)/gm,
  )) {
    out.push(m[1]!);
  }
  for (const m of src.matchAll(/^export \{ \S+ as ([A-Za-z0-9_$]+) \};/gm)) {
    out.push(m[1]!);
  }
  return out;
}

/** C name → generated class name, from the `$def` calls (size, C name, fields). */
function classNames(src: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /^\$def\(([A-Za-z0-9_$]+), \d+, ("(?:[^"\\]|\\.)*"), \[/gm;
  for (const m of src.matchAll(re)) {
    const c = JSON.parse(m[2]!) as string;
    if (!out.has(c)) out.set(c, m[1]!);
  }
  return out;
}

/** Base64 of bytes, without relying on a runtime's Buffer. */
function base64(bytes: Uint8Array): string {
  const A = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += A[n >> 18]! + A[(n >> 12) & 63]! + A[(n >> 6) & 63]! + A[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += A[n >> 18]! + A[(n >> 12) & 63]! + "==";
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += A[n >> 18]! + A[(n >> 12) & 63]! + A[(n >> 6) & 63]! + "=";
  }
  return out;
}

/** Splits a long string literal into lines of `width` characters. */
function wrapLiteral(s: string, width = 100): string {
  if (s.length <= width) return JSON.stringify(s);
  const parts: string[] = [];
  for (let i = 0; i < s.length; i += width) {
    parts.push(JSON.stringify(s.slice(i, i + width)));
  }
  return "[\n  " + parts.join(",\n  ") + ',\n].join("")';
}

/** The structs/unions the skeleton's maps, events and globals use. */
function usedStructs(info: ObjectInfo): string[] {
  const names = new Set<string>();
  const add = (t: Parameters<typeof structName>[0]) => {
    const n = structName(t);
    if (n) names.add(n);
  };
  for (const m of info.maps) {
    if (m.event) add(m.event);
    else if (
      m.type !== "ringbuf" &&
      m.type !== "perf_event_array" &&
      m.type !== "struct_ops"
    ) {
      add(m.key);
      add(m.value);
    }
  }
  for (const g of info.globals) add(g.type);
  return [...names].sort();
}

/** The skeleton module for a BPF object's bytes. */
export function generateSkeleton(
  bytes: Uint8Array,
  options: SkeletonOptions,
): string {
  const info = describeObject(bytes, options.fileName);
  return new SkeletonWriter(info, bytes, options).run();
}

/** Map kinds as the skeleton groups them. */
function streamKind(m: MapInfo): "ring" | "perf" | undefined {
  if (m.type === "ringbuf") return "ring";
  if (m.type === "perf_event_array") return "perf";
  return undefined;
}

/** One run of the skeleton generator. */
class SkeletonWriter {
  private readonly out: string[] = [];
  private readonly classes: Map<string, string>;
  private readonly typesText: string;
  private readonly names = new NameAllocator();
  /** The global-data maps: property key and section. */
  private readonly dataMaps: { key: string; section: string }[] = [];

  constructor(
    private readonly info: ObjectInfo,
    private readonly bytes: Uint8Array,
    private readonly options: SkeletonOptions,
  ) {
    const structs = usedStructs(info);
    this.typesText = structs.length
      ? generateTypes(info.btf, {
          only: structs,
          littleEndian: info.btf.byteOrder !== "be",
          source: options.fileName,
          importFrom: options.importFrom ?? "tsbpf",
        })
      : "";
    this.classes = classNames(this.typesText);
    for (const n of exportedNames(this.typesText)) this.names.reserve(n);
    // The module's own exports.
    this.names.reserve("open");
    this.names.reserve("load");
    // As bpftool names them in a C skeleton (`skel->maps.rodata_cfg`); where
    // that is a map's name already, by the section's own name, which no C
    // identifier can be (else left out).
    const taken = new Set(info.maps.map((m) => m.name));
    for (const section of info.dataSections) {
      const ident = section.replace(/^\./, "").replace(/[^A-Za-z0-9_]/g, "_");
      const key = !taken.has(ident)
        ? ident
        : !taken.has(section)
          ? section
          : null;
      if (key === null) continue;
      taken.add(key);
      this.dataMaps.push({ key, section });
    }
  }

  private value(t: Parameters<typeof valueType>[0]): ValueType {
    return valueType(t, (c) => this.classes.get(c));
  }

  run(): string {
    const { info, options } = this;
    const base = pascalCase(info.name);
    const n = {
      maps: this.names.claim(base + "Maps"),
      programs: this.names.claim(base + "Programs"),
      globals: this.names.claim(base + "Globals"),
      loadedGlobals: this.names.claim(base + "LoadedGlobals"),
      ringBuffers: this.names.claim(base + "RingBuffers"),
      perfBuffers: this.names.claim(base + "PerfBuffers"),
      opened: this.names.claim(base + "Opened"),
      loaded: this.names.claim(base + "Loaded"),
    };
    const file = docText(options.fileName);
    const from = options.importFrom ?? "tsbpf";
    this.out.push(
      `// Generated by tsbpf-gen skeleton from ${file}. Do not edit.`,
      "/* eslint-disable */",
      `import * as $tsbpf from ${JSON.stringify(from)};`,
    );
    // The types module's header comments are replaced by ours; its import of
    // the helpers (if any) follows ours.
    const body = this.typesText.replace(
      /^(\/\/[^\n]*\n|\/\* eslint-disable \*\/\n)+\n?/,
      "",
    );
    if (!body.startsWith("import ")) this.out.push("");
    if (body.trim()) this.out.push(body.trimEnd(), "");
    this.emitSource();
    this.emitMaps(n.maps);
    this.emitPrograms(n.programs);
    this.emitGlobals(n.globals, false);
    this.emitGlobals(n.loadedGlobals, true);
    this.emitStreams(n.ringBuffers, "ring");
    this.emitStreams(n.perfBuffers, "perf");
    const params = `${n.maps}, ${n.programs}, ${n.ringBuffers}, ${n.perfBuffers}`;
    this.out.push(
      `/** \`${file}\` opened: globals, map sizes and autoload can still change; then \`load()\`. */`,
      `export type ${n.opened} = $tsbpf.OpenedSkeleton<${params}, ${n.globals}, ${n.loadedGlobals}>;`,
      "",
      `/** \`${file}\` loaded: programs can attach; .rodata globals are constant. */`,
      `export type ${n.loaded} = $tsbpf.LoadedSkeleton<${params}, ${n.loadedGlobals}>;`,
      "",
    );
    this.emitSpec();
    this.out.push(
      `/**`,
      ` * Opens \`${file}\` (nothing reaches the kernel yet): set globals, map`,
      ` * sizes and autoload, then \`load()\`.`,
      ` */`,
      `export function open(options?: $tsbpf.OpenOptions): ${n.opened} {`,
      `  return $tsbpf.openSkeleton($OBJECT, $SPEC, options) as ${n.opened};`,
      `}`,
      "",
      `/** Opens and loads \`${file}\`. */`,
      `export function load(options?: $tsbpf.OpenOptions): ${n.loaded} {`,
      `  return open(options).load();`,
      `}`,
      "",
    );
    return this.out.join("\n");
  }

  private emitSource(): void {
    const { path, fileName } = this.options;
    if (path !== undefined) {
      this.out.push(
        `/** Where \`${docText(fileName)}\` is, relative to this module. */`,
        `const $OBJECT: URL = new URL(${JSON.stringify(path)}, import.meta.url);`,
        "",
      );
    } else {
      this.out.push(
        `/** \`${docText(fileName)}\`, ${this.bytes.length} bytes, base64. */`,
        `const $OBJECT: $tsbpf.EmbeddedObject = { base64: ${wrapLiteral(base64(this.bytes))} };`,
        "",
      );
    }
  }

  private mapDoc(m: MapInfo): string {
    const c = (t: MapInfo["key"]) => (t ? docText(String(t)) : "?");
    if (
      !KEYLESS.has(m.type) &&
      (m.key === undefined || m.value === undefined)
    ) {
      const size =
        m.maxEntries !== undefined ? `, ${m.maxEntries} entries` : "";
      return `/** \`${docText(m.type)}\` map \`${docText(m.name)}\`: ${untypedDoc(m, "key")} → ${untypedDoc(m, "value")}${size}${m.perCpu ? " (one value per CPU)" : ""}. */`;
    }
    const size = m.maxEntries !== undefined ? `, ${m.maxEntries} entries` : "";
    const cpu = m.perCpu ? " (one value per CPU)" : "";
    if (KEYLESS.has(m.type))
      return `/** \`${docText(m.type)}\` map \`${docText(m.name)}\` of \`${c(m.value)}\`${size}. */`;
    return `/** \`${docText(m.type)}\` map \`${docText(m.name)}\`: \`${c(m.key)}\` → \`${c(m.value)}\`${size}${cpu}. */`;
  }

  private emitMaps(name: string): void {
    const lines = [
      `/** The maps of \`${docText(this.options.fileName)}\`, typed from their \`__type(key/value)\`. */`,
      `export interface ${name} {`,
    ];
    for (const m of this.info.maps) {
      const prop = propertyKey(m.name);
      if (m.type === "struct_ops") {
        lines.push(
          `  /** \`struct_ops\` map \`${docText(m.name)}\`: a \`${docText(String(m.value))}\` table; register it with \`attachStructOps()\` (or the skeleton's \`attach()\`). */`,
          `  readonly ${prop}: $tsbpf.BpfMap;`,
        );
        continue;
      }
      if (streamKind(m)) {
        lines.push(
          `  /** \`${docText(m.type)}\` map \`${docText(m.name)}\` (read it through the skeleton's event readers). */`,
          `  readonly ${prop}: $tsbpf.BpfMap;`,
        );
        continue;
      }
      let k = this.value(m.key);
      let v = this.value(m.value);
      // Inner maps and tail call targets go in as the object (or its fd),
      // and come back as its id.
      if (FD_VALUED.has(m.type)) {
        v = { ...v, ts: "number", input: "number | { readonly fd: number }" };
      }
      // BpfMap decodes these without BTF (src/map.ts, #codec): stack ids
      // and array indices are u32, a stack is its frames.
      if (m.type === "stack_trace") {
        v =
          (m.flags ?? 0) & BPF_F_STACK_BUILD_ID
            ? { ...v, ts: "$tsbpf.StackBuildIdFrame[]", input: "Uint8Array" }
            : {
                ...v,
                ts: "BigUint64Array",
                input: "readonly bigint[] | BigUint64Array | Uint8Array",
              };
      }
      if (m.key === undefined && U32_INDEXED.has(m.type)) {
        k = { ...k, ts: "number", input: "number" };
      }
      const type =
        m.type === "bloom_filter"
          ? `$tsbpf.SkeletonBloomFilter<${v.input}>`
          : KEYLESS.has(m.type)
            ? `$tsbpf.SkeletonQueue<${v.ts}, ${v.input}>`
            : m.perCpu
              ? `$tsbpf.PerCpuSkeletonMap<${k.ts}, ${v.ts}, ${k.input}, ${v.input}>`
              : `$tsbpf.SkeletonMap<${k.ts}, ${v.ts}, ${k.input}, ${v.input}>`;
      lines.push(`  ${this.mapDoc(m)}`, `  readonly ${prop}: ${type};`);
    }
    for (const d of this.dataMaps) {
      lines.push(
        `  /** The global-data map of \`${docText(d.section)}\` (libbpf's, one value: the section; \`globals\` reads and writes its variables by name). */`,
        `  readonly ${propertyKey(d.key)}: $tsbpf.BpfMap;`,
      );
    }
    lines.push("}", "");
    this.out.push(lines.join("\n"));
  }

  private emitPrograms(name: string): void {
    const lines = [
      `/** The programs of \`${docText(this.options.fileName)}\`. */`,
      `export interface ${name} {`,
    ];
    for (const p of this.info.programs) {
      lines.push(
        `  /** \`SEC("${docText(p.section)}")\` */`,
        `  readonly ${propertyKey(p.name)}: $tsbpf.BpfProgram;`,
      );
    }
    lines.push("}", "");
    this.out.push(lines.join("\n"));
  }

  private emitGlobals(name: string, loaded: boolean): void {
    const lines = [
      loaded
        ? `/** The global variables once loaded: live values; .rodata is constant. */`
        : `/** The global variables before load: their initial values. */`,
      `export interface ${name} {`,
    ];
    for (const g of this.info.globals) {
      let v = globalType(g.type, (c) => this.classes.get(c));
      // An array of structs reads as a fresh array of live views:
      // assigning to one of its elements would write nothing.
      if (v.length !== undefined) v = { ...v, ts: `readonly ${v.ts}` };
      // libbpf sets .kconfig externs itself (at load: read them after).
      const kconfig = g.section === ".kconfig";
      const ro = (loaded || kconfig) && g.readonly ? "readonly " : "";
      // A constant array's elements and a constant struct's fields are
      // constant too, however deeply nested (the runtime refuses their
      // writes).
      if (ro && v.ts.startsWith("$tsbpf.GlobalArray<")) {
        v = { ...v, ts: `$tsbpf.DeepReadonly<${v.ts}>` };
      } else if (ro && v.cls) {
        v = {
          ...v,
          ts:
            v.length === undefined
              ? `$tsbpf.DeepReadonly<${v.cls}>`
              : `readonly $tsbpf.DeepReadonly<${v.cls}>[]`,
        };
      }
      lines.push(
        `  /** \`${docText(String(g.type))} ${docText(g.name)}\` in ${docText(g.section)}${kconfig ? " (libbpf sets it at load)" : ""}. */`,
        // A setter taking a wider type than its getter needs accessor syntax.
        ro || v.input === v.ts
          ? `  ${ro}${propertyKey(g.name)}: ${v.ts};`
          : `  get ${propertyKey(g.name)}(): ${v.ts};\n  set ${propertyKey(g.name)}(v: ${v.input});`,
      );
    }
    lines.push("}", "");
    this.out.push(lines.join("\n"));
  }

  private emitStreams(name: string, kind: "ring" | "perf"): void {
    const reader = kind === "ring" ? "RingBuffer" : "PerfBuffer";
    const lines = [
      kind === "ring"
        ? `/** Readers of the ring buffer maps (records typed where the BTF says). */`
        : `/** Readers of the perf event array maps (records typed where the BTF says). */`,
      `export interface ${name} {`,
    ];
    for (const m of this.info.maps) {
      if (streamKind(m) !== kind) continue;
      const ev = m.event && this.value(m.event);
      const cls = ev?.cls && ev.length === undefined ? ev : undefined;
      const rec = cls ? cls.ts : "Uint8Array";
      lines.push(
        `  /** Records of \`${docText(m.name)}\`${cls ? `: \`${docText(String(m.event))}\`` : " (untyped bytes)"}. */`,
        `  readonly ${propertyKey(m.name)}: $tsbpf.${reader}<${rec}>;`,
      );
    }
    lines.push("}", "");
    this.out.push(lines.join("\n"));
  }

  private globalSpec(g: GlobalInfo): string {
    const v = this.value(g.type);
    const name = JSON.stringify(g.name);
    if (!v.cls) return name;
    return v.length === undefined
      ? `{ name: ${name}, type: ${v.cls} }`
      : `{ name: ${name}, type: ${v.cls}, length: ${v.length} }`;
  }

  private emitSpec(): void {
    const lines = [
      "/** What the runtime needs to build the skeleton. */",
      "const $SPEC: $tsbpf.SkeletonSpec = {",
      `  name: ${JSON.stringify(this.info.name)},`,
      "  maps: [",
    ];
    for (const m of this.info.maps) {
      const kind = streamKind(m);
      const fields = [`name: ${JSON.stringify(m.name)}`];
      if (m.type === "struct_ops") fields.push(`kind: "struct_ops"`);
      else if (kind) {
        fields.push(`kind: ${JSON.stringify(kind)}`);
        const ev = m.event && this.value(m.event);
        if (ev?.cls && ev.length === undefined)
          fields.push(`event: ${ev.spec}`);
      } else if (KEYLESS.has(m.type)) {
        fields.push(`value: ${this.value(m.value).spec}`, "keyless: true");
      } else {
        fields.push(
          `key: ${this.value(m.key).spec}`,
          `value: ${this.value(m.value).spec}`,
        );
        if (m.perCpu) fields.push("perCpu: true");
      }
      lines.push(`    { ${fields.join(", ")} },`);
    }
    for (const d of this.dataMaps) {
      lines.push(
        `    { name: ${JSON.stringify(d.key)}, kind: "data", section: ${JSON.stringify(d.section)} },`,
      );
    }
    lines.push(
      "  ],",
      `  programs: [${this.info.programs.map((p) => JSON.stringify(p.name)).join(", ")}],`,
      `  globals: [${this.info.globals.map((g) => this.globalSpec(g)).join(", ")}],`,
      "};",
      "",
    );
    this.out.push(lines.join("\n"));
  }
}
