/* Runs one command in a fresh sandbox and records what happened. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"
#include "lib/runrec.h" /* enum al_run_status */

/* An extra bind of a host path into the sandbox. */
struct al_bind {
	const char *src; /* absolute host path */
	const char *dst; /* absolute path inside; NULL means the same as src */
	int writable;
};

struct al_sandbox_opts {
	const char *workspace;	 /* host directory at /work, see workspace_overlay; NULL: an
				  * empty directory of the run's disk there */
	int workspace_overlay;	 /* 1: the workspace is the read-only lower layer of an overlay
				  * whose changes live in the run's disk and vanish with it;
				  * 0: it is bound read-write and writes reach the host */
	char *const *argv;	 /* argv[0] looked up in PATH inside the sandbox */
	char *const *env_extra;	 /* extra "K=V" on top of the allowlist; NULL-terminated or NULL */
	unsigned timeout_ms;	 /* wall clock; 0 means the default (60 s) */
	size_t output_cap;	 /* per stream; 0 means 1 MiB */
	uid_t host_uid;		 /* host id the sandbox user maps to; when running as root */
	gid_t host_gid;		 /* this must not be 0 (see al_sandbox_default_ids) */
	size_t memory_bytes;	 /* cgroup memory cap; 0 means the default (1 GiB) */
	unsigned pids_max;	 /* cgroup pids cap; 0 means the default (256) */
	unsigned cpu_percent;	 /* cgroup CPU quota, % of one core; 0 means the default (100) */
	size_t disk_bytes;	 /* the run's disk: one tmpfs holding /tmp, the report directory,
				  * /work without a workspace and /work's changes under the overlay;
				  * writes past it fail with ENOSPC; 0 means the default (512 MiB) */
	const char *report_name; /* a file the command may leave in AL_SANDBOX_REPORT_DIR,
				  * copied out before the disk goes (al_run_record.report) */
	size_t report_max;	 /* a larger report is refused (-EFBIG); 0 means 8 MiB */
	const struct al_bind *binds; /* extra binds, applied after the standard ones */
	size_t n_binds;
	/* The path out (egress/proxy.h): when egress_fd >= 0 and egress is set, the init
	 * brings loopback up, binds a listener on AL_SANDBOX_PROXY_ADDR:PORT and sends it,
	 * labelled egress_label, over this socket to the proxy before the command starts.
	 * Without it the sandbox's network namespace has no interface up at all. */
	int egress;
	int egress_fd;
	const char *egress_label;
	/* The environment (docs/environments.md). root_image: a host directory (an unpacked
	 * image) whose /usr, /bin, /sbin, /lib*, /etc/ld.so.cache and /etc/alternatives the
	 * sandbox sees in place of the host's; NULL: the host's. layers: read-only host
	 * directories stacked over the workspace, top first (workspace_overlay only), e.g. a
	 * setup layer. upper_dir: an empty host directory the sandbox user can write: the
	 * overlay's changes go to its "upper" (and "work") and stay after the run, instead of
	 * living in the run's disk (workspace_overlay only). */
	const char *root_image;
	const char *const *layers;
	size_t n_layers;
	const char *upper_dir;
	/* 1: return once the command's status is in, everything it left is dead and the
	 * init has left the run's groups, without waiting for the init's own exit (the
	 * kernel tearing its namespaces down, ~0.6 ms): for a caller about to exit, as
	 * `airlock sandbox` is, whose init is then reaped by whoever inherits it. The
	 * record's cpu_ms and max_rss_kb are then 0 (they come from that wait). Where the
	 * init could not leave (cgroup v2), the run waits as with 0. */
	int no_reap;
};

#define AL_SANDBOX_MAX_LAYERS 4

#define AL_SANDBOX_PROXY_ADDR 0x7f000001u /* 127.0.0.1 */
#define AL_SANDBOX_PROXY_PORT 3128

