/* probe=daemon, run by the probe suite: a daemon that outlives the command. The probe forks,
 * the child starts a new session and forks the daemon, which keeps the captured stdout and
 * stderr open and sleeps; the probe checks that it runs, lingers half a second so the
 * harness can see it from the host, and exits 0. The run must still end at once, and no
 * process carrying the marker (argv[1]) may be left on the host afterwards. The daemon
 * gives up by itself after 60 s. It refuses to start outside a sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandboxed.h"

int
main(int argc, char **argv)
{
	struct timespec linger = {.tv_nsec = 500 * 1000 * 1000};
	pid_t p, daemon_pid = -1;
	int fds[2], alive;

	if (argc != 2) {
		printf("probe=daemon result=error step=usage want=MARKER\n");
		return 2;
	}
	if (!sandboxed()) {
		printf("probe=daemon result=error step=refused not-in-a-sandbox\n");
		return 2;
	}
	if (pipe2(fds, O_CLOEXEC) < 0 || (p = fork()) < 0) {
		printf("probe=daemon result=error step=fork errno=%s\n", strerrorname_np(errno));
		return 2;
	}
	if (p == 0) {
		setsid();
		p = fork();
		if (p == 0) {
			pid_t me = getpid();

			signal(SIGHUP, SIG_IGN);
			signal(SIGTERM, SIG_IGN);
			alarm(60);
			if (write(fds[1], &me, sizeof(me)) < 0)
				_exit(1);
			close(fds[1]);
			for (;;)
				pause();
		}
		_exit(p < 0);
	}
	close(fds[1]);
	waitpid(p, NULL, 0);
	if (read(fds[0], &daemon_pid, sizeof(daemon_pid)) != (ssize_t)sizeof(daemon_pid)) {
		printf("probe=daemon result=error step=spawn\n");
		return 2;
	}
	alive = kill(daemon_pid, 0) == 0 && getppid() != daemon_pid;
	printf("probe=daemon result=%s marker=%s daemon_pid=%d\n", alive ? "spawned" : "error",
	       argv[1], (int)daemon_pid);
	fflush(stdout);
	nanosleep(&linger, NULL);
	return alive ? 0 : 2;
}
