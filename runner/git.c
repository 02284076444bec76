/* The server's operations on its repositories (runner/git.h), each opening the repository
 * for the call: compare-and-swap of refs, notes, fetches through an in-memory remote, diffs,
 * merge bases, branch tips and the resolution of a base on them. */
#include "runner/git.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/macros.h"
#include "runner/libgit.h"

static int
open_commit_id(git_repository **repo, const char *path, const char *hex, git_oid *id,
	       struct al_err *err)
{
	git_commit *c = NULL;
	int g;

	g = git_repository_open_ext(repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_err_set(err, al_libgit_errno(g), "%s: %s", path, al_libgit_msg());
	if (strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(id, hex) < 0)
		return al_err_set(err, -EINVAL, "%s: not a commit id", hex);
	g = git_commit_lookup(&c, *repo, id);
	git_commit_free(c);
	if (g < 0)
		return al_err_set(err, al_libgit_errno(g), "commit %s: %s", hex, al_libgit_msg());
	return 0;
}

int
al_git_ref_cas(const char *repo_path, const char *ref, const char *new_hex, const char *old_hex,
	       char ret_current[41], struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(al_libgit_repository_freep) git_repository *repo = NULL;
	_cleanup_(al_libgit_reference_freep) git_reference *out = NULL;
	git_oid new_id, old_id, cur;
	int r, g;

	ret_current[0] = '\0';
	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", al_libgit_msg());
	r = open_commit_id(&repo, repo_path, new_hex, &new_id, err);
	if (r < 0)
		return r;
	if (git_reference_name_is_valid(&g, ref) < 0 || !g || strncmp(ref, "refs/", 5))
		return al_err_set(err, -EINVAL, "%s: not a ref name", ref);
	if (git_reference_name_to_id(&cur, repo, ref) == 0)
		git_oid_tostr(ret_current, 41, &cur);
	if (!old_hex) {
		g = git_reference_create(&out, repo, ref, &new_id, 0, "airlock: promote");
		if (g == GIT_EEXISTS)
			return al_err_set(err, -ESTALE, "%s already exists (at %s)", ref,
					  ret_current);
	} else {
		if (git_oid_fromstr(&old_id, old_hex) < 0)
			return al_err_set(err, -EINVAL, "%s: not a commit id", old_hex);
		/* the reference moves only if it still points where the grant saw it */
		g = git_reference_create_matching(&out, repo, ref, &new_id, 1, &old_id,
						  "airlock: promote");
		if (g == GIT_EMODIFIED || g == GIT_ENOTFOUND)
			return al_err_set(err, -ESTALE, "%s is at %s, not %s", ref,
					  ret_current[0] ? ret_current : "(none)", old_hex);
	}
	if (g < 0)
		return al_err_set(err, al_libgit_errno(g), "%s: %s", ref, al_libgit_msg());
	git_oid_tostr(ret_current, 41, &new_id);
	return 0;
}

int
al_git_note_set(const char *repo_path, const char *notes_ref, const char *commit_hex,
		const char *text, struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(al_libgit_repository_freep) git_repository *repo = NULL;
	_cleanup_(al_libgit_signature_freep) git_signature *sig = NULL;
	git_oid id, note;
	int r, g;

	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", al_libgit_msg());
	r = open_commit_id(&repo, repo_path, commit_hex, &id, err);
	if (r < 0)
		return r;
	g = git_signature_now(&sig, "airlock", "airlock@localhost");
	if (g == 0)
		g = git_note_create(&note, repo, notes_ref, sig, sig, &id, text, 1);
	if (g < 0)
		return al_err_set(err, al_libgit_errno(g), "note on %s: %s", commit_hex,
				  al_libgit_msg());
	return 0;
}

int
al_git_fetch(const char *repo_path, const char *url, const char *const *refspecs, size_t n,
	     struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(al_libgit_repository_freep) git_repository *repo = NULL;
	_cleanup_(al_libgit_remote_freep) git_remote *remote = NULL;
	git_fetch_options fo;
	git_remote_create_options ro;
	git_strarray specs = {(char **)refspecs, n};
	int g;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_err_set(err, al_libgit_errno(g), "%s: %s", repo_path, al_libgit_msg());
	/* an in-memory remote: nothing is written to the repository's configuration, and no
	 * url.*.insteadOf there rewrites the URL */
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if ((g = git_remote_create_with_opts(&remote, url, &ro)) < 0)
		return al_libgit_fail(err, g, url);
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if ((g = git_remote_fetch(remote, &specs, &fo, "airlock: fetch")) < 0)
		return al_err_set(err, al_libgit_errno(g), "fetch from %s: %s", url,
				  al_libgit_msg());
	return 0;
}

int
al_git_ref_commit(const char *repo_path, const char *ref, char out[41], struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(al_libgit_repository_freep) git_repository *repo = NULL;
	_cleanup_(al_libgit_commit_freep) git_commit *c = NULL;
	git_oid id;
	int g;

	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_err_set(err, al_libgit_errno(g), "%s: %s", repo_path, al_libgit_msg());
	if ((g = git_reference_name_to_id(&id, repo, ref)) < 0)
		return al_err_set(err, al_libgit_errno(g), "%s: %s", ref, al_libgit_msg());
	if ((g = git_commit_lookup(&c, repo, &id)) < 0)
		return al_err_set(err, al_libgit_errno(g), "%s is not a commit: %s", ref,
				  al_libgit_msg());
	al_libgit_oid_hex(out, &id);
	return 0;
}

int
al_git_merge_base(const char *repo_path, const char *a_hex, const char *b_hex, char out[41],
		  struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(al_libgit_repository_freep) git_repository *repo = NULL;
	git_oid a, b, base;
	int r, g;

	if ((r = open_commit_id(&repo, repo_path, a_hex, &a, err)) < 0)
		return r;
	git_repository_free(repo);
	repo = NULL;
	if ((r = open_commit_id(&repo, repo_path, b_hex, &b, err)) < 0)
		return r;
	if ((g = git_merge_base(&base, repo, &a, &b)) < 0)
		return al_err_set(err, al_libgit_errno(g), "no merge base of %s and %s: %s", a_hex,
				  b_hex, al_libgit_msg());
	al_libgit_oid_hex(out, &base);
	return 0;
}

static int
commit_tree(git_repository *repo, const char *hex, git_tree **ret, struct al_err *err)
{
	_cleanup_(al_libgit_commit_freep) git_commit *c = NULL;
	git_oid id;
	int g;

	if (strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(&id, hex) < 0)
		return al_err_set(err, -EINVAL, "%s: not a commit id", hex);
	if ((g = git_commit_lookup(&c, repo, &id)) < 0 || (g = git_commit_tree(ret, c)) < 0)
		return al_err_set(err, al_libgit_errno(g), "commit %s: %s", hex, al_libgit_msg());
	return 0;
}

int
al_git_diff_files(const char *repo_path, const char *from_hex, const char *to_hex,
		  int (*each)(void *ctx, const char *path, const char *patch, size_t len),
		  void *ctx, struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(al_libgit_repository_freep) git_repository *repo = NULL;
	_cleanup_(al_libgit_tree_freep) git_tree *from = NULL;
	_cleanup_(al_libgit_tree_freep) git_tree *to = NULL;
	_cleanup_(al_libgit_diff_freep) git_diff *diff = NULL;
	git_diff_options o;
	size_t i, n;
	int r, g;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_err_set(err, al_libgit_errno(g), "%s: %s", repo_path, al_libgit_msg());
	if ((r = commit_tree(repo, from_hex, &from, err)) < 0 ||
	    (r = commit_tree(repo, to_hex, &to, err)) < 0)
		return r;
	/* binary changes in full, so that the gates judge them, not a "differ" line */
	o.flags = GIT_DIFF_SHOW_BINARY;
	if ((g = git_diff_tree_to_tree(&diff, repo, from, to, &o)) < 0)
		return al_libgit_fail(err, g, "diff");
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		git_patch *p = NULL;
		git_buf buf = GIT_BUF_INIT;

		if ((g = git_patch_from_diff(&p, diff, i)) < 0 ||
		    (g = git_patch_to_buf(&buf, p)) < 0) {
			git_patch_free(p);
			return al_libgit_fail(err, g, "diff");
		}
		r = each(ctx, d->new_file.path ? d->new_file.path : d->old_file.path, buf.ptr,
			 buf.size);
		git_buf_dispose(&buf);
		git_patch_free(p);
		if (r < 0)
			return al_err_set(err, r, "diff: %s", strerror(-r));
	}
	return 0;
}
/* The branch a ref stands for: refs/heads/X itself, and refs/airlock/upstream/heads/X, the
 * copy of the upstream's branch X that pull requests are judged against, as refs/heads/X.
 * NULL for any other ref. */
