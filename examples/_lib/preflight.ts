/**
 * Checks an example makes before touching BPF, each ending the process
 * with a clear message and exit code 1 when it fails: not privileged
 * enough, or tracefs not mounted.
 */
import { existsSync, readFileSync } from "node:fs";
import process from "node:process";

// include/uapi/linux/capability.h
const CAP_NET_ADMIN = 12;
const CAP_SYS_ADMIN = 21;
const CAP_PERFMON = 38;
const CAP_BPF = 39;

/**
 * The effective capability set of this process (from /proc/self/status);
 * undefined when it cannot be read (Deno allows that file only with
 * --allow-all): then the kernel's EPERM decides, see `runTool`.
 */
function effectiveCaps(): bigint | undefined {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(
      readFileSync("/proc/self/status", "utf8"),
    );
    return m ? BigInt("0x" + m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function has(caps: bigint, cap: number): boolean {
  return ((caps >> BigInt(cap)) & 1n) === 1n;
}

/** Prints `message` on stderr and exits with status 1. */
export function fail(tool: string, message: string): never {
  process.stderr.write(`${tool}: ${message}\n`);
  process.exit(1);
}

/**
 * Exits unless the process may load BPF programs: CAP_BPF (or
 * CAP_SYS_ADMIN), plus CAP_PERFMON for tracing or CAP_NET_ADMIN for
 * networking programs.
 */
export function requirePrivileges(
  tool: string,
  kind: "tracing" | "networking",
): void {
  const caps = effectiveCaps();
  if (caps === undefined) return;
  const bpf = has(caps, CAP_BPF) || has(caps, CAP_SYS_ADMIN);
  const second =
    kind === "tracing"
      ? has(caps, CAP_PERFMON) || has(caps, CAP_SYS_ADMIN)
      : has(caps, CAP_NET_ADMIN);
  if (!bpf || !second) {
    fail(tool, privilegeMessage(kind));
  }
}

/** What to tell a user who lacks the privileges for `kind` programs. */
export function privilegeMessage(kind: "tracing" | "networking"): string {
  const need =
    kind === "tracing"
      ? "CAP_BPF and CAP_PERFMON"
      : "CAP_BPF and CAP_NET_ADMIN";
  return `needs root (or ${need}) to load BPF programs; run it with sudo`;
}

/**
 * Exits unless tracefs is mounted (tracepoint attach needs it). Deno lets
 * a program look at /sys only with --allow-all: without it, no check.
 */
export function requireTracefs(tool: string): void {
  try {
    if (
      existsSync("/sys/kernel/tracing/events") ||
      existsSync("/sys/kernel/debug/tracing/events")
    ) {
      return;
    }
  } catch {
    return;
  }
  fail(
    tool,
    "tracefs is not mounted (tracepoints need it); mount it with:\n" +
      "  sudo mount -t tracefs tracefs /sys/kernel/tracing",
  );
}
