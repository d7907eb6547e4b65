// proccount: how many processes each process forks, in a hash map keyed by pid.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} process_count SEC(".maps");

SEC("tracepoint/sched/sched_process_fork")
int count_forks(struct trace_event_raw_sched_process_fork *ctx)
{
	__u32 pid = ctx->parent_pid;
	__u64 one = 1, *count = bpf_map_lookup_elem(&process_count, &pid);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&process_count, &pid, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
