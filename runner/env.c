/* A job's environment: the image, the cached checkouts, the setup layers (runner/env.h). */
#include "runner/env.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/unpack.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "runner/checkout.h"
#include "runner/copy.h"

static long
ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static uid_t chown_uid;
static gid_t chown_gid;

static int
chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return lchown(path, chown_uid, chown_gid) < 0 ? -1 : 0;
}

/* The sandbox user must own what its runs build on (an overlay copies up as its owner). */
int
al_env_hand_over(const char *dir, uid_t uid, gid_t gid, struct al_err *err)
{
	if (uid == geteuid() && gid == getegid())
		return 0;
	chown_uid = uid;
	chown_gid = gid;
	if (nftw(dir, chown_one, 32, FTW_PHYS) != 0)
		return al_err_set(err, -errno, "%s: cannot hand over to the sandbox user", dir);
	return 0;
}

/* The unpacked image, from the cache or unpacked into it now. */
static int
image_prepare(struct al_env *e, const json_t *env, json_t *result, struct al_err *err)
{
	const char *path = json_string_value(json_object_get(env, "image"));
	const char *pin = json_string_value(json_object_get(env, "digest"));
	_cleanup_(al_image_freep) struct al_image *img = NULL;
	_cleanup_free_ char *entry = NULL, *tmp = NULL, *root = NULL;
	struct al_unpack_stats st;
	struct timespec t0;
	const char *how = "hit";
	int r;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!path)
		return al_err_set(err, -EINVAL, "job: environment.image: expected a path");
	if ((r = al_image_open(path, &img, err)) < 0)
		return r;
	snprintf(e->image_digest, sizeof(e->image_digest), "%s", al_image_digest(img));
	if (pin && strcmp(pin, e->image_digest))
		return al_err_set(err, -EBADMSG, "environment: image %s is %s, policy pins %s",
				  path, e->image_digest, pin);
	r = al_cache_find(&e->cache, AL_CACHE_IMAGE, e->image_digest + 7, &entry, err);
	if (r == 0) {
		how = "built";
		if ((r = al_cache_begin(&e->cache, AL_CACHE_IMAGE, &tmp, err)) < 0)
			return r;
		if (!(root = al_path_join(tmp, "root")))
			r = al_err_set(err, -ENOMEM, "out of memory");
		else
			r = al_image_unpack(img, root, &st, err);
		if (r < 0) {
			al_cache_abandon(tmp);
			return r;
		}
		r = al_cache_commit(&e->cache, AL_CACHE_IMAGE, tmp, e->image_digest + 7, &entry,
				    err);
	}
	if (r < 0)
		return r;
	if (!(e->image_root = al_path_join(entry, "root")))
		return al_err_set(err, -ENOMEM, "out of memory");
	json_object_set_new(result, "environment",
			    json_pack("{s:s, s:s, s:I}", "image", e->image_digest, "unpack", how,
				      "ms", (json_int_t)ms_since(&t0)));
	al_log("info", "runner.image", "digest=%s unpack=%s", e->image_digest, how);
	return 0;
}

int
al_env_open(struct al_env *e, const json_t *spec, const char *job_dir, uid_t uid, gid_t gid,
	    json_t *result, struct al_err *err)
{
	const char *dir = json_string_value(json_object_get(spec, "cache"));
	const json_t *env = json_object_get(spec, "environment");
	_cleanup_free_ char *own = NULL;
	int r;

	*e = (struct al_env){.cache = {.lock_fd = -1}, .uid = uid, .gid = gid};
	if (!(e->job_dir = strdup(job_dir)))
		return al_err_set(err, -ENOMEM, "out of memory");
	if (!dir && !(dir = own = al_path_join(job_dir, "cache")))
		return al_err_set(err, -ENOMEM, "out of memory");
	if ((r = al_cache_open(dir, false, true, &e->cache, err)) < 0)
		return r;
	return env ? image_prepare(e, env, result, err) : 0;
}

int
al_env_tree(struct al_env *e, const char *repo_path, const char *tree_hex, int i,
	    const char **ret_dir, struct al_err *err)
{
	_cleanup_free_ char *entry = NULL, *tmp = NULL, *work = NULL;
	int r;

	if (e->tree_dir[i]) {
		*ret_dir = e->tree_dir[i];
		return 0;
	}
	r = al_cache_find(&e->cache, AL_CACHE_TREE, tree_hex, &entry, err);
	if (r == 0) {
		const char *base_dir = NULL;

		/* what it shares with the base is linked from the base's checkout */
		if (i > 0 && e->base_hex[0] &&
		    (r = al_env_tree(e, repo_path, e->base_hex, 0, &base_dir, err)) < 0)
			return r;
		if ((r = al_cache_begin(&e->cache, AL_CACHE_TREE, &tmp, err)) < 0)
			return r;
		if (!(work = al_path_join(tmp, "tree")))
			r = al_err_set(err, -ENOMEM, "out of memory");
		if (r == 0)
			r = al_checkout_write_from(repo_path, tree_hex, work,
						   base_dir ? e->base_hex : NULL, base_dir, err);
		if (r == 0)
			r = al_env_hand_over(work, e->uid, e->gid, err);
		if (r < 0) {
			al_cache_abandon(tmp);
			return r;
		}
		r = al_cache_commit(&e->cache, AL_CACHE_TREE, tmp, tree_hex, &entry, err);
		e->trees_written += r == 0;
	} else if (r == 1) {
		e->trees_hit++;
	}
	if (r < 0)
		return r;
	if (!(e->tree_dir[i] = al_path_join(entry, "tree")))
		return al_err_set(err, -ENOMEM, "out of memory");
	*ret_dir = e->tree_dir[i];
	return 0;
}

int
al_env_workspace(const struct al_env *e, int i, unsigned run, struct al_sandbox_opts *o,
		 const char **layers, char **ret_copy, struct al_err *err)
{
	char *copy = NULL;
	int r;

	o->root_image = e->image_root;
	*ret_copy = NULL;
	if (al_overlay_supported()) {
		o->workspace = e->tree_dir[i];
		o->workspace_overlay = 1;
		if (e->layer[i]) {
			layers[0] = e->layer[i];
			o->layers = layers;
			o->n_layers = 1;
		}
		return 0;
	}
	/* no overlay here: a copy of the tree with the layer over it, removed after */
	if (asprintf(&copy, "%s/run-%u", e->job_dir, run) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	*ret_copy = copy;
	r = al_copy_tree(e->tree_dir[i], copy, err);
	if (r == 0 && e->layer[i])
		r = al_copy_tree(e->layer[i], copy, err);
	if (r == 0)
		r = al_env_hand_over(copy, e->uid, e->gid, err);
	o->workspace = copy;
	o->workspace_overlay = 0;
	return r;
}

void
al_env_clear(struct al_env *e)
{
	al_cache_close(&e->cache);
	free(e->job_dir);
	free(e->image_root);
	for (int i = 0; i < AL_ENV_TREES; i++) {
		free(e->tree_dir[i]);
		free(e->layer[i]);
	}
	*e = (struct al_env){.cache = {.lock_fd = -1}};
}
