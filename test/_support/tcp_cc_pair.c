/*
 * Connects a TCP socket pair over 127.0.0.1 (with the client's congestion
 * control set to argv[1] when given: TCP_CONGESTION), sends "ping" one way
 * and "pong" back, and prints the congestion control the client used.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *what)
{
	perror(what);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc > 2) {
		fprintf(stderr, "usage: %s [CONGESTION_CONTROL]\n", argv[0]);
		return 2;
	}
	struct sockaddr_in addr = { .sin_family = AF_INET };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t len = sizeof(addr);
	int srv = socket(AF_INET, SOCK_STREAM, 0);
	if (srv < 0 || bind(srv, (struct sockaddr *)&addr, len) ||
	    listen(srv, 1) || getsockname(srv, (struct sockaddr *)&addr, &len))
		return fail("listen");
	int cli = socket(AF_INET, SOCK_STREAM, 0);
	if (cli < 0 || (argc == 2 && setsockopt(cli, IPPROTO_TCP, TCP_CONGESTION,
						argv[1], strlen(argv[1]))))
		return fail("setsockopt TCP_CONGESTION");
	if (connect(cli, (struct sockaddr *)&addr, len))
		return fail("connect");
	int acc = accept(srv, NULL, NULL);
	if (acc < 0)
		return fail("accept");
	char buf[8];
	if (write(cli, "ping", 4) != 4 || read(acc, buf, 4) != 4 ||
	    write(acc, "pong", 4) != 4 || read(cli, buf, 4) != 4 ||
	    memcmp(buf, "pong", 4))
		return fail("exchange");
	char cc[16] = "";
	socklen_t cclen = sizeof(cc);
	if (getsockopt(cli, IPPROTO_TCP, TCP_CONGESTION, cc, &cclen))
		return fail("getsockopt TCP_CONGESTION");
	printf("%s\n", cc);
	close(acc);
	close(cli);
	close(srv);
	return 0;
}
