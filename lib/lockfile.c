/* One holder at a time: flock on a file that also names the holder's pid. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/lockfile.h"
#include "lib/macros.h"

/* The pid the holder wrote, or 0. */
static long
holder_of(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	return errno || end == buf || pid <= 0 ? 0 : pid;
}

int
al_lockfile_take(const char *path, int *ret_fd, long *ret_holder, struct al_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	char pid[32];
	int n;

	if (fd < 0)
		return al_err_set(err, -errno, "%s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e != EWOULDBLOCK)
			return al_err_set(err, -e, "%s: cannot lock: %s", path, strerror(e));
		*ret_holder = holder_of(fd);
		return al_err_set(err, -EBUSY, "%s is held by process %ld", path, *ret_holder);
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t)n, 0) != n)
		return al_err_set(err, -errno, "%s: cannot write the pid: %s", path,
				  strerror(errno));
	*ret_fd = steal_fd(&fd);
	return 0;
}
