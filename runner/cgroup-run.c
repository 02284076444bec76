/* Per-run control groups: one run's groups, from their making to their removal, and the
 * ways the sandbox init enters them (see cgroup.h).
 *
 * The move is never a pid written into cgroup.procs by the runner when it can be helped:
 * that write takes the kernel's global cgroup_threadgroup_rwsem for writing, and taking it
 * after it has been idle waits out a whole RCU grace period (about 10 ms on a quiet host,
 * more than all the rest of a run). On v1 the sandbox init, still one thread, writes "0"
 * into each group's tasks file itself: a thread moving itself skips that lock (the
 * kernel's cgroup_procs_write_start). The runner opens those files before the clone: v1
 * checks the credentials of whoever opened a file against the moving task's (the init's
 * are still the runner's then), so the init needs no right of its own. On v2 the init is
 * born in its group (clone3 with CLONE_INTO_CGROUP), and only a kernel that refuses that
 * has its pid written into cgroup.procs. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "lib/proc.h"
#include "runner/cgroup-int.h"
#include "runner/cgroup.h"

#define CPU_PERIOD_US 100000ULL
#define CPU_MIN_QUOTA_US 1000ULL
#define DRAIN_MS 2000
#define PROCS_MAX ((size_t)1 << 20)
#define KILL_BATCH 256

/* The value of "key N" in a flat-keyed file such as memory.events. */
static int
keyed_value(const char *text, const char *key, unsigned long long *ret)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
			*ret = strtoull(p + kl + 1, NULL, 10);
			return 0;
		}
	}
	return -ENOENT;
}

struct group {
	const char *base;
	char path[PATH_MAX]; /* <base>/airlock-run-<pid>-<n> */
	unsigned ctrls;	     /* bit per enum al_cgroup_ctrl */
	int made;
	int fd; /* owned; v1: its tasks file, for the init to join; v2: the group, for clone3 */
	int exit_fd; /* owned; v1: <base>/airlock-exit/tasks, for the init to leave; or -1 */
};

struct al_cgroup_run {
	int version;
	int memsw;
	size_t n;
	struct group g[AL_CG_NCTRL];
};

/* A spare (al_cgroup_run_refill) taken by renaming it to the run's name: atomic, so two
 * runners never take the same one, and a fifth of what a memory group's mkdir costs. A
 * memory spare has never held a task or a limit; a pids or cpu spare may be an earlier
 * run's group (recycle_group), and every run writes all its limits before its command
 * starts. v1 only: cgroup2 cannot rename a group. */
static int
take_spare(struct group *g, int version)
{
	char spare[PATH_MAX];

	if (version != 1)
		return -ENOTSUP;
	for (int k = 0; k < AL_CGROUP_SPARES; k++) {
		if (al_cgroup_fmt(spare, sizeof(spare), "%s/" AL_CGROUP_SPARE_PREFIX "%d", g->base,
				  k) < 0)
			return -ENAMETOOLONG;
		if (rename(spare, g->path) == 0)
			return 0;
	}
	return -ENOENT;
}

/* Directly below the base: a shared parent would be made and removed by every run (a
 * memory group costs most of its time in mkdir), or be left behind. */
static int
make_group(struct group *g, int version, struct al_err *err)
{
	int rc = take_spare(g, version) == 0 ? 0 : mkdir(g->path, 0755) < 0 ? -errno : 0;

	/* left by a dead runner that had our pid: its namespace died with it, so it is empty */
	if (rc == -EEXIST && rmdir(g->path) == 0)
		rc = mkdir(g->path, 0755) < 0 ? -errno : 0;
	if (rc < 0)
		return al_err_set(err, rc, "cgroup %s: %s", g->path, strerror(-rc));
	g->made = 1;
	return 0;
}

