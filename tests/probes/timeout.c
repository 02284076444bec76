/* probe=timeout, run by the probe suite with a short --timeout: sleep past the wall clock
 * while ignoring every polite signal (TERM, INT, HUP, QUIT, ALRM, XCPU), so only a kill
 * ends it. If it ever wakes up it says "allowed". */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

#define SLEEP_S 30

int
main(void)
{
	static const int polite[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGALRM, SIGXCPU, SIGUSR1};
	struct timespec left = {.tv_sec = SLEEP_S};

	for (size_t i = 0; i < sizeof(polite) / sizeof(polite[0]); i++)
		signal(polite[i], SIG_IGN);
	printf("probe=timeout result=sleeping seconds=%d\n", SLEEP_S);
	fflush(stdout);
	while (nanosleep(&left, &left) < 0 && errno == EINTR)
		;
	printf("probe=timeout result=allowed slept=%d\n", SLEEP_S);
	return 1;
}