/* A directory of the run's disk for what the command reports (see report_name). */
#define AL_SANDBOX_REPORT_DIR "/airlock-report"
/* A disk with less free than this when the command ended was full. */
#define AL_SANDBOX_DISK_FULL_SLACK ((size_t)64 << 10)

/* One denied syscall and how often the command tried it. */
struct al_denied_syscall {
	char name[32];
	unsigned count;
};
#define AL_DENIED_MAX 32

/* When a stream passes output_cap, its text is the first half of the cap, a marker of at
 * most this many bytes, then the last half: out_len <= output_cap + AL_SANDBOX_MARKER_MAX. */
#define AL_SANDBOX_MARKER_MAX 64

struct al_run_record {
	enum al_run_status status;
	int exit_code; /* -1 unless it exited (SG, TO, XX) */
	int signal;    /* the killing signal for SG; SIGKILL for TO; else 0 */
	int killed;    /* we killed it (timeout) */
	long wall_ms;
	long long spawn_us; /* set-up to the command's exec (filter loaded); -1 unknown */
	long cpu_ms;
	long max_rss_kb;
	char *out; /* owned; head + marker + tail when over the cap */
	size_t out_len;
	size_t out_dropped;
	char *err; /* owned */
	size_t err_len;
	size_t err_dropped;
	char detail[256];				/* for AL_RUN_XX: which setup step failed */
	struct al_denied_syscall denied[AL_DENIED_MAX]; /* distinct calls the filter denied */
	size_t n_denied;
	unsigned denied_other; /* denials past AL_DENIED_MAX distinct calls */
	long long disk_bytes;  /* what the run's disk held when the command ended; -1 unknown */
	int disk_full;	       /* it was full then (less than AL_SANDBOX_DISK_FULL_SLACK free) */
	char *report;	       /* owned; report_name's contents when report_error is 0 */
	size_t report_len;
	int report_error; /* -errno: no such file (or -ELOOP...), -EINVAL not a regular file,
			   * -EFBIG over report_max, -EIO unreadable, -ECHILD not collected */
};

/* What this host supports; al_doctor_run fills it by probing, including one real
 * sandbox run. */
struct al_host_support {
	int user_namespaces;	      /* 1 when a user namespace with an id map can be made */
	int cgroup_version;	      /* 1, 2, or 0 when no usable hierarchy was found */
	char cgroup_controllers[128]; /* e.g. "memory pids cpu" */
	int seccomp;		      /* filters can be installed */
	int seccomp_notify;	      /* user notification works (denied-call counting) */
	int pivot_root;		      /* a tmpfs root can be entered */
	int sandbox_ran;	      /* /bin/true ran in a full sandbox */
	int runner_confined;	      /* the runner's own namespaces hid a secret */
	int overlay;		      /* layered overlay in a user namespace (else copies) */
	char problems[1024];	      /* what is missing and how to fix it, one line each */
};

/* Fills host ids: as root, 65534/65534; otherwise the caller's own ids. */
void al_sandbox_default_ids(uid_t *ret_uid, gid_t *ret_gid);
/* 0 when the command ran (whatever its outcome, see ret->status); -errno when the
 * sandbox could not be started at all. Safe to call from any thread, but the process
 * must not ignore SIGCHLD nor reap children it did not start (waitpid(-1)). */
int al_sandbox_run(const struct al_sandbox_opts *o, struct al_run_record *ret, struct al_err *err);
void al_sandbox_record_clear(struct al_run_record *r);

/* doctor.c: whether an overlay of two lower layers can be mounted in a user namespace here
 * (probed once per process; AIRLOCK_OVERLAY=off says no). Without it each run is handed a copy
 * of its tree (runner/copy.h). */
bool al_overlay_supported(void);

/* doctor.c: 0 when every isolation feature works; -ENOTSUP with ret->problems filled
 * otherwise. */
int al_doctor_run(struct al_host_support *ret);

/* profile.c: a canonical text describing namespaces, mounts, limits and filter; its
 * digest goes into grants as the sandbox profile. */
const char *al_profile_text(void);
