/* Unified diff headers (git diff, git format-patch, diff -u): which files a patch touches.
 * The input is untrusted: every line is bounded, hunks are counted so that a removed line
 * that looks like a header is never taken for one, and anything ambiguous is refused. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"
#include "lib/macros.h"

enum state {
	ST_OUTSIDE,    /* between files: text here is ignored (mail headers, diffstat) */
	ST_GIT_HEADER, /* after "diff --git": extended header lines */
	ST_FILE,       /* a file is open, between its hunks */
	ST_HUNK,       /* inside a hunk, counting lines */
};

struct pfile {
	char *old_name; /* owned; prefix stripped; NULL until known */
	char *new_name; /* owned */
	bool git, old_null, new_null, created, deleted, renamed, copied, binary;
	unsigned old_mode, new_mode;
	size_t lineno; /* of the first header line */
};

struct parser {
	const char *data;
	size_t len, pos;
	const char *line; /* current line, without its newline */
	size_t line_len, lineno;
	enum state state;
	bool in_file;
	struct pfile f;
	unsigned long hunk_old, hunk_new;     /* lines the current hunk still owes */
	unsigned long new_lineno;	      /* of the next new-file line of the hunk */
	const struct al_patch_visitor *visit; /* NULL when only the headers matter */
	json_t *out;
	struct al_err *err;
};

