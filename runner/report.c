/* Per-test reports (JUnit XML, TAP) written by test commands: hostile bytes parsed into
 * outcomes outside the sandbox.  The only file that includes libxml2's headers. */
#include "runner/report.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>

#include "lib/buf.h"
#include "lib/macros.h"
#include "lib/utf8.h"

/* ---- outcomes and the result set ---- */

/* Ordered by severity: merging duplicates keeps the larger. */
enum outcome { OUT_SKIPPED, OUT_PASSED, OUT_FAILED, OUT_ERROR };
static const char *const outcome_names[] = {"skipped", "passed", "failed", "error"};

struct tests {
	json_t *list;  /* owned: [{"id","outcome"}] in the order first met */
	json_t *index; /* owned: id -> position << 2 | outcome */
	size_t seen;   /* test cases or points, duplicates included */
};

static void
tests_clear(struct tests *t)
{
	json_decref(t->list);
	json_decref(t->index);
}

static int
tests_init(struct tests *t)
{
	*t = (struct tests){json_array(), json_object(), 0};
	if (!t->list || !t->index) {
		tests_clear(t);
		return -ENOMEM;
	}
	return 0;
}

/* Why id is not acceptable as a test id, or NULL; -ENOMEM in *ret when checking failed. */
static const char *
id_refusal(const char *id, size_t n, int *ret)
{
	_cleanup_free_ char *clean = NULL;
	size_t clean_len = 0;

	*ret = 0;
	if (n == 0)
		return "empty test id";
	if (n > AL_REPORT_MAX_ID)
		return "test id longer than " AL_STRINGIFY(AL_REPORT_MAX_ID) " bytes";
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f)
			return "control character in a test id";
	clean = al_utf8_sanitize(id, n, &clean_len);
	if (!clean) {
		*ret = -ENOMEM;
		return NULL;
	}
	if (clean_len != n || memcmp(clean, id, n) != 0)
		return "test id is not valid UTF-8";
	return NULL;
}