static int
add_groups(struct al_cgroup_run *r, const struct al_cgroup_host *h, struct al_err *err)
{
	static unsigned counter;
	unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);

	for (int c = 0; c < AL_CG_NCTRL; c++) {
		struct group *g = NULL;

		for (size_t i = 0; i < r->n && !g; i++)
			if (strcmp(r->g[i].base, h->base[c]) == 0)
				g = &r->g[i]; /* one v1 hierarchy with several controllers, or v2 */
		if (!g) {
			g = &r->g[r->n++];
			g->base = h->base[c];
			g->fd = -1;
			g->exit_fd = -1;
			if (al_cgroup_fmt(g->path, sizeof(g->path),
					  "%s/" AL_CGROUP_RUN_PREFIX "%d-%u", h->base[c],
					  (int)getpid(), n) < 0)
				return al_err_set(err, -ENAMETOOLONG, "cgroup path too long: %s",
						  h->base[c]);
		}
		g->ctrls |= 1u << c;
	}
	return 0;
}

static struct group *
group_of(struct al_cgroup_run *r, enum al_cgroup_ctrl c)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->g[i].ctrls & (1u << c))
			return &r->g[i];
	return NULL;
}

struct limit_file {
	enum al_cgroup_ctrl ctrl;
	int version;
	const char *name;
	int optional; /* absent when the kernel lacks the accounting */
};

static const struct limit_file limit_files[] = {
    {AL_CG_MEMORY, 2, "memory.max", 0},
    {AL_CG_MEMORY, 2, "memory.swap.max", 1},
    {AL_CG_PIDS, 2, "pids.max", 0},
    {AL_CG_CPU, 2, "cpu.max", 0},
    {AL_CG_MEMORY, 1, "memory.limit_in_bytes", 0},
    {AL_CG_MEMORY, 1, "memory.memsw.limit_in_bytes", 1},
    {AL_CG_PIDS, 1, "pids.max", 0},
    /* a new group's period is the kernel's default, CPU_PERIOD_US */
    {AL_CG_CPU, 1, "cpu.cfs_quota_us", 0},
};

static void
limit_text(const struct limit_file *lf, const struct al_cgroup_limits *l, char *buf, size_t size)
{
	unsigned long long quota = CPU_PERIOD_US * l->cpu_percent / 100;

	if (quota < CPU_MIN_QUOTA_US)
		quota = CPU_MIN_QUOTA_US;
	if (strcmp(lf->name, "memory.swap.max") == 0)
		snprintf(buf, size, "0");
	else if (lf->ctrl == AL_CG_MEMORY)
		snprintf(buf, size, "%zu", l->memory_bytes); /* memsw: memory plus no swap */
	else if (lf->ctrl == AL_CG_PIDS)
		snprintf(buf, size, "%u", l->pids_max);
	else if (lf->version == 2)
		snprintf(buf, size, "%llu %llu", quota, CPU_PERIOD_US);
	else
		snprintf(buf, size, "%llu", quota);
}

static int
write_limits(struct al_cgroup_run *r, const struct al_cgroup_limits *l, struct al_err *err)
{
	for (size_t i = 0; i < AL_ARRAY_SIZE(limit_files); i++) {
		const struct limit_file *lf = &limit_files[i];
		struct group *g = group_of(r, lf->ctrl);
		char text[64];
		int rc;

		if (lf->version != r->version || !g)
			continue;
		if (r->version == 1 && !r->memsw && strstr(lf->name, "memsw"))
			continue;
		limit_text(lf, l, text, sizeof(text));
		rc = al_cgroup_write_text(g->path, lf->name, text);
		if (rc == -ENOENT && lf->optional)
			continue;
		if (rc < 0)
			return al_err_set(err, rc, "cgroup %s/%s = %s: %s", g->path, lf->name, text,
					  strerror(-rc));
	}
	return 0;
}

