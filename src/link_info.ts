/**
 * What the kernel reports about a link (`struct bpf_link_info`, `bpftool
 * link show`): the common id, type and program id, and the details of its
 * type. Offsets are those of uapi/linux/bpf.h (Linux 6.18, checked against
 * the running kernel's BTF of struct bpf_link_info): type, id, prog_id at
 * 0, 4, 8, and the per-type union at 16 (it holds u64s).
 */
import { addressOf } from "../ffi/mod.ts";
import { type AttachType, attachTypeName } from "./attach_types.ts";
import { objectInfo } from "./obj_info.ts";

/** enum bpf_link_type names (uapi/linux/bpf.h), index = value. */
const LINK_TYPES = [
  "unspec",
  "raw_tracepoint",
  "tracing",
  "cgroup",
  "iter",
  "netns",
  "xdp",
  "perf_event",
  "kprobe_multi",
  "struct_ops",
  "netfilter",
  "tcx",
  "uprobe_multi",
  "netkit",
  "sockmap",
] as const;

/** enum bpf_perf_event_type names, index = value. */
const PERF_EVENT_TYPES = [
  "unspec",
  "uprobe",
  "uretprobe",
  "kprobe",
  "kretprobe",
  "tracepoint",
  "event",
] as const;

/** enum bpf_cgroup_iter_order names (as attachIter's `order`), index = value. */
const CGROUP_ITER_ORDERS = [
  "unspec",
  "self",
  "descendants-pre",
  "descendants-post",
  "ancestors-up",
] as const;

// NFPROTO_* (uapi/linux/netfilter.h) and enum nf_inet_hooks.
const NF_FAMILIES: Readonly<Record<number, string>> = { 2: "ipv4", 10: "ipv6" };
const NF_HOOKS = ["prerouting", "input", "forward", "output", "postrouting"];

/** A link type name, e.g. "raw_tracepoint", "xdp", "cgroup". */
export type LinkType = (typeof LINK_TYPES)[number] | `unknown(${number})`;

export type { AttachType } from "./attach_types.ts";

interface Common<T extends LinkType> {
  /** Kernel link id (`bpftool link show id N`). */
  readonly id: number;
  /** Link type: it says which other fields there are. */
  readonly type: T;
  /** Id of the program it attaches (the kernel keeps reporting it after `detach()`). */
  readonly programId: number;
}

/** A raw tracepoint link (`raw_tp/...`, `attachRawTracepoint`). */
export interface RawTracepointLinkInfo extends Common<"raw_tracepoint"> {
  /** The tracepoint, e.g. "sys_enter". */
  readonly tpName: string;
  /** BPF cookie (0 when none, or when the kernel does not report it). */
  readonly cookie: bigint;
}

/** A tracing link: tp_btf, fentry/fexit/fmod_ret, lsm. */
export interface TracingLinkInfo extends Common<"tracing"> {
  /** e.g. "trace_raw_tp" (tp_btf), "trace_fentry", "lsm_mac". */
  readonly attachType: AttachType;
  /**
   * Id of the target program (fentry/fexit or freplace of a BPF program),
   * else of the BTF object holding the target function (vmlinux's, or a
   * module's).
   */
  readonly targetObjId: number;
  /** BTF type id of the target function or tracepoint in that BTF. */
  readonly targetBtfId: number;
  /** BPF cookie (0 when none). */
  readonly cookie: bigint;
}

/** A cgroup link (`attachCgroup`). */
export interface CgroupLinkInfo extends Common<"cgroup"> {
  /** Cgroup id (the inode number of its directory in cgroup2). */
  readonly cgroupId: bigint;
  /** e.g. "cgroup_inet4_connect", "cgroup_device". */
  readonly attachType: AttachType;
}

/** An iterator link (`attachIter`). */
export interface IterLinkInfo extends Common<"iter"> {
  /** What it walks, e.g. "task", "bpf_map_elem", "cgroup". */
  readonly targetName: string;
  /** The map a map iterator walks (bpf_map_elem, sockmap, bpf_sk_storage_map). */
  readonly mapId?: number;
  /** The cgroup a cgroup iterator starts at. */
  readonly cgroupId?: bigint;
  /** A cgroup iterator's walk order. */
  readonly order?: (typeof CGROUP_ITER_ORDERS)[number] | `unknown(${number})`;
  /** The thread a task iterator is limited to (0: none). */
  readonly tid?: number;
  /** The process a task iterator is limited to (0: none). */
  readonly pid?: number;
}

