// execlatency: time from fork to the child's first exec. Start timestamps in
// one map, per-process deltas in another.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

// LRU: new threads and forks that never exec leave their entry behind, and a
// full plain hash would refuse every later fork.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u64);
} fork_ts SEC(".maps");

struct exec_latency {
	__u64 delta_ns;
	__u32 ppid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct exec_latency);
} latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, __u32);
} parent SEC(".maps");

SEC("tracepoint/sched/sched_process_fork")
int on_fork(struct trace_event_raw_sched_process_fork *ctx)
{
	__u32 child = ctx->child_pid, ppid = ctx->parent_pid;
	__u64 ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&fork_ts, &child, &ts, BPF_ANY);
	bpf_map_update_elem(&parent, &child, &ppid, BPF_ANY);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 *ts = bpf_map_lookup_elem(&fork_ts, &pid);
	if (!ts)
		return 0;
	struct exec_latency l = { .delta_ns = bpf_ktime_get_ns() - *ts };
	__u32 *pp = bpf_map_lookup_elem(&parent, &pid);
	if (pp)
		l.ppid = *pp;
	bpf_get_current_comm(l.comm, sizeof(l.comm));
	bpf_map_update_elem(&latency, &pid, &l, BPF_ANY);
	bpf_map_delete_elem(&fork_ts, &pid);
	bpf_map_delete_elem(&parent, &pid);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
