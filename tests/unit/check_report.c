#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/fileio.h"
#include "lib/macros.h"
#include "gates/internal.h"
#include "runner/report.h"

/* Results are written "P id|F id|E id|S id" (passed, failed, error, skipped), in order. */
static char *
summary(const json_t *tests)
{
	struct al_buf b;
	const json_t *t;
	size_t i;

	al_buf_init(&b, 1u << 20);
	json_array_foreach (tests, i, t) {
		const char *o = json_string_value(json_object_get(t, "outcome"));

		ck_assert_uint_eq(json_object_size(t), 2);
		ck_assert_int_eq(al_buf_printf(&b, "%s%c %s", i ? "|" : "", o[0] - 'a' + 'A',
					       json_string_value(json_object_get(t, "id"))),
				 0);
	}
	return b.data ? al_buf_steal(&b, NULL) : strdup("");
}

static void
expect_parsed(enum al_report_format f, const char *data, size_t len, const char *want)
{
	struct al_err err = {0};
	json_t *tests = NULL;
	char *got;

	ck_assert_msg(al_report_parse(f, data, len, &tests, &err) == 0, "%s", err.msg);
	got = summary(tests);
	ck_assert_str_eq(got, want);
	free(got);
	json_decref(tests);
}

static void
expect_refused(enum al_report_format f, const char *data, size_t len, const char *want)
{
	struct al_err err = {0};
	json_t *tests = NULL;

	ck_assert_msg(al_report_parse(f, data, len, &tests, &err) == -EBADMSG,
		      "accepted, want \"%s\"", want);
	ck_assert_ptr_null(tests);
	ck_assert_msg(strstr(err.msg, want), "got \"%s\", want \"%s\"", err.msg, want);
	ck_assert_ptr_null(strchr(err.msg, '\n'));
}

/* Real reports, each named after the tool and version that wrote it. */
static const struct {
	const char *file;
	enum al_report_format format;
	const char *want;
} fixtures[] = {
    {"pytest-7.2.1.xml", AL_REPORT_JUNIT,
     "P tests.test_calc.test_add|F tests.test_calc.test_add_wrong|S tests.test_calc.test_skipped|"
     "E tests.test_calc.test_fixture_error|P tests.test_calc.test_param[1-1-2]|"
     "F tests.test_calc.test_param[2-2-5]|P tests.test_calc.TestCalc.test_method|"
     "P tests.test_calc.CalcCase.test_case|F tests.test_calc.CalcCase.test_fails|"
     "S tests.test_calc.CalcCase.test_later|P tests.sub.test_deep.test_deep"},
    {"xmlrunner-3.2.0.xml", AL_REPORT_JUNIT,
     "P tests.test_calc.CalcCase.test_case|F tests.test_calc.CalcCase.test_fails|"
     "S tests.test_calc.CalcCase.test_later|P tests.test_more.Other.test_ok|"
     "F tests.test_more.Other.test_sub (i=1)|E tests.test_more.Other.test_raises|"
     "S tests.test_more.Other.test_xfail"},
    /* classname="test" everywhere; "adds numbers" is in two files (one entry); a failing
     * todo carries <skipped> and <failure>: failed */
    {"node-20.20.2.xml", AL_REPORT_JUNIT,
     "P adds numbers|F fails on purpose|S skipped one|F todo one|P parser.parses empty|"
     "F parser.nested.parses deep|P with subtests.sub a|P with subtests.sub b"},
    /* only top-level test points: a suite is one test */
    {"node-20.20.2.tap", AL_REPORT_TAP,
     "P adds numbers|F fails on purpose|S skipped one|S todo one|F parser|P with subtests"},
    {"ctest-3.25.1.xml", AL_REPORT_JUNIT, "P math.add|F math.sub|S skipper|S missing"},
    /* the message after FILE:TCASE:TEST is not part of the id; a loop test is one id */
    {"check-0.15.2.tap", AL_REPORT_TAP, "P t.c:core:adds|F t.c:core:fails|F t.c:core:loops"},
    {"perl-test-more-1.302190.tap", AL_REPORT_TAP,
     "P adds numbers|F fails on purpose|S 3|S todo thing|P grouped|P 6"},
};

