/* One command in a fresh set of namespaces (user, pid, mount, net, ipc, uts, cgroup).
 *
 * Three processes take part. The runner (the caller) clones the sandbox init with a raw
 * clone(), writes its id maps, puts it into fresh cgroups (memory, pids, CPU caps) while
 * the init builds its root, then captures output, answers the filter's notifications
 * (counting denied calls) and enforces the wall clock. The init (pid 1 of the new pid
 * namespace) builds the new root from the mount plan below, waits until it is in its
 * cgroups, enters a cgroup namespace rooted there, forks the command and reaps
 * everything; when the command ends it reports the command's wait status and exits, which
 * makes the kernel kill whatever is left in the namespace. The command (pid 2) drops
 * every privilege, loads the seccomp filter last, hands its listener to the runner and
 * execs.
 *
 * The runner may be multi-threaded, so nothing after the clone allocates or takes a libc
 * lock: everything the children need is prepared before, and credential changes use raw
 * syscalls (glibc's setresuid would try to signal threads that only the parent has).
 */
#include "runner/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/cgroup.h"
#include "runner/seccomp.h"

#define DEFAULT_TIMEOUT_MS 60000u
#define DEFAULT_OUTPUT_CAP ((size_t)1 << 20)
#define DEFAULT_MEMORY ((size_t)1 << 30)
#define DEFAULT_PIDS 256u
#define DEFAULT_CPU_PERCENT 100u
#define DEFAULT_TMP ((size_t)64 << 20)
#define MIN_MEMORY ((size_t)8 << 20)
#define MAX_BINDS 16
#define KILL_GRACE_MS 5000
#define MAX_ENV_EXTRA 256
#define SANDBOX_ID 65534
#define HOSTNAME "airlock"
/* The new root is a tmpfs mounted over this host path inside the new mount namespace.
 * It hides the host's /tmp there, which is why the workspace goes in as an fd. */
#define NEWROOT "/tmp"
#define NEWROOT_OPTS "size=4m,mode=0755"
#define OLDROOT ".oldroot"

/* The cgroup namespace comes later: the init enters one once the runner has put it into
 * the run's groups, so that they are its root. */
#define NS_FLAGS \
	(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)

extern char **environ;

/* ---- the plan: tables that both the setup and the profile text read ---- */

enum mount_op {
	OP_RO_BIND,    /* host path, read-only, nosuid, nodev */
	OP_DEV_BIND,   /* host device node, nosuid, noexec */
	OP_HOST_LINK,  /* a symlink when the host has one (usrmerge), else OP_RO_BIND */
	OP_WORKSPACE,  /* the run's workspace, read-write, nosuid, nodev */
	OP_TMPFS,      /* src holds the options; always nosuid, nodev */
	OP_TMP,	       /* a tmpfs of the run's tmp_bytes; src holds the other options */
	OP_PROC,       /* a proc for the new pid namespace */
	OP_SYMLINK,    /* src is the target */
	OP_FILE,       /* src is the contents */
	OP_REMOUNT_RO, /* an earlier tmpfs, once filled */
};

static const char *const op_names[] = {
    [OP_RO_BIND] = "ro-bind",	  [OP_DEV_BIND] = "dev-bind",
    [OP_HOST_LINK] = "host-link", [OP_WORKSPACE] = "rw-bind",
    [OP_TMPFS] = "tmpfs",	  [OP_TMP] = "tmpfs",
    [OP_PROC] = "proc",		  [OP_SYMLINK] = "symlink",
    [OP_FILE] = "file",		  [OP_REMOUNT_RO] = "remount-ro",
};

#define STEP_OPTIONAL 1u /* skipped when the host path does not exist */

struct mount_step {
	enum mount_op op;
	const char *src;
	const char *dest; /* inside the sandbox */
	unsigned flags;
};

static const char passwd_text[] = "root:x:0:0:sandbox:/tmp:/bin/sh\n"
				  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char group_text[] = "root:x:0:\nnogroup:x:65534:\n";

static const struct mount_step mount_plan[] = {
    {OP_RO_BIND, "/usr", "/usr", 0},
    {OP_HOST_LINK, "/bin", "/bin", STEP_OPTIONAL},
    {OP_HOST_LINK, "/sbin", "/sbin", STEP_OPTIONAL},
    {OP_HOST_LINK, "/lib", "/lib", STEP_OPTIONAL},
    {OP_HOST_LINK, "/lib32", "/lib32", STEP_OPTIONAL},
    {OP_HOST_LINK, "/lib64", "/lib64", STEP_OPTIONAL},
    {OP_HOST_LINK, "/libx32", "/libx32", STEP_OPTIONAL},
    {OP_FILE, passwd_text, "/etc/passwd", 0},
    {OP_FILE, group_text, "/etc/group", 0},
    {OP_RO_BIND, "/etc/ld.so.cache", "/etc/ld.so.cache", STEP_OPTIONAL},
    {OP_RO_BIND, "/etc/alternatives", "/etc/alternatives", STEP_OPTIONAL},
    {OP_WORKSPACE, NULL, "/work", 0},
    {OP_TMP, "mode=1777", "/tmp", 0},
    {OP_TMPFS, "size=64k,mode=0755", "/dev", 0},
    {OP_DEV_BIND, "/dev/null", "/dev/null", 0},
    {OP_DEV_BIND, "/dev/zero", "/dev/zero", 0},
    {OP_DEV_BIND, "/dev/full", "/dev/full", 0},
    {OP_DEV_BIND, "/dev/random", "/dev/random", 0},
    {OP_DEV_BIND, "/dev/urandom", "/dev/urandom", 0},
    {OP_SYMLINK, "/proc/self/fd", "/dev/fd", 0},
    {OP_SYMLINK, "/proc/self/fd/0", "/dev/stdin", 0},
    {OP_SYMLINK, "/proc/self/fd/1", "/dev/stdout", 0},
    {OP_SYMLINK, "/proc/self/fd/2", "/dev/stderr", 0},
};

/* After the run's own binds, which may land below /dev. */
static const struct mount_step mount_plan_tail[] = {
    {OP_REMOUNT_RO, NULL, "/dev", 0},
    /* proc can only be mounted while the host's proc is still visible: before pivot */
    {OP_PROC, NULL, "/proc", 0},
};

static const char *const env_allow[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "HOME=/tmp",
    "LANG=C.UTF-8",
    "TERM=dumb",
};

static const struct {
	int resource;
	const char *name;
	rlim_t value;
} rlimit_plan[] = {
    {RLIMIT_CORE, "core", 0},
    {RLIMIT_FSIZE, "fsize", (rlim_t)256 << 20},
    {RLIMIT_NOFILE, "nofile", 1024},
    {RLIMIT_STACK, "stack", (rlim_t)8 << 20},
};

/* statvfs flags a bind remount must carry over: the kernel refuses to clear the ones it
 * locked when the mount namespace was copied into our user namespace. */
