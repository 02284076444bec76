/* A patch applied to a tree in memory, with the checks that make libgit2 apply what
 * `git apply` applies and refuse what it refuses.
 *
 * libgit2 1.5.1 is lenient where a gate must not be; what this file does about it:
 * - git_apply_to_tree applies a "new file" over an existing one by prepending to it, lets
 *   a new file replace a whole directory (and a new path under a file replace the file),
 *   deletes a file without looking at its content, and takes the mode from the index line
 *   even when it is not the file's mode. Checks before the apply and after it (every
 *   change between the trees is a path the patch names) refuse each of these.
 * - It also gives a file whose delta names no mode (a pure rename) 100644, and in a
 *   format-patch series keeps a file that is modified and later deleted. Both are put
 *   right in the index, so the tree is the one `git apply` makes.
 * - Hunks must match at the line numbers they state: there is no offset search or fuzz.
 *   Hunks are placed here first as git apply places them (runner/hunks.c: the nearest
 *   exact match, no fuzz), and a file whose hunks match nowhere is merged three-way with
 *   the blob its index line names (git apply -3); the patch text then carries hunk
 *   headers that state where each hunk goes, and libgit2 applies that. */
#include "runner/apply.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/macros.h"
#include "runner/hunks.h"
#include "runner/libgit.h"

/* One patch being applied: which of the two, where libgit2 is in it, the paths it names. */
struct apply_ctx {
	const char *which; /* "patch" or "test_patch" */
	const char *text;  /* the patch as given; NULL: its hunks are applied as stated */
	size_t len;
	git_diff *diff;
	size_t deltas_seen;   /* delta_cb calls so far; the current delta is deltas_seen - 1 */
	int hunks_seen;	      /* hunk_cb calls for the current delta */
	const char **touched; /* owned array, borrowed strings: every old and new path, sorted */
	size_t n_touched;
	const char **removed; /* owned array: old paths of deletions and renames, sorted */
	size_t n_removed;
};

/* ---- checks before and after libgit2 applies ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
in_sorted(const char **v, size_t n, const char *s)
{
	return n && bsearch(&s, v, n, sizeof(*v), cmp_str);
}

static void
apply_ctx_done(struct apply_ctx *c)
{
	free(c->touched);
	free(c->removed);
}

static int
apply_ctx_init(struct apply_ctx *c, const char *which, git_diff *diff)
{
	size_t n = git_diff_num_deltas(diff);

	*c = (struct apply_ctx){.which = which, .diff = diff};
	c->touched = calloc(2 * n, sizeof(*c->touched));
	c->removed = calloc(n, sizeof(*c->removed));
	if (!c->touched || !c->removed) {
		apply_ctx_done(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);

		if (d->old_file.path)
			c->touched[c->n_touched++] = d->old_file.path;
		if (d->new_file.path)
			c->touched[c->n_touched++] = d->new_file.path;
		if ((d->status == GIT_DELTA_DELETED || d->status == GIT_DELTA_RENAMED) &&
		    d->old_file.path)
			c->removed[c->n_removed++] = d->old_file.path;
	}
	qsort(c->touched, c->n_touched, sizeof(*c->touched), cmp_str);
	qsort(c->removed, c->n_removed, sizeof(*c->removed), cmp_str);
	return 0;
}

static int
apply_refuse(struct apply_ctx *c, struct al_checkout_result *res, const char *path, int hunk,
	     const char *why, struct al_err *err)
{
	snprintf(res->fail_which, sizeof(res->fail_which), "%s", c->which);
	free(res->fail_file);
	res->fail_file = strdup(path);
	res->fail_hunk = hunk;
	if (!res->fail_file)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (why && hunk > 0)
		return al_err_set(err, -ENOEXEC, "%s does not apply: %s hunk %d: %s", c->which,
				  path, hunk, why);
	if (why)
		return al_err_set(err, -ENOEXEC, "%s does not apply: %s: %s", c->which, path, why);
	return al_err_set(err, -ENOEXEC, "%s does not apply: %s hunk %d", c->which, path, hunk);
}

/* Rebuilds the old side of a text deletion from its hunks and compares it with the blob. */
static int
deleted_text_matches(git_patch *patch, const git_blob *blob)
{
	size_t size = (size_t)git_blob_rawsize(blob);
	struct al_buf b;
	int prev_kept = 0, ok = 1;

	al_buf_init(&b, size);
	for (size_t h = 0; ok && h < git_patch_num_hunks(patch); h++) {
		int lines = git_patch_num_lines_in_hunk(patch, h);

		for (int i = 0; ok && i < lines; i++) {
			const git_diff_line *l;

			if (git_patch_get_line_in_hunk(&l, patch, h, (size_t)i) < 0) {
				ok = 0;
			} else if (l->origin == GIT_DIFF_LINE_DELETION ||
				   l->origin == GIT_DIFF_LINE_CONTEXT) {
				ok = al_buf_append(&b, l->content, l->content_len) == 0;
				prev_kept = 1;
			} else if (l->origin == GIT_DIFF_LINE_DEL_EOFNL ||
				   l->origin == GIT_DIFF_LINE_CONTEXT_EOFNL) {
				/* "\ No newline at end of file" after the line just kept */
				ok = prev_kept && b.len > 0 && b.data[b.len - 1] == '\n';
				if (ok)
					b.len--;
			} else {
				ok = 0; /* a deletion that adds lines */
			}
		}
	}
	ok = ok && b.len == size && (size == 0 || !memcmp(b.data, git_blob_rawcontent(blob), size));
	al_buf_free(&b);
	return ok;
}