START_TEST(real_reports)
{
	struct al_err err = {0};
	char path[256], *data = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "tests/fixtures/reports/%s", fixtures[_i].file);
	ck_assert_msg(al_file_read(path, AL_REPORT_MAX_BYTES, &data, &len, &err) == 0, "%s",
		      err.msg);
	expect_parsed(fixtures[_i].format, data, len, fixtures[_i].want);
	free(data);
}
END_TEST

#define XML "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"

static const struct {
	const char *in;
	const char *want;
} junit_good[] = {
    {XML "<testsuites/>", ""},
    {XML "<testsuite name=\"root\"><testcase classname=\"a.B\" name=\"t\"/></testsuite>",
     "P a.B.t"},
    /* the worst child: error > failure > skipped */
    {"<testsuite><testcase classname=\"c\" name=\"t1\"><skipped/><failure/></testcase>"
     "<testcase classname=\"c\" name=\"t2\"><failure/><error/></testcase>"
     "<testcase classname=\"c\" name=\"t3\"><error/><skipped/></testcase>"
     "<testcase classname=\"c\" name=\"t4\"><properties/>x</testcase></testsuite>",
     "F c.t1|E c.t2|E c.t3|P c.t4"},
    /* duplicates keep the worst, in the place first met */
    {"<testsuites><testsuite name=\"a\"><testcase classname=\"c\" name=\"t\"/>"
     "<testcase classname=\"c\" name=\"u\"><skipped/></testcase></testsuite>"
     "<testsuite name=\"b\"><testcase classname=\"c\" name=\"t\"><failure/></testcase>"
     "<testcase classname=\"c\" name=\"u\"/><testcase classname=\"c\" name=\"t\"/>"
     "</testsuite></testsuites>",
     "F c.t|P c.u"},
    /* no classname or node's "test": the suites below the root */
    {"<testsuites name=\"run\"><testsuite name=\"outer\"><testsuite name=\"\">"
     "<testsuite name=\"inner\"><testcase name=\"x y\"/><testcase classname=\"test\" "
     "name=\"z\"/><testcase classname=\"\" name=\"w\"/></testsuite></testsuite></testsuite>"
     "<testcase name=\"top\"/></testsuites>",
     "P outer.inner.x y|P outer.inner.z|P outer.inner.w|P top"},
    /* ctest: classname equal to name */
    {"<testsuite name=\"(empty)\"><testcase name=\"m.add\" classname=\"m.add\"/></testsuite>",
     "P m.add"},
    /* go-junit-report's shape: the package path, subtests after "/" */
    {"<testsuites tests=\"2\"><testsuite name=\"example.com/calc\"><properties><property "
     "name=\"go.version\" value=\"go1.22\"/></properties><testcase name=\"TestAdd\" "
     "classname=\"example.com/calc\"/><testcase name=\"TestAdd/neg\" "
     "classname=\"example.com/calc\"><failure message=\"Failed\"/></testcase>"
     "</testsuite></testsuites>",
     "P example.com/calc.TestAdd|F example.com/calc.TestAdd/neg"},
    /* cargo-nextest's shape: a rerun failure still fails, a flaky test passed */
    {"<testsuites name=\"nextest-run\"><testsuite name=\"calc::basic\"><testcase "
     "name=\"tests::adds\" classname=\"calc::basic\"><failure type=\"test failure\"/>"
     "<rerunFailure type=\"test failure\"/></testcase><testcase name=\"flaky\" "
     "classname=\"calc::basic\"><flakyFailure/></testcase></testsuite></testsuites>",
     "F calc::basic.tests::adds|P calc::basic.flaky"},
    /* a testcase out of place, a namespaced one, and markup inside a case are not tests */
    {"<testsuite xmlns:x=\"urn:x\"><properties><testcase name=\"hidden\"/></properties>"
     "<x:testcase name=\"ns\"/><testcase classname=\"c\" name=\"t\"><x:failure/><testcase "
     "name=\"inner\"/></testcase></testsuite>",
     "P c.t"},
    /* character references and CDATA are fine; predefined entities too */
    {"<testsuite><testcase classname=\"c\" name=\"&#233;&lt;&amp;\"><failure><![CDATA[<x>]]>"
     "</failure></testcase></testsuite>",
     "F c.\xc3\xa9<&"},
    /* a UTF-16 document (byte order mark): tested with a BOM-less UTF-8 twin above */
};