static const struct {
	unsigned long st, ms;
} kept_flags[] = {
    {ST_RDONLY, MS_RDONLY},	{ST_NOSUID, MS_NOSUID},	  {ST_NODEV, MS_NODEV},
    {ST_NOEXEC, MS_NOEXEC},	{ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
    {ST_RELATIME, MS_RELATIME},
};

/* ---- what the children are handed; prepared by the runner before the clone ---- */

struct setup_report {
	int code; /* -errno */
	char what[120];
};

struct child_ctx {
	int sync_fd;   /* read: a byte once the id maps are written, another once in cgroups */
	int report_fd; /* write: struct setup_report on failure */
	int status_fd; /* write: the command's raw wait status */
	int out_fd;    /* write: the command's stdout */
	int err_fd;    /* write: the command's stderr */
	int notify_fd; /* unix socket: the command sends its filter's listener */
	const char *workspace;
	char *const *argv;
	char **envp;
	const struct al_seccomp_prog *filter;
	char tmp_opts[64];
	char work_opts[64]; /* the tmpfs /work when there is no workspace */
	const struct al_bind *binds;
	size_t n_binds;
	char *cmd_stack_top; /* the command's stack until exec; mapped by the runner */
};

/* A fork without libc's atfork machinery, whose locks another runner thread may hold.
 * Arguments after flags are NULL, so the x86_64/aarch64 argument order does not matter. */
static pid_t
raw_clone(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

static _Noreturn void __attribute__((format(printf, 3, 4)))
child_fail(int report_fd, int code, const char *fmt, ...)
{
	struct setup_report rep = {.code = code};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rep.what, sizeof(rep.what), fmt, ap);
	va_end(ap);
	if (write(report_fd, &rep, sizeof(rep)) < 0) {
		/* nothing left to tell; the runner sees a missing status */
	}
	_exit(127);
}

/* ---- child: building the new root ---- */

static int
root_path(char *buf, size_t size, const char *dest)
{
	int n = snprintf(buf, size, "%s%s", NEWROOT, dest);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* mkdir -p of everything above path's last component. */
static int
make_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *s = buf + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

static int
make_mountpoint(const char *path, int is_dir)
{
	int fd;

	if (is_dir)
		return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static unsigned long
flags_to_keep(const char *path)
{
	struct statvfs sv;
	unsigned long ms = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	for (size_t i = 0; i < AL_ARRAY_SIZE(kept_flags); i++)
		if (sv.f_flag & kept_flags[i].st)
			ms |= kept_flags[i].ms;
	return ms;
}

static int
remount(const char *path, unsigned long add)
{
	unsigned long fl = MS_REMOUNT | MS_BIND | add | flags_to_keep(path);

	return mount(NULL, path, NULL, fl, NULL) < 0 ? -errno : 0;
}

static int
bind_path(const char *src, const char *dest, unsigned long add, unsigned step_flags)
{
	struct stat st;
	int r;

	if (stat(src, &st) < 0)
		return errno == ENOENT && (step_flags & STEP_OPTIONAL) ? 0 : -errno;
	r = make_mountpoint(dest, S_ISDIR(st.st_mode));
	if (r < 0)
		return r;
	if (mount(src, dest, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	return remount(dest, add);
}

static int
host_link(const struct mount_step *s, const char *dest)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(s->src, &st) < 0)
		return errno == ENOENT && (s->flags & STEP_OPTIONAL) ? 0 : -errno;
	if (!S_ISLNK(st.st_mode))
		return bind_path(s->src, dest, MS_RDONLY | MS_NOSUID | MS_NODEV, s->flags);
	n = readlink(s->src, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return symlink(target, dest) < 0 ? -errno : 0;
}

static int
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	close(fd);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int
mount_fs(const char *type, const char *dest, unsigned long flags, const char *data)
{
	if (mkdir(dest, 0755) < 0 && errno != EEXIST)
		return -errno;
	return mount(type, dest, type, flags, data) < 0 ? -errno : 0;
}

static int
apply_step(const struct mount_step *s, const struct child_ctx *c, int ws_fd)
{
	char dest[PATH_MAX], src[64];
	int r = root_path(dest, sizeof(dest), s->dest);

	if (r == 0)
		r = make_parents(dest);
	if (r < 0)
		return r;
	switch (s->op) {
	case OP_RO_BIND:
		return bind_path(s->src, dest, MS_RDONLY | MS_NOSUID | MS_NODEV, s->flags);
	case OP_DEV_BIND:
		return bind_path(s->src, dest, MS_NOSUID | MS_NOEXEC, s->flags);
	case OP_HOST_LINK:
		return host_link(s, dest);
	case OP_WORKSPACE:
		if (ws_fd < 0) /* none given: an empty one of its own */
			return mount_fs("tmpfs", dest, MS_NOSUID | MS_NODEV, c->work_opts);
		snprintf(src, sizeof(src), "/proc/self/fd/%d", ws_fd);
		return bind_path(src, dest, MS_NOSUID | MS_NODEV, 0);
	case OP_TMPFS:
		return mount_fs("tmpfs", dest, MS_NOSUID | MS_NODEV, s->src);
	case OP_TMP:
		return mount_fs("tmpfs", dest, MS_NOSUID | MS_NODEV, c->tmp_opts);
	case OP_PROC:
		return mount_fs("proc", dest, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	case OP_SYMLINK:
		return symlink(s->src, dest) < 0 ? -errno : 0;
	case OP_FILE:
		return write_file(dest, s->src);
	case OP_REMOUNT_RO:
		return remount(dest, MS_RDONLY);
	}
	return -EINVAL;
}

static int
enter_root(void)
{
	if (chdir(NEWROOT) < 0 || mkdir(OLDROOT, 0700) < 0)
		return -errno;
	if (syscall(SYS_pivot_root, ".", OLDROOT) < 0 || chdir("/") < 0)
		return -errno;
	if (umount2("/" OLDROOT, MNT_DETACH) < 0 || rmdir("/" OLDROOT) < 0)
		return -errno;
	return 0;
}

/* One of the run's extra binds; its source was opened as fd like the workspace. */
static int
apply_bind(const struct al_bind *b, int fd)
{
	char dest[PATH_MAX], src[64];
	int r = root_path(dest, sizeof(dest), b->dst ? b->dst : b->src);

	if (r == 0)
		r = make_parents(dest);
	if (r < 0)
		return r;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	return bind_path(src, dest, MS_NOSUID | MS_NODEV | (b->writable ? 0 : MS_RDONLY), 0);
}

static void
apply_plan(const struct child_ctx *c, const struct mount_step *plan, size_t n, int ws_fd)
{
	for (size_t i = 0; i < n; i++) {
		int r = apply_step(&plan[i], c, ws_fd);

		if (r < 0)
			child_fail(c->report_fd, r, "%s %s", op_names[plan[i].op], plan[i].dest);
	}
}

/* ws_fd is the workspace, opened in our own mount namespace (a bind source must belong to
 * it) before the new root hides the host's /tmp; see open_workspace. bind_fds likewise. */
static void
build_root(const struct child_ctx *c, int ws_fd, const int *bind_fds)
{
	int r;

	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		child_fail(c->report_fd, -errno, "make / rslave");
	if (mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, NEWROOT_OPTS) < 0)
		child_fail(c->report_fd, -errno, "mount root tmpfs");
	apply_plan(c, mount_plan, AL_ARRAY_SIZE(mount_plan), ws_fd);
	for (size_t i = 0; i < c->n_binds; i++) {
		const struct al_bind *b = &c->binds[i];

		r = apply_bind(b, bind_fds[i]);
		if (r < 0)
			child_fail(c->report_fd, r, "bind %s", b->dst ? b->dst : b->src);
		close(bind_fds[i]);
	}
	apply_plan(c, mount_plan_tail, AL_ARRAY_SIZE(mount_plan_tail), ws_fd);
	if (ws_fd >= 0)
		close(ws_fd);
	r = enter_root();
	if (r < 0)
		child_fail(c->report_fd, r, "pivot_root");
	r = remount("/", MS_RDONLY);
	if (r < 0)
		child_fail(c->report_fd, r, "remount / read-only");
}

/* ---- child: process state ---- */

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
		if ((unsigned)keep[i] > start && close_range(start, (unsigned)keep[i] - 1, 0) < 0)
			return -errno;
		start = (unsigned)keep[i] + 1;
	}
	return close_range(start, ~0U, 0) < 0 ? -errno : 0;
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

/* Waits for the runner's go: once our id maps are written, once we are in the run's
 * cgroups. */
static void
wait_for_runner(const struct child_ctx *c)
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
become_root(const struct child_ctx *c)
{
	struct pollfd pfd = {.fd = c->sync_fd, .events = POLLIN};

	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		child_fail(c->report_fd, -errno, "setresuid 0");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(c->report_fd, -errno, "PR_SET_PDEATHSIG");
	if (poll(&pfd, 1, 0) < 0 || (pfd.revents & (POLLHUP | POLLERR)))
		_exit(127);
}

static int
set_rlimits(void)
{
	for (size_t i = 0; i < AL_ARRAY_SIZE(rlimit_plan); i++) {
		struct rlimit rl;

		if (getrlimit(rlimit_plan[i].resource, &rl) < 0)
			return -errno;
		/* raising a hard limit needs privilege outside the namespace */
		if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > rlimit_plan[i].value)
			rl.rlim_max = rlimit_plan[i].value;
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(rlimit_plan[i].resource, &rl) < 0)
			return -errno;
	}
	return 0;
}

/* The bounding set has to go first: dropping from it needs CAP_SETPCAP. With an empty
 * bounding set and NOROOT, exec as uid 0 grants nothing back. */
static int
drop_caps(void)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) < 0)
		return -errno;
	for (unsigned long cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	memset(data, 0, sizeof(data));
	return syscall(SYS_capset, &hdr, data) < 0 ? -errno : 0;
}

