/* Setup: the policy's command run once on the base tree, its additions sealed into a
 * read-only layer keyed by everything that decides them (runner/env.h). A tree whose key
 * files differ never touches the shared cache. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "runner/copy.h"
#include "runner/env.h"
#include "runner/record.h"

#define SETUP_ARGV_MAX 128
#define KEY_FILE_MAX ((size_t)64 << 20)

static const char *const tree_names[AL_ENV_TREES] = {"base", "tested", "candidate"};

/* What one key file holds, as a digest: its bytes, a link's target, or its absence. */
static int
file_digest(const char *tree, const char *rel, char out[72], struct al_err *err)
{
	_cleanup_free_ char *path = al_path_join(tree, rel), *data = NULL;
	unsigned char sum[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1], link[4096];
	const char *kind = "file";
	struct stat st;
	size_t len = 0;
	ssize_t n;
	int r;

	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (lstat(path, &st) < 0) {
		snprintf(out, 72, "absent");
		return errno == ENOENT || errno == ENOTDIR ? 0 : al_err_set(err, -errno, "%s", rel);
	}
	if (S_ISLNK(st.st_mode)) {
		kind = "link";
		if ((n = readlink(path, link, sizeof(link))) < 0)
			return al_err_set(err, -errno, "setup: key %s: %s", rel, strerror(errno));
		crypto_hash_sha256(sum, (unsigned char *)link, (unsigned long long)n);
	} else if (S_ISREG(st.st_mode)) {
		if ((r = al_file_read(path, KEY_FILE_MAX, &data, &len, err)) < 0)
			return r;
		crypto_hash_sha256(sum, (unsigned char *)data, len);
	} else {
		snprintf(out, 72, "not-a-file");
		return 0;
	}
	sodium_bin2hex(hex, sizeof(hex), sum, sizeof(sum));
	snprintf(out, 72, "%s:%s", kind, hex);
	return 0;
}

/* The layer's key for tree i: format version, the server's digest of the policy parts that
 * decide setup (command, keys, its egress), the image, then each key file. digests is given
 * each file's digest (as many as keys). */
static int
setup_key(const struct al_env *e, int i, const json_t *setup, char digests[][72], char key[65],
	  struct al_err *err)
{
	const json_t *keys = json_object_get(setup, "keys");
	const char *salt = json_string_value(json_object_get(setup, "salt"));
	crypto_hash_sha256_state st;
	unsigned char sum[crypto_hash_sha256_BYTES];
	size_t k;
	json_t *v;
	int r;

	crypto_hash_sha256_init(&st);
#define ADD(s) crypto_hash_sha256_update(&st, (const unsigned char *)(s), strlen(s) + 1)
	ADD("airlock-setup-v1");
	ADD(salt ? salt : "");
	ADD(e->image_root ? e->image_digest : "host");
	json_array_foreach (keys, k, v) {
		const char *rel = json_string_value(v);

		if (!rel)
			return al_err_set(err, -EINVAL, "job: setup.keys: expected strings");
		if ((r = file_digest(e->tree_dir[i], rel, digests[k], err)) < 0)
			return r;
		ADD(rel);
		ADD(digests[k]);
	}
#undef ADD
	crypto_hash_sha256_final(&st, sum);
	sodium_bin2hex(key, 65, sum, sizeof(sum));
	return 0;
}

/* ---- sealing: what setup wrote must only add to the tree ---- */

static struct {
	const char *upper, *tree;
	char why[512];
	unsigned long long bytes;
} seal;

static int __attribute__((format(printf, 1, 2))) seal_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(seal.why, sizeof(seal.why), fmt, ap);
	va_end(ap);
	return 1;
}

/* The overlay's own marks: a directory it copied up may carry origin and impure; anything
 * else (opaque, redirect, metacopy, whiteout) would hide or replace the tree's content. */