START_TEST(junit_parsed)
{
	expect_parsed(AL_REPORT_JUNIT, junit_good[_i].in, strlen(junit_good[_i].in),
		      junit_good[_i].want);
}
END_TEST

#define LAUGHS                                                                         \
	"<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">" \
	"<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;\">]>"

static const struct {
	const char *in;
	const char *want;
} junit_bad[] = {
    {XML LAUGHS "<testsuite><testcase classname=\"c\" name=\"&lol3;\"/></testsuite>",
     "line 2: a DOCTYPE is refused"},
    {XML "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><testsuite><testcase "
	 "classname=\"c\" name=\"&x;\"/></testsuite>",
     "a DOCTYPE is refused"},
    {"<!DOCTYPE testsuite SYSTEM \"http://example.com/junit.dtd\"><testsuite/>",
     "a DOCTYPE is refused"},
    {"<testsuite><testcase classname=\"c\" name=\"&x;\"/></testsuite>", "Entity 'x' not defined"},
    {"", "empty report"},
    {"<testsuite><testcase classname=\"c\" name=\"t\">", "line 1: "},
    {"<testsuite><testcase classname=\"c\" name=\"t\"/></testsuite><testsuite/>", "Extra content"},
    {"<html><testcase classname=\"c\" name=\"t\"/></html>",
     "the root element is not <testsuites> or <testsuite>"},
    {"<x:testsuite xmlns:x=\"urn:x\"/>", "the root element is not"},
    {"<testsuite>\n<testcase classname=\"c\"/></testsuite>", "line 2: <testcase> without a name"},
    {"<testsuite><testcase name=\"\"/></testsuite>", "<testcase> without a name"},
    {"<testsuite><testcase classname=\"c\" name=\"a&#9;b\"/></testsuite>",
     "control character in a test id"},
    /* the declared encoding is not believed: Latin-1 bytes are not UTF-8 */
    {"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><testsuite><testcase classname=\"c\" "
     "name=\"caf\xe9\"/></testsuite>",
     "line 1: "},
    {"\xff\xfe<\0t\0", "line 1: "},
};

START_TEST(junit_refused)
{
	expect_refused(AL_REPORT_JUNIT, junit_bad[_i].in, strlen(junit_bad[_i].in),
		       junit_bad[_i].want);
}
END_TEST

/* Reports built at run time: depth, sizes and counts just within and past their caps. */
static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	struct al_buf b;

	al_buf_init(&b, 64u << 20);
	ck_assert_int_eq(al_buf_puts(&b, head), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(al_buf_puts(&b, unit), 0);
	ck_assert_int_eq(al_buf_puts(&b, tail), 0);
	return al_buf_steal(&b, NULL);
}

