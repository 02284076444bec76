/* The runner's checkout: resolve the base, apply test_patch and patch in memory
 * (runner/apply.c), record the candidate commit, and write a tree into a fresh directory
 * for each run (runner/tree.c).
 *
 * git_diff_from_buffer skips everything before the first "diff --git" and stops each hunk
 * at its line counts, so `git format-patch` mail headers and the "-- " signature parse as
 * they are. */
#include "runner/checkout.h"

#include <errno.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/apply.h"
#include "runner/libgit.h"
#include "runner/tree.h"

#define AL_DEFAULT_MESSAGE "airlock candidate\n"
#define AL_SIG_NAME "airlock"
#define AL_SIG_EMAIL "airlock@localhost"

/* ---- parsing ---- */

static int
path_unsafe(const char *path)
{
	const char *s = path;

	if (!path || !path[0] || path[0] == '/')
		return 1;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);

		if (al_libgit_name_unsafe(s, n))
			return 1;
		if (!slash)
			return 0;
		s = slash + 1;
	}
}

static int
parse_patch(const char *which, const char *text, size_t len, git_diff **ret, struct al_err *err)
{
	_cleanup_(al_libgit_diff_freep) git_diff *diff = NULL;

	if (!text || len == 0)
		return al_err_set(err, -EBADMSG, "%s: no changes", which);
	if (git_diff_from_buffer(&diff, text, len) < 0) {
		const git_error *e = git_error_last();

		if (e && e->klass == GIT_ERROR_NOMEMORY)
			return al_err_set(err, -ENOMEM, "%s: out of memory", which);
		return al_err_set(err, -EBADMSG, "%s: %s", which, al_libgit_msg());
	}
	if (git_diff_num_deltas(diff) == 0)
		return al_err_set(err, -EBADMSG, "%s: no changes", which);
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);

		if ((!d->old_file.path && !d->new_file.path) ||
		    (d->old_file.path && path_unsafe(d->old_file.path)) ||
		    (d->new_file.path && path_unsafe(d->new_file.path)))
			return al_err_set(err, -EBADMSG, "%s: unsafe path '%s'", which,
					  al_libgit_delta_path(d));
	}
	*ret = steal_pointer(&diff);
	return 0;
}

static void
patch_files_free(struct al_patch_file *f, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		free(f[i].path);
		free(f[i].old_path);
	}
	free(f);
}

static int
list_files(git_diff *diff, git_tree *pre, struct al_patch_file **ret, size_t *ret_n)
{
	size_t n = git_diff_num_deltas(diff);
	struct al_patch_file *f = calloc(n ? n : 1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *path = al_libgit_delta_path(d);
		const char *old = d->old_file.path ? d->old_file.path : path;

		f[i].path = strdup(path);
		f[i].old_path = strdup(old);
		if (!f[i].path || !f[i].old_path) {
			patch_files_free(f, n);
			return -ENOMEM;
		}
		f[i].status = git_diff_status_char(d->status);
		al_libgit_delta_modes(d, pre, &f[i].old_mode, &f[i].new_mode);
		f[i].binary = !!(d->flags & GIT_DIFF_FLAG_BINARY);
	}
	*ret = f;
	*ret_n = n;
	return 0;
}

/* ---- the candidate commit ---- */

static int
make_commit(git_repository *repo, git_commit *parent, git_tree *tree,
	    const struct al_checkout_opts *o, git_oid *ret, struct al_err *err)
{
	_cleanup_(al_libgit_signature_freep) git_signature *sig = NULL;
	const git_commit *parents[1] = {parent};
	const char *msg = o->message && o->message[0] ? o->message : AL_DEFAULT_MESSAGE;
	int r;

	r = git_signature_new(&sig, AL_SIG_NAME, AL_SIG_EMAIL, (git_time_t)o->commit_time, 0);
	if (r < 0)
		return al_libgit_fail(err, r, "commit signature");
	/* update_ref NULL: the object is written, no ref moves */
	r = git_commit_create(ret, repo, NULL, sig, sig, NULL, msg, tree, 1, parents);
	if (r < 0)
		return al_libgit_fail(err, r, "create commit");
	return 0;
}

/* ---- the whole job ---- */

static int
check_opts(const struct al_checkout_opts *o, struct al_err *err)
{
	if (!o || !o->repo_path)
		return al_err_set(err, -EINVAL, "checkout: missing repository");
	if (!o->patch && o->patch_len)
		return al_err_set(err, -EINVAL, "checkout: patch length without patch");
	return al_libgit_base_check(o->base, err);
}

struct job {
	git_repository *repo;
	git_commit *base;
	git_diff *test_diff;
	git_diff *diff;
	git_tree *base_tree;
	git_tree *tested_tree; /* base + test_patch */
	git_tree *candidate_tree;
};

static void
job_done(struct job *j)
{
	git_tree_free(j->candidate_tree);
	git_tree_free(j->tested_tree);
	git_tree_free(j->base_tree);
	git_diff_free(j->diff);
	git_diff_free(j->test_diff);
	git_commit_free(j->base);
	git_repository_free(j->repo);
}

static int
open_and_parse(struct job *j, const struct al_checkout_opts *o, struct al_checkout_result *res,
	       struct al_err *err)
{
	int r =
	    git_repository_open_ext(&j->repo, o->repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);

