/**
 * `BpfObject`: a compiled BPF object (`.bpf.o`) through libbpf.
 *
 * open → configure (autoload, map sizes and pins, globals) → `load()` →
 * attach / use → `close()`. `using obj = BpfObject.open(...)` closes it.
 * Closing destroys every link still attached and frees everything; any
 * later use of the object or what it handed out is a ClosedError. An
 * object dropped unclosed is freed once garbage-collected, unless a link
 * or reader is open on it (garbage collection never detaches).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import {
  type MappedMemory,
  type Ptr,
  addressOf,
  cstr,
  errno,
  libbpf,
  libbpfVersion,
  readCString,
  viewMemory,
} from "../ffi/mod.ts";
import {
  bpfError,
  checkPinPath,
  ftraceFunctionsDenied,
  reasonLine,
} from "./bpf_error.ts";
import { cancelRelease, releaseOnCollect } from "./gc_release.ts";
import { trackOpen, untrackOpen } from "./thread_exit.ts";
import { readFileBytes } from "./io.ts";
import { checkObjectBytes } from "./object_check.ts";
import { errnoName } from "./errno.ts";
import { Btf } from "./btf/btf.ts";
import {
  BpfError,
  BpfTypeError,
  BpfVerifierError,
  BtfError,
  ClosedError,
  NotFoundError,
  StateError,
} from "./errors.ts";
import { Globals, globalsProxy } from "./globals.ts";
import {
  type LibbpfLogHandler,
  inLibbpfLogHandler,
  libbpfWithLog,
  takeLibbpfLog,
  withLibbpfLog,
} from "./libbpf_log.ts";
import { BpfMap } from "./map.ts";
import type { StructView, ViewClass } from "./btf/views.ts";
import {
  openObjectPerfBuffer,
  openObjectRingBuffer,
  prepareRingbufMaps,
} from "./event_object.ts";
import type { PerfBuffer, PerfBufferOptions } from "./perfbuf.ts";
import type { RingBuffer, RingBufferOptions, RingRecord } from "./ringbuf.ts";
import type { ObjectOwner, OwnedLink } from "./owner.ts";
import { BpfProgram } from "./program.ts";
import { unknownSectionHint } from "./section_types.ts";
import { verifierHint } from "./verifier_hints.ts";

/** Options of {@link BpfObject.open}. */
export interface OpenOptions {
  /**
   * Object name (default: libbpf's: the file name up to its first dot; for
   * bytes, "<address>-<size>" in hex).
   */
  readonly name?: string;
  /** Directory for maps declared with LIBBPF_PIN_BY_NAME (default /sys/fs/bpf). */
  readonly pinRoot?: string;
  /** Receives this object's libbpf log lines (open, load, attach). */
  readonly logHandler?: LibbpfLogHandler;
  /** Extra CONFIG_xxx=... lines for `extern` Kconfig variables. */
  readonly kconfig?: string;
  /** BTF file to use for CO-RE relocations instead of the kernel's. */
  readonly btfCustomPath?: string;
}

// sizeof(struct bpf_object_open_opts) in libbpf 1.1 (kernel_log_level is last)
const OPEN_OPTS_SIZE = 80;
const BEGIN_LOG = "-- BEGIN PROG LOAD LOG --\n";
const END_LOG = "-- END PROG LOAD LOG --";

/** What an object owns natively, for its release if collected unclosed. */
interface ObjectParts {
  readonly ptr: Ptr;
  /** What libbpf reads from until it is closed (the ELF, option strings). */
  readonly keepAlive: unknown[];
  /** The globals' mappings of its maps. */
  readonly mapped: Map<string, MappedMemory>;
  /** Links and readers open on it (see releaseParts). */
  links: number;
}

/**
 * Frees an object collected unclosed, unless a link or reader was still
 * open on it: then it is kept (leaked) whole, its attachments with it, as
 * garbage collection never detaches.
 */