START_TEST(junit_caps)
{
	char name[AL_REPORT_MAX_ID + 2], *doc, *open, *close, *want;
	size_t n;

	/* 64 levels of elements are read, 65 are refused */
	open = repeat("<testsuites>", "<testsuite name=\"s\">", AL_REPORT_MAX_DEPTH - 2, "");
	close = repeat("<testcase name=\"t\"/>", "</testsuite>", AL_REPORT_MAX_DEPTH - 2,
		       "</testsuites>");
	doc = repeat(open, "", 0, close);
	want = repeat("P ", "s.", AL_REPORT_MAX_DEPTH - 2, "t");
	expect_parsed(AL_REPORT_JUNIT, doc, strlen(doc), want);
	free(want);
	free(doc);
	doc = repeat(open, "<testsuite>", 1, close);
	expect_refused(AL_REPORT_JUNIT, doc, strlen(doc), "elements nested deeper than 64");
	free(doc);
	free(open);
	free(close);

	/* a test id of exactly the cap, then one byte more */
	memset(name, 'n', sizeof(name));
	name[AL_REPORT_MAX_ID] = '\0';
	doc = repeat("<testsuite><testcase name=\"", name, 1, "\"/></testsuite>");
	want = repeat("P ", name, 1, "");
	expect_parsed(AL_REPORT_JUNIT, doc, strlen(doc), want);
	free(want);
	free(doc);
	name[AL_REPORT_MAX_ID] = 'n';
	name[AL_REPORT_MAX_ID + 1] = '\0';
	doc = repeat("<testsuite><testcase name=\"", name, 1, "\"/></testsuite>");
	expect_refused(AL_REPORT_JUNIT, doc, strlen(doc), "test id longer than 1024 bytes");
	free(doc);
	doc = repeat("<testsuite><testcase classname=\"c", name + 200, 1, "\" name=\"");
	open = repeat(doc, name + 200, 1, "\"/></testsuite>");
	expect_refused(AL_REPORT_JUNIT, open, strlen(open), "test id longer than 1024 bytes");
	free(doc);
	free(open);

	/* a huge attribute that is not an id is fine; a report past the size cap is not */
	doc = repeat("<testsuite><testcase classname=\"c\" name=\"t\"><failure message=\"", "x",
		     1u << 20, "\"/></testcase></testsuite>");
	expect_parsed(AL_REPORT_JUNIT, doc, strlen(doc), "F c.t");
	free(doc);
	doc = repeat("<testsuite>", "<!-- padding -->", AL_REPORT_MAX_BYTES / 16, "</testsuite>");
	n = strlen(doc);
	ck_assert_uint_gt(n, AL_REPORT_MAX_BYTES);
	expect_refused(AL_REPORT_JUNIT, doc, n, "report larger than 8388608 bytes");
	free(doc);

	/* 20000 test cases (duplicates count), then one more */
	doc = repeat("<testsuite>", "<testcase name=\"t\"/>", AL_REPORT_MAX_TESTS, "</testsuite>");
	expect_parsed(AL_REPORT_JUNIT, doc, strlen(doc), "P t");
	free(doc);
	doc = repeat("<testsuite>", "<testcase name=\"t\"/>", AL_REPORT_MAX_TESTS + 1,
		     "</testsuite>");
	expect_refused(AL_REPORT_JUNIT, doc, strlen(doc), "more than 20000 tests");
	free(doc);
}
END_TEST

static const struct {
	const char *in;
	const char *want;
} tap_good[] = {
    {"1..2\nok 1 - a\nnot ok 2 - b\n", "P a|F b"},
    {"TAP version 13\nok 1 a\nok 2\n1..2\n", "P a|P 2"},
    {"TAP version 14\r\nok - a\r\nok\r\n1..2\r\n", "P a|P 2"},
    {"1..0 # SKIP nothing to do here\n", ""},
    /* directives: skip, todo (never judged), a failed skip stays failed */
    {"1..5\nok 1 - a # SKIP later\nok 2 - b # skipped: no db\nnot ok 3 - c # TODO x\n"
     "ok 4 - d # todo\nnot ok 5 - e # SKIP\n",
     "S a|S b|S c|S d|F e"},
    /* "\#" is a '#' of the description; other comments are not directives */
    {"1..2\nok 1 - issue \\#12 \\\\ done # a comment\nok 2 - x#SKIP\n", "P issue #12 \\ done|S x"},
    /* duplicates keep the worst outcome */
    {"1..4\nnot ok 1 - t\nok 2 - t\nok 3 - u # SKIP\nok 4 - u\n", "F t|P u"},
    /* indented subtests and YAML blocks do not count, nor comments or unknown lines */
    {"TAP version 14\n# Subtest: g\n    ok 1 - inner\n    not ok 2 - inner2\n    1..2\n"
     "ok 1 - g\n  ---\n  message: |\n    not ok 7\n  ...\nsome noise\nnot ok 2 - h\n"
     "  ---\n  at: x\n  ...\n1..2\n",
     "P g|F h"},
    /* Check's FILE:TCASE:TEST: MESSAGE; other colons stay */
    {"ok 1 - tests/check_x.c:core:adds: Passed\nnot ok 2 - t.c:core:adds: Assertion 'a' failed\n"
     "ok 3 - note: a:b: c\nok 4 - a:b:c:\n1..4\n",
     "P tests/check_x.c:core:adds|F t.c:core:adds|P note: a:b: c|P a:b:c:"},
};

