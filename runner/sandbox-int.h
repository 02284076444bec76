/* Shared by the sandbox's own files only (sandbox.c, mounts.c, child.c, capture.c,
 * profile.c, doctor.c): the plan's tables, what the children are handed, the capture. */
#pragma once

#include <signal.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include "lib/buf.h"
#include "runner/cgroup.h"
#include "runner/sandbox.h"
#include "runner/seccomp.h"

#define AL_SANDBOX_DEFAULT_MEMORY ((size_t)1 << 30)
#define AL_SANDBOX_DEFAULT_PIDS 256u
#define AL_SANDBOX_DEFAULT_CPU_PERCENT 100u
#define AL_SANDBOX_DEFAULT_DISK ((size_t)512 << 20)
#define AL_SANDBOX_DEFAULT_REPORT_MAX ((size_t)8 << 20)
#define AL_SANDBOX_MAX_BINDS 16
#define AL_SANDBOX_HOSTNAME "airlock"
/* The new root is a tmpfs mounted over this host path inside the new mount namespace.
 * It hides the host's /tmp there, which is why the workspace goes in as an fd. */
#define AL_SANDBOX_NEWROOT "/tmp"
#define AL_SANDBOX_NEWROOT_OPTS "size=4m,mode=0755"
#define AL_SANDBOX_OLDROOT ".oldroot"
/* Where the run's disk is mounted while the root is built; detached before the command. */
#define AL_SANDBOX_DISK "/.disk"

/* ---- the plan: tables that both the setup and the profile text read ---- */

enum al_mount_op {
	AL_MOUNT_RO_BIND,    /* host path, read-only, nosuid, nodev */
	AL_MOUNT_DEV_BIND,   /* host device node, nosuid, noexec */
	AL_MOUNT_HOST_LINK,  /* a symlink when the host has one (usrmerge), else a ro bind */
	AL_MOUNT_DISK,	     /* the run's disk: a tmpfs of disk_bytes; src holds the options */
	AL_MOUNT_WORKSPACE,  /* the workspace: an overlay with its upper layer in the disk, or
			      * bound read-write; without one, a directory of the disk */
	AL_MOUNT_DISK_DIR,   /* a directory of the disk (src: its name and mode) bound here */
	AL_MOUNT_DISK_HIDE,  /* the disk's own mount detached: only its binds stay */
	AL_MOUNT_TMPFS,	     /* src holds the options; always nosuid, nodev */
	AL_MOUNT_PROC,	     /* a proc for the new pid namespace */
	AL_MOUNT_SYMLINK,    /* src is the target */
	AL_MOUNT_FILE,	     /* src is the contents */
	AL_MOUNT_BINDS,	     /* the run's own binds (al_sandbox_opts.binds), in order */
	AL_MOUNT_REMOUNT_RO, /* an earlier tmpfs, once filled */
};

#define AL_MOUNT_OPTIONAL 1u /* skipped when the host path does not exist */
#define AL_MOUNT_STICKY 2u   /* a disk directory of mode 1777 (else 0755) */
#define AL_MOUNT_SYSTEM 4u   /* from the environment's image when the run has one */

struct al_mount_step {
	enum al_mount_op op;
	const char *src;
	const char *dest; /* inside the sandbox */
	unsigned flags;
};

/* The mount plan, in the order it is applied (mounts.c). */
extern const struct al_mount_step al_mounts_plan[];
extern const size_t al_mounts_plan_len;
const char *al_mounts_op_name(enum al_mount_op op);

/* The environment the command starts with (sandbox.c). */
extern const char *const al_sandbox_env_allow[];
extern const size_t al_sandbox_env_allow_len;

struct al_rlimit_step {
	int resource;
	const char *name;
	rlim_t value;
};

/* The command's resource limits (child.c). */
extern const struct al_rlimit_step al_child_rlimits[];
extern const size_t al_child_rlimits_len;

/* ---- what the children are handed; prepared by the runner before the clone ---- */

struct al_setup_report {
	int code; /* -errno */
	char what[120];
};

/* What the init reports once the command has ended. */
struct al_init_status {
	int wait_status;     /* the command's raw wait status */
	int report_error;    /* 0 when the report was copied out, else -errno */
	long long disk_used; /* bytes of the run's disk in use; -1 unknown */
	long long disk_free; /* bytes still free */
	int left;	     /* 1: nothing else of the run lives, and the init left its groups */
};

