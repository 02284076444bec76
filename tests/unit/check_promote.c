/* server/promote.c: a grant exercised.  What the caller sees (status, detail, the answer)
 * and what was done, in order: the calls to the store, the verifier and the ref's
 * compare-and-swap are recorded by the fakes below as one trace per case.  Linked with
 * gates/ and lib/ only. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "runner/git.h"
#include "server/grant.h"
#include "server/server.h"
#include "tests/unit/fake_live.h"

#define ID "5b0c7e0123456789abcdef0123456789"
#define COMMIT "89abcdef0123456789abcdef0123456789abcdef"
#define BASE "0123456789abcdef0123456789abcdef01234567"
#define NOW_AT "fedcba9876543210fedcba9876543210fedcba98"
#define WRITE_REF "refs/heads/airlock/" ID
#define ENVELOPE "{\"payload\":\"signed\"}"
#define POLICY "{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}]}"
#define POLICY_REGATE                                                                           \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"regate_on_base_change\":" \
	"true}"
/* An in-toto statement as al_grant_check hands it back. */
#define STATEMENT(commit, predicate)                                                               \
	"{\"subject\":[{\"digest\":{\"gitCommit\":\"" commit "\"}}],\"predicate\":{" predicate "}" \
	"}"
#define AUTH(kind, ref) "\"authority\":{\"kind\":\"" kind "\",\"ref\":\"" ref "\"}"
#define MERGE                                                                        \
	STATEMENT(COMMIT, AUTH("merge", "refs/heads/main") ",\"baseCommit\":\"" BASE \
							   "\",\"nonce\":\"n1\"")
#define WRITE                                                                                \
	STATEMENT(COMMIT, AUTH("write", WRITE_REF) ",\"baseCommit\":\"" BASE "\",\"nonce\":" \
						   "\"n1\"")

/* ---- fakes ---- */

static struct {
	/* set up */
	const char *state, *grant, *grant_state, *repo, *statement;
	int get_r, verify_r, check_r, spend_r, cas_r, settle_r, regate_r;
	/* seen */
	char trace[1024];
	char cas_ref[256], cas_new[41], cas_old[41];
	int cas_old_null;
	char promotion[1024];
} fake;

static struct al_repo_conf repo_conf;
static struct al_server srv;

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
trace(const char *fmt, ...)
{
	size_t n = strlen(fake.trace);
	va_list ap;

	if (n)
		n += (size_t)snprintf(fake.trace + n, sizeof(fake.trace) - n, " ");
	va_start(ap, fmt);
	vsnprintf(fake.trace + n, sizeof(fake.trace) - n, fmt, ap);
	va_end(ap);
}

int
al_store_proposal_get(struct al_store *s, const char *id, struct al_proposal **ret,
		      struct al_err *err)
{
	struct al_proposal *p;

