/* probe=unshare: no new namespaces, neither by unshare() nor by clone() flags. Each try
 * runs in a child so one success cannot change the next try. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* errno of the attempt, 0 when it worked. */
static int
in_child(int how, int flags)
{
	int st;
	pid_t p = fork();

	if (p < 0)
		return errno;
	if (p == 0) {
		if (how == 0) {
			_exit(unshare(flags) < 0 ? errno : 0);
		} else {
			long c = syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL,
					 NULL, NULL);

			if (c == 0)
				_exit(0);
			if (c > 0)
				waitpid((pid_t)c, NULL, 0);
			_exit(c < 0 ? errno : 0);
		}
	}
	if (waitpid(p, &st, 0) < 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

int
main(void)
{
	static const struct {
		const char *name;
		int how, flags;
	} tries[] = {
	    {"unshare(NEWUSER)", 0, CLONE_NEWUSER}, {"unshare(NEWNS)", 0, CLONE_NEWNS},
	    {"unshare(NEWNET)", 0, CLONE_NEWNET},   {"clone(NEWUSER)", 1, CLONE_NEWUSER},
	    {"clone(NEWPID)", 1, CLONE_NEWPID},
	};
	const char *worked = NULL;
	int first_err = 0;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		int e = in_child(tries[i].how, tries[i].flags);

		if (e == 0 && !worked)
			worked = tries[i].name;
		if (i == 0)
			first_err = e;
	}
	printf("probe=unshare result=%s errno=%s%s%s\n", worked ? "allowed" : "blocked",
	       first_err > 0 ? strerrorname_np(first_err) : "0", worked ? " worked=" : "",
	       worked ? worked : "");
	return worked ? 1 : 0;
}
