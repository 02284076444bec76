/* The libgit2 adapter: resolve the base, apply test_patch and patch in memory, record the
 * candidate commit, and write a tree into a fresh directory for each run.
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
 *   headers that state where each hunk goes, and libgit2 applies that.
 * - git_checkout_tree applies the host worktree's .gitattributes (ident, eol) even with
 *   target_directory, so the bytes on disk would differ from the tree a grant names.
 *   Trees are written here instead, byte for byte, with *at() calls relative to
 *   directory fds opened O_NOFOLLOW, so no symlink is ever followed.
 * git_diff_from_buffer skips everything before the first "diff --git" and stops each hunk
 * at its line counts, so `git format-patch` mail headers and the "-- " signature parse as
 * they are. */
#include "runner/checkout.h"

#include <errno.h>
#include <fcntl.h>
#include <git2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/hunks.h"

#define AL_TREE_DEPTH_MAX 256
#define AL_SYMLINK_TARGET_MAX 4095
#define AL_DEFAULT_MESSAGE "airlock candidate\n"
#define AL_SIG_NAME "airlock"
#define AL_SIG_EMAIL "airlock@localhost"

#define AL_DEFINE_GIT_FREEP(name, type, fn) \
	static void name(type **p)          \
	{                                   \
		fn(*p);                     \
	}

AL_DEFINE_GIT_FREEP(object_freep, git_object, git_object_free)
AL_DEFINE_GIT_FREEP(tree_freep, git_tree, git_tree_free)
AL_DEFINE_GIT_FREEP(tree_entry_freep, git_tree_entry, git_tree_entry_free)
AL_DEFINE_GIT_FREEP(blob_freep, git_blob, git_blob_free)
AL_DEFINE_GIT_FREEP(diff_freep, git_diff, git_diff_free)
AL_DEFINE_GIT_FREEP(patch_freep, git_patch, git_patch_free)
AL_DEFINE_GIT_FREEP(index_freep, git_index, git_index_free)
AL_DEFINE_GIT_FREEP(signature_freep, git_signature, git_signature_free)

static void
libgit2_shutdownp(int *initialized)
{
	if (*initialized > 0)
		git_libgit2_shutdown();
}

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

static const char *
lg_msg(void)
{
	const git_error *e = git_error_last();

	return e && e->message ? e->message : "unknown libgit2 error";
}

static int
lg_errno(int gerr)
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

static int
lg_fail(struct al_err *err, int gerr, const char *what)
{
	return al_err_set(err, lg_errno(gerr), "%s: %s", what, lg_msg());
}

static void
oid_hex(char out[41], const git_oid *id)
{
	git_oid_tostr(out, 41, id);
}

/* The path a delta is known by: the old one for a deletion, else the new one. */
static const char *
delta_path(const git_diff_delta *d)
{
	const char *p = d->status == GIT_DELTA_DELETED ? d->old_file.path : d->new_file.path;

	if (!p)
		p = d->old_file.path ? d->old_file.path : d->new_file.path;
	return p ? p : "";
}

/* ---- base ---- */

static int
check_base_spelling(const char *base, struct al_err *err)
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

static int
resolve_base(git_repository *repo, const char *base, git_commit **ret, struct al_err *err)
{
	_cleanup_(object_freep) git_object *obj = NULL;
	git_object *peeled = NULL;

	if (git_revparse_single(&obj, repo, base) < 0 ||
	    git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT) < 0)
		return al_err_set(err, -ENOENT, "base '%s' does not resolve to a commit", base);
	*ret = (git_commit *)peeled;
	return 0;
}

/* ---- parsing ---- */

/* A path component that must never be written: empty, ".", "..", or any spelling of .git. */
static int
component_unsafe(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '.') || (n == 2 && !memcmp(s, "..", 2)) ||
	       (n == 4 && !strncasecmp(s, ".git", 4));
}

static int
path_unsafe(const char *path)
{
	const char *s = path;

	if (!path || !path[0] || path[0] == '/')
		return 1;
	for (;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);

		if (component_unsafe(s, n))
			return 1;
		if (!slash)
			return 0;
		s = slash + 1;
	}
}

