/**
 * Opening perf events for `SEC("perf_event")` programs: the options a
 * profiler or a sampler gives (event, rate, process, CPU) turned into a
 * `struct perf_event_attr` and a perf_event_open(2) call.
 */
import { errno, perfEventOpen } from "../ffi/mod.ts";
import { onlineCpuText } from "./cpus.ts";
import { possibleCpus } from "./map.ts";
import { bpfError } from "./bpf_error.ts";
import { BpfTypeError } from "./errors.ts";

/** Options of `program.attachPerfEvent({...})`: one perf event, opened for the program. */
export interface PerfEventOptions {
  /** "software", "hardware", or a PERF_TYPE_* number. */
  readonly type: "software" | "hardware" | number;
  /**
   * The event: a name ("cpu-clock", "task-clock", "page-faults",
   * "context-switches", "cpu-migrations", ... for software; "cpu-cycles",
   * "instructions", "cache-misses", "branch-misses", ... for hardware), or
   * a PERF_COUNT_* number.
   */
  readonly config: string | number | bigint;
  /** Samples per second (sample_freq). Give this or `period`. */
  readonly frequency?: number;
  /** One sample every `period` events (for cpu-clock: nanoseconds). */
  readonly period?: number | bigint;
  /**
   * Thread to watch: -1 = every thread (default; needs `cpu`), 0 = the
   * calling thread, else a thread id. A perf event follows one thread, so
   * a process's pid watches its main thread only.
   */
  readonly pid?: number;
  /** CPU to watch: -1 = any (default; needs a `pid`). */
  readonly cpu?: number;
}

// include/uapi/linux/perf_event.h
const PERF_TYPE: Record<string, number> = { hardware: 0, software: 1 };
const SOFTWARE = [
  "cpu-clock",
  "task-clock",
  "page-faults",
  "context-switches",
  "cpu-migrations",
  "minor-faults",
  "major-faults",
  "alignment-faults",
  "emulation-faults",
  "dummy",
  "bpf-output",
];
const HARDWARE = [
  "cpu-cycles",
  "instructions",
  "cache-references",
  "cache-misses",
  "branch-instructions",
  "branch-misses",
  "bus-cycles",
  "stalled-cycles-frontend",
  "stalled-cycles-backend",
  "ref-cpu-cycles",
];
// PERF_ATTR_SIZE_VER5: every field up to sample_max_stack.
const ATTR_SIZE = 112;
// Bit of `freq` in the flags word (after disabled, inherit, pinned,
// exclusive, exclude_user, exclude_kernel, exclude_hv, exclude_idle, mmap, comm).
const FLAG_FREQ = 1n << 10n;
// perf_event_open flags: close the fd across exec, as libbpf's own do.
const PERF_FLAG_FD_CLOEXEC = 8;

/** `struct perf_event_attr` for `o`; throws BpfTypeError for options that cannot work. */
export function perfEventAttr(o: PerfEventOptions): Uint8Array {
  if (typeof o !== "object" || o === null) {
    throw new BpfTypeError(
      "attachPerfEvent needs a perf event fd or options: { type, config, frequency | period, pid?, cpu? }",
    );
  }
  const type = typeof o.type === "number" ? o.type : PERF_TYPE[o.type];
  if (
    type === undefined ||
    !Number.isInteger(type) ||
    type < 0 ||
    type > 0xffffffff
  ) {
    throw new BpfTypeError(
      `perf event type is "software", "hardware" or a PERF_TYPE_* number, got ${String(o.type)}`,
    );
  }
  let config: bigint;
  if (typeof o.config === "string") {
    const names = type === 1 ? SOFTWARE : type === 0 ? HARDWARE : [];
    const i = names.indexOf(o.config);
    if (i < 0) {
      throw new BpfTypeError(
        `unknown ${o.type} event '${o.config}'` +
          (names.length
            ? `: one of ${names.join(", ")}, or a PERF_COUNT_* number`
            : ": give a number for this event type"),
      );
    }
    config = BigInt(i);
  } else if (
    (typeof o.config === "number" &&
      Number.isSafeInteger(o.config) &&
      o.config >= 0) ||
    (typeof o.config === "bigint" && o.config >= 0n)
  ) {
    config = BigInt(o.config);
  } else {
    throw new BpfTypeError(
      `perf event config is an event name or a non-negative integer, got ${String(o.config)}`,
    );
  }
  if ((o.frequency === undefined) === (o.period === undefined)) {
    throw new BpfTypeError(
      "perf event: give either frequency (samples per second) or period (events per sample)",
    );
  }
  const r = o.frequency ?? o.period!;
  if (
    !(
      (typeof r === "number" && Number.isSafeInteger(r) && r > 0) ||
      (typeof r === "bigint" && r > 0n && r < 1n << 64n)
    )
  ) {
    throw new BpfTypeError(
      `perf event: ${o.frequency !== undefined ? "frequency" : "period"} must be a positive integer, got ${String(r)}`,
    );
  }
  const rate = BigInt(r);
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, ATTR_SIZE, true);
  v.setBigUint64(8, config, true);
  v.setBigUint64(16, rate, true);
  v.setBigUint64(40, o.frequency !== undefined ? FLAG_FREQ : 0n, true);
  return attr;
}

/** Opens the perf event `o` describes; returns its fd. */
export function openPerfEvent(o: PerfEventOptions): number {
  const attr = perfEventAttr(o);
  const pid = o.pid ?? -1;
  const cpu = o.cpu ?? -1;
  for (const [k, x] of [
    ["pid", pid],
    ["cpu", cpu],
  ] as const) {
    if (!(Number.isInteger(x) && x >= -1 && x <= 0x7fffffff)) {
      throw new BpfTypeError(
        `perf event: ${k} must be an integer from -1 to 2^31-1, got ${String(x)}`,
      );
    }
  }
  if (pid === -1 && cpu === -1) {
    throw new BpfTypeError(
      "perf event: pid -1 (every process) needs a cpu: attach once for each cpu of onlineCpus()",
    );
  }
  const fd = perfEventOpen(attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd >= 0) return fd;
  const e = -fd || errno();
  const what = `${typeof o.type === "string" ? o.type : `type ${o.type}`} event ${String(o.config)} (pid ${pid}, cpu ${cpu})`;
  throw bpfError(
    "perf_event_open",
    e,
    { kind: "other" },
    {
      log: "",
      detail: `cannot open ${what}`,
      hint:
        e === 2 || e === 95
          ? `this machine has no such event${o.type === "hardware" ? " (virtual machines often have no hardware PMU)" : ""}: try type "software", config "cpu-clock"`
          : e === 19 || (e === 22 && cpu >= possibleCpus())
            ? `CPU ${cpu} is not online (/sys/devices/system/cpu/online: ${onlineList()}): attach on the CPUs onlineCpus() lists`
            : e === 3
              ? `no process ${pid}`
              : e === 22 && o.frequency !== undefined
                ? `the kernel refused frequency ${o.frequency}: it must not exceed /proc/sys/kernel/perf_event_max_sample_rate`
                : undefined,
    },
  );
}

/** The online CPU list as the kernel writes it ("0-3,5"), for a hint. */
function onlineList(): string {
  try {
    return onlineCpuText();
  } catch {
    return "unknown";
  }
}