static int
seal_xattrs(const char *path, const struct stat *st, const char *rel)
{
	char names[4096];
	ssize_t n = llistxattr(path, names, sizeof(names));

	if (n < 0)
		return errno == ENOTSUP ? 0 : seal_fail("cannot list the attributes of %s", rel);
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		const char *mark = !strncmp(p, "user.overlay.", 13)	 ? p + 13
				   : !strncmp(p, "trusted.overlay.", 16) ? p + 16
									 : NULL;

		if (!mark)
			continue;
		if (S_ISDIR(st->st_mode) && (!strcmp(mark, "origin") || !strcmp(mark, "impure")))
			continue;
		return seal_fail("setup replaced or hid %s in the tree", rel);
	}
	return 0;
}

static int
seal_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + strlen(seal.upper);
	_cleanup_free_ char *in_tree = NULL;
	struct stat tst;
	int there;

	(void)ftw;
	if (*rel == '/')
		rel++;
	if (!*rel)
		return 0;
	if (flag == FTW_NS || flag == FTW_DNR)
		return seal_fail("cannot read %s", rel);
	if (S_ISCHR(st->st_mode) && st->st_rdev == 0)
		return seal_fail("setup removed %s from the tree", rel);
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
		return seal_fail("setup left %s, which is not a file, link or directory", rel);
	in_tree = al_path_join(seal.tree, rel);
	if (!in_tree)
		return seal_fail("out of memory at %s", rel);
	there = lstat(in_tree, &tst) == 0;
	if (there && !(S_ISDIR(st->st_mode) && S_ISDIR(tst.st_mode)))
		return seal_fail("setup changed %s, which the tree has", rel);
	if (seal_xattrs(path, st, rel))
		return 1;
	seal.bytes += (unsigned long long)st->st_blocks * 512;
	if (seal.bytes > AL_ENV_SETUP_MAX_BYTES)
		return seal_fail("setup wrote more than the layer cap (at %s)", rel);
	return 0;
}

/* 0 when upper only adds to tree; else -EPERM with why. */
static int
seal_layer(const char *upper, const char *tree, struct al_err *err)
{
	seal.upper = upper;
	seal.tree = tree;
	seal.why[0] = '\0';
	seal.bytes = 0;
	if (nftw(upper, seal_one, 32, FTW_PHYS) != 0)
		return al_err_set(err, -EPERM, "%s", seal.why[0] ? seal.why : strerror(errno));
	return 0;
}

/* ---- running setup ---- */

static int
setup_argv(const json_t *setup, char **argv, struct al_err *err)
{
	const json_t *a = json_object_get(setup, "argv");
	size_t i;
	json_t *v;

	if (json_array_size(a) == 0 || json_array_size(a) > SETUP_ARGV_MAX)
		return al_err_set(err, -EINVAL, "job: setup.argv: expected a command");
	json_array_foreach (a, i, v)
		if (!(argv[i] = (char *)json_string_value(v)))
			return al_err_set(err, -EINVAL, "job: setup.argv: expected strings");
	argv[json_array_size(a)] = NULL;
	return 0;
}

/* Runs setup on tree i with its changes kept in dir/upper (or, copy non-NULL, on that copy
 * of the tree, bound read-write); 1 when it succeeded, 0 when it failed (*ret_failed the
 * run's record). */