static int perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
perr(struct parser *ps, const char *fmt, ...)
{
	char msg[AL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return al_err_set(ps->err, -EBADMSG, "line %zu: %s", ps->lineno, msg);
}

static bool
starts(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(s, prefix, k) == 0;
}

/* Finds the line at pos; 0 when the input is exhausted. */
static int
line_at(const struct parser *ps, size_t pos, const char **ret, size_t *ret_len, size_t *ret_next)
{
	const char *nl;
	size_t n;

	if (pos >= ps->len)
		return 0;
	nl = memchr(ps->data + pos, '\n', ps->len - pos);
	n = nl ? (size_t)(nl - (ps->data + pos)) : ps->len - pos;
	*ret = ps->data + pos;
	*ret_len = n;
	*ret_next = pos + n + (nl ? 1 : 0);
	return 1;
}

/* 1 with the next line in ps->line, 0 at the end, -EBADMSG for an over-long line. */
static int
next_line(struct parser *ps)
{
	size_t next;

	if (!line_at(ps, ps->pos, &ps->line, &ps->line_len, &next))
		return 0;
	ps->pos = next;
	ps->lineno++;
	if (ps->line_len > AL_PATCH_MAX_LINE)
		return perr(ps, "line is longer than %d bytes", AL_PATCH_MAX_LINE);
	return 1;
}

static bool
peek_starts(const struct parser *ps, const char *prefix)
{
	const char *l;
	size_t n, next;

	return line_at(ps, ps->pos, &l, &n, &next) && starts(l, n, prefix);
}

/* Decodes a C-style quoted name starting at s[0] == '"'; *ret_used covers the quotes. */
static int
unquote(struct parser *ps, const char *s, size_t n, char **ret, size_t *ret_used)
{
	static const char esc_in[] = "abtnvfr\"\\", esc_out[] = "\a\b\t\n\v\f\r\"\\";
	_cleanup_free_ char *out = malloc(n + 1);
	size_t i = 1, o = 0;

	if (!out)
		return al_err_set(ps->err, -ENOMEM, "out of memory");
	while (i < n && s[i] != '"') {
		const char *e;

		if (s[i] != '\\') {
			out[o++] = s[i++];
			continue;
		}
		if (i + 1 >= n)
			return perr(ps, "unterminated quoted file name");
		e = strchr(esc_in, s[i + 1]);
		if (s[i + 1] != '\0' && e) {
			out[o++] = esc_out[e - esc_in];
			i += 2;
		} else if (i + 3 < n && s[i + 1] >= '0' && s[i + 1] <= '3' && s[i + 2] >= '0' &&
			   s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
			out[o] = (char)((s[i + 1] - '0') << 6 | (s[i + 2] - '0') << 3 |
					(s[i + 3] - '0'));
			if (!out[o++])
				return perr(ps, "quoted file name contains a NUL byte");
			i += 4;
		} else {
			return perr(ps, "bad escape in quoted file name");
		}
	}
	if (i >= n)
		return perr(ps, "unterminated quoted file name");
	out[o] = '\0';
	*ret_used = i + 1;
	*ret = steal_pointer(&out);
	return 0;
}

static char *
dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* -p1: drops the "a/" or "b/" component.  A name that starts with '/' is kept whole so
 * that the path rules see, and refuse, an absolute path. */
static int
strip_prefix(struct parser *ps, char **name)
{
	char *slash, *s;

	if ((*name)[0] == '/')
		return 0;
	slash = strchr(*name, '/');
	if (!slash)
		return perr(ps, "file name has no a/ or b/ prefix");
	s = strdup(slash + 1);
	if (!s)
		return al_err_set(ps->err, -ENOMEM, "out of memory");
	free(*name);
	*name = s;
	return 0;
}

/* A whole-rest-of-line name (rename from, copy to): quoted or taken as is. */
static int
name_whole(struct parser *ps, const char *s, size_t n, char **ret)
{
	size_t used;
	int r;

	if (n > 0 && s[0] == '"') {
		r = unquote(ps, s, n, ret, &used);
		if (r < 0)
			return r;
		if (used != n) {
			free(*ret);
			return perr(ps, "text after quoted file name");
		}
		return 0;
	}
	*ret = dup_n(s, n);
	return *ret ? 0 : al_err_set(ps->err, -ENOMEM, "out of memory");
}

/* The name on a "---"/"+++" line: quoted, or up to a tab (diff -u puts a date there,
 * git a lone tab after names with spaces). */
static int
name_marker(struct parser *ps, const char *s, size_t n, char **ret)
{
	const char *tab;
	size_t used;

	if (n > 0 && s[0] == '"') {
		int r = unquote(ps, s, n, ret, &used);

		if (r < 0)
			return r;
		if (used != n && s[used] != '\t') {
			free(*ret);
			return perr(ps, "text after quoted file name");
		}
		return 0;
	}
	tab = memchr(s, '\t', n);
	*ret = dup_n(s, tab ? (size_t)(tab - s) : n);
	return *ret ? 0 : al_err_set(ps->err, -ENOMEM, "out of memory");
}

/* Takes ownership of name.  A slot filled twice must agree: two tools reading one patch
 * differently is how a gate is fooled. */
static int
set_name(struct parser *ps, char **slot, char *name, const char *which)
{
	if (!name[0]) {
		free(name);
		return perr(ps, "empty %s file name", which);
	}
	if (strlen(name) > AL_PATCH_MAX_PATH) {
		free(name);
		return perr(ps, "%s file name is longer than %d bytes", which, AL_PATCH_MAX_PATH);
	}
	if (*slot && strcmp(*slot, name) != 0) {
		free(name);
		return perr(ps, "inconsistent %s file name", which);
	}
	if (*slot)
		free(name);
	else
		*slot = name;
	return 0;
}

/* Strips the prefix of a "diff --git" / "---" / "+++" name and stores it. */
static int
set_prefixed(struct parser *ps, char **slot, char *name, const char *which)
{
	int r = strip_prefix(ps, &name);

	if (r < 0) {
		free(name);
		return r;
	}
	return set_name(ps, slot, name, which);
}

static size_t
first_slash(const char *s, size_t n)
{
	const char *p = memchr(s, '/', n);

	return p ? (size_t)(p - s) : n;
}

/* "a/N b/N" with unquoted names that may hold spaces: the split where both names, their
 * prefix stripped, are equal.  Left length grows and right length shrinks as the split
 * moves right, so at most one split has equal lengths: one pass, one compare. */
static int
git_names_plain(struct parser *ps, const char *s, size_t n)
{
	size_t lslash = first_slash(s, n), rslash = n, i;

	for (i = n; i-- > 1;) {
		size_t llen, rlen;

		if (i + 1 < n && s[i + 1] == '/')
			rslash = i + 1;
		if (s[i] != ' ' || lslash >= i || rslash >= n)
			continue;
		llen = i - lslash - 1;
		rlen = n - rslash - 1;
		if (llen == rlen && memcmp(s + lslash + 1, s + rslash + 1, llen) == 0) {
			char *a = dup_n(s, i), *b = dup_n(s + i + 1, n - i - 1);
			int r;

			if (!a || !b) {
				free(a);
				free(b);
				return al_err_set(ps->err, -ENOMEM, "out of memory");
			}
			r = set_prefixed(ps, &ps->f.old_name, a, "old");
			if (r < 0) {
				free(b);
				return r;
			}
			return set_prefixed(ps, &ps->f.new_name, b, "new");
		}
	}
	/* names differ (a rename): "rename from/to" or "---/+++" must say them */
	return 0;
}

/* The second name of "diff --git" after a quoted first one, or a quoted second one. */
static int
git_names_quoted(struct parser *ps, const char *s, size_t n)
{
	char *a = NULL, *b = NULL;
	size_t used = 0, i;
	int r;

	if (s[0] == '"') {
		r = unquote(ps, s, n, &a, &used);
		if (r < 0)
			return r;
		if (used >= n || s[used] != ' ') {
			free(a);
			return perr(ps, "malformed diff --git line");
		}
		r = name_whole(ps, s + used + 1, n - used - 1, &b);
	} else {
		for (i = 0; i + 1 < n && !(s[i] == ' ' && s[i + 1] == '"'); i++)
			;
		if (i + 1 >= n)
			return perr(ps, "malformed diff --git line");
		a = dup_n(s, i);
		r = a ? name_whole(ps, s + i + 1, n - i - 1, &b)
		      : al_err_set(ps->err, -ENOMEM, "out of memory");
	}
	if (r < 0) {
		free(a);
		return r;
	}
	r = set_prefixed(ps, &ps->f.old_name, a, "old");
	if (r < 0) {
		free(b);
		return r;
	}
	return set_prefixed(ps, &ps->f.new_name, b, "new");
}

static int
parse_mode(struct parser *ps, const char *s, size_t n, unsigned *ret)
{
	unsigned v = 0;
	size_t i;

	if (n == 0 || n > 7)
		return perr(ps, "malformed file mode");
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '7')
			return perr(ps, "malformed file mode");
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	if (v == 0 || v > 0177777)
		return perr(ps, "malformed file mode");
	*ret = v;
	return 0;
}

