#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/macros.h"
#include "server/intake.h"

#define PATCH "\"patch\": \"diff --git a/x b/x\\n\""
#define PROPOSAL "{\"repo\": \"example\", \"base\": \"main\", " PATCH

/* Proposal bodies refused, with the reply's error and the detail it names. */
static const struct {
	const char *body;
	int code;
	const char *want; /* the whole detail, or for -EBADMSG a substring */
} proposal_bad[] = {
    {"{\"repo\": \"example\", ", -EBADMSG, "expected"},
    {"{\"repo\": \"a\", \"repo\": \"b\"}", -EBADMSG, "duplicate object key"},
    /* the parser quotes the input; its control characters do not reach the detail */
    {"{\"a\\\x02", -EBADMSG, "invalid escape near '\"a\\ '"},
    /* it quotes at most 20 bytes, which may end inside a character: made U+FFFD, so that
     * the detail can still be sent as a JSON string (found by fuzz_proposal) */
    {"{\"t\\u00\xc3\xaf\"}", -EBADMSG, "invalid escape near '\"t\\u00\xef\xbf\xbd'"},
    {"[]", -EINVAL, "body: expected a JSON object"},
    {PROPOSAL ", \"approve_myself\": true}", -EINVAL, "approve_myself: unknown field"},
    {PROPOSAL ", \"t\\u00eftle\": 1}", -EINVAL, "body: unknown field"},
    {"{\"base\": \"main\", " PATCH "}", -EINVAL, "repo: expected a string"},
    {"{\"repo\": \"e\", \"base\": \"--upload-pack=x\", " PATCH "}", -EINVAL,
     "base: expected a ref or commit id"},
    {"{\"repo\": \"e\", \"base\": \"main\", \"patch\": \"\"}", -EINVAL,
     "patch: expected a non-empty unified diff"},
    {PROPOSAL ", \"test_patch\": 5}", -EINVAL,
     "test_patch: expected a unified diff of at most 4 MiB"},
    {PROPOSAL ", \"fail_to_pass\": [\"--help\"]}", -EINVAL,
     "fail_to_pass: invalid test id (allowed: letters, digits, _.:/=+,@[]- and inner spaces, no "
     "leading '-', at most 200 characters)"},
    {PROPOSAL ", \"fail_to_pass\": [\"t1\", \"t2\", \"t1\"]}", -EINVAL,
     "fail_to_pass: a test id is named twice"},
    {PROPOSAL ", \"fail_to_pass\": [\" t1\"]}", -EINVAL,
     "fail_to_pass: invalid test id (allowed: letters, digits, _.:/=+,@[]- and inner spaces, no "
     "leading '-', at most 200 characters)"},
    {PROPOSAL ", \"fail_to_pass\": \"t\"}", -EINVAL,
     "fail_to_pass: expected an array of at most 64 test ids"},
    {PROPOSAL ", \"title\": \"two\\nlines\"}", -EINVAL,
     "title: expected one line of at most 200 bytes"},
    {PROPOSAL ", \"provenance\": {\"agent\": \"a\", \"prompt_sha256\": \"x\"}}", -EINVAL,
     "provenance.prompt_sha256: expected 64 lowercase hex digits"},
    {PROPOSAL ", \"provenance\": {\"who\": \"a\"}}", -EINVAL, "provenance: unknown field"},
};

START_TEST(proposal_refused)
{
	struct al_err err = {0};
	json_t *b = NULL;
	int r = al_intake_proposal(proposal_bad[_i].body, strlen(proposal_bad[_i].body), &b, &err);

	ck_assert_int_eq(r, proposal_bad[_i].code);
	ck_assert_ptr_null(b);
	if (r == -EINVAL)
		ck_assert_str_eq(err.msg, proposal_bad[_i].want);
	else
		ck_assert_msg(strstr(err.msg, proposal_bad[_i].want), "%s", err.msg);
}
END_TEST