static int
attach_stdio(const struct child_ctx *c)
{
	if (dup2(c->out_fd, STDOUT_FILENO) < 0 || dup2(c->err_fd, STDERR_FILENO) < 0)
		return -errno;
	return 0;
}

/* pid 2. Every step before exec reports to the runner as a sandbox failure; a failed exec
 * is the command's own outcome (127, like a shell). */
static _Noreturn void
run_command(const struct child_ctx *c)
{
	int keep[] = {c->report_fd, c->notify_fd};
	char msg[256];
	int listener, r;

	if (chdir("/work") < 0)
		child_fail(c->report_fd, -errno, "chdir /work");
	if (setsid() < 0)
		child_fail(c->report_fd, -errno, "setsid");
	if ((r = attach_stdio(c)) < 0)
		child_fail(c->report_fd, r, "stdout/stderr");
	environ = c->envp;
	if ((r = close_all_except(keep, AL_ARRAY_SIZE(keep))) < 0)
		child_fail(c->report_fd, r, "close_range");
	if ((r = set_rlimits()) < 0)
		child_fail(c->report_fd, r, "setrlimit");
	if ((r = drop_caps()) < 0)
		child_fail(c->report_fd, r, "drop capabilities");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(c->report_fd, -errno, "no_new_privs");
	/* last: only sendmsg, close and execve run under the filter before the command */
	if ((r = al_seccomp_install_counted(c->filter, &listener)) < 0)
		child_fail(c->report_fd, r, "seccomp");
	if (listener >= 0 && (r = al_seccomp_send_listener(c->notify_fd, listener)) < 0)
		child_fail(c->report_fd, r, "seccomp listener");
	if (listener >= 0)
		close(listener);
	execvp(c->argv[0], c->argv);
	r = errno;
	snprintf(msg, sizeof(msg), "airlock: cannot run %s: %s\n", c->argv[0], strerrorname_np(r));
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

/* Reaps every process that lands on pid 1; reports the command's status when it ends.
 * Keeping its capabilities and turning off dumpable keeps the command (same uid) from
 * reaching into init through /proc or ptrace. */
static _Noreturn void
reap(const struct child_ctx *c, pid_t cmd)
{
	close(c->out_fd);
	close(c->err_fd);
	close(c->notify_fd);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		child_fail(c->report_fd, -errno, "PR_SET_DUMPABLE");
	for (;;) {
		int st;
		pid_t p = waitpid(-1, &st, __WALL);

		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			child_fail(c->report_fd, -errno, "waitpid");
		if (p != cmd)
			continue;
		if (write(c->status_fd, &st, sizeof(st)) != (ssize_t)sizeof(st))
			child_fail(c->report_fd, -errno, "writing status");
		_exit(0);
	}
}

/* Opened between wait_for_maps and become_root. Our credentials are still the runner's,
 * so root-owned ancestors only the runner may search (the data dir is 0700) let us through
 * by their owner bits; after the switch the sandbox user could not reach the workspace.
 * With the maps written, our capabilities also cover ancestors the sandbox user owns;
 * before, they would not (an unmapped owner), and whether we got in would race with the
 * runner writing the maps. */
static int
open_workspace(const struct child_ctx *c)
{
	int fd;

	if (!c->workspace)
		return -1;
	fd = open(c->workspace, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		child_fail(c->report_fd, -errno, "open workspace");
	return fd;
}

/* The extra binds' sources, opened for the same reason as the workspace. */
static void
open_binds(const struct child_ctx *c, int *fds)
{
	for (size_t i = 0; i < c->n_binds; i++) {
		fds[i] = open(c->binds[i].src, O_PATH | O_CLOEXEC);
		if (fds[i] < 0)
			child_fail(c->report_fd, -errno, "open bind source %s", c->binds[i].src);
	}
}

enum { KEEP_FIXED = 7 };

static _Noreturn void
sandbox_init(const struct child_ctx *c)
{
	int ws_fd, keep[KEEP_FIXED + MAX_BINDS], bind_fds[MAX_BINDS];
	pid_t cmd;
	int r;

	wait_for_runner(c);
	ws_fd = open_workspace(c);
	open_binds(c, bind_fds);
	memcpy(keep,
	       (int[]){c->sync_fd, c->report_fd, c->status_fd, c->out_fd, c->err_fd, c->notify_fd,
		       ws_fd},
	       KEEP_FIXED * sizeof(int));
	memcpy(keep + KEEP_FIXED, bind_fds, c->n_binds * sizeof(int));

	if ((r = close_all_except(keep, KEEP_FIXED + c->n_binds)) < 0)
		child_fail(c->report_fd, r, "close_range");
	reset_signals();
	become_root(c);
	build_root(c, ws_fd, bind_fds);
	if (sethostname(HOSTNAME, strlen(HOSTNAME)) < 0)
		child_fail(c->report_fd, -errno, "sethostname");
	if ((r = init_stdio()) < 0)
		child_fail(c->report_fd, r, "stdin /dev/null");
	wait_for_runner(c);
	if (unshare(CLONE_NEWCGROUP) < 0)
		child_fail(c->report_fd, -errno, "cgroup namespace");
	/* posix_spawn's way: the command shares our memory until it execs (we wait), so no
	 * page tables are copied and nothing is faulted in or torn down for a process about
	 * to exec anyway. Our errno and environ may change under us; we never read them. */
	cmd = clone(command_main, c->cmd_stack_top, CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)c);
	if (cmd < 0)
		child_fail(c->report_fd, -errno, "fork command");
	reap(c, cmd);
}

/* ---- runner: output capture ---- */

struct capture {
	int fd; /* read end; -1 at EOF */
	size_t head_cap, tail_cap;
	struct al_buf head;
	char *tail; /* ring of tail_cap bytes, allocated on first use */
	size_t tail_pos, tail_len;
	size_t total; /* bytes the command wrote */
};

static void
capture_init(struct capture *c, int fd, size_t cap)
{
	c->fd = fd;
	c->head_cap = cap / 2;
	c->tail_cap = cap - c->head_cap;
	al_buf_init(&c->head, c->head_cap);
	c->tail = NULL;
	c->tail_pos = c->tail_len = 0;
	c->total = 0;
}

static void
capture_free(struct capture *c)
{
	al_closep(&c->fd);
	c->fd = -1;
	al_buf_free(&c->head);
	free(c->tail);
	c->tail = NULL;
}

static void
ring_put(struct capture *c, const char *p, size_t n)
{
	size_t first;

	if (n >= c->tail_cap) {
		memcpy(c->tail, p + n - c->tail_cap, c->tail_cap);
		c->tail_pos = 0;
		c->tail_len = c->tail_cap;
		return;
	}
	first = c->tail_cap - c->tail_pos;
	if (first > n)
		first = n;
	memcpy(c->tail + c->tail_pos, p, first);
	memcpy(c->tail, p + first, n - first);
	c->tail_pos = (c->tail_pos + n) % c->tail_cap;
	c->tail_len = c->tail_len + n > c->tail_cap ? c->tail_cap : c->tail_len + n;
}

/* Keeps the first head_cap bytes and the last tail_cap; memory never grows past that.
 * Bytes that cannot be stored (allocation failure) are counted as dropped. */
static void
capture_feed(struct capture *c, const char *p, size_t n)
{
	size_t room = c->head_cap - c->head.len;
	size_t h = n < room ? n : room;

	c->total += n;
	if (h && al_buf_append(&c->head, p, h) < 0)
		c->head_cap = c->head.len;
	p += h;
	n -= h;
	if (n == 0 || c->tail_cap == 0)
		return;
	if (!c->tail) {
		c->tail = malloc(c->tail_cap);
		if (!c->tail) {
			c->tail_cap = 0;
			return;
		}
	}
	ring_put(c, p, n);
}

/* Reads what is there now; a bounded number of chunks so one stream cannot starve the
 * other or the clock. */
static void
capture_read(struct capture *c)
{
	char chunk[65536];

	for (int i = 0; i < 16 && c->fd >= 0; i++) {
		ssize_t n = read(c->fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(c->fd);
			c->fd = -1;
			return;
		}
		capture_feed(c, chunk, (size_t)n);
	}
}

static int
capture_finish(struct capture *c, char **ret_data, size_t *ret_len, size_t *ret_dropped)
{
	size_t dropped = c->total - c->head.len - c->tail_len;
	size_t start = c->tail_len == c->tail_cap ? c->tail_pos : 0;
	size_t first = c->tail_len < c->tail_cap - start ? c->tail_len : c->tail_cap - start;
	struct al_buf out;
	int r;

	al_buf_init(&out, c->head.len + c->tail_len + AL_SANDBOX_MARKER_MAX);
	r = al_buf_append(&out, c->head.data ? c->head.data : "", c->head.len);
	if (r == 0 && dropped)
		r = al_buf_printf(&out, "\n[airlock: %zu bytes dropped]\n", dropped);
	if (r == 0 && c->tail_len) {
		r = al_buf_append(&out, c->tail + start, first);
		if (r == 0)
			r = al_buf_append(&out, c->tail, c->tail_len - first);
	}
	if (r == 0) {
		*ret_data = al_buf_steal(&out, ret_len);
		r = *ret_data ? 0 : -ENOMEM;
	}
	al_buf_free(&out);
	if (r == 0)
		*ret_dropped = dropped;
	return r;
}

/* ---- runner: one run ---- */

enum { P_SYNC, P_REPORT, P_STATUS, P_OUT, P_ERR, P_COUNT };

struct run {
	pid_t pid;
	int fds[P_COUNT][2]; /* [0] read, [1] write */
	int notify[2];	     /* socketpair: [0] the runner's end, [1] the children's */
	int listener;	     /* the command's filter; -1 until it arrives */
	char **envp;
	long long start_ms, deadline_ms, killed_ms;
	long long spawn_t0_us, spawn_us; /* set-up begun; the listener came -1: not yet */
	int killed;
	int status;
	size_t status_got;
	struct capture out, err;
	struct rusage ru;
	struct setup_report report;
	size_t report_got;
	struct al_cgroup_limits limits;
	struct al_cgroup_run *cg;
	struct al_cgroup_stats cg_stats;
	struct al_denied_syscall denied[AL_DENIED_MAX];
	size_t n_denied;
	unsigned denied_other;
	char *cmd_stack; /* mapping of cmd_stack_size bytes, the lowest page a guard */
	size_t cmd_stack_size;
};

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
close_fd(int *fd)
{
	al_closep(fd);
	*fd = -1;
}

static void
run_free(struct run *r)
{
	for (int i = 0; i < P_COUNT; i++) {
		close_fd(&r->fds[i][0]);
		close_fd(&r->fds[i][1]);
	}
	close_fd(&r->notify[0]);
	close_fd(&r->notify[1]);
	close_fd(&r->listener);
	if (r->cmd_stack)
		munmap(r->cmd_stack, r->cmd_stack_size);
	free(r->envp);
	capture_free(&r->out);
	capture_free(&r->err);
}

/* The children's fds stay above stdio so dup2 onto 0-2 never meets itself. */
static int
fd_above_stdio(int *fd)
{
	int n;

	if (*fd > STDERR_FILENO)
		return 0;
	n = fcntl(*fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	if (n < 0)
		return -errno;
	close(*fd);
	*fd = n;
	return 0;
}

static int
open_pipes(struct run *r, struct al_err *err)
{
	for (int i = 0; i < P_COUNT; i++) {
		if (pipe2(r->fds[i], O_CLOEXEC) < 0)
			return al_err_set(err, -errno, "pipe: %s", strerror(errno));
		for (int end = 0; end < 2; end++)
			if (fd_above_stdio(&r->fds[i][end]) < 0)
				return al_err_set(err, -errno, "fcntl: %s", strerror(errno));
	}
	/* the runner's read ends never block; the command's write ends must */
	for (int i = P_STATUS; i < P_COUNT; i++)
		if (fcntl(r->fds[i][0], F_SETFL, O_NONBLOCK) < 0)
			return al_err_set(err, -errno, "fcntl: %s", strerror(errno));
	return 0;
}

/* Room for run_command and execvp, whose fallback for scripts without #! copies argv onto
 * the stack. Never touched by the runner, so the clone copies no page of it. */
static int
map_command_stack(struct run *r, char *const *argv, struct al_err *err)
{
	size_t argc = 0, page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	while (argv[argc])
		argc++;
	r->cmd_stack_size = ((size_t)256 << 10) + (argc + 2) * sizeof(char *);
	r->cmd_stack_size = (r->cmd_stack_size + page - 1) / page * page + page;
	p = mmap(NULL, r->cmd_stack_size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return al_err_set(err, -errno, "mmap: %s", strerror(errno));
	r->cmd_stack = p;
	if (mprotect(p, page, PROT_NONE) < 0)
		return al_err_set(err, -errno, "mprotect: %s", strerror(errno));
	return 0;
}

/* Only when denials can be counted: otherwise nothing would ever come through. */
static int
open_notify(struct run *r, const struct al_seccomp_prog *filter, struct al_err *err)
{
	if (al_seccomp_uncounted_reason(filter))
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r->notify) < 0)
		return al_err_set(err, -errno, "socketpair: %s", strerror(errno));
	for (int end = 0; end < 2; end++)
		if (fd_above_stdio(&r->notify[end]) < 0)
			return al_err_set(err, -errno, "fcntl: %s", strerror(errno));
	return 0;
}

static int
env_key_eq(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");

	return strncmp(a, b, n) == 0 && b[n] == '=';
}

static int
overridden(const char *def, char *const *extra, size_t n_extra)
{
	for (size_t i = 0; i < n_extra; i++)
		if (env_key_eq(def, extra[i]))
			return 1;
	return 0;
}

/* The allowlist plus extras (which win); the strings stay borrowed. */
static int
build_env(char *const *extra, char ***ret, struct al_err *err)
{
	size_t n_extra = 0, n = 0;
	char **envp;

	while (extra && extra[n_extra]) {
		const char *eq = strchr(extra[n_extra], '=');

		if (!eq || eq == extra[n_extra])
			return al_err_set(err, -EINVAL, "env_extra: not K=V: '%s'", extra[n_extra]);
		if (++n_extra > MAX_ENV_EXTRA)
			return al_err_set(err, -E2BIG, "env_extra: more than %d", MAX_ENV_EXTRA);
	}
	envp = calloc(AL_ARRAY_SIZE(env_allow) + n_extra + 1, sizeof(*envp));
	if (!envp)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < AL_ARRAY_SIZE(env_allow); i++)
		if (!overridden(env_allow[i], extra, n_extra))
			envp[n++] = (char *)env_allow[i];
	for (size_t i = 0; i < n_extra; i++)
		envp[n++] = extra[i];
	*ret = envp;
	return 0;
}