/* Extended header handlers get the text after their prefix. */
typedef int (*header_fn)(struct parser *ps, const char *s, size_t n);

static int
h_old_mode(struct parser *ps, const char *s, size_t n)
{
	return parse_mode(ps, s, n, &ps->f.old_mode);
}

static int
h_new_mode(struct parser *ps, const char *s, size_t n)
{
	return parse_mode(ps, s, n, &ps->f.new_mode);
}

static int
h_deleted(struct parser *ps, const char *s, size_t n)
{
	ps->f.deleted = true;
	return parse_mode(ps, s, n, &ps->f.old_mode);
}

static int
h_created(struct parser *ps, const char *s, size_t n)
{
	ps->f.created = true;
	return parse_mode(ps, s, n, &ps->f.new_mode);
}

static int
h_from(struct parser *ps, const char *s, size_t n, bool *flag)
{
	char *name;
	int r = name_whole(ps, s, n, &name);

	*flag = true;
	return r < 0 ? r : set_name(ps, &ps->f.old_name, name, "old");
}

static int
h_to(struct parser *ps, const char *s, size_t n, bool *flag)
{
	char *name;
	int r = name_whole(ps, s, n, &name);

	*flag = true;
	return r < 0 ? r : set_name(ps, &ps->f.new_name, name, "new");
}

static int
h_rename_from(struct parser *ps, const char *s, size_t n)
{
	return h_from(ps, s, n, &ps->f.renamed);
}

static int
h_rename_to(struct parser *ps, const char *s, size_t n)
{
	return h_to(ps, s, n, &ps->f.renamed);
}

static int
h_copy_from(struct parser *ps, const char *s, size_t n)
{
	return h_from(ps, s, n, &ps->f.copied);
}

static int
h_copy_to(struct parser *ps, const char *s, size_t n)
{
	return h_to(ps, s, n, &ps->f.copied);
}

