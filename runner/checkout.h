/* The runner's checkout: base resolution, patch application and the tree each run is given
 * (the server's own repository operations are in runner/git.h). */
#pragma once

#include <stddef.h>

#include "lib/err.h"

struct al_patch_file {
	char *path;	/* owned; the new path ("b/" side), or the old path for a deletion */
	char *old_path; /* owned; the old path ("a/" side) */
	char status;	/* 'A', 'M', 'D', 'R', 'C', 'T' */
	unsigned old_mode;
	unsigned new_mode;
	int binary;
};

/* A hunk that applied at another line than the one it states, as git apply finds it. */
struct al_apply_offset {
	char which[16]; /* "patch" or "test_patch" */
	char *file;	/* owned */
	int hunk;	/* 1-based */
	long offset;	/* lines; negative when it applied above the line it states */
};

/* A file whose hunks applied nowhere and were merged three-way, with the blob its index line
 * names as the ancestor (git apply -3). */
struct al_apply_merge {
	char which[16];
	char *file; /* owned */
};

struct al_checkout_opts {
	const char *repo_path; /* a git repository, bare or not */
	const char *base;      /* ref name, short ref or commit id */
	const char *patch;     /* unified diff, git diff / git format-patch */
	size_t patch_len;
	const char *test_patch; /* may be NULL */
	size_t test_patch_len;
	const char *message;   /* candidate commit message */
	long long commit_time; /* seconds since epoch for author and committer */
	/* The tips of the branches a base must be on (commit ids); the base must be one of
	 * them or an ancestor of one. NULL: not checked (n_tips 0 with a non-NULL array
	 * refuses every base). */
	const char *const *tips;
	size_t n_tips;
};

struct al_checkout_result {
	char base_commit[41];
	char base_tree[41];   /* the unmodified base */
	char tested_tree[41]; /* base + test_patch */
	char candidate_commit[41];
	char candidate_tree[41];
	struct al_patch_file *patch_files; /* owned */
	size_t n_patch_files;
	struct al_patch_file *test_files; /* owned */
	size_t n_test_files;
	/* Set when a patch did not apply (return value -ENOEXEC). */
	char fail_which[16]; /* "patch" or "test_patch" */
	char *fail_file;     /* owned */
	int fail_hunk;	     /* 1-based; 0 when the file itself was the problem */
	/* How the patches applied where they did not apply as stated. */
	struct al_apply_offset *offsets; /* owned */
	size_t n_offsets;
	struct al_apply_merge *merged; /* owned */
	size_t n_merged;
};

/* Builds the trees a job tests, as objects only: base, base + test_patch, and the candidate
 * commit (base + test_patch + patch). 0 on success. -ENOENT: base does not resolve to a
 * commit. -EPERM: base is on none of the tips' histories. -EINVAL: base is empty, starts
 * with '-' or holds a control character. -EBADMSG: a patch does not parse, has no files or
 * names an unsafe path (absolute, "..", ".git"). -ENOEXEC: a patch does not apply (fail_*
 * say where; base_commit and the file lists are filled too). Other -errno: I/O. *ret is
 * overwritten on success and on -ENOEXEC, untouched otherwise. A NULL or empty test_patch
 * means none. Only objects are added to the repository: no ref, index or worktree
 * changes. */
int al_checkout_prepare(const struct al_checkout_opts *o, struct al_checkout_result *ret,
			struct al_err *err);
void al_checkout_result_clear(struct al_checkout_result *r);
/* Writes the tree tree_hex of the repository byte for byte into dir, which is created and
 * must not exist (-EEXIST); removed again on failure. Each run is given its own copy, so no
 * run changes what another one tests. */
int al_checkout_write(const char *repo_path, const char *tree_hex, const char *dir,
		      struct al_err *err);
/* The same, with base_dir holding tree base_hex as written, never changed since: what the
 * two trees share is hardlinked from there (each blob is read once across both). */
int al_checkout_write_from(const char *repo_path, const char *tree_hex, const char *dir,
			   const char *base_hex, const char *base_dir, struct al_err *err);