static int
write_proc(pid_t pid, const char *name, const char *text)
{
	char path[64];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		return -errno;
	return (size_t)n == strlen(text) ? 0 : -EIO;
}

static int
write_id_maps(pid_t pid, uid_t uid, gid_t gid, struct al_err *err)
{
	char line[64];
	int r;

	snprintf(line, sizeof(line), "0 %u 1\n", (unsigned)uid);
	r = write_proc(pid, "uid_map", line);
	if (r < 0)
		return al_err_set(err, r, "uid_map: %s", strerror(-r));
	r = write_proc(pid, "setgroups", "deny\n");
	if (r < 0)
		return al_err_set(err, r, "setgroups: %s", strerror(-r));
	snprintf(line, sizeof(line), "0 %u 1\n", (unsigned)gid);
	r = write_proc(pid, "gid_map", line);
	if (r < 0)
		return al_err_set(err, r, "gid_map: %s", strerror(-r));
	return 0;
}

static void
read_status(struct run *r)
{
	int *fd = &r->fds[P_STATUS][0];
	char buf[16];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		size_t want = sizeof(r->status) - r->status_got;
		size_t take = (size_t)n < want ? (size_t)n : want;

		memcpy((char *)&r->status + r->status_got, buf, take);
		r->status_got += take;
		return;
	}
	close(*fd);
	*fd = -1;
}

