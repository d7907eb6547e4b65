// C libbpf reference for bench/map_ops.ts: a 100,000-entry hash map with
// __u32 keys and __u64 values, created afresh per round.
//   update: bpf_map_update_elem of every key (fill, then the map is full)
//   lookup: bpf_map_lookup_elem of every key
//   batch:  bpf_map_lookup_batch over the whole map (8192 entries a call)
//   walk:   bpf_map_get_next_key + bpf_map_lookup_elem over the whole map
// batch and walk alternate PASSES times per map; each prints its median.
// Prints ns per element for each as one JSON line.
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Iteration passes per map (batch, walk, batch, walk, ...); medians. */
#define PASSES 3

static double median(double *x)
{
	for (int i = 1; i < PASSES; i++)
		for (int j = i; j > 0 && x[j - 1] > x[j]; j--) {
			double t = x[j];
			x[j] = x[j - 1];
			x[j - 1] = t;
		}
	return x[PASSES / 2];
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	unsigned n = argc > 1 ? atoi(argv[1]) : 100000;
	unsigned chunk = 8192;
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_c", 4, 8, n, NULL);
	if (fd < 0) {
		fprintf(stderr, "bpf_map_create: %d\n", fd);
		return 1;
	}
	double t0 = now_ns();
	for (__u32 k = 0; k < n; k++) {
		__u64 v = (__u64)k * 3;
		if (bpf_map_update_elem(fd, &k, &v, BPF_ANY)) {
			fprintf(stderr, "update failed\n");
			return 1;
		}
	}
	double update = (now_ns() - t0) / n;

	__u64 sum = 0;
	t0 = now_ns();
	for (__u32 k = 0; k < n; k++) {
		__u64 v;
		if (bpf_map_lookup_elem(fd, &k, &v) == 0)
			sum += v;
	}
	double lookup = (now_ns() - t0) / n;

	__u32 *keys = malloc(chunk * 4);
	__u64 *vals = malloc(chunk * 8);
	double batches[PASSES], walks[PASSES];
	__u32 total = 0, walked = 0;
	for (int pass = 0; pass < PASSES; pass++) {
		__u32 in_b = 0, out_b = 0;
		DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
		total = 0;
		t0 = now_ns();
		for (int first = 1;; first = 0) {
			__u32 count = chunk;
			int err = bpf_map_lookup_batch(fd, first ? NULL : &in_b, &out_b, keys,
						       vals, &count, &opts);
			for (__u32 i = 0; i < count; i++)
				sum += keys[i] + vals[i];
			total += count;
			if (err == -ENOENT)
				break;
			if (err) {
				fprintf(stderr, "lookup_batch: %d\n", err);
				return 1;
			}
			in_b = out_b;
		}
		batches[pass] = (now_ns() - t0) / total;

		__u32 cur, prev;
		walked = 0;
		t0 = now_ns();
		for (int first = 1; bpf_map_get_next_key(fd, first ? NULL : &prev, &cur) == 0;
		     first = 0) {
			__u64 v;
			if (bpf_map_lookup_elem(fd, &cur, &v) == 0)
				sum += cur + v;
			prev = cur;
			walked++;
		}
		walks[pass] = (now_ns() - t0) / walked;
	}
	double batch = median(batches), walk = median(walks);
	if (total != n || walked != n) {
		fprintf(stderr, "iterated %u / %u of %u\n", total, walked, n);
		return 1;
	}
	printf("{\"update\":%.1f,\"lookup\":%.1f,\"batch\":%.1f,\"walk\":%.1f,\"sum\":%llu}\n",
	       update, lookup, batch, walk, (unsigned long long)sum);
	return 0;
}
