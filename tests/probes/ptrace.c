/* probe=ptrace: neither ptrace nor process_vm_readv reaches another process, even our own
 * child. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long secret = 42;

int
main(void)
{
	long copy = 0;
	struct iovec local = {.iov_base = &copy, .iov_len = sizeof(copy)};
	struct iovec remote = {.iov_base = (void *)&secret, .iov_len = sizeof(secret)};
	int seize_err = 0, read_err = 0;
	pid_t child = fork();

	if (child < 0) {
		printf("probe=ptrace result=error errno=%s step=fork\n", strerrorname_np(errno));
		return 2;
	}
	if (child == 0) {
		alarm(30);
		for (;;)
			pause();
	}
	if (ptrace(PTRACE_SEIZE, child, NULL, NULL) < 0)
		seize_err = errno;
	if (process_vm_readv(child, &local, 1, &remote, 1, 0) < 0)
		read_err = errno;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("probe=ptrace result=%s errno=%s vm_readv=%s\n",
	       seize_err && read_err ? "blocked" : "allowed",
	       seize_err ? strerrorname_np(seize_err) : "0",
	       read_err ? strerrorname_np(read_err) : "0");
	return seize_err && read_err ? 0 : 1;
}