START_TEST(proposal_and_revision_accepted)
{
	static const char body[] =
	    PROPOSAL ", \"title\": \"caf\\u00e9\", \"fail_to_pass\": [\"t1\"]}";
	static const char rev[] = "{" PATCH ", \"fail_to_pass\": [\"t1\"]}";
	struct al_err err = {0};
	json_t *b = NULL;

	ck_assert_int_eq(al_intake_proposal(body, strlen(body), &b, &err), 0);
	ck_assert_str_eq(json_string_value(json_object_get(b, "title")), "caf\xc3\xa9");
	json_decref(b);
	b = NULL;
	ck_assert_int_eq(al_intake_revision(rev, strlen(rev), &b, &err), 0);
	json_decref(b);
	b = NULL;
	/* a revision keeps repository and base: naming them is an error */
	ck_assert_int_eq(al_intake_revision(body, strlen(body), &b, &err), -EINVAL);
	ck_assert_str_eq(err.msg, "repo: unknown field");
}
END_TEST

#define REPO "\"repository\": {\"full_name\": \"octo-org/calc\"}"
#define SHA2 "2222222222222222222222222222222222222222"
#define PR(action, fields)                                                                    \
	"{\"action\": \"" action "\", " REPO ", \"pull_request\": {\"number\": 7, \"head\": " \
	"{\"sha\": \"" SHA2 "\"}, \"base\": {\"ref\": \"main\"}, \"user\": {\"login\": "      \
	"\"octo-agent\"}" fields "}}"

static const struct {
	const char *event, *body;
	int code;
	int kind;
	const char *want; /* the detail, the ignored reason, or the ids / title as JSON */
} deliveries[] = {
    {"ping", "{" REPO "}", 0, AL_GITHUB_PING, NULL},
    {"Ping", "{" REPO "}", -EINVAL, 0, "expected X-GitHub-Event and X-GitHub-Delivery headers"},
    {"ping", "[]", -EBADMSG, 0, "the delivery is not a JSON object"},
    {"ping", "{\"repository\": {\"full_name\": \"octo-org/other\"}}", -EINVAL, 0,
     "repository.full_name is not the repository this secret is for"},
    {"issues", "{" REPO "}", 0, AL_GITHUB_IGNORED, "event not handled"},
    {"pull_request", PR("labeled", ""), 0, AL_GITHUB_IGNORED,
     "pull_request: only opened, reopened, synchronize and closed are handled"},
    {"push", "{" REPO ", \"ref\": \"refs/tags/v1\"}", 0, AL_GITHUB_IGNORED,
     "push: a tag push changes no branch"},
    {"pull_request", PR("closed", ""), 0, AL_GITHUB_CLOSED, NULL},
    {"pull_request", PR("opened", ", \"number\": 0"), -EINVAL, 0,
     "pull_request: expected number, head.sha, base.ref and user.login"},
    {"pull_request", PR("opened", ", \"base\": {\"ref\": \"main/../x\"}"), -EINVAL, 0,
     "pull_request: expected number, head.sha, base.ref and user.login"},
    {"pull_request", PR("opened", ", \"body\": \"```airlock-fail-to-pass\\n-rf\\n```\""), -EINVAL,
     0, "fail_to_pass block: invalid test id"},
    {"pull_request", PR("opened", ", \"body\": \"```airlock-fail-to-pass\\na\\n\""), -EINVAL, 0,
     "fail_to_pass block: no closing fence"},
    {"pull_request", PR("opened", ", \"body\": \"```airlock-fail-to-pass\\na b a\\n```\""), -EINVAL,
     0, "fail_to_pass block: test id a is named twice"},
    {"pull_request", PR("opened", ", \"body\": \"x\\n```airlock-fail-to-pass\\na b\\n```\""), 0,
     AL_GITHUB_PULL_REQUEST, "[\"a\", \"b\"]"},
    /* GitHub's web page sends CRLF: the blank before the closing fence ends the list */
    {"pull_request",
     PR("synchronize", ", \"body\": \"```airlock-fail-to-pass\\r\\na\\r\\nb \\r\\n```\\r\\n\""), 0,
     AL_GITHUB_PULL_REQUEST, "[\"a\", \"b\"]"},
    {"pull_request", PR("opened", ", \"body\": \"```airlock-fail-to-pass\\n\\n```\""), 0,
     AL_GITHUB_PULL_REQUEST, "[]"},
    {"push",
     "{" REPO ", \"ref\": \"refs/heads/main\", \"before\": \"" SHA2 "\", \"after\": \"" SHA2 "\"}",
     0, AL_GITHUB_PUSH, NULL},
    {"push", "{" REPO ", \"ref\": \"refs/heads/main\", \"before\": \"" SHA2 "\"}", -EINVAL, 0,
     "push: expected ref (a branch), before and after"},
};

