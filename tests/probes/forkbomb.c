/* probe=forkbomb, destructive, run by the probe suite only: fork until fork fails. The pids
 * cap must stop it with EAGAIN well before BOUND children; each child only sleeps, and
 * dies with the probe (PR_SET_PDEATHSIG), at its own alarm, or when the probe kills it.
 * It refuses to start outside a sandbox. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandboxed.h"

#define BOUND 1000

int
main(void)
{
	static pid_t kids[BOUND];
	int n = 0, err = 0;

	if (!sandboxed()) {
		printf("probe=forkbomb result=error step=refused not-in-a-sandbox\n");
		return 2;
	}
	for (; n < BOUND; n++) {
		pid_t p = fork();

		if (p < 0) {
			err = errno;
			break;
		}
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			alarm(30);
			for (;;)
				pause();
		}
		kids[n] = p;
	}
	for (int i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (int i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	printf("probe=forkbomb result=%s errno=%s children=%d bound=%d\n",
	       err == EAGAIN ? "blocked" : "allowed", err ? strerrorname_np(err) : "0", n, BOUND);
	return err == EAGAIN ? 0 : 1;
}
