/* server/decide.c: a reviewer's approve or reject, as the reviewer sees it (status and
 * detail) and as it is kept (what the store is asked to write, whether a grant is signed).
 * Linked with gates/ and lib/ only: the store, the live configuration, the signer and the
 * notes are fakes below that record their calls and answer what each case sets up. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "server/server.h"
#include "tests/unit/fake_live.h"

#define ID "5b0c7e0123456789abcdef0123456789"
#define TREE "0123456789abcdef0123456789abcdef01234567"
#define OTHER_TREE "fedcba9876543210fedcba9876543210fedcba98"
#define COMMIT "89abcdef0123456789abcdef0123456789abcdef"
#define DIGEST "d1d1d1d1"
#define ENVELOPE "{\"payloadType\":\"application/vnd.in-toto+json\"}"
#define P_ONE                                                                                     \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"approvals\":{\"required\":" \
	"1}}"
#define P_TWO                                                                                     \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"approvals\":{\"required\":" \
	"2}}"
#define P_NAMED                                                                      \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"approvals\":{" \
	"\"required\":1,\"reviewers\":[\"bob\",\"carol\"]}}"
#define STORED_VERDICT                                                                           \
	"{\"decision\":\"awaiting_approval\",\"reason\":\"waiting\",\"tier\":1,\"rules\":["      \
	"{\"rule\":\"binary\",\"result\":\"SATISFIED\",\"reason\":\"ok\",\"evidence\":{}},"      \
	"{\"rule\":\"approval\",\"result\":\"UNSATISFIED\",\"reason\":\"waiting\",\"evidence\":" \
	"{\"required\":1,\"approved_by\":[],\"ignored\":[],\"protected_paths\":[],"              \
	"\"changed_tests\":[]}}]}"
#define EARLIER(who, tree, rev)                                               \
	"{\"reviewer\":\"" who "\",\"decision\":\"approve\",\"tree\":\"" tree \
	"\",\"revision\":" #rev ",\"created\":1}"

/* ---- fakes: what the case sets up, and what the module asked for ---- */

static struct {
	/* set up */
	const char *state, *proposer, *tree, *digest, *repo, *verdict;
	const char *earlier; /* JSON array of recorded decisions */
	int get_r, approvals_r, issue_r, decide_r;
	/* seen */
	int loads, issues, decides, notes;
	int issue_tier;
	char *issue_approvals; /* JSON */
	struct {
		char reviewer[32], decision[16], comment[1100], tree[41], state[32], verdict[4096];
		char grant[256];
		long long revision;
		int tier, has_comment;
	} decided;
	char note_commit[41], note_envelope[256];
} fake;

static struct al_repo_conf repo_conf;

int
al_intake_json_error(const json_error_t *jerr, struct al_err *err)
{
	return al_err_set(err, -EBADMSG, "%s", jerr->text);
}

static char *
dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

int
al_store_proposal_get(struct al_store *s, const char *id, struct al_proposal **ret,
		      struct al_err *err)
{
	struct al_proposal *p;