static int
setup_run(struct al_env *e, const struct al_env_run *run, int i, const char *dir, const char *copy,
	  json_t **ret_failed, struct al_err *err)
{
	const json_t *setup = json_object_get(run->spec, "setup");
	char *argv[SETUP_ARGV_MAX + 1], label[32], *env[AL_EGRESS_ENV_MAX + 1] = {NULL};
	struct al_sandbox_opts o = {0};
	struct al_run_record rec = {0};
	struct al_bind binds[1];
	size_t n_binds = 0, n_env = 0;
	json_int_t t = json_integer_value(json_object_get(setup, "timeout_s"));
	int r;

	if ((r = setup_argv(setup, argv, err)) < 0)
		return r;
	run->limits(run->spec, &o);
	if (t > 0)
		o.timeout_ms = (unsigned)t * 1000u;
	o.workspace = copy ? copy : e->tree_dir[i];
	o.workspace_overlay = !copy;
	o.upper_dir = copy ? NULL : dir;
	o.root_image = e->image_root;
	o.argv = argv;
	o.env_extra = env;
	if (run->egress && run->egress->ctl >= 0) {
		snprintf(label, sizeof(label), "setup-%s", tree_names[i]);
		al_egress_sandbox(run->egress, &o, label, binds, &n_binds, env, &n_env);
		o.binds = binds;
		o.n_binds = n_binds;
	}
	if ((r = al_sandbox_run(&o, &rec, err)) < 0)
		return r;
	al_log("info", "runner.setup", "tree=%s status=%s exit=%d wall_ms=%ld", tree_names[i],
	       al_runrec_status_name(rec.status), rec.exit_code, rec.wall_ms);
	r = rec.status == AL_RUN_OK && rec.exit_code == 0;
	if (!r)
		*ret_failed =
		    al_run_record_json(&rec, 1, json_pack("{s:s}", "tree", tree_names[i]));
	al_sandbox_record_clear(&rec);
	return r;
}

/* Builds tree i's layer in dir (made here, the sandbox user's): run, then seal. 1 built,
 * 0 failed or refused (*ret_failed says why). */
/* Without overlay: setup runs on a copy of the tree, and what it added is moved out by
 * comparing the copy with the tree (the same refusals as the seal). */
static int
layer_build_copied(struct al_env *e, const struct al_env_run *run, int i, const char *dir,
		   json_t **ret_failed, struct al_err *err)
{
	_cleanup_free_ char *upper = al_path_join(dir, "upper"), *copy = al_path_join(dir, "copy");
	struct al_err serr = {0};
	int r;

	if (!upper || !copy)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_copy_tree(e->tree_dir[i], copy, err);
	if (r == 0)
		r = al_env_hand_over(dir, e->uid, e->gid, err);
	if (r == 0)
		r = setup_run(e, run, i, dir, copy, ret_failed, err);
	if (r > 0 && al_copy_additions(copy, e->tree_dir[i], upper, &serr) < 0) {
		*ret_failed =
		    json_pack("{s:s, s:s}", "tree", tree_names[i], "refused", al_err_msg(&serr));
		r = 0;
	}
	al_rm_rf(copy);
	if (r > 0)
		r = al_env_hand_over(upper, e->uid, e->gid, err) < 0 ? -EIO : 1;
	return r;
}

static int
layer_build(struct al_env *e, const struct al_env_run *run, int i, const char *dir,
	    json_t **ret_failed, struct al_err *err)
{
	_cleanup_free_ char *upper = al_path_join(dir, "upper"), *work = al_path_join(dir, "work");
	struct al_err serr = {0};
	int r;

	if (!upper || !work)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (!al_overlay_supported())
		return layer_build_copied(e, run, i, dir, ret_failed, err);
	if ((r = al_env_hand_over(dir, e->uid, e->gid, err)) < 0)
		return r;
	r = setup_run(e, run, i, dir, NULL, ret_failed, err);
	if (r <= 0)
		return r;
	al_rm_rf(work);
	if (seal_layer(upper, e->tree_dir[i], &serr) < 0) {
		*ret_failed =
		    json_pack("{s:s, s:s}", "tree", tree_names[i], "refused", al_err_msg(&serr));
		return 0;
	}
	return 1;
}