static int
deletion_matches(git_repository *repo, git_diff *diff, size_t i, const git_tree_entry *e)
{
	const git_diff_delta *d = git_diff_get_delta(diff, i);
	_cleanup_(al_libgit_patch_freep) git_patch *patch = NULL;
	_cleanup_(al_libgit_blob_freep) git_blob *blob = NULL;

	if (d->flags & GIT_DIFF_FLAG_BINARY) {
		/* no lines to compare: the index line must name the blob */
		size_t n = d->old_file.id_abbrev ? d->old_file.id_abbrev : GIT_OID_HEXSZ;

		if (git_oid_is_zero(&d->old_file.id))
			return 0;
		return git_oid_ncmp(&d->old_file.id, git_tree_entry_id(e), n) == 0;
	}
	if (git_patch_from_diff(&patch, diff, i) < 0 ||
	    git_blob_lookup(&blob, repo, git_tree_entry_id(e)) < 0)
		return -1;
	return deleted_text_matches(patch, blob);
}

/* Whether a delta in [from, to) leaves path behind. In a format-patch series a later delta
 * then works on that result, not on the tree the patch started from. */
static int
writes_path(struct apply_ctx *c, size_t from, size_t to, const char *path)
{
	for (size_t j = from; j < to; j++) {
		const git_diff_delta *d = git_diff_get_delta(c->diff, j);

		if (d->status != GIT_DELTA_DELETED && d->new_file.path &&
		    !strcmp(d->new_file.path, path))
			return 1;
	}
	return 0;
}

static int
removes_path(struct apply_ctx *c, size_t from, size_t to, const char *path)
{
	for (size_t j = from; j < to; j++) {
		const git_diff_delta *d = git_diff_get_delta(c->diff, j);

		if ((d->status == GIT_DELTA_DELETED || d->status == GIT_DELTA_RENAMED) &&
		    d->old_file.path && !strcmp(d->old_file.path, path))
			return 1;
	}
	return 0;
}

/* Whether delta i says the last word on its new path (nothing later in a series rewrites
 * or removes it). */
static int
final_write(struct apply_ctx *c, size_t i)
{
	const git_diff_delta *d = git_diff_get_delta(c->diff, i);
	size_t n = git_diff_num_deltas(c->diff);

	return d->status != GIT_DELTA_DELETED && d->new_file.path &&
	       !writes_path(c, i + 1, n, d->new_file.path) &&
	       !removes_path(c, i + 1, n, d->new_file.path);
}

/* What git apply refuses and libgit2 does not: a missing source, an existing target, and a
 * deletion whose content is not what the patch says. */
static int
precheck_delta(struct apply_ctx *c, git_repository *repo, git_tree *pre, size_t i,
	       struct al_checkout_result *res, struct al_err *err)
{
	const git_diff_delta *d = git_diff_get_delta(c->diff, i);
	_cleanup_(al_libgit_tree_entry_freep) git_tree_entry *e = NULL;
	int r;