	(void)s;
	fake.loads++;
	ck_assert_str_eq(id, ID);
	if (fake.get_r < 0)
		return al_err_set(err, fake.get_r, "store says no");
	p = calloc(1, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", ID);
	p->repo = strdup(fake.repo ? fake.repo : "example");
	p->base = strdup("main");
	p->state = strdup(fake.state ? fake.state : "awaiting_approval");
	p->proposer = strdup(fake.proposer ? fake.proposer : "alice");
	p->candidate_tree = dup_or_null(fake.tree ? fake.tree : TREE);
	p->candidate_commit = strdup(COMMIT);
	p->policy_digest = dup_or_null(fake.digest ? fake.digest : DIGEST);
	p->verdict = strdup(fake.verdict ? fake.verdict : STORED_VERDICT);
	p->result = strdup("{\"runs\":[]}");
	p->revision = 2;
	p->tier = 1;
	*ret = p;
	return 0;
}

int
al_store_approvals(struct al_store *s, const char *id, json_t **ret, struct al_err *err)
{
	(void)s;
	ck_assert_str_eq(id, ID);
	if (fake.approvals_r < 0)
		return al_err_set(err, fake.approvals_r, "store says no");
	*ret = json_loads(fake.earlier ? fake.earlier : "[]", 0, NULL);
	ck_assert_ptr_nonnull(*ret);
	return 0;
}

int
al_issue_grant(struct al_server *srv, const struct al_repo_conf *repo, const struct al_proposal *p,
	       const json_t *result, const json_t *verdict, int tier, const json_t *approvals,
	       char **ret_envelope, struct al_err *err)
{
	(void)srv;
	(void)result;
	ck_assert_ptr_eq(repo, &repo_conf);
	ck_assert_str_eq(p->id, ID);
	/* what is signed is the new verdict, not the stored one */
	ck_assert_str_eq(json_string_value(json_object_get(verdict, "decision")), "granted");
	fake.issues++;
	fake.issue_tier = tier;
	fake.issue_approvals = json_dumps(approvals, JSON_COMPACT | JSON_SORT_KEYS);
	if (fake.issue_r < 0)
		return al_err_set(err, fake.issue_r, "signer says no");
	*ret_envelope = strdup(ENVELOPE);
	return 0;
}

void
al_issue_note(const struct al_repo_conf *repo, const char *id, const char *commit,
	      const char *envelope)
{
	ck_assert_ptr_eq(repo, &repo_conf);
	ck_assert_str_eq(id, ID);
	fake.notes++;
	snprintf(fake.note_commit, sizeof(fake.note_commit), "%s", commit);
	snprintf(fake.note_envelope, sizeof(fake.note_envelope), "%s", envelope);
}

int
al_store_decide(struct al_store *s, const char *id, const struct al_decision *d, struct al_err *err)
{
	(void)s;
	ck_assert_str_eq(id, ID);
	fake.decides++;
	snprintf(fake.decided.reviewer, sizeof(fake.decided.reviewer), "%s", d->reviewer);
	snprintf(fake.decided.decision, sizeof(fake.decided.decision), "%s", d->decision);
	fake.decided.has_comment = d->comment != NULL;
	snprintf(fake.decided.comment, sizeof(fake.decided.comment), "%s",
		 d->comment ? d->comment : "");
	snprintf(fake.decided.tree, sizeof(fake.decided.tree), "%s", d->tree ? d->tree : "");
	snprintf(fake.decided.state, sizeof(fake.decided.state), "%s", d->state);
	snprintf(fake.decided.verdict, sizeof(fake.decided.verdict), "%s", d->verdict);
	snprintf(fake.decided.grant, sizeof(fake.decided.grant), "%s", d->grant ? d->grant : "");
	fake.decided.revision = d->revision;
	fake.decided.tier = d->tier;
	if (fake.decide_r == -ESTALE)
		return al_err_set(err, -ESTALE, "proposal moved on: it is now superseded");
	if (fake.decide_r < 0)
		return al_err_set(err, fake.decide_r, "store says no");
	return 0;
}

/* ---- the server the module sees ---- */

static struct al_server srv;

static void
setup(const char *policy_json)
{
	struct al_err err = {0};
	json_t *j = json_loads(policy_json, 0, NULL);

	ck_assert_ptr_nonnull(j);
	memset(&fake, 0, sizeof(fake));
	memset(&live, 0, sizeof(live));
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.decide_mu, NULL);
	repo_conf = (struct al_repo_conf){.name = "example", .path = "/srv/git/example"};
	ck_assert_msg(al_policy_parse(j, "repos.example.policy", &repo_conf.policy, &err) == 0,
		      "%s", err.msg);
	json_decref(j);
	snprintf(repo_conf.policy_digest, sizeof(repo_conf.policy_digest), "%s", DIGEST);
	cfg = (struct al_config){.repos = &repo_conf, .n_repos = 1};
	al_log_quiet(1);
}

static void
teardown(void)
{
	/* every reference to the configuration taken is given back */
	live_balanced();
	al_policy_free(repo_conf.policy);
	free(fake.issue_approvals);
}

/* ---- refusals: status and detail, and nothing written ---- */