/* ms to sleep in poll, or -1 when the run is over waiting (kill grace spent). Killing
 * pid 1 of the namespace takes every descendant with it, setsid'd or not. */
static int
next_wait(struct run *r)
{
	long long now = now_ms();

	if (!r->killed && now >= r->deadline_ms) {
		kill(r->pid, SIGKILL);
		r->killed = 1;
		r->killed_ms = now;
	}
	if (r->killed)
		return now - r->killed_ms >= KILL_GRACE_MS
			   ? -1
			   : (int)(r->killed_ms + KILL_GRACE_MS - now);
	/* wake at least once a minute; poll takes an int */
	return r->deadline_ms - now > 60000 ? 60000 : (int)(r->deadline_ms - now);
}

static void
count_denied(struct run *r, const char *name)
{
	for (size_t i = 0; i < r->n_denied; i++) {
		if (strcmp(r->denied[i].name, name) == 0) {
			r->denied[i].count++;
			return;
		}
	}
	if (r->n_denied == AL_DENIED_MAX) {
		r->denied_other++;
		return;
	}
	snprintf(r->denied[r->n_denied].name, sizeof(r->denied[0].name), "%s", name);
	r->denied[r->n_denied++].count = 1;
}

/* The command's socket: its filter's listener, or EOF when it has none. */
static void
read_notify(struct run *r)
{
	int fd = -1, rc = al_seccomp_recv_listener(r->notify[0], &fd);

	if (rc == -EAGAIN || rc == -EINTR)
		return;
	if (rc == 0 && r->listener < 0) {
		/* the command is in its namespaces, its root and cgroups, privileges dropped and
		 * filter loaded, about to exec: the sandbox is up */
		r->spawn_us = now_us() - r->spawn_t0_us;
		r->listener = fd;
	} else if (rc == 0)
		close(fd); /* only one command, so only one listener */
	/* nothing else comes this way: no need to be woken by its EOF */
	close_fd(&r->notify[0]);
}

/* A denied call waits in the kernel until answered. Unusable, the listener is closed:
 * the kernel then fails pending and later calls with ENOSYS, still denied. */
static void
answer_denied(struct run *r, short revents)
{
	const char *name = NULL;
	int rc;

	if (!(revents & POLLIN)) {
		close_fd(&r->listener); /* POLLHUP: no process uses the filter any more */
		return;
	}
	rc = al_seccomp_answer(r->listener, &name);
	if (rc > 0)
		count_denied(r, name);
	else if (rc < 0)
		close_fd(&r->listener);
}

/* Until init has exited and both streams are closed: read everything, store what fits. */
static int
pump(struct run *r)
{
	while (r->fds[P_STATUS][0] >= 0 || r->out.fd >= 0 || r->err.fd >= 0) {
		struct pollfd pf[5] = {
		    {.fd = r->fds[P_STATUS][0], .events = POLLIN},
		    {.fd = r->out.fd, .events = POLLIN},
		    {.fd = r->err.fd, .events = POLLIN},
		    {.fd = r->notify[0], .events = POLLIN},
		    {.fd = r->listener, .events = POLLIN},
		};
		int wait = next_wait(r);

		if (wait < 0)
			break;
		if (poll(pf, AL_ARRAY_SIZE(pf), wait) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pf[0].revents)
			read_status(r);
		if (pf[1].revents)
			capture_read(&r->out);
		if (pf[2].revents)
			capture_read(&r->err);
		if (pf[3].revents)
			read_notify(r);
		if (pf[4].revents)
			answer_denied(r, pf[4].revents);
	}
	return 0;
}

static void
kill_and_reap(struct run *r)
{
	kill(r->pid, SIGKILL);
	while (wait4(r->pid, NULL, 0, NULL) < 0 && errno == EINTR)
		;
	r->pid = -1;
}

/* The runner's go to the init (see wait_for_runner). */
static int
signal_init(struct run *r, struct al_err *err)
{
	if (write(r->fds[P_SYNC][1], "x", 1) != 1)
		return al_err_set(err, -errno, "sync: %s", strerror(errno));
	return 0;
}

/* The cgroups are made before the clone: made meanwhile, they slowed the init's own start
 * more than they saved (two cores). Joining them overlaps with the init building its
 * root; it must be done before the init forks the command. */