/* Adds one test (id is NUL-terminated, n bytes), or merges it into the entry of its id. */
static int
tests_add(struct tests *t, const char *id, size_t n, enum outcome o, struct al_err *err)
{
	const char *why;
	json_t *entry, *at;
	size_t pos;
	int r;

	if (++t->seen > AL_REPORT_MAX_TESTS)
		return al_err_set(err, -EBADMSG,
				  "more than " AL_STRINGIFY(AL_REPORT_MAX_TESTS) " tests");
	why = id_refusal(id, n, &r);
	if (r < 0)
		return r;
	if (why)
		return al_err_set(err, -EBADMSG, "%s", why);
	at = json_object_get(t->index, id);
	if (at) {
		json_int_t v = json_integer_value(at);
		enum outcome had = (enum outcome)(v & 3);

		if (o <= had)
			return 0;
		pos = (size_t)(v >> 2);
		entry = json_array_get(t->list, pos);
		if (json_object_set_new(entry, "outcome", json_string(outcome_names[o])) < 0 ||
		    json_integer_set(at, (json_int_t)(pos << 2 | o)) < 0)
			return -ENOMEM;
		return 0;
	}
	pos = json_array_size(t->list);
	entry = json_pack("{s:s%,s:s}", "id", id, n, "outcome", outcome_names[o]);
	if (!entry || json_array_append_new(t->list, entry) < 0 ||
	    json_object_set_new(t->index, id, json_integer((json_int_t)(pos << 2 | o))) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- JUnit XML, read with libxml2's SAX2 interface (no tree is built) ---- */

enum junit_kind { J_SUITES, J_SUITE, J_CASE, J_OTHER };

struct junit {
	xmlParserCtxtPtr ctxt;
	struct tests *tests;
	struct al_err *err;
	int failed; /* -errno once refused (err says why); the parser is then stopped */
	unsigned depth;
	enum junit_kind kind[AL_REPORT_MAX_DEPTH + 1];
	char *suite[AL_REPORT_MAX_DEPTH + 1]; /* owned: a nested <testsuite>'s name, or NULL */
	char *case_name, *case_class;	      /* owned: of the open <testcase> */
	enum outcome case_outcome;
	int case_line;
};

static void
junit_fail(struct junit *j, int code, const char *why)
{
	if (!j->failed)
		al_err_set(j->err, code, "line %d: %s", xmlSAX2GetLineNumber(j->ctxt), why);
	if (!j->failed)
		j->failed = code;
	xmlStopParser(j->ctxt);
}

/* A copy of attribute name's value, cut one byte past the id cap so that an over-long
 * value is still seen as one; NULL when absent.  Without entity substitution libxml2
 * hands every '&' of a value over as "&#38;" (and nothing else as '&'): undone here. */
static char *
junit_attr(const xmlChar **attrs, int n, const char *name, int *ret)
{
	*ret = 0;
	for (int i = 0; i < n; i++) {
		const xmlChar **a = attrs + 5 * i; /* localname, prefix, URI, value, end */
		const char *p = (const char *)a[3], *e = (const char *)a[4];
		size_t len = 0;
		char *v;

		if (a[1] || strcmp((const char *)a[0], name) != 0)
			continue;
		v = malloc(AL_REPORT_MAX_ID + 2);
		if (!v) {
			*ret = -ENOMEM;
			return NULL;
		}
		while (p < e && len <= AL_REPORT_MAX_ID) {
			v[len++] = *p;
			p += *p == '&' && e - p >= 5 && memcmp(p, "&#38;", 5) == 0 ? 5 : 1;
		}
		v[len] = '\0';
		return v;
	}
	return NULL;
}

static enum junit_kind
junit_kind_of(const struct junit *j, const xmlChar *name, const xmlChar *uri)
{
	enum junit_kind parent = j->depth ? j->kind[j->depth - 1] : J_OTHER;
	const char *n = (const char *)name;

	if (uri)
		return J_OTHER;
	if (j->depth == 0)
		return strcmp(n, "testsuites") == 0  ? J_SUITES
		       : strcmp(n, "testsuite") == 0 ? J_SUITE
						     : J_OTHER;
	if (parent == J_SUITES || parent == J_SUITE) {
		if (strcmp(n, "testsuite") == 0)
			return J_SUITE;
		if (strcmp(n, "testcase") == 0)
			return J_CASE;
	}
	return J_OTHER;
}

static void
junit_case_outcome(struct junit *j, const char *child)
{
	enum outcome o = strcmp(child, "error") == 0	 ? OUT_ERROR
			 : strcmp(child, "failure") == 0 ? OUT_FAILED
			 : strcmp(child, "skipped") == 0 ? OUT_SKIPPED
							 : OUT_PASSED;

	/* a case with no such child passed; with several, the worst counts, where a
	 * <skipped> beside a <failure> (node's failing todo) does not hide the failure */
	if (o == OUT_PASSED)
		return;
	if (j->case_outcome == OUT_PASSED || o > j->case_outcome)
		j->case_outcome = o;
}

static void
junit_start(void *ctx, const xmlChar *name, const xmlChar *prefix AL_UNUSED, const xmlChar *uri,
	    int nb_namespaces AL_UNUSED, const xmlChar **namespaces AL_UNUSED, int nb_attributes,
	    int nb_defaulted AL_UNUSED, const xmlChar **attrs)
{
	struct junit *j = ctx;
	enum junit_kind k;
	int r = 0;

	if (j->failed)
		return;
	if (j->depth == AL_REPORT_MAX_DEPTH) {
		junit_fail(j, -EBADMSG,
			   "elements nested deeper than " AL_STRINGIFY(AL_REPORT_MAX_DEPTH));
		return;
	}
	k = junit_kind_of(j, name, uri);
	if (j->depth == 0 && k == J_OTHER) {
		junit_fail(j, -EBADMSG, "the root element is not <testsuites> or <testsuite>");
		return;
	}
	if (k == J_SUITE && j->depth > 0)
		j->suite[j->depth] = junit_attr(attrs, nb_attributes, "name", &r);
	if (k == J_CASE) {
		j->case_name = junit_attr(attrs, nb_attributes, "name", &r);
		if (r == 0)
			j->case_class = junit_attr(attrs, nb_attributes, "classname", &r);
		j->case_outcome = OUT_PASSED;
		j->case_line = xmlSAX2GetLineNumber(j->ctxt);
	}
	if (j->depth > 0 && j->kind[j->depth - 1] == J_CASE && !uri)
		junit_case_outcome(j, (const char *)name);
	j->kind[j->depth++] = k;
	if (r < 0)
		junit_fail(j, r, "out of memory");
}

/* The id rule of al_report_parse's comment, into b. */
static int
junit_case_id(const struct junit *j, struct al_buf *b)
{
	const char *name = j->case_name, *cls = j->case_class;
	int r = 0;

	if (cls && *cls && strcmp(cls, "test") != 0 && strcmp(cls, name) != 0)
		return al_buf_printf(b, "%s.%s", cls, name);
	if (!cls || strcmp(cls, name) != 0)
		for (unsigned d = 1; d + 1 < j->depth && r == 0; d++)
			if (j->kind[d] == J_SUITE && j->suite[d] && *j->suite[d])
				r = al_buf_printf(b, "%s.", j->suite[d]);
	return r < 0 ? r : al_buf_puts(b, name);
}

static void
junit_case_end(struct junit *j)
{
	struct al_buf b;
	int r;

	if (!j->case_name || !*j->case_name) {
		j->failed = al_err_set(j->err, -EBADMSG, "line %d: <testcase> without a name",
				       j->case_line);
		xmlStopParser(j->ctxt);
		return;
	}
	al_buf_init(&b, AL_REPORT_MAX_ID);
	r = junit_case_id(j, &b);
	if (r == 0)
		r = tests_add(j->tests, b.data, b.len, j->case_outcome, j->err);
	else if (r == -E2BIG)
		r = al_err_set(j->err, -EBADMSG,
			       "test id longer than " AL_STRINGIFY(AL_REPORT_MAX_ID) " bytes");
	al_buf_free(&b);
	if (r < 0) {
		al_err_prefix(j->err, "line %d", j->case_line);
		j->failed = r;
		xmlStopParser(j->ctxt);
	}
}

static void
junit_end(void *ctx, const xmlChar *name AL_UNUSED, const xmlChar *prefix AL_UNUSED,
	  const xmlChar *uri AL_UNUSED)
{
	struct junit *j = ctx;

	if (j->failed || j->depth == 0)
		return;
	if (j->kind[j->depth - 1] == J_CASE) {
		junit_case_end(j);
		free(j->case_name);
		free(j->case_class);
		j->case_name = j->case_class = NULL;
	}
	j->depth--;
	free(j->suite[j->depth]);
	j->suite[j->depth] = NULL;
}

/* A DTD is where entities (billion laughs, external files) come from: none is accepted,
 * and the parser stops at its start, before any declaration is read. */
static void
junit_dtd(void *ctx, const xmlChar *name AL_UNUSED, const xmlChar *external_id AL_UNUSED,
	  const xmlChar *system_id AL_UNUSED)
{
	junit_fail(ctx, -EBADMSG, "a DOCTYPE is refused");
}

static void
junit_entity_decl(void *ctx, const xmlChar *name AL_UNUSED, int type AL_UNUSED,
		  const xmlChar *public_id AL_UNUSED, const xmlChar *system_id AL_UNUSED,
		  xmlChar *content AL_UNUSED)
{
	junit_fail(ctx, -EBADMSG, "an entity declaration is refused");
}

/* libxml2's first error, made one printable line; nothing goes to stderr. */
static void
junit_error(void *ctx, xmlErrorPtr e)
{
	struct junit *j = ctx;
	char msg[200];
	size_t n;

	if (j->failed || !e || e->level < XML_ERR_ERROR)
		return;
	snprintf(msg, sizeof(msg), "%s", e->message ? e->message : "not well-formed XML");
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
		msg[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] >= 0x7f)
			msg[i] = '?';
	j->failed = al_err_set(j->err, -EBADMSG, "line %d: %s", e->line, msg);
}

static int
junit_parse(const char *data, size_t len, struct tests *t, struct al_err *err)
{
	xmlSAXHandler sax = {
	    .initialized = XML_SAX2_MAGIC,
	    .startElementNs = junit_start,
	    .endElementNs = junit_end,
	    .internalSubset = junit_dtd,
	    .externalSubset = junit_dtd,
	    .entityDecl = junit_entity_decl,
	    .serror = junit_error,
	};
	struct junit j = {.tests = t, .err = err};
	int r = 0;

	xmlInitParser();
	j.ctxt = xmlCreateMemoryParserCtxt(data, (int)len);
	if (!j.ctxt)
		return len == 0 ? al_err_set(err, -EBADMSG, "empty report") : -ENOMEM;
	*j.ctxt->sax = sax;
	j.ctxt->userData = &j;
	/* no network, and the document's own encoding label is not believed (UTF-8 or a
	 * UTF-16 byte order mark only); entities are never substituted (no XML_PARSE_NOENT) */
	xmlCtxtUseOptions(j.ctxt, XML_PARSE_NONET | XML_PARSE_IGNORE_ENC);
	xmlParseDocument(j.ctxt);
	if (j.failed)
		r = j.failed;
	else if (!j.ctxt->wellFormed)
		r = al_err_set(err, -EBADMSG, "not well-formed XML");
	for (unsigned d = 0; d <= AL_REPORT_MAX_DEPTH; d++)
		free(j.suite[d]);
	free(j.case_name);
	free(j.case_class);
	xmlFreeParserCtxt(j.ctxt);
	return r;
}

/* ---- TAP ---- */

struct tap {
	struct tests *tests;
	size_t n;	    /* top-level test points */
	long plan;	    /* -1 until "1..N" */
	size_t plan_at;	    /* test points seen before it: more after it are refused */
	unsigned line;	    /* 1-based */
	int in_yaml;	    /* inside a "---" ... "..." block */
	size_t yaml_indent; /* of its "---" */
};

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
starts(const char *p, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(p, prefix, k) == 0;
}

static int
starts_nocase(const char *p, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && strncasecmp(p, prefix, k) == 0;
}

/* Decimal digits at *p, at most 9; -1 when none or too many. */
static long
tap_number(const char **p, const char *e)
{
	long v = 0;
	int digits = 0;

	while (*p < e && **p >= '0' && **p <= '9') {
		if (++digits > 9)
			return -1;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	return digits ? v : -1;
}

static int
tap_plan(struct tap *t, const char *p, const char *e, struct al_err *err)
{
	long n;

	p += 3; /* "1.." */
	n = tap_number(&p, e);
	while (p < e && is_blank(*p))
		p++;
	if (n < 0 || (p < e && *p != '#'))
		return al_err_set(err, -EBADMSG, "line %u: malformed plan", t->line);
	if (t->plan >= 0)
		return al_err_set(err, -EBADMSG, "line %u: a second plan", t->line);
	if (n > AL_REPORT_MAX_TESTS)
		return al_err_set(
		    err, -EBADMSG,
		    "line %u: plan of more than " AL_STRINGIFY(AL_REPORT_MAX_TESTS) " tests",
		    t->line);
	t->plan = n;
	t->plan_at = t->n;
	return 0;
}

/* Check writes "FILE:TCASE:TEST: MESSAGE", and the message changes with the outcome:
 * the length of the FILE:TCASE:TEST part, or 0 when p has not that shape. */
static size_t
check_shape(const char *p, const char *e)
{
	const char *s = p;

	for (int field = 0; field < 3; field++) {
		const char *f = s;

		while (s < e && *s != ':' && !is_blank(*s) && *s != '#' && *s != '\\')
			s++;
		if (s == f || s == e || *s != ':')
			return 0;
		if (field < 2)
			s++;
	}
	return s + 2 < e && s[1] == ' ' ? (size_t)(s - p) : 0;
}

/* The description of a test point into b: up to the first unescaped '#', "\#" and "\\"
 * unescaped, blanks trimmed; *ret_directive points at what follows the '#', or is NULL. */
static int
tap_description(const char *p, const char *e, struct al_buf *b, const char **ret_directive)
{
	size_t cut = check_shape(p, e);
	int r = 0;

	*ret_directive = NULL;
	for (; p < e && r == 0; p++) {
		if (*p == '#') {
			*ret_directive = p + 1;
			break;
		}
		if (*p == '\\' && p + 1 < e && (p[1] == '#' || p[1] == '\\'))
			p++;
		if (cut == 0 || b->len < cut)
			r = al_buf_append(b, p, 1);
	}
	while (r == 0 && b->len > 0 && is_blank(b->data[b->len - 1]))
		b->data[--b->len] = '\0';
	return r;
}

static int
tap_test_point(struct tap *t, const char *p, const char *e, struct al_err *err)
{
	const char *directive;
	enum outcome o;
	struct al_buf b;
	long num;
	int ok = !starts(p, (size_t)(e - p), "not ok"), r;

	p += ok ? 2 : 6;
	while (p < e && is_blank(*p))
		p++;
	if (p < e && *p >= '0' && *p <= '9') {
		const char *q = p;

		num = tap_number(&q, e);
		if (q == e || is_blank(*q) || *q == '#') {
			if (num < 0 || (size_t)num != t->n + 1)
				return al_err_set(
				    err, -EBADMSG,
				    "line %u: test number out of sequence (expected %zu)", t->line,
				    t->n + 1);
			p = q;
		}
	}
	while (p < e && is_blank(*p))
		p++;
	if (p < e && *p == '-' && (p + 1 == e || is_blank(p[1])))
		for (p++; p < e && is_blank(*p); p++)
			;
	if (t->plan >= 0 && t->plan_at > 0)
		return al_err_set(err, -EBADMSG, "line %u: a test point after the plan", t->line);
	t->n++;
	al_buf_init(&b, AL_REPORT_MAX_ID);
	r = tap_description(p, e, &b, &directive);
	if (r == 0 && b.len == 0)
		r = al_buf_printf(&b, "%zu", t->n);
	if (directive)
		while (directive < e && is_blank(*directive))
			directive++;
	if (directive && starts_nocase(directive, (size_t)(e - directive), "todo"))
		o = OUT_SKIPPED;
	else if (directive && starts_nocase(directive, (size_t)(e - directive), "skip"))
		o = ok ? OUT_SKIPPED : OUT_FAILED;
	else
		o = ok ? OUT_PASSED : OUT_FAILED;
	if (r == 0)
		r = tests_add(t->tests, b.data, b.len, o, err);
	else if (r == -E2BIG)
		r = al_err_set(err, -EBADMSG,
			       "test id longer than " AL_STRINGIFY(AL_REPORT_MAX_ID) " bytes");
	al_buf_free(&b);
	if (r < 0)
		al_err_prefix(err, "line %u", t->line);
	return r;
}

/* One line without its end of line: indent bytes of blanks, then n bytes at p. */
static int
tap_line(struct tap *t, size_t indent, const char *p, size_t n, struct al_err *err)
{
	if (t->in_yaml) {
		if (indent == t->yaml_indent && n == 3 && memcmp(p, "...", 3) == 0)
			t->in_yaml = 0;
		return 0;
	}
	if (indent > 0 && n == 3 && memcmp(p, "---", 3) == 0) {
		t->in_yaml = 1;
		t->yaml_indent = indent;
		return 0;
	}
	/* a subtest's bail out ends the whole run too */
	if (starts(p, n, "Bail out!"))
		return al_err_set(err, -EBADMSG, "line %u: Bail out!", t->line);
	if (indent > 0)
		return 0;
	if (starts(p, n, "TAP version")) {
		if (t->line != 1)
			return al_err_set(err, -EBADMSG, "line %u: a TAP version line after line 1",
					  t->line);
		if (!((n == 14 &&
		       (starts(p, n, "TAP version 13") || starts(p, n, "TAP version 14")))))
			return al_err_set(err, -EBADMSG, "line 1: unsupported TAP version");
		return 0;
	}
	if (starts(p, n, "1.."))
		return tap_plan(t, p, p + n, err);
	if ((starts(p, n, "ok") && (n == 2 || is_blank(p[2]))) ||
	    (starts(p, n, "not ok") && (n == 6 || is_blank(p[6]))))
		return tap_test_point(t, p, p + n, err);
	return 0; /* comments, pragmas, anything else: TAP ignores them */
}

static int
tap_parse(const char *data, size_t len, struct tests *tests, struct al_err *err)
{
	struct tap t = {.tests = tests, .plan = -1};
	const char *p = data, *end = data + len;
	int r;

	if (len == 0)
		return al_err_set(err, -EBADMSG, "empty report");
	if (memchr(data, '\0', len))
		return al_err_set(err, -EBADMSG, "NUL byte in a TAP report");
	if (data[len - 1] != '\n')
		return al_err_set(err, -EBADMSG, "the last line has no newline: truncated");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl;
		size_t indent = 0;

		t.line++;
		if (e > p && e[-1] == '\r')
			e--;
		while (p + indent < e && is_blank(p[indent]))
			indent++;
		r = tap_line(&t, indent, p + indent, (size_t)(e - p) - indent, err);
		if (r < 0)
			return r;
		p = nl + 1;
	}
	if (t.in_yaml)
		return al_err_set(err, -EBADMSG, "unfinished YAML block: truncated");
	if (t.plan < 0)
		return al_err_set(err, -EBADMSG, "no plan (1..N)");
	if ((size_t)t.plan != t.n)
		return al_err_set(err, -EBADMSG, "plan 1..%ld but %zu tests", t.plan, t.n);
	return 0;
}

/* ---- the interface ---- */

int
al_report_format_parse(const char *name, enum al_report_format *ret)
{
	if (name && strcmp(name, "junit") == 0)
		*ret = AL_REPORT_JUNIT;
	else if (name && strcmp(name, "tap") == 0)
		*ret = AL_REPORT_TAP;
	else
		return -EINVAL;
	return 0;
}

int
al_report_parse(enum al_report_format f, const char *data, size_t len, json_t **ret_tests,
		struct al_err *err)
{
	struct tests t;
	int r;

	if (len > AL_REPORT_MAX_BYTES)
		return al_err_set(err, -EBADMSG, "report larger than %u bytes",
				  AL_REPORT_MAX_BYTES);
	r = tests_init(&t);
	if (r < 0)
		return r;
	r = f == AL_REPORT_JUNIT ? junit_parse(data, len, &t, err) : tap_parse(data, len, &t, err);
	if (r == 0)
		*ret_tests = json_incref(t.list);
	tests_clear(&t);
	return r;
}