static const struct {
	const char *policy, *body;
	const char *state, *proposer, *tree, *digest, *repo, *verdict;
	int get_r, decide_r, issue_r;
	const char *reviewer, *decision;
	int status;
	const char *detail;
	int decides, issues; /* calls expected */
} refusals[] = {
    {P_ONE, "{", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob", "approve", 400,
     "malformed JSON: string or '}' expected near end of file", 0, 0},
    {P_ONE, "[]", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob", "approve", 400,
     "body: expected a JSON object", 0, 0},
    {P_ONE, "{\"comment\":\"a\",\"comment\":\"b\"}", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0,
     "bob", "approve", 400, "malformed JSON: duplicate object key near '\"comment\"'", 0, 0},
    {P_ONE, "{\"color\":\"red\"}", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob", "approve",
     400, "body: unknown field (comment and tree are known)", 0, 0},
    {P_ONE, "{\"comment\":7}", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob", "approve", 400,
     "comment: expected text of at most 1000 bytes", 0, 0},
    {P_ONE, "{\"comment\":\"ok\\u0007\"}", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob",
     "approve", 400, "comment: expected text of at most 1000 bytes", 0, 0},
    {P_ONE, "{\"comment\":\"ok\\u001b[2J\"}", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob",
     "reject", 400, "comment: expected text of at most 1000 bytes", 0, 0},
    {P_ONE, "{\"comment\":\"del\\u007f\"}", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob",
     "approve", 400, "comment: expected text of at most 1000 bytes", 0, 0},
    {P_ONE, "{\"comment\":\"cut\\u0000here\"}", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob",
     "approve", 400,
     "malformed JSON: \\u0000 is not allowed without JSON_ALLOW_NUL near '\"cut\\u0000here\"'", 0,
     0},
    {P_ONE, "{\"tree\":42}", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob", "approve", 400,
     "tree: expected a tree id", 0, 0},
    {P_ONE, "{}", NULL, NULL, NULL, NULL, NULL, NULL, -ENOENT, 0, 0, "bob", "approve", 404,
     "no such proposal", 0, 0},
    {P_ONE, "", "queued", NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob", "approve", 409,
     "proposal is queued, not awaiting approval", 0, 0},
    {P_ONE, "", "granted", NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob", "reject", 409,
     "proposal is granted, not awaiting approval", 0, 0},
    {P_ONE, "", NULL, NULL, NULL, NULL, "gone", NULL, 0, 0, 0, "bob", "approve", 409,
     "repository gone is no longer configured", 0, 0},
    {P_ONE, "", NULL, NULL, NULL, "e2e2e2e2", NULL, NULL, 0, 0, 0, "bob", "approve", 409,
     "the policy changed since the gates ran; a new revision runs them again", 0, 0},
    /* the proposer cannot approve their own, nor can someone the policy does not name */
    {P_ONE, "", NULL, "bob", NULL, NULL, NULL, NULL, 0, 0, 0, "bob", "approve", 403,
     "the proposer cannot approve their own proposal", 0, 0},
    {P_NAMED, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "mallory", "approve", 403,
     "not one of the reviewers this policy names", 0, 0},
    {P_ONE, "{\"tree\":\"" OTHER_TREE "\"}", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, "bob",
     "approve", 409, "stale: the candidate tree is now " TREE ", not " OTHER_TREE, 0, 0},
    /* the store's answers */
    {P_ONE, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, -EEXIST, 0, "bob", "approve", 409,
     "bob already decided on revision 2", 1, 1},
    {P_TWO, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, -ESTALE, 0, "bob", "approve", 409,
     "proposal moved on: it is now superseded", 1, 0},
    {P_ONE, "", NULL, NULL, NULL, NULL, NULL, NULL, -EIO, 0, 0, "bob", "approve", 500,
     "could not record the decision", 0, 0},
    {P_ONE, "", NULL, NULL, NULL, NULL, NULL, "not json", 0, 0, 0, "bob", "approve", 500,
     "could not record the decision", 0, 0},
    {P_ONE, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, -EIO, 0, "bob", "approve", 500,
     "could not record the decision", 1, 1},
    /* a grant that cannot be signed records nothing */
    {P_ONE, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, -EIO, "bob", "approve", 500,
     "could not record the decision", 0, 1},
};

