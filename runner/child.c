/* The sandbox's two children: the init (pid 1 of the new pid namespace), which joins its
 * cgroups, builds the root (mounts.c) while a helper makes its network namespace
 * (netns.c), prepares what the command inherits while it waits for that helper, forks the
 * command and reaps, and the command (pid 3), which drops its capabilities, loads the
 * seccomp filter last and execs. Both run between a raw clone and
 * exec in a possibly multi-threaded runner's copy: nothing here allocates or takes a libc
 * lock, and credential changes use raw syscalls. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/compat.h"
#include "lib/fdpass.h"
#include "lib/macros.h"
#include "runner/egress.h"
#include "runner/sandbox-int.h"

extern char **environ;

const struct al_rlimit_step al_child_rlimits[] = {
    {RLIMIT_CORE, "core", 0},
    {RLIMIT_FSIZE, "fsize", (rlim_t)256 << 20},
    {RLIMIT_NOFILE, "nofile", 1024},
    {RLIMIT_STACK, "stack", (rlim_t)8 << 20},
};

const size_t al_child_rlimits_len = AL_ARRAY_SIZE(al_child_rlimits);

_Noreturn void
al_child_fail(int report_fd, int code, const char *fmt, ...)
{
	struct al_setup_report rep = {.code = code};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep.what, sizeof(rep.what), fmt, ap);
	va_end(ap);
	if (write(report_fd, &rep, sizeof(rep)) < 0) {
		/* nothing left to tell; the runner sees a missing status */
	}
	_exit(127);
}

/* Closes every fd above 2 except the n in keep (which it sorts). */
static int
close_all_except(int *keep, size_t n)
{
	unsigned start = 3;

	/* a handful of fds: insertion sort, nothing that might allocate */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			int t = keep[j];

			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		if (keep[i] < (int)start)
			continue;
		if ((unsigned)keep[i] > start &&
		    al_close_range(start, (unsigned)keep[i] - 1, 0) < 0)
			return -errno;
		start = (unsigned)keep[i] + 1;
	}
	return al_close_range(start, ~0U, 0) < 0 ? -errno : 0;
}

/* The kernel's struct sigaction, for the raw syscall below. */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

/* The runner may ignore SIGPIPE or block signals; the sandbox starts from defaults.
 * The raw syscall reaches every signal: glibc's sigaction refuses the two real-time
 * signals it keeps for itself, which a parent may still have left ignored. */
static void
reset_signals(void)
{
	struct kernel_sigaction sa = {.handler = SIG_DFL};
	sigset_t none;

	for (int sig = 1; sig <= 64; sig++) /* fails harmlessly for SIGKILL and SIGSTOP */
		syscall(SYS_rt_sigaction, sig, &sa, NULL, sizeof(sa.mask));
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Waits for the runner's go: our id maps are written (and, when the runner had to move
 * us into the run's cgroups, we are there). */
static void
wait_for_runner(const struct al_child_ctx *c)
{
	char byte;
	ssize_t n;

	do
		n = read(c->sync_fd, &byte, 1);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		_exit(127); /* the runner gave up and knows why */
}

/* Takes uid/gid 0 inside and arranges to die with the runner. Setting the parent-death
 * signal after the uid change (which clears it) leaves a window, closed by checking that
 * the runner still holds the sync pipe. */
static void
become_root(const struct al_child_ctx *c)
{
	struct pollfd pfd = {.fd = c->sync_fd, .events = POLLIN};

	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		al_child_fail(c->report_fd, -errno, "setresuid 0");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		al_child_fail(c->report_fd, -errno, "PR_SET_PDEATHSIG");
	if (poll(&pfd, 1, 0) < 0 || (pfd.revents & (POLLHUP | POLLERR)))
		_exit(127);
}

/* First, while we are one thread and before anything is charged to the runner's groups:
 * a thread that moves itself spares the kernel a global lock (cgroup-run.c). A group that
 * refuses us ends the run before the command exists. */
static void
join_cgroups(const struct al_child_ctx *c)
{
	const char *path = "?";
	int r = al_cgroup_run_join_self(c->cg, &path);

	if (r < 0)
		al_child_fail(c->report_fd, r, "joining cgroup %s", path);
}

/* The table's limits on the file size (fsize), or all the others. */
static int
set_rlimits(int fsize)
{
	for (size_t i = 0; i < al_child_rlimits_len; i++) {
		struct rlimit rl;

		if ((al_child_rlimits[i].resource == RLIMIT_FSIZE) != fsize)
			continue;
		if (getrlimit(al_child_rlimits[i].resource, &rl) < 0)
			return -errno;
		/* raising a hard limit needs privilege outside the namespace */
		if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > al_child_rlimits[i].value)
			rl.rlim_max = al_child_rlimits[i].value;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(al_child_rlimits[i].resource, &rl) < 0)
			return -errno;
	}
	return 0;
}