	if (d->status == GIT_DELTA_ADDED || d->status == GIT_DELTA_COPIED ||
	    d->status == GIT_DELTA_RENAMED) {
		r = git_tree_entry_bypath(&e, pre, d->new_file.path);
		if (r == 0 && !in_sorted(c->removed, c->n_removed, d->new_file.path))
			return apply_refuse(c, res, d->new_file.path, 0, "already exists", err);
		if (r < 0 && r != GIT_ENOTFOUND)
			return al_libgit_fail(err, r, c->which);
		git_tree_entry_free(steal_pointer(&e));
	}
	if (d->status == GIT_DELTA_ADDED || writes_path(c, 0, i, d->old_file.path))
		return 0;
	r = git_tree_entry_bypath(&e, pre, d->old_file.path);
	if (r == GIT_ENOTFOUND || (r == 0 && git_tree_entry_type(e) != GIT_OBJECT_BLOB))
		return apply_refuse(c, res, d->old_file.path, 0, "does not exist", err);
	if (r < 0)
		return al_libgit_fail(err, r, c->which);
	if (d->old_file.mode && d->old_file.mode != (uint32_t)git_tree_entry_filemode(e)) {
		char why[96];

		snprintf(why, sizeof(why), "mode is %o, the patch expects %o",
			 (unsigned)git_tree_entry_filemode(e), (unsigned)d->old_file.mode);
		return apply_refuse(c, res, d->old_file.path, 0, why, err);
	}
	if (d->status != GIT_DELTA_DELETED)
		return 0;
	r = deletion_matches(repo, c->diff, i, e);
	if (r < 0)
		return al_libgit_fail(err, r, c->which);
	if (r == 0)
		return apply_refuse(c, res, d->old_file.path, 0,
				    "deleted file does not match the patch", err);
	return 0;
}

/* ---- placing hunks: offsets and three-way merges ---- */

/* One file's hunks as plain structs, from libgit2's parse of the patch. */
struct file_hunks {
	struct al_hunk *h;	    /* owned */
	struct al_hunk_line *lines; /* owned; h[k].lines point into it */
	size_t n;
};

static void
file_hunks_done(struct file_hunks *f)
{
	free(f->h);
	free(f->lines);
}

/* -EINVAL for a line libgit2 gives that a text hunk does not hold. */
static int
file_hunks_init(struct file_hunks *f, git_patch *patch)
{
	size_t n = git_patch_num_hunks(patch), total = 0, at = 0;

	*f = (struct file_hunks){.n = n};
	for (size_t k = 0; k < n; k++)
		total += (size_t)git_patch_num_lines_in_hunk(patch, k);
	f->h = calloc(n ? n : 1, sizeof(*f->h));
	f->lines = calloc(total ? total : 1, sizeof(*f->lines));
	if (!f->h || !f->lines)
		return -ENOMEM;
	for (size_t k = 0; k < n; k++) {
		const git_diff_hunk *gh;
		size_t lines, first = at;

		if (git_patch_get_hunk(&gh, &lines, patch, k) < 0)
			return -EINVAL;
		f->h[k] = (struct al_hunk){.old_start = gh->old_start, .old_count = gh->old_lines};
		for (size_t i = 0; i < lines; i++) {
			const git_diff_line *l;
			struct al_hunk_line *o = &f->lines[at];

			if (at >= total || git_patch_get_line_in_hunk(&l, patch, k, i) < 0)
				return -EINVAL;
			if (l->origin == GIT_DIFF_LINE_CONTEXT_EOFNL ||
			    l->origin == GIT_DIFF_LINE_ADD_EOFNL ||
			    l->origin == GIT_DIFF_LINE_DEL_EOFNL) {
				/* "\ No newline at end of file" after the line before */
				if (at == first)
					return -EINVAL;
				f->lines[at - 1].no_eol = 1;
				continue;
			}
			if (l->origin != GIT_DIFF_LINE_CONTEXT &&
			    l->origin != GIT_DIFF_LINE_ADDITION &&
			    l->origin != GIT_DIFF_LINE_DELETION)
				return -EINVAL;
			o->origin = l->origin == GIT_DIFF_LINE_CONTEXT ? ' ' : (char)l->origin;
			o->text = l->content;
			o->len = l->content_len;
			/* libgit2's own apply may already have cut the newline of a marked line */
			o->no_eol = !(o->len && o->text[o->len - 1] == '\n');
			if (!o->no_eol)
				o->len--;
			at++;
		}
		f->h[k].lines = &f->lines[first];
		f->h[k].n_lines = at - first;
	}
	return 0;
}

