/* The sandbox's network namespace, made beside the init rather than by it.
 *
 * Making a network namespace (its loopback device, sysctl tables, per-protocol state) is
 * the costliest single step of a sandbox's start, about half a millisecond, and nothing
 * the init does before pivot_root needs it. So the init clones a helper that makes one
 * while the init mounts the new root, and joins it before the first unmount: a detach
 * waits for an RCU grace period, which the helper's work in the kernel would stretch.
 *
 * The helper shares the init's memory (CLONE_VM: no page tables copied) but not its fd
 * table, so the init's close_range cannot race the helper's sockets. It runs in the
 * sandbox's user namespace, so the namespace is owned by it, as one made by clone would
 * be. It takes a handle on the namespace from a socket inside it (SIOCGSKNS) and passes
 * it back over a socket pair, then exits; the init reaps it before the command exists, so
 * the command never shares a process with it (the command is pid 3, the helper was 2).
 *
 * The two share one TLS block, so errno too, and the init sets errno all the time (every
 * mkdir -p meets EEXIST): the helper's own calls are raw syscalls that return the
 * kernel's -errno and never touch errno. Neither allocates. */
#include <errno.h>
#include <linux/sockios.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fdpass.h"
#include "runner/sandbox-int.h"

/* The helper's own stack (its calls are a handful of syscall wrappers), and its end of
 * the socket pair: static, since the init's stack frame is gone by the time it runs. */
static char helper_stack[16384] __attribute__((aligned(64)));
static int helper_sock = -1;

/* A syscall with up to three arguments: the result or the kernel's -errno, errno left
 * alone (see the top of this file). */
static long
raw_syscall(long nr, long a, long b, long c)
{
#if defined(__x86_64__)
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;

	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
#else
#error "runner/netns.c: raw_syscall needs this architecture's syscall convention"
#endif
}

/* The helper: exit status 0 once the handle is sent, else the errno of the failed step.
 * It returns rather than calling _exit: clone's own code then makes the exit call, and a
 * sanitizer build sees no noreturn call on a stack it does not know. */
static int
helper_main(void *arg)
{
	long r, s, ns;

	(void)arg;
	r = raw_syscall(SYS_unshare, CLONE_NEWNET, 0, 0);
	if (r < 0)
		return (int)-r;
	s = raw_syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return (int)-s;
	ns = raw_syscall(SYS_ioctl, s, SIOCGSKNS, 0);
	if (ns < 0)
		return (int)-ns;
	/* its own failure is EIO whatever errno says */
	return al_fd_send(helper_sock, "N", 1, (int)ns) < 0 ? EIO : 0;
}

/* On the other core. A new task is queued where its parent runs, and an idle core (a
 * halted vCPU, on a virtual machine) does not pull it over before the parent blocks for
 * it: the helper would then run after the mounts rather than beside them, as scheduler
 * traces of runs spaced 50 ms apart showed. Only a hint: an error changes nothing. */
static void
move_elsewhere(pid_t pid)
{
	cpu_set_t set;
	int me = sched_getcpu();

	if (me < 0 || sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	CPU_CLR(me, &set);
	if (CPU_COUNT(&set) > 0)
		(void)sched_setaffinity(pid, sizeof(set), &set);
}

void
al_netns_start(struct al_netns *n, int report_fd)
{
	int sv[2];

	n->sock = -1;
	n->pid = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		al_child_fail(report_fd, -errno, "network namespace: socketpair");
	helper_sock = sv[1];
	n->pid = clone(helper_main, helper_stack + sizeof(helper_stack), CLONE_VM | SIGCHLD, NULL);
	if (n->pid < 0)
		al_child_fail(report_fd, -errno, "network namespace: clone");
	move_elsewhere(n->pid);
	close(sv[1]);
	n->sock = sv[0];
}

void
al_netns_join(struct al_netns *n, int report_fd)
{
	size_t len;
	char byte;
	int st, fd = -1, r;

	r = al_fd_recv(n->sock, &byte, 1, 0, &len, &fd);
	while (waitpid(n->pid, &st, 0) < 0)
		if (errno != EINTR)
			al_child_fail(report_fd, -errno, "network namespace: waitpid");
	close(n->sock);
	n->sock = -1;
	n->pid = -1;
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		al_child_fail(report_fd, -WEXITSTATUS(st), "network namespace");
	if (r < 0 || !WIFEXITED(st))
		al_child_fail(report_fd, r < 0 ? r : -ECHILD, "network namespace: no handle");
	if (setns(fd, CLONE_NEWNET) < 0)
		al_child_fail(report_fd, -errno, "network namespace: setns");
	close(fd);
}
