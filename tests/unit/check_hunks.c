/* runner/hunks.c: hunks placed where git apply places them, and the text put back. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/macros.h"
#include "runner/hunks.h"

#define MAX_LINES 64
#define MAX_HUNKS 4

/* Hunks written as in a patch, one string each: " ctx\n-old\n+new\n"; a line "\\\n" after a
 * line marks it as having no newline. */
struct hunks {
	struct al_hunk h[MAX_HUNKS];
	struct al_hunk_line lines[MAX_HUNKS][MAX_LINES];
	size_t n;
};

static void
add_hunk(struct hunks *hs, long old_start, const char *body)
{
	struct al_hunk *h = &hs->h[hs->n];
	struct al_hunk_line *l = hs->lines[hs->n];
	size_t n = 0;
	long old = 0;

	ck_assert_uint_lt(hs->n, MAX_HUNKS);
	for (const char *p = body; *p;) {
		const char *nl = strchr(p, '\n');

		ck_assert_ptr_nonnull(nl);
		if (*p == '\\') {
			l[n - 1].no_eol = 1;
		} else {
			ck_assert_uint_lt(n, MAX_LINES);
			l[n] = (struct al_hunk_line){
			    .origin = *p, .text = p + 1, .len = (size_t)(nl - p - 1)};
			old += *p != '+';
			n++;
		}
		p = nl + 1;
	}
	*h = (struct al_hunk){.old_start = old_start, .old_count = old, .lines = l, .n_lines = n};
	hs->n++;
}

/* clang-format off */
static const struct {
	const char *what;
	const char *old;
	long start[2];
	const char *body[2];
	int r;
	long pos[2];
	size_t failed;
} place_cases[] = {
	{ "as stated", "a\nb\nc\nd\ne\n", {2}, {" b\n-c\n+C\n d\n"}, 0, {1}, 0 },
	{ "shifted down", "x\ny\na\nb\nc\nd\ne\n", {2}, {" b\n-c\n+C\n d\n"}, 0, {3}, 0 },
	{ "shifted up", "b\nc\nd\ne\n", {3}, {" b\n-c\n+C\n d\n"}, 0, {0}, 0 },
	{ "nearest copy wins", "b\nc\nd\nx\nx\nx\nx\nb\nc\nd\n", {6}, {" b\n-c\n+C\n d\n"},
	  0, {7}, 0 },
	{ "a tie goes down", "b\nc\nd\nx\nx\nx\nb\nc\nd\n", {4}, {" b\n-c\n+C\n d\n"}, 0, {6}, 0 },
	{ "nowhere", "a\nb\nc\n", {2}, {" b\n-q\n+C\n c\n"}, -ESRCH, {0}, 0 },
	/* a hunk stated at line 1 must match at the top, as git requires */
	{ "line 1 stays at the top", "x\na\nb\nc\n", {1}, {" a\n-b\n+B\n c\n"}, -ESRCH, {0}, 0 },
	/* no trailing context: the end of the file */
	{ "no trailing context", "a\nb\nc\nd\n", {2}, {" a\n-b\n+B\n"}, -ESRCH, {0}, 0 },
	{ "no trailing context, at the end", "x\nx\na\nb\n", {2}, {" a\n-b\n+B\n"}, 0, {2}, 0 },
	{ "two hunks, two offsets", "n\na\nb\nc\nm\nm\nm\nd\ne\nf\n", {1, 5},
	  {" a\n-b\n+B\n c\n", " d\n-e\n+E\n f\n"}, -ESRCH, {0}, 0 },
	{ "two hunks shifted", "n\nq\na\nb\nc\nm\nm\nm\nd\ne\nf\n", {2, 5},
	  {" a\n-b\n+B\n c\n", " d\n-e\n+E\n f\n"}, 0, {2, 8}, 0 },
	/* the second hunk's only match is above the first: hunks stay in order */
	{ "in order", "d\ne\nf\nm\na\nb\nc\n", {2, 6},
	  {" a\n-b\n+B\n c\n", " d\n-e\n+E\n f\n"}, -ESRCH, {0}, 1 },
	{ "no newline at the end", "a\nb\nc", {3}, {" b\n-c\n\\\n+C\n\\\n"}, 0, {1}, 0 },
	{ "a newline is not its absence", "a\nb\nc\n", {3}, {" b\n-c\n\\\n+C\n\\\n"}, -ESRCH,
	  {0}, 0 },
	{ "empty old text", "", {0}, {"+a\n"}, 0, {0}, 0 },
	{ "huge line number", "a\nb\nc\nd\n", {2000000000}, {" b\n-c\n+C\n d\n"}, 0, {1}, 0 },
};
/* clang-format on */