/* The bounding set has to go first: dropping from it needs CAP_SETPCAP. With an empty
 * bounding set and NOROOT, exec as uid 0 grants nothing back. Capabilities are numbered
 * from 0 without gaps, and dropping one past the last fails with EINVAL. The init does
 * this for the command (see prepare_command): neither the bounding set nor NOROOT matters
 * to a process that never execs, and its own capabilities stay. */
static int
drop_bounding_set(void)
{
	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) < 0)
		return -errno;
	for (unsigned long cap = 0;; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL && cap > 0)
				break;
			return -errno;
		}
	return 0;
}

/* The command's own capabilities, once the bounding set is empty. */
static int
drop_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	memset(data, 0, sizeof(data));
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

/* What the command inherits from us that we ourselves never use: an empty bounding set,
 * NOROOT, no_new_privs, and the limits but the file size's (we still copy the report out,
 * which may be larger). Done while we wait for the network namespace, so the command's
 * start does not pay for it. */
static void
prepare_command(const struct al_child_ctx *c)
{
	int r;

	if ((r = drop_bounding_set()) < 0)
		al_child_fail(c->report_fd, r, "drop capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		al_child_fail(c->report_fd, -errno, "no_new_privs");
	if ((r = set_rlimits(0)) < 0)
		al_child_fail(c->report_fd, r, "setrlimit");
}

static int
attach_stdio(const struct al_child_ctx *c)
{
	if (dup2(c->out_fd, STDOUT_FILENO) < 0 || dup2(c->err_fd, STDERR_FILENO) < 0)
		return -errno;
	return 0;
}

/* The command. Every step before exec reports to the runner as a sandbox failure; a
 * failed exec is the command's own outcome (127, like a shell). */
static _Noreturn void
run_command(const struct al_child_ctx *c)
{
	int keep[] = {c->report_fd, c->notify_fd};
	char msg[256];
	int listener, r;

	if (chdir("/work") < 0)
		al_child_fail(c->report_fd, -errno, "chdir /work");
	if (setsid() < 0)
		al_child_fail(c->report_fd, -errno, "setsid");
	if ((r = attach_stdio(c)) < 0)
		al_child_fail(c->report_fd, r, "stdout/stderr");
	environ = c->envp;
	if ((r = close_all_except(keep, AL_ARRAY_SIZE(keep))) < 0)
		al_child_fail(c->report_fd, r, "close_range");
	if ((r = set_rlimits(1)) < 0)
		al_child_fail(c->report_fd, r, "setrlimit");
	if ((r = drop_caps()) < 0)
		al_child_fail(c->report_fd, r, "drop capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		al_child_fail(c->report_fd, -errno, "no_new_privs");
	/* last: only sendmsg, close and execve run under the filter before the command */
	if ((r = al_seccomp_install_counted(c->filter, &listener)) < 0)
		al_child_fail(c->report_fd, r, "seccomp");
	if (listener >= 0 && (r = al_seccomp_send_listener(c->notify_fd, listener)) < 0)
		al_child_fail(c->report_fd, r, "seccomp listener");
	if (listener >= 0)
		close(listener);
	execvp(c->argv[0], c->argv);
	r = errno;
	snprintf(msg, sizeof(msg), "airlock: cannot run %s: %s\n", c->argv[0], al_errno_name(r));
	if (write(STDERR_FILENO, msg, strlen(msg)) < 0) {
		/* stderr is gone; the exit code still says it */
	}
	_exit(r == ENOENT ? 127 : 126);
}

static int
command_main(void *c)
{
	run_command(c);
}

/* init's own stdio is /dev/null: nothing of the runner's terminal stays inside. */
static int
init_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	for (int i = 0; i <= STDERR_FILENO; i++) {
		if (fd == i ? fcntl(fd, F_SETFD, 0) < 0 : dup2(fd, i) < 0)
			return -errno;
	}
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/* The report the command left, copied into the runner's memfd while the disk still
 * exists: without following a link, blocking on a FIFO, or taking more than the cap. */
static int
copy_report(const struct al_child_ctx *c)
{
	char path[PATH_MAX], buf[16384];
	size_t total = 0;
	struct stat st;
	int fd, r = 0;

	if (!c->report_name || c->report_copy_fd < 0)
		return -ECHILD;
	if (snprintf(path, sizeof(path), "%s/%s", AL_SANDBOX_REPORT_DIR, c->report_name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		r = -EINVAL;
	while (r == 0) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -EIO : 0;
			break;
		}
		total += (size_t)n;
		if (total > c->report_max)
			r = -EFBIG;
		else if (write(c->report_copy_fd, buf, (size_t)n) != n)
			r = -EIO;
	}
	close(fd);
	return r;
}

/* What the command left behind: its disk's use and its report. */
static void
final_status(const struct al_child_ctx *c, int wait_status, struct al_init_status *ret)
{
	struct statvfs sv;

	ret->wait_status = wait_status;
	ret->disk_used = ret->disk_free = -1;
	/* /tmp is a directory of the disk: its statistics are the disk's */
	if (statvfs("/tmp", &sv) == 0) {
		ret->disk_used = (long long)((sv.f_blocks - sv.f_bfree) * sv.f_frsize);
		ret->disk_free = (long long)(sv.f_bavail * sv.f_frsize);
	}
	ret->report_error = copy_report(c);
}

/* Once the command has ended: everything it left is killed and reaped here, so that when
 * the status goes out nothing of the run is alive but us. Then, on v1, we leave the run's
 * groups (al_cgroup_run_leave_self): the runner can remove them at once, while the kernel
 * still tears our namespaces down. kill(-1) from pid 1 reaches every other process of the
 * namespace, and a process with the signal pending can no longer fork. */
static void
end_run(const struct al_child_ctx *c, int wait_status, struct al_init_status *fin)
{
	kill(-1, SIGKILL);
	while (waitpid(-1, NULL, __WALL) > 0 || errno == EINTR)
		;
	final_status(c, wait_status, fin);
	fin->left = al_cgroup_run_leave_self(c->cg) == 0;
}

/* Reaps every process that lands on pid 1; reports the command's status when it ends.
 * Keeping its capabilities and turning off dumpable keeps the command (same uid) from
 * reaching into init through /proc or ptrace. */
static _Noreturn void
reap(const struct al_child_ctx *c, pid_t cmd)
{
	struct al_init_status fin;

	close(c->out_fd);
	close(c->err_fd);
	close(c->notify_fd);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		al_child_fail(c->report_fd, -errno, "PR_SET_DUMPABLE");
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, __WALL);

		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			al_child_fail(c->report_fd, -errno, "waitpid");
		if (p != cmd)
			continue;
		end_run(c, st, &fin);
		if (write(c->status_fd, &fin, sizeof(fin)) != (ssize_t)sizeof(fin))
			al_child_fail(c->report_fd, -errno, "writing status");
		_exit(0);
	}
}