/** A network namespace link (`attachNetns`: sk_lookup, flow_dissector). */
export interface NetnsLinkInfo extends Common<"netns"> {
  /** Inode number of the namespace (`ls -Li /run/netns/NAME`, `/proc/PID/ns/net`). */
  readonly netnsIno: number;
  /** "sk_lookup" or "flow_dissector". */
  readonly attachType: AttachType;
}

/** An XDP link (`attachXdp`). */
export interface XdpLinkInfo extends Common<"xdp"> {
  /** The interface's index (0 once the interface is gone). */
  readonly ifindex: number;
}

/** A struct_ops link (`map.attachStructOps`). */
export interface StructOpsLinkInfo extends Common<"struct_ops"> {
  /** Id of the struct_ops map it registers. */
  readonly mapId: number;
}

/** A netfilter link (`attachNetfilter`). */
export interface NetfilterLinkInfo extends Common<"netfilter"> {
  /** Protocol family number (NFPROTO_*: 2 IPv4, 10 IPv6). */
  readonly pf: number;
  /** "ipv4", "ipv6", or the number as a string. */
  readonly family: string;
  /** Hook number (enum nf_inet_hooks). */
  readonly hooknum: number;
  /** "prerouting", "input", "forward", "output", "postrouting", or the number as a string. */
  readonly hook: string;
  /** Priority among the hook's functions. */
  readonly priority: number;
  /** BPF_F_NETFILTER_* flags (1: IP defragmentation). */
  readonly flags: number;
}

/** A kprobe_multi link (`kprobe.multi/...`). */
export interface KprobeMultiLinkInfo extends Common<"kprobe_multi"> {
  /** How many functions it probes. */
  readonly count: number;
  /** BPF_F_KPROBE_MULTI_RETURN (1) for kretprobes. */
  readonly flags: number;
  /** Runs missed (recursion or no room). */
  readonly missed: bigint;
}

/** An uprobe_multi link (`uprobe.multi/...`). */
export interface UprobeMultiLinkInfo extends Common<"uprobe_multi"> {
  /** How many offsets it probes. */
  readonly count: number;
  /** BPF_F_UPROBE_MULTI_RETURN (1) for uretprobes. */
  readonly flags: number;
  /** The process it is limited to (0: all). */
  readonly pid: number;
}

/** Common fields of a perf_event link. */
interface PerfCommon<E extends (typeof PERF_EVENT_TYPES)[number]>
  extends Common<"perf_event"> {
  /** What the perf event is: it says which other fields there are. */
  readonly perfEventType: E;
  /** BPF cookie (0 when none). */
  readonly cookie: bigint;
}

/** A perf_event link of a tracepoint (`tp/...`, `attachTracepoint`). */
export interface TracepointLinkInfo extends PerfCommon<"tracepoint"> {
  /** The tracepoint's name, e.g. "sys_enter_getpid". */
  readonly tpName: string;
}

/** A perf_event link of a uprobe or uretprobe (`attachUprobe`). */
export interface UprobeLinkInfo extends PerfCommon<"uprobe" | "uretprobe"> {
  /** The probed file. */
  readonly fileName: string;
  /** Offset of the probe in the file. */
  readonly offset: number;
  /** Offset of the reference counter (USDT semaphore), 0 when none. */
  readonly refCtrOffset: bigint;
}

/** A perf_event link of a kprobe or kretprobe (`attachKprobe`). */
export interface KprobeLinkInfo extends PerfCommon<"kprobe" | "kretprobe"> {
  /** The probed function ("" for a probe at an address). */
  readonly funcName: string;
  /** Offset into the function. */
  readonly offset: number;
  /** Kernel address of the probe (0 where /proc/kallsyms would hide it). */
  readonly addr: bigint;
  /** Runs missed. */
  readonly missed: bigint;
}

/** A perf_event link of a hardware or software event (`attachPerfEvent`). */
export interface PerfEventLinkInfoEvent extends PerfCommon<"event"> {
  /** perf_event_attr.type (PERF_TYPE_*: 0 hardware, 1 software, ...). */
  readonly eventType: number;
  /** perf_event_attr.config. */
  readonly config: bigint;
}