START_TEST(test_refused)
{
	struct al_refusal why = {0};
	int r;

	setup(refusals[_i].policy);
	fake.state = refusals[_i].state;
	fake.proposer = refusals[_i].proposer;
	fake.tree = refusals[_i].tree;
	fake.digest = refusals[_i].digest;
	fake.repo = refusals[_i].repo;
	fake.verdict = refusals[_i].verdict;
	fake.get_r = refusals[_i].get_r;
	fake.decide_r = refusals[_i].decide_r;
	fake.issue_r = refusals[_i].issue_r;
	r = al_decide_record(&srv, ID, refusals[_i].reviewer, refusals[_i].decision,
			     refusals[_i].body, strlen(refusals[_i].body), &why);
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(why.status, refusals[_i].status);
	ck_assert_str_eq(why.detail, refusals[_i].detail);
	ck_assert_int_eq(fake.decides, refusals[_i].decides);
	ck_assert_int_eq(fake.issues, refusals[_i].issues);
	ck_assert_int_eq(fake.notes, 0);
	/* a malformed body never reaches the store */
	if (refusals[_i].status == 400)
		ck_assert_int_eq(fake.loads, 0);
	teardown();
}
END_TEST

/* The comment's cap, at its edge: 1000 bytes are kept, 1001 refused. */
START_TEST(test_comment_cap)
{
	size_t n = _i ? 1001 : 1000;
	char comment[1002], body[1100];
	struct al_refusal why = {0};
	int r;

	memset(comment, 'x', n);
	comment[n] = '\0';
	snprintf(body, sizeof(body), "{\"comment\":\"%s\"}", comment);
	setup(P_TWO);
	r = al_decide_record(&srv, ID, "bob", "approve", body, strlen(body), &why);
	if (_i) {
		ck_assert_int_lt(r, 0);
		ck_assert_int_eq(why.status, 400);
		ck_assert_str_eq(why.detail, "comment: expected text of at most 1000 bytes");
		ck_assert_int_eq(fake.decides, 0);
	} else {
		ck_assert_int_eq(r, 0);
		ck_assert_int_eq(fake.decides, 1);
		ck_assert_str_eq(fake.decided.comment, comment);
	}
	teardown();
}
END_TEST

/* A decision word that is neither approve nor reject is refused before anything is read. */
START_TEST(test_decision_word)
{
	static const char *const words[] = {"Approve", "approved", "", "accept"};
	struct al_refusal why = {0};

	setup(P_TWO);
	ck_assert_int_lt(al_decide_record(&srv, ID, "bob", words[_i], "", 0, &why), 0);
	ck_assert_int_eq(why.status, 400);
	ck_assert_str_eq(why.detail, "decision: expected approve or reject");
	ck_assert_int_eq(fake.loads, 0);
	ck_assert_int_eq(fake.decides, 0);
	ck_assert_int_eq(fake.issues, 0);
	teardown();
}
END_TEST

/* The kill switch pulled: no decision is taken (none could sign), nothing is read. */
START_TEST(test_paused)
{
	struct al_refusal why = {0};

	setup(P_TWO);
	paused_reason = "incident 42";
	ck_assert_int_lt(al_decide_record(&srv, ID, "bob", "approve", "", 0, &why), 0);
	paused_reason = NULL;
	ck_assert_int_eq(why.status, 503);
	ck_assert_str_eq(why.error, "paused");
	ck_assert_str_eq(why.detail, "paused: incident 42");
	ck_assert_int_eq(fake.loads, 0);
	ck_assert_int_eq(fake.decides, 0);
	ck_assert_int_eq(fake.issues, 0);
	ck_assert_int_eq(live.configs, 0);
	al_policy_free(repo_conf.policy);
}
END_TEST

/* ---- decisions recorded ---- */

static const struct {
	const char *policy, *body, *earlier;
	const char *reviewer, *decision;
	const char *state; /* what the store is asked to move the proposal to */
	int tier;
	const char *reason;   /* of the new verdict */
	const char *approved; /* the approvals the grant carries (JSON, reviewer names); NULL:
			       * no grant */
	const char *comment;  /* recorded; NULL: none */
} decisions[] = {
    /* an approval that completes the count signs a tier 2 grant */
    {P_ONE, "", NULL, "bob", "approve", "granted", 2, "all gates satisfied and approved",
     "[\"bob\"]", NULL},
    {P_TWO, "{\"comment\":\"looks right\\n\\tto me\",\"tree\":\"" TREE "\"}",
     "[" EARLIER("carol", TREE, 2) "]", "bob", "approve", "granted", 2,
     "all gates satisfied and approved", "[\"carol\",\"bob\"]", "looks right\n\tto me"},
    /* not yet enough */
    {P_TWO, "", NULL, "bob", "approve", "awaiting_approval", 1,
     "1 of 2 approvals; policy requires 2", NULL, NULL},
    /* an earlier revision's or tree's approval does not count toward the grant */
    {P_TWO, "", "[" EARLIER("carol", TREE, 1) "," EARLIER("dave", OTHER_TREE, 2) "]", "bob",
     "approve", "awaiting_approval", 1, "1 of 2 approvals; policy requires 2", NULL, NULL},
    /* a reject records rejected and never signs, even with the count already met */
    {P_ONE, "{\"comment\":\"no\"}", NULL, "bob", "reject", "rejected", 0, "rejected by bob: no",
     NULL, "no"},
    {P_ONE, "", "[" EARLIER("carol", TREE, 2) "]", "bob", "reject", "rejected", 0,
     "rejected by bob", NULL, NULL},
};

