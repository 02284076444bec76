/* probe=orphan, a bounded tree for the timeout test: forks a child that starts its own
 * session and forks again, so the grandchild is orphaned and in no process group of ours;
 * then everyone sleeps. The marker in argv[1] stays in every process's command line, for
 * whoever looks for survivors. Each process gives up by itself after 120 s. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	pid_t p;

	if (argc != 2) {
		fprintf(stderr, "usage: orphan MARKER\n");
		return 2;
	}
	alarm(120);
	p = fork();
	if (p == 0) {
		setsid();
		if (fork() == 0) {
			alarm(120);
			for (;;)
				pause();
		}
		_exit(0);
	}
	printf("probe=orphan result=spawned marker=%s\n", argv[1]);
	fflush(stdout);
	for (;;)
		pause();
}