static int
start(struct run *r, const struct al_sandbox_opts *o, const struct al_cgroup_host *host, uid_t uid,
      gid_t gid, struct al_err *err)
{
	struct child_ctx c = {
	    .sync_fd = r->fds[P_SYNC][0],
	    .report_fd = r->fds[P_REPORT][1],
	    .status_fd = r->fds[P_STATUS][1],
	    .out_fd = r->fds[P_OUT][1],
	    .err_fd = r->fds[P_ERR][1],
	    .workspace = o->workspace,
	    .argv = o->argv,
	    .envp = r->envp,
	    .binds = o->binds,
	    .n_binds = o->n_binds,
	};
	int ret;

	r->spawn_t0_us = now_us();
	snprintf(c.tmp_opts, sizeof(c.tmp_opts), "size=%zu,mode=1777",
		 o->tmp_bytes ? o->tmp_bytes : DEFAULT_TMP);
	snprintf(c.work_opts, sizeof(c.work_opts), "size=%zu,mode=0755",
		 o->tmp_bytes ? o->tmp_bytes : DEFAULT_TMP);
	ret = al_seccomp_prepare(&c.filter, err);
	if (ret == 0)
		ret = open_notify(r, c.filter, err);
	if (ret == 0)
		ret = map_command_stack(r, o->argv, err);
	if (ret == 0)
		ret = al_cgroup_run_create(host, &r->limits, &r->cg, err);
	if (ret < 0)
		return ret;
	c.notify_fd = r->notify[1];
	c.cmd_stack_top = r->cmd_stack + r->cmd_stack_size;
	r->start_ms = now_ms();
	r->pid = raw_clone(NS_FLAGS);
	if (r->pid < 0)
		return al_err_set(err, -errno, "clone: %s", strerror(errno));
	if (r->pid == 0)
		sandbox_init(&c);
	close_fd(&r->fds[P_SYNC][0]);
	for (int i = P_REPORT; i < P_COUNT; i++)
		close_fd(&r->fds[i][1]);
	close_fd(&r->notify[1]);
	ret = write_id_maps(r->pid, uid, gid, err);
	if (ret == 0)
		ret = signal_init(r, err);
	if (ret == 0)
		ret = al_cgroup_run_attach(r->cg, r->pid, err);
	if (ret == 0)
		ret = signal_init(r, err);
	if (ret < 0)
		kill_and_reap(r);
	return ret;
}

static void
collect(struct run *r)
{
	int st;
	ssize_t n;

	while (wait4(r->pid, &st, 0, &r->ru) < 0 && errno == EINTR)
		;
	r->pid = -1;
	/* every writer is gone now that the whole namespace has exited */
	n = read(r->fds[P_REPORT][0], &r->report, sizeof(r->report));
	r->report_got = n > 0 ? (size_t)n : 0;
	al_cgroup_run_stats(r->cg, &r->cg_stats);
}

/* The kernel killed something at the memory cap. Without its oom_kill counter (v1 before
 * 4.13), a hit cap and a command dead of SIGKILL say the same. */
static int
oom_killed(const struct run *r)
{
	const struct al_cgroup_stats *s = &r->cg_stats;

	if (s->oom_kills_known)
		return s->oom_kills > 0;
	return s->failcnt > 0 && r->status_got == sizeof(r->status) && WIFSIGNALED(r->status) &&
	       WTERMSIG(r->status) == SIGKILL;
}

/* A command that exits 0 after one of its processes was killed at the cap coped with it. */
static void
classify(const struct run *r, struct al_run_record *rec)
{
	int have = r->status_got == sizeof(r->status);
	int exited = have && WIFEXITED(r->status), signaled = have && WIFSIGNALED(r->status);

	rec->exit_code = exited ? WEXITSTATUS(r->status) : -1;
	rec->signal = signaled ? WTERMSIG(r->status) : 0;
	if (r->killed) {
		rec->status = AL_RUN_TO;
		rec->killed = 1;
		rec->exit_code = -1;
		rec->signal = SIGKILL;
	} else if (r->report_got) {
		rec->status = AL_RUN_XX;
		rec->exit_code = -1;
		rec->signal = 0;
		snprintf(rec->detail, sizeof(rec->detail), "sandbox setup: %.*s: %s",
			 (int)sizeof(r->report.what), r->report.what,
			 r->report_got == sizeof(r->report) ? strerror(-r->report.code)
							    : "truncated report");
	} else if (oom_killed(r) && !(exited && rec->exit_code == 0)) {
		rec->status = AL_RUN_OOM;
	} else if (exited) {
		rec->status = rec->exit_code == 0 ? AL_RUN_OK : AL_RUN_RE;
	} else if (signaled) {
		rec->status = AL_RUN_SG;
	} else {
		rec->status = AL_RUN_XX;
		if (have)
			snprintf(rec->detail, sizeof(rec->detail), "unexpected wait status %#x",
				 r->status);
		else
			snprintf(rec->detail, sizeof(rec->detail),
				 "sandbox init ended without a status");
	}
}

static int
finish(struct run *r, struct al_run_record *rec)
{
	long peak_kb = (long)(r->cg_stats.peak_bytes / 1024);
	int ret;

	classify(r, rec);
	rec->wall_ms = now_ms() - r->start_ms;
	rec->spawn_us = r->spawn_us;
	rec->cpu_ms = (r->ru.ru_utime.tv_sec + r->ru.ru_stime.tv_sec) * 1000L +
		      (r->ru.ru_utime.tv_usec + r->ru.ru_stime.tv_usec) / 1000L;
	/* the group's peak also counts what the command kept in /tmp and the page cache */
	rec->max_rss_kb = peak_kb > r->ru.ru_maxrss ? peak_kb : r->ru.ru_maxrss;
	memcpy(rec->denied, r->denied, sizeof(rec->denied));
	rec->n_denied = r->n_denied;
	rec->denied_other = r->denied_other;
	ret = capture_finish(&r->out, &rec->out, &rec->out_len, &rec->out_dropped);
	if (ret == 0)
		ret = capture_finish(&r->err, &rec->err, &rec->err_len, &rec->err_dropped);
	return ret;
}

/* Inside paths: absolute, no "." or ".." parts, not the root itself, nothing of /proc
 * (the kernel's view of the sandbox must stay the kernel's). */
static int
check_inside_path(const char *path)
{
	size_t parts = 0;

	if (path[0] != '/' || strlen(path) >= PATH_MAX - sizeof(NEWROOT))
		return -EINVAL;
	for (const char *p = path; *p;) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (parts++ == 0 && len == 4 && memcmp(p, "proc", 4) == 0)
			return -EINVAL;
		p = end;
	}
	return parts ? 0 : -EINVAL;
}

static int
check_binds(const struct al_sandbox_opts *o, struct al_err *err)
{
	if (o->n_binds > MAX_BINDS)
		return al_err_set(err, -E2BIG, "sandbox: more than %d binds", MAX_BINDS);
	if (o->n_binds && !o->binds)
		return al_err_set(err, -EINVAL, "sandbox: binds missing");
	for (size_t i = 0; i < o->n_binds; i++) {
		const struct al_bind *b = &o->binds[i];
		const char *dst = b->dst ? b->dst : b->src;
		struct stat st;

		if (!b->src || b->src[0] != '/')
			return al_err_set(err, -EINVAL, "bind: source '%s' is not absolute",
					  b->src ? b->src : "");
		if (check_inside_path(dst) < 0)
			return al_err_set(err, -EINVAL,
					  "bind: '%s' is not an absolute path below / (without "
					  ". or .. parts) outside /proc",
					  dst);
		if (stat(b->src, &st) < 0)
			return al_err_set(err, -errno, "bind: %s: %s", b->src, strerror(errno));
	}
	return 0;
}

static int
check_limits(const struct al_sandbox_opts *o, struct al_cgroup_limits *ret, struct al_err *err)
{
	ret->memory_bytes = o->memory_bytes ? o->memory_bytes : DEFAULT_MEMORY;
	ret->pids_max = o->pids_max ? o->pids_max : DEFAULT_PIDS;
	ret->cpu_percent = o->cpu_percent ? o->cpu_percent : DEFAULT_CPU_PERCENT;
	if (ret->memory_bytes < MIN_MEMORY)
		return al_err_set(err, -EINVAL, "sandbox: memory cap below %zu bytes", MIN_MEMORY);
	if (ret->pids_max < 2) /* the init and the command */
		return al_err_set(err, -EINVAL, "sandbox: pids cap below 2");
	if (ret->cpu_percent > 100000)
		return al_err_set(err, -EINVAL, "sandbox: cpu_percent above 100000");
	return 0;
}