/** A perf_event link the kernel describes no further. */
export type PerfUnspecLinkInfo = PerfCommon<"unspec">;

/** A perf_event link, by what its event is. */
export type PerfEventLinkInfo =
  | TracepointLinkInfo
  | UprobeLinkInfo
  | KprobeLinkInfo
  | PerfEventLinkInfoEvent
  | PerfUnspecLinkInfo;

/** A tcx or netkit link (`attachTcx`). */
export interface DeviceLinkInfo extends Common<"tcx" | "netkit"> {
  /** The interface's index (0 once the interface is gone). */
  readonly ifindex: number;
  /** "tcx_ingress", "tcx_egress", "netkit_primary" or "netkit_peer". */
  readonly attachType: AttachType;
}

/** A sockmap link (`attachSockmap`). */
export interface SockmapLinkInfo extends Common<"sockmap"> {
  /** Id of the sockmap or sockhash. */
  readonly mapId: number;
  /** e.g. "sk_msg_verdict", "sk_skb_stream_verdict". */
  readonly attachType: AttachType;
}

/** A link of a type without details here ("unspec", or newer than tsbpf). */
export type OtherLinkInfo = Common<"unspec" | `unknown(${number})`>;

/**
 * What the kernel reports about a link: `id`, `type`, `programId`, and the
 * details of its `type` (narrow on it: `if (info.type === "xdp") info.ifindex`).
 */
export type LinkInfo =
  | RawTracepointLinkInfo
  | TracingLinkInfo
  | CgroupLinkInfo
  | IterLinkInfo
  | NetnsLinkInfo
  | XdpLinkInfo
  | StructOpsLinkInfo
  | NetfilterLinkInfo
  | KprobeMultiLinkInfo
  | UprobeMultiLinkInfo
  | PerfEventLinkInfo
  | DeviceLinkInfo
  | SockmapLinkInfo
  | OtherLinkInfo;

// sizeof(struct bpf_link_info) in Linux 6.18. A kernel with a smaller one
// accepts a larger buffer whose tail is zero (bpf_check_uarg_tail_zero).
const INFO_SIZE = 64;
const U = 16; // the union
// PATH_MAX: the longest name the kernel copies (a uprobe's file).
const NAME_MAX = 4096;

/** Where a type's name string goes: pointer and length offsets, by type. */
function nameSlot(
  v: DataView,
  type: LinkType,
): { ptr: number; len: number } | undefined {
  if (type === "raw_tracepoint") return { ptr: U, len: U + 8 };
  if (type === "iter") return { ptr: U, len: U + 8 };
  if (type === "perf_event") {
    const e = PERF_EVENT_TYPES[v.getUint32(U, true)];
    // uprobe file_name, kprobe func_name, tracepoint tp_name: all at the
    // union's start (24), their length at 32.
    if (e && e !== "event" && e !== "unspec")
      return { ptr: U + 8, len: U + 16 };
  }
  return undefined;
}

