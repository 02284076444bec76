/* A job's environment (docs/environments.md): the image its sandboxes see as their OS
 * root, the cached checkouts each run's overlay starts from, and the setup layer sealed
 * from running the policy's setup command on the base tree. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "image/cache.h"
#include "image/oci.h"
#include "lib/err.h"
#include "runner/egress.h"
#include "runner/sandbox.h"

#define AL_ENV_TREES 3 /* base, tested, candidate */
/* A sealed setup layer larger than this is refused (it lives on the data filesystem). */
#define AL_ENV_SETUP_MAX_BYTES ((unsigned long long)8 << 30)

struct al_env {
	struct al_cache cache;
	char *job_dir;	  /* owned; job-private layers go below it */
	char *image_root; /* owned; the unpacked image's root, NULL: the host's */
	char image_digest[AL_IMAGE_DIGEST_MAX];
	char *tree_dir[AL_ENV_TREES]; /* owned; each tree's cached checkout, once written */
	char *layer[AL_ENV_TREES];    /* owned; the setup layer each tree runs with, or NULL */
	char base_hex[41];	      /* the base tree, which the others are written from */
	int trees_hit, trees_written; /* cached checkouts found, and written, by this job */
	uid_t uid;		      /* the sandbox user, who owns checkouts and layers */
	gid_t gid;
};

/* What setup runs with: the job's limits, its own egress (or none). */
struct al_env_run {
	const json_t *spec; /* job.json */
	const char *repo_path;
	const char (*trees)[41];       /* AL_ENV_TREES tree ids */
	struct al_egress_proc *egress; /* the setup phase's proxy, ctl < 0 when none */
	void (*limits)(const json_t *spec, struct al_sandbox_opts *o);
};

/* Opens the cache (job.json "cache", else a directory of the job) and, when job.json names
 * an environment image, verifies and unpacks it once into the cache. result is given
 * "environment": {"image","unpack","ms"}. */
int al_env_open(struct al_env *e, const json_t *spec, const char *job_dir, uid_t uid, gid_t gid,
		json_t *result, struct al_err *err);
/* The cached checkout of tree i (written once, for every later run and job). Another tree
 * than the base is written from the base's checkout (al_checkout_write_from) when
 * base_hex is set. */
int al_env_tree(struct al_env *e, const char *repo_path, const char *tree_hex, int i,
		const char **ret_dir, struct al_err *err);
/* Setup (job.json "setup"), before any run: the base tree's layer from the cache or built
 * and sealed into it; a tree whose key files differ from the base's is given a layer of its
 * own for this job only, or none under on_change "reject". result is given "setup". 1 when the
 * plan may run, 0 when setup failed or was refused (result says why), -errno on error. */
int al_env_setup(struct al_env *e, const struct al_env_run *run, json_t *result,
		 struct al_err *err);
/* Points run number run's options at the environment for tree i: the image, and the
 * tree's cached checkout under an overlay with its layer; where overlay is not available,
 * a copy of both in the job directory, *ret_copy (owned) for the caller to remove. */
int al_env_workspace(const struct al_env *e, int i, unsigned run, struct al_sandbox_opts *o,
		     const char **layers, char **ret_copy, struct al_err *err);
void al_env_clear(struct al_env *e);
/* Hands dir (recursively) to the sandbox user, as every tree and layer is. */
int al_env_hand_over(const char *dir, uid_t uid, gid_t gid, struct al_err *err);
