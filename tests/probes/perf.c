/* probe=perf: no perf event, neither a software counter on ourselves nor a CPU-wide one
 * (side channels, and a long list of kernel bugs). */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* 0 when the event could be opened, else the errno. */
static int
try_open(int pid, int cpu)
{
	struct perf_event_attr a;
	long fd;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = PERF_TYPE_SOFTWARE;
	a.config = PERF_COUNT_SW_TASK_CLOCK;
	a.disabled = 1;
	fd = syscall(SYS_perf_event_open, &a, pid, cpu, -1, 0);
	if (fd < 0)
		return errno;
	close((int)fd);
	return 0;
}

int
main(void)
{
	int self = try_open(0, -1);
	int cpu = try_open(-1, 0);

	printf("probe=perf result=%s errno=%s cpu_wide=%s\n",
	       self == 0 || cpu == 0 ? "allowed" : "blocked", self ? strerrorname_np(self) : "0",
	       cpu ? strerrorname_np(cpu) : "0");
	return self == 0 || cpu == 0 ? 1 : 0;
}
