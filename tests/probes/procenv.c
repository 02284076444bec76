/* probe=procenv: no process the sandbox can see carries the host's environment. The
 * environment and command line of every visible pid, init included, must not hold
 * AIRLOCK_PROBE_SECRET (which the harness exports before starting airlock) nor the
 * host-only variables that any shell or make would leave (USER, LOGNAME, SHELL, MAKEFLAGS,
 * SSH_*, OLDPWD). A file the kernel refuses to show counts as hidden. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_READ (256 * 1024)

static const char *const needles[] = {
    "AIRLOCK_PROBE_SECRET=", "USER=", "LOGNAME=", "SHELL=", "MAKEFLAGS=", "SSH_", "OLDPWD="};

static char buf[MAX_READ];

/* The needle found at the start of one of the NUL-separated strings of path, or NULL;
 * *ret_readable says whether the kernel let us read it. */
static const char *
scan(const char *path, int *ret_readable)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t len = 0, r;

	*ret_readable = 0;
	if (fd < 0)
		return NULL;
	while (len < MAX_READ - 1 && (r = read(fd, buf + len, MAX_READ - 1 - len)) > 0)
		len += r;
	close(fd);
	if (r < 0 && len == 0)
		return NULL;
	*ret_readable = 1;
	buf[len] = '\0';
	for (ssize_t off = 0; off < len; off += (ssize_t)strlen(buf + off) + 1)
		for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
			if (strncmp(buf + off, needles[i], strlen(needles[i])) == 0)
				return needles[i];
	return NULL;
}

int
main(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	const char *found = NULL;
	char where[320] = "";
	int pids = 0, readable = 0, init_readable = 0;

	if (!d) {
		printf("probe=procenv result=error step=opendir errno=%s\n",
		       strerrorname_np(errno));
		return 2;
	}
	while ((e = readdir(d)) && !found) {
		static const char *const files[] = {"environ", "cmdline"};

		if (e->d_name[0] < '1' || e->d_name[0] > '9')
			continue;
		pids++;
		for (size_t i = 0; i < 2 && !found; i++) {
			char path[300];
			int r;

			snprintf(path, sizeof(path), "/proc/%s/%s", e->d_name, files[i]);
			found = scan(path, &r);
			readable += r;
			if (i == 0 && strcmp(e->d_name, "1") == 0)
				init_readable = r;
			if (found)
				snprintf(where, sizeof(where), "%s/%s", e->d_name, files[i]);
		}
	}
	closedir(d);
	printf("probe=procenv result=%s pids=%d readable=%d init_environ=%s%s%.*s%s%s\n",
	       found ? "allowed" : "blocked", pids, readable, init_readable ? "readable" : "hidden",
	       found ? " found=" : "", found ? (int)strcspn(found, "=") : 0, found ? found : "",
	       found ? " in=" : "", where);
	return found ? 1 : 0;
}