/* Opened by the runner before the clone (see the top of this file). */
static int
open_join(struct group *g, int version, struct al_err *err)
{
	char path[PATH_MAX];
	int rc = al_cgroup_fmt(path, sizeof(path), "%s/%s", g->path, version == 2 ? "." : "tasks");

	if (rc == 0) {
		g->fd = open(path, (version == 2 ? O_RDONLY | O_DIRECTORY : O_WRONLY) | O_CLOEXEC);
		rc = g->fd < 0 ? -errno : 0;
	}
	if (rc < 0)
		return al_err_set(err, rc, "cgroup %s: %s", path, strerror(-rc));
	return 0;
}

/* v1: the exit group's tasks file, the group made on first use. -errno when it cannot be
 * had, which only costs the run its early end (al_cgroup_run_exit_fds). */
static int
open_exit(struct group *g)
{
	char dir[PATH_MAX], tasks[PATH_MAX];

	if (al_cgroup_fmt(dir, sizeof(dir), "%s/" AL_CGROUP_EXIT_NAME, g->base) < 0 ||
	    al_cgroup_fmt(tasks, sizeof(tasks), "%s/tasks", dir) < 0)
		return -ENAMETOOLONG;
	g->exit_fd = open(tasks, O_WRONLY | O_CLOEXEC);
	if (g->exit_fd < 0 && errno == ENOENT && (mkdir(dir, 0755) == 0 || errno == EEXIST))
		g->exit_fd = open(tasks, O_WRONLY | O_CLOEXEC);
	return g->exit_fd < 0 ? -errno : 0;
}

static void
close_exit_fds(struct al_cgroup_run *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->g[i].exit_fd >= 0) {
			close(r->g[i].exit_fd);
			r->g[i].exit_fd = -1;
		}
}

int
al_cgroup_run_make(const struct al_cgroup_host *h, struct al_cgroup_run **ret, struct al_err *err)
{
	struct al_cgroup_run *r;
	int rc;

	if (h->version != 1 && h->version != 2)
		return al_err_set(err, -ENOTSUP, "cgroups: no usable hierarchy");
	r = calloc(1, sizeof(*r));
	if (!r)
		return al_err_set(err, -ENOMEM, "out of memory");
	r->version = h->version;
	r->memsw = h->memsw;
	rc = add_groups(r, h, err);
	for (size_t i = 0; rc == 0 && i < r->n; i++)
		rc = make_group(&r->g[i], r->version, err);
	for (size_t i = 0; rc == 0 && i < r->n; i++)
		rc = open_join(&r->g[i], r->version, err);
	/* all of them or none: an init that left only some groups would keep others busy */
	for (size_t i = 0; rc == 0 && r->version == 1 && i < r->n; i++)
		if (open_exit(&r->g[i]) < 0) {
			close_exit_fds(r);
			break;
		}
	if (rc < 0) {
		al_cgroup_run_destroy(r, NULL);
		return rc;
	}
	*ret = r;
	return 0;
}

int
al_cgroup_run_limit(struct al_cgroup_run *r, const struct al_cgroup_limits *l, struct al_err *err)
{
	return write_limits(r, l, err);
}

int
al_cgroup_run_create(const struct al_cgroup_host *h, const struct al_cgroup_limits *l,
		     struct al_cgroup_run **ret, struct al_err *err)
{
	int rc = al_cgroup_run_make(h, ret, err);

	if (rc == 0 && (rc = al_cgroup_run_limit(*ret, l, err)) < 0) {
		al_cgroup_run_destroy(*ret, NULL);
		*ret = NULL;
	}
	return rc;
}

void
al_cgroup_run_refill(const struct al_cgroup_run *r)
{
	char spare[PATH_MAX];

	if (!r || r->version != 1)
		return;
	for (size_t i = 0; i < r->n; i++)
		for (int k = 0; k < AL_CGROUP_SPARES && (r->g[i].ctrls & (1u << AL_CG_MEMORY)); k++)
			/* EEXIST: still there, or another runner's refill made it */
			if (al_cgroup_fmt(spare, sizeof(spare), "%s/" AL_CGROUP_SPARE_PREFIX "%d",
					  r->g[i].base, k) == 0 &&
			    mkdir(spare, 0755) < 0 && errno != EEXIST)
				return;
}