/* The base tree's layer: from the cache, or built and sealed into it. */
static int
base_layer(struct al_env *e, const struct al_env_run *run, const char *key, json_t *out,
	   json_t **ret_failed, struct al_err *err)
{
	_cleanup_free_ char *entry = NULL, *tmp = NULL;
	int r = al_cache_find(&e->cache, AL_CACHE_SETUP, key, &entry, err);

	if (r == 0) {
		if ((r = al_cache_begin(&e->cache, AL_CACHE_SETUP, &tmp, err)) < 0)
			return r;
		r = layer_build(e, run, 0, tmp, ret_failed, err);
		if (r <= 0) {
			al_cache_abandon(tmp);
			return r;
		}
		if ((r = al_cache_commit(&e->cache, AL_CACHE_SETUP, tmp, key, &entry, err)) < 0)
			return r;
		json_object_set_new(out, "layer", json_string("built"));
	} else if (r > 0) {
		json_object_set_new(out, "layer", json_string("hit"));
	}
	if (r < 0)
		return r;
	if (!(e->layer[0] = al_path_join(entry, "upper")))
		return al_err_set(err, -ENOMEM, "out of memory");
	return 1;
}

/* A layer of tree i's own, for this job only (its key files differ from the base's). */
static int
own_layer(struct al_env *e, const struct al_env_run *run, int i, json_t **ret_failed,
	  struct al_err *err)
{
	_cleanup_free_ char *dir = NULL;
	int r;