START_TEST(tap_parsed)
{
	expect_parsed(AL_REPORT_TAP, tap_good[_i].in, strlen(tap_good[_i].in), tap_good[_i].want);
}
END_TEST

static const struct {
	const char *in;
	size_t len; /* 0: strlen */
	const char *want;
} tap_bad[] = {
    {"ok 1 - a\n", 0, "no plan (1..N)"},
    {"1..3\nok 1 - a\nok 2 - b\n", 0, "plan 1..3 but 2 tests"},
    {"ok 1 - a\nok 2 - b\n1..1\n", 0, "plan 1..1 but 2 tests"},
    {"1..1\nok 1 - a\n1..1\n", 0, "line 3: a second plan"},
    {"ok 1 - a\n1..2\nok 2 - b\n", 0, "line 3: a test point after the plan"},
    {"1..2\nok 1 - a\nBail out! database gone\nok 2 - b\n", 0, "line 3: Bail out!"},
    {"1..1\n# Subtest: s\n    Bail out!\nok 1 - s\n", 0, "line 3: Bail out!"},
    {"1..2\nok 1 - a\nok 3 - b\n", 0, "line 3: test number out of sequence (expected 2)"},
    {"1..1\nok 1 - a\n  ---\n  x: 1\n", 0, "unfinished YAML block"},
    {"1..1\nok 1 - a", 0, "truncated"},
    {"1..1\nok 1 - a\0b\n", 16, "NUL byte"},
    {"", 0, "empty report"},
    {"TAP version 12\n1..0\n", 0, "unsupported TAP version"},
    {"1..1\nTAP version 13\nok 1\n", 0, "line 2: a TAP version line after line 1"},
    {"1..x\n", 0, "line 1: malformed plan"},
    {"1..2 tests\nok\nok\n", 0, "line 1: malformed plan"},
    {"1..20001\n", 0, "plan of more than 20000 tests"},
    {"1..1\nok 1 - caf\xe9\n", 0, "line 2: test id is not valid UTF-8"},
    {"1..1\nok 1 - a\tb\n", 0, "line 2: control character in a test id"},
};

START_TEST(tap_refused)
{
	size_t len = tap_bad[_i].len ? tap_bad[_i].len : strlen(tap_bad[_i].in);

	expect_refused(AL_REPORT_TAP, tap_bad[_i].in, len, tap_bad[_i].want);
}
END_TEST

START_TEST(tap_caps)
{
	char *doc, *want, name[AL_REPORT_MAX_ID + 2];

	doc = repeat("1..20000\n", "ok - t\n", AL_REPORT_MAX_TESTS, "");
	expect_parsed(AL_REPORT_TAP, doc, strlen(doc), "P t");
	free(doc);
	doc = repeat("", "ok - t\n", AL_REPORT_MAX_TESTS + 1, "1..20001\n");
	expect_refused(AL_REPORT_TAP, doc, strlen(doc), "more than 20000 tests");
	free(doc);

	memset(name, 'n', sizeof(name));
	name[AL_REPORT_MAX_ID] = '\0';
	doc = repeat("1..1\nok 1 - ", name, 1, "\n");
	want = repeat("P ", name, 1, "");
	expect_parsed(AL_REPORT_TAP, doc, strlen(doc), want);
	free(want);
	free(doc);
	doc = repeat("1..1\nok 1 - ", name, 1, "n\n");
	expect_refused(AL_REPORT_TAP, doc, strlen(doc), "line 2: test id longer than 1024 bytes");
	free(doc);
}
END_TEST

