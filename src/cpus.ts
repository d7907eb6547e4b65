/**
 * The CPUs that are online, for what is opened once per CPU (a profiler's
 * perf events). Per-CPU maps count possible CPUs instead (`possibleCpus()`):
 * a VM often has more possible CPUs than online ones, and perf_event_open
 * refuses an offline CPU (ENODEV).
 */
import { BpfTypeError, TsbpfError } from "./errors.ts";
import { readFileBytes } from "./io.ts";

/**
 * Parses a kernel CPU list ("0-3,5,7-8", as in
 * /sys/devices/system/cpu/online) into CPU numbers, ascending.
 */
export function parseCpuList(text: string): number[] {
  if (typeof text !== "string") {
    throw new BpfTypeError(
      `parseCpuList takes the text of a CPU list ("0-3,5"), got ${typeof text}`,
    );
  }
  const cpus = new Set<number>();
  const body = text.trim();
  if (body === "") return [];
  for (const part of body.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    const lo = m ? Number(m[1]) : NaN;
    const hi = m?.[2] !== undefined ? Number(m[2]) : lo;
    // The kernel's NR_CPUS is at most 8192 (arch/x86/Kconfig).
    if (!m || hi < lo || hi >= 1 << 16) {
      throw new TsbpfError(
        `'${part}' in CPU list '${body}' is not a CPU or a range of CPUs (e.g. "0-3,5")`,
      );
    }
    for (let c = lo; c <= hi; c++) cpus.add(c);
  }
  return [...cpus].sort((a, b) => a - b);
}

/**
 * The online CPUs' numbers (from /sys/devices/system/cpu/online), read
 * afresh each call: CPUs can go offline and come back. A profiler attaches
 * its perf event once for each.
 */
export function onlineCpus(): number[] {
  return parseCpuList(onlineCpuText());
}

/** The online CPU list as the kernel writes it ("0-3,5"), trimmed. */
export function onlineCpuText(): string {
  const path = "/sys/devices/system/cpu/online";
  return new TextDecoder().decode(readFileBytes(path)).trim();
}
