/* Waiting for a child process under a deadline. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "lib/proc.h"

/* How often a wait without a pidfd looks at the child. */
#define POLL_MS 20

static long
ms_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000L + (now.tv_nsec - start->tv_nsec) / 1000000L;
}

int
al_proc_wait_deadline(pid_t pid, int pidfd, long timeout_ms, int *ret_status)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	struct timespec start;
	int killed = 0;
	pid_t w;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		long left = timeout_ms - ms_since(&start);

		w = waitpid(pid, ret_status, WNOHANG);
		if (w == pid)
			return 0;
		if (w < 0 && errno != EINTR)
			return -errno;
		if (left <= 0) {
			kill(pid, SIGKILL);
			killed = 1;
			break;
		}
		if (pidfd < 0 || poll(&p, 1, left > 1000000 ? 1000000 : (int)left) < 0)
			poll(NULL, 0, (int)(left < POLL_MS ? left : POLL_MS));
	}
	while (waitpid(pid, ret_status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return killed;
}

long long
al_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double
al_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
