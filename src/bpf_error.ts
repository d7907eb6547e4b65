/**
 * Builds the `BpfError` for a failed libbpf call: errno, its name, libbpf's
 * message (libbpf_strerror knows its 4000+ codes too), the captured libbpf
 * log, and a hint for the usual causes.
 */
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  realpathSync,
  statSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import { cstr, libbpf, libc } from "../ffi/mod.ts";
import { BpfError } from "./errors.ts";
import { errnoMessage, errnoName } from "./errno.ts";
import { takeLibbpfLog } from "./libbpf_log.ts";

/** What was being done, to pick a hint. */
export type FailContext =
  | { kind: "tracepoint"; category: string; name: string }
  | { kind: "kprobe"; fn: string }
  | { kind: "pin"; path: string }
  | { kind: "map-update" }
  | { kind: "attach" }
  | { kind: "cgroup"; path: string }
  | { kind: "tracefs"; path: string }
  | { kind: "other" };

/** What to do when tracefs is not mounted. */
export const TRACEFS_MOUNT_HINT =
  "tracefs is not mounted: mount -t tracefs tracefs /sys/kernel/tracing";

/** The tracefs directory libbpf uses, or null when tracefs is not mounted. */
export function tracefsDir(): string | null {
  // libbpf ≥ 1.0 prefers /sys/kernel/tracing, then /sys/kernel/debug/tracing.
  for (const d of ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"]) {
    if (existsSync(`${d}/events`)) return d;
  }
  return null;
}

/**
 * Whether the kernel refuses root the list of functions ftrace can hook
 * (`available_filter_functions`: EPERM). Where it does, it makes no
 * ftrace trampolines either, which fentry/fexit/fmod_ret and lsm need.
 */