static int
h_ignore(struct parser *ps AL_UNUSED, const char *s AL_UNUSED, size_t n AL_UNUSED)
{
	return 0;
}

/* "index 1234abc..5678def 100644": the trailing mode, when there is one, is both modes. */
static int
h_index(struct parser *ps, const char *s, size_t n)
{
	const char *sp = memchr(s, ' ', n);
	unsigned mode;
	int r;

	if (!sp)
		return 0;
	r = parse_mode(ps, sp + 1, n - (size_t)(sp + 1 - s), &mode);
	if (r < 0)
		return r;
	if (!ps->f.old_mode && !ps->f.created)
		ps->f.old_mode = mode;
	if (!ps->f.new_mode && !ps->f.deleted)
		ps->f.new_mode = mode;
	return 0;
}

static int
h_binary(struct parser *ps, const char *s AL_UNUSED, size_t n AL_UNUSED)
{
	ps->f.binary = true;
	ps->state = ST_FILE;
	return 0;
}

/* The "+++" line must follow "---" at once; /dev/null marks a creation or deletion. */
static int
markers(struct parser *ps)
{
	char *name;
	int r;

	r = name_marker(ps, ps->line + 4, ps->line_len - 4, &name);
	if (r < 0)
		return r;
	if (strcmp(name, "/dev/null") == 0) {
		free(name);
		ps->f.old_null = true;
	} else if ((r = set_prefixed(ps, &ps->f.old_name, name, "old")) < 0) {
		return r;
	}
	r = next_line(ps);
	if (r <= 0 || !starts(ps->line, ps->line_len, "+++ "))
		return r < 0 ? r : perr(ps, "\"---\" line without a \"+++\" line");
	r = name_marker(ps, ps->line + 4, ps->line_len - 4, &name);
	if (r < 0)
		return r;
	if (strcmp(name, "/dev/null") == 0) {
		free(name);
		ps->f.new_null = true;
		return 0;
	}
	return set_prefixed(ps, &ps->f.new_name, name, "new");
}

static int
h_markers(struct parser *ps, const char *s AL_UNUSED, size_t n AL_UNUSED)
{
	ps->state = ST_FILE;
	return markers(ps);
}

static const struct {
	const char *prefix;
	header_fn fn;
} git_headers[] = {
    {"old mode ", h_old_mode},
    {"new mode ", h_new_mode},
    {"deleted file mode ", h_deleted},
    {"new file mode ", h_created},
    {"rename from ", h_rename_from},
    {"rename to ", h_rename_to},
    {"rename old ", h_rename_from},
    {"rename new ", h_rename_to},
    {"copy from ", h_copy_from},
    {"copy to ", h_copy_to},
    {"similarity index ", h_ignore},
    {"dissimilarity index ", h_ignore},
    {"index ", h_index},
    {"--- ", h_markers},
    {"Binary files ", h_binary},
    {"GIT binary patch", h_binary},
};

static const char *
status_of(const struct pfile *f)
{
	if (f->created || f->old_null)
		return "A";
	if (f->deleted || f->new_null)
		return "D";
	if (f->renamed)
		return "R";
	if (f->copied)
		return "C";
	return "M";
}

static void
pfile_clear(struct pfile *f)
{
	free(f->old_name);
	free(f->new_name);
	memset(f, 0, sizeof(*f));
}

/* Settles the open file's names and status and appends it to the output. */
static int
finish_file(struct parser *ps)
{
	struct pfile *f = &ps->f;
	const char *status = status_of(f), *path, *old_path;
	json_t *o;

	ps->in_file = false;
	if ((f->created || f->old_null) + (f->deleted || f->new_null) + f->renamed + f->copied > 1)
		return perr(ps, "contradictory headers for the file at line %zu", f->lineno);
	path = status[0] == 'D' ? f->old_name : f->new_name;
	old_path = status[0] == 'A' ? f->new_name : f->old_name;
	if (!path || !old_path)
		return perr(ps, "cannot tell the file name of the diff at line %zu", f->lineno);
	if (!al_gates_utf8_valid(path, strlen(path)) ||
	    !al_gates_utf8_valid(old_path, strlen(old_path)))
		return perr(ps, "file name of the diff at line %zu is not valid UTF-8", f->lineno);
	if (json_array_size(ps->out) >= AL_PATCH_MAX_FILES)
		return perr(ps, "more than %d files", AL_PATCH_MAX_FILES);
	o = json_pack("{s:s, s:s, s:s, s:i, s:i, s:b}", "path", path, "old_path", old_path,
		      "status", status, "old_mode", (int)f->old_mode, "new_mode", (int)f->new_mode,
		      "binary", (int)f->binary);
	if (!o || json_array_append_new(ps->out, o) < 0)
		return al_err_set(ps->err, -ENOMEM, "out of memory");
	pfile_clear(f);
	return 0;
}

