/* probe=ptrace_sibling: one child cannot trace or read its sibling, the shape of a test
 * process going after another test's process. Unlike probe=ptrace, the target is not a
 * descendant, which is all Yama's restricted mode would stop. Reading the sibling through
 * /proc/PID/mem is reported but not judged: it goes through the kernel's ordinary
 * same-user access check, like a debugger, and both processes are the sandbox's own. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile long secret = 0x5eC7e7;

/* The tracer's findings, one bit each, as its exit status. */
enum { ATTACHED = 1, SEIZED = 2, VM_READ = 4, PROCMEM_READ = 8 };

static int
tracer(pid_t target)
{
	long copy = 0;
	struct iovec local = {.iov_base = &copy, .iov_len = sizeof(copy)};
	struct iovec remote = {.iov_base = (void *)&secret, .iov_len = sizeof(secret)};
	char path[64];
	int bits = 0, fd;

	if (ptrace(PTRACE_ATTACH, target, NULL, NULL) == 0) {
		bits |= ATTACHED;
		waitpid(target, NULL, __WALL);
		ptrace(PTRACE_DETACH, target, NULL, NULL);
	} else if (errno != EPERM) {
		return 100 + errno;
	}
	if (ptrace(PTRACE_SEIZE, target, NULL, NULL) == 0) {
		bits |= SEIZED;
		ptrace(PTRACE_DETACH, target, NULL, NULL);
	}
	if (process_vm_readv(target, &local, 1, &remote, 1, 0) == (ssize_t)sizeof(copy) &&
	    copy == secret)
		bits |= VM_READ;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)target);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (pread(fd, &copy, sizeof(copy), (off_t)(unsigned long)&secret) ==
			(ssize_t)sizeof(copy) &&
		    copy == secret)
			bits |= PROCMEM_READ;
		close(fd);
	}
	return bits;
}

int
main(void)
{
	pid_t target, t;
	int st, bits;

	target = fork();
	if (target < 0) {
		printf("probe=ptrace_sibling result=error step=fork errno=%s\n",
		       strerrorname_np(errno));
		return 2;
	}
	if (target == 0) {
		alarm(30);
		for (;;)
			pause();
	}
	t = fork();
	if (t == 0)
		_exit(tracer(target));
	if (t < 0 || waitpid(t, &st, 0) != t || !WIFEXITED(st)) {
		kill(target, SIGKILL);
		waitpid(target, NULL, 0);
		printf("probe=ptrace_sibling result=error step=tracer\n");
		return 2;
	}
	kill(target, SIGKILL);
	waitpid(target, NULL, 0);
	bits = WEXITSTATUS(st);
	if (bits >= 100) {
		printf("probe=ptrace_sibling result=error step=attach errno=%s\n",
		       strerrorname_np(bits - 100));
		return 2;
	}
	printf("probe=ptrace_sibling result=%s attach=%s seize=%s vm_readv=%s proc_mem=%s\n",
	       bits & (ATTACHED | SEIZED | VM_READ) ? "allowed" : "blocked",
	       bits & ATTACHED ? "yes" : "no", bits & SEIZED ? "yes" : "no",
	       bits & VM_READ ? "yes" : "no", bits & PROCMEM_READ ? "readable" : "no");
	return bits & (ATTACHED | SEIZED | VM_READ) ? 1 : 0;
}