static int
parse_patch(const char *which, const char *text, size_t len, git_diff **ret, struct al_err *err)
{
	_cleanup_(diff_freep) git_diff *diff = NULL;

	if (!text || len == 0)
		return al_err_set(err, -EBADMSG, "%s: no changes", which);
	if (git_diff_from_buffer(&diff, text, len) < 0) {
		const git_error *e = git_error_last();

		if (e && e->klass == GIT_ERROR_NOMEMORY)
			return al_err_set(err, -ENOMEM, "%s: out of memory", which);
		return al_err_set(err, -EBADMSG, "%s: %s", which, lg_msg());
	}
	if (git_diff_num_deltas(diff) == 0)
		return al_err_set(err, -EBADMSG, "%s: no changes", which);
	for (size_t i = 0; i < git_diff_num_deltas(diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);

		if ((!d->old_file.path && !d->new_file.path) ||
		    (d->old_file.path && path_unsafe(d->old_file.path)) ||
		    (d->new_file.path && path_unsafe(d->new_file.path)))
			return al_err_set(err, -EBADMSG, "%s: unsafe path '%s'", which,
					  delta_path(d));
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

/* The modes a delta means. A pure rename, or a patch without an index line, carries none:
 * the file keeps the mode it has in the tree the patch applies to (git's rule too). */
static void
delta_modes(const git_diff_delta *d, git_tree *pre, unsigned *ret_old, unsigned *ret_new)
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

static int
list_files(git_diff *diff, git_tree *pre, struct al_patch_file **ret, size_t *ret_n)
{
	size_t n = git_diff_num_deltas(diff);
	struct al_patch_file *f = calloc(n ? n : 1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		const char *path = delta_path(d);
		const char *old = d->old_file.path ? d->old_file.path : path;

		f[i].path = strdup(path);
		f[i].old_path = strdup(old);
		if (!f[i].path || !f[i].old_path) {
			patch_files_free(f, n);
			return -ENOMEM;
		}
		f[i].status = git_diff_status_char(d->status);
		delta_modes(d, pre, &f[i].old_mode, &f[i].new_mode);
		f[i].binary = !!(d->flags & GIT_DIFF_FLAG_BINARY);
	}
	*ret = f;
	*ret_n = n;
	return 0;
}

/* ---- applying ---- */

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
	_cleanup_(patch_freep) git_patch *patch = NULL;
	_cleanup_(blob_freep) git_blob *blob = NULL;

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
	_cleanup_(tree_entry_freep) git_tree_entry *e = NULL;
	int r;

	if (d->status == GIT_DELTA_ADDED || d->status == GIT_DELTA_COPIED ||
	    d->status == GIT_DELTA_RENAMED) {
		r = git_tree_entry_bypath(&e, pre, d->new_file.path);
		if (r == 0 && !in_sorted(c->removed, c->n_removed, d->new_file.path))
			return apply_refuse(c, res, d->new_file.path, 0, "already exists", err);
		if (r < 0 && r != GIT_ENOTFOUND)
			return lg_fail(err, r, c->which);
		git_tree_entry_free(steal_pointer(&e));
	}
	if (d->status == GIT_DELTA_ADDED || writes_path(c, 0, i, d->old_file.path))
		return 0;
	r = git_tree_entry_bypath(&e, pre, d->old_file.path);
	if (r == GIT_ENOTFOUND || (r == 0 && git_tree_entry_type(e) != GIT_OBJECT_BLOB))
		return apply_refuse(c, res, d->old_file.path, 0, "does not exist", err);
	if (r < 0)
		return lg_fail(err, r, c->which);
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
		return lg_fail(err, r, c->which);
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
	_cleanup_(tree_entry_freep) git_tree_entry *e = NULL;
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
	const char *path = delta_path(d);
	_cleanup_(blob_freep) git_blob *anc = NULL;
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
		return r == -EIO ? lg_fail(err, GIT_ERROR, c->which)
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
	_cleanup_(patch_freep) git_patch *patch = NULL;
	_cleanup_(tree_entry_freep) git_tree_entry *e = NULL;
	_cleanup_(blob_freep) git_blob *ours = NULL;
	_cleanup_free_ long *pos = NULL;
	struct file_hunks f;
	size_t failed = 0, moved = 0;
	int r;

	if (!placeable(c, pre, i))
		return 0;
	if ((r = git_patch_from_diff(&patch, c->diff, i)) < 0 ||
	    (r = git_tree_entry_bypath(&e, pre, d->old_file.path)) < 0 ||
	    (r = git_blob_lookup(&ours, repo, git_tree_entry_id(e))) < 0)
		return lg_fail(err, r, c->which);
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
				r = note_offset(res, c->which, delta_path(d), k + 1,
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
		_cleanup_(patch_freep) git_patch *patch = NULL;

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
	_cleanup_(diff_freep) git_diff *placed = NULL;
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
		r = lg_fail(err, GIT_ERROR, c->which);
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
	_cleanup_(diff_freep) git_diff *changes = NULL;
	int r = git_diff_tree_to_tree(&changes, repo, pre, post, NULL);

	if (r < 0)
		return lg_fail(err, r, c->which);
	for (size_t i = 0; i < git_diff_num_deltas(changes); i++) {
		const char *p = delta_path(git_diff_get_delta(changes, i));
		char why[256];

		if (in_sorted(c->touched, c->n_touched, p))
			continue;
		snprintf(why, sizeof(why), "would also change '%s'", p);
		return apply_refuse(c, res, blame_path(c, p), 0, why, err);
	}
	for (size_t i = 0; i < git_diff_num_deltas(c->diff); i++) {
		const git_diff_delta *d = git_diff_get_delta(c->diff, i);
		_cleanup_(tree_entry_freep) git_tree_entry *e = NULL;
		unsigned old_mode, new_mode;

		if ((d->status == GIT_DELTA_DELETED || d->status == GIT_DELTA_RENAMED) &&
		    !writes_path(c, i + 1, git_diff_num_deltas(c->diff), d->old_file.path) &&
		    git_tree_entry_bypath(&e, post, d->old_file.path) == 0)
			return apply_refuse(c, res, d->old_file.path, 0,
					    "still there after the patch removes it", err);
		if (!final_write(c, i))
			continue;
		delta_modes(d, pre, &old_mode, &new_mode);
		r = git_tree_entry_bypath(&e, post, d->new_file.path);
		if (r == 0 && new_mode && git_tree_entry_filemode(e) != new_mode)
			r = GIT_ENOTFOUND;
		if (r == GIT_ENOTFOUND)
			return apply_refuse(c, res, d->new_file.path, 0,
					    "collides with another path in the patch", err);
		if (r < 0)
			return lg_fail(err, r, c->which);
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
		delta_modes(d, pre, &old_mode, &new_mode);
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
	_cleanup_(index_freep) git_index *idx = NULL;
	_cleanup_(tree_freep) git_tree *post = NULL;
	_cleanup_(diff_freep) git_diff *placed = NULL;
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
		return lg_fail(err, r, c->which);
	ao.delta_cb = on_delta;
	ao.hunk_cb = on_hunk;
	ao.payload = c;
	r = git_apply_to_tree(&idx, repo, pre, c->diff, &ao);
	if (r < 0) {
		const git_error *e = git_error_last();

		if (e && e->klass == GIT_ERROR_NOMEMORY)
			return al_err_set(err, -ENOMEM, "%s: out of memory", c->which);
		if (c->deltas_seen == 0)
			return apply_refuse(c, res, delta_path(git_diff_get_delta(c->diff, 0)), 0,
					    lg_msg(), err);
		return apply_refuse(c, res,
				    delta_path(git_diff_get_delta(c->diff, c->deltas_seen - 1)),
				    c->hunks_seen, c->hunks_seen ? NULL : lg_msg(), err);
	}
	r = fix_index(c, pre, idx);
	if (r == 0)
		r = git_index_write_tree_to(&id, idx, repo);
	if (r == 0)
		r = git_tree_lookup(&post, repo, &id);
	if (r < 0)
		return lg_fail(err, r, c->which);
	r = postcheck(c, repo, pre, post, res, err);
	if (r < 0)
		return r;
	*ret = steal_pointer(&post);
	return 0;
}

static int
apply_patch(const char *which, const char *text, size_t len, git_diff *diff, git_repository *repo,
	    git_tree *pre, git_tree **ret, struct al_checkout_result *res, struct al_err *err)
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

/* ---- the candidate commit ---- */

static int
make_commit(git_repository *repo, git_commit *parent, git_tree *tree,
	    const struct al_checkout_opts *o, git_oid *ret, struct al_err *err)
{
	_cleanup_(signature_freep) git_signature *sig = NULL;
	const git_commit *parents[1] = {parent};
	const char *msg = o->message && o->message[0] ? o->message : AL_DEFAULT_MESSAGE;
	int r;

	r = git_signature_new(&sig, AL_SIG_NAME, AL_SIG_EMAIL, (git_time_t)o->commit_time, 0);
	if (r < 0)
		return lg_fail(err, r, "commit signature");
	/* update_ref NULL: the object is written, no ref moves */
	r = git_commit_create(ret, repo, NULL, sig, sig, NULL, msg, tree, 1, parents);
	if (r < 0)
		return lg_fail(err, r, "create commit");
	return 0;
}

/* ---- writing trees ---- */

struct writer {
	git_repository *repo;
	struct al_err *err;
};

static int write_tree_at(struct writer *w, const git_tree *tree, int dirfd, const char *prefix,
			 unsigned depth);

static int
write_blob_at(struct writer *w, const git_tree_entry *e, int dirfd, const char *path, mode_t mode)
{
	_cleanup_(blob_freep) git_blob *blob = NULL;
	_cleanup_close_ int fd = -1;
	int r = git_blob_lookup(&blob, w->repo, git_tree_entry_id(e));

	if (r < 0)
		return lg_fail(w->err, r, path);
	fd = openat(dirfd, git_tree_entry_name(e),
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		return al_err_set(w->err, -errno, "%s: %s", path, strerror(errno));
	r = al_fd_write_all(fd, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r < 0)
		return al_err_set(w->err, r, "%s: %s", path, strerror(-r));
	return 0;
}

static int
write_link_at(struct writer *w, const git_tree_entry *e, int dirfd, const char *path)
{
	_cleanup_(blob_freep) git_blob *blob = NULL;
	char target[AL_SYMLINK_TARGET_MAX + 1];
	size_t n;
	int r = git_blob_lookup(&blob, w->repo, git_tree_entry_id(e));

	if (r < 0)
		return lg_fail(w->err, r, path);
	n = (size_t)git_blob_rawsize(blob);
	if (n == 0 || n > AL_SYMLINK_TARGET_MAX || memchr(git_blob_rawcontent(blob), 0, n))
		return al_err_set(w->err, -EINVAL, "%s: unusable symlink target", path);
	memcpy(target, git_blob_rawcontent(blob), n);
	target[n] = '\0';
	if (symlinkat(target, dirfd, git_tree_entry_name(e)) < 0)
		return al_err_set(w->err, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

static int
write_dir_at(struct writer *w, const git_tree_entry *e, int dirfd, const char *path, unsigned depth)
{
	_cleanup_(tree_freep) git_tree *sub = NULL;
	_cleanup_close_ int fd = -1;
	const char *name = git_tree_entry_name(e);
	int r;

	if (mkdirat(dirfd, name, 0755) < 0)
		return al_err_set(w->err, -errno, "%s: %s", path, strerror(errno));
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0755) < 0)
		return al_err_set(w->err, -errno, "%s: %s", path, strerror(errno));
	if (git_tree_entry_type(e) == GIT_OBJECT_COMMIT)
		return 0; /* a submodule is an empty directory, as git leaves it */
	r = git_tree_lookup(&sub, w->repo, git_tree_entry_id(e));
	if (r < 0)
		return lg_fail(w->err, r, path);
	return write_tree_at(w, sub, fd, path, depth + 1);
}

static int
write_entry_at(struct writer *w, const git_tree_entry *e, int dirfd, const char *path,
	       unsigned depth)
{
	switch (git_tree_entry_filemode(e)) {
	case GIT_FILEMODE_BLOB:
		return write_blob_at(w, e, dirfd, path, 0644);
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		return write_blob_at(w, e, dirfd, path, 0755);
	case GIT_FILEMODE_LINK:
		return write_link_at(w, e, dirfd, path);
	case GIT_FILEMODE_TREE:
	case GIT_FILEMODE_COMMIT:
		return write_dir_at(w, e, dirfd, path, depth);
	default:
		return al_err_set(w->err, -EINVAL, "%s: unknown file mode %o", path,
				  (unsigned)git_tree_entry_filemode(e));
	}
}

static int
write_tree_at(struct writer *w, const git_tree *tree, int dirfd, const char *prefix, unsigned depth)
{
	if (depth > AL_TREE_DEPTH_MAX)
		return al_err_set(w->err, -ELOOP, "%s: nested deeper than %d directories", prefix,
				  AL_TREE_DEPTH_MAX);
	for (size_t i = 0; i < git_tree_entrycount(tree); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		_cleanup_free_ char *path = NULL;
		int r;

		if (asprintf(&path, "%s%s%s", prefix, prefix[0] ? "/" : "", name) < 0)
			return al_err_set(w->err, -ENOMEM, "out of memory");
		if (strchr(name, '/') || component_unsafe(name, strlen(name)))
			return al_err_set(w->err, -EINVAL, "unsafe path '%s' in tree", path);
		r = write_entry_at(w, e, dirfd, path, depth);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Creates dir (which must not exist) and writes tree into it. *created tells the caller
 * whether there is something to remove on failure. */
static int
write_tree(git_repository *repo, git_tree *tree, const char *dir, int *created, struct al_err *err)
{
	struct writer w = {.repo = repo, .err = err};
	_cleanup_free_ char *parent = strdup(dir);
	_cleanup_close_ int fd = -1;
	char *slash;

	if (!parent)
		return al_err_set(err, -ENOMEM, "out of memory");
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		int r = al_mkdir_p(parent, 0755);

		if (r < 0)
			return al_err_set(err, r, "%s: %s", parent, strerror(-r));
	}
	if (mkdir(dir, 0755) < 0)
		return al_err_set(err, -errno, "%s: %s", dir, strerror(errno));
	*created = 1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0755) < 0)
		return al_err_set(err, -errno, "%s: %s", dir, strerror(errno));
	return write_tree_at(&w, tree, fd, "", 0);
}

/* ---- the whole job ---- */

static int
check_opts(const struct al_checkout_opts *o, struct al_err *err)
{
	if (!o || !o->repo_path)
		return al_err_set(err, -EINVAL, "checkout: missing repository");
	if (!o->patch && o->patch_len)
		return al_err_set(err, -EINVAL, "checkout: patch length without patch");
	return check_base_spelling(o->base, err);
}

/* A base must be in the history of a protected branch: a commit that is only in the object
 * database (another proposal's candidate, a fetched pull request) would carry its changes
 * into the grant unjudged. */
static int
check_base_reachable(git_repository *repo, const git_commit *base, const struct al_checkout_opts *o,
		     struct al_err *err)
{
	const git_oid *id = git_commit_id(base);
	char hex[41];

	if (!o->tips)
		return 0;
	for (size_t i = 0; i < o->n_tips; i++) {
		git_oid tip;

		if (!o->tips[i] || strlen(o->tips[i]) != GIT_OID_HEXSZ ||
		    git_oid_fromstr(&tip, o->tips[i]) < 0)
			return al_err_set(err, -EINVAL, "checkout: malformed branch tip");
		if (git_oid_equal(&tip, id) || git_graph_descendant_of(repo, &tip, id) == 1)
			return 0;
	}
	oid_hex(hex, id);
	return al_err_set(err, -EPERM, "base %s is not on a protected branch", hex);
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
		return lg_fail(err, r, o->repo_path);
	r = resolve_base(j->repo, o->base, &j->base, err);
	if (r < 0)
		return r;
	oid_hex(res->base_commit, git_commit_id(j->base));
	r = check_base_reachable(j->repo, j->base, o, err);
	if (r < 0)
		return r;
	r = git_commit_tree(&j->base_tree, j->base);
	if (r < 0)
		return lg_fail(err, r, "base tree");
	if (o->test_patch && o->test_patch_len) {
		r = parse_patch("test_patch", o->test_patch, o->test_patch_len, &j->test_diff, err);
		if (r < 0)
			return r;
	}
	return parse_patch("patch", o->patch, o->patch_len, &j->diff, err);
}

/* ---- attributes that change what a checkout writes ---- */

/* The first attribute of a .gitattributes text that makes `git checkout` write other bytes
 * than the blob's on this host (LF line ends): ident, a filter driver, an encoding, CRLF
 * line ends. Unset ("-x") and unspecified ("!x") ones change nothing. Macro lines count
 * too, so a macro cannot smuggle one in. NULL when there is none. */
static const char *
attribute_problem(const char *text, size_t len, char *buf, size_t bufsz)
{
	static const char *const changing[] = {"ident", "filter", "working-tree-encoding"};
	const char *end = text + len;

	for (const char *line = text; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *p = line, *le = eol ? eol : end;
		int first = 1;

		line = eol ? eol + 1 : end;
		while (p < le) {
			const char *tok;
			size_t n, name;

			while (p < le && (*p == ' ' || *p == '\t' || *p == '\r'))
				p++;
			tok = p;
			while (p < le && *p != ' ' && *p != '\t' && *p != '\r')
				p++;
			n = (size_t)(p - tok);
			if (n == 0 || (first && tok[0] == '#'))
				break;
			/* the pattern (or "[attr]name") comes first */
			if (first) {
				first = 0;
				continue;
			}
			if (tok[0] == '-' || tok[0] == '!')
				continue;
			name = strcspn(tok, "=");
			if (name > n)
				name = n;
			for (size_t i = 0; i < AL_ARRAY_SIZE(changing); i++)
				if (name == strlen(changing[i]) &&
				    !memcmp(tok, changing[i], name)) {
					snprintf(buf, bufsz, "%s", changing[i]);
					return buf;
				}
			if (n == 8 && !memcmp(tok, "eol=crlf", 8)) {
				snprintf(buf, bufsz, "eol=crlf");
				return buf;
			}
		}
	}
	return NULL;
}

struct attr_walk {
	git_repository *repo;
	struct al_err *err;
	int r;
};

static int
attr_entry(const char *root, const git_tree_entry *e, void *payload)
{
	struct attr_walk *w = payload;
	_cleanup_(blob_freep) git_blob *blob = NULL;
	const char *why;
	char buf[32];
	int g;

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    strcmp(git_tree_entry_name(e), ".gitattributes"))
		return 0;
	if ((g = git_blob_lookup(&blob, w->repo, git_tree_entry_id(e))) < 0) {
		w->r = lg_fail(w->err, g, ".gitattributes");
		return -1;
	}
	if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK)
		return 0;
	why = attribute_problem(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), buf,
				sizeof(buf));
	if (!why)
		return 0;
	w->r = al_err_set(w->err, -EMEDIUMTYPE,
			  "%s.gitattributes sets %s: a checkout would write other bytes than the "
			  "ones tested, and airlock refuses to test them",
			  root, why);
	return -1;
}

