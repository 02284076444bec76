/* What the content rules read from a patch's hunks: secret-like added lines, which files
 * add a non-blank line, and whether any hunk changes more than whitespace.  Lines are
 * untrusted and not NUL-terminated: every scan is bounded by the line's length. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gates/internal.h"
#include "lib/macros.h"

struct al_text_span {
	const char *s; /* borrowed from the patch text */
	size_t n;
};

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool
is_upper_digit(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool
is_alnum(char c)
{
	return is_upper_digit(c) || (c >= 'a' && c <= 'z');
}

static bool
at(const char *s, size_t n, size_t i, const char *lit)
{
	size_t k = strlen(lit);

	return i <= n && n - i >= k && memcmp(s + i, lit, k) == 0;
}

/* Length of the run from i of bytes that pass ok, or of also_ok. */
static size_t
run_len(const char *s, size_t n, size_t i, bool (*ok)(char), const char *also_ok)
{
	size_t j = i;

	while (j < n && (ok(s[j]) || (s[j] && strchr(also_ok, s[j]))))
		j++;
	return j - i;
}

/* "-----BEGIN [A-Z ]*PRIVATE KEY[A-Z ]*-----" */
static bool
private_key_at(const char *s, size_t n, size_t i)
{
	size_t j, k;

	if (!at(s, n, i, "-----BEGIN "))
		return false;
	j = i + 11;
	k = j + run_len(s, n, j, is_upper_digit, " ");
	if (!at(s, n, k, "-----"))
		return false;
	for (; j + 11 <= k; j++)
		if (at(s, k, j, "PRIVATE KEY"))
			return true;
	return false;
}

static bool
aws_key_at(const char *s, size_t n, size_t i)
{
	return (at(s, n, i, "AKIA") || at(s, n, i, "ASIA")) &&
	       run_len(s, n, i + 4, is_upper_digit, "") >= 16;
}

static bool
github_token_at(const char *s, size_t n, size_t i)
{
	static const char *const prefixes[] = {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"};
	size_t k;

	for (k = 0; k < AL_ARRAY_SIZE(prefixes); k++)
		if (at(s, n, i, prefixes[k]) && run_len(s, n, i + 4, is_alnum, "") >= 36)
			return true;
	return at(s, n, i, "github_pat_") && run_len(s, n, i + 11, is_alnum, "_") >= 22;
}

static bool
slack_token_at(const char *s, size_t n, size_t i)
{
	return at(s, n, i, "xox") && i + 4 < n && s[i + 3] && strchr("bpars", s[i + 3]) &&
	       s[i + 4] == '-' && run_len(s, n, i + 5, is_alnum, "-") >= 10;
}

/* key ['" ]* [=:] [ \t]* quote, then at least 16 bytes and the same quote. */
static bool
assignment_at(const char *s, size_t n, size_t i)
{
	static const struct {
		const char *name;
		size_t len;
	} keys[] = {{"password", 8}, {"passwd", 6}, {"secret", 6},
		    {"api_key", 7},  {"apikey", 6}, {"token", 5}};
	size_t k, j, start;
	char q;

	for (k = 0; k < AL_ARRAY_SIZE(keys); k++) {
		size_t kl = keys[k].len;

		/* two bytes by hand first: most words share no prefix with a key */
		if (n - i < kl || (s[i] | 0x20) != keys[k].name[0] ||
		    (s[i + 1] | 0x20) != keys[k].name[1] ||
		    strncasecmp(s + i, keys[k].name, kl) != 0)
			continue;
		j = i + kl;
		while (j < n && (s[j] == '"' || s[j] == '\'' || s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j >= n || (s[j] != '=' && s[j] != ':'))
			continue;
		for (j++; j < n && (s[j] == ' ' || s[j] == '\t'); j++)
			;
		if (j >= n || (s[j] != '"' && s[j] != '\''))
			continue;
		q = s[j];
		start = ++j;
		while (j < n && s[j] != q)
			j++;
		if (j < n && j - start >= 16)
			return true;
	}
	return false;
}

static const struct {
	const char *kind;
	bool (*at)(const char *s, size_t n, size_t i);
} secret_kinds[] = {
    {"private key", private_key_at},	      {"AWS access key id", aws_key_at},
    {"GitHub token", github_token_at},	      {"Slack token", slack_token_at},
    {"credential assignment", assignment_at},
};

/* Which matchers of secret_kinds (by bit) can start at a byte: the first byte of every
 * literal they look for. Most bytes start none, so most positions cost one lookup. */
static const unsigned char kinds_starting[256] = {
    ['-'] = 1u << 0, ['A'] = 1u << 1 | 1u << 4, ['g'] = 1u << 2, ['x'] = 1u << 3,
    ['p'] = 1u << 4, ['P'] = 1u << 4,		['s'] = 1u << 4, ['S'] = 1u << 4,
    ['a'] = 1u << 4, ['t'] = 1u << 4,		['T'] = 1u << 4,
};

static const char *
secret_kind(const char *s, size_t n)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		unsigned mask = kinds_starting[(unsigned char)s[i]];

		for (k = 0; mask && k < AL_ARRAY_SIZE(secret_kinds); k++, mask >>= 1)
			if ((mask & 1) && secret_kinds[k].at(s, n, i))
				return secret_kinds[k].kind;
	}
	return NULL;
}

static bool
blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_space(s[i]))
			return false;
	return true;
}