	(void)s;
	ck_assert_str_eq(id, ID);
	if (fake.get_r < 0)
		return al_err_set(err, fake.get_r, "store says no");
	p = calloc(1, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", ID);
	p->repo = strdup(fake.repo ? fake.repo : "example");
	p->state = strdup(fake.state ? fake.state : "granted");
	p->grant = fake.grant ? strdup(fake.grant) : NULL;
	p->grant_state = fake.grant_state ? strdup(fake.grant_state) : NULL;
	*ret = p;
	return 0;
}

int
al_keyring_verify(const struct al_keyring *kr, const char *envelope, size_t len, time_t now,
		  char **ret_payload, size_t *ret_len, const struct al_key **ret_key,
		  struct al_err *err)
{
	(void)kr;
	(void)now;
	(void)ret_key;
	ck_assert_uint_eq(len, strlen(envelope));
	trace("verify");
	if (fake.verify_r < 0)
		return al_err_set(err, fake.verify_r, "no key verifies the signature");
	*ret_payload = strdup(fake.statement);
	*ret_len = strlen(fake.statement);
	return 0;
}

int
al_grant_check(const char *payload, size_t len, time_t now, const struct al_grant_binding *b,
	       json_t **ret_statement, struct al_err *err)
{
	(void)now;
	(void)b;
	trace("check");
	if (fake.check_r == AL_VERIFY_EXPIRED)
		return al_err_set(err, -EINVAL, "grant expired at 2026-01-01T00:00:00Z"),
		       AL_VERIFY_EXPIRED;
	if (fake.check_r)
		return al_err_set(err, -EINVAL, "predicate.tier: expected 1 or 2"), fake.check_r;
	*ret_statement = json_loadb(payload, len, 0, NULL);
	ck_assert_ptr_nonnull(*ret_statement);
	return 0;
}

int
al_store_grant_spend(struct al_store *s, const char *id, const char *nonce, struct al_err *err)
{
	(void)s;
	ck_assert_str_eq(id, ID);
	trace("spend(%s)", nonce);
	return fake.spend_r < 0 ? al_err_set(err, fake.spend_r, "store says no") : 0;
}

int
al_git_ref_cas(const char *repo_path, const char *ref, const char *new_hex, const char *old_hex,
	       char ret_current[41], struct al_err *err)
{
	ck_assert_str_eq(repo_path, "/srv/git/example");
	trace("cas");
	snprintf(fake.cas_ref, sizeof(fake.cas_ref), "%s", ref);
	snprintf(fake.cas_new, sizeof(fake.cas_new), "%s", new_hex);
	fake.cas_old_null = old_hex == NULL;
	snprintf(fake.cas_old, sizeof(fake.cas_old), "%s", old_hex ? old_hex : "");
	if (fake.cas_r == -ESTALE) {
		snprintf(ret_current, 41, "%s", NOW_AT);
		return al_err_set(err, -ESTALE, "%s is at %s, not %s", ref, NOW_AT,
				  old_hex ? old_hex : "nowhere");
	}
	if (fake.cas_r < 0)
		return al_err_set(err, fake.cas_r, "disk full");
	snprintf(ret_current, 41, "%s", new_hex);
	return 0;
}

int
al_store_grant_settle(struct al_store *s, const char *id, const char *grant_state,
		      const char *promotion, bool unspend, struct al_err *err)
{
	(void)s;
	ck_assert_str_eq(id, ID);
	trace("settle(%s%s)", grant_state ? grant_state : "-", unspend ? ",unspend" : "");
	snprintf(fake.promotion, sizeof(fake.promotion), "%s", promotion ? promotion : "");
	return fake.settle_r < 0 ? al_err_set(err, fake.settle_r, "store says no") : 0;
}

int
al_store_regate(struct al_store *s, const char *id, struct al_err *err)
{
	(void)s;
	ck_assert_str_eq(id, ID);
	trace("regate");
	return fake.regate_r < 0 ? al_err_set(err, fake.regate_r, "store says no") : 0;
}

static void
setup(const char *policy_json)
{
	struct al_err err = {0};
	json_t *j = json_loads(policy_json, 0, NULL);

	ck_assert_ptr_nonnull(j);
	memset(&fake, 0, sizeof(fake));
	memset(&live, 0, sizeof(live));
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.mu, NULL);
	pthread_mutex_init(&srv.decide_mu, NULL);
	repo_conf = (struct al_repo_conf){.name = "example", .path = "/srv/git/example"};
	ck_assert_msg(al_policy_parse(j, "repos.example.policy", &repo_conf.policy, &err) == 0,
		      "%s", err.msg);
	json_decref(j);
	cfg = (struct al_config){.repos = &repo_conf, .n_repos = 1};
	fake.grant = ENVELOPE;
	al_log_quiet(1);
}

static void
teardown(void)
{
	live_balanced();
	al_policy_free(repo_conf.policy);
}

/* ---- refusals: the ref never moves unless a grant verifies and its nonce is spent ---- */

/* a granted proposal without its grant */
#define NO_GRANT ""