export function ftraceFunctionsDenied(): boolean {
  const dir = tracefsDir();
  if (dir === null) return false;
  try {
    closeSync(openSync(`${dir}/available_filter_functions`, "r"));
    return false;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** True when a bpf filesystem is mounted at (a parent of) `path`. */
export function onBpffs(path: string): boolean {
  let mounts: string;
  try {
    mounts = readFileSync("/proc/self/mounts", "utf8");
  } catch {
    return true; // cannot tell: do not claim it is missing
  }
  let best = "";
  let bestType = "";
  for (const line of mounts.split("\n")) {
    const [, dir, type] = line.split(" ");
    if (!dir || !type) continue;
    const d = dir.replace(/\\040/g, " ");
    if (
      (path === d || path.startsWith(d.endsWith("/") ? d : d + "/")) &&
      d.length >= best.length
    ) {
      best = d;
      bestType = type;
    }
  }
  return bestType === "bpf";
}

/**
 * Throws the pin error for `path` off a bpffs (of `map`, when a load
 * pins it) before libbpf sees it:
 * libbpf's pin calls create the missing parent directories first and only
 * then find the path unusable, leaving those directories behind.
 */
export function checkPinPath(op: string, path: string, map?: string): void {
  cstr(path);
  const abs = resolve(path);
  if (onBpffs(abs) || onBpffs(realPrefix(abs))) return;
  throw bpfError(
    op,
    22,
    { kind: "pin", path: abs },
    { log: "", detail: map ? `map '${map}' pinPath ${abs}` : undefined },
  );
}

/**
 * `abs` with symlinks in its longest existing prefix resolved (the kernel
 * and libbpf follow them; the mount table lists real paths).
 */
function realPrefix(abs: string): string {
  let dir = abs;
  let rest = "";
  while (!existsSync(dir)) {
    const parent = dirname(dir);
    if (parent === dir) return abs;
    rest = dir.slice(parent.length) + rest;
    dir = parent;
  }
  try {
    return realpathSync(dir) + rest;
  } catch {
    return abs;
  }
}

/** Where cgroup v2 is mounted (from /proc/self/mounts), or null. */
export function cgroup2Mount(): string | null {
  try {
    for (const line of readFileSync("/proc/self/mounts", "utf8").split("\n")) {
      const [, dir, type] = line.split(" ");
      if (type === "cgroup2" && dir) return dir;
    }
  } catch {
    // unreadable (e.g. Deno without --allow-read): no suggestion
  }
  return null;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** True when the kernel can create kprobes (CONFIG_KPROBES). */
export function kprobesAvailable(): boolean {
  return (
    existsSync("/sys/bus/event_source/devices/kprobe") ||
    existsSync("/sys/kernel/tracing/kprobe_events") ||
    existsSync("/sys/kernel/debug/tracing/kprobe_events")
  );
}

// Through libc, not process.getuid(): Deno throws NotCapable for that
// without --allow-sys, which would replace the BpfError being built.
function isRoot(): boolean {
  try {
    return libc().geteuid() === 0;
  } catch {
    return false;
  }
}

function hintFor(errno: number, ctx: FailContext): string | undefined {
  const name = errnoName(errno);
  if (ctx.kind === "tracepoint" && name === "ENOENT") {
    return tracefsDir() === null
      ? TRACEFS_MOUNT_HINT
      : `no tracepoint ${ctx.category}/${ctx.name}: see ${tracefsDir()}/events/${ctx.category}/`;
  }
  if (ctx.kind === "tracefs") {
    if (name === "ENOENT") {
      return tracefsDir() === null
        ? TRACEFS_MOUNT_HINT
        : `no ${ctx.path}: the kernel was built without it (CONFIG_TRACING)`;
    }
    if ((name === "EPERM" || name === "EACCES") && !isRoot()) {
      return `tracefs is root's: run as root to read ${ctx.path}`;
    }
  }
  if (ctx.kind === "kprobe") {
    if (!kprobesAvailable()) {
      return ftraceFunctionsDenied()
        ? "kernel built without CONFIG_KPROBES (no /sys/kernel/tracing/kprobe_events): kprobes cannot attach here, nor fentry/fexit (ftrace's function hooks are closed to root too); use a tracepoint, raw_tp or tp_btf program"
        : "kernel built without CONFIG_KPROBES (no /sys/kernel/tracing/kprobe_events): kprobes cannot attach here; use fentry/fexit (attachTrace) or a tracepoint";
    }
    if (name === "ENOENT" || name === "EINVAL") {
      return `no probe-able kernel function '${ctx.fn}': check /proc/kallsyms and available_filter_functions (it may be inlined or notrace)`;
    }
  }
  if (ctx.kind === "pin") {
    if (!onBpffs(ctx.path)) {
      return `${ctx.path} is not on a bpf filesystem: mount -t bpf bpf /sys/fs/bpf (pins must live under a bpffs mount)`;
    }
    if (isDirectory(ctx.path)) {
      if (name === "EEXIST")
        return `${ctx.path} is a directory: pin at a path in it, e.g. ${ctx.path.replace(/\/+$/, "")}/name`;
      if (name === "EACCES" || name === "EPERM")
        return `${ctx.path} is a directory: a pin is a file in it (ls ${ctx.path})`;
    }
    if (name === "EEXIST")
      return `something is already pinned at ${ctx.path}: unpin it (rm ${ctx.path}) or pick another path`;
    if (name === "ENOENT") {
      const dir = dirname(ctx.path);
      return existsSync(dir)
        ? `nothing is pinned at ${ctx.path}: check the path (ls ${dir})`
        : `the directory ${dir} does not exist: create it first (mkdir -p ${dir}), or check the path`;
    }
  }
  if (ctx.kind === "cgroup" && name === "EBADF") {
    const v2 = cgroup2Mount();
    return `${ctx.path} is not a cgroup v2 directory: ${v2 ? `use ${v2} or a directory under it` : "use a directory on a cgroup2 mount (findmnt -t cgroup2 lists them: usually /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems)"}`;
  }
  if (ctx.kind === "map-update" && (name === "E2BIG" || name === "ENOSPC")) {
    return "the map is full: raise maxEntries before load, or use an LRU map (lru_hash) that evicts";
  }
  if (name === "EPERM" || name === "EACCES") {
    return isRoot()
      ? "permission denied although running as root: CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN may be dropped in this container, or kernel lockdown is on"
      : "missing CAP_BPF/CAP_PERFMON (and CAP_NET_ADMIN for networking): run as root or grant them, e.g. setcap cap_bpf,cap_perfmon,cap_net_admin+ep <runtime binary>";
  }
  if (name === "EMFILE") {
    return "this process has run out of file descriptors (ulimit -n): raise the limit, or close() objects, maps and links it no longer needs";
  }
  if (name === "ENFILE") {
    return "the system has run out of file descriptors (fs.file-max)";
  }
  if (name === "EOPNOTSUPP" || name === "ENOTSUPP") {
    return "the running kernel lacks this feature (or this program type cannot do it)";
  }
  return undefined;
}

/** libbpf's message for an error code, or the errno table's. */
export function libbpfMessage(errno: number): string {
  try {
    const buf = new Uint8Array(256);
    libbpf().libbpf_strerror(errno, buf, buf.length);
    const end = buf.indexOf(0);
    const msg = new TextDecoder().decode(
      buf.subarray(0, end < 0 ? buf.length : end),
    );
    if (msg && !msg.startsWith("Unknown")) return msg;
  } catch {
    // fall through to our table
  }
  return errnoMessage(errno);
}

/**
 * The libbpf log line that best says why a call failed: the first one that
 * reports a failure (later ones tend to be "failed to load object"), else
 * the last; without the "libbpf: " prefix. "" for an empty log.
 */
export function reasonLine(log: string): string {
  // libbpf ≥ 1.0 warns that it could not raise RLIMIT_MEMLOCK whenever it
  // lacks CAP_SYS_RESOURCE; kernels ≥ 5.11 charge BPF memory to the memcg,
  // so that line is never the reason.
  const lines = log
    .trim()
    .split("\n")
    .filter((l) => l && !l.includes("Failed to bump RLIMIT_MEMLOCK"));
  const why = lines.find((l) =>
    /fail|error|invalid|not |unknown|can't|couldn't|cannot/i.test(l),
  );
  return (why ?? lines[lines.length - 1] ?? "").replace(/^libbpf: /, "");
}

/**
 * Operations that can write to libbpf's log: its object-level API
 * (`bpf_object__load`, `ring_buffer__new`, ...), the tc netlink calls and
 * `libbpf_*` helpers. The thin syscall wrappers (`bpf_map_create`,
 * `bpf_link_update`, ...) and libc calls never do: an error from them must
 * not carry lines left over from an earlier call that succeeded.
 */
const LOGGING_OP = /__|^bpf_tc_|^libbpf_/;

/**
 * A `BpfError` for `op` failing with `errno` (either sign). Takes the libbpf
 * log captured since the last `clearLibbpfLog()` (or `extra.log`) when `op`
 * is one that logs.
 */
export function bpfError(
  op: string,
  errno: number,
  ctx: FailContext = { kind: "other" },
  extra?: { hint?: string; detail?: string; log?: string },
): BpfError {
  const e = Math.abs(errno);
  const log = extra?.log ?? (LOGGING_OP.test(op) ? takeLibbpfLog() : "");
  const message = extra?.detail
    ? `${extra.detail}: ${libbpfMessage(e)}`
    : libbpfMessage(e);
  return new BpfError(op, e, errnoName(e), message, {
    hint: extra?.hint ?? hintFor(e, ctx),
    libbpfLog: log,
  });
}
