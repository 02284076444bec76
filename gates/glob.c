/* Path globs, test id and repository path checks. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "gates/internal.h"

/* Bytes in the character at s, so '?' takes a whole UTF-8 character. */
static size_t
char_len(const char *s, size_t n)
{
	unsigned char c = (unsigned char)s[0];
	size_t k = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	return k <= n ? k : 1;
}

/* One segment against one glob segment: '*' any run, '?' one character. */
static int
seg_match(const char *g, size_t gn, const char *s, size_t sn)
{
	size_t gi = 0, si = 0, star = SIZE_MAX, mark = 0;

	while (si < sn) {
		if (gi < gn && g[gi] == '*') {
			star = gi++;
			mark = si;
		} else if (gi < gn && g[gi] == '?') {
			gi++;
			si += char_len(s + si, sn - si);
		} else if (gi < gn && g[gi] == s[si]) {
			gi++;
			si++;
		} else if (star != SIZE_MAX) {
			gi = star + 1;
			mark += char_len(s + mark, sn - mark);
			si = mark;
		} else {
			return 0;
		}
	}
	while (gi < gn && g[gi] == '*')
		gi++;
	return gi == gn;
}

/* Segments are addressed by their start offset; `end` (one past the string) means
 * there are no more of them. */
static size_t
seg_len(const char *s, size_t pos, size_t len)
{
	const char *slash = memchr(s + pos, '/', len - pos);

	return slash ? (size_t)(slash - (s + pos)) : len - pos;
}

static size_t
seg_next(const char *s, size_t pos, size_t len)
{
	return pos + seg_len(s, pos, len) + 1;
}

static int
is_globstar(const char *g, size_t pos, size_t len)
{
	return seg_len(g, pos, len) == 2 && g[pos] == '*' && g[pos + 1] == '*';
}

int
al_gates_glob_match(const char *glob, const char *path)
{
	size_t glen = strlen(glob), plen = strlen(path);
	size_t gend = glen + 1, pend = plen + 1;
	size_t g = 0, p = 0, star_g = SIZE_MAX, star_p = 0;

	/* "**" takes whole segments; on a mismatch it takes one more and retries. */
	for (;;) {
		if (g != gend && is_globstar(glob, g, glen)) {
			g = seg_next(glob, g, glen);
			star_g = g;
			star_p = p;
			continue;
		}
		if (p == pend)
			break;
		if (g != gend &&
		    seg_match(glob + g, seg_len(glob, g, glen), path + p, seg_len(path, p, plen))) {
			g = seg_next(glob, g, glen);
			p = seg_next(path, p, plen);
			continue;
		}
		if (star_g == SIZE_MAX || star_p == pend)
			return 0;
		star_p = seg_next(path, star_p, plen);
		p = star_p;
		g = star_g;
	}
	while (g != gend && is_globstar(glob, g, glen))
		g = seg_next(glob, g, glen);
	return g == gend;
}

int
al_gates_globs_match(const json_t *globs, const char *path)
{
	size_t i;
	json_t *g;

	json_array_foreach (globs, i, g) {
		const char *s = json_string_value(g);

		if (s && al_gates_glob_match(s, path))
			return 1;
	}
	return 0;
}

static int
test_id_char(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("_.:/=+,@[]-", c) != NULL;
}

int
al_gates_test_id_valid(const char *id)
{
	size_t n, i;

	if (!id)
		return 0;
	n = strnlen(id, AL_TEST_ID_MAX + 1);
	if (n == 0 || n > AL_TEST_ID_MAX)
		return 0;
	/* it becomes an argv element: never an option, never a climb out of a directory */
	if (id[0] == '-' || strstr(id, ".."))
		return 0;
	/* a space inside names a test as node, Jest or Mocha do ("clamp high"); it stays
	 * one argv element, and never starts or ends the id */
	for (i = 0; i < n; i++)
		if (!test_id_char(id[i]) && !(id[i] == ' ' && i > 0 && i + 1 < n))
			return 0;
	return 1;
}

static const char *
segment_problem(const char *seg, size_t n)
{
	if (n == 0)
		return "has an empty segment";
	if (n == 1 && seg[0] == '.')
		return "has a '.' segment";
	if (n == 2 && seg[0] == '.' && seg[1] == '.')
		return "has a '..' segment";
	if (n == 4 && strncasecmp(seg, ".git", 4) == 0)
		return "is inside .git";
	return NULL;
}

const char *
al_gates_path_problem(const char *path)
{
	size_t len = strlen(path), pos = 0, i;
	const char *why;

	if (len == 0)
		return "is empty";
	if (path[0] == '/')
		return "is absolute";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)path[i];

		if (c < 0x20 || c == 0x7f)
			return "contains a control character";
		if (c == '\\')
			return "contains a backslash";
	}
	while (pos <= len) {
		size_t n = seg_len(path, pos, len);

		why = segment_problem(path + pos, n);
		if (why)
			return why;
		pos += n + 1;
	}
	return NULL;
}

bool
al_gates_ref_valid(const char *s, size_t n)
{
	size_t i;

	if (n < 6 || n > AL_POLICY_REF_MAX || strlen(s) != n || strncmp(s, "refs/", 5) != 0 ||
	    s[n - 1] == '/' || s[n - 1] == '.')
		return false;
	if (strstr(s, "..") || strstr(s, "//") || strstr(s, "@{") || strstr(s, "/.") ||
	    strstr(s, ".lock/") || (n >= 5 && !strcmp(s + n - 5, ".lock")))
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || c == '~' || c == '^' || c == ':' || c == '\\' ||
		    c == '[')
			return false;
	}
	return true;
}