/* Compares lines as if every whitespace byte were removed. */
static int
span_cmp(const void *a, const void *b)
{
	const struct al_text_span *x = a, *y = b;
	size_t i = 0, j = 0;

	for (;;) {
		while (i < x->n && is_space(x->s[i]))
			i++;
		while (j < y->n && is_space(y->s[j]))
			j++;
		if (i == x->n || j == y->n)
			return (i < x->n) - (j < y->n);
		if (x->s[i] != y->s[j])
			return (unsigned char)x->s[i] < (unsigned char)y->s[j] ? -1 : 1;
		i++;
		j++;
	}
}

static int
span_push(struct al_text_span **v, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		struct al_text_span *nv = reallocarray(*v, c, sizeof(**v));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*len)++] = (struct al_text_span){s, n};
	return 0;
}

static int
on_line(void *ctx, size_t file, char kind, const char *s, size_t n, unsigned long lineno)
{
	struct al_patch_text *t = ctx;
	int r = 0;

	if (kind == '+' && !t->secret_kind && (t->secret_kind = secret_kind(s, n))) {
		t->secret_file = file;
		t->secret_line = lineno;
	}
	if (kind == '+' && file < AL_PATCH_MAX_FILES && !blank(s, n))
		t->nonblank[file] = 1;
	if (kind == '-' && file < AL_PATCH_MAX_FILES && t->lines_removed[file] < UINT_MAX)
		t->lines_removed[file]++;
	/* blank lines are whitespace; once a hunk changes text there is nothing to compare */
	if (t->changes || blank(s, n))
		return 0;
	if (kind != '+')
		r = span_push(&t->removed, &t->n_removed, &t->cap_removed, s, n);
	if (r == 0 && kind != '-')
		r = span_push(&t->added, &t->n_added, &t->cap_added, s, n);
	return r;
}

/* The hunk changes more than whitespace unless its old and new sides (context and
 * removed lines, context and added lines), blank lines dropped and whitespace stripped,
 * are the same sequence.  A sequence, not a multiset: moving a line is a change. */
static int
on_hunk_end(void *ctx, size_t file AL_UNUSED)
{
	struct al_patch_text *t = ctx;
	size_t i;

	t->hunks++;
	if (!t->changes && t->n_added != t->n_removed)
		t->changes = true;
	for (i = 0; i < t->n_added && !t->changes; i++)
		t->changes = span_cmp(&t->added[i], &t->removed[i]) != 0;
	t->n_added = t->n_removed = 0;
	return 0;
}

int
al_gates_patch_scan(const char *text, size_t len, struct al_patch_text *t, struct al_err *err)
{
	struct al_patch_visitor v = {t, on_line, on_hunk_end};

	t->len = len;
	t->nonblank = calloc(AL_PATCH_MAX_FILES, 1);
	t->lines_removed = calloc(AL_PATCH_MAX_FILES, sizeof(*t->lines_removed));
	if (!t->nonblank || !t->lines_removed)
		return al_err_set(err, -ENOMEM, "out of memory");
	return al_gates_patch_parse(text, len, &v, &t->files, err);
}

void
al_gates_patch_text_clear(struct al_patch_text *t)
{
	json_decref(t->files);
	free(t->nonblank);
	free(t->lines_removed);
	free(t->added);
	free(t->removed);
	memset(t, 0, sizeof(*t));
}
