// proccount: how many processes each process forks, in a hash map keyed by pid.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} process_count SEC(".maps");

// tp_btf rather than the tracepoint: its task structs tell a new process
// from a new thread (both fire sched_process_fork), and give the parent's
// process id rather than the id of the thread that forked.
SEC("tp_btf/sched_process_fork")
int BPF_PROG(count_forks, struct task_struct *parent, struct task_struct *child)
{
	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return 0;
	__u32 pid = BPF_CORE_READ(parent, tgid);
	__u64 one = 1, *count = bpf_map_lookup_elem(&process_count, &pid);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&process_count, &pid, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