/* Opened between the first wait_for_runner and become_root. Our credentials are still the runner's,
 * so root-owned ancestors only the runner may search (the data dir is 0700) let us through
 * by their owner bits; after the switch the sandbox user could not reach the workspace.
 * With the maps written, our capabilities also cover ancestors the sandbox user owns;
 * before, they would not (an unmapped owner), and whether we got in would race with the
 * runner writing the maps. */
static int
open_dir(const struct al_child_ctx *c, const char *path, const char *what)
{
	int fd;

	if (!path)
		return -1;
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		al_child_fail(c->report_fd, -errno, "open %s", what);
	return fd;
}

/* The extra binds' sources and the environment's directories, opened for the same reason
 * as the workspace. The fds to keep go into keep, *n_keep counting. */
static void
open_sources(const struct al_child_ctx *c, struct al_child_fds *fds, int *keep, size_t *n_keep)
{
	fds->workspace = open_dir(c, c->workspace, "workspace");
	for (size_t i = 0; i < c->n_binds; i++) {
		fds->binds[i] = open(c->binds[i].src, O_PATH | O_CLOEXEC);
		if (fds->binds[i] < 0)
			al_child_fail(c->report_fd, -errno, "open bind source %s", c->binds[i].src);
		keep[(*n_keep)++] = fds->binds[i];
	}
	fds->image = open_dir(c, c->root_image, "image");
	for (size_t i = 0; i < c->n_layers; i++)
		keep[(*n_keep)++] = fds->layers[i] = open_dir(c, c->layers[i], "layer");
	fds->upper = open_dir(c, c->upper_dir, "upper directory");
	keep[(*n_keep)++] = fds->workspace;
	keep[(*n_keep)++] = fds->image;
	keep[(*n_keep)++] = fds->upper;
}

