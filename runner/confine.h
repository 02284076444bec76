/* The runner's own confinement: what it can see of the host before it parses one
 * untrusted byte. See confine.c. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

struct al_confine {
	const char *const *hide; /* absolute paths, directories or files: covered */
	size_t n_hide;
	const char *job_dir; /* kept, read-write; may be NULL */
	const char *repo;    /* kept read-only, with its objects/ read-write; may be NULL */
	int repo_writable;   /* keep the whole repository read-write (a fetch moves refs) */
	const char *cache;   /* the environment cache, kept read-write; may be NULL. It may not
			      * hold a hidden path, which keeping it would bring back */
	/* out: the host ids the sandbox maps its root to, mapped in the runner's namespace */
	uid_t sandbox_uid;
	gid_t sandbox_gid;
};

/* The host ids a sandbox runs as: 65534 when airlock runs as root, otherwise the first
 * subordinate ids /etc/subuid and /etc/subgid give the user. -ENOENT naming the file when
 * there are none. */
int al_confine_ids(uid_t *ret_uid, gid_t *ret_gid, struct al_err *err);

/* Enters a user and mount namespace of the runner's own: every path in hide is covered
 * (a directory by an empty read-only tmpfs, a file by /dev/null), the job directory and
 * the repository are put back, CAP_SYS_ADMIN is given up, and the result is checked; on
 * any failure the runner must not go on. Call it single-threaded. */
int al_confine_enter(struct al_confine *c, struct al_err *err);

/* Removes dir from a user namespace in which the sandbox's ids are mapped too: what a
 * sandbox made under an unprivileged airlock is owned by a subordinate id the user itself
 * cannot remove. Call it single-threaded (`airlock runner --remove DIR`). */
int al_confine_remove(const char *dir, struct al_err *err);
