/* Hunks placed where `git apply` places them, and the patch text they go back into: pure
 * text functions, no libgit2. */
#pragma once

#include <stddef.h>

#include "lib/buf.h"

/* Steps one patch's offset searches may take between them (a position tried, or a line
 * compared): a bound on what a hostile patch costs, far above what real ones need. */
#define AL_HUNKS_BUDGET (1u << 25)

struct al_hunk_line {
	char origin;	  /* ' ' (context), '-' or '+' */
	int no_eol;	  /* the line ends without a newline */
	const char *text; /* borrowed; without its newline */
	size_t len;
};

struct al_hunk {
	long old_start; /* as the header states it */
	long old_count;
	const struct al_hunk_line *lines; /* borrowed */
	size_t n_lines;
};

/* Where each hunk of one file applies to old, as git apply finds it: first at the line it
 * states; failing that, outward from there, one line further down before one line up, over
 * the whole file, with no fuzz (context and removed lines match byte for byte). A hunk that
 * starts at line 1 or 0 must match at the top and one without trailing context at the end.
 * Hunks stay in order and do not overlap. ret_pos[k]: the 0-based line where hunk k's old
 * lines start. -ESRCH: hunk *ret_failed (0-based) matches nowhere; -E2BIG: *budget ran out
 * at it; -ENOMEM. *budget is decreased by the steps taken. */
int al_hunks_place(const char *old, size_t old_len, const struct al_hunk *h, size_t n,
		   size_t *budget, long *ret_pos, size_t *ret_failed);

/* The line hunk k was stated at, in the coordinates of ret_pos. */
long al_hunks_stated(const struct al_hunk *h);

/* old with the hunks applied at pos (from al_hunks_place), appended to out. */
int al_hunks_apply(const char *old, size_t old_len, const struct al_hunk *h, size_t n,
		   const long *pos, struct al_buf *out);

/* Appends the hunks with headers that put them at pos, as libgit2 reads a header: the old
 * start for the old side, the new start in the file as the earlier hunks left it. */
int al_hunks_emit(struct al_buf *out, const struct al_hunk *h, size_t n, const long *pos);

/* Appends one hunk that turns old into new as a whole. */
int al_hunks_emit_replace(struct al_buf *out, const char *old, size_t old_len, const char *new,
			  size_t new_len);

/* One file's part of a patch, in byte offsets: its "diff --git " line, its first "@@ -" line
 * (end when it has none), and where the next file's part starts (or the text ends). */
struct al_patch_section {
	size_t start;
	size_t hunks;
	size_t end;
};

/* Splits a patch into its files' parts, as libgit2 does (each starts at a line beginning
 * "diff --git "). *ret is owned by the caller; 0 sections when there is none. */
int al_hunks_sections(const char *text, size_t len, struct al_patch_section **ret, size_t *ret_n);
