/* The server's operations on its repositories, through libgit2: refs moved by
 * compare-and-swap, notes, fetches, the diff and merge base of two commits, branch tips and
 * the resolution of a proposal's base. */
#pragma once

#include <stddef.h>

#include "lib/err.h"

/* Points ref at the commit new_hex, which must exist: when old_hex is NULL only if ref does
 * not exist yet, otherwise only if ref is still at old_hex (compare-and-swap).  -ESTALE
 * when that does not hold.  ret_current: where ref is afterwards ("" for nowhere). */
int al_git_ref_cas(const char *repo_path, const char *ref, const char *new_hex, const char *old_hex,
		   char ret_current[41], struct al_err *err);
/* Attaches text as the note of commit_hex under notes_ref, replacing an older one. */
int al_git_note_set(const char *repo_path, const char *notes_ref, const char *commit_hex,
		    const char *text, struct al_err *err);
/* Fetches refspecs ("+SRC:DST") from url (any URL libgit2 fetches) into the repository
 * at repo_path, through an anonymous remote. */
int al_git_fetch(const char *repo_path, const char *url, const char *const *refspecs, size_t n,
		 struct al_err *err);
/* The commit a ref points at, as 40 hex digits. */
int al_git_ref_commit(const char *repo_path, const char *ref, char out[41], struct al_err *err);
int al_git_merge_base(const char *repo_path, const char *a_hex, const char *b_hex, char out[41],
		      struct al_err *err);
/* The diff of commit from's tree to commit to's, one call of each per changed file with its
 * path (the new one; the old one for a deletion) and its patch text; each's negative errno
 * stops the walk. */
int al_git_diff_files(const char *repo_path, const char *from_hex, const char *to_hex,
		      int (*each)(void *ctx, const char *path, const char *patch, size_t len),
		      void *ctx, struct al_err *err);
/* Calls each(ctx, ref, commit) for every branch (refs/heads/...) want(ctx, ref) accepts; a
 * negative errno from each stops the walk. */
int al_git_branch_tips(const char *repo_path, int (*want)(void *ctx, const char *ref),
		       int (*each)(void *ctx, const char *ref, const char *hex), void *ctx,
		       struct al_err *err);
/* Resolves base to a commit that is one of tips or an ancestor of one (-ENOENT: it does
 * not resolve; -EPERM: it is on none of them). */
int al_git_base_on(const char *repo_path, const char *base, const char *const *tips, size_t n_tips,
		   char ret_commit[41], struct al_err *err);

/* A long-lived process that calls the functions above from several threads holds libgit2
 * open for its whole life: each thread's error state is then freed when the thread ends,
 * not lost when a call's own shutdown drops the last reference first. */
int al_git_init(void);
void al_git_shutdown(void);
