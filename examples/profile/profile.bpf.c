// profile: on-CPU stacks sampled at a fixed rate (a perf_event cpu-clock
// on every CPU), counted per process and kernel + user stack, like bcc's
// profile and libbpf-tools/profile.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define MAX_STACKS 16384
#define MAX_DEPTH 127
#define TASK_COMM_LEN 16

struct sample_key {
	__u32 pid;
	// Ids in `stacks`, or bpf_get_stackid's error: -EFAULT when there is no
	// such stack (a sample in user space has no kernel stack), -EEXIST when
	// another stack holds its bucket.
	__s32 kernel_stack;
	__s32 user_stack;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, MAX_STACKS);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_STACKS);
	__type(key, struct sample_key);
	__type(value, __u64);
} samples SEC(".maps");

const volatile __s32 target_pid = -1; // -1: every process
const volatile bool include_idle = false;

// Samples the counts map had no room for.
__u64 dropped = 0;

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	struct sample_key key = {};
	static const __u64 zero;
	__u64 *count;

	if (!include_idle && (__u32)id == 0)
		return 0;
	if (target_pid != -1 && pid != target_pid)
		return 0;
	key.pid = pid;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	key.kernel_stack = bpf_get_stackid(ctx, &stacks, 0);
	key.user_stack = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);

	count = bpf_map_lookup_elem(&samples, &key);
	if (!count) {
		bpf_map_update_elem(&samples, &key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&samples, &key);
		if (!count) {
			__sync_fetch_and_add(&dropped, 1);
			return 0;
		}
	}
	__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
