/**
 * `BpfProgram`: one program of a `BpfObject`. Before load: `autoload`.
 * After load: `fd`, the `attach*()` family (each returns a `BpfLink` the
 * object keeps alive), `testRun()`, `pin()`/`unpin()`.
 */
import { existsSync } from "node:fs";
import {
  type Ptr,
  addressOf,
  cstr,
  errno,
  libbpf,
  libc,
  readCString,
} from "../ffi/mod.ts";
import {
  type FailContext,
  bpfError,
  checkPinPath,
  kprobesAvailable,
} from "./bpf_error.ts";
import { BpfTypeError, ClosedError, StateError } from "./errors.ts";
import { clearLibbpfLog, withLibbpfLog } from "./libbpf_log.ts";
import {
  BpfLink,
  type LinkBackend,
  fdLinkBackend,
  libbpfLinkBackend,
  usdtLinkBackend,
} from "./link.ts";
import { describeValue } from "./map_codecs.ts";
import { type ObjectOwner, notLoadedReason } from "./owner.ts";
import { type PerfEventOptions, openPerfEvent } from "./perf_event.ts";
import {
  type TcDirection,
  type TcOptions,
  attachTc,
  checkTcOptions,
  ifindexOf,
  unknownIfindexHint,
} from "./tc.ts";
import { type IterOptions, iterLinkInfo, iterTargetOption } from "./iter.ts";
import {
  type NetfilterOptions,
  checkNetfilterOptions,
  createNetfilterLink,
} from "./netfilter.ts";
import { objectInfo } from "./obj_info.ts";
import { checkPinOf } from "./pin_owner.ts";
import { type ProgramInfo, programInfo } from "./program_info.ts";
import {
  BPF_TCX_EGRESS,
  BPF_TCX_INGRESS,
  typeNewerSection,
} from "./section_types.ts";
import { SOCKMAP_ATTACH_TYPES, attachToSockmap } from "./sockmap.ts";
import {
  goneProcessHint,
  missingBinaryHint,
  notElfHint,
  resolveFunction,
} from "./uprobe_target.ts";
import { type ProgramType, programTypeName } from "./program_types.ts";

export type { ProgramType };
export type { CgroupIterOrder, IterOptions } from "./iter.ts";
export type { NetfilterHook, NetfilterOptions } from "./netfilter.ts";

// errno (asm-generic/errno-base.h)
const ENOENT = 2;
const ESRCH = 3;
const EBUSY = 16;
const EEXIST = 17;
const EBADF = 9;
const E2BIG = 7;
const EOPNOTSUPP = 95;
const ENODEV = 19;
// enum bpf_attach_type BPF_XDP (uapi/linux/bpf.h)
const BPF_XDP = 37;
// BPF_F_BEFORE, BPF_F_AFTER (uapi/linux/bpf.h)
const BPF_F_BEFORE = 1 << 3;
const BPF_F_AFTER = 1 << 4;
// XDP_FLAGS_* (uapi/linux/if_link.h)
const XDP_MODE = { skb: 2, drv: 4, hw: 8 } as const;
// sizeof(struct bpf_link_create_opts) in libbpf 1.1
const LINK_CREATE_OPTS_SIZE = 64;
// sizeof(struct bpf_uprobe_opts) in libbpf 1.1
const UPROBE_OPTS_SIZE = 40;
// sizeof(struct bpf_usdt_opts) in libbpf 1.1: sz, usdt_cookie
const USDT_OPTS_SIZE = 16;
// sizeof(struct bpf_iter_attach_opts): sz, link_info, link_info_len
const ITER_ATTACH_OPTS_SIZE = 24;
// sizeof(struct bpf_test_run_opts) in libbpf 1.1
const TEST_RUN_OPTS_SIZE = 80;
const O_RDONLY_DIRECTORY = 0o200000;

/**
 * SEC("u[ret]probe[.s]/binary:function[+offset]"): libbpf's format, whose
 * binary has no ":", with "@" allowed in the function for a version.
 */
const UPROBE_SECTION =
  /^u(ret)?probe(?:\.s)?\/([^:]+):([A-Za-z0-9_.@]+)(?:\+(0x[0-9a-fA-F]+|[1-9][0-9]*|0))?$/;

/** Options of {@link BpfProgram.attachUprobe}. */
export interface UprobeOptions {
  /** Executable or library, absolute or a soname libbpf resolves ("libc.so.6"). */
  readonly binaryPath: string;
  /**
   * Function to probe, from the binary's `.symtab` or `.dynsym`: a name
   * (`"malloc"`; of a versioned one, its default version `realpath@@GLIBC_2.3`)
   * or a name with its version (`"realpath@GLIBC_2.2.5"`, as `nm -D` prints
   * it). An IFUNC (e.g. libc's `strlen`, `memcpy`) is refused: it is the
   * resolver, run once at load; probe the implementation it picks instead.
   */
  readonly symbol?: string;
  /** Byte offset in the file (added to the symbol's when both are given). */
  readonly offset?: number;
  /** Process to probe: -1 = every process (default), 0 = this one. */
  readonly pid?: number;
  /** Probe the function's return instead of its entry. */
  readonly retprobe?: boolean;
  /** bpf_get_attach_cookie() value. */
  readonly cookie?: bigint;
}

/** Options of {@link BpfProgram.attachUsdt}. */
export interface UsdtOptions {
  /** Executable or library with the probe, absolute or a soname libbpf resolves. */
  readonly binaryPath: string;
  /** The probe's provider, e.g. "python" in python:function__entry. */
  readonly provider: string;
  /** The probe's name, e.g. "function__entry". */
  readonly name: string;
  /** Process to probe: -1 = every process (default), 0 = this one. */
  readonly pid?: number;
  /** bpf_usdt_cookie() value. */
  readonly cookie?: bigint;
}

/** An attach cookie: a u64 bigint (default 0n), else BpfTypeError. */
function u64Cookie(method: string, cookie: unknown): bigint {
  if (cookie === undefined) return 0n;
  if (typeof cookie !== "bigint" || BigInt.asUintN(64, cookie) !== cookie) {
    throw new BpfTypeError(
      `${method}: cookie must be a u64 bigint, got ${describeValue(cookie)}`,
    );
  }
  return cookie;
}

/** Options of {@link BpfProgram.attachTc} in its one-object form. */
export interface TcAttachOptions extends TcOptions {
  /** The hook; default from SEC("tc/ingress") / SEC("tc/egress"). */
  readonly direction?: TcDirection;
}

/** Options of {@link BpfProgram.attachTcx}. */
export interface TcxOptions {
  /** The hook; default from SEC("tcx/ingress") / SEC("tcx/egress"). */
  readonly direction?: TcDirection;
  /** "first": before the programs attached so far; "last" (default): after them. */
  readonly order?: "first" | "last";
}

/** Options of {@link BpfProgram.attachXdp}. */
export interface XdpOptions {
  /** Raw XDP_FLAGS_* bits. */
  readonly flags?: number;
  /** Attach mode: generic (skb), driver (drv) or offloaded (hw). */
  readonly mode?: "skb" | "drv" | "hw";
}