/* The path out, when the run has one: loopback up, a listener bound before the command
 * exists (so it never races the command for the port), handed to the proxy outside; our
 * copy of the control socket goes, so the command never holds it. */
static void
egress_listen(const struct al_child_ctx *c)
{
	struct ifreq ifr = {.ifr_name = "lo"};
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons(AL_SANDBOX_PROXY_PORT),
				 .sin_addr.s_addr = htonl(AL_SANDBOX_PROXY_ADDR)};
	int s, l, r;

	if (c->egress_fd < 0)
		return;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		al_child_fail(c->report_fd, -errno, "loopback");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		al_child_fail(c->report_fd, -errno, "loopback up");
	close(s);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(l, 128) < 0)
		al_child_fail(c->report_fd, -errno, "egress listener");
	/* the label tells the proxy whose listener this is (egress.h) */
	if ((r = al_fd_send(c->egress_fd, c->egress_label, strlen(c->egress_label), l)) < 0)
		al_child_fail(c->report_fd, r, "egress listener to the proxy");
	close(l);
	close(c->egress_fd);
}

enum {
	KEEP_FIXED = 9,
	KEEP_MAX = KEEP_FIXED + AL_CG_NCTRL + AL_SANDBOX_MAX_BINDS + AL_SANDBOX_MAX_LAYERS + 3
};

_Noreturn void
al_child_init(const struct al_child_ctx *c)
{
	int keep[KEEP_MAX];
	struct al_child_fds fds;
	struct al_netns netns;
	size_t n_keep = KEEP_FIXED;
	pid_t cmd;
	int r;

	/* Our copy of the runner's end: held, a runner killed before its first byte would
	 * leave us waiting for ever, pid 1 of a namespace nothing else kills. */
	close(c->sync_wr_fd);
	wait_for_runner(c);
	join_cgroups(c);
	/* in the run's groups from its birth. Started any earlier, it competes with the
	 * runner's last steps for the second core and the init waits longer (two cores). */
	al_netns_start(&netns, c->report_fd);
	memcpy(keep,
	       (int[]){c->sync_fd, c->report_fd, c->status_fd, c->out_fd, c->err_fd, c->notify_fd,
		       c->report_copy_fd, c->egress_fd, netns.sock},
	       KEEP_FIXED * sizeof(int));
	n_keep += al_cgroup_run_exit_fds(c->cg, keep + n_keep, AL_CG_NCTRL);
	open_sources(c, &fds, keep, &n_keep);

	if ((r = close_all_except(keep, n_keep)) < 0)
		al_child_fail(c->report_fd, r, "close_range");
	reset_signals();
	become_root(c);
	al_mounts_build_root(c, &fds);
	prepare_command(c);
	al_netns_join(&netns, c->report_fd);
	egress_listen(c);
	al_mounts_enter_root(c, &fds);
	if (sethostname(AL_SANDBOX_HOSTNAME, strlen(AL_SANDBOX_HOSTNAME)) < 0)
		al_child_fail(c->report_fd, -errno, "sethostname");
	if ((r = init_stdio()) < 0)
		al_child_fail(c->report_fd, r, "stdin /dev/null");
	if (unshare(CLONE_NEWCGROUP) < 0)
		al_child_fail(c->report_fd, -errno, "cgroup namespace");
	/* the runner's second byte: the run's limits are in place (written while we worked) */
	wait_for_runner(c);
	/* posix_spawn's way: the command shares our memory until it execs (we wait), so no
	 * page tables are copied and nothing is faulted in or torn down for a process about
	 * to exec anyway. Our errno and environ may change under us; we never read them. */
	cmd = clone(command_main, c->cmd_stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)c);
	if (cmd < 0)
		al_child_fail(c->report_fd, -errno, "fork command");
	reap(c, cmd);
}
