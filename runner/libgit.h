/* Shared by the runner's libgit2 files only (checkout.c, apply.c, tree.c, git.c): libgit2
 * errors as -errno, cleanup helpers for its objects, and the checks on a base that the
 * checkout and the server's base resolution both make. */
#pragma once

#include <git2.h>
#include <stddef.h>

#include "lib/err.h"

#define AL_LIBGIT_FREEP(name, type, fn)   \
	static inline void name(type **p) \
	{                                 \
		fn(*p);                   \
	}

AL_LIBGIT_FREEP(al_libgit_object_freep, git_object, git_object_free)
AL_LIBGIT_FREEP(al_libgit_commit_freep, git_commit, git_commit_free)
AL_LIBGIT_FREEP(al_libgit_tree_freep, git_tree, git_tree_free)
AL_LIBGIT_FREEP(al_libgit_tree_entry_freep, git_tree_entry, git_tree_entry_free)
AL_LIBGIT_FREEP(al_libgit_blob_freep, git_blob, git_blob_free)
AL_LIBGIT_FREEP(al_libgit_diff_freep, git_diff, git_diff_free)
AL_LIBGIT_FREEP(al_libgit_patch_freep, git_patch, git_patch_free)
AL_LIBGIT_FREEP(al_libgit_index_freep, git_index, git_index_free)
AL_LIBGIT_FREEP(al_libgit_signature_freep, git_signature, git_signature_free)
AL_LIBGIT_FREEP(al_libgit_repository_freep, git_repository, git_repository_free)
AL_LIBGIT_FREEP(al_libgit_reference_freep, git_reference, git_reference_free)
AL_LIBGIT_FREEP(al_libgit_remote_freep, git_remote, git_remote_free)

/* For `_cleanup_(al_libgit_shutdownp) int initialized = git_libgit2_init();`. */
static inline void
al_libgit_shutdownp(int *initialized)
{
	if (*initialized > 0)
		git_libgit2_shutdown();
}

/* The message of libgit2's last error on this thread. */
const char *al_libgit_msg(void);
/* A libgit2 error code as -errno. */
int al_libgit_errno(int gerr);
/* Sets err to "what: <libgit2's message>" and returns the code as -errno. */
int al_libgit_fail(struct al_err *err, int gerr, const char *what);
void al_libgit_oid_hex(char out[41], const git_oid *id);

/* The path a delta is known by: the old one for a deletion, else the new one. */
const char *al_libgit_delta_path(const git_diff_delta *d);
/* The modes a delta means. A pure rename, or a patch without an index line, carries none:
 * the file keeps the mode it has in the tree the patch applies to (git's rule too). */
void al_libgit_delta_modes(const git_diff_delta *d, git_tree *pre, unsigned *ret_old,
			   unsigned *ret_new);
/* A path component that must never be written: empty, ".", "..", or any spelling of .git. */
int al_libgit_name_unsafe(const char *s, size_t n);

/* -EINVAL when base is empty, starts with '-' or holds a control character. */
int al_libgit_base_check(const char *base, struct al_err *err);
/* The commit base names (-ENOENT when it names none). */
int al_libgit_base_resolve(git_repository *repo, const char *base, git_commit **ret,
			   struct al_err *err);
/* -EPERM unless base is one of tips (commit ids) or an ancestor of one; tips NULL: not
 * checked. A base must be in the history of a protected branch: a commit that is only in
 * the object database (another proposal's candidate, a fetched pull request) would carry
 * its changes into the grant unjudged. */
int al_libgit_base_reachable(git_repository *repo, const git_commit *base, const char *const *tips,
			     size_t n_tips, struct al_err *err);
