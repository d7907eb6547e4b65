// A process whose addresses test/kernel/usyms.test.ts symbolizes: prints
// the addresses of a function of its own (hot_function, in .symtab) and of
// libc's getpid (in .dynsym only: Debian's libc is stripped), then waits
// for stdin to close.
#include <stdio.h>
#include <unistd.h>

__attribute__((noinline)) int hot_function(int x)
{
	return x * 3 + 1;
}

int main(void)
{
	char buf[16];
	printf("%p %p\n", (void *)hot_function, (void *)getpid);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return hot_function(1) == 4 ? 0 : 1;
}
