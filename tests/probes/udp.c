/* probe=udp: no datagram leaves the sandbox: not to loopback, not to the host's own
 * addresses (PROBE_HOST_IP, space- or comma-separated), not to the outside world. The port
 * is PROBE_UDP_PORT, where the harness may count arrivals, else 9 (discard). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "targets.h"

/* 0 when the datagram was sent, else the errno. */
static int
send_to(const char *ip, int port)
{
	static const char msg[] = "airlock-probe-udp";
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
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
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (sendto(fd, msg, sizeof(msg) - 1, 0, (struct sockaddr *)&ss, len) < 0)
		e = errno;
	close(fd);
	return e;
}

int
main(void)
{
	const char *p = getenv("PROBE_UDP_PORT");
	long port = p && *p ? strtol(p, NULL, 10) : 9;

	if (port <= 0 || port > 65535) {
		printf("probe=udp result=error step=env bad=PROBE_UDP_PORT\n");
		return 2;
	}
	/* 198.51.100.1 and 2001:db8::1 are documentation addresses: routed, never answered */
	return probe_targets("udp", "sent", "127.0.0.1 ::1 198.51.100.1 2001:db8::1", (int)port,
			     send_to);
}
