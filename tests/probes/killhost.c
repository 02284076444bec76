/* probe=killhost: no process outside the sandbox can be signalled. kill(-1, 0) asks about
 * every process we could signal except init and ourselves: inside there is none. The
 * harness's pid (PROBE_HOST_PID) must not exist at all, for kill() and pidfd_open().
 * Signal 0 only checks; nothing is ever delivered. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* "0" for success, "unset" for a check not made (-1), else the errno's name */
static const char *
errname(int e)
{
	return e < 0 ? "unset" : e ? strerrorname_np(e) : "0";
}

int
main(void)
{
	const char *host = getenv("PROBE_HOST_PID");
	int all_err = kill(-1, 0) < 0 ? errno : 0;
	int host_err = -1, pidfd_err = -1;

	if (host && *host) {
		long pid = strtol(host, NULL, 10);
		long fd;

		if (pid <= 1) {
			printf("probe=killhost result=error step=env bad=PROBE_HOST_PID\n");
			return 2;
		}
		host_err = kill((pid_t)pid, 0) < 0 ? errno : 0;
		fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
		pidfd_err = fd < 0 ? errno : 0;
		if (fd >= 0)
			close((int)fd);
	}
	int reached = all_err != ESRCH || host_err == 0 || pidfd_err == 0;

	printf("probe=killhost result=%s errno=%s host_pid=%s pidfd=%s\n",
	       reached ? "allowed" : "blocked", errname(all_err), errname(host_err),
	       errname(pidfd_err));
	return reached ? 1 : 0;
}