	if (asprintf(&dir, "%s/setup-%s", e->job_dir, tree_names[i]) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (mkdir(dir, 0700) < 0)
		return al_err_set(err, -errno, "setup: %s: %s", dir, strerror(errno));
	r = layer_build(e, run, i, dir, ret_failed, err);
	if (r > 0 && !(e->layer[i] = al_path_join(dir, "upper")))
		return al_err_set(err, -ENOMEM, "out of memory");
	return r;
}

/* The key files whose bytes differ between tree i and the base, added to changed once. */
static void
note_changed(const json_t *keys, char base[][72], char other[][72], json_t *changed)
{
	size_t k, j;
	json_t *v, *c;

	json_array_foreach (keys, k, v) {
		bool seen = false;

		if (!strcmp(base[k], other[k]))
			continue;
		json_array_foreach (changed, j, c)
			seen = seen || json_equal(c, v);
		if (!seen)
			json_array_append(changed, v);
	}
}

#define KEYS_MAX 32

/* The first path that both the layer and the tree have, other than a directory both have
 * (then what is below it): a file the layer would hide from the runs, since an overlay's
 * upper layer wins. The tree is looked up for each of the layer's entries, and a directory
 * the tree lacks is not descended: node_modules costs one lookup when the tree has none.
 * 1 with path filled (relative), 0 when none, 1 with "?" on an error (fail closed). */
static int
overlap_at(int ld, int td, char *path, size_t len, size_t cap, unsigned depth)
{
	int dfd = dup(ld), r = 0;
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;

	if (!d || depth > 256) {
		if (dfd >= 0 && !d)
			close(dfd);
		if (d)
			closedir(d);
		snprintf(path, cap, "?");
		return 1;
	}
	while (r == 0 && (de = readdir(d))) {
		struct stat ls, ts;
		int n;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(td, de->d_name, &ts, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* the tree has nothing here to hide */
		n = snprintf(path + len, cap - len, "%s%s", len ? "/" : "", de->d_name);
		if (n < 0 || (size_t)n >= cap - len ||
		    fstatat(ld, de->d_name, &ls, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(ls.st_mode) ||
		    !S_ISDIR(ts.st_mode)) {
			r = 1;
			break;
		}
		int lsub = openat(ld, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int tsub = openat(td, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

		r = lsub < 0 || tsub < 0
			? 1
			: overlap_at(lsub, tsub, path, len + (size_t)n, cap, depth + 1);
		if (lsub >= 0)
			close(lsub);
		if (tsub >= 0)
			close(tsub);
		if (r == 0)
			path[len] = '\0';
	}
	closedir(d);
	return r;
}

static int
layer_overlaps(const char *layer, const char *tree, char *path, size_t cap)
{
	_cleanup_close_ int ld = open(layer, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int td = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	path[0] = '\0';
	if (ld < 0 || td < 0) {
		snprintf(path, cap, "?");
		return 1;
	}
	return overlap_at(ld, td, path, 0, cap, 0);
}

/* A layer sealed against one tree may meet another: the base's cached layer a base with
 * the same key files but more files, the change's trees what the change wrote. Nothing a
 * tree has may be hidden by its layer, or the runs would not test that tree. */
static int
check_shadowing(const struct al_env *e, json_t **ret_failed)
{
	char path[4096], why[4300];

	for (int i = 0; i < AL_ENV_TREES; i++) {
		if (!e->layer[i] ||
		    !layer_overlaps(e->layer[i], e->tree_dir[i], path, sizeof(path)))
			continue;
		if (i == 0)
			snprintf(why, sizeof(why),
				 "the base tree has %s, which the cached setup layer has too: the "
				 "runs would see the layer's, not the tree's",
				 path);
		else
			snprintf(
			    why, sizeof(why),
			    "the change writes %s, which setup's layer has: the runs would see "
			    "the layer's, not the change's",
			    path);
		*ret_failed = json_pack("{s:s, s:s}", "tree", tree_names[i], "refused", why);
		return 0;
	}
	return 1;
}

static int
setup_trees(struct al_env *e, const struct al_env_run *run, json_t *out, json_t **ret_failed,
	    struct al_err *err)
{
	const json_t *setup = json_object_get(run->spec, "setup");
	const json_t *keys = json_object_get(setup, "keys");
	const char *on_change = json_string_value(json_object_get(setup, "on_change"));
	char digests[AL_ENV_TREES][KEYS_MAX][72], key[AL_ENV_TREES][65];
	json_t *changed = json_array(), *own = json_array();
	const char *dir;
	int r = 1;

	json_object_set_new(out, "changed", changed);
	json_object_set_new(out, "own", own);
	if (json_array_size(keys) > KEYS_MAX)
		return al_err_set(err, -EINVAL, "job: setup.keys: more than %d", KEYS_MAX);
	for (int i = 0; r > 0 && i < AL_ENV_TREES; i++) {
		r = al_env_tree(e, run->repo_path, run->trees[i], i, &dir, err);
		if (r == 0)
			r = setup_key(e, i, setup, digests[i], key[i], err);
		if (r == 0)
			r = 1;
		if (r > 0 && i > 0)
			note_changed(keys, digests[0], digests[i], changed);
	}
	json_object_set_new(out, "key", json_string(key[0]));
	if (r > 0)
		r = base_layer(e, run, key[0], out, ret_failed, err);
	if (r > 0 && json_array_size(changed) && on_change && !strcmp(on_change, "reject")) {
		*ret_failed =
		    json_pack("{s:s}", "refused",
			      "the change alters setup's key files, which policy refuses");
		return 0;
	}
	for (int i = 1; r > 0 && i < AL_ENV_TREES; i++) {
		if (!strcmp(key[i], key[0])) {
			e->layer[i] = strdup(e->layer[0]);
		} else if (i == 2 && !strcmp(key[2], key[1]) && e->layer[1]) {
			e->layer[i] = strdup(e->layer[1]);
		} else {
			r = own_layer(e, run, i, ret_failed, err);
			json_array_append_new(own, json_string(tree_names[i]));
			continue;
		}
		if (!e->layer[i])
			r = al_err_set(err, -ENOMEM, "out of memory");
	}
	return r;
}

int
al_env_setup(struct al_env *e, const struct al_env_run *run, json_t *result, struct al_err *err)
{
	json_t *out, *failed = NULL;
	struct timespec t0, t1;
	int r;

	if (!json_object_get(run->spec, "setup"))
		return 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	out = json_object();
	json_object_set_new(result, "setup", out);
	r = setup_trees(e, run, out, &failed, err);
	if (r > 0)
		r = check_shadowing(e, &failed);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	json_object_set_new(
	    out, "ms",
	    json_integer((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
	if (failed)
		json_object_set_new(out, "failed", failed);
	return r;
}
