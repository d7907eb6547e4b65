/**
 * What the kernel reports about a loaded program (`struct bpf_prog_info`,
 * what `bpftool prog show` prints), and the switch that makes it count
 * runs (`BPF_ENABLE_STATS`).
 */
import { addressOf, libbpf, libc } from "../ffi/mod.ts";
import { bpfError } from "./bpf_error.ts";
import { objectInfo } from "./obj_info.ts";
import { type ProgramType, programTypeName } from "./program_types.ts";

/** What the kernel reports about a loaded program. */
export interface ProgramInfo {
  /** Kernel program id. */
  readonly id: number;
  /** Program type, e.g. "tracepoint". */
  readonly type: ProgramType;
  /** The kernel's copy of the name (at most 15 bytes). */
  readonly name: string;
  /** The program's tag: a hash of its instructions, as 16 hex digits. */
  readonly tag: string;
  /** Load time in nanoseconds since boot (CLOCK_BOOTTIME). */
  readonly loadTime: bigint;
  /** uid of the process that loaded it. */
  readonly createdByUid: number;
  /** Ids of the maps it uses. */
  readonly mapIds: readonly number[];
  /** Id of the kernel BTF object with its types; 0 when none. */
  readonly btfId: number;
  /** Whether its license is GPL-compatible. */
  readonly gplCompatible: boolean;
  /** Size of the JIT-compiled code in bytes (0 when not JITed or hidden). */
  readonly jitedSize: number;
  /** Size of the translated (post-verifier) instructions in bytes. */
  readonly translatedSize: number;
  /** Instructions the verifier processed. */
  readonly verifiedInstructions: number;
  /**
   * Times it ran: counted only while run statistics are on
   * ({@link enableRunStats}, or sysctl `kernel.bpf_stats_enabled=1`).
   */
  readonly runCount: bigint;
  /** Total run time in nanoseconds; counted as `runCount` is. */
  readonly runTimeNs: bigint;
  /** Runs skipped because the program was already running on that CPU. */
  readonly recursionMisses: bigint;
}

/** sizeof(struct bpf_prog_info) as of Linux 5.16; older kernels fill less. */
const PROG_INFO_SIZE = 232;

/** bpf_obj_get_info_by_fd on a program fd. */
export function programInfo(fd: number): ProgramInfo {
  const buf = new Uint8Array(PROG_INFO_SIZE);
  objectInfo(fd, buf);
  const v = new DataView(buf.buffer);
  const nrMaps = v.getUint32(52, true);
  let mapIds: number[] = [];
  if (nrMaps > 0) {
    // Ask again with room for the map ids (the kernel reports how many).
    const ids = new Uint32Array(nrMaps);
    const again = new Uint8Array(PROG_INFO_SIZE);
    const w = new DataView(again.buffer);
    w.setUint32(52, nrMaps, true);
    w.setBigUint64(56, addressOf(new Uint8Array(ids.buffer)), true);
    objectInfo(fd, again);
    mapIds = Array.from(
      ids.subarray(0, Math.min(nrMaps, w.getUint32(52, true))),
    );
  }
  const name = buf.subarray(64, 80);
  const end = name.indexOf(0);
  let tag = "";
  for (const b of buf.subarray(8, 16)) tag += b.toString(16).padStart(2, "0");
  return {
    id: v.getUint32(4, true),
    type: programTypeName(v.getUint32(0, true)),
    name: new TextDecoder().decode(name.subarray(0, end < 0 ? 16 : end)),
    tag,
    loadTime: v.getBigUint64(40, true),
    createdByUid: v.getUint32(48, true),
    mapIds,
    btfId: v.getUint32(128, true),
    gplCompatible: (v.getUint32(84, true) & 1) === 1,
    jitedSize: v.getUint32(16, true),
    translatedSize: v.getUint32(20, true),
    verifiedInstructions: v.getUint32(216, true),
    runCount: v.getBigUint64(200, true),
    runTimeNs: v.getBigUint64(192, true),
    recursionMisses: v.getBigUint64(208, true),
  };
}

/** enum bpf_stats_type BPF_STATS_RUN_TIME (uapi/linux/bpf.h). */
const BPF_STATS_RUN_TIME = 0;

/**
 * Run statistics switched on for every BPF program (what
 * `kernel.bpf_stats_enabled` does, but undone when this closes, or when the
 * process exits). Counting costs each program run two clock reads.
 */
export class RunStats implements Disposable {
  #fd: number;

  /** @internal Made by {@link enableRunStats}. */
  constructor(fd: number) {
    this.#fd = fd;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** Stops counting (unless something else keeps statistics on); idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Turns on run statistics (`runCount`, `runTimeNs` in
 * `program.info()`) until the returned handle closes.
 *
 * ```ts
 * using stats = enableRunStats();
 * // ... later
 * const { runCount, runTimeNs } = obj.program("handle_exec").info();
 * ```
 */
export function enableRunStats(): RunStats {
  const fd = libbpf().bpf_enable_stats(BPF_STATS_RUN_TIME);
  if (fd < 0) {
    throw bpfError("bpf_enable_stats", fd, undefined, {
      hint:
        Math.abs(fd) === 1
          ? "turning on BPF run statistics needs CAP_SYS_ADMIN (root)"
          : undefined,
    });
  }
  return new RunStats(fd);
}
