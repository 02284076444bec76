/* probe=chroot: the classic chroot escape fails at its first step. A child chroots into a
 * fresh directory under /tmp, climbs out with chdir("..") and chroots into where it
 * landed; where chroot works (as real root) that reaches the real root, which the child
 * recognises by its device and inode. Only the child's own view of the files changes. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Exit status: 0 chroot refused, 1 chroot worked but no escape, 2 escaped, 3 error;
 * the errno of the first chroot goes through the pipe. */
static _Noreturn void
child(const char *dir, int report)
{
	struct stat root, now;
	int e = 0;

	if (stat("/", &root) < 0)
		_exit(3);
	if (chroot(dir) < 0) {
		e = errno;
		if (write(report, &e, sizeof(e)) < 0)
			_exit(3);
		_exit(0);
	}
	if (write(report, &e, sizeof(e)) < 0)
		_exit(3);
	/* the cwd is still outside the new root: walk up past it */
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	if (chroot(".") < 0 || stat("/", &now) < 0)
		_exit(1);
	_exit(now.st_dev == root.st_dev && now.st_ino == root.st_ino ? 2 : 1);
}

int
main(void)
{
	char dir[] = "/tmp/probe-chroot-XXXXXX";
	int fds[2], st, e = -1;
	pid_t p;

	if (!mkdtemp(dir) || pipe2(fds, O_CLOEXEC) < 0) {
		printf("probe=chroot result=error step=setup errno=%s\n", strerrorname_np(errno));
		return 2;
	}
	p = fork();
	if (p == 0)
		child(dir, fds[1]);
	close(fds[1]);
	if (p < 0 || read(fds[0], &e, sizeof(e)) != (ssize_t)sizeof(e) || waitpid(p, &st, 0) != p ||
	    !WIFEXITED(st) || WEXITSTATUS(st) == 3) {
		rmdir(dir);
		printf("probe=chroot result=error step=child\n");
		return 2;
	}
	close(fds[0]);
	rmdir(dir);
	printf("probe=chroot result=%s errno=%s escaped=%s\n", e ? "blocked" : "allowed",
	       e ? strerrorname_np(e) : "0", WEXITSTATUS(st) == 2 ? "yes" : "no");
	return e ? 0 : 1;
}