struct al_child_ctx {
	int sync_fd;	/* read: a byte once the id maps are written (and we are moved) */
	int sync_wr_fd; /* the runner's end, closed first so that its death reads as EOF */
	int report_fd;	/* write: struct al_setup_report on failure */
	int status_fd;	/* write: struct al_init_status once the command has ended */
	int out_fd;	/* write: the command's stdout */
	int err_fd;	/* write: the command's stderr */
	int notify_fd;	/* unix socket: the command sends its filter's listener */
	const char *workspace;
	char *const *argv;
	char **envp;
	const struct al_seccomp_prog *filter;
	int workspace_overlay;
	char disk_opts[64];	 /* the disk tmpfs's size and mode */
	const char *report_name; /* see al_sandbox_opts */
	size_t report_max;
	int report_copy_fd; /* write: the report, copied out by the init (a memfd) */
	const struct al_bind *binds;
	size_t n_binds;
	char *cmd_stack_top; /* the command's stack until exec; mapped by the runner */
	int egress_fd;	     /* -1, or the proxy's control socket (al_sandbox_opts) */
	char egress_label[32];
	const char *root_image; /* see al_sandbox_opts */
	const char *const *layers;
	size_t n_layers;
	const char *upper_dir;
	const struct al_cgroup_run *cg; /* the run's groups, which the init joins */
};

/* The host directories the init opens before the new root hides them (child.c). */
struct al_child_fds {
	int workspace;			   /* -1: none */
	int binds[AL_SANDBOX_MAX_BINDS];   /* c->n_binds of them */
	int image;			   /* -1: the host's OS paths */
	int layers[AL_SANDBOX_MAX_LAYERS]; /* c->n_layers of them */
	int upper;			   /* -1: the overlay's changes live in the disk */
};

/* A fork without libc's atfork machinery, whose locks another runner thread may hold.
 * Arguments after flags are NULL, so the x86_64/aarch64 argument order does not matter. */
static inline pid_t
al_sandbox_raw_clone(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* The sandbox init (pid 1), from the clone on (child.c); never returns. */
_Noreturn void al_child_init(const struct al_child_ctx *c);
/* Reports a failed set-up step to the runner and exits 127 (child.c). */
_Noreturn void al_child_fail(int report_fd, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The new root, in two halves (mounts.c); a failed step ends the init through
 * al_child_fail. al_mounts_build_root makes the plan's mounts up to its first unmount;
 * al_mounts_enter_root applies the rest, pivots into the root and makes it read-only. */
void al_mounts_build_root(const struct al_child_ctx *c, const struct al_child_fds *fds);
void al_mounts_enter_root(const struct al_child_ctx *c, const struct al_child_fds *fds);

/* The network namespace, made by a helper while the root is built (netns.c). start
 * clones the helper; join waits for it, reaps it and moves the caller into its namespace.
 * A failure ends the init through al_child_fail, naming the network namespace. */
struct al_netns {
	int sock; /* the init's end of the socket pair the handle comes over */
	pid_t pid;
};
void al_netns_start(struct al_netns *n, int report_fd);
void al_netns_join(struct al_netns *n, int report_fd);

/* The options' binds (at most AL_SANDBOX_MAX_BINDS, absolute, outside /proc) and the
 * environment's directories (sandbox-opts.c): 0 or -errno with err saying why. */
int al_sandbox_check_binds(const struct al_sandbox_opts *o, struct al_err *err);
int al_sandbox_check_environment(const struct al_sandbox_opts *o, struct al_err *err);

/* Writes the id maps of a fresh user namespace (sandbox.c). */
int al_sandbox_write_id_maps(pid_t pid, uid_t uid, gid_t gid, struct al_err *err);

/* ---- the runner's capture of one output stream (capture.c) ---- */

struct al_capture {
	int fd; /* read end; -1 at EOF */
	size_t head_cap, tail_cap;
	struct al_buf head;
	char *tail; /* owned; ring of tail_cap bytes, allocated on first use */
	size_t tail_pos, tail_len;
	size_t total; /* bytes the command wrote */
};

/* Takes fd (which may be -1); cap bytes are kept, half head and half tail. */
void al_capture_init(struct al_capture *c, int fd, size_t cap);
void al_capture_free(struct al_capture *c);
/* Reads what is there now; closes the fd at EOF. */
void al_capture_read(struct al_capture *c);
/* Head, a marker of what was dropped, then tail; ret_data is owned by the caller. */
int al_capture_finish(struct al_capture *c, char **ret_data, size_t *ret_len, size_t *ret_dropped);