/* Every tree a run may get is written byte for byte; one whose attributes would make a
 * checkout differ is refused rather than tested in a form nobody will run. */
static int
check_attributes(git_repository *repo, git_tree *tree, struct al_err *err)
{
	struct attr_walk w = {.repo = repo, .err = err};
	int g = git_tree_walk(tree, GIT_TREEWALK_PRE, attr_entry, &w);

	if (w.r < 0)
		return w.r;
	return g < 0 ? lg_fail(err, g, "tree walk") : 0;
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
		r = apply_patch("test_patch", o->test_patch, o->test_patch_len, j->test_diff,
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
			return lg_fail(err, r, "base tree");
	}
	r = list_files(j->diff, j->tested_tree, &res->patch_files, &res->n_patch_files);
	if (r < 0)
		return al_err_set(err, r, "out of memory");
	r = apply_patch("patch", o->patch, o->patch_len, j->diff, j->repo, j->tested_tree,
			&j->candidate_tree, res, err);
	if (r < 0)
		return r;
	if ((r = check_attributes(j->repo, j->base_tree, err)) < 0 ||
	    (r = check_attributes(j->repo, j->tested_tree, err)) < 0 ||
	    (r = check_attributes(j->repo, j->candidate_tree, err)) < 0)
		return r;
	r = make_commit(j->repo, j->base, j->candidate_tree, o, &commit_id, err);
	if (r < 0)
		return r;
	oid_hex(res->candidate_commit, &commit_id);
	oid_hex(res->base_tree, git_tree_id(j->base_tree));
	oid_hex(res->tested_tree, git_tree_id(j->tested_tree));
	oid_hex(res->candidate_tree, git_tree_id(j->candidate_tree));
	return 0;
}