static const struct {
	const char *policy;
	const char *state, *grant, *grant_state, *repo, *statement;
	int get_r, verify_r, check_r, spend_r, cas_r, settle_r, regate_r;
	int status;
	const char *detail;
	const char *trace; /* what was done, in order */
} refusals[] = {
    {POLICY, NULL, NULL, NULL, NULL, MERGE, -ENOENT, 0, 0, 0, 0, 0, 0, 404, "no such proposal", ""},
    {POLICY, NULL, NULL, NULL, NULL, MERGE, -EIO, 0, 0, 0, 0, 0, 0, 500,
     "could not read the proposal", ""},
    {POLICY, "awaiting_approval", NULL, NULL, NULL, MERGE, 0, 0, 0, 0, 0, 0, 0, 409,
     "proposal is awaiting_approval, not granted", ""},
    {POLICY, "rejected", NULL, NULL, NULL, MERGE, 0, 0, 0, 0, 0, 0, 0, 409,
     "proposal is rejected, not granted", ""},
    {POLICY, "granted", NO_GRANT, NULL, NULL, MERGE, 0, 0, 0, 0, 0, 0, 0, 409,
     "proposal has no stored grant", ""},
    {POLICY, NULL, NULL, "spent", NULL, MERGE, 0, 0, 0, 0, 0, 0, 0, 409, "grant already used", ""},
    {POLICY, NULL, NULL, "invalidated", NULL, MERGE, 0, 0, 0, 0, 0, 0, 0, 409,
     "grant was invalidated: the base moved", ""},
    {POLICY, NULL, NULL, NULL, "gone", MERGE, 0, 0, 0, 0, 0, 0, 0, 409,
     "repository gone is no longer configured", ""},
    /* the signature first: a grant that does not verify never moves the ref */
    {POLICY, NULL, NULL, NULL, NULL, MERGE, 0, -EPERM, 0, 0, 0, 0, 0, 409,
     "grant does not verify: no key verifies the signature", "verify"},
    {POLICY, NULL, NULL, NULL, NULL, MERGE, 0, -EKEYREVOKED, 0, 0, 0, 0, 0, 409,
     "grant does not verify: no key verifies the signature", "verify"},
    {POLICY, NULL, NULL, NULL, NULL, MERGE, 0, 0, AL_VERIFY_EXPIRED, 0, 0, 0, 0, 409,
     "grant expired at 2026-01-01T00:00:00Z", "verify check"},
    {POLICY, NULL, NULL, NULL, NULL, MERGE, 0, 0, AL_VERIFY_MALFORMED, 0, 0, 0, 0, 409,
     "grant is malformed: predicate.tier: expected 1 or 2", "verify check"},
    /* what the statement must carry */
    {POLICY, NULL, NULL, NULL, NULL,
     STATEMENT(COMMIT, AUTH("none", "") ",\"baseCommit\":\"" BASE "\",\"nonce\":\"n1\""), 0, 0, 0,
     0, 0, 0, 0, 409, "grant carries no authority over a ref", "verify check"},
    {POLICY, NULL, NULL, NULL, NULL,
     STATEMENT(COMMIT,
	       "\"authority\":{\"kind\":\"merge\"},\"baseCommit\":\"" BASE "\",\"nonce\":\"n1\""),
     0, 0, 0, 0, 0, 0, 0, 409, "grant carries no authority over a ref", "verify check"},
    {POLICY, NULL, NULL, NULL, NULL,
     STATEMENT(COMMIT,
	       AUTH("admin", "refs/heads/main") ",\"baseCommit\":\"" BASE "\",\"nonce\":\"n1\""),
     0, 0, 0, 0, 0, 0, 0, 409, "grant is malformed: authority, commit or nonce missing",
     "verify check"},
    {POLICY, NULL, NULL, NULL, NULL,
     STATEMENT(COMMIT, AUTH("merge", "refs/heads/main") ",\"nonce\":\"n1\""), 0, 0, 0, 0, 0, 0, 0,
     409, "grant is malformed: authority, commit or nonce missing", "verify check"},
    {POLICY, NULL, NULL, NULL, NULL,
     STATEMENT(COMMIT, AUTH("write", WRITE_REF) ",\"baseCommit\":\"" BASE "\""), 0, 0, 0, 0, 0, 0,
     0, 409, "grant is malformed: authority, commit or nonce missing", "verify check"},
    {POLICY, NULL, NULL, NULL, NULL,
     "{\"subject\":[],\"predicate\":{" AUTH("write", WRITE_REF) ",\"nonce\":\"n1\"}}", 0, 0, 0, 0,
     0, 0, 0, 409, "grant is malformed: authority, commit or nonce missing", "verify check"},
    /* the nonce is spent before the ref moves, once */
    {POLICY, NULL, NULL, NULL, NULL, MERGE, 0, 0, 0, -EALREADY, 0, 0, 0, 409, "grant already used",
     "verify check spend(n1)"},
    {POLICY, NULL, NULL, NULL, NULL, MERGE, 0, 0, 0, -EIO, 0, 0, 0, 500,
     "could not record the grant's use", "verify check spend(n1)"},
    /* the base moved under a merge grant: invalidated, and gated again when asked */
    {POLICY, NULL, NULL, NULL, NULL, MERGE, 0, 0, 0, 0, -ESTALE, 0, 0, 409,
     "base moved: refs/heads/main is at " NOW_AT ", not " BASE "; the grant is invalidated",
     "verify check spend(n1) cas settle(invalidated)"},
    {POLICY_REGATE, NULL, NULL, NULL, NULL, MERGE, 0, 0, 0, 0, -ESTALE, 0, 0, 409,
     "base moved: refs/heads/main is at " NOW_AT ", not " BASE
     "; the gates run again on the new base",
     "verify check spend(n1) cas settle(invalidated) regate"},
    {POLICY_REGATE, NULL, NULL, NULL, NULL, MERGE, 0, 0, 0, 0, -ESTALE, 0, -EIO, 409,
     "base moved: refs/heads/main is at " NOW_AT ", not " BASE "; the grant is invalidated",
     "verify check spend(n1) cas settle(invalidated) regate"},
    {POLICY_REGATE, NULL, NULL, NULL, NULL, MERGE, 0, 0, 0, 0, -ESTALE, -EIO, 0, 500,
     "could not record the outcome", "verify check spend(n1) cas settle(invalidated)"},
    /* a write grant whose branch exists already: the spend is given back, nothing regated */
    {POLICY_REGATE, NULL, NULL, NULL, NULL, WRITE, 0, 0, 0, 0, -ESTALE, 0, 0, 409,
     WRITE_REF " is at " NOW_AT ", not nowhere", "verify check spend(n1) cas settle(-,unspend)"},
    {POLICY, NULL, NULL, NULL, NULL, MERGE, 0, 0, 0, 0, -EIO, 0, 0, 500, "could not update the ref",
     "verify check spend(n1) cas settle(-,unspend)"},
};