function releaseParts(parts: ObjectParts): void {
  if (parts.links > 0) return;
  for (const m of parts.mapped.values()) m.unmap();
  parts.mapped.clear();
  libbpf().bpf_object__close(parts.ptr);
  parts.keepAlive.length = 0;
}

/** A BPF object: its programs, maps and global variables. */
export class BpfObject implements ObjectOwner {
  #ptr: Ptr | null;
  readonly #parts: ObjectParts;
  #loaded = false;
  #loadAttempted = false;
  readonly #keepAlive: unknown[];
  readonly #links = new Set<OwnedLink>();
  #programs: BpfProgram[];
  #maps: BpfMap[];
  // The libbpf pointers behind #programs and #maps, in the same order: a
  // handle closed on its own is replaced by a fresh one over the same.
  readonly #programPtrs: Ptr[] = [];
  readonly #mapPtrs: Ptr[] = [];
  #btf: Btf | undefined;
  #globals: Globals | undefined;
  #globalsProxy: Record<string, unknown> | undefined;
  /** The object's name (from the file name unless given). */
  readonly name: string;
  /** This object's libbpf log handler, if one was given. */
  readonly logHandler: LibbpfLogHandler | undefined;

  private constructor(
    ptr: Ptr,
    keepAlive: unknown[],
    logHandler?: LibbpfLogHandler,
  ) {
    this.#ptr = ptr;
    this.#keepAlive = keepAlive;
    this.#parts = { ptr, keepAlive, mapped: new Map(), links: 0 };
    this.logHandler = logHandler;
    const L = libbpf();
    this.name = readCString(L.bpf_object__name(ptr));
    this.#programs = [];
    for (
      let p = L.bpf_object__next_program(ptr, null);
      p;
      p = L.bpf_object__next_program(ptr, p)
    ) {
      this.#programPtrs.push(p);
      this.#programs.push(new BpfProgram(this, p));
    }
    this.#maps = [];
    for (
      let m = L.bpf_object__next_map(ptr, null);
      m;
      m = L.bpf_object__next_map(ptr, m)
    ) {
      this.#mapPtrs.push(m);
      this.#maps.push(new BpfMap(this, m));
    }
    releaseOnCollect(this, this.#parts, releaseParts);
    trackOpen(this);
  }

  /**
   * Opens a BPF object from a file path, a `file:` URL (a file beside the
   * script: `new URL("./prog.bpf.o", import.meta.url)`) or its bytes.
   * Nothing reaches the kernel until `load()`.
   */
  static open(
    pathOrBytes: string | URL | Uint8Array,
    options: OpenOptions = {},
  ): BpfObject {
    if (pathOrBytes instanceof URL) {
      if (pathOrBytes.protocol !== "file:") {
        throw new BpfTypeError(
          `BpfObject.open takes a file: URL, got ${pathOrBytes.href}`,
          { hint: "fetch the object's bytes and pass them as a Uint8Array" },
        );
      }
      pathOrBytes = fileURLToPath(pathOrBytes);
    }
    if (
      typeof pathOrBytes !== "string" &&
      !(pathOrBytes instanceof Uint8Array)
    ) {
      throw new BpfTypeError(
        `BpfObject.open takes a path, a file: URL or the bytes (Uint8Array) of a .bpf.o, got ${pathOrBytes === null ? "null" : typeof pathOrBytes}`,
      );
    }
    options ??= {};
    if (
      options.logHandler !== undefined &&
      typeof options.logHandler !== "function"
    ) {
      throw new BpfTypeError(
        `BpfObject.open: logHandler must be a function (level, message), got ${typeof options.logHandler}`,
      );
    }
    for (const key of [
      "name",
      "pinRoot",
      "kconfig",
      "btfCustomPath",
    ] as const) {
      const x = options[key];
      if (x !== undefined && typeof x !== "string") {
        throw new BpfTypeError(
          `BpfObject.open: ${key} must be a string, got ${typeof x}`,
        );
      }
    }
    const L = libbpfWithLog();
    const source =
      typeof pathOrBytes === "string" ? pathOrBytes : "BPF object bytes";
    // libbpf opens what was checked: the file read once, not again by
    // bpf_object__open_file (a file replaced in between could reach
    // libbpf unchecked, and libbpf 1.1 crashes on some bad BTF).
    let bytes: Uint8Array;
    let name = options.name;
    if (typeof pathOrBytes === "string") {
      if (!existsSync(pathOrBytes)) {
        throw bpfError(
          "bpf_object__open_file",
          2,
          { kind: "other" },
          {
            detail: `no such file ${pathOrBytes}`,
          },
        );
      }
      bytes = readFileBytes(pathOrBytes);
      checkObjectBytes(bytes, pathOrBytes);
      name ??= objectNameOf(pathOrBytes);
    } else {
      checkObjectBytes(pathOrBytes, source);
      // libbpf reads the ELF from this memory: our own copy, kept alive.
      bytes = pathOrBytes.slice();
    }
    const keep: unknown[] = [];
    const opts = new Uint8Array(OPEN_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    v.setBigUint64(0, BigInt(OPEN_OPTS_SIZE), true);
    const str = (off: number, s: string | undefined) => {
      if (s === undefined) return;
      const b = cstr(s);
      keep.push(b);
      v.setBigUint64(off, addressOf(b), true);
    };
    str(8, name);
    str(24, options.pinRoot);
    str(40, options.kconfig);
    str(48, options.btfCustomPath);
    // libbpf reads the ELF from this memory until load: keep it alive.
    keep.push(bytes);
    const ptr = withLibbpfLog(options.logHandler, () =>
      L.bpf_object__open_mem(bytes, bytes.length, opts),
    );
    if (ptr === null) throw openError(errno(), source);
    return new BpfObject(ptr, keep, options.logHandler);
  }

  // --- ObjectOwner -------------------------------------------------------

  /** @internal The `struct bpf_object *`; ClosedError after close. */
  handle(what: string): Ptr {
    if (this.#ptr === null) {
      throw new ClosedError(`${what}: object '${this.name}' is closed`);
    }
    return this.#ptr;
  }

  /** @internal */
  adoptLink(link: OwnedLink): void {
    this.#links.add(link);
    this.#parts.links = this.#links.size;
  }

  /** @internal */
  releaseLink(link: OwnedLink): void {
    this.#links.delete(link);
    this.#parts.links = this.#links.size;
  }

  /** @internal */
  releaseGlobalsMapping(name: string): void {
    this.#globals?.releaseMapping(name);
  }

  // --- state ---------------------------------------------------------------

  /** True once `load()` succeeded. */
  get loaded(): boolean {
    return this.#loaded;
  }

  /** True when `load()` was attempted and failed: open the object again. */
  get loadFailed(): boolean {
    return this.#loadAttempted && !this.#loaded;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#ptr === null;
  }

  /** Every program, in ELF order. */
  get programs(): readonly BpfProgram[] {
    this.handle("programs");
    return this.#openPrograms();
  }

  /** Every map, including the global-data maps (`<obj>.bss`, ...). */
  get maps(): readonly BpfMap[] {
    this.handle("maps");
    return this.#openMaps();
  }

  // A handle closed on its own is replaced: the program or map lives on
  // (and load, globals and ring buffer set-up go through every one).
  #openPrograms(): BpfProgram[] {
    const list = this.#programs;
    for (let i = 0; i < list.length; i++) {
      if (list[i]!.closed)
        list[i] = new BpfProgram(this, this.#programPtrs[i]!);
    }
    return list;
  }

  #openMaps(): BpfMap[] {
    const list = this.#maps;
    for (let i = 0; i < list.length; i++) {
      if (list[i]!.closed) list[i] = new BpfMap(this, this.#mapPtrs[i]!);
    }
    return list;
  }

  /** The program named `name` (its C function name). */
  program(name: string): BpfProgram {
    this.handle(`program('${name}')`);
    const programs = this.#openPrograms();
    const p = programs.find((x) => x.name === name);
    if (!p) {
      throw new NotFoundError(
        "program",
        name,
        programs.map((x) => x.name),
      );
    }
    return p;
  }

  /**
   * The map named `name`. Keys and values are checked and decoded by the
   * map's BTF at run time; `K` and `V` only say what the caller expects
   * (`obj.map<number, bigint>("counts")`), unchecked, as in
   * `querySelector<T>`. A skeleton (`tsbpf-gen skeleton`) types them from
   * the BTF instead.
   */
  map<K = unknown, V = unknown>(name: string): BpfMap<K, V> {
    this.handle(`map('${name}')`);
    const maps = this.#openMaps();
    const m = maps.find((x) => x.name === name);
    if (!m) {
      throw new NotFoundError(
        "map",
        name,
        maps.map((x) => x.name),
      );
    }
    return m as BpfMap<K, V>;
  }

  /**
   * The object's BTF, as libbpf fixed it up at open (DATASEC offsets and
   * sizes filled in). Parsed on first use.
   */
  get btf(): Btf {
    const ptr = this.handle("btf");
    if (this.#btf) return this.#btf;
    const L = libbpf();
    const btf = L.bpf_object__btf(ptr);
    if (btf === null) {
      throw new BtfError(`object '${this.name}' has no BTF`, {
        hint: "compile the BPF program with -g (clang -g -O2 -target bpf ...)",
      });
    }
    const size = new Uint8Array(4);
    const raw = L.btf__raw_data(btf, size);
    if (raw === null) throw bpfError("btf__raw_data", errno());
    const len = new DataView(size.buffer).getUint32(0, true);
    // A copy: libbpf's buffer dies with the object, the Btf may outlive it.
    this.#btf = Btf.fromBytes(viewMemory(raw, len).slice(), {
      source: `${this.name} (libbpf)`,
    });
    return this.#btf;
  }

  /**
   * Global variables by name: `obj.globals.counter`. Before load they are
   * the initial values; after load, the live kernel values.
   */
  get globals(): Record<string, unknown> {
    this.handle("globals");
    if (!this.#globalsProxy) {
      this.#globals = new Globals(this, this.#parts.mapped);
      this.#globalsProxy = globalsProxy(this.#globals);
    }
    return this.#globalsProxy;
  }

  /** The globals' descriptions and typed accessors (`describe`, `names`). */
  get globalVariables(): Globals {
    this.globals;
    return this.#globals!;
  }

  /**
   * Creates the maps and loads the programs into the kernel. A rejected
   * program gives a BpfVerifierError whose `verifierLog` is complete.
   * Can be attempted once per open (a libbpf rule).
   */
  load(): void {
    const ptr = this.handle("load");
    if (this.#loaded)
      throw new StateError(`object '${this.name}' is already loaded`);
    if (this.#loadAttempted) {
      throw new StateError(
        `object '${this.name}': load can be attempted once; open it again`,
      );
    }
    // Before libbpf, which creates a pin path's parent directories and only
    // then finds it off bpffs (and allows one load attempt).
    for (const m of this.#openMaps()) {
      const path = m.pinPath;
      if (path !== null) checkPinPath("bpf_object__load", path, m.name);
    }
    this.#loadAttempted = true;
    const L = libbpf();
    prepareRingbufMaps(this);
    // libbpf retries a failed program load with its own log buffer, growing
    // it on ENOSPC, and prints the whole verifier log at WARN between
    // BEGIN/END PROG LOAD LOG markers (libbpf.c bpf_object_load_prog): so the
    // log we capture is complete.
    const err = withLibbpfLog(this.logHandler, () => L.bpf_object__load(ptr));
    if (err < 0) throw loadError(err, this.name, this.#programs);
    this.#loaded = true;
  }

  /**
   * A reader of ring buffer map(s) `names` (after load). Records decode to
   * `struct` views; without one, to the map's `__type(value, ...)` struct
   * when it declares one, else to bytes. Closed with the object.
   */
  ringBuffer<V extends StructView>(
    names: string | readonly string[],
    struct: ViewClass<V>,
    options?: RingBufferOptions,
  ): RingBuffer<V>;
  ringBuffer(
    names: string | readonly string[],
    struct?: null,
    options?: RingBufferOptions,
  ): RingBuffer<RingRecord>;
  ringBuffer(
    names: string | readonly string[],
    struct?: ViewClass | null,
    options?: RingBufferOptions,
  ): RingBuffer<unknown> {
    return openObjectRingBuffer(this, names, struct, options);
  }

  /** A reader of perf_event_array map `name` (after load); closed with the object. */
  perfBuffer<V extends StructView>(
    name: string,
    struct: ViewClass<V>,
    options?: PerfBufferOptions,
  ): PerfBuffer<V>;
  perfBuffer(
    name: string,
    struct?: null,
    options?: PerfBufferOptions,
  ): PerfBuffer<Uint8Array>;
  perfBuffer(
    name: string,
    struct?: ViewClass | null,
    options?: PerfBufferOptions,
  ): PerfBuffer<unknown> {
    return openObjectPerfBuffer(this, name, struct, options);
  }

  /**
   * Destroys every link still attached (pinned ones stay in the kernel),
   * unmaps globals and frees the object; idempotent. Called from a libbpf
   * log handler (libbpf is then mid-call on the object), or from a getter
   * of a value being written to a global, it is deferred to a microtask:
   * the object closes once the code running that call has returned (until
   * then `closed` is still false).
   */
  close(): void {
    const ptr = this.#ptr;
    if (ptr === null) return;
    // From a log handler, libbpf is mid-call on this object; from a global's
    // write, the value is being encoded into the object's memory. Freeing
    // it now would pull that memory from under them: close once done.
    if (inLibbpfLogHandler() || this.#globals?.writing) {
      queueMicrotask(() => this.close());
      return;
    }
    for (const link of [...this.#links]) {
      try {
        link.close();
      } catch {
        // keep closing the rest
      }
    }
    this.#links.clear();
    this.#globals?.release();
    cancelRelease(this.#parts);
    untrackOpen(this);
    this.#ptr = null;
    libbpf().bpf_object__close(ptr);
    this.#keepAlive.length = 0;
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The name libbpf gives an object opened from `path` (bpf_object__new):
 * the file name up to its first dot. Given as object_name, it is used
 * as is (libbpf then cuts nothing).
 */
function objectNameOf(path: string): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const dot = base.indexOf(".");
  return dot < 0 ? base : base.slice(0, dot);
}

function openError(e: number, source: string): BpfError {
  const log = takeLibbpfLog();
  const last = reasonLine(log);
  // libbpf's own reason (e.g. "elf: ... is not a BPF object") says most.
  return bpfError(
    "bpf_object__open",
    e,
    { kind: "other" },
    {
      log,
      detail: `cannot open ${source}${last ? ` (${last})` : ""}`,
    },
  );
}

/** What a refused trampoline's hint adds when ftrace is closed to root here. */
function trampolineNote(): string {
  return ftraceFunctionsDenied()
    ? ". Reading /sys/kernel/tracing/available_filter_functions is refused (EPERM) here too, a sign that this kernel closes the ftrace function hooking that trampolines use"
    : "";
}

function loadError(
  errCode: number,
  objName: string,
  programs: readonly BpfProgram[],
): BpfError {
  const log = takeLibbpfLog();
  const start = log.indexOf(BEGIN_LOG);
  if (start < 0) {
    const last = reasonLine(log);
    const failed = /prog '([^']+)': BPF program load failed/.exec(log)?.[1];
    const section = programs.find((p) => p.name === failed)?.sectionName ?? "";
    const e = Math.abs(errCode);
    // The kernel refuses an fentry/fexit/lsm trampoline before the verifier
    // logs anything (e.g. EPERM under kernel lockdown, or without ftrace
    // direct calls), so there is no log to show: say what it needs.
    // A map's pin path (pinPath, pinRoot or LIBBPF_PIN_BY_NAME) off bpffs.
    const offBpffs = /path (\S+) is not on BPF FS/.exec(log)?.[1];
    // libbpf: "failed to find valid kernel BTF" (-ESRCH).
    const noKernelBtf =
      e === 3 &&
      (/kernel BTF/.test(log) || !existsSync("/sys/kernel/btf/vmlinux"));
    // libbpf: "prog 'x': missing BPF prog type, check ELF section name 'y'".
    const untyped =
      /prog '([^']+)': missing BPF prog type, check ELF section name '([^']*)'/.exec(
        log,
      );
    // libbpf: "couldn't reuse pinned map at '%s': parameter mismatch".
    const otherPinned =
      /couldn't reuse pinned map at '([^']+)': parameter mismatch/.exec(
        log,
      )?.[1];
    const hint = untyped
      ? unknownSectionHint(untyped[2]!, untyped[1]!, libbpfVersion())
      : offBpffs
        ? `${offBpffs} is not on a bpf filesystem: mount -t bpf bpf /sys/fs/bpf, or pin under a bpffs mount (map pinPath, or the pinRoot open option)`
        : otherPinned
          ? `the map pinned at ${otherPinned} differs from the object's (type, key or value size, maxEntries, flags or inner map): unpin it (rm ${otherPinned}) to have load() create and pin a new one, or give this map another pinPath`
          : noKernelBtf
            ? "the object needs the kernel's BTF (CO-RE relocations or BTF-typed programs) and there is no /sys/kernel/btf/vmlinux: use a kernel built with CONFIG_DEBUG_INFO_BTF=y, or give a BTF file with the btfCustomPath open option"
            : /^(fentry|fexit|fmod_ret)(\.s)?\//.test(section) &&
                (e === 1 || e === 95 || e === 524)
              ? `fentry/fexit/fmod_ret programs need an ftrace trampoline on their target (CONFIG_FUNCTION_TRACER, CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS) and a kernel that allows it: it refused (${errnoName(e)}) before verifying (kernel lockdown, or ftrace disabled). Use a tracepoint, tp_btf or raw_tp program instead${trampolineNote()}`
              : /^lsm(_cgroup)?(\.s)?\//.test(section) &&
                  (e === 1 || e === 95 || e === 524)
                ? `lsm programs run from a BPF trampoline on their LSM hook, as fentry does: they need CONFIG_BPF_LSM with "bpf" among the active LSMs (the lsm= boot parameter), CONFIG_DYNAMIC_FTRACE_WITH_DIRECT_CALLS, and a kernel that allows trampolines; this one refused (${errnoName(e)}) before verifying (kernel lockdown, or trampolines disabled)${trampolineNote()}`
                : undefined;
    return bpfError(
      "bpf_object__load",
      errCode,
      { kind: "other" },
      {
        log,
        hint,
        detail: `cannot load '${objName}'${last ? ` (${last})` : ""}`,
      },
    );
  }
  const end = log.indexOf(END_LOG, start);
  const verifierLog = log.slice(
    start + BEGIN_LOG.length,
    end < 0 ? undefined : end,
  );
  const prog = /prog '([^']+)': -- BEGIN PROG LOAD LOG/.exec(log)?.[1] ?? "?";
  // The verifier states its reason on the last line before the summary.
  const lines = verifierLog.split("\n").filter(Boolean);
  const summary = lines.findIndex((l) => l.startsWith("processed "));
  const known = verifierHint(verifierLog);
  const reason =
    known?.reason ?? lines[(summary < 0 ? lines.length : summary) - 1] ?? "";
  const e = Math.abs(errCode);
  return new BpfVerifierError(
    "bpf_object__load",
    e,
    errnoName(e),
    `the verifier rejected program '${prog}' of '${objName}': ${reason}`,
    {
      hint: `${known ? `${known.hint}; ` : ""}error.verifierLog holds the complete verifier output`,
      libbpfLog: log,
      verifierLog,
      program: prog === "?" ? undefined : prog,
    },
  );
}
