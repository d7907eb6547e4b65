// syscount: per-process, per-syscall counts and latencies (struct keys and values).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

struct syscall_key {
	__u32 pid;
	__u32 nr;
};

struct syscall_stats {
	__u64 count;
	__u64 total_ns;
	__u64 max_ns;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct syscall_key);
	__type(value, struct syscall_stats);
} stats SEC(".maps");

// A call in progress: when it entered, and its number (sys_exit's id is -1
// for rt_sigreturn, which the kernel marks as no longer a syscall).
struct syscall_start {
	__u64 ts;
	__u32 nr;
};

// Calls in progress by thread id, to measure each call's duration. LRU: a
// thread's last call (exit, exit_group) never returns and leaves its entry
// behind, and a full plain hash would refuse every new thread.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u32);
	__type(value, struct syscall_start);
} start SEC(".maps");

// Trace only this process (0: every process). Set before load.
const volatile __u32 filter_pid = 0;

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	if (filter_pid && pid != filter_pid)
		return 0;
	struct syscall_start st = { .ts = bpf_ktime_get_ns(), .nr = (__u32)ctx->id };
	bpf_map_update_elem(&start, &tid, &st, BPF_ANY);
	return 0;
}

SEC("tracepoint/raw_syscalls/sys_exit")
int sys_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	if (filter_pid && pid != filter_pid)
		return 0;
	struct syscall_start *st = bpf_map_lookup_elem(&start, &tid);
	if (!st)
		return 0;
	__u64 delta = bpf_ktime_get_ns() - st->ts;
	struct syscall_key key = { .pid = pid, .nr = st->nr };
	bpf_map_delete_elem(&start, &tid);

	struct syscall_stats *s = bpf_map_lookup_elem(&stats, &key);
	if (!s) {
		struct syscall_stats zero = {};
		bpf_get_current_comm(zero.comm, sizeof(zero.comm));
		bpf_map_update_elem(&stats, &key, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&stats, &key);
		if (!s)
			return 0;
	}
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->total_ns, delta);
	if (delta > s->max_ns)
		s->max_ns = delta;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
