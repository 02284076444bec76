/* Load-bench baseline: the ceiling a loopback HTTP/1.1 server reaches on this machine.
 * One thread per core, each with its own SO_REUSEPORT listener and epoll set; every
 * request (anything up to a blank line) is answered with the same fixed 200 as /healthz's
 * body, with keep-alive. No parsing, no routing, no allocation per request: a baseline,
 * not a server. Usage: baseline PORT (binds 127.0.0.1 only; PORT 0: the kernel picks one).
 * Prints the port it listens on, then serves. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char reply[] = "HTTP/1.1 200 OK\r\n"
			    "Content-Type: application/json\r\n"
			    "Content-Length: 16\r\n"
			    "\r\n"
			    "{\"status\":\"ok\"}\n";

struct conn {
	int fd;
	size_t len;
	char buf[8192];
};

static int
listener(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
		perror("baseline: listen");
		exit(1);
	}
	return fd;
}

/* The port listener fd is bound to. */
static int
bound_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		perror("baseline: getsockname");
		exit(1);
	}
	return ntohs(sa.sin_port);
}

/* Answers every complete request in c->buf; -1 when the connection should close. */
static int
answer(struct conn *c)
{
	char *start = c->buf, *end;

	while ((end = memmem(start, c->len - (size_t)(start - c->buf), "\r\n\r\n", 4))) {
		/* replies are tiny: a short write means a stuck client, drop it */
		if (write(c->fd, reply, sizeof(reply) - 1) != (ssize_t)(sizeof(reply) - 1))
			return -1;
		start = end + 4;
	}
	c->len -= (size_t)(start - c->buf);
	memmove(c->buf, start, c->len);
	return c->len < sizeof(c->buf) ? 0 : -1;
}

static void *
serve(void *arg)
{
	int lfd = (int)(long)arg, ep = epoll_create1(EPOLL_CLOEXEC), n, i;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[64];

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0)
		return NULL;
	for (;;) {
		n = epoll_wait(ep, evs, 64, -1);
		for (i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			ssize_t r;

			if (!c) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL,
						     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct epoll_event cev = {.events = EPOLLIN};
					if (!(c = calloc(1, sizeof(*c)))) {
						close(fd);
						continue;
					}
					c->fd = fd;
					cev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
				}
				continue;
			}
			/* one read per wake-up: epoll is level-triggered, no EAGAIN round trip */
			r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
			if (r > 0) {
				c->len += (size_t)r;
				if (answer(c) == 0)
					continue;
			} else if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
				continue;
			}
			close(c->fd); /* also leaves the epoll set */
			free(c);
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN),
	     port = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
	pthread_t t;
	int fd;

	if (argc != 2 || port < 0 || port > 65535) {
		fprintf(stderr, "usage: baseline PORT\n");
		return 64;
	}
	for (long i = 0; i < (cores > 0 ? cores : 1); i++) {
		fd = listener((int)port);
		/* the first listener's port, kernel-picked for 0, is every other one's */
		port = bound_port(fd);
		if (pthread_create(&t, NULL, serve, (void *)(long)fd) != 0)
			return 1;
	}
	printf("%ld\n", port);
	fflush(stdout);
	pthread_exit(NULL);
}
