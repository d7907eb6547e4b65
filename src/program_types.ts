/** Program type names: `enum bpf_prog_type` as tsbpf spells it. */

/** enum bpf_prog_type names (uapi/linux/bpf.h), index = value. */
const PROG_TYPES = [
  "unspec",
  "socket_filter",
  "kprobe",
  "sched_cls",
  "sched_act",
  "tracepoint",
  "xdp",
  "perf_event",
  "cgroup_skb",
  "cgroup_sock",
  "lwt_in",
  "lwt_out",
  "lwt_xmit",
  "sock_ops",
  "sk_skb",
  "cgroup_device",
  "sk_msg",
  "raw_tracepoint",
  "cgroup_sock_addr",
  "lwt_seg6local",
  "lirc_mode2",
  "sk_reuseport",
  "flow_dissector",
  "cgroup_sysctl",
  "raw_tracepoint_writable",
  "cgroup_sockopt",
  "tracing",
  "struct_ops",
  "ext",
  "lsm",
  "sk_lookup",
  "syscall",
  "netfilter",
] as const;

/** A program type name, e.g. "xdp", "tracepoint", "tracing". */
export type ProgramType = (typeof PROG_TYPES)[number] | `unknown(${number})`;

/** Name of an `enum bpf_prog_type` value. */
export function programTypeName(t: number): ProgramType {
  return PROG_TYPES[t] ?? `unknown(${t})`;
}