/** Input of {@link BpfProgram.testRun}. */
export interface TestRunOptions {
  /** Packet / input data (packet programs: xdp, tc, socket filters...). */
  readonly data?: Uint8Array;
  /**
   * Context bytes: `struct xdp_md` / `struct __sk_buff` for packet programs,
   * the u64 arguments for raw_tp, the program's own struct for syscall.
   */
  readonly ctx?: Uint8Array;
  /** Run this many times (duration is the average). Packet programs only. */
  readonly repeat?: number;
  /** Capacity of the output data buffer; default data.length + 256. */
  readonly dataSizeOut?: number;
  /** BPF_F_TEST_* flags. */
  readonly flags?: number;
  /** raw_tp: run on this CPU (sets BPF_F_TEST_RUN_ON_CPU). */
  readonly cpu?: number;
}

/** Output of {@link BpfProgram.testRun}. */
export interface TestRunResult {
  /** The program's return value. */
  readonly retval: number;
  /** Average run time, ns (0 for syscall and raw_tp programs: not measured). */
  readonly duration: number;
  /**
   * Output data: the packet after the program (flow_dissector: the
   * `struct bpf_flow_keys` it filled in); empty when there is none.
   */
  readonly data: Uint8Array;
  /** Output context, when `ctx` was given (syscall: the struct as the program left it). */
  readonly ctx?: Uint8Array;
}

// BPF_F_TEST_RUN_ON_CPU (uapi/linux/bpf.h)
const BPF_F_TEST_RUN_ON_CPU = 1;

/**
 * What BPF_PROG_TEST_RUN takes per program type (net/bpf/test_run.c):
 * syscall takes ctx_in only (no data, ctx_out, repeat or flags) and copies
 * the context back into ctx_in; raw_tp takes ctx_in (the u64 args) plus
 * BPF_F_TEST_RUN_ON_CPU/cpu, and rejects data, ctx_out and a repeat; the
 * packet types take everything.
 */
type TestRunShape = "syscall" | "raw_tp" | "packet";

function testRunShape(type: ProgramType): TestRunShape {
  if (type === "syscall") return "syscall";
  if (type === "raw_tracepoint" || type === "raw_tracepoint_writable")
    return "raw_tp";
  return "packet";
}

/**
 * Where each program is pinned, by object and program pointer: one state
 * for every handle of a program (a handle closed on its own is replaced by
 * a new one over the same program, see BpfObject).
 */
const programPins = new WeakMap<ObjectOwner, Map<Ptr, string>>();

/** A program of a `BpfObject`. */
export class BpfProgram {
  readonly #owner: ObjectOwner;
  readonly #ptr: Ptr;
  #closed = false;
  /** Function name in the C source. */
  readonly name: string;
  /** ELF section, e.g. `tp/syscalls/sys_enter_getpid`. */
  readonly sectionName: string;

  /** @internal Made by `BpfObject`. */
  constructor(owner: ObjectOwner, ptr: Ptr) {
    this.#owner = owner;
    this.#ptr = ptr;
    const L = libbpf();
    this.name = readCString(L.bpf_program__name(ptr));
    this.sectionName = readCString(L.bpf_program__section_name(ptr));
    if (!owner.loaded) typeNewerSection(ptr, this.sectionName);
  }

