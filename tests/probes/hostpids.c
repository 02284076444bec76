/* probe=hostpids: the host's processes are invisible. /proc lists only a handful of pids,
 * no kernel thread (a process other than pid 1 whose parent is 0, like kthreadd, or whose
 * parent is kthreadd), and not the harness (PROBE_HOST_PID, when given). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_VISIBLE 16

/* The parent pid from /proc/PID/stat, or -1. */
static long
parent_of(const char *pid)
{
	char path[300], buf[512], *p;
	long ppid = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	/* the command name may hold spaces and parentheses: skip to the last ')' */
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')))
		sscanf(p + 1, " %*c %ld", &ppid);
	fclose(f);
	return ppid;
}

int
main(void)
{
	const char *host_pid = getenv("PROBE_HOST_PID");
	DIR *d = opendir("/proc");
	struct dirent *e;
	int visible = 0, kthreads = 0, host_seen = 0;
	struct stat st;

	if (!d) {
		printf("probe=hostpids result=error step=opendir errno=%s\n",
		       strerrorname_np(errno));
		return 2;
	}
	while ((e = readdir(d))) {
		long ppid;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		visible++;
		ppid = parent_of(e->d_name);
		if ((ppid == 0 && strcmp(e->d_name, "1") != 0) || ppid == 2)
			kthreads++;
	}
	closedir(d);
	if (host_pid && *host_pid) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/%s", host_pid);
		host_seen = stat(path, &st) == 0;
	}
	int leak = visible > MAX_VISIBLE || kthreads > 0 || host_seen;

	printf("probe=hostpids result=%s visible=%d kernel_threads=%d host_pid=%s\n",
	       leak ? "allowed" : "blocked", visible, kthreads,
	       host_pid && *host_pid ? (host_seen ? "visible" : "hidden") : "unset");
	return leak ? 1 : 0;
}