static const struct {
	const char *want, *id;
	int match;
} matches[] = {
    /* pytest node ids name pytest's reported ids */
    {"tests/test_calc.py::test_add", "tests.test_calc.test_add", 1},
    {"./tests/test_calc.py::TestCalc::test_method", "tests.test_calc.TestCalc.test_method", 1},
    {"tests/test_calc.py::test_param[2-2-5]", "tests.test_calc.test_param[2-2-5]", 1},
    {"tests/test_x.py::test_p[a/b.py::c]", "tests.test_x.test_p[a/b.py::c]", 1},
    {"tests/test_x.py::test_p[a/b.py::c]", "tests.test_x.test_p[a.b.c]", 0},
    {"tests/test_calc.py::test_add", "tests.test_calc.test_add_wrong", 0},
    {"tests/a.pyx::t", "tests.a.pyx.t", 1},
    /* unittest's dotted names, and its failed subTests */
    {"tests.test_calc.CalcCase.test_case", "tests.test_calc.CalcCase.test_case", 1},
    {"tests.test_more.Other.test_sub", "tests.test_more.Other.test_sub (i=1)", 1},
    {"tests/test_more.py::Other::test_sub", "tests.test_more.Other.test_sub (i=1)", 1},
    {"tests.test_more.Other.test_su", "tests.test_more.Other.test_sub (i=1)", 0},
    {"tests.test_more.Other.test_sub", "tests.test_more.Other.test_sub (i=1", 0},
    {"parses a", "parses a (b)", 0},
    /* never a part of an id */
    {"test_add", "tests.test_calc.test_add", 0},
    {"tests.test_calc", "tests.test_calc.test_add", 0},
    {"parses deep", "parser.nested.parses deep", 0},
    {"parser.nested.parses deep", "parser.nested.parses deep", 1},
    /* names with '/' compared as written: go, Check, nextest */
    {"example.com/calc.TestAdd/neg", "example.com/calc.TestAdd/neg", 1},
    {"tests/check_x.c:core:adds", "tests/check_x.c:core:adds", 1},
    {"calc::basic.tests::adds", "calc::basic.tests::adds", 1},
    {"", "", 0},
    {"3", "3", 1},
};

START_TEST(id_match)
{
	ck_assert_msg(al_gates_test_id_match(matches[_i].want, matches[_i].id) == matches[_i].match,
		      "%s ~ %s", matches[_i].want, matches[_i].id);
}
END_TEST

START_TEST(id_match_long)
{
	char want[3 * AL_REPORT_MAX_ID];

	memset(want, 'a', sizeof(want) - 1);
	want[sizeof(want) - 1] = '\0';
	ck_assert(al_gates_test_id_match(want, want));
	want[0] = '/';
	ck_assert(!al_gates_test_id_match(want, want + 1));
	ck_assert(!al_gates_test_id_match(NULL, "a"));
	ck_assert(!al_gates_test_id_match("a", NULL));
}
END_TEST

START_TEST(format_names)
{
	enum al_report_format f = AL_REPORT_TAP;

	ck_assert_int_eq(al_report_format_parse("junit", &f), 0);
	ck_assert_int_eq(f, AL_REPORT_JUNIT);
	ck_assert_int_eq(al_report_format_parse("tap", &f), 0);
	ck_assert_int_eq(f, AL_REPORT_TAP);
	ck_assert_int_eq(al_report_format_parse("JUnit", &f), -EINVAL);
	ck_assert_int_eq(al_report_format_parse("xml", &f), -EINVAL);
	ck_assert_int_eq(al_report_format_parse(NULL, &f), -EINVAL);
	ck_assert_int_eq(f, AL_REPORT_TAP);
}
END_TEST

static Suite *
report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *t = tcase_create("junit");

	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, real_reports, 0, (int)AL_ARRAY_SIZE(fixtures));
	tcase_add_loop_test(t, junit_parsed, 0, (int)AL_ARRAY_SIZE(junit_good));
	tcase_add_loop_test(t, junit_refused, 0, (int)AL_ARRAY_SIZE(junit_bad));
	tcase_add_test(t, junit_caps);
	suite_add_tcase(s, t);
	t = tcase_create("tap");
	tcase_set_timeout(t, 60);
	tcase_add_loop_test(t, tap_parsed, 0, (int)AL_ARRAY_SIZE(tap_good));
	tcase_add_loop_test(t, tap_refused, 0, (int)AL_ARRAY_SIZE(tap_bad));
	tcase_add_test(t, tap_caps);
	suite_add_tcase(s, t);
	t = tcase_create("ids");
	tcase_add_loop_test(t, id_match, 0, (int)AL_ARRAY_SIZE(matches));
	tcase_add_test(t, id_match_long);
	tcase_add_test(t, format_names);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(report_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
