/* probe=tmpfill, destructive, run by the probe suite only: write to /tmp until the disk is
 * full. The tmpfs cap must stop it with ENOSPC at no more than its size (and, when the
 * harness passes PROBE_TMP_CAP, that size must be the one asked for). The file is removed
 * afterwards. It refuses to start outside a sandbox. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sandboxed.h"

#define CHUNK (1024 * 1024)
#define BOUND ((unsigned long long)1 << 30)

int
main(void)
{
	static char chunk[CHUNK];
	const char *want = getenv("PROBE_TMP_CAP");
	unsigned long long size, written = 0, cap = want ? strtoull(want, NULL, 10) : 0;
	struct statvfs sv;
	int fd, err = 0, ok;

	if (!sandboxed()) {
		printf("probe=tmpfill result=error step=refused not-in-a-sandbox\n");
		return 2;
	}
	signal(SIGXFSZ, SIG_IGN); /* the file size limit then says EFBIG instead of killing */
	if (statvfs("/tmp", &sv) < 0 ||
	    (fd = open("/tmp/probe-fill", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0) {
		printf("probe=tmpfill result=error step=open errno=%s\n", strerrorname_np(errno));
		return 2;
	}
	size = (unsigned long long)sv.f_blocks * sv.f_frsize;
	memset(chunk, 0x5a, sizeof(chunk));
	while (written < BOUND) {
		ssize_t n = write(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		written += (unsigned long long)n;
	}
	close(fd);
	unlink("/tmp/probe-fill");
	ok = err == ENOSPC && written <= size && (!cap || size <= cap);
	printf("probe=tmpfill result=%s errno=%s written=%llu tmp_size=%llu want=%llu\n",
	       ok ? "blocked" : "allowed", err ? strerrorname_np(err) : "0", written, size, cap);
	return ok ? 0 : 1;
}
