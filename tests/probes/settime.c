/* probe=settime: the system clock cannot be set. settimeofday() with neither a time nor a
 * zone makes the kernel check the privilege and then change nothing, so where it is
 * allowed the clock is untouched; adjtimex() asks to change the tick to its current value. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <unistd.h>

int
main(void)
{
	struct timex tx;
	int set_err, adj_err;

	set_err = syscall(SYS_settimeofday, NULL, NULL) < 0 ? errno : 0;
	memset(&tx, 0, sizeof(tx));
	/* a filter may refuse adjtimex outright, even the read */
	if (adjtimex(&tx) < 0) {
		adj_err = errno;
	} else {
		tx.modes = ADJ_TICK;
		adj_err = adjtimex(&tx) < 0 ? errno : 0;
	}
	printf("probe=settime result=%s errno=%s adjtimex=%s\n",
	       set_err && adj_err ? "blocked" : "allowed", set_err ? strerrorname_np(set_err) : "0",
	       adj_err ? strerrorname_np(adj_err) : "0");
	return set_err && adj_err ? 0 : 1;
}
