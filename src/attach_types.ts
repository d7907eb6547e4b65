/**
 * enum bpf_attach_type names (uapi/linux/bpf.h as of Linux 6.18), as libbpf
 * and bpftool spell them: the constant without BPF_, in lower case.
 */
const ATTACH_TYPES = [
  "cgroup_inet_ingress",
  "cgroup_inet_egress",
  "cgroup_inet_sock_create",
  "cgroup_sock_ops",
  "sk_skb_stream_parser",
  "sk_skb_stream_verdict",
  "cgroup_device",
  "sk_msg_verdict",
  "cgroup_inet4_bind",
  "cgroup_inet6_bind",
  "cgroup_inet4_connect",
  "cgroup_inet6_connect",
  "cgroup_inet4_post_bind",
  "cgroup_inet6_post_bind",
  "cgroup_udp4_sendmsg",
  "cgroup_udp6_sendmsg",
  "lirc_mode2",
  "flow_dissector",
  "cgroup_sysctl",
  "cgroup_udp4_recvmsg",
  "cgroup_udp6_recvmsg",
  "cgroup_getsockopt",
  "cgroup_setsockopt",
  "trace_raw_tp",
  "trace_fentry",
  "trace_fexit",
  "modify_return",
  "lsm_mac",
  "trace_iter",
  "cgroup_inet4_getpeername",
  "cgroup_inet6_getpeername",
  "cgroup_inet4_getsockname",
  "cgroup_inet6_getsockname",
  "xdp_devmap",
  "cgroup_inet_sock_release",
  "xdp_cpumap",
  "sk_lookup",
  "xdp",
  "sk_skb_verdict",
  "sk_reuseport_select",
  "sk_reuseport_select_or_migrate",
  "perf_event",
  "trace_kprobe_multi",
  "lsm_cgroup",
  "struct_ops",
  "netfilter",
  "tcx_ingress",
  "tcx_egress",
  "trace_uprobe_multi",
  "cgroup_unix_connect",
  "cgroup_unix_sendmsg",
  "cgroup_unix_recvmsg",
  "cgroup_unix_getpeername",
  "cgroup_unix_getsockname",
  "netkit_primary",
  "netkit_peer",
  "trace_kprobe_session",
  "trace_uprobe_session",
] as const;

/** An attach type name, e.g. "cgroup_inet_ingress", "tcx_ingress", "sk_lookup". */
export type AttachType = (typeof ATTACH_TYPES)[number] | `unknown(${number})`;

/** The name of enum bpf_attach_type value `n`. */
export function attachTypeName(n: number): AttachType {
  return ATTACH_TYPES[n] ?? `unknown(${n})`;
}
