/* Per-run control groups: memory, pids and CPU caps, v2 or v1.
 *
 * Each run has a fresh group, <base>/airlock-run-<runner pid>-<n>, in every hierarchy it
 * needs; <base> is the runner's own cgroup (v1), or the subtree delegated to it (v2), so
 * whatever limits the runner itself lives under still apply to the sandbox. */
#pragma once

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

enum al_cgroup_ctrl { AL_CG_MEMORY, AL_CG_PIDS, AL_CG_CPU, AL_CG_NCTRL };

struct al_cgroup_limits {
	size_t memory_bytes;  /* swap is capped to 0 beyond it */
	unsigned pids_max;    /* processes and threads */
	unsigned cpu_percent; /* of one core, per 100 ms period */
};

/* Where per-run groups can be made; what detection found. */
struct al_cgroup_host {
	int version;			  /* 1 or 2; 0 when no usable hierarchy was found */
	char base[AL_CG_NCTRL][PATH_MAX]; /* per controller; all the same for v2 */
	int memsw;			  /* v1: memory.memsw.* exist (swap accounting) */
	char controllers[32];		  /* "memory pids cpu" when usable */
	char problems[768];		  /* when version is 0: one line per missing thing */
};

/* The inputs of detection, so tests can point it at a fake tree. */
struct al_cgroup_probe {
	const char *mountinfo;	 /* normally /proc/self/mountinfo */
	const char *self_cgroup; /* normally /proc/self/cgroup */
	pid_t self;		 /* v2: the process that may move itself into a leaf; 0: never */
};

/* Finds a usable hierarchy (v2 first, then v1). On v2, a process alone in a non-root
 * cgroup moves itself into <cgroup>/airlock-supervisor so the cgroup may hand controllers
 * to children (the no-internal-process rule); a process already in such a leaf uses the
 * leaf's parent. Returns 0 with ret->version 0 and ret->problems filled when nothing is
 * usable; -errno only when the inputs cannot be read. */
int al_cgroup_detect(const struct al_cgroup_probe *in, struct al_cgroup_host *ret);

/* This process's hierarchy, detected once. Never NULL on success, but check ->version. */
int al_cgroup_host(const struct al_cgroup_host **ret, struct al_err *err);

/* Removes the groups of runners that no longer exist (killed before they could clean
 * up); such groups are empty, since their pid namespace died with the runner. */
void al_cgroup_sweep(const struct al_cgroup_host *h);
/* al_cgroup_sweep of this process's hierarchy, once per process (after al_cgroup_host);
 * a sandbox runs it while its init builds the root, off the run's critical path. */
void al_cgroup_sweep_once(void);

struct al_cgroup_run;

/* Makes the run's groups and opens what the sandbox init needs to be put into them
 * (al_cgroup_run_join_self, al_cgroup_run_clone_fd); everything is removed again on
 * failure. al_cgroup_run_limit then writes the limits: a sandbox writes them while its
 * init builds the root, and the command starts only once they are in place.
 * al_cgroup_run_create is the two in one. */
int al_cgroup_run_make(const struct al_cgroup_host *h, struct al_cgroup_run **ret,
		       struct al_err *err);
int al_cgroup_run_limit(struct al_cgroup_run *r, const struct al_cgroup_limits *l,
			struct al_err *err);
int al_cgroup_run_create(const struct al_cgroup_host *h, const struct al_cgroup_limits *l,
			 struct al_cgroup_run **ret, struct al_err *err);
/* v1: makes the memory spare groups that later runs take instead of making their own (a
 * rename instead of a mkdir: a memory group's mkdir is most of a run's cgroup cost).
 * Memory spares are empty and carry no limits; a run that takes one writes its own. The
 * runner calls this while the command runs, when it is otherwise idle. Errors are
 * ignored: a run without a spare makes its groups. No-op on v2 and for NULL. The pids and
 * cpu spares are the groups of earlier runs, renamed back when the run is over
 * (al_cgroup_run_destroy). */
void al_cgroup_run_refill(const struct al_cgroup_run *r);
/* Moves pid (and the children it makes from then on) into the run's groups by writing it
 * into each cgroup.procs. Costly: see cgroup-run.c. */
int al_cgroup_run_attach(struct al_cgroup_run *r, pid_t pid, struct al_err *err);

/* The sandbox init enters the run's groups in one of three ways, cheapest first:
 *   v2: born there: clone it with al_cgroup_clone_into(al_cgroup_run_clone_fd(r), ...);
 *   v1: it joins them itself, first thing and still one thread: al_cgroup_run_join_self;
 *   v2 when the kernel refused the clone into the group: al_cgroup_run_adopt writes its pid.
 * Either way the runner calls al_cgroup_run_adopt once the init exists, before its go. */

/* A raw fork (no atfork handlers, no libc lock: safe in a multi-threaded process) whose
 * child starts in the cgroup v2 group_fd: clone3 with CLONE_INTO_CGROUP | flags and
 * SIGCHLD. Returns as fork does; -1 with errno when refused (old kernel, seccomp, a
 * group_fd that is not a v2 group), and then nothing was made. */
pid_t al_cgroup_clone_into(int group_fd, unsigned long flags);
/* v2: the run's group, for al_cgroup_clone_into; -1 on v1. Borrowed. */
int al_cgroup_run_clone_fd(const struct al_cgroup_run *r);
/* In the sandbox init right after the clone, while it is one thread: v1, moves the calling
 * thread into each group through the tasks file the runner opened; closes the init's copies
 * of the run's fds. Neither allocates nor takes a lock. -errno with the refusing group's path
 * in *ret_path: the init must then stop. */
int al_cgroup_run_join_self(const struct al_cgroup_run *r, const char **ret_path);
/* v1: the init's way out, taken once nothing else of the run is alive: the tasks files of
 * <base>/airlock-exit, opened by the runner with the run's own (left -1 where that group
 * cannot be had: then the init stays, and the runner waits for it to exit). Up to max
 * fds into fds for the init to keep; the count. */
size_t al_cgroup_run_exit_fds(const struct al_cgroup_run *r, int *fds, size_t max);
/* In the init, as its last step: moves the calling thread out of the run's groups into
 * airlock-exit. 0 when it left every one; -errno otherwise (some may have been left). */
int al_cgroup_run_leave_self(const struct al_cgroup_run *r);
/* In the runner once the init exists (inside: al_cgroup_clone_into put it in the group):
 * closes the runner's copies of the run's fds, and on v2 without inside writes pid into
 * cgroup.procs. */
int al_cgroup_run_adopt(struct al_cgroup_run *r, pid_t pid, int inside, struct al_err *err);

struct al_cgroup_stats {
	unsigned long long oom_kills; /* processes the kernel killed at the memory cap */
	unsigned long long failcnt;   /* v1: times the cap was hit */
	unsigned long long peak_bytes;
	int oom_kills_known; /* the kernel reports oom_kill for this group */
};

void al_cgroup_run_stats(const struct al_cgroup_run *r, struct al_cgroup_stats *ret);
/* The run's group for a controller; for tests and messages. */
const char *al_cgroup_run_path(const struct al_cgroup_run *r, enum al_cgroup_ctrl c);
/* Kills whatever is left in the groups, removes them (waiting briefly while they drain)
 * and frees r. NULL is a no-op. -EBUSY when a group could not be removed. */
int al_cgroup_run_destroy(struct al_cgroup_run *r, struct al_err *err);

/* A canonical text describing the groups and caps, for the sandbox profile. */
const char *al_cgroup_profile(void);