static int
check_opts(const struct al_sandbox_opts *o, uid_t *uid, gid_t *gid, struct al_err *err)
{
	int r;

	if (!o || !o->argv || !o->argv[0] || !o->argv[0][0])
		return al_err_set(err, -EINVAL, "sandbox: no command");
	if ((r = check_binds(o, err)) < 0)
		return r;
	if (geteuid() != 0) {
		/* without privilege only our own ids can be mapped */
		*uid = geteuid();
		*gid = getegid();
		return 0;
	}
	if (o->host_uid == 0 || o->host_gid == 0)
		return al_err_set(err, -EINVAL, "sandbox: host ids must not be root");
	*uid = o->host_uid;
	*gid = o->host_gid;
	return 0;
}

/* Without caps the sandbox does not run at all (fail closed). */
static int
cgroup_host(const struct al_cgroup_host **ret, struct al_err *err)
{
	int r = al_cgroup_host(ret, err);

	if (r < 0)
		return r;
	if ((*ret)->version == 0)
		return al_err_set(err, -ENOTSUP,
				  "sandbox: no usable cgroup hierarchy, so no memory, pids and CPU "
				  "caps; refusing to run. %s",
				  (*ret)->problems);
	return 0;
}

static int
prepare(struct run *r, const struct al_sandbox_opts *o, const struct al_cgroup_host **ret_host,
	struct al_err *err)
{
	size_t cap = o->output_cap ? o->output_cap : DEFAULT_OUTPUT_CAP;
	struct stat st;
	int ret;

	if ((ret = check_limits(o, &r->limits, err)) < 0 || (ret = cgroup_host(ret_host, err)) < 0)
		return ret;
	if (o->workspace && stat(o->workspace, &st) < 0)
		return al_err_set(err, -errno, "workspace %s: %s", o->workspace, strerror(errno));
	if (o->workspace && !S_ISDIR(st.st_mode))
		return al_err_set(err, -ENOTDIR, "workspace %s: not a directory", o->workspace);
	ret = build_env(o->env_extra, &r->envp, err);
	if (ret == 0)
		ret = open_pipes(r, err);
	if (ret < 0)
		return ret;
	capture_init(&r->out, steal_fd(&r->fds[P_OUT][0]), cap);
	capture_init(&r->err, steal_fd(&r->fds[P_ERR][0]), cap);
	return 0;
}

static int
run_one(struct run *r, const struct al_sandbox_opts *o, struct al_run_record *rec,
	struct al_err *err)
{
	const struct al_cgroup_host *host = NULL;
	uid_t uid = 0;
	gid_t gid = 0;
	int rc;

	rc = check_opts(o, &uid, &gid, err);
	if (rc == 0)
		rc = prepare(r, o, &host, err);
	if (rc == 0)
		rc = start(r, o, host, uid, gid, err);
	if (rc < 0)
		return rc;
	r->deadline_ms = r->start_ms + (o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS);
	rc = pump(r);
	if (rc < 0) {
		kill_and_reap(r);
		return al_err_set(err, rc, "poll: %s", strerror(-rc));
	}
	collect(r);
	rc = finish(r, rec);
	if (rc < 0)
		return al_err_set(err, rc, "sandbox: out of memory");
	return 0;
}

int
al_sandbox_run(const struct al_sandbox_opts *o, struct al_run_record *ret, struct al_err *err)
{
	struct run r = {.pid = -1, .notify = {-1, -1}, .listener = -1, .spawn_us = -1};
	struct al_run_record rec = {0};
	int rc, rc_cg;

	memset(r.fds, -1, sizeof(r.fds));
	capture_init(&r.out, -1, 0);
	capture_init(&r.err, -1, 0);
	rc = run_one(&r, o, &rec, err);
	/* whatever happened: the init is reaped by now, so the groups are (nearly) empty */
	rc_cg = al_cgroup_run_destroy(r.cg, rc == 0 ? err : NULL);
	if (rc == 0 && rc_cg < 0)
		rc = rc_cg;
	if (rc == 0)
		*ret = rec;
	else
		al_run_record_clear(&rec);
	run_free(&r);
	return rc;
}

void
al_sandbox_default_ids(uid_t *ret_uid, gid_t *ret_gid)
{
	if (geteuid() == 0) {
		*ret_uid = SANDBOX_ID;
		*ret_gid = SANDBOX_ID;
	} else {
		*ret_uid = geteuid();
		*ret_gid = getegid();
	}
}

void
al_run_record_clear(struct al_run_record *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

const char *
al_run_status_name(enum al_run_status s)
{
	static const char *const names[] = {
	    [AL_RUN_OK] = "OK", [AL_RUN_RE] = "RE",   [AL_RUN_SG] = "SG",
	    [AL_RUN_TO] = "TO", [AL_RUN_OOM] = "OOM", [AL_RUN_XX] = "XX",
	};

	if ((unsigned)s >= AL_ARRAY_SIZE(names) || !names[s])
		return "??";
	return names[s];
}

/* ---- the profile: the tables above, spelled out ---- */

static char profile_text[16384];

static void
profile_step(size_t *len, const struct mount_step *s)
{
	const char *opt = s->flags & STEP_OPTIONAL ? " if-present" : "";

	al_fixed_printf(profile_text, sizeof(profile_text), len, "mount %s %s", op_names[s->op],
			s->dest);
	if (s->op == OP_FILE) {
		al_fixed_printf(profile_text, sizeof(profile_text), len, " \"");
		for (const char *p = s->src; *p; p++)
			al_fixed_printf(profile_text, sizeof(profile_text), len,
					*p == '\n' ? "\\n" : "%c", *p);
		al_fixed_printf(profile_text, sizeof(profile_text), len, "\"\n");
	} else if (s->op == OP_WORKSPACE) {
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				" from <workspace>\n"
				"mount tmpfs /work size=<tmp_bytes> mode=0755 when no workspace\n");
	} else if (s->op == OP_TMP) {
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				" size=<tmp_bytes, default %zu> %s\n", DEFAULT_TMP, s->src);
	} else {
		al_fixed_printf(profile_text, sizeof(profile_text), len, "%s%s%s\n",
				s->src ? " from " : "", s->src ? s->src : "", opt);
	}
}

static void
profile_build(void)
{
	size_t len = 0;

	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"airlock sandbox profile v1\n"
			"namespaces user pid mount net ipc uts cgroup\n"
			"ids 0 inside maps to one unprivileged host id; setgroups deny\n"
			"hostname " HOSTNAME "\n"
			"network none (loopback down)\n");
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"mount root tmpfs %s nosuid nodev, read-only once built\n", NEWROOT_OPTS);
	for (size_t i = 0; i < AL_ARRAY_SIZE(mount_plan); i++)
		profile_step(&len, &mount_plan[i]);
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"mount the run's binds (at most %d), ro or rw, nosuid nodev, at absolute "
			"paths outside /proc\n",
			MAX_BINDS);
	for (size_t i = 0; i < AL_ARRAY_SIZE(mount_plan_tail); i++)
		profile_step(&len, &mount_plan_tail[i]);
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"pivot_root; old root detached\n"
			"binds keep their host's locked flags; ro binds nosuid nodev\n"
			"cwd /work\n");
	for (size_t i = 0; i < AL_ARRAY_SIZE(env_allow); i++)
		al_fixed_printf(profile_text, sizeof(profile_text), &len, "env %s\n", env_allow[i]);
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"env plus the run's env_extra; nothing else from the host\n");
	for (size_t i = 0; i < AL_ARRAY_SIZE(rlimit_plan); i++)
		al_fixed_printf(profile_text, sizeof(profile_text), &len, "rlimit %s %llu\n",
				rlimit_plan[i].name, (unsigned long long)rlimit_plan[i].value);
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"caps none (bounding, ambient, inheritable, permitted, effective)\n"
			"securebits noroot noroot-locked\n"
			"no_new_privs 1\n"
			"session setsid\n"
			"fds 0=/dev/null 1=stdout-pipe 2=stderr-pipe, all others closed\n"
			"signals default dispositions, none blocked\n"
			"timeout wall clock, whole pid namespace killed\n"
			"output stdout and stderr each kept as head and tail within the cap\n");
	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"%scgroup defaults memory %zu pids %u cpu %u%%\n"
			"cgroup namespace rooted at the run's group\n"
			"cgroup none usable: the run is refused\n",
			al_cgroup_profile(), DEFAULT_MEMORY, DEFAULT_PIDS, DEFAULT_CPU_PERCENT);
	al_fixed_printf(profile_text, sizeof(profile_text), &len, "%s", al_seccomp_profile());
}