START_TEST(test_place)
{
	struct hunks hs = {0};
	long pos[2] = {-1, -1};
	size_t failed = 99, budget = AL_HUNKS_BUDGET;
	int r;

	for (int k = 0; k < 2 && place_cases[_i].body[k]; k++)
		add_hunk(&hs, place_cases[_i].start[k], place_cases[_i].body[k]);
	r = al_hunks_place(place_cases[_i].old, strlen(place_cases[_i].old), hs.h, hs.n, &budget,
			   pos, &failed);
	ck_assert_msg(r == place_cases[_i].r, "%s: r=%d", place_cases[_i].what, r);
	if (r == 0) {
		for (size_t k = 0; k < hs.n; k++)
			ck_assert_msg(pos[k] == place_cases[_i].pos[k], "%s: hunk %zu at %ld",
				      place_cases[_i].what, k, pos[k]);
	} else {
		ck_assert_uint_eq(failed, place_cases[_i].failed);
		ck_assert_int_eq(pos[0], -1); /* untouched */
	}
	ck_assert_uint_lt(budget, AL_HUNKS_BUDGET);
}
END_TEST

START_TEST(test_budget)
{
	struct hunks hs = {0};
	const char *old = "a\na\na\na\na\na\na\na\nb\nc\nd\n";
	long pos[1];
	size_t failed = 99, budget = 4;

	add_hunk(&hs, 2, " b\n-c\n+C\n d\n");
	ck_assert_int_eq(al_hunks_place(old, strlen(old), hs.h, 1, &budget, pos, &failed), -E2BIG);
	ck_assert_uint_eq(failed, 0);
	budget = 100;
	ck_assert_int_eq(al_hunks_place(old, strlen(old), hs.h, 1, &budget, pos, &failed), 0);
	ck_assert_int_eq(pos[0], 8);
}
END_TEST

START_TEST(test_apply_and_emit)
{
	struct hunks hs = {0};
	const char *old = "n\nq\na\nb\nc\nm\nd\ne\nf";
	long pos[2];
	size_t failed, budget = AL_HUNKS_BUDGET;
	struct al_buf out, hdr;

	add_hunk(&hs, 2, " a\n-b\n+B\n+B2\n c\n");
	add_hunk(&hs, 5, " d\n-e\n+E\n f\n\\\n");
	ck_assert_int_eq(al_hunks_place(old, strlen(old), hs.h, hs.n, &budget, pos, &failed), 0);
	ck_assert_int_eq(pos[0], 2);
	ck_assert_int_eq(pos[1], 6);
	ck_assert_int_eq(al_hunks_stated(&hs.h[0]), 1);
	al_buf_init(&out, 1024);
	ck_assert_int_eq(al_hunks_apply(old, strlen(old), hs.h, hs.n, pos, &out), 0);
	ck_assert_str_eq(out.data, "n\nq\na\nB\nB2\nc\nm\nd\nE\nf");
	/* the new start is where libgit2 looks: after the first hunk added a line */
	al_buf_init(&hdr, 4096);
	ck_assert_int_eq(al_hunks_emit(&hdr, hs.h, hs.n, pos), 0);
	ck_assert_str_eq(hdr.data,
			 "@@ -3,3 +3,4 @@\n a\n-b\n+B\n+B2\n c\n"
			 "@@ -7,3 +8,3 @@\n d\n-e\n+E\n f\n\\ No newline at end of file\n");
	/* out of order positions are a caller's bug, refused */
	pos[1] = 1;
	al_buf_free(&out);
	ck_assert_int_eq(al_hunks_apply(old, strlen(old), hs.h, hs.n, pos, &out), -EINVAL);
	al_buf_free(&out);
	al_buf_free(&hdr);
}
END_TEST