int
al_cgroup_run_attach(struct al_cgroup_run *r, pid_t pid, struct al_err *err)
{
	char text[24];

	snprintf(text, sizeof(text), "%d", (int)pid);
	for (size_t i = 0; i < r->n; i++) {
		int rc = al_cgroup_write_text(r->g[i].path, "cgroup.procs", text);

		if (rc < 0)
			return al_err_set(err, rc, "cgroup %s: adding pid %d: %s", r->g[i].path,
					  (int)pid, strerror(-rc));
	}
	return 0;
}

/* The kernel's struct clone_args up to cgroup (CLONE_ARGS_SIZE_VER2): <linux/sched.h>
 * would redefine what <sched.h> already has. */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size, cgroup;
};

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

pid_t
al_cgroup_clone_into(int group_fd, unsigned long flags)
{
	/* no stack: the child goes on with a copy of ours, as after fork */
	struct clone3_args a = {.flags = flags | CLONE_INTO_CGROUP,
				.exit_signal = SIGCHLD,
				.cgroup = (uint64_t)group_fd};

	if (group_fd < 0) {
		errno = EBADF;
		return -1;
	}
	return (pid_t)syscall(SYS_clone3, &a, sizeof(a));
}

int
al_cgroup_run_clone_fd(const struct al_cgroup_run *r)
{
	return r->version == 2 && r->n == 1 ? r->g[0].fd : -1;
}

int
al_cgroup_run_join_self(const struct al_cgroup_run *r, const char **ret_path)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct group *g = &r->g[i];
		ssize_t n = 1;

		if (r->version == 1) {
			do
				n = write(g->fd, "0", 1);
			while (n < 0 && errno == EINTR);
		}
		if (n != 1) {
			*ret_path = g->path;
			return n < 0 ? -errno : -EIO;
		}
		close(g->fd);
	}
	return 0;
}

size_t
al_cgroup_run_exit_fds(const struct al_cgroup_run *r, int *fds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->n && n < max; i++)
		if (r->g[i].exit_fd >= 0)
			fds[n++] = r->g[i].exit_fd;
	return n;
}

int
al_cgroup_run_leave_self(const struct al_cgroup_run *r)
{
	for (size_t i = 0; i < r->n; i++) {
		ssize_t n;

		if (r->g[i].exit_fd < 0)
			return -ENOENT;
		do
			n = write(r->g[i].exit_fd, "0", 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			return n < 0 ? -errno : -EIO;
	}
	return r->n ? 0 : -ENOENT;
}

static void
close_fds(struct al_cgroup_run *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->g[i].fd >= 0) {
			close(r->g[i].fd);
			r->g[i].fd = -1;
		}
	close_exit_fds(r);
}

int
al_cgroup_run_adopt(struct al_cgroup_run *r, pid_t pid, int inside, struct al_err *err)
{
	close_fds(r);
	if (r->version == 1 || inside)
		return 0;
	return al_cgroup_run_attach(r, pid, err);
}

static void
read_number(const char *dir, const char *name, unsigned long long *ret)
{
	char text[64];

	if (al_cgroup_read_text(dir, name, text, sizeof(text)) > 0)
		*ret = strtoull(text, NULL, 10);
}

void
al_cgroup_run_stats(const struct al_cgroup_run *r, struct al_cgroup_stats *ret)
{
	struct group *g = group_of((struct al_cgroup_run *)r, AL_CG_MEMORY);
	char text[512];

	memset(ret, 0, sizeof(*ret));
	if (!g)
		return;
	if (al_cgroup_read_text(g->path, r->version == 2 ? "memory.events" : "memory.oom_control",
				text, sizeof(text)) > 0)
		ret->oom_kills_known = keyed_value(text, "oom_kill", &ret->oom_kills) == 0;
	if (r->version == 2) {
		read_number(g->path, "memory.peak", &ret->peak_bytes);
	} else {
		read_number(g->path, "memory.failcnt", &ret->failcnt);
		read_number(g->path, "memory.max_usage_in_bytes", &ret->peak_bytes);
	}
}

