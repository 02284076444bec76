/* probe=priority: no way to starve the host: no negative nice value, no real-time
 * scheduling class. Only this process's own priority is touched, just before it exits. */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

int
main(void)
{
	struct sched_param sp = {.sched_priority = 1};
	int nice_err = setpriority(PRIO_PROCESS, 0, -5) < 0 ? errno : 0;
	int fifo_err = sched_setscheduler(0, SCHED_FIFO, &sp) < 0 ? errno : 0;
	int rr_err = sched_setscheduler(0, SCHED_RR, &sp) < 0 ? errno : 0;
	int raised = !nice_err || !fifo_err || !rr_err;

	sp.sched_priority = 0;
	sched_setscheduler(0, SCHED_OTHER, &sp);
	printf("probe=priority result=%s errno=%s fifo=%s rr=%s\n", raised ? "allowed" : "blocked",
	       nice_err ? strerrorname_np(nice_err) : "0",
	       fifo_err ? strerrorname_np(fifo_err) : "0", rr_err ? strerrorname_np(rr_err) : "0");
	return raised ? 1 : 0;
}