/* clang-format off */
static const struct {
	const char *old, *new, *want;
} replace_cases[] = {
	{ "a\nb\n", "a\nc\n", "@@ -1,2 +1,2 @@\n-a\n-b\n+a\n+c\n" },
	{ "a", "b\n", "@@ -1,1 +1,1 @@\n-a\n\\ No newline at end of file\n+b\n" },
	{ "", "x\n", "@@ -0,0 +1,1 @@\n+x\n" },
	{ "x\n", "", "@@ -1,1 +0,0 @@\n-x\n" },
	{ "same\n", "same\n", "@@ -1,1 +1,1 @@\n same\n" },
	{ "", "", "" },
};
/* clang-format on */

START_TEST(test_emit_replace)
{
	struct al_buf out;

	al_buf_init(&out, 1024);
	ck_assert_int_eq(al_hunks_emit_replace(&out, replace_cases[_i].old,
					       strlen(replace_cases[_i].old), replace_cases[_i].new,
					       strlen(replace_cases[_i].new)),
			 0);
	ck_assert_str_eq(out.data ? out.data : "", replace_cases[_i].want);
	al_buf_free(&out);
}
END_TEST

START_TEST(test_sections)
{
	const char *text = "From x\nSubject: y\n\n---\n"
			   "diff --git a/f b/f\nindex 1..2 100644\n--- a/f\n+++ b/f\n"
			   "@@ -1 +1 @@\n-a\n+b\n-- \n2.39\n"
			   "diff --git a/g b/g\nnew mode 100755\n"
			   "diff --git a/h b/h\n--- a/h\n+++ b/h\n@@ -1 +1 @@\n-a\n+b";
	struct al_patch_section *s = NULL;
	size_t n = 0;
	const char *f = strstr(text, "diff --git a/f"), *g = strstr(text, "diff --git a/g");
	const char *h = strstr(text, "diff --git a/h");

	ck_assert_int_eq(al_hunks_sections(text, strlen(text), &s, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(s[0].start, (size_t)(f - text));
	ck_assert_uint_eq(s[0].hunks, (size_t)(strstr(text, "@@ -1") - text));
	ck_assert_uint_eq(s[0].end, (size_t)(g - text));
	ck_assert_uint_eq(s[1].hunks, s[1].end); /* no hunks */
	ck_assert_uint_eq(s[1].end, (size_t)(h - text));
	ck_assert_uint_eq(s[2].hunks, (size_t)(strstr(h, "@@") - text));
	ck_assert_uint_eq(s[2].end, strlen(text));
	free(s);
	ck_assert_int_eq(al_hunks_sections("no patch\n", 9, &s, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(s);
}
END_TEST

static Suite *
hunks_suite(void)
{
	Suite *s = suite_create("hunks");
	TCase *tc = tcase_create("hunks");

	tcase_add_loop_test(tc, test_place, 0, (int)AL_ARRAY_SIZE(place_cases));
	tcase_add_test(tc, test_budget);
	tcase_add_test(tc, test_apply_and_emit);
	tcase_add_loop_test(tc, test_emit_replace, 0, (int)AL_ARRAY_SIZE(replace_cases));
	tcase_add_test(tc, test_sections);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(hunks_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