const char *
al_cgroup_run_path(const struct al_cgroup_run *r, enum al_cgroup_ctrl c)
{
	struct group *g = r ? group_of((struct al_cgroup_run *)r, c) : NULL;

	return g ? g->path : NULL;
}

static int
listed(const char *procs, pid_t pid)
{
	for (const char *p = procs; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strtol(p, NULL, 10) == pid)
			return 1;
	return 0;
}

/* SIGKILL to every member, through pidfds so that a pid which exited and was reused
 * meanwhile is never hit: a pid still listed after its pidfd was opened is that member. */
static void
kill_members(const char *dir)
{
	_cleanup_free_ char *text = NULL, *again = NULL;
	char path[PATH_MAX];
	int fds[KILL_BATCH];
	pid_t pids[KILL_BATCH];
	size_t len, n = 0;

	if (al_cgroup_fmt(path, sizeof(path), "%s/cgroup.procs", dir) < 0 ||
	    al_file_read(path, PROCS_MAX, &text, &len, NULL) < 0)
		return;
	for (char *p = text; *p && n < KILL_BATCH; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		pid_t pid = (pid_t)strtol(p, NULL, 10);
		int fd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;

		if (fd >= 0) {
			fds[n] = fd;
			pids[n++] = pid;
		}
		if (!strchr(p, '\n'))
			break;
	}
	if (al_file_read(path, PROCS_MAX, &again, &len, NULL) == 0) {
		for (size_t i = 0; i < n; i++)
			if (listed(again, pids[i]))
				syscall(SYS_pidfd_send_signal, fds[i], SIGKILL, NULL, 0);
	}
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
}

static int
remove_group(const struct al_cgroup_run *r, const char *path)
{
	long long deadline = al_now_ms() + DRAIN_MS;
	struct timespec nap = {.tv_nsec = 1000000};

	for (;;) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		if (al_now_ms() >= deadline)
			return -EBUSY;
		if (r->version != 2 || al_cgroup_write_text(path, "cgroup.kill", "1") < 0)
			kill_members(path);
		nanosleep(&nap, NULL);
		if (nap.tv_nsec < 16000000)
			nap.tv_nsec *= 2;
	}
}

/* v1: a pids or cpu group its run left empty becomes a spare again, by rename, sparing
 * this run an rmdir and a later refill a mkdir. Nothing of a run stays in such a group:
 * it holds no task, and pids.max and cfs_quota_us are the next run's to write. A memory
 * group is never reused: pages its run read stay charged to it after the run. 0 when
 * recycled. */
static int
recycle_group(const struct al_cgroup_run *r, const struct group *g)
{
	char spare[PATH_MAX], procs[8];

	if (r->version != 1 || (g->ctrls & (1u << AL_CG_MEMORY)) ||
	    al_cgroup_read_text(g->path, "cgroup.procs", procs, sizeof(procs)) != 0)
		return -1;
	for (int k = 0; k < AL_CGROUP_SPARES; k++)
		if (al_cgroup_fmt(spare, sizeof(spare), "%s/" AL_CGROUP_SPARE_PREFIX "%d", g->base,
				  k) == 0 &&
		    rename(g->path, spare) == 0) /* EEXIST: that spare is there */
			return 0;
	return -1;
}

int
al_cgroup_run_destroy(struct al_cgroup_run *r, struct al_err *err)
{
	int ret = 0;

	if (!r)
		return 0;
	close_fds(r);
	for (size_t i = 0; i < r->n; i++) {
		struct group *g = &r->g[i];
		int rc;

		if (!g->made || recycle_group(r, g) == 0)
			continue;
		rc = remove_group(r, g->path);
		if (rc < 0 && ret == 0)
			ret = al_err_set(err, rc, "cgroup %s: cannot remove: %s", g->path,
					 strerror(-rc));
	}
	free(r);
	return ret;
}