	if (r < 0)
		return al_libgit_fail(err, r, o->repo_path);
	r = al_libgit_base_resolve(j->repo, o->base, &j->base, err);
	if (r < 0)
		return r;
	al_libgit_oid_hex(res->base_commit, git_commit_id(j->base));
	r = al_libgit_base_reachable(j->repo, j->base, o->tips, o->n_tips, err);
	if (r < 0)
		return r;
	r = git_commit_tree(&j->base_tree, j->base);
	if (r < 0)
		return al_libgit_fail(err, r, "base tree");
	if (o->test_patch && o->test_patch_len) {
		r = parse_patch("test_patch", o->test_patch, o->test_patch_len, &j->test_diff, err);
		if (r < 0)
			return r;
	}
	return parse_patch("patch", o->patch, o->patch_len, &j->diff, err);
}

static int
build(struct job *j, const struct al_checkout_opts *o, struct al_checkout_result *res,
      struct al_err *err)
{
	git_oid commit_id;
	int r = open_and_parse(j, o, res, err);

	if (r < 0)
		return r;
	if (j->test_diff) {
		r = list_files(j->test_diff, j->base_tree, &res->test_files, &res->n_test_files);
		if (r < 0)
			return al_err_set(err, r, "out of memory");
		r = al_apply_patch("test_patch", o->test_patch, o->test_patch_len, j->test_diff,
				   j->repo, j->base_tree, &j->tested_tree, res, err);
		if (r < 0) {
			/* still say what the patch touches, as far as the base tells */
			if (list_files(j->diff, j->base_tree, &res->patch_files,
				       &res->n_patch_files) < 0)
				return al_err_reset(err, -ENOMEM, "out of memory");
			return r;
		}
	} else {
		r = git_tree_dup(&j->tested_tree, j->base_tree);
		if (r < 0)
			return al_libgit_fail(err, r, "base tree");
	}
	r = list_files(j->diff, j->tested_tree, &res->patch_files, &res->n_patch_files);
	if (r < 0)
		return al_err_set(err, r, "out of memory");
	r = al_apply_patch("patch", o->patch, o->patch_len, j->diff, j->repo, j->tested_tree,
			   &j->candidate_tree, res, err);
	if (r < 0)
		return r;
	if ((r = al_tree_check_attributes(j->repo, j->base_tree, err)) < 0 ||
	    (r = al_tree_check_attributes(j->repo, j->tested_tree, err)) < 0 ||
	    (r = al_tree_check_attributes(j->repo, j->candidate_tree, err)) < 0)
		return r;
	r = make_commit(j->repo, j->base, j->candidate_tree, o, &commit_id, err);
	if (r < 0)
		return r;
	al_libgit_oid_hex(res->candidate_commit, &commit_id);
	al_libgit_oid_hex(res->base_tree, git_tree_id(j->base_tree));
	al_libgit_oid_hex(res->tested_tree, git_tree_id(j->tested_tree));
	al_libgit_oid_hex(res->candidate_tree, git_tree_id(j->candidate_tree));
	return 0;
}

int
al_checkout_prepare(const struct al_checkout_opts *o, struct al_checkout_result *ret,
		    struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = 0;
	struct al_checkout_result res = {0};
	struct job j = {0};
	int r = check_opts(o, err);

	if (r < 0)
		return r;
	initialized = git_libgit2_init();
	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", al_libgit_msg());
	r = build(&j, o, &res, err);
	job_done(&j);
	if (r == -ENOEXEC) {
		/* the caller still wants to know what the patch touches and where it failed */
		res.candidate_commit[0] = res.candidate_tree[0] = '\0';
		res.tested_tree[0] = res.base_tree[0] = '\0';
		*ret = res;
		return r;
	}
	if (r < 0) {
		al_checkout_result_clear(&res);
		return r;
	}
	*ret = res;
	return 0;
}

void
al_checkout_result_clear(struct al_checkout_result *r)
{
	if (!r)
		return;
	patch_files_free(r->patch_files, r->n_patch_files);
	patch_files_free(r->test_files, r->n_test_files);
	free(r->fail_file);
	for (size_t i = 0; i < r->n_offsets; i++)
		free(r->offsets[i].file);
	free(r->offsets);
	for (size_t i = 0; i < r->n_merged; i++)
		free(r->merged[i].file);
	free(r->merged);
	*r = (struct al_checkout_result){0};
}

int
al_checkout_write(const char *repo_path, const char *tree_hex, const char *dir, struct al_err *err)
{
	return al_checkout_write_from(repo_path, tree_hex, dir, NULL, NULL, err);
}

int
al_checkout_write_from(const char *repo_path, const char *tree_hex, const char *dir,
		       const char *base_hex, const char *base_dir, struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(al_libgit_repository_freep) git_repository *repo = NULL;
	_cleanup_(al_libgit_tree_freep) git_tree *tree = NULL, *base = NULL;
	git_oid id, bid;
	int created = 0, g, r;

	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", al_libgit_msg());
	if (!tree_hex || strlen(tree_hex) != GIT_OID_HEXSZ || git_oid_fromstr(&id, tree_hex) < 0)
		return al_err_set(err, -EINVAL, "checkout: not a tree id");
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_libgit_fail(err, g, repo_path);
	if ((g = git_tree_lookup(&tree, repo, &id)) < 0)
		return al_libgit_fail(err, g, tree_hex);
	/* a base that cannot be read is only a slower write */
	if (base_hex && base_dir && git_oid_fromstr(&bid, base_hex) == 0 &&
	    git_tree_lookup(&base, repo, &bid) < 0)
		base = NULL;
	r = al_tree_write_from(repo, tree, dir, base, base ? base_dir : NULL, &created, err);
	/* the directory did not exist before, so whatever is in it is ours */
	if (r < 0 && created)
		al_rm_rf(dir);
	return r;
}