static int
open_file(struct parser *ps, bool git)
{
	int r = 0;

	if (ps->in_file)
		r = finish_file(ps);
	if (r < 0)
		return r;
	pfile_clear(&ps->f);
	ps->in_file = true;
	ps->f.git = git;
	ps->f.lineno = ps->lineno;
	return 0;
}

static int
start_git(struct parser *ps)
{
	const char *s = ps->line + 11;
	size_t n = ps->line_len - 11;
	int r = open_file(ps, true);

	if (r < 0)
		return r;
	ps->state = ST_GIT_HEADER;
	if (n > 0 && (s[0] == '"' || s[n - 1] == '"'))
		return git_names_quoted(ps, s, n);
	return git_names_plain(ps, s, n);
}

static int
start_plain(struct parser *ps)
{
	int r = open_file(ps, false);

	if (r < 0)
		return r;
	ps->state = ST_FILE;
	return markers(ps);
}

/* "@@ -l[,s] +l[,s] @@": the counts, and the new start for the line numbers. */
static int
parse_count(const char **s, const char *end, unsigned long *ret)
{
	unsigned long v = 0;
	int digits = 0;

	while (*s < end && **s >= '0' && **s <= '9' && digits < 10) {
		v = v * 10 + (unsigned long)(**s - '0');
		(*s)++;
		digits++;
	}
	*ret = v;
	return digits > 0 && digits < 10 ? 0 : -1;
}

static int
parse_range(const char **s, const char *end, char sign, unsigned long *ret_start,
	    unsigned long *ret_count)
{
	if (*s >= end || **s != sign)
		return -1;
	(*s)++;
	if (parse_count(s, end, ret_start) < 0)
		return -1;
	*ret_count = 1;
	if (*s < end && **s == ',') {
		(*s)++;
		return parse_count(s, end, ret_count);
	}
	return 0;
}

static int
start_hunk(struct parser *ps)
{
	const char *s = ps->line + 3, *end = ps->line + ps->line_len;
	unsigned long old_start;

	if (parse_range(&s, end, '-', &old_start, &ps->hunk_old) < 0 || s >= end || *s++ != ' ' ||
	    parse_range(&s, end, '+', &ps->new_lineno, &ps->hunk_new) < 0 || end - s < 3 ||
	    memcmp(s, " @@", 3) != 0)
		return perr(ps, "malformed hunk header");
	if (!ps->hunk_old && !ps->hunk_new)
		return perr(ps, "empty hunk");
	ps->state = ST_HUNK;
	return 0;
}

/* The visitor sees the line without its marker; a removed line has no number in the new
 * file. */
static int
visit_line(struct parser *ps, char c)
{
	int r;

	if (!ps->visit || !ps->visit->line)
		return 0;
	r = ps->visit->line(ps->visit->ctx, json_array_size(ps->out), c,
			    ps->line_len ? ps->line + 1 : ps->line,
			    ps->line_len ? ps->line_len - 1 : 0, c == '-' ? 0 : ps->new_lineno);
	return r < 0 ? al_err_set(ps->err, r, "out of memory") : 0;
}