/** bpf_obj_get_info_by_fd on a link fd, decoded by the link's type. */
export function linkInfo(fd: number): LinkInfo {
  let v = new DataView(objectInfo(fd, new Uint8Array(INFO_SIZE)).buffer);
  const t = v.getUint32(0, true);
  const type: LinkType = LINK_TYPES[t] ?? `unknown(${t})`;
  let name = "";
  const slot = nameSlot(v, type);
  if (slot) {
    // Again with room for the name: the kernel copies it only into a
    // buffer of ours (and refuses a pointer without a length).
    const buf = new Uint8Array(NAME_MAX);
    const info = new Uint8Array(INFO_SIZE);
    const w = new DataView(info.buffer);
    w.setBigUint64(slot.ptr, addressOf(buf), true);
    w.setUint32(slot.len, buf.length, true);
    v = new DataView(objectInfo(fd, info).buffer);
    const end = buf.indexOf(0);
    name = new TextDecoder().decode(buf.subarray(0, end < 0 ? 0 : end));
  }
  const common = {
    id: v.getUint32(4, true),
    programId: v.getUint32(8, true),
  };
  const u32 = (o: number) => v.getUint32(U + o, true);
  const u64 = (o: number) => v.getBigUint64(U + o, true);
  switch (type) {
    case "raw_tracepoint":
      return { ...common, type, tpName: name, cookie: u64(16) };
    case "tracing":
      return {
        ...common,
        type,
        attachType: attachTypeName(u32(0)),
        targetObjId: u32(4),
        targetBtfId: u32(8),
        cookie: u64(16),
      };
    case "cgroup":
      return {
        ...common,
        type,
        cgroupId: u64(0),
        attachType: attachTypeName(u32(8)),
      };
    case "iter":
      return { ...common, type, targetName: name, ...iterTarget(name, v) };
    case "netns":
      return {
        ...common,
        type,
        netnsIno: u32(0),
        attachType: attachTypeName(u32(4)),
      };
    case "xdp":
      return { ...common, type, ifindex: u32(0) };
    case "struct_ops":
      return { ...common, type, mapId: u32(0) };
    case "netfilter":
      return {
        ...common,
        type,
        pf: u32(0),
        family: NF_FAMILIES[u32(0)] ?? String(u32(0)),
        hooknum: u32(4),
        hook: NF_HOOKS[u32(4)] ?? String(u32(4)),
        priority: v.getInt32(U + 8, true),
        flags: u32(12),
      };
    case "kprobe_multi":
      return {
        ...common,
        type,
        count: u32(8),
        flags: u32(12),
        missed: u64(16),
      };
    case "uprobe_multi":
      return { ...common, type, count: u32(36), flags: u32(40), pid: u32(44) };
    case "perf_event":
      return perfEvent(common, v, name);
    case "tcx":
    case "netkit":
      return {
        ...common,
        type,
        ifindex: u32(0),
        attachType: attachTypeName(u32(4)),
      };
    case "sockmap":
      return {
        ...common,
        type,
        mapId: u32(0),
        attachType: attachTypeName(u32(4)),
      };
    default:
      return { ...common, type: type as OtherLinkInfo["type"] };
  }
}

/** The iter union's fields that target `name` fills (bpf_iter_link_info). */
function iterTarget(
  name: string,
  v: DataView,
): Omit<IterLinkInfo, keyof Common<"iter"> | "targetName"> {
  // map.map_id at 28; then at 32 either cgroup { u64 cgroup_id; u32 order }
  // or task { u32 tid; u32 pid }.
  if (name === "cgroup") {
    const order = v.getUint32(U + 24, true);
    return {
      cgroupId: v.getBigUint64(U + 16, true),
      order: CGROUP_ITER_ORDERS[order] ?? `unknown(${order})`,
    };
  }
  if (name.startsWith("task")) {
    return { tid: v.getUint32(U + 16, true), pid: v.getUint32(U + 20, true) };
  }
  const mapId = v.getUint32(U + 12, true);
  return mapId ? { mapId } : {};
}

function perfEvent(
  common: { id: number; programId: number },
  v: DataView,
  name: string,
): PerfEventLinkInfo {
  const e = v.getUint32(U, true);
  const base = { ...common, type: "perf_event" as const };
  // The inner union at 24 (U + 8).
  const u32 = (o: number) => v.getUint32(U + 8 + o, true);
  const u64 = (o: number) => v.getBigUint64(U + 8 + o, true);
  switch (PERF_EVENT_TYPES[e]) {
    case "tracepoint":
      return {
        ...base,
        perfEventType: "tracepoint",
        tpName: name,
        cookie: u64(16),
      };
    case "uprobe":
    case "uretprobe":
      return {
        ...base,
        perfEventType: PERF_EVENT_TYPES[e] as "uprobe" | "uretprobe",
        fileName: name,
        offset: u32(12),
        cookie: u64(16),
        refCtrOffset: u64(24),
      };
    case "kprobe":
    case "kretprobe":
      return {
        ...base,
        perfEventType: PERF_EVENT_TYPES[e] as "kprobe" | "kretprobe",
        funcName: name,
        offset: u32(12),
        addr: u64(16),
        missed: u64(24),
        cookie: u64(32),
      };
    case "event":
      return {
        ...base,
        perfEventType: "event",
        config: u64(0),
        eventType: u32(8),
        cookie: u64(16),
      };
    default:
      return { ...base, perfEventType: "unspec", cookie: 0n };
  }
}
