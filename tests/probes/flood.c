/* probe=flood, run by the probe suite: write MIB_EACH mebibytes to stdout and as much to
 * stderr as fast as possible, then one last line on stdout. The capture must keep only its
 * cap (the head and this tail), count the rest as dropped, and the run must end promptly.
 * It refuses to start outside a sandbox. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sandboxed.h"

#define MIB_EACH 16

/* Bytes written to fd, up to total. */
static size_t
flood(int fd, size_t total)
{
	static char chunk[64 * 1024];
	size_t done = 0;

	if (!chunk[0])
		for (size_t i = 0; i < sizeof(chunk); i += 2)
			chunk[i] = 'y', chunk[i + 1] = '\n';
	while (done < total) {
		ssize_t n = write(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return done;
}

int
main(void)
{
	size_t total = (size_t)MIB_EACH << 20, out, err;

	if (!sandboxed()) {
		printf("probe=flood result=error step=refused not-in-a-sandbox\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	out = flood(STDOUT_FILENO, total);
	err = flood(STDERR_FILENO, total);
	printf("\nprobe=flood result=flooded stdout=%zu stderr=%zu\n", out, err);
	return out == total && err == total ? 0 : 2;
}