START_TEST(test_refused)
{
	struct al_refusal why = {0};
	json_t *answer = NULL;
	int r;

	setup(refusals[_i].policy);
	fake.state = refusals[_i].state;
	if (refusals[_i].grant)
		fake.grant = *refusals[_i].grant ? refusals[_i].grant : NULL;
	fake.grant_state = refusals[_i].grant_state;
	fake.repo = refusals[_i].repo;
	fake.statement = refusals[_i].statement;
	fake.get_r = refusals[_i].get_r;
	fake.verify_r = refusals[_i].verify_r;
	fake.check_r = refusals[_i].check_r;
	fake.spend_r = refusals[_i].spend_r;
	fake.cas_r = refusals[_i].cas_r;
	fake.settle_r = refusals[_i].settle_r;
	fake.regate_r = refusals[_i].regate_r;
	r = al_promote_grant(&srv, ID, "bob", &answer, &why);
	ck_assert_int_lt(r, 0);
	ck_assert_ptr_null(answer);
	ck_assert_int_eq(why.status, refusals[_i].status);
	ck_assert_str_eq(why.detail, refusals[_i].detail);
	ck_assert_str_eq(fake.trace, refusals[_i].trace);
	teardown();
}
END_TEST

/* The kill switch pulled: nothing is read, verified, spent or moved. */
START_TEST(test_paused)
{
	struct al_refusal why = {0};
	json_t *answer = NULL;

	setup(POLICY);
	paused_reason = "incident 42";
	ck_assert_int_lt(al_promote_grant(&srv, ID, "bob", &answer, &why), 0);
	paused_reason = NULL;
	ck_assert_ptr_null(answer);
	ck_assert_int_eq(why.status, 503);
	ck_assert_str_eq(why.error, "paused");
	ck_assert_str_eq(why.detail, "paused: incident 42");
	ck_assert_str_eq(fake.trace, "");
	ck_assert_int_eq(live.configs, 0);
	al_policy_free(repo_conf.policy);
}
END_TEST

