/**
 * tsbpf: eBPF for TypeScript on Bun and Deno.
 *
 * Load a compiled `.bpf.o`, attach its programs, read its maps and event
 * streams with types from the object's own BTF.
 *
 * @module
 */
export * from "./src/errors.ts";
export * from "./src/btf/types.ts";
export {
  type AnyStructView,
  isStructClass,
  isStructView,
  isViewClass,
  type StructClass,
  structClass,
  type StructView,
  type ViewClass,
  type ViewField,
  type ViewOptions,
} from "./src/btf/views.ts";
export { ArrayView, type EnumMap } from "./src/btf/cells.ts";
export {
  defineLayout,
  layout,
  type LayoutField,
  type LayoutOptions,
  type LayoutSpec,
  layoutType,
} from "./src/btf/layout.ts";
export { layoutMismatches, validateLayout } from "./src/btf/validate.ts";
export { type Codec, codecForLayout, codecForType } from "./src/btf/codec.ts";
export {
  Btf,
  type BtfOptions,
  KERNEL_BTF_DIR,
  type TypeOfKind,
} from "./src/btf/btf.ts";
export { StringTable } from "./src/btf/strings.ts";
export { ElfFile } from "./src/elf/file.ts";
export { isElf, readElf } from "./src/elf/reader.ts";
export * from "./src/elf/types.ts";
export { readFileBytes } from "./src/io.ts";
export { BpfObject, type OpenOptions } from "./src/object.ts";
export {
  BpfProgram,
  type CgroupIterOrder,
  type IterOptions,
  type NetfilterHook,
  type NetfilterOptions,
  type ProgramType,
  type TestRunOptions,
  type TcAttachOptions,
  type TcxOptions,
  type TestRunResult,
  type UprobeOptions,
  type UsdtOptions,
  type XdpOptions,
} from "./src/program.ts";
export { BpfLink } from "./src/link.ts";
export { closeAll } from "./src/thread_exit.ts";
export { KernelSymbols, type ResolvedAddress } from "./src/ksyms.ts";
export { ProcessSymbols, type ResolvedUserAddress } from "./src/usyms.ts";
export { CodeSymbols, type CodeSymbol } from "./src/elf/code_symbols.ts";
export {
  TracePipe,
  type TracePipeOptions,
  tracePipe,
} from "./src/trace_pipe.ts";
export { parseTraceLine, type TraceLine } from "./src/trace_line.ts";
export {
  type StopOnSignal,
  type StopSignal,
  type StopSignalOptions,
  stopSignal,
} from "./src/stop_signal.ts";
export type {
  AttachType,
  CgroupLinkInfo,
  DeviceLinkInfo,
  IterLinkInfo,
  KprobeLinkInfo,
  KprobeMultiLinkInfo,
  LinkInfo,
  LinkType,
  NetfilterLinkInfo,
  NetnsLinkInfo,
  OtherLinkInfo,
  PerfEventLinkInfo,
  PerfEventLinkInfoEvent,
  PerfUnspecLinkInfo,
  RawTracepointLinkInfo,
  SockmapLinkInfo,
  StructOpsLinkInfo,
  TracepointLinkInfo,
  TracingLinkInfo,
  UprobeLinkInfo,
  UprobeMultiLinkInfo,
  XdpLinkInfo,
} from "./src/link_info.ts";
export {
  type ProgramInfo,
  RunStats,
  enableRunStats,
} from "./src/program_info.ts";
export type { PerfEventOptions } from "./src/perf_event.ts";
export { onlineCpus, parseCpuList } from "./src/cpus.ts";
export {
  BpfMap,
  type CreateOptions,
  type DrainOptions,
  type IterateOptions,
  type MapTypes,
  type ValueOfSpec,
  type Writable,
  possibleCpus,
} from "./src/map.ts";
export {
  BPF_ANY,
  BPF_EXIST,
  BPF_F_LOCK,
  BPF_NOEXIST,
  MAP_FLAGS,
  type KnownMapType,
  type LookupFlags,
  type LookupOptions,
  type MapType,
  type UpdateFlags,
  type UpdateOptions,
} from "./src/map_types.ts";
export type { MapInfo } from "./src/map_create.ts";
export type { StackBuildIdFrame, TypeSpec } from "./src/map_codecs.ts";
export { Globals, type GlobalVariable } from "./src/globals.ts";
export {
  type Detached,
  type EventsOptions,
  type RawRecordCallback,
  type RecordCallback,
  RingBuffer,
  type RingBufferOptions,
  type RingMap,
  type RingRecord,
  type RingSource,
  type ShortRecords,
} from "./src/ringbuf.ts";
export {
  type PerfCallback,
  PerfBuffer,
  type PerfBufferOptions,
} from "./src/perfbuf.ts";
export { type TcDirection, type TcOptions } from "./src/tc.ts";
export {
  type LibbpfLogHandler,
  type LibbpfLogLevel,
  setLibbpfLogHandler,
} from "./src/libbpf_log.ts";
export { Errno, errnoMessage, errnoName } from "./src/errno.ts";
export {
  type DeepReadonly,
  type EmbeddedObject,
  type GlobalArray,
  type LoadedSkeleton,
  type OpenedSkeleton,
  openSkeleton,
  type PerCpuSkeletonMap,
  type ReadonlyArrayView,
  type RecordArraySpec,
  type RecordClass,
  type SkeletonAttachOptions,
  type SkeletonBase,
  type SkeletonBloomFilter,
  type SkeletonMap,
  type SkeletonMapSpec,
  type SkeletonQueue,
  type SkeletonLinks,
  type SkeletonSpec,
  type SkippedProgram,
  type ValueSpec,
} from "./src/skeleton.ts";
/**
 * What generated struct classes run on (`$Struct`, `$def`, `$install`,
 * `$ArrayView`, `$Plain`, ...): skeletons and `tsbpf-gen types --import`
 * import these instead of inlining them. Every name starts with `$`, which
 * generated names never do.
 */
export * from "./src/generated/struct_runtime.ts";
