/* One command in a fresh set of namespaces (user, pid, mount, net, ipc, uts, cgroup).
 *
 * Three processes take part. The runner (the caller) makes fresh cgroups (memory, pids,
 * CPU caps), clones the sandbox init with a raw clone (born in its cgroup on v2), writes
 * its id maps, then the groups' limits while the init builds the root (the command starts
 * only after the runner's second go), then captures output, answers the filter's
 * notifications (counting denied calls) and enforces the wall clock. The init (pid 1 of
 * the new pid namespace) joins its cgroups first (v1), builds the new root from the mount
 * plan while a short-lived helper makes its network namespace (netns.c), sets up what the
 * command inherits (bounding set, no_new_privs, rlimits) while it waits for that helper,
 * enters a cgroup namespace rooted at its group, forks the command and reaps everything;
 * when the command ends it reports the command's wait status and exits, which makes the
 * kernel kill whatever is left in the namespace. The command (pid 3) drops its own
 * capabilities, loads the seccomp filter last, hands its listener to the runner and execs.
 *
 * The runner may be multi-threaded, so nothing after the clone allocates or takes a libc
 * lock: everything the children need is prepared before, and credential changes use raw
 * syscalls (glibc's setresuid would try to signal threads that only the parent has).
 *
 * The runner folder:
 *   sandbox.c      this run loop: options, pipes, the clone, id maps, polling, the record
 *   sandbox.h      the sandbox's public interface; sandbox-int.h what its files share
 *   mounts.c       the mount plan (one table) and the init's building of the new root
 *   child.c        the init and the command, from the clone to exec
 *   netns.c        the network namespace, made beside the init
 *   capture.c      stdout and stderr kept as head and tail within the cap
 *   profile.c      the plan spelled out as the profile text digested into grants
 *   doctor.c       what this host supports, for `airlock doctor`
 *   seccomp.c      the syscall filter: loading the stored programs, counting denials
 *   seccomp-rules.c  the filter's one rule table, which gen/ compiles with libseccomp
 *   gen/           build-time only: the generator of the stored BPF programs
 *   cgroup.c       per-run control groups: detection; cgroup-run.c one run's groups
 *   record.c       a run record as JSON (field names and statuses: lib/runrec.h)
 *   cli.c, front.c `airlock sandbox` and `airlock doctor`, and the static front binary
 *   main.c         `airlock runner --job DIR`: checkout, plan, result.json
 *   checkout.c     the job's trees with libgit2: apply.c (a patch as git apply would),
 *                  tree.c (trees written byte for byte), hunks.c, libgit.c (shared)
 *   git.c          the server's repository operations (refs, notes, fetch, diffs)
 *   report.c       per-test reports (JUnit XML, TAP), parsed outside the sandbox
 */
#include "runner/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/cgroup.h"
#include "runner/sandbox-int.h"
#include "runner/seccomp.h"

#define DEFAULT_TIMEOUT_MS 60000u
#define DEFAULT_OUTPUT_CAP ((size_t)1 << 20)
#define MIN_MEMORY ((size_t)8 << 20)
#define KILL_GRACE_MS 5000
#define MAX_ENV_EXTRA 256
#define SANDBOX_ID 65534

/* Two namespaces come later. The init enters a cgroup namespace once it is in the run's
 * groups, so that they are its root, and joins a network namespace that its helper made
 * while it built the root (netns.c). */
#define NS_FLAGS (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)

const char *const al_sandbox_env_allow[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "HOME=/tmp",
    "LANG=C.UTF-8",
    "TERM=dumb",
};

const size_t al_sandbox_env_allow_len = AL_ARRAY_SIZE(al_sandbox_env_allow);

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
	struct al_init_status fin; /* what the init reported when the command ended */
	size_t status_got;
	int report_copy; /* memfd the init copies the report into; -1 without one */
	struct al_capture out, err;
	struct rusage ru;
	struct al_setup_report report;
	size_t report_got;
	struct al_cgroup_limits limits;
	struct al_cgroup_run *cg;
	struct al_cgroup_stats cg_stats;
	int cg_stats_read;
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

/* The runner's copy of the command's stack: the init and the command have their own once
 * the init is cloned, and the runner never touches it. */
