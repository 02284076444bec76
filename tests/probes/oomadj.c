/* probe=oomadj: the sandbox cannot shield itself from the OOM killer (so that host
 * processes die in its place): oom_score_adj cannot go below where it starts. Only this
 * process's own value is touched. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 0 when value was written, else the errno. */
static int
write_adj(const char *value)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	int e = 0;

	if (fd < 0)
		return errno;
	if (write(fd, value, strlen(value)) < 0)
		e = errno;
	close(fd);
	return e;
}

static long
read_adj(void)
{
	char buf[32] = "";
	int fd = open("/proc/self/oom_score_adj", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n > 0 ? strtol(buf, NULL, 10) : -9999;
}

int
main(void)
{
	long start = read_adj();
	int e = write_adj("-1000");
	long now = read_adj();
	int lowered = now < start;

	printf("probe=oomadj result=%s errno=%s start=%ld now=%ld\n",
	       lowered ? "allowed" : "blocked", e ? strerrorname_np(e) : "0", start, now);
	return lowered ? 1 : 0;
}
