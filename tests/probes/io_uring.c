/* probe=io_uring: no io_uring instance, a large kernel surface that also runs work outside
 * the seccomp filter's sight. A small ring is set up and closed at once. */
#include <errno.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int
main(void)
{
	struct io_uring_params p;
	long fd;
	int e;

	memset(&p, 0, sizeof(p));
	fd = syscall(SYS_io_uring_setup, 4, &p);
	e = fd < 0 ? errno : 0;
	if (fd >= 0)
		close((int)fd);
	printf("probe=io_uring result=%s errno=%s\n", fd >= 0 ? "allowed" : "blocked",
	       e ? strerrorname_np(e) : "0");
	return fd >= 0 ? 1 : 0;
}
