// C reference for bench/btf_parse.ts: libbpf parses /sys/kernel/btf/vmlinux
// and looks up struct task_struct, afresh each iteration; prints the best of
// N (default 20) in ms, and the best plain read of the file for comparison.
#include <bpf/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	const char *path = "/sys/kernel/btf/vmlinux";
	int n = argc > 1 ? atoi(argv[1]) : 20;
	double best = 1e9, best_read = 1e9;
	static char buf[64 << 20];

	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		struct btf *btf = btf__parse(path, NULL);
		if (!btf) {
			perror("btf__parse");
			return 1;
		}
		int id = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
		double t1 = now_ms();
		if (id <= 0) {
			fprintf(stderr, "task_struct not found\n");
			return 1;
		}
		btf__free(btf);
		if (t1 - t0 < best)
			best = t1 - t0;

		t0 = now_ms();
		FILE *f = fopen(path, "rb");
		size_t got = f ? fread(buf, 1, sizeof(buf), f) : 0;
		if (f)
			fclose(f);
		t1 = now_ms();
		if (!got)
			return 1;
		if (t1 - t0 < best_read)
			best_read = t1 - t0;
	}
	printf("%.3f %.3f\n", best, best_read);
	return 0;
}