int
al_checkout_prepare(const struct al_checkout_opts *o, struct al_checkout_result *ret,
		    struct al_err *err)
{
	_cleanup_(libgit2_shutdownp) int initialized = 0;
	struct al_checkout_result res = {0};
	struct job j = {0};
	int r = check_opts(o, err);

	if (r < 0)
		return r;
	initialized = git_libgit2_init();
	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", lg_msg());
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

static void
repo_freep(git_repository **r)
{
	git_repository_free(*r);
}

static void
ref_freep(git_reference **r)
{
	git_reference_free(*r);
}

static void
sig_freep(git_signature **s)
{
	git_signature_free(*s);
}

static int
open_commit_id(git_repository **repo, const char *path, const char *hex, git_oid *id,
	       struct al_err *err)
{
	git_commit *c = NULL;
	int g;

	g = git_repository_open_ext(repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_err_set(err, lg_errno(g), "%s: %s", path, lg_msg());
	if (strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(id, hex) < 0)
		return al_err_set(err, -EINVAL, "%s: not a commit id", hex);
	g = git_commit_lookup(&c, *repo, id);
	git_commit_free(c);
	if (g < 0)
		return al_err_set(err, lg_errno(g), "commit %s: %s", hex, lg_msg());
	return 0;
}

int
al_git_ref_cas(const char *repo_path, const char *ref, const char *new_hex, const char *old_hex,
	       char ret_current[41], struct al_err *err)
{
	_cleanup_(libgit2_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(repo_freep) git_repository *repo = NULL;
	_cleanup_(ref_freep) git_reference *out = NULL;
	git_oid new_id, old_id, cur;
	int r, g;

	ret_current[0] = '\0';
	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", lg_msg());
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
		return al_err_set(err, lg_errno(g), "%s: %s", ref, lg_msg());
	git_oid_tostr(ret_current, 41, &new_id);
	return 0;
}

int
al_git_note_set(const char *repo_path, const char *notes_ref, const char *commit_hex,
		const char *text, struct al_err *err)
{
	_cleanup_(libgit2_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(repo_freep) git_repository *repo = NULL;
	_cleanup_(sig_freep) git_signature *sig = NULL;
	git_oid id, note;
	int r, g;

	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", lg_msg());
	r = open_commit_id(&repo, repo_path, commit_hex, &id, err);
	if (r < 0)
		return r;
	g = git_signature_now(&sig, "airlock", "airlock@localhost");
	if (g == 0)
		g = git_note_create(&note, repo, notes_ref, sig, sig, &id, text, 1);
	if (g < 0)
		return al_err_set(err, lg_errno(g), "note on %s: %s", commit_hex, lg_msg());
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

AL_DEFINE_GIT_FREEP(remote_freep, git_remote, git_remote_free)
AL_DEFINE_GIT_FREEP(commit_freep, git_commit, git_commit_free)

int
al_git_fetch(const char *repo_path, const char *url, const char *const *refspecs, size_t n,
	     struct al_err *err)
{
	_cleanup_(libgit2_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(repo_freep) git_repository *repo = NULL;
	_cleanup_(remote_freep) git_remote *remote = NULL;
	git_fetch_options fo;
	git_remote_create_options ro;
	git_strarray specs = {(char **)refspecs, n};
	int g;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_err_set(err, lg_errno(g), "%s: %s", repo_path, lg_msg());
	/* an in-memory remote: nothing is written to the repository's configuration, and no
	 * url.*.insteadOf there rewrites the URL */
	git_remote_create_options_init(&ro, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	ro.repository = repo;
	ro.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	if ((g = git_remote_create_with_opts(&remote, url, &ro)) < 0)
		return lg_fail(err, g, url);
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	if ((g = git_remote_fetch(remote, &specs, &fo, "airlock: fetch")) < 0)
		return al_err_set(err, lg_errno(g), "fetch from %s: %s", url, lg_msg());
	return 0;
}

int
al_git_ref_commit(const char *repo_path, const char *ref, char out[41], struct al_err *err)
{
	_cleanup_(libgit2_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(repo_freep) git_repository *repo = NULL;
	_cleanup_(commit_freep) git_commit *c = NULL;
	git_oid id;
	int g;

	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_err_set(err, lg_errno(g), "%s: %s", repo_path, lg_msg());
	if ((g = git_reference_name_to_id(&id, repo, ref)) < 0)
		return al_err_set(err, lg_errno(g), "%s: %s", ref, lg_msg());
	if ((g = git_commit_lookup(&c, repo, &id)) < 0)
		return al_err_set(err, lg_errno(g), "%s is not a commit: %s", ref, lg_msg());
	oid_hex(out, &id);
	return 0;
}

int
al_git_merge_base(const char *repo_path, const char *a_hex, const char *b_hex, char out[41],
		  struct al_err *err)
{
	_cleanup_(libgit2_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(repo_freep) git_repository *repo = NULL;
	git_oid a, b, base;
	int r, g;

	if ((r = open_commit_id(&repo, repo_path, a_hex, &a, err)) < 0)
		return r;
	git_repository_free(repo);
	repo = NULL;
	if ((r = open_commit_id(&repo, repo_path, b_hex, &b, err)) < 0)
		return r;
	if ((g = git_merge_base(&base, repo, &a, &b)) < 0)
		return al_err_set(err, lg_errno(g), "no merge base of %s and %s: %s", a_hex, b_hex,
				  lg_msg());
	oid_hex(out, &base);
	return 0;
}

static int
commit_tree(git_repository *repo, const char *hex, git_tree **ret, struct al_err *err)
{
	_cleanup_(commit_freep) git_commit *c = NULL;
	git_oid id;
	int g;

	if (strlen(hex) != GIT_OID_HEXSZ || git_oid_fromstr(&id, hex) < 0)
		return al_err_set(err, -EINVAL, "%s: not a commit id", hex);
	if ((g = git_commit_lookup(&c, repo, &id)) < 0 || (g = git_commit_tree(ret, c)) < 0)
		return al_err_set(err, lg_errno(g), "commit %s: %s", hex, lg_msg());
	return 0;
}

int
al_git_diff_files(const char *repo_path, const char *from_hex, const char *to_hex,
		  int (*each)(void *ctx, const char *path, const char *patch, size_t len),
		  void *ctx, struct al_err *err)
{
	_cleanup_(libgit2_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(repo_freep) git_repository *repo = NULL;
	_cleanup_(tree_freep) git_tree *from = NULL;
	_cleanup_(tree_freep) git_tree *to = NULL;
	_cleanup_(diff_freep) git_diff *diff = NULL;
	git_diff_options o;
	size_t i, n;
	int r, g;

	git_diff_options_init(&o, GIT_DIFF_OPTIONS_VERSION);
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return al_err_set(err, lg_errno(g), "%s: %s", repo_path, lg_msg());
	if ((r = commit_tree(repo, from_hex, &from, err)) < 0 ||
	    (r = commit_tree(repo, to_hex, &to, err)) < 0)
		return r;
	/* binary changes in full, so that the gates judge them, not a "differ" line */
	o.flags = GIT_DIFF_SHOW_BINARY;
	if ((g = git_diff_tree_to_tree(&diff, repo, from, to, &o)) < 0)
		return lg_fail(err, g, "diff");
	n = git_diff_num_deltas(diff);
	for (i = 0; i < n; i++) {
		const git_diff_delta *d = git_diff_get_delta(diff, i);
		git_patch *p = NULL;
		git_buf buf = GIT_BUF_INIT;

		if ((g = git_patch_from_diff(&p, diff, i)) < 0 ||
		    (g = git_patch_to_buf(&buf, p)) < 0) {
			git_patch_free(p);
			return lg_fail(err, g, "diff");
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

int
al_checkout_write(const char *repo_path, const char *tree_hex, const char *dir, struct al_err *err)
{
	_cleanup_(libgit2_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(repo_freep) git_repository *repo = NULL;
	_cleanup_(tree_freep) git_tree *tree = NULL;
	git_oid id;
	int created = 0, g, r;

	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", lg_msg());
	if (!tree_hex || strlen(tree_hex) != GIT_OID_HEXSZ || git_oid_fromstr(&id, tree_hex) < 0)
		return al_err_set(err, -EINVAL, "checkout: not a tree id");
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return lg_fail(err, g, repo_path);
	if ((g = git_tree_lookup(&tree, repo, &id)) < 0)
		return lg_fail(err, g, tree_hex);
	r = write_tree(repo, tree, dir, &created, err);
	/* the directory did not exist before, so whatever is in it is ours */
	if (r < 0 && created)
		al_rm_rf(dir);
	return r;
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
	_cleanup_(libgit2_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(repo_freep) git_repository *repo = NULL;
	git_reference_iterator *it = NULL;
	git_reference *ref = NULL;
	int g, r = 0;

	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", lg_msg());
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return lg_fail(err, g, repo_path);
	if ((g = git_reference_iterator_new(&it, repo)) < 0)
		return lg_fail(err, g, "refs");
	while (r == 0 && (g = git_reference_next(&ref, it)) == 0) {
		git_object *peeled = NULL;
		char hex[41], buf[512];
		const char *name = branch_name(git_reference_name(ref), buf, sizeof(buf));

		if (name && want(ctx, name) &&
		    git_reference_peel(&peeled, ref, GIT_OBJECT_COMMIT) == 0) {
			oid_hex(hex, git_object_id(peeled));
			r = each(ctx, name, hex);
		}
		git_object_free(peeled);
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	if (r < 0)
		return al_err_set(err, r, "refs: %s", strerror(-r));
	if (g != GIT_ITEROVER)
		return lg_fail(err, g, "refs");
	return 0;
}

int
al_git_base_on(const char *repo_path, const char *base, const char *const *tips, size_t n_tips,
	       char ret_commit[41], struct al_err *err)
{
	_cleanup_(libgit2_shutdownp) int initialized = git_libgit2_init();
	_cleanup_(repo_freep) git_repository *repo = NULL;
	_cleanup_(commit_freep) git_commit *c = NULL;
	struct al_checkout_opts o = {.tips = tips, .n_tips = n_tips};
	int g, r;

	if (initialized < 0)
		return al_err_set(err, -EIO, "libgit2: %s", lg_msg());
	if ((r = check_base_spelling(base, err)) < 0)
		return r;
	g = git_repository_open_ext(&repo, repo_path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (g < 0)
		return lg_fail(err, g, repo_path);
	if ((r = resolve_base(repo, base, &c, err)) < 0 ||
	    (r = check_base_reachable(repo, c, &o, err)) < 0)
		return r;
	oid_hex(ret_commit, git_commit_id(c));
	return 0;
}