static int
note_offset(struct al_checkout_result *res, const char *which, const char *file, size_t hunk,
	    long offset)
{
	struct al_apply_offset *v = realloc(res->offsets, (res->n_offsets + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	res->offsets = v;
	v += res->n_offsets;
	*v = (struct al_apply_offset){.file = strdup(file), .hunk = (int)hunk, .offset = offset};
	if (!v->file)
		return -ENOMEM;
	snprintf(v->which, sizeof(v->which), "%s", which);
	res->n_offsets++;
	return 0;
}

static int
note_merge(struct al_checkout_result *res, const char *which, const char *file)
{
	struct al_apply_merge *v = realloc(res->merged, (res->n_merged + 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	res->merged = v;
	v += res->n_merged;
	*v = (struct al_apply_merge){.file = strdup(file)};
	if (!v->file)
		return -ENOMEM;
	snprintf(v->which, sizeof(v->which), "%s", which);
	res->n_merged++;
	return 0;
}

/* Whether delta i is a text change of a file that no other delta of the patch names: a
 * path a series touches twice is applied as it states (a later delta works on an earlier
 * one's result, which the tree does not hold). */
static int
placeable(struct apply_ctx *c, git_tree *pre, size_t i)
{
	const git_diff_delta *d = git_diff_get_delta(c->diff, i);
	_cleanup_(al_libgit_tree_entry_freep) git_tree_entry *e = NULL;
	git_filemode_t mode;

	if ((d->status != GIT_DELTA_MODIFIED && d->status != GIT_DELTA_RENAMED &&
	     d->status != GIT_DELTA_COPIED) ||
	    (d->flags & GIT_DIFF_FLAG_BINARY) || !d->old_file.path || !d->new_file.path)
		return 0;
	for (size_t j = 0; j < git_diff_num_deltas(c->diff); j++) {
		const git_diff_delta *o = git_diff_get_delta(c->diff, j);
		const char *p[2] = {o->old_file.path, o->new_file.path};

		for (int k = 0; j != i && k < 2; k++)
			if (p[k] &&
			    (!strcmp(p[k], d->old_file.path) || !strcmp(p[k], d->new_file.path)))
				return 0;
	}
	if (git_tree_entry_bypath(&e, pre, d->old_file.path) < 0)
		return 0;
	mode = git_tree_entry_filemode(e);
	return mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE;
}

/* The blob the index line names as the file's old content, if the repository has it. */
static int
index_blob(git_repository *repo, const git_diff_delta *d, git_blob **ret)
{
	size_t n = d->old_file.id_abbrev ? d->old_file.id_abbrev : GIT_OID_HEXSZ;

	if (git_oid_is_zero(&d->old_file.id) || n < GIT_OID_MINPREFIXLEN)
		return -ENOENT;
	return git_object_lookup_prefix((git_object **)ret, repo, &d->old_file.id, n,
					GIT_OBJECT_BLOB) < 0
		   ? -ENOENT
		   : 0;
}

/* One file's place in a three-way merge: ancestor, ours, theirs. */
static void
merge_input(git_merge_file_input *in, const char *p, size_t n, const char *path)
{
	git_merge_file_input_init(in, GIT_MERGE_FILE_INPUT_VERSION);
	in->ptr = p;
	in->size = n;
	in->path = path;
}

/* git apply -3: the ancestor is the blob the index line names, theirs the ancestor with
 * the hunks applied, ours the file as it is. A clean merge's hunk goes into out. */
static int
merge_delta(struct apply_ctx *c, git_repository *repo, size_t i, struct file_hunks *f,
	    const git_blob *ours, size_t failed, int gave_up, struct al_buf *out,
	    struct al_checkout_result *res, struct al_err *err)
{
	const git_diff_delta *d = git_diff_get_delta(c->diff, i);
	const char *path = al_libgit_delta_path(d);
	_cleanup_(al_libgit_blob_freep) git_blob *anc = NULL;
	_cleanup_free_ long *pos = calloc(f->n ? f->n : 1, sizeof(*pos));
	git_merge_file_input in[3];
	git_merge_file_result mr = {0};
	struct al_buf theirs;
	size_t budget = AL_HUNKS_BUDGET, k;
	int r;

	if (!pos)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (index_blob(repo, d, &anc) < 0 ||
	    al_hunks_place(git_blob_rawcontent(anc), (size_t)git_blob_rawsize(anc), f->h, f->n,
			   &budget, pos, &k) < 0)
		return apply_refuse(c, res, path, (int)failed + 1,
				    gave_up ? "no match within the search budget" : NULL, err);
	al_buf_init(&theirs, SIZE_MAX / 2);
	r = al_hunks_apply(git_blob_rawcontent(anc), (size_t)git_blob_rawsize(anc), f->h, f->n, pos,
			   &theirs);
	merge_input(&in[0], git_blob_rawcontent(anc), (size_t)git_blob_rawsize(anc), path);
	merge_input(&in[1], git_blob_rawcontent(ours), (size_t)git_blob_rawsize(ours), path);
	merge_input(&in[2], theirs.data ? theirs.data : "", theirs.len, path);
	if (r == 0)
		r = git_merge_file(&mr, &in[0], &in[1], &in[2], NULL) < 0 ? -EIO : 0;
	al_buf_free(&theirs);
	if (r < 0) {
		git_merge_file_result_free(&mr);
		return r == -EIO ? al_libgit_fail(err, GIT_ERROR, c->which)
				 : al_err_set(err, r, "%s: out of memory", c->which);
	}
	if (!mr.automergeable) {
		git_merge_file_result_free(&mr);
		return apply_refuse(c, res, path, (int)failed + 1,
				    "conflicts with the base (three-way merge)", err);
	}
	r = al_hunks_emit_replace(out, git_blob_rawcontent(ours), (size_t)git_blob_rawsize(ours),
				  mr.ptr ? mr.ptr : "", mr.len);
	git_merge_file_result_free(&mr);
	if (r == 0)
		r = note_merge(res, c->which, path);
	return r < 0 ? al_err_set(err, r, "%s: out of memory", c->which) : 1;
}

/* Delta i's hunks where they apply: 0 when they apply as stated (the patch text stays),
 * 1 when out holds the hunks to use instead, -ENOEXEC (refused) or another -errno. */
static int
place_delta(struct apply_ctx *c, git_repository *repo, git_tree *pre, size_t i, size_t *budget,
	    struct al_buf *out, struct al_checkout_result *res, struct al_err *err)
{
	const git_diff_delta *d = git_diff_get_delta(c->diff, i);
	_cleanup_(al_libgit_patch_freep) git_patch *patch = NULL;
	_cleanup_(al_libgit_tree_entry_freep) git_tree_entry *e = NULL;
	_cleanup_(al_libgit_blob_freep) git_blob *ours = NULL;
	_cleanup_free_ long *pos = NULL;
	struct file_hunks f;
	size_t failed = 0, moved = 0;
	int r;

	if (!placeable(c, pre, i))
		return 0;
	if ((r = git_patch_from_diff(&patch, c->diff, i)) < 0 ||
	    (r = git_tree_entry_bypath(&e, pre, d->old_file.path)) < 0 ||
	    (r = git_blob_lookup(&ours, repo, git_tree_entry_id(e))) < 0)
		return al_libgit_fail(err, r, c->which);
	r = file_hunks_init(&f, patch);
	pos = calloc(f.n ? f.n : 1, sizeof(*pos));
	if (r == 0 && !pos)
		r = -ENOMEM;
	if (r == 0)
		r = al_hunks_place(git_blob_rawcontent(ours), (size_t)git_blob_rawsize(ours), f.h,
				   f.n, budget, pos, &failed);
	if (r == -ESRCH || r == -E2BIG)
		r = merge_delta(c, repo, i, &f, ours, failed, r == -E2BIG, out, res, err);
	else if (r == 0) {
		for (size_t k = 0; r == 0 && k < f.n; k++)
			if (pos[k] != al_hunks_stated(&f.h[k]) && ++moved)
				r = note_offset(res, c->which, al_libgit_delta_path(d), k + 1,
						pos[k] - al_hunks_stated(&f.h[k]));
		if (r == 0 && moved)
			r = al_hunks_emit(out, f.h, f.n, pos);
		if (r == 0)
			r = moved ? 1 : 0;
		else
			r = al_err_set(err, r, "%s: out of memory", c->which);
	} else if (r == -EINVAL) {
		r = 0; /* not a text hunk this file knows: libgit2 applies it as stated */
	} else if (r < 0) {
		r = al_err_set(err, r, "%s: out of memory", c->which);
	}
	file_hunks_done(&f);
	return r;
}

/* Whether the text's file parts are libgit2's deltas, hunks where it found hunks. */
static int
sections_agree(struct apply_ctx *c, const struct al_patch_section *sec, size_t n_sec)
{
	if (n_sec != git_diff_num_deltas(c->diff))
		return 0;
	for (size_t i = 0; i < n_sec; i++) {
		_cleanup_(al_libgit_patch_freep) git_patch *patch = NULL;

		if (git_patch_from_diff(&patch, c->diff, i) < 0 ||
		    (git_patch_num_hunks(patch) > 0) != (sec[i].hunks < sec[i].end))
			return 0;
	}
	return 1;
}

/* Whether two parses name the same files the same way. */
static int
same_deltas(git_diff *a, git_diff *b)
{
	if (git_diff_num_deltas(a) != git_diff_num_deltas(b))
		return 0;
	for (size_t i = 0; i < git_diff_num_deltas(a); i++) {
		const git_diff_delta *x = git_diff_get_delta(a, i), *y = git_diff_get_delta(b, i);

		if (x->status != y->status ||
		    (x->flags & GIT_DIFF_FLAG_BINARY) != (y->flags & GIT_DIFF_FLAG_BINARY) ||
		    x->old_file.mode != y->old_file.mode || x->new_file.mode != y->new_file.mode ||
		    !x->old_file.path != !y->old_file.path ||
		    !x->new_file.path != !y->new_file.path ||
		    (x->old_file.path && strcmp(x->old_file.path, y->old_file.path)) ||
		    (x->new_file.path && strcmp(x->new_file.path, y->new_file.path)))
			return 0;
	}
	return 1;
}

/* The file parts of the patch in order, each with its own hunks or the ones placed. */
static int
rewrite_patch(struct apply_ctx *c, git_repository *repo, git_tree *pre,
	      const struct al_patch_section *sec, struct al_buf *out, int *changed,
	      struct al_checkout_result *res, struct al_err *err)
{
	size_t budget = AL_HUNKS_BUDGET;
	int r = al_buf_append(out, c->text, sec[0].start);

	for (size_t i = 0; r == 0 && i < git_diff_num_deltas(c->diff); i++) {
		struct al_buf h;

		al_buf_init(&h, SIZE_MAX / 2);
		r = place_delta(c, repo, pre, i, &budget, &h, res, err);
		if (r == 1) {
			*changed = 1;
			r = al_buf_append(out, c->text + sec[i].start, sec[i].hunks - sec[i].start);
			if (r == 0)
				r = al_buf_append(out, h.data ? h.data : "", h.len);
		} else if (r == 0) {
			r = al_buf_append(out, c->text + sec[i].start, sec[i].end - sec[i].start);
		} else {
			al_buf_free(&h);
			return r;
		}
		al_buf_free(&h);
	}
	return r < 0 ? al_err_set(err, r, "%s: out of memory", c->which) : 0;
}

/* The patch with every hunk where it applies, parsed again; *ret stays NULL when each
 * applies where it says. Where libgit2's parse and the text's file parts disagree, the
 * patch is left to libgit2 as it is. */
static int
place_hunks(struct apply_ctx *c, git_repository *repo, git_tree *pre, git_diff **ret,
	    struct al_checkout_result *res, struct al_err *err)
{
	_cleanup_free_ struct al_patch_section *sec = NULL;
	_cleanup_(al_libgit_diff_freep) git_diff *placed = NULL;
	size_t n_sec = 0;
	struct al_buf out;
	int changed = 0, r;

	if (!c->text)
		return 0;
	r = al_hunks_sections(c->text, c->len, &sec, &n_sec);
	if (r < 0)
		return al_err_set(err, r, "out of memory");
	if (n_sec == 0 || !sections_agree(c, sec, n_sec))
		return 0;
	al_buf_init(&out, SIZE_MAX / 2);
	r = rewrite_patch(c, repo, pre, sec, &out, &changed, res, err);
	if (r == 0 && changed && git_diff_from_buffer(&placed, out.data, out.len) < 0)
		r = al_libgit_fail(err, GIT_ERROR, c->which);
	al_buf_free(&out);
	if (r < 0 || !changed)
		return r;
	if (!same_deltas(c->diff, placed))
		return al_err_set(err, -EIO, "%s: the placed hunks do not parse as the patch did",
				  c->which);
	*ret = steal_pointer(&placed);
	return 0;
}

static int
on_delta(const git_diff_delta *delta, void *payload)
{
	struct apply_ctx *c = payload;

	(void)delta;
	c->deltas_seen++;
	c->hunks_seen = 0;
	return 0;
}

static int
on_hunk(const git_diff_hunk *hunk, void *payload)
{
	struct apply_ctx *c = payload;

	(void)hunk;
	c->hunks_seen++;
	return 0;
}

/* The first named path that is a directory prefix of p, or p is one of; else p itself. */
static const char *
blame_path(struct apply_ctx *c, const char *p)
{
	size_t lp = strlen(p);

	for (size_t i = 0; i < c->n_touched; i++) {
		const char *t = c->touched[i];
		size_t lt = strlen(t);

		if ((lt < lp && !strncmp(p, t, lt) && p[lt] == '/') ||
		    (lp < lt && !strncmp(t, p, lp) && t[lp] == '/'))
			return t;
	}
	return p;
}

/* libgit2 resolves file/directory collisions by dropping entries. Refuse any change
 * between the trees that the patch does not name, and any named result that is missing. */
static int
postcheck(struct apply_ctx *c, git_repository *repo, git_tree *pre, git_tree *post,
	  struct al_checkout_result *res, struct al_err *err)
{
	_cleanup_(al_libgit_diff_freep) git_diff *changes = NULL;
	int r = git_diff_tree_to_tree(&changes, repo, pre, post, NULL);

	if (r < 0)
		return al_libgit_fail(err, r, c->which);
	for (size_t i = 0; i < git_diff_num_deltas(changes); i++) {
		const char *p = al_libgit_delta_path(git_diff_get_delta(changes, i));
		char why[256];

		if (in_sorted(c->touched, c->n_touched, p))
			continue;
		snprintf(why, sizeof(why), "would also change '%s'", p);
		return apply_refuse(c, res, blame_path(c, p), 0, why, err);
	}
	for (size_t i = 0; i < git_diff_num_deltas(c->diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(c->diff, i);
		_cleanup_(al_libgit_tree_entry_freep) git_tree_entry *e = NULL;
		unsigned old_mode, new_mode;

		if ((d->status == GIT_DELTA_DELETED || d->status == GIT_DELTA_RENAMED) &&
		    !writes_path(c, i + 1, git_diff_num_deltas(c->diff), d->old_file.path) &&
		    git_tree_entry_bypath(&e, post, d->old_file.path) == 0)
			return apply_refuse(c, res, d->old_file.path, 0,
					    "still there after the patch removes it", err);
		if (!final_write(c, i))
			continue;
		al_libgit_delta_modes(d, pre, &old_mode, &new_mode);
		r = git_tree_entry_bypath(&e, post, d->new_file.path);
		if (r == 0 && new_mode && git_tree_entry_filemode(e) != new_mode)
			r = GIT_ENOTFOUND;
		if (r == GIT_ENOTFOUND)
			return apply_refuse(c, res, d->new_file.path, 0,
					    "collides with another path in the patch", err);
		if (r < 0)
			return al_libgit_fail(err, r, c->which);
	}
	return 0;
}

/* Two libgit2 slips, put right so the tree is the one git apply makes:
 * - a file the patch names no mode for becomes 100644 (a renamed script loses its
 *   executable bit); it keeps the mode it had;
 * - a path modified and later deleted in one series is read back from the old tree and
 *   survives; it is removed. */
static int
fix_index(struct apply_ctx *c, git_tree *pre, git_index *idx)
{
	size_t n = git_diff_num_deltas(c->diff);

	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(c->diff, i);
		const git_index_entry *e;
		git_index_entry fixed;
		unsigned old_mode, new_mode;
		int r;

		if ((d->status == GIT_DELTA_DELETED || d->status == GIT_DELTA_RENAMED) &&
		    writes_path(c, 0, i, d->old_file.path) &&
		    !writes_path(c, i + 1, n, d->old_file.path) &&
		    git_index_get_bypath(idx, d->old_file.path, 0)) {
			r = git_index_remove_bypath(idx, d->old_file.path);
			if (r < 0)
				return r;
		}
		if (d->new_file.mode || !final_write(c, i))
			continue;
		al_libgit_delta_modes(d, pre, &old_mode, &new_mode);
		e = git_index_get_bypath(idx, d->new_file.path, 0);
		if (!e || !new_mode || e->mode == new_mode)
			continue;
		fixed = *e;
		fixed.mode = new_mode;
		r = git_index_add(idx, &fixed);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
apply_to(struct apply_ctx *c, git_repository *repo, git_tree *pre, git_tree **ret,
	 struct al_checkout_result *res, struct al_err *err)
{
	git_apply_options ao;
	_cleanup_(al_libgit_index_freep) git_index *idx = NULL;
	_cleanup_(al_libgit_tree_freep) git_tree *post = NULL;
	_cleanup_(al_libgit_diff_freep) git_diff *placed = NULL;
	git_oid id;
	int r;

	for (size_t i = 0; i < git_diff_num_deltas(c->diff); i++) {
		r = precheck_delta(c, repo, pre, i, res, err);
		if (r < 0)
			return r;
	}
	r = place_hunks(c, repo, pre, &placed, res, err);
	if (r < 0)
		return r;
	/* the same files, modes and paths: every check below holds for what is applied */
	if (placed)
		c->diff = placed;
	r = git_apply_options_init(&ao, GIT_APPLY_OPTIONS_VERSION);
	if (r < 0)
		return al_libgit_fail(err, r, c->which);
	ao.delta_cb = on_delta;
	ao.hunk_cb = on_hunk;
	ao.payload = c;
	r = git_apply_to_tree(&idx, repo, pre, c->diff, &ao);
	if (r < 0) {
		const git_error *e = git_error_last();

		if (e && e->klass == GIT_ERROR_NOMEMORY)
			return al_err_set(err, -ENOMEM, "%s: out of memory", c->which);
		if (c->deltas_seen == 0)
			return apply_refuse(c, res,
					    al_libgit_delta_path(git_diff_get_delta(c->diff, 0)), 0,
					    al_libgit_msg(), err);
		return apply_refuse(
		    c, res, al_libgit_delta_path(git_diff_get_delta(c->diff, c->deltas_seen - 1)),
		    c->hunks_seen, c->hunks_seen ? NULL : al_libgit_msg(), err);
	}
	r = fix_index(c, pre, idx);
	if (r == 0)
		r = git_index_write_tree_to(&id, idx, repo);
	if (r == 0)
		r = git_tree_lookup(&post, repo, &id);
	if (r < 0)
		return al_libgit_fail(err, r, c->which);
	r = postcheck(c, repo, pre, post, res, err);
	if (r < 0)
		return r;
	*ret = steal_pointer(&post);
	return 0;
}

int
al_apply_patch(const char *which, const char *text, size_t len, git_diff *diff,
	       git_repository *repo, git_tree *pre, git_tree **ret, struct al_checkout_result *res,
	       struct al_err *err)
{
	struct apply_ctx c;
	int r = apply_ctx_init(&c, which, diff);

	if (r < 0)
		return al_err_set(err, r, "out of memory");
	c.text = text;
	c.len = len;
	r = apply_to(&c, repo, pre, ret, res, err);
	apply_ctx_done(&c);
	return r;
}