static void
drop_command_stack(struct run *r)
{
	if (r->cmd_stack)
		munmap(r->cmd_stack, r->cmd_stack_size);
	r->cmd_stack = NULL;
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
	close_fd(&r->report_copy);
	drop_command_stack(r);
	free(r->envp);
	al_capture_free(&r->out);
	al_capture_free(&r->err);
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
	envp = calloc(al_sandbox_env_allow_len + n_extra + 1, sizeof(*envp));
	if (!envp)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < al_sandbox_env_allow_len; i++)
		if (!overridden(al_sandbox_env_allow[i], extra, n_extra))
			envp[n++] = (char *)al_sandbox_env_allow[i];
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

int
al_sandbox_write_id_maps(pid_t pid, uid_t uid, gid_t gid, struct al_err *err)
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
	char buf[sizeof(r->fin)];
	ssize_t n = read(*fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n > 0) {
		size_t want = sizeof(r->fin) - r->status_got;
		size_t take = (size_t)n < want ? (size_t)n : want;

		memcpy((char *)&r->fin + r->status_got, buf, take);
		r->status_got += take;
		/* The command has ended and the init has killed and reaped what it left, so
		 * the memory counters hold the run's whole life (the kernel counts an OOM kill
		 * before it sends the signal). Read them now, while the init's namespaces are
		 * torn down on the other core, rather than after. */
		if (r->status_got == sizeof(r->fin) && !r->cg_stats_read) {
			al_cgroup_run_stats(r->cg, &r->cg_stats);
			r->cg_stats_read = 1;
		}
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
		/* one core is idle while the command runs: spares for the next runs, the
		 * groups of runners that died, and what is not needed until the end */
		al_cgroup_run_refill(r->cg);
		al_cgroup_sweep_once();
		drop_command_stack(r);
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

/* Until the init has reported (the command has ended and nothing of it is left) or exited,
 * and both streams are closed: read everything, store what fits. */
static int
pump(struct run *r)
{
	while ((r->fds[P_STATUS][0] >= 0 && r->status_got < sizeof(r->fin)) || r->out.fd >= 0 ||
	       r->err.fd >= 0) {
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
			al_capture_read(&r->out);
		if (pf[2].revents)
			al_capture_read(&r->err);
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

/* Born in the run's group where the kernel can do that (cgroup v2); otherwise a plain
 * clone, and the init joins its groups itself (v1) or is moved by al_cgroup_run_adopt. */
static pid_t
clone_init(struct run *r, int *ret_inside)
{
	pid_t pid = al_cgroup_clone_into(al_cgroup_run_clone_fd(r->cg), NS_FLAGS);

	*ret_inside = pid >= 0;
	return pid >= 0 ? pid : al_sandbox_raw_clone(NS_FLAGS);
}

/* The cgroups are made before the clone: made meanwhile, they slowed the init's own start
 * more than they saved (two cores). The init is in them before it does anything else
 * (see cgroup-run.c for why the runner does not move it). */
static int
start(struct run *r, const struct al_sandbox_opts *o, const struct al_cgroup_host *host, uid_t uid,
      gid_t gid, struct al_err *err)
{
	struct al_child_ctx c = {
	    .sync_fd = r->fds[P_SYNC][0],
	    .sync_wr_fd = r->fds[P_SYNC][1],
	    .report_fd = r->fds[P_REPORT][1],
	    .status_fd = r->fds[P_STATUS][1],
	    .out_fd = r->fds[P_OUT][1],
	    .err_fd = r->fds[P_ERR][1],
	    .workspace = o->workspace,
	    .argv = o->argv,
	    .envp = r->envp,
	    .binds = o->binds,
	    .n_binds = o->n_binds,
	    .workspace_overlay = o->workspace_overlay,
	    .root_image = o->root_image,
	    .layers = o->layers,
	    .n_layers = o->n_layers,
	    .upper_dir = o->upper_dir,
	    .report_name = o->report_name,
	    .report_max = o->report_max ? o->report_max : AL_SANDBOX_DEFAULT_REPORT_MAX,
	    .report_copy_fd = r->report_copy,
	    .egress_fd = o->egress && o->egress_fd >= 0 ? o->egress_fd : -1,
	};
	int ret, inside = 0;

	r->spawn_t0_us = now_us();
	snprintf(c.egress_label, sizeof(c.egress_label), "%s",
		 o->egress_label ? o->egress_label : "run");
	snprintf(c.disk_opts, sizeof(c.disk_opts), "size=%zu",
		 o->disk_bytes ? o->disk_bytes : AL_SANDBOX_DEFAULT_DISK);
	ret = al_seccomp_prepare(&c.filter, err);
	if (ret == 0)
		ret = open_notify(r, c.filter, err);
	if (ret == 0)
		ret = map_command_stack(r, o->argv, err);
	if (ret == 0)
		ret = al_cgroup_run_make(host, &r->cg, err);
	if (ret < 0)
		return ret;
	c.notify_fd = r->notify[1];
	c.cmd_stack_top = r->cmd_stack + r->cmd_stack_size;
	c.cg = r->cg;
	r->start_ms = now_ms();
	r->pid = clone_init(r, &inside);
	if (r->pid < 0)
		return al_err_set(err, -errno, "clone: %s", strerror(errno));
	if (r->pid == 0)
		al_child_init(&c);
	close_fd(&r->fds[P_SYNC][0]);
	for (int i = P_REPORT; i < P_COUNT; i++)
		close_fd(&r->fds[i][1]);
	close_fd(&r->notify[1]);
	ret = al_sandbox_write_id_maps(r->pid, uid, gid, err);
	if (ret == 0)
		ret = al_cgroup_run_adopt(r->cg, r->pid, inside, err);
	if (ret == 0)
		ret = signal_init(r, err);
	/* the limits, while the init builds the root; its second byte lets the command start */
	if (ret == 0)
		ret = al_cgroup_run_limit(r->cg, &r->limits, err);
	if (ret == 0)
		ret = signal_init(r, err);
	if (ret < 0)
		kill_and_reap(r);
	return ret;
}

static void
collect(struct run *r, int no_reap)
{
	int st;
	ssize_t n;

	if (no_reap && r->status_got == sizeof(r->fin) && r->fin.left) {
		/* it wrote no report (it reported a status), and is out of the groups */
		r->pid = -1;
		return;
	}
	while (wait4(r->pid, &st, 0, &r->ru) < 0 && errno == EINTR)
		;
	r->pid = -1;
	al_cgroup_sweep_once(); /* done already unless no listener came (read_notify) */
	/* every writer is gone now that the whole namespace has exited */
	n = read(r->fds[P_REPORT][0], &r->report, sizeof(r->report));
	r->report_got = n > 0 ? (size_t)n : 0;
	if (!r->cg_stats_read) /* no status came: killed, or set-up failed */
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
	return s->failcnt > 0 && r->status_got == sizeof(r->fin) &&
	       WIFSIGNALED(r->fin.wait_status) && WTERMSIG(r->fin.wait_status) == SIGKILL;
}

/* A command that exits 0 after one of its processes was killed at the cap coped with it. */
static void
classify(const struct run *r, struct al_run_record *rec)
{
	int have = r->status_got == sizeof(r->fin), st = r->fin.wait_status;
	int exited = have && WIFEXITED(st), signaled = have && WIFSIGNALED(st);

	rec->exit_code = exited ? WEXITSTATUS(st) : -1;
	rec->signal = signaled ? WTERMSIG(st) : 0;
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
	} else if (rec->disk_full && !(exited && rec->exit_code == 0)) {
		rec->status = AL_RUN_DISK;
	} else if (exited) {
		rec->status = rec->exit_code == 0 ? AL_RUN_OK : AL_RUN_RE;
	} else if (signaled) {
		rec->status = AL_RUN_SG;
	} else {
		rec->status = AL_RUN_XX;
		if (have)
			snprintf(rec->detail, sizeof(rec->detail), "unexpected wait status %#x",
				 st);
		else
			snprintf(rec->detail, sizeof(rec->detail),
				 "sandbox init ended without a status");
	}
}

/* The disk as the init found it when the command ended; unknown after a kill. */
static void
disk_outcome(const struct run *r, struct al_run_record *rec)
{
	int have = r->status_got == sizeof(r->fin);

	rec->disk_bytes = have ? r->fin.disk_used : -1;
	rec->disk_full = have && r->fin.disk_free >= 0 &&
			 r->fin.disk_free < (long long)AL_SANDBOX_DISK_FULL_SLACK;
}

/* The report the init copied out; -ENOMEM only when it cannot be kept. */
static int
report_outcome(struct run *r, struct al_run_record *rec)
{
	struct stat st;
	int ret;

	rec->report_error = r->status_got == sizeof(r->fin) ? r->fin.report_error : -ECHILD;
	if (r->report_copy < 0 || rec->report_error < 0)
		return 0;
	if (fstat(r->report_copy, &st) < 0 || lseek(r->report_copy, 0, SEEK_SET) < 0) {
		rec->report_error = -EIO;
		return 0;
	}
	ret =
	    al_fd_read_all(r->report_copy, (size_t)st.st_size + 1, &rec->report, &rec->report_len);
	if (ret == -ENOMEM)
		return ret;
	rec->report_error = ret < 0 ? -EIO : 0;
	return 0;
}

static int
finish(struct run *r, struct al_run_record *rec)
{
	long peak_kb = (long)(r->cg_stats.peak_bytes / 1024);
	int ret;

	disk_outcome(r, rec);
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
	ret = al_capture_finish(&r->out, &rec->out, &rec->out_len, &rec->out_dropped);
	if (ret == 0)
		ret = al_capture_finish(&r->err, &rec->err, &rec->err_len, &rec->err_dropped);
	if (ret == 0)
		ret = report_outcome(r, rec);
	return ret;
}

static int
check_limits(const struct al_sandbox_opts *o, struct al_cgroup_limits *ret, struct al_err *err)
{
	ret->memory_bytes = o->memory_bytes ? o->memory_bytes : AL_SANDBOX_DEFAULT_MEMORY;
	ret->pids_max = o->pids_max ? o->pids_max : AL_SANDBOX_DEFAULT_PIDS;
	ret->cpu_percent = o->cpu_percent ? o->cpu_percent : AL_SANDBOX_DEFAULT_CPU_PERCENT;
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
	if ((r = al_sandbox_check_binds(o, err)) < 0 ||
	    (r = al_sandbox_check_environment(o, err)) < 0)
		return r;
	if (geteuid() != 0 && o->host_uid == 0 && o->host_gid == 0) {
		/* none given: without privilege, our own ids are the ones we can map */
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

/* The report's name is a file name in AL_SANDBOX_REPORT_DIR, nothing more. */
static int
open_report_copy(struct run *r, const char *name, struct al_err *err)
{
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
	    strlen(name) > NAME_MAX)
		return al_err_set(err, -EINVAL, "sandbox: report '%s' is not a file name", name);
	r->report_copy = memfd_create("airlock-report", MFD_CLOEXEC);
	if (r->report_copy < 0)
		return al_err_set(err, -errno, "memfd_create: %s", strerror(errno));
	return fd_above_stdio(&r->report_copy) < 0
		   ? al_err_set(err, -errno, "fcntl: %s", strerror(errno))
		   : 0;
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
	if (ret == 0 && o->report_name)
		ret = open_report_copy(r, o->report_name, err);
	if (ret < 0)
		return ret;
	al_capture_init(&r->out, steal_fd(&r->fds[P_OUT][0]), cap);
	al_capture_init(&r->err, steal_fd(&r->fds[P_ERR][0]), cap);
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
	collect(r, o->no_reap);
	rc = finish(r, rec);
	if (rc < 0)
		return al_err_set(err, rc, "sandbox: out of memory");
	return 0;
}

int
al_sandbox_run(const struct al_sandbox_opts *o, struct al_run_record *ret, struct al_err *err)
{
	struct run r = {
	    .pid = -1, .notify = {-1, -1}, .listener = -1, .spawn_us = -1, .report_copy = -1};
	struct al_run_record rec = {0};
	int rc, rc_cg;

	memset(r.fds, -1, sizeof(r.fds));
	al_capture_init(&r.out, -1, 0);
	al_capture_init(&r.err, -1, 0);
	rc = run_one(&r, o, &rec, err);
	/* whatever happened: the init is reaped by now, so the groups are (nearly) empty */
	rc_cg = al_cgroup_run_destroy(r.cg, rc == 0 ? err : NULL);
	if (rc == 0 && rc_cg < 0)
		rc = rc_cg;
	if (rc == 0)
		*ret = rec;
	else
		al_sandbox_record_clear(&rec);
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
al_sandbox_record_clear(struct al_run_record *r)
{
	if (!r)
		return;
	free(r->out);
	free(r->err);
	free(r->report);
	memset(r, 0, sizeof(*r));
}