START_TEST(github_delivery)
{
	struct al_github_event ev = {0};
	struct al_err err = {0};
	char *ids;
	int r = al_intake_github(deliveries[_i].event, deliveries[_i].body,
				 strlen(deliveries[_i].body), "octo-org/calc", &ev, &err);

	ck_assert_int_eq(r, deliveries[_i].code);
	if (r < 0) {
		ck_assert_str_eq(err.msg, deliveries[_i].want);
		return;
	}
	ck_assert_int_eq(ev.kind, deliveries[_i].kind);
	if (ev.kind == AL_GITHUB_IGNORED)
		ck_assert_str_eq(ev.reason, deliveries[_i].want);
	if (ev.kind == AL_GITHUB_PULL_REQUEST) {
		ids = json_dumps(ev.fail_to_pass, 0);
		ck_assert_str_eq(ids, deliveries[_i].want);
		free(ids);
		ck_assert_str_eq(ev.head, SHA2);
		ck_assert_int_eq(ev.number, 7);
	}
	al_intake_event_clear(&ev);
}
END_TEST

/* A title keeps its last character when it was not cut; a cut one loses a partial one. */
static const struct {
	const char *title;
	size_t len;
	const char *tail; /* how the title ends */
} titles[] = {
    {"caf\\u00e9", 5, "caf\xc3\xa9"},
    {"tab\\there\\u007f", 9, "tab here "},
    {"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
     "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
     "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
     "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
     "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
     "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
     "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
     "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
     "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9"
     "\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9x\\u00e9",
     200, "\xc3\xa9"}, /* 100 two-byte characters fill the 200 bytes exactly */
    {"x\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac"
     "\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac"
     "\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac"
     "\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac"
     "\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac"
     "\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac"
     "\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac\\u20ac",
     1 + 66 * 3, "\xe2\x82\xac"}, /* 1 + 70 three-byte characters: cut inside the 67th */
};

START_TEST(pull_request_title)
{
	char body[4096];
	struct al_github_event ev = {0};
	struct al_err err = {0};
	size_t n;

	snprintf(body, sizeof(body), PR("opened", ", \"title\": \"%s\""), titles[_i].title);
	ck_assert_int_eq(
	    al_intake_github("pull_request", body, strlen(body), "octo-org/calc", &ev, &err), 0);
	n = strlen(ev.title);
	ck_assert_uint_eq(n, titles[_i].len);
	ck_assert_str_eq(ev.title + n - strlen(titles[_i].tail), titles[_i].tail);
	al_intake_event_clear(&ev);
}
END_TEST

START_TEST(github_headers)
{
	ck_assert_int_eq(al_intake_github_headers("pull_request", "abc-123", NULL), 0);
	ck_assert_int_eq(al_intake_github_headers("pull_request", "xyz", NULL), -EINVAL);
	ck_assert_int_eq(al_intake_github_headers(NULL, "abc", NULL), -EINVAL);
	ck_assert_int_eq(al_intake_github_headers("pull_request", NULL, NULL), -EINVAL);
}
END_TEST

static Suite *
intake_suite(void)
{
	Suite *s = suite_create("intake");
	TCase *t = tcase_create("proposal");

	tcase_add_loop_test(t, proposal_refused, 0, (int)AL_ARRAY_SIZE(proposal_bad));
	tcase_add_test(t, proposal_and_revision_accepted);
	suite_add_tcase(s, t);
	t = tcase_create("github");
	tcase_add_loop_test(t, github_delivery, 0, (int)AL_ARRAY_SIZE(deliveries));
	tcase_add_loop_test(t, pull_request_title, 0, (int)AL_ARRAY_SIZE(titles));
	tcase_add_test(t, github_headers);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(intake_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