const char *
al_sandbox_profile(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, profile_build);
	return profile_text;
}

/* ---- the doctor: what this host can do, and what to change ---- */

static void __attribute__((format(printf, 3, 4)))
problem(struct al_host_support *h, size_t *len, const char *fmt, ...)
{
	size_t room = sizeof(h->problems) - *len;
	va_list ap;
	int n;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(h->problems + *len, room, fmt, ap);
	va_end(ap);
	*len += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
}

static long
read_sysctl(const char *path)
{
	char buf[32] = "";
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

enum { PROBE_OK, PROBE_UNMAPPED = 2, PROBE_MOUNT, PROBE_PIVOT };

/* In a user and mount namespace of its own, once mapped: a tmpfs root entered with
 * pivot_root, as the sandbox does. */
static _Noreturn void
probe_child(int sync_fd)
{
	char byte;

	if (read(sync_fd, &byte, 1) != 1)
		_exit(1);
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		_exit(PROBE_UNMAPPED);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
	    mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, NEWROOT_OPTS) < 0)
		_exit(PROBE_MOUNT);
	if (chdir(NEWROOT) < 0 || mkdir(OLDROOT, 0700) < 0 ||
	    syscall(SYS_pivot_root, ".", OLDROOT) < 0)
		_exit(PROBE_PIVOT);
	_exit(PROBE_OK);
}

static void
doctor_namespaces(struct al_host_support *h, size_t *len)
{
	uid_t uid;
	gid_t gid;
	int p[2], st = 0;
	struct al_err e = {0};
	pid_t pid;

	if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
		problem(h, len,
			"user namespaces: user.max_user_namespaces is 0; set it (sysctl "
			"-w user.max_user_namespaces=15000)\n");
	if (geteuid() != 0 && read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		problem(h, len,
			"user namespaces: unprivileged ones are off; run airlock as root "
			"or sysctl -w kernel.unprivileged_userns_clone=1\n");
	al_sandbox_default_ids(&uid, &gid);
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = raw_clone(CLONE_NEWUSER | CLONE_NEWNS);
	if (pid == 0)
		probe_child(p[0]);
	close(p[0]);
	if (pid > 0 && write_id_maps(pid, uid, gid, &e) == 0 && write(p[1], "x", 1) == 1)
		h->user_namespaces = 1;
	close(p[1]);
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	if (pid < 0 || !h->user_namespaces ||
	    (WIFEXITED(st) && WEXITSTATUS(st) == PROBE_UNMAPPED)) {
		h->user_namespaces = 0;
		problem(h, len,
			"user namespaces: cannot make one with an id map (%s); check "
			"user.max_user_namespaces, and AppArmor's or SELinux's userns rules\n",
			pid < 0	   ? strerror(errno)
			: e.msg[0] ? e.msg
				   : "the id map did not apply");
		return;
	}
	h->pivot_root = WIFEXITED(st) && WEXITSTATUS(st) == PROBE_OK;
	if (!h->pivot_root)
		problem(h, len,
			"pivot_root: %s failed in a user and mount namespace; a container "
			"runtime's seccomp or LSM profile may forbid it\n",
			WIFEXITED(st) && WEXITSTATUS(st) == PROBE_MOUNT ? "mounting a tmpfs"
									: "pivot_root");
}

static void
doctor_cgroups(struct al_host_support *h, size_t *len)
{
	const struct al_cgroup_host *host;
	struct al_err e = {0};

	if (al_cgroup_host(&host, &e) < 0) {
		problem(h, len, "%s\n", al_err_msg(&e));
		return;
	}
	h->cgroup_version = host->version;
	snprintf(h->cgroup_controllers, sizeof(h->cgroup_controllers), "%s", host->controllers);
	if (!host->version)
		problem(h, len, "%s", host->problems);
}

static void
doctor_seccomp(struct al_host_support *h, size_t *len)
{
	char why[256] = "";

	al_seccomp_probe(&h->seccomp, &h->seccomp_notify, why, sizeof(why));
	if (!h->seccomp)
		problem(h, len, "seccomp: %s; the kernel needs CONFIG_SECCOMP_FILTER\n", why);
	else if (!h->seccomp_notify)
		problem(h, len,
			"seccomp: denied calls are not counted (%s); Linux 5.0 or later "
			"counts them (optional)\n",
			why);
}

/* /bin/true with every feature: caps, a bind, a small /tmp, the filter. */
static void
doctor_run(struct al_host_support *h, size_t *len)
{
	char ws[] = "/tmp/airlock-doctor-XXXXXX";
	const struct al_bind bind = {.src = "/usr", .dst = "/opt/airlock-doctor"};
	struct al_sandbox_opts o = {
	    .workspace = ws,
	    .argv = (char *const[]){"/bin/true", NULL},
	    .timeout_ms = 10000,
	    .memory_bytes = (size_t)256 << 20,
	    .pids_max = 64,
	    .cpu_percent = 100,
	    .tmp_bytes = (size_t)16 << 20,
	    .binds = &bind,
	    .n_binds = 1,
	};
	struct al_run_record rec = {0};
	struct al_err e = {0};
	int r;

	if (!mkdtemp(ws)) {
		problem(h, len, "sandbox: cannot make a workspace in /tmp: %s\n", strerror(errno));
		return;
	}
	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	if (chown(ws, o.host_uid, o.host_gid) < 0) {
		problem(h, len, "sandbox: chown %s: %s\n", ws, strerror(errno));
		rmdir(ws);
		return;
	}
	r = al_sandbox_run(&o, &rec, &e);
	h->sandbox_ran = r == 0 && rec.status == AL_RUN_OK;
	if (r < 0)
		problem(h, len, "sandbox: /bin/true could not start: %s\n", al_err_msg(&e));
	else if (!h->sandbox_ran)
		problem(h, len, "sandbox: /bin/true ended %s %s\n", al_run_status_name(rec.status),
			rec.detail);
	al_run_record_clear(&rec);
	al_rm_rf(ws);
}

int
al_sandbox_doctor(struct al_host_support *ret)
{
	struct al_host_support h = {0};
	size_t len = 0;

	doctor_namespaces(&h, &len);
	doctor_cgroups(&h, &len);
	doctor_seccomp(&h, &len);
	doctor_run(&h, &len);
	*ret = h;
	return h.user_namespaces && h.cgroup_version && h.seccomp && h.pivot_root && h.sandbox_ran
		   ? 0
		   : -ENOTSUP;
}
