/** What the kernel reports about a link (`struct bpf_link_info`, `bpftool link show`). */
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

/** A link type name, e.g. "raw_tracepoint", "xdp", "cgroup". */
export type LinkType = (typeof LINK_TYPES)[number] | `unknown(${number})`;

/** What the kernel reports about a link. */
export interface LinkInfo {
  /** Kernel link id (`bpftool link show id N`). */
  readonly id: number;
  /** Link type. */
  readonly type: LinkType;
  /** Id of the program it attaches (the kernel keeps reporting it after `detach()`). */
  readonly programId: number;
}

/** bpf_obj_get_info_by_fd on a link fd: its leading type, id, prog_id. */
export function linkInfo(fd: number): LinkInfo {
  // struct bpf_link_info starts with type, id, prog_id.
  const v = new DataView(objectInfo(fd, new Uint8Array(16)).buffer);
  const type = v.getUint32(0, true);
  return {
    type: LINK_TYPES[type] ?? `unknown(${type})`,
    id: v.getUint32(4, true),
    programId: v.getUint32(8, true),
  };
}
