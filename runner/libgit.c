/* What the runner's libgit2 files share: libgit2 errors as -errno, the paths and modes a
 * delta means, and the checks on a base (its spelling, the commit it names, whether it is
 * on a protected branch). */
#include "runner/libgit.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include "lib/macros.h"

const char *
al_libgit_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

int
al_libgit_errno(int gerr)
{
	const git_error *e = git_error_last();

	switch (gerr) {
	case GIT_ENOTFOUND:
		return -ENOENT;
	case GIT_EEXISTS:
		return -EEXIST;
	case GIT_EAMBIGUOUS:
	case GIT_EINVALIDSPEC:
	case GIT_EINVALID:
		return -EINVAL;
	case GIT_EBUFS:
		return -ENOBUFS;
	case GIT_ELOCKED:
		return -EBUSY;
	case GIT_EOWNER:
		return -EACCES;
	case GIT_EAPPLYFAIL:
		return -ENOEXEC;
	case GIT_EMISMATCH:
		return -EBADMSG;
	default:
		break;
	}
	if (e && e->klass == GIT_ERROR_NOMEMORY)
		return -ENOMEM;
	return -EIO;
}

int
al_libgit_fail(struct al_err *err, int gerr, const char *what)
{
	return al_err_set(err, al_libgit_errno(gerr), "%s: %s", what, al_libgit_msg());
}

void
al_libgit_oid_hex(char out[41], const git_oid *id)
{
	git_oid_tostr(out, 41, id);
}

const char *
al_libgit_delta_path(const git_diff_delta *d)
{
	const char *p = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;

	if (!p)
		p = d->old_file.path ? d->old_file.path : d->new_file.path;
	return p ? p : "";
}

int
al_libgit_base_check(const char *base, struct al_err *err)
{
	if (!base || !base[0])
		return al_err_set(err, -EINVAL, "base is empty");
	if (base[0] == '-')
		return al_err_set(err, -EINVAL, "base '%s' starts with '-'", base);
	for (const unsigned char *c = (const unsigned char *)base; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return al_err_set(err, -EINVAL, "base contains a control character");
	return 0;
}

int
al_libgit_base_resolve(git_repository *repo, const char *base, git_commit **ret, struct al_err *err)
{
	_cleanup_(al_libgit_object_freep) git_object *obj = NULL;
	git_object *peeled = NULL;

	if (git_revparse_single(&obj, repo, base) < 0 ||
	    git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
		return al_err_set(err, -ENOENT, "base '%s' does not resolve to a commit", base);
	*ret = (git_commit *)peeled;
	return 0;
}

int
al_libgit_name_unsafe(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '.') || (n == 2 && !memcmp(s, "..", 2)) ||
	       (n == 4 && !strncasecmp(s, ".git", 4));
}

void
al_libgit_delta_modes(const git_diff_delta *d, git_tree *pre, unsigned *ret_old, unsigned *ret_new)
{
	unsigned old_mode = d->old_file.mode, new_mode = d->new_file.mode;

	if (!old_mode && d->status != GIT_DELTA_ADDED && d->old_file.path) {
		git_tree_entry *e = NULL;

		if (git_tree_entry_bypath(&e, pre, d->old_file.path) == 0)
			old_mode = git_tree_entry_filemode(e);
		git_tree_entry_free(e);
	}
	if (!new_mode && d->status != GIT_DELTA_DELETED)
		new_mode = d->status == GIT_DELTA_ADDED ? GIT_FILEMODE_BLOB : old_mode;
	*ret_old = old_mode;
	*ret_new = new_mode;
}

int
al_libgit_base_reachable(git_repository *repo, const git_commit *base, const char *const *tips,
			 size_t n_tips, struct al_err *err)
{
	const git_oid *id = git_commit_id(base);
	char hex[41];

	if (!tips)
		return 0;
	for (size_t i = 0; i < n_tips; i++) {
		git_oid tip;

		if (!tips[i] || strlen(tips[i]) != GIT_OID_HEXSZ ||
		    git_oid_fromstr(&tip, tips[i]) < 0)
			return al_err_set(err, -EINVAL, "checkout: malformed branch tip");
		if (git_oid_equal(&tip, id) || git_graph_descendant_of(repo, &tip, id) == 1)
			return 0;
	}
	al_libgit_oid_hex(hex, id);
	return al_err_set(err, -EPERM, "base %s is not on a protected branch", hex);
}