START_TEST(test_decided)
{
	struct al_refusal why = {0};
	json_t *verdict, *approvals;
	size_t i;
	json_t *a;
	int r;

	setup(decisions[_i].policy);
	fake.earlier = decisions[_i].earlier;
	r = al_decide_record(&srv, ID, decisions[_i].reviewer, decisions[_i].decision,
			     decisions[_i].body, strlen(decisions[_i].body), &why);
	ck_assert_msg(r == 0, "refused %d: %s", why.status, why.detail);
	ck_assert_int_eq(fake.decides, 1);
	ck_assert_str_eq(fake.decided.reviewer, decisions[_i].reviewer);
	ck_assert_str_eq(fake.decided.decision, decisions[_i].decision);
	ck_assert_str_eq(fake.decided.state, decisions[_i].state);
	ck_assert_int_eq(fake.decided.tier, decisions[_i].tier);
	ck_assert_int_eq(fake.decided.revision, 2);
	ck_assert_str_eq(fake.decided.tree, TREE);
	ck_assert_int_eq(fake.decided.has_comment, decisions[_i].comment != NULL);
	if (decisions[_i].comment)
		ck_assert_str_eq(fake.decided.comment, decisions[_i].comment);
	verdict = json_loads(fake.decided.verdict, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(verdict, "decision")),
			 decisions[_i].state);
	ck_assert_str_eq(json_string_value(json_object_get(verdict, "reason")),
			 decisions[_i].reason);
	json_decref(verdict);
	if (!decisions[_i].approved) {
		ck_assert_int_eq(fake.issues, 0);
		ck_assert_str_eq(fake.decided.grant, "");
		ck_assert_int_eq(fake.notes, 0);
		teardown();
		return;
	}
	/* signed at tier 2 with exactly the counted approvals, stored and noted */
	ck_assert_int_eq(fake.issues, 1);
	ck_assert_int_eq(fake.issue_tier, 2);
	approvals = json_loads(fake.issue_approvals, 0, NULL);
	verdict = json_loads(decisions[_i].approved, 0, NULL);
	ck_assert_uint_eq(json_array_size(approvals), json_array_size(verdict));
	json_array_foreach (approvals, i, a) {
		ck_assert(json_equal(json_object_get(a, "reviewer"), json_array_get(verdict, i)));
		ck_assert_int_eq(json_integer_value(json_object_get(a, "revision")), 2);
		ck_assert_str_eq(json_string_value(json_object_get(a, "tree")), TREE);
	}
	json_decref(verdict);
	json_decref(approvals);
	ck_assert_str_eq(fake.decided.grant, ENVELOPE);
	ck_assert_int_eq(fake.notes, 1);
	ck_assert_str_eq(fake.note_commit, COMMIT);
	ck_assert_str_eq(fake.note_envelope, ENVELOPE);
	teardown();
}
END_TEST

static Suite *
decide_suite(void)
{
	Suite *s = suite_create("decide");
	TCase *tc = tcase_create("refused");

	tcase_add_loop_test(tc, test_refused, 0, sizeof(refusals) / sizeof(refusals[0]));
	tcase_add_loop_test(tc, test_comment_cap, 0, 2);
	tcase_add_loop_test(tc, test_decision_word, 0, 4);
	tcase_add_test(tc, test_paused);
	suite_add_tcase(s, tc);
	tc = tcase_create("decided");
	tcase_add_loop_test(tc, test_decided, 0, sizeof(decisions) / sizeof(decisions[0]));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(decide_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