/* One line of a hunk. An empty line is an empty context line (some tools drop the space). */
static int
hunk_line(struct parser *ps)
{
	char c = ps->line_len ? ps->line[0] : ' ';
	int r;

	if (c == '\\')
		return 0;
	if ((c == ' ' || c == '-') && !ps->hunk_old)
		return perr(ps, "hunk has more old lines than its header says");
	if ((c == ' ' || c == '+') && !ps->hunk_new)
		return perr(ps, "hunk has more new lines than its header says");
	if (c != ' ' && c != '-' && c != '+')
		return perr(ps, "hunk is shorter than its header says");
	if (c != '+')
		ps->hunk_old--;
	if (c != '-')
		ps->hunk_new--;
	r = visit_line(ps, c);
	if (r < 0)
		return r;
	if (c != '-')
		ps->new_lineno++;
	if (!ps->hunk_old && !ps->hunk_new) {
		ps->state = ST_FILE;
		if (ps->visit && ps->visit->hunk_end)
			r = ps->visit->hunk_end(ps->visit->ctx, json_array_size(ps->out));
	}
	return r < 0 ? al_err_set(ps->err, r, "out of memory") : 0;
}

/* A line that may open a file; returns 1 when it did not. */
static int
try_file_start(struct parser *ps)
{
	if (starts(ps->line, ps->line_len, "diff --git "))
		return start_git(ps);
	if (starts(ps->line, ps->line_len, "--- ") && peek_starts(ps, "+++ "))
		return start_plain(ps);
	return 1;
}

static int
git_header_line(struct parser *ps)
{
	size_t i;
	int r;

	for (i = 0; i < AL_ARRAY_SIZE(git_headers); i++) {
		size_t k = strlen(git_headers[i].prefix);

		if (starts(ps->line, ps->line_len, git_headers[i].prefix))
			return git_headers[i].fn(ps, ps->line + k, ps->line_len - k);
	}
	if (starts(ps->line, ps->line_len, "@@ "))
		return start_hunk(ps);
	r = try_file_start(ps);
	if (r != 1)
		return r;
	/* the header is over and the file had no hunks (mode change, pure rename) */
	ps->state = ST_OUTSIDE;
	return finish_file(ps);
}

static int
dispatch(struct parser *ps)
{
	int r;

	switch (ps->state) {
	case ST_HUNK:
		return hunk_line(ps);
	case ST_GIT_HEADER:
		return git_header_line(ps);
	case ST_FILE:
		if (starts(ps->line, ps->line_len, "@@ "))
			return start_hunk(ps);
		if (ps->line_len && ps->line[0] == '\\')
			return 0;
		r = try_file_start(ps);
		if (r != 1)
			return r;
		ps->state = ST_OUTSIDE;
		return finish_file(ps);
	case ST_OUTSIDE:
		if (starts(ps->line, ps->line_len, "@@ "))
			return perr(ps, "hunk without a file header");
		r = try_file_start(ps);
		return r == 1 ? 0 : r;
	}
	return perr(ps, "internal parser state");
}

static int
parse_all(struct parser *ps)
{
	const char *nul = memchr(ps->data, '\0', ps->len);
	int r;

	if (nul)
		return al_err_set(ps->err, -EBADMSG, "patch contains a NUL byte at offset %zu",
				  (size_t)(nul - ps->data));
	while ((r = next_line(ps)) > 0) {
		r = dispatch(ps);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	if (ps->state == ST_HUNK)
		return perr(ps, "patch ends inside a hunk");
	if (ps->in_file && (r = finish_file(ps)) < 0)
		return r;
	if (json_array_size(ps->out) == 0)
		return al_err_set(ps->err, -EBADMSG, "no file changes found");
	return 0;
}

int
al_gates_patch_files(const char *patch, size_t len, json_t **ret, struct al_err *err)
{
	return al_gates_patch_parse(patch, len, NULL, ret, err);
}

int
al_gates_patch_parse(const char *patch, size_t len, const struct al_patch_visitor *v, json_t **ret,
		     struct al_err *err)
{
	struct parser ps = {.data = patch, .len = len, .visit = v, .err = err};
	int r;

	if (!ret || (!patch && len))
		return al_err_set(err, -EINVAL, "no patch");
	ps.out = json_array();
	if (!ps.out)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (!patch)
		ps.data = "";
	r = parse_all(&ps);
	pfile_clear(&ps.f);
	if (r < 0) {
		json_decref(ps.out);
		return r;
	}
	*ret = ps.out;
	return 0;
}