  /** The `struct bpf_program *`, checked: ClosedError after close. */
  #handle(what: string): Ptr {
    if (this.#closed) {
      throw new ClosedError(`${what}: program '${this.name}' handle is closed`);
    }
    this.#owner.handle(`${what} (program '${this.name}')`);
    return this.#ptr;
  }

  #loadedHandle(what: string): Ptr {
    const p = this.#handle(what);
    if (!this.#owner.loaded) {
      throw new StateError(
        `${what}: program '${this.name}': ${notLoadedReason(this.#owner)}`,
      );
    }
    if (libbpf().bpf_program__fd(p) < 0) {
      throw new StateError(
        `${what}: program '${this.name}' was not loaded (autoload was off at load())`,
      );
    }
    return p;
  }

  get #pinned(): string | null {
    return programPins.get(this.#owner)?.get(this.#ptr) ?? null;
  }

  set #pinned(path: string | null) {
    let pins = programPins.get(this.#owner);
    if (!pins) programPins.set(this.#owner, (pins = new Map()));
    if (path === null) pins.delete(this.#ptr);
    else pins.set(this.#ptr, path);
  }

  /** True once this handle or its object is closed. */
  get closed(): boolean {
    return this.#closed || this.#owner.closed;
  }

  /** Program type, e.g. "xdp", "tracepoint", "kprobe", "tracing". */
  get type(): ProgramType {
    return programTypeName(libbpf().bpf_program__type(this.#handle("type")));
  }

  /** Whether `load()` loads this program (set before load). */
  get autoload(): boolean {
    return libbpf().bpf_program__autoload(this.#handle("autoload"));
  }
  set autoload(on: boolean) {
    const p = this.#handle("autoload");
    if (typeof on !== "boolean") {
      throw new BpfTypeError(
        `autoload of '${this.name}' is true or false, got ${typeof on}`,
      );
    }
    if (this.#owner.loaded) {
      throw new StateError(
        `autoload of '${this.name}' can only change before load()`,
      );
    }
    if (this.#owner.loadFailed) {
      throw new StateError(
        `autoload of '${this.name}': ${notLoadedReason(this.#owner)}`,
      );
    }
    const err = libbpf().bpf_program__set_autoload(p, on);
    if (err < 0) throw bpfError("bpf_program__set_autoload", err);
  }

  /**
   * Whether a skeleton's `attach()` attaches this program (default true;
   * libbpf's autoattach, which bpf_object__attach_skeleton honours). Off,
   * the program still loads, to be attached by hand.
   */
  get autoattach(): boolean {
    return libbpf().bpf_program__autoattach(this.#handle("autoattach"));
  }
  set autoattach(on: boolean) {
    const p = this.#handle("autoattach");
    if (typeof on !== "boolean") {
      throw new BpfTypeError(
        `autoattach of '${this.name}' is true or false, got ${typeof on}`,
      );
    }
    libbpf().bpf_program__set_autoattach(p, on);
  }

  /**
   * The kernel's id of the loaded program (`bpftool prog show id N`; what
   * a prog_array lookup returns).
   */
  get id(): number {
    // struct bpf_prog_info starts with type, id: the kernel copies as much
    // of it as we give room for.
    const info = objectInfo(this.fd, new Uint8Array(8));
    return new DataView(info.buffer).getUint32(4, true);
  }

  /**
   * What the kernel reports about the loaded program: id, tag, map ids,
   * sizes, and run statistics (counted while `enableRunStats()` is on).
   */
  info(): ProgramInfo {
    return programInfo(this.fd);
  }

  /** The program fd (after load; owned by the object: do not close). */
  get fd(): number {
    // #loadedHandle refuses a program left out of load (no fd).
    return libbpf().bpf_program__fd(this.#loadedHandle("fd"));
  }

  #link(
    op: string,
    description: string,
    ctx: FailContext,
    call: (L: ReturnType<typeof libbpf>, p: Ptr) => Ptr | null,
    hint?: (errno: number) => string | undefined,
    backend: (link: Ptr) => LinkBackend = libbpfLinkBackend,
  ): BpfLink {
    const p = this.#loadedHandle(op);
    const L = libbpf();
    const link = withLibbpfLog(this.#owner.logHandler, () => call(L, p));
    if (link === null) {
      const e = errno();
      throw bpfError(op, e, ctx, {
        detail: `program '${this.name}' (${description})`,
        hint: hint?.(Math.abs(e)),
      });
    }
    return new BpfLink(backend(link), this.#owner, description);
  }

  #fdLink(description: string, backend: LinkBackend): BpfLink {
    return new BpfLink(backend, this.#owner, description);
  }

  /** Attaches by section name (SEC("tp/..."), "xdp"... needs a full spec). */
  attach(): BpfLink {
    // SEC("uprobe/binary:function[+offset]") as libbpf parses it, attached
    // through attachUprobe for its symbol lookup (versions, IFUNCs).
    const up = UPROBE_SECTION.exec(this.sectionName);
    if (up) {
      return this.attachUprobe({
        binaryPath: up[2]!,
        symbol: up[3]!,
        offset: up[4] === undefined ? undefined : Number(up[4]),
        retprobe: up[1] === "ret",
      });
    }
    // SEC("usdt/binary:provider:name"): through attachUsdt for its hints.
    const usdt = /^usdt(?:\.s)?\/([^:]+):([^:]+):([^:]+)$/.exec(
      this.sectionName,
    );
    if (usdt) {
      return this.attachUsdt({
        binaryPath: usdt[1]!,
        provider: usdt[2]!,
        name: usdt[3]!,
      });
    }
    const ctx = this.#contextFromSection();
    return this.#link(
      "bpf_program__attach",
      `${this.sectionName}`,
      ctx,
      (L, p) => L.bpf_program__attach(p),
      (e) => {
        if (/^iter(\.s)?\//.test(this.sectionName))
          return this.#iterHint(e, undefined);
        if (e !== EOPNOTSUPP) return undefined;
        // A kprobe section names its target: EOPNOTSUPP is the kernel's.
        if (ctx.kind === "kprobe") {
          return kprobesAvailable() &&
            /^k(ret)?probe\.multi\//.test(this.sectionName)
            ? "this kernel has no kprobe_multi links (CONFIG_FPROBE): attach each function with attachKprobe(fn)"
            : undefined; // the CONFIG_KPROBES hint when kprobes are out
        }
        // libbpf: EOPNOTSUPP when the section name gives no attach target.
        return this.#explicitAttachHint();
      },
      // SEC("usdt/binary:provider:name"): libbpf's USDT link, fd 0.
      /^usdt(\.s)?\//.test(this.sectionName)
        ? usdtLinkBackend
        : libbpfLinkBackend,
    );
  }

  /** A hint when this program's type is not one `method` attaches. */
  #wrongType(
    types: readonly ProgramType[] | ((t: ProgramType) => boolean),
    method: string,
    section: string,
  ): string | undefined {
    const t = this.type;
    const ok = typeof types === "function" ? types(t) : types.includes(t);
    return ok
      ? undefined
      : `'${this.name}' is a ${t} program (SEC("${this.sectionName}")): ${method} attaches ${section} programs`;
  }

  #explicitAttachHint(): string {
    const t = this.type;
    if (t === "struct_ops") {
      return `struct_ops programs run through their ops table: register the SEC(".struct_ops") map that names '${this.name}' with map.attachStructOps()`;
    }
    // Typed by section_types.ts so that the object loads; no attach of its own.
    if (/^netkit\//.test(this.sectionName)) {
      return `SEC("${this.sectionName}"): tsbpf cannot attach netkit programs yet (a netkit link on a netkit device, Linux ≥ 6.7): attachTcx(ifname, { direction }) runs '${this.name}' as a tcx program instead (their verdicts are the same)`;
    }
    const how =
      t === "xdp"
        ? "attachXdp(ifname)"
        : t === "netfilter"
          ? 'attachNetfilter({ family: "ipv4" | "ipv6", hook, priority })'
          : /^tcx?\/(ingress|egress)$/.test(this.sectionName)
            ? "attachTcx(ifname)"
            : t === "sched_cls" || t === "sched_act"
              ? 'attachTc(ifname, "ingress" | "egress") or attachTcx(ifname, { direction })'
              : t.startsWith("cgroup_") || t === "sock_ops"
                ? "attachCgroup(path)"
                : t === "kprobe"
                  ? /^usdt/.test(this.sectionName)
                    ? "attachUsdt({ binaryPath, provider, name })"
                    : /^u(ret)?probe/.test(this.sectionName)
                      ? "attachUprobe({ binaryPath, symbol | offset })"
                      : "attachKprobe(fn) or attachUprobe({ binaryPath, symbol })"
                  : t === "tracepoint"
                    ? "attachTracepoint(category, name)"
                    : t === "raw_tracepoint"
                      ? "attachRawTracepoint(name)"
                      : t === "perf_event"
                        ? 'attachPerfEvent({ type: "software", config: "cpu-clock", frequency: 99, cpu }) for each cpu of onlineCpus(), or attachPerfEvent(fd) for a perf event you opened'
                        : t === "flow_dissector" || t === "sk_lookup"
                          ? "attachNetns(path)"
                          : t === "sk_msg" || t === "sk_skb"
                            ? "attachSockmap(map)"
                            : "one of the explicit attach*() forms";
    return `SEC("${this.sectionName}") names no attach target: attach this ${t} program with ${how}`;
  }

  #contextFromSection(): FailContext {
    const s = this.sectionName;
    const tp = /^(?:tp|tracepoint)\/([^/]+)\/(.+)$/.exec(s);
    if (tp) return { kind: "tracepoint", category: tp[1]!, name: tp[2]! };
    const kp = /^k(?:ret)?(?:probe|syscall|probe\.multi)\/(.+)$/.exec(s);
    if (kp) return { kind: "kprobe", fn: kp[1]! };
    return { kind: "attach" };
  }

  /** Attaches to tracepoint `category:name` (e.g. "syscalls", "sys_enter_getpid"). */
  attachTracepoint(category: string, name: string): BpfLink {
    return this.#link(
      "bpf_program__attach_tracepoint",
      `tracepoint ${category}/${name}`,
      { kind: "tracepoint", category, name },
      (L, p) => L.bpf_program__attach_tracepoint(p, cstr(category), cstr(name)),
      () =>
        this.#wrongType(["tracepoint"], "attachTracepoint", 'SEC("tp/...")'),
    );
  }

  /** Attaches to raw tracepoint `name` (e.g. "sys_enter"). */
  attachRawTracepoint(name: string): BpfLink {
    return this.#link(
      "bpf_program__attach_raw_tracepoint",
      `raw_tracepoint ${name}`,
      { kind: "attach" },
      (L, p) => L.bpf_program__attach_raw_tracepoint(p, cstr(name)),
      (e) =>
        this.#wrongType(
          ["raw_tracepoint", "raw_tracepoint_writable"],
          "attachRawTracepoint",
          'SEC("raw_tp/...") and SEC("raw_tracepoint.w/...")',
        ) ??
        (e === ENOENT
          ? `no raw tracepoint '${name}': raw tracepoints are named without their category (sys_enter, sched_switch); list them with \`cut -d: -f2 /sys/kernel/tracing/available_events\``
          : undefined),
    );
  }

  /** Attaches a kprobe (or kretprobe) to kernel function `fn`. Needs CONFIG_KPROBES. */
  attachKprobe(fn: string, options: { retprobe?: boolean } = {}): BpfLink {
    const ret = options.retprobe ?? false;
    return this.#link(
      "bpf_program__attach_kprobe",
      `${ret ? "kretprobe" : "kprobe"} ${fn}`,
      { kind: "kprobe", fn },
      (L, p) => L.bpf_program__attach_kprobe(p, ret, cstr(fn)),
      () => this.#wrongType(["kprobe"], "attachKprobe", 'SEC("kprobe/...")'),
    );
  }

  /** Attaches a uprobe to a function (`symbol`) or `offset` of a binary. */
  attachUprobe(options: UprobeOptions): BpfLink {
    if (typeof options !== "object" || options === null) {
      throw new BpfTypeError(
        "attachUprobe needs options: { binaryPath, symbol or offset, pid?, retprobe? }",
      );
    }
    if (options.symbol === undefined && options.offset === undefined) {
      throw new BpfTypeError("attachUprobe needs a symbol or an offset");
    }
    // libbpf attaches it, but its BPF_USDT() arguments then all read 0: no
    // USDT spec is registered for a plain uprobe.
    if (/^usdt(\.s)?(\/|$)/.test(this.sectionName)) {
      throw new BpfTypeError(
        `attachUprobe: '${this.name}' is a USDT program (SEC("${this.sectionName}")): attach it with attachUsdt({ binaryPath, provider, name }); as a plain uprobe its BPF_USDT() arguments would all read 0`,
      );
    }
    // Each read once: what is checked is what libbpf gets (a getter read
    // again inside the call could give another value, or close the object).
    const { binaryPath, offset, pid, symbol } = options;
    // An empty name would be taken for none: libbpf then probes at the
    // offset alone (0: the ELF header) without a word.
    if (symbol !== undefined && (typeof symbol !== "string" || symbol === "")) {
      throw new BpfTypeError(
        `attachUprobe: symbol is a function name (a non-empty string; leave it out to attach by offset alone), got ${describeValue(symbol)}`,
      );
    }
    for (const [key, x, min, max] of [
      ["offset", offset, 0, Number.MAX_SAFE_INTEGER],
      ["pid", pid, -1, 0x7fffffff],
    ] as const) {
      if (
        x !== undefined &&
        !(Number.isSafeInteger(x) && x >= min && x <= max)
      ) {
        throw new BpfTypeError(
          `attachUprobe: ${key} must be an integer ≥ ${min}${key === "pid" ? " (a pid)" : ""}, got ${String(x)}`,
        );
      }
    }
    const cookie = u64Cookie("attachUprobe", options.cookie);
    // cstr checks both are strings without NUL before they are used.
    const path = cstr(binaryPath);
    const symbolBuf = symbol ? cstr(symbol) : null;
    const op = "bpf_program__attach_uprobe_opts";
    const what = `${options.retprobe ? "uretprobe" : "uprobe"} ${binaryPath}:${symbol ?? ""}${offset ? `+${offset}` : ""}`;
    // libbpf 1.1 knows no symbol versions: it refuses realpath@@GLIBC_2.3,
    // finds plain realpath ambiguous, and skips an IFUNC for a hidden old
    // version of the name (memcpy@GLIBC_2.2.5). Found here, libbpf gets the
    // offset; it looks up the name itself only in a file not read here.
    const target = symbol ? resolveFunction(binaryPath, symbol) : undefined;
    if (target && "problem" in target) {
      this.#loadedHandle(op); // not loaded or closed: that error first
      throw bpfError(
        op,
        ENOENT,
        { kind: "attach" },
        {
          log: "",
          detail: `program '${this.name}' (${what})`,
          hint: this.#uprobeTypeHint() ?? target.problem,
        },
      );
    }
    const opts = new Uint8Array(UPROBE_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    const fname = target ? null : symbolBuf;
    v.setBigUint64(0, BigInt(UPROBE_OPTS_SIZE), true);
    v.setBigUint64(16, cookie, true);
    v.setUint8(24, options.retprobe ? 1 : 0);
    v.setBigUint64(32, fname ? addressOf(fname) : 0n, true);
    const link = this.#link(
      op,
      what,
      { kind: "attach" },
      (L, p) =>
        L.bpf_program__attach_uprobe_opts(
          p,
          pid ?? -1,
          path,
          (target?.fileOffset ?? 0) + (offset ?? 0),
          opts,
        ),
      (e) => {
        const wrong = this.#uprobeTypeHint();
        if (wrong) return wrong;
        const missing = missingBinaryHint(binaryPath) ?? notElfHint(binaryPath);
        if (missing) return missing;
        if (e === ESRCH) return goneProcessHint(pid);
        if (e !== ENOENT) return undefined;
        return symbol && !target
          ? `no function '${symbol}' in ${binaryPath}'s symbol tables (check \`nm -D\`; a stripped binary needs an offset)`
          : undefined;
      },
    );
    void fname; // kept alive until here: libbpf reads func_name during the call
    return link;
  }

  #uprobeTypeHint(): string | undefined {
    return this.#wrongType(
      ["kprobe"],
      "attachUprobe",
      'SEC("uprobe/...") and SEC("uretprobe/...")',
    );
  }

  /**
   * Attaches a `SEC("usdt")` program to a USDT probe (a static tracepoint
   * compiled into a binary: `provider:name`, as `readelf -n` lists under
   * stapsdt). Arguments reach the program through `BPF_USDT()`.
   */
  attachUsdt(options: UsdtOptions): BpfLink {
    if (typeof options !== "object" || options === null) {
      throw new BpfTypeError(
        "attachUsdt needs options: { binaryPath, provider, name, pid?, cookie? }",
      );
    }
    const pid = options.pid ?? -1;
    if (!(Number.isInteger(pid) && pid >= -1 && pid <= 0x7fffffff)) {
      throw new BpfTypeError(
        `attachUsdt: pid must be an integer ≥ -1, got ${String(pid)}`,
      );
    }
    const cookie = u64Cookie("attachUsdt", options.cookie);
    const path = cstr(options.binaryPath);
    const provider = cstr(options.provider);
    const name = cstr(options.name);
    const opts = new Uint8Array(USDT_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    v.setBigUint64(0, BigInt(USDT_OPTS_SIZE), true);
    v.setBigUint64(8, cookie, true);
    return this.#link(
      "bpf_program__attach_usdt",
      `usdt ${options.binaryPath}:${options.provider}:${options.name}`,
      { kind: "attach" },
      (L, p) => L.bpf_program__attach_usdt(p, pid, path, provider, name, opts),
      (e) => {
        const missing =
          missingBinaryHint(options.binaryPath) ??
          notElfHint(options.binaryPath);
        if (missing) return missing;
        // libbpf 1.1 also fails with ESRCH when the object lacks the maps
        // of <bpf/usdt.bpf.h> ("failed to find USDT support BPF maps").
        if (e === ESRCH) return goneProcessHint(pid) ?? this.#usdtSupportHint();
        return e === ENOENT
          ? `no USDT probe ${options.provider}:${options.name} in ${options.binaryPath}: list them with readelf -n ${options.binaryPath} (stapsdt notes)`
          : e === 22 && this.sectionName.split("/")[0] !== "usdt"
            ? `program '${this.name}' is in SEC("${this.sectionName}"): USDT programs need SEC("usdt")`
            : undefined;
      },
      usdtLinkBackend,
    );
  }

  #usdtSupportHint(): string {
    const section =
      this.sectionName.split("/")[0] === "usdt"
        ? ""
        : ` and put the program in SEC("usdt") (it is in SEC("${this.sectionName}"))`;
    return `the object has no USDT support maps (__bpf_usdt_specs, __bpf_usdt_ip_to_spec_id): #include <bpf/usdt.bpf.h> in its C source, which declares them, and write the program with BPF_USDT()${section}`;
  }

  /** Attaches an fentry/fexit/fmod_ret/tp_btf program to its BTF target. */
  attachTrace(): BpfLink {
    return this.#link(
      "bpf_program__attach_trace",
      `trace ${this.sectionName}`,
      { kind: "attach" },
      (L, p) => L.bpf_program__attach_trace(p),
      () =>
        /^iter(\.s)?\//.test(this.sectionName)
          ? `'${this.name}' is an iterator (SEC("${this.sectionName}")): attach it with attachIter()`
          : this.#wrongType(
              ["tracing", "lsm"],
              "attachTrace",
              'SEC("fentry/..."), SEC("fexit/..."), SEC("fmod_ret/...") and SEC("tp_btf/...")',
            ),
    );
  }

  /** Attaches an LSM program. */
  attachLsm(): BpfLink {
    return this.#link(
      "bpf_program__attach_lsm",
      `lsm ${this.sectionName}`,
      { kind: "attach" },
      (L, p) => L.bpf_program__attach_lsm(p),
      () => this.#wrongType(["lsm"], "attachLsm", 'SEC("lsm/...")'),
    );
  }

  /**
   * Attaches an XDP program to an interface through a BPF link (detached on
   * close). With `mode`/`flags`, the link is created with those XDP flags.
   */
  attachXdp(ifnameOrIndex: string | number, options: XdpOptions = {}): BpfLink {
    if (typeof options !== "object" || options === null) {
      throw new BpfTypeError(
        `attachXdp: options are { mode?, flags? }, got ${describeValue(options)}`,
      );
    }
    if (options.mode !== undefined && !Object.hasOwn(XDP_MODE, options.mode)) {
      throw new BpfTypeError(
        `attachXdp: mode must be ${Object.keys(XDP_MODE)
          .map((m) => `"${m}"`)
          .join(
            ", ",
          )} or omitted (the kernel picks), got ${String(options.mode)}`,
      );
    }
    const raw = options.flags ?? 0;
    if (!(Number.isInteger(raw) && raw >= 0 && raw <= 0xffffffff)) {
      throw new BpfTypeError(
        `attachXdp: flags must be an integer from 0 to 2^32-1 (XDP_FLAGS_* bits), got ${describeValue(raw)}`,
      );
    }
    const ifindex = ifindexOf(ifnameOrIndex);
    const flags = (raw | (options.mode ? XDP_MODE[options.mode] : 0)) >>> 0;
    const what = `xdp ${ifnameOrIndex}${options.mode ? ` (${options.mode})` : ""}`;
    if (!flags) {
      return this.#link(
        "bpf_program__attach_xdp",
        what,
        { kind: "attach" },
        (L, p) => L.bpf_program__attach_xdp(p, ifindex),
        (e) => this.#xdpHint(e, ifnameOrIndex),
      );
    }
    const fd = this.fd;
    const opts = new Uint8Array(LINK_CREATE_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    v.setBigUint64(0, BigInt(LINK_CREATE_OPTS_SIZE), true);
    v.setUint32(8, flags, true);
    const linkFd = withLibbpfLog(this.#owner.logHandler, () =>
      libbpf().bpf_link_create(fd, ifindex, BPF_XDP, opts),
    );
    if (linkFd < 0)
      throw bpfError(
        "bpf_link_create(xdp)",
        linkFd,
        { kind: "attach" },
        {
          detail: `program '${this.name}' (${what})`,
          hint: this.#xdpHint(Math.abs(linkFd), ifnameOrIndex, options.mode),
        },
      );
    return this.#fdLink(what, fdLinkBackend(linkFd));
  }

  #xdpHint(
    e: number,
    target: string | number,
    mode?: XdpOptions["mode"],
  ): string | undefined {
    const wrong = this.#wrongType(["xdp"], "attachXdp", 'SEC("xdp")');
    if (wrong) return wrong;
    if ((e === 22 || e === ENODEV) && typeof target === "number") {
      const unknown = unknownIfindexHint(target);
      if (unknown) return unknown;
    }
    if (e === EBUSY || e === EEXIST) {
      return `interface ${target} already has an XDP program (\`bpftool net\` shows it): close its link or detach it first`;
    }
    if (mode === "drv" && e === EOPNOTSUPP) {
      return `${target} has no native XDP in its driver: use mode "skb" (generic XDP), or leave mode out for the kernel to pick`;
    }
    if (mode === "hw" && (e === EOPNOTSUPP || e === 22)) {
      return `${target} cannot offload XDP to its hardware: use mode "drv" or "skb"`;
    }
    return undefined;
  }

  /**
   * Attaches a `SEC("tc")` program as a direct-action filter on an
   * interface's clsact qdisc (created if absent, removed on close if we
   * created it). The link has no fd and cannot be pinned. The direction
   * and options come positionally, `attachTc(ifname, "ingress", { priority })`,
   * or in one object as `attachTcx` takes them,
   * `attachTc(ifname, { direction: "ingress", priority })`. Without a
   * direction, `SEC("tc/ingress")`/`SEC("tc/egress")` gives it (a
   * BpfTypeError for a section that names none, e.g. `SEC("tc")`).
   */
  attachTc(
    ifnameOrIndex: string | number,
    direction?: TcDirection,
    options?: TcOptions,
  ): BpfLink;
  /** `attachTc(ifname, { direction?, priority?, handle? })`: the options-object form. */
  attachTc(ifnameOrIndex: string | number, options: TcAttachOptions): BpfLink;
  attachTc(
    ifnameOrIndex: string | number,
    directionOrOptions?: TcDirection | TcAttachOptions,
    more?: TcOptions,
  ): BpfLink {
    let direction: unknown = directionOrOptions;
    // Not `??`: a null is refused by checkTcOptions, not taken for none.
    let options: TcOptions = more === undefined ? {} : more;
    if (typeof directionOrOptions === "object" && directionOrOptions !== null) {
      if (more !== undefined) {
        throw new BpfTypeError(
          `attachTc: with an options object, everything goes in it: attachTc(ifname, { direction, priority?, handle? }), got a third argument ${describeValue(more)}`,
        );
      }
      options = directionOrOptions;
      direction = directionOrOptions.direction;
    }
    if (direction === undefined) direction = this.#tcSectionDirection();
    if (direction !== "ingress" && direction !== "egress") {
      throw new BpfTypeError(
        `attachTc: direction must be "ingress" or "egress", got ${String(direction)}`,
        {
          hint: 'attachTc(ifname, "ingress" | "egress", { priority?, handle? }) or attachTc(ifname, { direction, priority?, handle? })',
        },
      );
    }
    const checked = checkTcOptions(options);
    const ifindex = ifindexOf(ifnameOrIndex);
    const fd = this.fd;
    const backend = withLibbpfLog(this.#owner.logHandler, () =>
      attachTc(fd, ifindex, direction, checked, {
        detail: `program '${this.name}' (tc ${direction} ${ifnameOrIndex})`,
        hint: (e) =>
          this.#wrongType(
            ["sched_cls", "sched_act"],
            "attachTc",
            'SEC("tc")',
          ) ??
          (e === EEXIST
            ? `${ifnameOrIndex} has a tc ${direction} filter with this priority and handle: pick others, or leave them 0 for the kernel to pick`
            : e === ENODEV || e === 22
              ? unknownIfindexHint(ifindex)
              : undefined),
      }),
    );
    return this.#fdLink(`tc ${direction} ${ifnameOrIndex}`, backend);
  }

  /**
   * The direction SEC("tc/ingress") / SEC("tc/egress") give (libbpf ≥ 1.3,
   * or tsbpf before load, sets their expected attach type to a tcx hook;
   * the netlink attach ignores it), else a BpfTypeError.
   */
  #tcSectionDirection(): TcDirection {
    const p = this.#loadedHandle("attachTc");
    const expected = libbpf().bpf_program__expected_attach_type(p);
    if (expected === BPF_TCX_INGRESS) return "ingress";
    if (expected === BPF_TCX_EGRESS) return "egress";
    throw new BpfTypeError(
      `attachTc: SEC("${this.sectionName}") names no direction (only SEC("tc/ingress") and SEC("tc/egress") do): give one`,
      {
        hint: 'attachTc(ifname, "ingress" | "egress", { priority?, handle? }) or attachTc(ifname, { direction, priority?, handle? })',
      },
    );
  }

  /**
   * Attaches a tc program through a tcx link (kernel ≥ 6.6): no qdisc, an
   * fd, pinnable, detached on close. The direction comes from
   * `SEC("tcx/ingress")`/`SEC("tcx/egress")`, or from `direction` (which a
   * `SEC("tc")` program needs). `order: "first"` runs it before the
   * programs attached so far; the default appends. Works with libbpf 1.1,
   * which does not know tcx sections (tsbpf types them before load).
   */
  attachTcx(ifnameOrIndex: string | number, options: TcxOptions = {}): BpfLink {
    if (typeof options !== "object" || options === null) {
      throw new BpfTypeError(
        `attachTcx: options are { direction?, order? }, got ${describeValue(options)}`,
      );
    }
    const { direction, order } = options;
    if (
      direction !== undefined &&
      direction !== "ingress" &&
      direction !== "egress"
    ) {
      throw new BpfTypeError(
        `attachTcx: direction is "ingress" or "egress", got ${describeValue(direction)}`,
      );
    }
    if (order !== undefined && order !== "first" && order !== "last") {
      throw new BpfTypeError(
        `attachTcx: order is "first" or "last", got ${describeValue(order)}`,
      );
    }
    const ifindex = ifindexOf(ifnameOrIndex);
    const p = this.#loadedHandle("attachTcx");
    const expected = libbpf().bpf_program__expected_attach_type(p);
    const attachType =
      direction === "ingress"
        ? BPF_TCX_INGRESS
        : direction === "egress"
          ? BPF_TCX_EGRESS
          : expected === BPF_TCX_INGRESS || expected === BPF_TCX_EGRESS
            ? expected
            : null;
    if (attachType === null) {
      throw new BpfTypeError(
        `attachTcx: SEC("${this.sectionName}") names no tcx direction: attachTcx(ifname, { direction: "ingress" | "egress" })`,
      );
    }
    const dir = attachType === BPF_TCX_INGRESS ? "ingress" : "egress";
    const what = `tcx ${dir} ${ifnameOrIndex}${order ? ` (${order})` : ""}`;
    // bpf_link_create rather than bpf_program__attach_tcx (libbpf ≥ 1.3):
    // with no relative program, BPF_F_BEFORE puts it first and BPF_F_AFTER
    // last (kernel/bpf/mprog.c), which needs only the flags every libbpf
    // passes.
    const opts = new Uint8Array(LINK_CREATE_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    v.setBigUint64(0, BigInt(LINK_CREATE_OPTS_SIZE), true);
    v.setUint32(
      8,
      order === "first" ? BPF_F_BEFORE : order === "last" ? BPF_F_AFTER : 0,
      true,
    );
    const fd = this.fd;
    const linkFd = withLibbpfLog(this.#owner.logHandler, () =>
      libbpf().bpf_link_create(fd, ifindex, attachType, opts),
    );
    if (linkFd < 0) {
      throw bpfError(
        "bpf_link_create(tcx)",
        linkFd,
        { kind: "attach" },
        {
          detail: `program '${this.name}' (${what})`,
          hint:
            this.#wrongType(
              ["sched_cls"],
              "attachTcx",
              'SEC("tcx/ingress"), SEC("tcx/egress") and SEC("tc")',
            ) ??
            (linkFd === -EEXIST
              ? `'${this.name}' is attached to tcx ${dir} of ${ifnameOrIndex} already (a program once per hook): close that link first`
              : linkFd === -ENODEV
                ? unknownIfindexHint(ifindex)
                : undefined),
        },
      );
    }
    return this.#fdLink(what, fdLinkBackend(linkFd));
  }

  /**
   * Attaches a `SEC("netfilter")` program to a netfilter hook (kernel ≥
   * 6.4), e.g. `{ family: "ipv4", hook: "output", priority: 100 }`; its
   * return value is the verdict (NF_ACCEPT 1, NF_DROP 0). Detached on close.
   */
  attachNetfilter(options: NetfilterOptions): BpfLink {
    this.#loadedHandle("attachNetfilter");
    // The options first: their getters may close the object.
    const o = checkNetfilterOptions(options);
    const fd = this.fd;
    const what = `netfilter ${o.family}/${o.hook} priority ${o.priority}${o.defrag ? " defrag" : ""}`;
    const linkFd = createNetfilterLink(
      fd,
      o,
      `program '${this.name}' (${what})`,
      () =>
        this.#wrongType(["netfilter"], "attachNetfilter", 'SEC("netfilter")'),
    );
    return this.#fdLink(what, fdLinkBackend(linkFd));
  }

  /** Attaches to a network namespace (`/proc/<pid>/ns/net`, `/run/netns/<name>`). */
  attachNetns(path: string): BpfLink {
    return this.#withFd("attachNetns", path, 0, "network namespace", (fd) =>
      this.#link(
        "bpf_program__attach_netns",
        `netns ${path}`,
        { kind: "attach" },
        (L, p) => L.bpf_program__attach_netns(p, fd),
        (e) =>
          this.#wrongType(
            ["flow_dissector", "sk_lookup"],
            "attachNetns",
            'SEC("flow_dissector") and SEC("sk_lookup")',
          ) ??
          // kernel/bpf/net_namespace.c: E2BIG past a type's program limit
          // (1 flow dissector, 64 sk_lookup), EEXIST over a prog_attach one.
          (e === E2BIG || e === EEXIST
            ? this.type === "flow_dissector"
              ? `${path} has a flow_dissector program already (one per network namespace): close its link first (\`bpftool link list\` shows it)`
              : `${path} has as many sk_lookup programs as the kernel takes (64): close one first`
            : undefined),
      ),
    );
  }

  #withFd<T>(
    op: string,
    path: string,
    flags: number,
    what: string,
    fn: (fd: number) => T,
  ): T {
    this.#loadedHandle(op);
    const c = libc();
    const fd = c.open(cstr(path), flags, 0);
    if (fd < 0) {
      throw bpfError(
        "open",
        errno(),
        { kind: "attach" },
        {
          log: "",
          detail: `cannot open ${what} ${path}`,
          hint: existsSync(path) ? undefined : `no such ${what} ${path}`,
        },
      );
    }
    try {
      // The link holds its own reference to the target: our fd can go.
      return fn(fd);
    } finally {
      c.close(fd);
    }
  }

  /**
   * Attaches a `SEC("sk_msg")` or `SEC("sk_skb/...")` program to a sockmap
   * or sockhash (the map or its fd): it then runs for the sockets the map
   * holds (e.g. ones a sock_ops program adds). The link has an fd on Linux
   * ≥ 6.10; before, it is a plain attachment that close() undoes.
   */
  attachSockmap(map: { readonly fd: number } | number): BpfLink {
    const mapFd =
      typeof map === "number" ? map : (map as { fd?: unknown } | null)?.fd;
    if (
      !(
        typeof mapFd === "number" &&
        Number.isInteger(mapFd) &&
        mapFd >= 0 &&
        mapFd <= 0x7fffffff
      )
    ) {
      throw new BpfTypeError(
        `attachSockmap: give the sockmap (a BpfMap) or its fd, got ${describeValue(map)}`,
      );
    }
    const p = this.#loadedHandle("attachSockmap");
    const type = libbpf().bpf_program__expected_attach_type(p);
    const kind = SOCKMAP_ATTACH_TYPES.get(type);
    if (kind === undefined) {
      throw new BpfTypeError(
        `attachSockmap: '${this.name}' is a ${this.type} program (SEC("${this.sectionName}"))`,
        {
          hint: 'sockmaps run SEC("sk_msg"), SEC("sk_skb/stream_parser"), SEC("sk_skb/stream_verdict") and SEC("sk_skb/verdict") programs',
        },
      );
    }
    const what = `${kind} sockmap fd ${mapFd}`;
    const backend = attachToSockmap(
      this.fd,
      mapFd,
      type,
      `program '${this.name}' (${what})`,
      this.#owner.logHandler,
    );
    return this.#fdLink(what, backend);
  }

  /** Attaches to the cgroup v2 directory `path` (e.g. /sys/fs/cgroup/x). */
  attachCgroup(path: string): BpfLink {
    return this.#withFd(
      "attachCgroup",
      path,
      O_RDONLY_DIRECTORY,
      "cgroup directory",
      (fd) =>
        this.#link(
          "bpf_program__attach_cgroup",
          `cgroup ${path}`,
          { kind: "cgroup", path },
          (L, p) => L.bpf_program__attach_cgroup(p, fd),
          (e) =>
            e === EBADF
              ? undefined // not a cgroup v2 directory: the cgroup2 hint
              : this.#wrongType(
                  (t) =>
                    t.startsWith("cgroup_") ||
                    t === "sock_ops" ||
                    (t === "lsm" && this.sectionName.startsWith("lsm_cgroup")),
                  "attachCgroup",
                  'SEC("cgroup_skb/..."), SEC("cgroup/...") and SEC("sockops")',
                ),
        ),
    );
  }

  /**
   * Attaches a `SEC("perf_event")` program to a perf event: an fd from
   * perf_event_open (the link owns it after), or options from which one is
   * opened, e.g. `{ type: "software", config: "cpu-clock", frequency: 99,
   * cpu: 0 }` samples CPU 0 99 times a second (a profiler attaches once per
   * CPU). Closing the link closes the event.
   */
  attachPerfEvent(event: number | PerfEventOptions): BpfLink {
    if (typeof event === "number") {
      if (!(Number.isInteger(event) && event >= 0 && event <= 0x7fffffff)) {
        throw new BpfTypeError(
          `attachPerfEvent: a perf event fd is a non-negative integer, got ${event}`,
        );
      }
      return this.#attachPerfFd(event);
    }
    this.#loadedHandle("attachPerfEvent");
    const pfd = openPerfEvent(event);
    try {
      return this.#attachPerfFd(pfd);
    } catch (e) {
      libc().close(pfd);
      throw e;
    }
  }

  #attachPerfFd(pfd: number): BpfLink {
    return this.#link(
      "bpf_program__attach_perf_event",
      `perf_event fd ${pfd}`,
      { kind: "attach" },
      (L, p) => L.bpf_program__attach_perf_event(p, pfd),
      () =>
        this.#wrongType(
          ["perf_event", "kprobe", "tracepoint"],
          "attachPerfEvent",
          'SEC("perf_event")',
        ),
    );
  }

  /**
   * Attaches a `SEC("iter/...")` program; read its output with
   * `link.read()` (text) or `link.readBytes()`, or pin the link and read
   * the pin as a file. Map iterators (`iter/bpf_map_elem`...) need the map
   * to walk (`{ map }`); task and cgroup iterators can be narrowed
   * (`{ task: { pid } }`, `{ cgroup: { path, order } }`).
   */
  attachIter(options?: IterOptions): BpfLink {
    this.#loadedHandle("attachIter");
    const { info, opened } = iterLinkInfo(options, this.sectionName);
    try {
      let opts: Uint8Array | null = null;
      if (info) {
        opts = new Uint8Array(ITER_ATTACH_OPTS_SIZE);
        const v = new DataView(opts.buffer);
        v.setBigUint64(0, BigInt(ITER_ATTACH_OPTS_SIZE), true);
        v.setBigUint64(8, addressOf(info), true);
        v.setUint32(16, info.length, true);
      }
      const link = this.#link(
        "bpf_program__attach_iter",
        `iter ${this.sectionName}`,
        { kind: "attach" },
        (L, p) => L.bpf_program__attach_iter(p, opts),
        (e) => this.#iterHint(e, options),
      );
      void info; // alive until libbpf has read it
      return link;
    } finally {
      // The link holds its own reference to a cgroup it starts at.
      for (const fd of opened) libc().close(fd);
    }
  }

  #iterHint(e: number, options: IterOptions | undefined): string | undefined {
    const s = this.sectionName;
    if (!/^iter(\.s)?\//.test(s)) {
      return `'${this.name}' is a ${this.type} program (SEC("${s}")): attachIter attaches SEC("iter/...") programs`;
    }
    // The kernel's map iterators take their map from the link info and
    // refuse fd 0 (EBADF) when none is given.
    if (
      e === EBADF &&
      options?.map === undefined &&
      iterTargetOption(s) === "map"
    ) {
      return `SEC("${s}") iterates over a map: attachIter({ map }) with the BpfMap (or its fd) to walk`;
    }
    return undefined;
  }

  /**
   * Runs the program on test input (BPF_PROG_TEST_RUN). Passes the kernel
   * only what the program type takes: `ctx` for syscall programs (the
   * result's `ctx` is the struct as the program left it), `ctx` (u64 args)
   * and `cpu` for raw_tp, `data`/`ctx`/`repeat`/`flags` for packet programs.
   */
  testRun(options: TestRunOptions = {}): TestRunResult {
    options ??= {};
    const fd = this.fd;
    for (const key of ["data", "ctx"] as const) {
      const x = options[key];
      if (x !== undefined && !(x instanceof Uint8Array)) {
        throw new BpfTypeError(
          `testRun of '${this.name}': ${key} is a Uint8Array, got ${x === null ? "null" : typeof x}`,
        );
      }
    }
    for (const key of ["repeat", "flags", "cpu", "dataSizeOut"] as const) {
      const x = options[key];
      if (
        x !== undefined &&
        !(Number.isInteger(x) && x >= 0 && x <= 0x7fffffff)
      ) {
        throw new BpfTypeError(
          `testRun of '${this.name}': ${key} is an integer from 0 to 2^31-1, got ${String(x)}`,
        );
      }
    }
    const type = this.type;
    const shape = testRunShape(type);
    const refuse = (what: string, takes: string) => {
      throw new BpfTypeError(
        `testRun of '${this.name}' (${type}): ${what} is not supported; ${type} test runs take ${takes}`,
      );
    };
    const { data, ctx, repeat, flags, cpu } = options;
    if (shape !== "packet") {
      const takes =
        shape === "syscall" ? "ctx only" : "ctx (the u64 arguments) and cpu";
      if (data !== undefined) refuse("data", takes);
      if (options.dataSizeOut !== undefined) refuse("dataSizeOut", takes);
      if (repeat !== undefined && repeat > 1) refuse("repeat", takes);
      if (shape === "syscall" && (flags || cpu !== undefined))
        refuse(flags ? "flags" : "cpu", takes);
    } else if (cpu !== undefined) {
      refuse("cpu", "data, ctx, repeat and flags");
    }
    const opts = new Uint8Array(TEST_RUN_OPTS_SIZE);
    const v = new DataView(opts.buffer);
    v.setBigUint64(0, BigInt(TEST_RUN_OPTS_SIZE), true);
    let out: Uint8Array | null = null;
    let ctxIn: Uint8Array | null = null;
    let ctxOut: Uint8Array | null = null;
    if (ctx && ctx.length) {
      // syscall programs write the context back into ctx_in: give them a copy.
      ctxIn = shape === "syscall" ? ctx.slice() : ctx;
      v.setBigUint64(32, addressOf(ctxIn), true);
      v.setUint32(48, ctxIn.length, true);
      if (shape === "packet") {
        // The kernel writes its whole context struct back (ENOSPC when the
        // buffer is smaller, e.g. for a partial __sk_buff given in).
        ctxOut = new Uint8Array(Math.max(ctx.length, 1024));
        v.setBigUint64(40, addressOf(ctxOut), true);
        v.setUint32(52, ctxOut.length, true);
      }
    }
    if (shape === "packet") {
      if (data) {
        out = new Uint8Array(options.dataSizeOut ?? data.length + 256);
        v.setBigUint64(8, addressOf(data), true);
        v.setUint32(24, data.length, true);
        v.setBigUint64(16, addressOf(out), true);
        v.setUint32(28, out.length, true);
      }
      if (repeat !== undefined) v.setInt32(60, repeat, true);
      v.setUint32(68, flags ?? 0, true);
    } else if (shape === "raw_tp") {
      const f = (flags ?? 0) | (cpu !== undefined ? BPF_F_TEST_RUN_ON_CPU : 0);
      v.setUint32(68, f, true);
      v.setUint32(72, cpu ?? 0, true);
    }
    clearLibbpfLog();
    const err = libbpf().bpf_prog_test_run_opts(fd, opts);
    void data; // data, ctx and out stay alive until the call returned
    if (err < 0) {
      throw bpfError(
        "bpf_prog_test_run_opts",
        err,
        { kind: "other" },
        {
          hint:
            -err === 28
              ? "output larger than dataSizeOut: raise it"
              : -err === 524 || -err === 95
                ? `program type ${type} does not support test runs on this kernel`
                : -err === 22
                  ? testRunEinvalHint(shape, type)
                  : -err === 14 && type === "tracing"
                    ? // net/bpf/test_run.c bpf_prog_test_run_tracing: any
                      // other attach type ends at its "goto out" (EFAULT).
                      `test runs of tracing programs call the kernel's bpf_fentry_test functions: only fentry/fexit/fmod_ret programs on those (e.g. SEC("fentry/bpf_fentry_test1")) can be test-run: this one is in SEC("${this.sectionName}")`
                    : undefined,
        },
      );
    }
    return {
      retval: v.getUint32(56, true),
      duration: v.getUint32(64, true),
      data: out ? out.slice(0, v.getUint32(28, true)) : new Uint8Array(0),
      ctx: ctxOut
        ? ctxOut.slice(0, v.getUint32(52, true))
        : shape === "syscall" && ctxIn
          ? ctxIn
          : undefined,
    };
  }

  /**
   * Pins the loaded program at `path` on a bpf filesystem: it then stays
   * loaded after the object closes and the process exits, until `unpin()`
   * or `rm path`. One pin at a time.
   */
  pin(path: string): void {
    const p = this.#loadedHandle("pin");
    // A second pin would orphan the first: it keeps the program loaded
    // after the process exits, and unpin() only knows the last.
    if (this.#pinned !== null) {
      throw new StateError(
        `pin: program '${this.name}' is pinned at ${this.#pinned} already: unpin() it first`,
      );
    }
    checkPinPath("bpf_program__pin", path);
    clearLibbpfLog();
    const err = libbpf().bpf_program__pin(p, cstr(path));
    if (err < 0) throw bpfError("bpf_program__pin", err, { kind: "pin", path });
    this.#pinned = path;
  }

  /** Removes a pin (default: the last `pin()` path). */
  unpin(path?: string): void {
    const p = this.#loadedHandle("unpin");
    const target = path ?? this.#pinned;
    if (target === null) {
      throw new StateError(`program '${this.name}' is not pinned: pass a path`);
    }
    // libbpf unlinks whatever is at the path: make sure it pins this program.
    if (target !== this.#pinned)
      checkPinOf(target, "bpf-prog", this.id, `program '${this.name}'`);
    clearLibbpfLog();
    const err = libbpf().bpf_program__unpin(p, cstr(target));
    if (err < 0)
      throw bpfError("bpf_program__unpin", err, { kind: "pin", path: target });
    if (target === this.#pinned) this.#pinned = null;
  }

  /** Where `pin()` pinned it, or null. */
  get pinnedPath(): string | null {
    return this.#pinned;
  }

  /**
   * Releases this handle (further use → ClosedError). The program stays
   * loaded until its object closes.
   */
  close(): void {
    this.#closed = true;
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function testRunEinvalHint(
  shape: TestRunShape,
  type: ProgramType,
): string | undefined {
  if (shape === "syscall")
    return "syscall programs need a ctx at least as large as the struct the program reads";
  if (shape === "raw_tp")
    return "raw_tp programs need a ctx of the u64 arguments they read (at most 12), and a cpu that is online";
  if (type === "xdp" || type === "sched_cls" || type === "sched_act")
    return "packet programs need data of 14 bytes (an Ethernet header) up to about a page (4 KiB less the kernel's head- and tailroom), and a ctx whose fields the kernel accepts";
  return undefined;
}
