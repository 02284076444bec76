/* probe=abstract, run by the probe suite: abstract unix sockets belong to a network
 * namespace, so the one the harness listens on in the host's (PROBE_ABSTRACT, the name
 * without its leading NUL) is unreachable, and /proc/net/unix lists no abstract socket at
 * all: the host's (systemd's, X11's, a container runtime's) are out of sight. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Abstract sockets listed in /proc/net/unix (their path column starts with '@'). */
static int
listed_abstract(char *first, size_t size)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/net/unix", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *at = strchr(line, '@');

		if (!at)
			continue;
		if (n++ == 0)
			snprintf(first, size, "%.*s", (int)strcspn(at, "\n"), at);
	}
	fclose(f);
	return n;
}

int
main(void)
{
	const char *name = getenv("PROBE_ABSTRACT");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char first[128] = "";
	socklen_t len;
	int fd, e = 0, listed;

	if (!name || !*name || strlen(name) >= sizeof(sa.sun_path) - 1) {
		printf("probe=abstract result=error step=env missing=PROBE_ABSTRACT\n");
		return 2;
	}
	memcpy(sa.sun_path + 1, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		printf("probe=abstract result=error step=socket errno=%s\n",
		       strerrorname_np(errno));
		return 2;
	}
	if (connect(fd, (struct sockaddr *)&sa, len) < 0)
		e = errno;
	close(fd);
	listed = listed_abstract(first, sizeof(first));
	printf("probe=abstract result=%s errno=%s listed=%d%s%s\n",
	       !e || listed ? "allowed" : "blocked", e ? strerrorname_np(e) : "0", listed,
	       listed ? " first=" : "", first);
	return !e || listed ? 1 : 0;
}