static const char *
branch_name(const char *ref, char *buf, size_t n)
{
	static const char upstream[] = "refs/airlock/upstream/heads/";
	int w;

	if (!strncmp(ref, "refs/heads/", 11))
		return ref;
	if (strncmp(ref, upstream, sizeof(upstream) - 1))
		return NULL;
	w = snprintf(buf, n, "refs/heads/%s", ref + sizeof(upstream) - 1);
	return w > 0 && (size_t)w < n ? buf : NULL;
}

int
al_git_branch_tips(const char *repo_path, int (*want)(void *ctx, const char *ref),
		   int (*each)(void *ctx, const char *ref, const char *hex), void *ctx,
		   struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(al_libgit_repository_freep) git_repository *repo = NULL;
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	int g, r = 0;

	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", al_libgit_msg());
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_libgit_fail(err, g, repo_path);
	if ((g = git_reference_iterator_new(&it, repo)) < 0)
		return al_libgit_fail(err, g, "refs");
	while (r == 0 && (g = git_reference_next(&ref, it)) == 0) {
		git_object *peeled = NULL;
		char hex[41], buf[512];
		const char *name = branch_name(git_reference_name(ref), buf, sizeof(buf));

		if (name && want(ctx, name) &&
		    git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) == 0) {
			al_libgit_oid_hex(hex, git_object_id(peeled));
			r = each(ctx, name, hex);
		}
		git_object_free(peeled);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (r < 0)
		return al_err_set(err, r, "refs: %s", strerror(-r));
	if (g != GIT_ITEROVER)
		return al_libgit_fail(err, g, "refs");
	return 0;
}

int
al_git_base_on(const char *repo_path, const char *base, const char *const *tips, size_t n_tips,
	       char ret_commit[41], struct al_err *err)
{
	_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(al_libgit_repository_freep) git_repository *repo = NULL;
	_cleanup_(al_libgit_commit_freep) git_commit *c = NULL;
	int g, r;

	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", al_libgit_msg());
	if ((r = al_libgit_base_check(base, err)) < 0)
		return r;
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_libgit_fail(err, g, repo_path);
	if ((r = al_libgit_base_resolve(repo, base, &c, err)) < 0 ||
	    (r = al_libgit_base_reachable(repo, c, tips, n_tips, err)) < 0)
		return r;
	al_libgit_oid_hex(ret_commit, git_commit_id(c));
	return 0;
}

int
al_git_init(void)
{
	return git_libgit2_init() < 0 ? -EIO : 0;
}

void
al_git_shutdown(void)
{
	git_libgit2_shutdown();
}
