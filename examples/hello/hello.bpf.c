// hello: bcc's hello_world. Says hello with bpf_printk on every execve; the
// tool reads the lines back from the kernel's trace_pipe.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp/syscalls/sys_enter_execve")
int say_hello(void *ctx)
{
	char comm[16];

	bpf_get_current_comm(comm, sizeof(comm));
	bpf_printk("Hello, World! %s (pid %d) calls execve", comm,
		   (int)(bpf_get_current_pid_tgid() >> 32));
	return 0;
}
