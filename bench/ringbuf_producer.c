// Producer process for bench/ringbuf.ts: runs the pinned producer program
// <runs> times (each testRun emits the program's arg_count records).
#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	int prog = bpf_obj_get(argv[1]), runs = atoi(argv[2]);
	char pkt[64] = {0};
	if (prog < 0)
		return 1;
	for (int i = 0; i < runs; i++) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt));
		if (bpf_prog_test_run_opts(prog, &o))
			return 1;
	}
	return 0;
}
