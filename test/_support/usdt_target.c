// A process with USDT probes, for test/kernel/link.test.ts: waits for a
// line on stdin (the test attaches meanwhile), then fires tsbpf:tick
// argv[1] times with arguments (i, 2 * i) and tsbpf:done once.
//
// The probes are written the way <sys/sdt.h> writes them (a nop, and a
// .note.stapsdt entry giving its address and argument locations), so that
// the test needs no systemtap-sdt-dev: TSBPF_PROBE2 is that macro's
// two-argument form, for x86-64.
#include <stdio.h>
#include <stdlib.h>

#define TSBPF_PROBE_NOTE(provider, name, args)                                  \
	"990: nop\n"                                                            \
	".pushsection .note.stapsdt,\"?\",\"note\"\n"                          \
	".balign 4\n"                                                           \
	".4byte 992f-991f, 994f-993f, 3\n"                                      \
	"991: .asciz \"stapsdt\"\n"                                             \
	"992: .balign 4\n"                                                      \
	"993: .8byte 990b\n"                                                    \
	".8byte _.stapsdt.base\n"                                               \
	".8byte 0\n"                                                            \
	".asciz \"" #provider "\"\n"                                            \
	".asciz \"" #name "\"\n"                                                \
	".asciz \"" args "\"\n"                                                 \
	"994: .balign 4\n"                                                      \
	".popsection\n"                                                         \
	".ifndef _.stapsdt.base\n"                                              \
	".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
	".weak _.stapsdt.base\n"                                                \
	".hidden _.stapsdt.base\n"                                              \
	"_.stapsdt.base: .space 1\n"                                            \
	".size _.stapsdt.base, 1\n"                                             \
	".popsection\n"                                                         \
	".endif\n"

#define TSBPF_PROBE2(provider, name, a1, a2)                                   \
	__asm__ __volatile__(TSBPF_PROBE_NOTE(provider, name, "-8@%0 -8@%1")   \
			     : : "nor"((long)(a1)), "nor"((long)(a2)))

#define TSBPF_PROBE0(provider, name)                                           \
	__asm__ __volatile__(TSBPF_PROBE_NOTE(provider, name, ""))

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1;
	char line[16];

	if (!fgets(line, sizeof(line), stdin))
		return 1;
	for (long i = 1; i <= n; i++)
		TSBPF_PROBE2(tsbpf, tick, i, 2 * i);
	TSBPF_PROBE0(tsbpf, done);
	return 0;
}
