// Ring buffer benchmark producer: one testRun emits `arg_count` records of
// 56 bytes through bpf_loop. With `arg_retry`, a failed reservation (ring
// full) is retried, so a consumer that keeps up loses nothing; records
// still failing after bpf_loop's 2^23 iterations are counted in `gave_up`.
// XDP, so testRun accepts the data buffer tsbpf's testRun always passes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

struct bench_rec {
	__u64 seq;
	__u64 ts;
	__u32 pid;
	__u32 cpu;
	__u64 a;
	__u64 b;
	__u64 c;
	__u64 d;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);
} rb SEC(".maps");

__u32 arg_count = 100000;
__u32 arg_retry = 1;
__u64 next_seq = 0;
__u64 reserve_failed = 0;
__u64 gave_up = 0;
struct bench_rec rec_anchor = {};

struct loop_ctx {
	__u64 seq;
	__u32 left;
	__u32 retry;
	__u64 failed;
	__u32 cpu;
};

static long emit(__u64 i, void *p)
{
	struct loop_ctx *c = p;
	struct bench_rec *r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);

	if (!r) {
		c->failed++;
		if (c->retry)
			return 0;
	} else {
		r->seq = c->seq;
		r->ts = i;
		r->pid = 42;
		r->cpu = c->cpu;
		r->a = c->seq * 3;
		r->b = i;
		r->c = 7;
		r->d = 9;
		bpf_ringbuf_submit(r, 0);
	}
	c->seq++;
	return --c->left == 0;
}

SEC("xdp")
int produce(struct xdp_md *ctx)
{
	struct loop_ctx c = {
		.seq = next_seq, .left = arg_count, .retry = arg_retry,
		.cpu = bpf_get_smp_processor_id(),
	};

	if (!c.left)
		return XDP_PASS;
	bpf_loop(1 << 23, emit, &c, 0);
	__sync_fetch_and_add(&gave_up, c.left);
	__sync_fetch_and_add(&reserve_failed, c.failed);
	next_seq = c.seq + c.left;
	return XDP_PASS;
}
