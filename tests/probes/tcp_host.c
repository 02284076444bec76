/* probe=tcp_host, run by the probe suite: the listener the harness keeps on the host
 * (PROBE_TCP_PORT) is unreachable, on 127.0.0.1 and ::1 and on each of the host's own
 * addresses (PROBE_HOST_IP, space- or comma-separated). Each try gives up after 2 s. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "targets.h"

/* 0 when a connection was made, else the errno. */
static int
try_connect(const char *ip, int port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	struct pollfd pfd;
	socklen_t len, elen = sizeof(int);
	int fd, e = 0;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		len = sizeof(*a6);
	} else {
		return EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		e = errno;
		if (e == EINPROGRESS) {
			pfd = (struct pollfd){.fd = fd, .events = POLLOUT};
			if (poll(&pfd, 1, 2000) != 1)
				e = ETIMEDOUT;
			else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen) < 0)
				e = errno;
		}
	}
	close(fd);
	return e;
}

int
main(void)
{
	const char *p = getenv("PROBE_TCP_PORT");
	long port = p ? strtol(p, NULL, 10) : 0;

	if (port <= 0 || port > 65535) {
		printf("probe=tcp_host result=error step=env missing=PROBE_TCP_PORT\n");
		return 2;
	}
	return probe_targets("tcp_host", "connected", "127.0.0.1 ::1", (int)port, try_connect);
}
