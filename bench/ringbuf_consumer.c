// C libbpf reference consumer for bench/ringbuf.ts.
//   ringbuf_consumer drain <prog pin> <map pin> <reps>
//     per rep: one test_run of the pinned producer fills the ring, then
//     ring_buffer__consume drains it; prints the best ns/record.
//   ringbuf_consumer e2e <map pin> <expected> <idle ms>
//     ring_buffer__poll until <expected> records or <idle ms> without any;
//     prints: records seconds(first record seen .. last poll) checksum
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t count, sum;
static double first_rec;


static int on_record(void *ctx, void *data, size_t size)
{
	if (!count++ && !first_rec)
		first_rec = now();
	sum += *(uint64_t *)data;  // seq: read one field, as the TS side does
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	if (!strcmp(argv[1], "drain")) {
		int prog = bpf_obj_get(argv[2]), map = bpf_obj_get(argv[3]);
		int reps = atoi(argv[4]);
		char pkt[64] = {0};
		struct ring_buffer *rb = ring_buffer__new(map, on_record, NULL, NULL);
		if (prog < 0 || map < 0 || !rb)
			return 1;
		double best = 1e9;
		for (int r = 0; r < reps; r++) {
			LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt));
			if (bpf_prog_test_run_opts(prog, &o))
				return 1;
			count = 0;
			double t0 = now();
			ring_buffer__consume(rb);
			double t = (now() - t0) / (count ? count : 1) * 1e9;
			if (count && t < best)
				best = t;
		}
		printf("%.3f %llu\n", best, (unsigned long long)count);
		return 0;
	}
	if (!strcmp(argv[1], "e2e")) {
		int map = bpf_obj_get(argv[2]);
		uint64_t expected = strtoull(argv[3], NULL, 10);
		double idle = atof(argv[4]) / 1000, first = 0, last = 0, start = now();
		if (map < 0) {
			perror("ringbuf_consumer: bpf_obj_get");
			return 1;
		}
		struct ring_buffer *rb = ring_buffer__new(map, on_record, NULL, NULL);
		if (!rb) {
			perror("ringbuf_consumer: ring_buffer__new");
			return 1;
		}
		printf("ready\n");
		fflush(stdout);
		while (count < expected) {
			int n = ring_buffer__poll(rb, 50);
			double t = now();
			if (n > 0) {
				if (!first)
					first = t;
				last = t;
			} else if (t - (first ? last : start) > (first ? idle : 10)) {
				break;
			}
		}
		printf("%llu %.6f %llu\n", (unsigned long long)count, last - first_rec,
		       (unsigned long long)sum);
		return 0;
	}
	return 2;
}