/* ---- promotions ---- */

static const struct {
	const char *statement;
	const char *ref, *old; /* old NULL: only where nothing is */
	const char *actor;
} promotions[] = {
    {MERGE, "refs/heads/main", BASE, "bob"},
    {WRITE, WRITE_REF, NULL, "auto"},
};

START_TEST(test_promoted)
{
	struct al_refusal why = {0};
	json_t *answer = NULL, *stored;
	int r;

	setup(POLICY);
	fake.statement = promotions[_i].statement;
	r = al_promote_grant(&srv, ID, promotions[_i].actor, &answer, &why);
	ck_assert_msg(r == 0, "refused %d: %s", why.status, why.detail);
	ck_assert_str_eq(fake.trace, "verify check spend(n1) cas settle(spent)");
	/* the ref moves to exactly the granted commit, from exactly what the grant names */
	ck_assert_str_eq(fake.cas_ref, promotions[_i].ref);
	ck_assert_str_eq(fake.cas_new, COMMIT);
	ck_assert_int_eq(fake.cas_old_null, promotions[_i].old == NULL);
	if (promotions[_i].old)
		ck_assert_str_eq(fake.cas_old, promotions[_i].old);
	ck_assert_str_eq(json_string_value(json_object_get(answer, "id")), ID);
	ck_assert_str_eq(json_string_value(json_object_get(answer, "ref")), promotions[_i].ref);
	ck_assert_str_eq(json_string_value(json_object_get(answer, "commit")), COMMIT);
	ck_assert_str_eq(json_string_value(json_object_get(answer, "by")), promotions[_i].actor);
	ck_assert(json_integer_value(json_object_get(answer, "at")) > 0);
	if (promotions[_i].old)
		ck_assert_str_eq(json_string_value(json_object_get(answer, "previous")),
				 promotions[_i].old);
	else
		ck_assert(!json_is_string(json_object_get(answer, "previous")));
	/* what is recorded is what the caller is told */
	stored = json_loads(fake.promotion, 0, NULL);
	ck_assert_msg(json_equal(stored, answer), "stored %s", fake.promotion);
	json_decref(stored);
	json_decref(answer);
	teardown();
}
END_TEST

/* The promotion is answered even when its record fails: the ref did move. */
START_TEST(test_promoted_unrecorded)
{
	struct al_refusal why = {0};
	json_t *answer = NULL;

	setup(POLICY);
	fake.statement = MERGE;
	fake.settle_r = -EIO;
	ck_assert_int_eq(al_promote_grant(&srv, ID, "bob", &answer, &why), 0);
	ck_assert_str_eq(fake.trace, "verify check spend(n1) cas settle(spent)");
	ck_assert_str_eq(json_string_value(json_object_get(answer, "ref")), "refs/heads/main");
	json_decref(answer);
	teardown();
}
END_TEST

static Suite *
promote_suite(void)
{
	Suite *s = suite_create("promote");
	TCase *tc = tcase_create("refused");

	tcase_add_loop_test(tc, test_refused, 0, sizeof(refusals) / sizeof(refusals[0]));
	suite_add_tcase(s, tc);
	tc = tcase_create("promoted");
	tcase_add_loop_test(tc, test_promoted, 0, sizeof(promotions) / sizeof(promotions[0]));
	tcase_add_test(tc, test_promoted_unrecorded);
	tcase_add_test(tc, test_paused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(promote_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
