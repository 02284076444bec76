#include <check.h>
#include <errno.h>
#include <sqlite3.h> /* only to write old databases and to try to edit the audit log */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "gates/quarantine.h"
#include "server/store.h"

static char dir[64];
static char *db_path;
static struct al_store *store;

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	db_path = al_path_join(dir, "airlock.db");
	ck_assert_int_eq(al_store_open(db_path, &store, NULL), 0);
}

static void
teardown(void)
{
	al_store_close(store);
	store = NULL;
	al_rm_rf(dir);
	free(db_path);
}

static void
insert(const char *id, long long created, const char *patch, size_t patch_len)
{
	struct al_proposal p = {0};

	snprintf(p.id, sizeof(p.id), "%s", id);
	p.repo = "example";
	p.base = "main";
	p.proposer = "agent-1";
	p.patch = (char *)patch;
	p.patch_len = patch_len;
	p.fail_to_pass = "[\"t1\"]";
	p.provenance = "{}";
	p.created = created;
	ck_assert_int_eq(al_store_proposal_insert(store, &p, NULL), 0);
}

START_TEST(wal_mode_on_disk)
{
	_cleanup_free_ char *wal = NULL;
	struct stat st;

	insert("a", 1, "x", 1);
	ck_assert_int_ge(asprintf(&wal, "%s-wal", db_path), 0);
	ck_assert_int_eq(stat(wal, &st), 0);
}
END_TEST

START_TEST(tokens)
{
	char *name = NULL, *role = NULL;
	struct al_err e = {0};

	ck_assert_int_eq(al_store_token_add(store, "bot", "agent", "h1", NULL), 0);
	ck_assert_int_eq(al_store_token_find(store, "h1", &name, &role), 0);
	ck_assert_str_eq(name, "bot");
	ck_assert_str_eq(role, "agent");
	free(name);
	free(role);
	ck_assert_int_eq(al_store_token_find(store, "h2", &name, &role), -ENOENT);
	ck_assert_int_eq(al_store_token_add(store, "x", "agent", "h1", &e), -EEXIST);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(al_store_token_add(store, "x", "root", "h3", &e), -EINVAL);
	ck_assert_int_eq(al_store_token_find(store, "h3", &name, &role), -ENOENT);
}
END_TEST

START_TEST(proposal_roundtrip_keeps_bytes)
{
	static const char patch[] = "diff --git a/x b/x\n\0binary\xff";
	struct al_proposal *p = NULL;

	insert("p1", 10, patch, sizeof(patch));
	ck_assert_int_eq(al_store_proposal_get(store, "p1", &p, NULL), 0);
	ck_assert_str_eq(p->state, "queued");
	ck_assert_uint_eq(p->patch_len, sizeof(patch));
	ck_assert_mem_eq(p->patch, patch, sizeof(patch));
	ck_assert_ptr_null(p->test_patch);
	ck_assert_ptr_null(p->grant);
	al_proposal_free(p);
	p = NULL;
	/* the view's read leaves the patches in the database */
	ck_assert_int_eq(al_store_proposal_get_unpatched(store, "p1", &p, NULL), 0);
	ck_assert_str_eq(p->state, "queued");
	ck_assert_str_eq(p->fail_to_pass, "[\"t1\"]");
	ck_assert_str_eq(p->patch, "");
	ck_assert_uint_eq(p->patch_len, 0);
	al_proposal_free(p);
	p = NULL;
	ck_assert_int_eq(al_store_proposal_get(store, "nope", &p, NULL), -ENOENT);
	ck_assert_int_eq(al_store_proposal_get_unpatched(store, "nope", &p, NULL), -ENOENT);
}
END_TEST

START_TEST(claim_in_order_and_finish_once)
{
	struct al_outcome ok = {.state = "granted", .grant = "{}", .verdict = "{}"};
	struct al_proposal *p = NULL;
	char id[33];
	struct al_err e = {0};

	insert("second", 20, "x", 1);
	insert("first", 10, "x", 1);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_str_eq(id, "first");
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_str_eq(id, "second");
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), -ENOENT);
	ck_assert_int_eq(al_store_finish(store, "first", &ok, NULL), 0);
	ck_assert_int_eq(al_store_finish(store, "first", &ok, &e), -ESTALE);
	ck_assert_int_eq(al_store_proposal_get(store, "first", &p, NULL), 0);
	ck_assert_str_eq(p->state, "granted");
	ck_assert_str_eq(p->grant, "{}");
	al_proposal_free(p);
}
END_TEST

START_TEST(no_grant_without_granted_state)
{
	struct al_outcome bad = {.state = "rejected", .grant = "{\"forged\":1}"};
	struct al_proposal *p = NULL;
	char id[33];
	struct al_err e = {0};

	insert("r", 1, "x", 1);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_lt(al_store_finish(store, "r", &bad, &e), 0);
	ck_assert_int_eq(al_store_proposal_get(store, "r", &p, NULL), 0);
	ck_assert_str_eq(p->state, "running"); /* rolled back whole */
	ck_assert_ptr_null(p->grant);
	al_proposal_free(p);
}
END_TEST

START_TEST(requeue_and_list)
{
	char id[33];
	json_t *list = NULL;

	insert("a", 1, "x", 1);
	insert("b", 2, "x", 1);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_eq(al_store_requeue_running(store, 3, NULL), 1);
	ck_assert_int_eq(al_store_proposal_list(store, "queued", 10, &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), "b");
	json_decref(list);
	ck_assert_int_eq(al_store_proposal_list(store, "granted", 10, &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 0);
	json_decref(list);
}
END_TEST

START_TEST(reopen_keeps_state)
{
	struct al_proposal *p = NULL;

	insert("keep", 1, "x", 1);
	al_store_close(store);
	ck_assert_int_eq(al_store_open(db_path, &store, NULL), 0);
	ck_assert_int_eq(al_store_proposal_get(store, "keep", &p, NULL), 0);
	al_proposal_free(p);
}
END_TEST

/* A proposal claimed and finished awaiting approval of tree "t1". */
static void
awaiting(const char *id)
{
	struct al_outcome o = {.state = "awaiting_approval",
			       .candidate_tree = "t1",
			       .verdict = "{\"decision\":\"awaiting_approval\"}",
			       .tier = 1,
			       .policy_digest = "d1"};
	char got[33];

	insert(id, 1, "x", 1);
	ck_assert_int_eq(al_store_claim_next(store, got, NULL), 0);
	ck_assert_str_eq(got, id);
	ck_assert_int_eq(al_store_finish(store, id, &o, NULL), 0);
}

static struct al_decision
decision(const char *reviewer, const char *state, const char *grant)
{
	return (struct al_decision){.reviewer = reviewer,
				    .decision = "approve",
				    .revision = 1,
				    .tree = "t1",
				    .state = state,
				    .verdict = "{}",
				    .grant = grant,
				    .tier = grant ? 2 : 1};
}

START_TEST(decisions_count_once_and_grant_at_the_end)
{
	struct al_decision d1 = decision("rev-1", "awaiting_approval", NULL);
	struct al_decision d2 = decision("rev-2", "granted", "{\"g\":1}");
	struct al_proposal *p = NULL;
	struct al_err e = {0};
	json_t *list = NULL;

	awaiting("a1");
	ck_assert_int_eq(al_store_proposal_get(store, "a1", &p, NULL), 0);
	ck_assert_str_eq(p->state, "awaiting_approval");
	ck_assert_int_eq(p->tier, 1);
	ck_assert_str_eq(p->policy_digest, "d1");
	al_proposal_free(p);
	ck_assert_int_eq(al_store_decide(store, "a1", &d1, NULL), 0);
	/* the same reviewer again: refused, and nothing moves */
	ck_assert_int_eq(al_store_decide(store, "a1", &d1, &e), -EEXIST);
	ck_assert_int_eq(al_store_decide(store, "a1", &d2, NULL), 0);
	ck_assert_int_eq(al_store_proposal_get(store, "a1", &p, NULL), 0);
	ck_assert_str_eq(p->state, "granted");
	ck_assert_int_eq(p->tier, 2);
	ck_assert_str_eq(p->grant, "{\"g\":1}");
	al_proposal_free(p);
	ck_assert_int_eq(al_store_approvals(store, "a1", &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "reviewer")),
			 "rev-1");
	json_decref(list);
	/* granted: no further decision lands, not even its approval row */
	d1.reviewer = "rev-3";
	ck_assert_int_eq(al_store_decide(store, "a1", &d1, &e), -ESTALE);
	ck_assert_int_eq(al_store_approvals(store, "a1", &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 2);
	json_decref(list);
}
END_TEST

START_TEST(stale_decisions_leave_nothing)
{
	struct al_decision old_rev = decision("rev-1", "granted", "{}");
	struct al_decision old_tree = decision("rev-1", "granted", "{}");
	struct al_proposal *p = NULL;
	struct al_err e = {0};
	json_t *list = NULL;

	awaiting("a2");
	old_rev.revision = 7;
	old_tree.tree = "t0";
	ck_assert_int_eq(al_store_decide(store, "a2", &old_rev, &e), -ESTALE);
	ck_assert_int_eq(al_store_decide(store, "a2", &old_tree, &e), -ESTALE);
	ck_assert_int_eq(al_store_proposal_get(store, "a2", &p, NULL), 0);
	ck_assert_str_eq(p->state, "awaiting_approval");
	ck_assert_ptr_null(p->grant);
	al_proposal_free(p);
	ck_assert_int_eq(al_store_approvals(store, "a2", &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 0);
	json_decref(list);
}
END_TEST

START_TEST(revise_only_by_the_proposer_and_not_when_granted)
{
	struct al_proposal rev = {
	    .proposer = "agent-1", .patch = "y", .patch_len = 1, .fail_to_pass = "[\"t2\"]"};
	struct al_outcome ok = {.state = "granted", .grant = "{}", .verdict = "{}", .tier = 1};
	struct al_proposal *p = NULL;
	struct al_err e = {0};
	long long revision = 0;
	char id[33];

	awaiting("v1");
	snprintf(rev.id, sizeof(rev.id), "v1");
	rev.proposer = "agent-2";
	ck_assert_int_eq(al_store_revise(store, &rev, &revision, &e), -ESTALE);
	rev.proposer = "agent-1";
	ck_assert_int_eq(al_store_revise(store, &rev, &revision, NULL), 0);
	ck_assert_int_eq(revision, 2);
	ck_assert_int_eq(al_store_proposal_get(store, "v1", &p, NULL), 0);
	ck_assert_str_eq(p->state, "queued");
	ck_assert_int_eq(p->revision, 2);
	ck_assert_int_eq(p->tier, -1);
	ck_assert_mem_eq(p->patch, "y", 1);
	ck_assert_str_eq(p->fail_to_pass, "[\"t2\"]");
	ck_assert_ptr_null(p->candidate_tree);
	ck_assert_ptr_null(p->verdict);
	al_proposal_free(p);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_eq(al_store_finish(store, "v1", &ok, NULL), 0);
	ck_assert_int_eq(al_store_revise(store, &rev, &revision, &e), -ESTALE);
}
END_TEST

START_TEST(awaiting_needs_a_tree)
{
	struct al_outcome bad = {.state = "awaiting_approval", .verdict = "{}", .tier = 1};
	struct al_err e = {0};
	char id[33];

	insert("nt", 1, "x", 1);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_lt(al_store_finish(store, "nt", &bad, &e), 0);
}
END_TEST

START_TEST(grant_spent_once_then_invalidated_and_regated)
{
	struct al_outcome ok = {.state = "granted", .grant = "{}", .verdict = "{}", .tier = 1};
	struct al_proposal *p = NULL;
	struct al_err e = {0};
	char id[33];

	insert("g1", 1, "x", 1);
	insert("g2", 2, "x", 1);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_eq(al_store_finish(store, "g1", &ok, NULL), 0);
	/* not granted: nothing to spend */
	ck_assert_int_eq(al_store_grant_spend(store, "g2", "n2", &e), -EALREADY);
	ck_assert_int_eq(al_store_grant_spend(store, "g1", "n1", NULL), 0);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(al_store_grant_spend(store, "g1", "n1", &e), -EALREADY);
	/* the ref did not move: the spend is undone and the grant can be used again */
	ck_assert_int_eq(al_store_grant_settle(store, "g1", NULL, NULL, true, NULL), 0);
	ck_assert_int_eq(al_store_grant_spend(store, "g1", "n1", NULL), 0);
	ck_assert_int_eq(al_store_grant_settle(store, "g1", "invalidated", NULL, false, NULL), 0);
	ck_assert_int_eq(al_store_proposal_get(store, "g1", &p, NULL), 0);
	ck_assert_str_eq(p->grant_state, "invalidated");
	al_proposal_free(p);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(al_store_grant_spend(store, "g1", "n9", &e), -EALREADY);
	ck_assert_int_eq(al_store_regate(store, "g1", NULL), 0);
	ck_assert_int_eq(al_store_proposal_get(store, "g1", &p, NULL), 0);
	ck_assert_str_eq(p->state, "queued");
	ck_assert_int_eq(p->revision, 2);
	ck_assert_ptr_null(p->grant);
	ck_assert_ptr_null(p->grant_state);
	al_proposal_free(p);
	/* a nonce is spent for good even across proposals */
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_eq(al_store_finish(store, id, &ok, NULL), 0);
	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(al_store_grant_spend(store, id, "n1", &e), -EALREADY);
}
END_TEST

/* A database as version 0.1.0 left it upgrades in place and keeps its rows. */
START_TEST(upgrades_a_version_1_database)
{
	static const char v1[] =
	    "CREATE TABLE tokens (hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL"
	    " CHECK (role IN ('agent','reviewer','admin')), created INTEGER NOT NULL);"
	    "CREATE TABLE proposals (id TEXT PRIMARY KEY, repo TEXT NOT NULL, base TEXT NOT NULL,"
	    " state TEXT NOT NULL CHECK (state IN ('queued','running','rejected','granted',"
	    "'error')), proposer TEXT NOT NULL, patch BLOB NOT NULL, test_patch BLOB,"
	    " fail_to_pass TEXT NOT NULL, provenance TEXT NOT NULL, created INTEGER NOT NULL,"
	    " updated INTEGER NOT NULL, base_commit TEXT, candidate_commit TEXT,"
	    " candidate_tree TEXT, result TEXT, verdict TEXT, grant_envelope TEXT, error TEXT,"
	    " CHECK (state = 'granted' OR grant_envelope IS NULL));"
	    "INSERT INTO tokens VALUES ('h', 'bot', 'agent', 1);"
	    "INSERT INTO proposals (id, repo, base, state, proposer, patch, fail_to_pass,"
	    " provenance, created, updated, grant_envelope) VALUES ('old', 'example', 'main',"
	    " 'granted', 'bot', 'x', '[]', '{}', 1, 2, '{\"g\":1}');";
	_cleanup_free_ char *path = al_path_join(dir, "v1.db");
	struct al_store *old = NULL;
	struct al_proposal *p = NULL;
	char *name = NULL, *role = NULL;
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, v1, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(al_store_open(path, &old, NULL), 0);
	ck_assert_int_eq(al_store_proposal_get(old, "old", &p, NULL), 0);
	ck_assert_str_eq(p->state, "granted");
	ck_assert_str_eq(p->grant, "{\"g\":1}");
	ck_assert_int_eq(p->revision, 1);
	al_proposal_free(p);
	ck_assert_int_eq(al_store_token_find(old, "h", &name, &role), 0);
	free(name);
	free(role);
	al_store_close(old);
	/* a second open finds version 2 and changes nothing */
	ck_assert_int_eq(al_store_open(path, &old, NULL), 0);
	ck_assert_int_eq(al_store_proposal_get(old, "old", &p, NULL), 0);
	al_proposal_free(p);
	al_store_close(old);
}
END_TEST

static struct al_session
session(const char *token_hash, long long expires)
{
	struct al_session ss = {.expires = expires};

	snprintf(ss.name, sizeof(ss.name), "alice");
	snprintf(ss.role, sizeof(ss.role), "reviewer");
	snprintf(ss.csrf, sizeof(ss.csrf), "%064d", 7);
	snprintf(ss.token_hash, sizeof(ss.token_hash), "%s", token_hash);
	return ss;
}

START_TEST(sessions_live_with_their_token_and_until_they_expire)
{
	struct al_session ss = session("th", (long long)time(NULL) + 60), got;
	struct al_session old = session("th", (long long)time(NULL) - 1);
	struct al_session orphan = session("gone", (long long)time(NULL) + 60);
	struct al_err e = {0};

	ck_assert_int_eq(al_store_token_add(store, "alice", "reviewer", "th", NULL), 0);
	ck_assert_int_eq(al_store_session_add(store, "s1", &ss, NULL), 0);
	ck_assert_int_eq(al_store_session_find(store, "s1", &got), 0);
	ck_assert_str_eq(got.name, "alice");
	ck_assert_str_eq(got.role, "reviewer");
	ck_assert_str_eq(got.csrf, ss.csrf);
	ck_assert_int_eq(got.expires, ss.expires);
	/* expired: not found; a session whose token is not there: not found */
	ck_assert_int_eq(al_store_session_add(store, "s2", &old, NULL), 0);
	ck_assert_int_eq(al_store_session_find(store, "s2", &got), -ENOENT);
	ck_assert_int_eq(al_store_session_add(store, "s3", &orphan, NULL), 0);
	ck_assert_int_eq(al_store_session_find(store, "s3", &got), -ENOENT);
	ck_assert_int_eq(al_store_session_find(store, "nope", &got), -ENOENT);
	/* ended: gone for good, and ending it twice is an error */
	ck_assert_int_eq(al_store_session_end(store, "s1", "alice", NULL), 0);
	ck_assert_int_eq(al_store_session_find(store, "s1", &got), -ENOENT);
	ck_assert_int_eq(al_store_session_end(store, "s1", "alice", &e), -ENOENT);
}
END_TEST

/* A job the kill switch stopped goes back to the queue, audited; only a running one. */
START_TEST(requeue_one)
{
	struct al_proposal *p = NULL;
	struct al_err e = {0};
	json_t *audit = NULL;
	char id[33];

	insert("p1", 10, "x", 1);
	insert("p2", 20, "x", 1);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_str_eq(id, "p1");
	ck_assert_int_eq(al_store_requeue(store, "p2", "paused", &e), -ESTALE);
	ck_assert_int_eq(al_store_requeue(store, "p1", "paused", NULL), 0);
	ck_assert_int_eq(al_store_proposal_get(store, "p1", &p, NULL), 0);
	ck_assert_str_eq(p->state, "queued");
	al_proposal_free(p);
	ck_assert_int_eq(al_store_requeue(store, "p1", "paused", NULL), -ESTALE);
	ck_assert_int_eq(al_store_audit_list(store, "p1", 10, &audit, NULL), 0);
	ck_assert_str_eq(json_string_value(json_object_get(
			     json_array_get(audit, json_array_size(audit) - 1), "action")),
			 "job.requeued");
	json_decref(audit);
}
END_TEST

/* A revoked name loses every token it had and the sessions they opened, at once; the add
 * and the revocation are audited with a short id, never the secret or its whole hash. */
START_TEST(tokens_revoked_with_their_sessions)
{
	struct al_session ss = session("th", (long long)time(NULL) + 60), got;
	struct al_audit_report rep = {0};
	json_t *list = NULL, *audit = NULL;
	char *name = NULL, *role = NULL, *text;
	struct al_err e = {0};
	int n = 0;

	ck_assert_int_eq(al_store_token_add(store, "alice", "reviewer", "th", NULL), 0);
	ck_assert_int_eq(al_store_token_add(store, "alice", "agent", "th2", NULL), 0);
	ck_assert_int_eq(al_store_token_add(store, "bob", "agent", "tb", NULL), 0);
	ck_assert_int_eq(al_store_session_add(store, "s1", &ss, NULL), 0);
	ck_assert_int_eq(al_store_token_list(store, &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 2), "name")),
			 "bob");
	json_decref(list);
	ck_assert_int_eq(al_store_token_revoke(store, "alice", &n, NULL), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(al_store_token_find(store, "th", &name, &role), -ENOENT);
	ck_assert_int_eq(al_store_token_find(store, "th2", &name, &role), -ENOENT);
	ck_assert_int_eq(al_store_session_find(store, "s1", &got), -ENOENT);
	ck_assert_int_eq(al_store_token_find(store, "tb", &name, &role), 0);
	free(name);
	free(role);
	ck_assert_int_eq(al_store_token_revoke(store, "alice", &n, &e), -ENOENT);
	ck_assert_str_eq(al_err_msg(&e), "no token is named alice");
	ck_assert_int_eq(al_store_audit_list(store, NULL, 100, &audit, NULL), 0);
	text = json_dumps(audit, JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(text, "\"token.add\""));
	ck_assert_ptr_nonnull(strstr(text, "\"name=alice tokens=2\""));
	free(text);
	json_decref(audit);
	ck_assert_int_eq(al_store_audit_verify(store, &rep, NULL), 0);
	ck_assert(!rep.broken);
}
END_TEST

START_TEST(decisions_and_sessions_are_audited_append_only)
{
	struct al_decision d = decision("rev-1", "awaiting_approval", NULL);
	struct al_session ss = session("th", (long long)time(NULL) + 60);
	json_t *list = NULL, *e0;
	sqlite3 *db = NULL;
	char *msg = NULL;

	awaiting("a1");
	d.comment = "fine";
	ck_assert_int_eq(al_store_decide(store, "a1", &d, NULL), 0);
	/* a refused decision writes no audit entry */
	ck_assert_int_eq(al_store_decide(store, "a1", &d, NULL), -EEXIST);
	ck_assert_int_eq(al_store_session_add(store, "s1", &ss, NULL), 0);
	ck_assert_int_eq(al_store_audit_list(store, "a1", 10, &list, NULL), 0);
	/* submitted, started, the gates' result, then the decision */
	ck_assert_uint_eq(json_array_size(list), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 2), "action")),
			 "gates.awaiting_approval");
	e0 = json_array_get(list, 3);
	ck_assert_str_eq(json_string_value(json_object_get(e0, "actor")), "rev-1");
	ck_assert_str_eq(json_string_value(json_object_get(e0, "action")), "approve");
	ck_assert_str_eq(json_string_value(json_object_get(e0, "detail")),
			 "revision 1, tree t1, proposal now awaiting_approval; comment: fine");
	json_decref(list);
	ck_assert_int_eq(al_store_audit_list(store, NULL, 10, &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 5);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 4), "action")),
			 "session.start");
	json_decref(list);
	/* the newest entries when there are more than the limit, oldest first */
	ck_assert_int_eq(al_store_audit_list(store, NULL, 1, &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "action")),
			 "session.start");
	json_decref(list);
	/* SQLite itself refuses to change or drop an entry */
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_ne(sqlite3_exec(db, "UPDATE audit SET actor = 'mallory'", NULL, NULL, &msg),
			 SQLITE_OK);
	ck_assert_ptr_nonnull(strstr(msg, "append-only"));
	sqlite3_free(msg);
	ck_assert_int_ne(sqlite3_exec(db, "DELETE FROM audit", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(al_store_audit_list(store, NULL, 10, &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 5);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 3), "actor")),
			 "rev-1");
	json_decref(list);
}
END_TEST

/* Runs sql on the database with the append-only triggers out of the way, as someone with
 * the file would. */
static void
tamper(const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;
	int rc;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "");
	sqlite3_close(db);
}

static void
audit_entries(int n)
{
	char detail[32];

	for (int i = 1; i <= n; i++) {
		snprintf(detail, sizeof(detail), "entry %d", i);
		ck_assert_int_eq(
		    al_store_audit_note(store, "ops", "config.reload", NULL, detail, NULL), 0);
	}
}

static void
assert_verdict(bool broken, long long seq, const char *what)
{
	struct al_audit_report rep;

	ck_assert_int_eq(al_store_audit_verify(store, &rep, NULL), 0);
	ck_assert_msg(rep.broken == broken, "broken %d at %lld: %s", rep.broken, rep.seq, rep.what);
	if (!broken)
		return;
	ck_assert_int_eq(rep.seq, seq);
	ck_assert_msg(!strncmp(rep.what, what, strlen(what)), "%s", rep.what);
}

#define NO_TRIGGERS                               \
	"DROP TRIGGER IF EXISTS audit_no_update;" \
	"DROP TRIGGER IF EXISTS audit_no_delete;"

START_TEST(the_audit_chain_names_the_first_entry_at_fault)
{
	struct al_audit_report rep;

	audit_entries(5);
	ck_assert_int_eq(al_store_audit_verify(store, &rep, NULL), 0);
	ck_assert(!rep.broken);
	ck_assert_int_eq(rep.entries, 5);
	ck_assert_uint_eq(strlen(rep.head), 64);
	/* a detail changed */
	tamper(NO_TRIGGERS "UPDATE audit SET detail = 'entry 3, nothing to see' WHERE seq = 3;");
	assert_verdict(true, 3, "modified");
	tamper("UPDATE audit SET detail = 'entry 3' WHERE seq = 3;");
	assert_verdict(false, 0, NULL);
	/* an actor changed, and the time */
	tamper("UPDATE audit SET actor = 'mallory' WHERE seq = 2;");
	assert_verdict(true, 2, "modified");
	tamper("UPDATE audit SET actor = 'ops', at = at + 1 WHERE seq = 2;");
	assert_verdict(true, 2, "modified");
	tamper("UPDATE audit SET at = at - 1 WHERE seq = 2;");
	assert_verdict(false, 0, NULL);
	/* one deleted in the middle, then the last one */
	tamper(NO_TRIGGERS "CREATE TABLE keep AS SELECT * FROM audit;"
			   "DELETE FROM audit WHERE seq = 4;");
	assert_verdict(true, 4, "deleted");
	tamper(
	    "INSERT INTO audit SELECT * FROM keep WHERE seq = 4; DELETE FROM audit WHERE seq = 5;");
	assert_verdict(true, 5, "deleted");
	/* one slipped in between 2 and 3, the rest renumbered */
	tamper("DELETE FROM audit; INSERT INTO audit SELECT * FROM keep;"
	       "UPDATE audit SET seq = seq + 100 WHERE seq >= 3;"
	       "UPDATE audit SET seq = seq - 99 WHERE seq >= 103;"
	       "INSERT INTO audit(seq, at, actor, action, detail, hash) SELECT 3, at, 'mallory',"
	       " 'approve', 'forged', hash FROM keep WHERE seq = 3;");
	assert_verdict(true, 3, "inserted");
	/* one added after the head */
	tamper("DELETE FROM audit; INSERT INTO audit SELECT * FROM keep;"
	       "INSERT INTO audit(seq, at, actor, action, hash) VALUES (6, 1, 'mallory', 'approve',"
	       " 'ffff');");
	assert_verdict(true, 6, "inserted");
	/* put back whole: intact again */
	tamper("DELETE FROM audit; INSERT INTO audit SELECT * FROM keep;");
	assert_verdict(false, 0, NULL);
}
END_TEST

static char seen[512];

static void
record(void *ctx, const char *id, const char *state)
{
	(void)ctx;
	snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s=%s ", id, state);
}

START_TEST(every_committed_move_is_told_and_titles_are_kept)
{
	struct al_decision d = decision("rev-1", "granted", "{\"g\":1}");
	struct al_proposal p = {0}, *got = NULL;
	json_t *list = NULL;

	seen[0] = '\0';
	al_store_set_notify(store, record, NULL);
	awaiting("a1");
	ck_assert_int_eq(al_store_decide(store, "a1", &d, NULL), 0);
	ck_assert_int_eq(al_store_decide(store, "a1", &d, NULL), -EEXIST); /* not told */
	ck_assert_str_eq(seen, "a1=queued a1=running a1=awaiting_approval a1=granted ");
	snprintf(p.id, sizeof(p.id), "t1");
	p.repo = "example";
	p.base = "main";
	p.proposer = "agent-1";
	p.patch = "x";
	p.patch_len = 1;
	p.fail_to_pass = "[]";
	p.provenance = "{}";
	p.title = "calc: <b>clamp</b> \u00e9";
	p.created = 5;
	ck_assert_int_eq(al_store_proposal_insert(store, &p, NULL), 0);
	ck_assert_int_eq(al_store_proposal_get(store, "t1", &got, NULL), 0);
	ck_assert_str_eq(got->title, p.title);
	al_proposal_free(got);
	ck_assert_int_eq(al_store_proposal_get(store, "a1", &got, NULL), 0);
	ck_assert_ptr_null(got->title);
	al_proposal_free(got);
	ck_assert_int_eq(al_store_proposal_list(store, NULL, 10, &list, NULL), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "title")),
			 p.title);
	ck_assert(json_is_null(json_object_get(json_array_get(list, 1), "title")));
	json_decref(list);
}
END_TEST

START_TEST(upgrades_a_version_3_database)
{
	_cleanup_free_ char *path = al_path_join(dir, "v3.db");
	struct al_store *old = NULL;
	struct al_proposal *p = NULL;
	struct al_session ss = session("h", (long long)time(NULL) + 60), got;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	/* version 3: today's tables without titles, sessions or the audit log */
	ck_assert_int_eq(al_store_open(path, &old, NULL), 0);
	al_store_close(old);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_exec(db,
			 "DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
			 "DROP TABLE audit; DROP TABLE sessions;"
			 "ALTER TABLE proposals DROP COLUMN title;"
			 "INSERT INTO tokens VALUES ('h', 'alice', 'reviewer', 1);"
			 "INSERT INTO proposals (id, repo, base, state, proposer, patch,"
			 " fail_to_pass, provenance, created, updated) VALUES ('old',"
			 " 'example', 'main', 'queued', 'bot', 'x', '[]', '{}', 1, 2);"
			 "PRAGMA user_version = 3;",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(al_store_open(path, &old, NULL), 0);
	ck_assert_int_eq(al_store_proposal_get(old, "old", &p, NULL), 0);
	ck_assert_str_eq(p->state, "queued");
	ck_assert_ptr_null(p->title);
	al_proposal_free(p);
	ck_assert_int_eq(al_store_session_add(old, "s", &ss, NULL), 0);
	ck_assert_int_eq(al_store_session_find(old, "s", &got), 0);
	al_store_close(old);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 9);
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

/* A pull request's proposal, as the webhook intake stores it. */
static void
pr_insert(const char *id, long long number, const char *head, const char *delivery,
	  struct al_pr_ended *ended, int want)
{
	struct al_proposal p = {0};
	struct al_pull_request pr = {.delivery = delivery,
				     .full_name = "octo-org/calc",
				     .number = number,
				     .head = head,
				     .author = "octo-agent"};

	snprintf(p.id, sizeof(p.id), "%s", id);
	p.repo = "example";
	p.base = "main";
	p.proposer = "octo-agent";
	p.patch = "x";
	p.patch_len = 1;
	p.fail_to_pass = "[]";
	p.provenance = "{}";
	p.created = 1;
	ck_assert_int_eq(al_store_pull_request_insert(store, &p, &pr, ended, NULL), want);
}

static void
assert_ids(const json_t *ids, const char *want)
{
	_cleanup_free_ char *got = json_dumps(ids, JSON_COMPACT);

	ck_assert_str_eq(got, want);
}

static void
assert_state(const char *id, const char *state, const char *grant_state)
{
	struct al_proposal *p = NULL;

	ck_assert_int_eq(al_store_proposal_get(store, id, &p, NULL), 0);
	ck_assert_str_eq(p->state, state);
	if (grant_state)
		ck_assert_str_eq(p->grant_state, grant_state);
	else
		ck_assert_ptr_null(p->grant_state);
	al_proposal_free(p);
}

START_TEST(pull_requests_supersede_cancel_and_invalidate)
{
	struct al_outcome granted = {.state = "granted", .grant = "{}", .verdict = "{}", .tier = 1};
	struct al_pull_request close7 = {
	    .delivery = "d5", .full_name = "octo-org/calc", .number = 7};
	struct al_proposal *gone = NULL;
	struct al_pr_ended e = {0};
	char id[33];

	pr_insert("p1", 7, "h1", "d1", &e, 0);
	assert_ids(e.ended, "[]");
	al_pr_ended_clear(&e);
	pr_insert("q1", 8, "k1", "d2", &e, 0); /* another pull request */
	al_pr_ended_clear(&e);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_str_eq(id, "p1");
	/* synchronize: the running one is superseded, in the same transaction */
	pr_insert("p2", 7, "h2", "d3", &e, 0);
	assert_ids(e.ended, "[\"p1\"]");
	assert_ids(e.invalidated, "[]");
	al_pr_ended_clear(&e);
	assert_state("p1", "superseded", NULL);
	assert_state("q1", "queued", NULL);
	/* its job ending later writes nothing: no grant from a superseded proposal */
	ck_assert_int_eq(al_store_finish(store, "p1", &granted, NULL), -ESTALE);
	assert_state("p1", "superseded", NULL);
	/* a redelivery changes nothing */
	pr_insert("p9", 7, "h9", "d3", &e, -EEXIST);
	ck_assert_ptr_null(e.ended);
	ck_assert_int_eq(al_store_proposal_get(store, "p9", &gone, NULL), -ENOENT);
	/* a granted proposal superseded keeps its state, its unspent grant is invalidated */
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_eq(al_store_finish(store, id, &granted, NULL), 0);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_eq(al_store_finish(store, id, &granted, NULL), 0);
	assert_state("p2", "granted", NULL);
	pr_insert("p3", 7, "h3", "d4", &e, 0);
	assert_ids(e.ended, "[]");
	assert_ids(e.invalidated, "[\"p2\"]");
	al_pr_ended_clear(&e);
	assert_state("p2", "granted", "invalidated");
	ck_assert_int_eq(al_store_grant_spend(store, "p2", "n1", NULL), -EALREADY);
	/* closed: the open one is cancelled, pull request 8 is left alone */
	ck_assert_int_eq(al_store_pull_request_close(store, &close7, &e, NULL), 0);
	assert_ids(e.ended, "[\"p3\"]");
	al_pr_ended_clear(&e);
	assert_state("p3", "cancelled", NULL);
	assert_state("q1", "granted", NULL);
	ck_assert_int_eq(al_store_pull_request_close(store, &close7, &e, NULL), -EEXIST);
	close7.delivery = "d6";
	ck_assert_int_eq(al_store_pull_request_close(store, &close7, &e, NULL), 0);
	assert_ids(e.ended, "[]");
	assert_ids(e.invalidated, "[]");
	al_pr_ended_clear(&e);
	/* nothing ever claims them again */
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), -ENOENT);
}
END_TEST

START_TEST(a_moved_base_invalidates_the_grants_on_its_old_commit)
{
	struct al_outcome on_b1 = {
	    .state = "granted", .grant = "{}", .verdict = "{}", .tier = 1, .base_commit = "b1"};
	struct al_outcome on_b2 = on_b1;
	json_t *ids = NULL;
	char id[33];

	on_b2.base_commit = "b2";
	insert("a", 1, "x", 1);
	insert("b", 2, "x", 1);
	insert("c", 3, "x", 1);
	insert("d", 4, "x", 1); /* still queued */
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_eq(al_store_finish(store, "a", &on_b1, NULL), 0);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_eq(al_store_finish(store, "b", &on_b2, NULL), 0);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_int_eq(al_store_finish(store, "c", &on_b1, NULL), 0);
	ck_assert_int_eq(al_store_grant_spend(store, "c", "nc", NULL), 0); /* spent: stays */
	ck_assert_int_eq(
	    al_store_base_moved(store, "m1", "other", "refs/heads/main", "b1", &ids, NULL), 0);
	assert_ids(ids, "[]");
	json_decref(ids);
	ck_assert_int_eq(
	    al_store_base_moved(store, "m2", "example", "refs/heads/main", "b1", &ids, NULL), 0);
	assert_ids(ids, "[\"a\"]");
	json_decref(ids);
	assert_state("a", "granted", "invalidated");
	assert_state("b", "granted", NULL);
	assert_state("c", "granted", "spent");
	assert_state("d", "queued", NULL);
	ck_assert_int_eq(al_store_grant_spend(store, "a", "na", NULL), -EALREADY);
	ck_assert_int_eq(
	    al_store_base_moved(store, "m2", "example", "refs/heads/main", "b2", &ids, NULL),
	    -EEXIST);
	assert_state("b", "granted", NULL);
}
END_TEST

/* GitHub keeps one status per commit: the newest queued for a commit is the one posted,
 * and an older proposal of the same head posts nothing over a newer one's. */
START_TEST(statuses_newest_per_commit)
{
	struct al_pull_request close7 = {
	    .delivery = "d2", .full_name = "octo-org/calc", .number = 7};
	struct al_pr_ended e = {0};
	json_t *due = NULL;

	pr_insert("p1", 7, "h1", "d1", &e, 0);
	al_pr_ended_clear(&e);
	ck_assert_int_eq(
	    al_store_status_enqueue(store, "p1", "failure", "no", NULL, "rejected/", NULL), 0);
	ck_assert_int_eq(al_store_status_due(store, (long long)time(NULL) + 1, &due, NULL), 0);
	ck_assert_int_eq(json_array_size(due), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(due, 0), "state")),
			 "failure");
	json_decref(due);
	ck_assert_int_eq(al_store_pull_request_close(store, &close7, &e, NULL), 0);
	al_pr_ended_clear(&e);
	pr_insert("p2", 7, "h1", "d3", &e, 0); /* reopened on the same head */
	al_pr_ended_clear(&e);
	ck_assert_int_eq(
	    al_store_status_enqueue(store, "p1", "error", "cancelled", NULL, "cancelled/", NULL),
	    0);
	ck_assert_int_eq(al_store_status_due(store, (long long)time(NULL) + 1, &due, NULL), 0);
	ck_assert_int_eq(json_array_size(due), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(due, 0), "proposal")),
			 "p2");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(due, 0), "state")),
			 "pending");
	json_decref(due);
	ck_assert_int_eq(al_store_status_enqueue(store, "nope", "error", "x", NULL, "error/", NULL),
			 -ENOENT);
}
END_TEST

/* A move whose status never got queued (the server died between the two) is found at the
 * next start; a told one, a running one and an older proposal of a head are not. */
START_TEST(untold_statuses_are_found)
{
	struct al_outcome judged = {.state = "awaiting_approval", .candidate_tree = "t1"};
	struct al_pr_ended e = {0};
	json_t *untold = NULL;
	char id[33];

	pr_insert("u1", 8, "h8", "d1", &e, 0);
	al_pr_ended_clear(&e);
	/* queued, with its pending status queued in the same transaction: nothing untold */
	ck_assert_int_eq(al_store_status_untold(store, &untold, NULL), 0);
	ck_assert_int_eq(json_array_size(untold), 0);
	json_decref(untold);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_str_eq(id, "u1");
	ck_assert_int_eq(al_store_status_untold(store, &untold, NULL), 0);
	ck_assert_int_eq(json_array_size(untold), 0); /* running: no status to tell */
	json_decref(untold);
	ck_assert_int_eq(al_store_finish(store, "u1", &judged, NULL), 0);
	/* the crash: no status queued for awaiting_approval */
	ck_assert_int_eq(al_store_status_untold(store, &untold, NULL), 0);
	assert_ids(untold, "[[\"u1\",\"awaiting_approval\"]]");
	json_decref(untold);
	ck_assert_int_eq(al_store_status_enqueue(store, "u1", "pending", "awaiting approval", NULL,
						 "awaiting_approval/", NULL),
			 0);
	ck_assert_int_eq(al_store_status_untold(store, &untold, NULL), 0);
	ck_assert_int_eq(json_array_size(untold), 0);
	json_decref(untold);
}
END_TEST

/* Version 5's proposals table had no superseded or cancelled state: it is built again with
 * every row, and the tables that point at it still do. */
/* Version 8 had no egress count: its anomalies gain the column, old rows counting 0. */
START_TEST(upgrades_a_version_8_database)
{
	_cleanup_free_ char *path = al_path_join(dir, "v8.db");
	struct al_store *old = NULL;
	struct al_anomaly sum;
	sqlite3 *db = NULL;

	ck_assert_int_eq(al_store_open(path, &old, NULL), 0);
	al_store_close(old);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_exec(db,
			 "ALTER TABLE anomalies DROP COLUMN egress_jobs;"
			 "INSERT INTO anomalies(name, at, proposal, escape_jobs, static_hits,"
			 " kill_jobs, rejected, calls) VALUES ('a', strftime('%s','now'),"
			 " 'p', 1, 0, 0, 1, 'ptrace');"
			 "PRAGMA user_version = 8;",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(al_store_open(path, &old, NULL), 0);
	ck_assert_int_eq(al_store_anomaly_sum(old, "a", 0, &sum, NULL), 0);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_ESCAPE], 1);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_REJECTED], 1);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_EGRESS], 0);
	ck_assert_int_eq(al_store_anomaly_add(
			     old, "a", "q", &(struct al_anomaly){.n[AL_ANOMALY_EGRESS] = 1}, NULL),
			 0);
	ck_assert_int_eq(al_store_anomaly_sum(old, "a", 0, &sum, NULL), 0);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_EGRESS], 1);
	al_store_close(old);
}
END_TEST

START_TEST(upgrades_a_version_5_database)
{
	_cleanup_free_ char *path = al_path_join(dir, "v5.db");
	struct al_store *old = NULL;
	struct al_pr_ended e = {0};
	struct al_audit_report rep;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *list = NULL;

	ck_assert_int_eq(al_store_open(path, &old, NULL), 0);
	al_store_close(old);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	/* the version 5 tables: no attempts, no audit chain, and the old state CHECK written
	 * back into the schema as it was */
	ck_assert_int_eq(sqlite3_exec(db,
				      "ALTER TABLE proposals DROP COLUMN attempts;"
				      "ALTER TABLE github_prs DROP COLUMN told;"
				      "ALTER TABLE audit DROP COLUMN hash; DROP TABLE audit_head;"
				      "INSERT INTO audit(at, actor, action) VALUES (1, 'a', 'x'),"
				      " (2, 'b', 'y');"
				      "PRAGMA writable_schema = ON;"
				      "UPDATE sqlite_schema SET sql = replace(sql, ',"
				      "''superseded'',''cancelled''', '') WHERE name = 'proposals';"
				      "PRAGMA writable_schema = OFF; PRAGMA user_version = 5;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_exec(
		db,
		"INSERT INTO proposals (id, repo, base, state, proposer, patch,"
		" fail_to_pass, provenance, created, updated, candidate_tree, title)"
		" VALUES ('old', 'example', 'main', 'awaiting_approval', 'octo-agent',"
		" 'x', '[]', '{}', 1, 2, 't1', 'kept');"
		"INSERT INTO approvals VALUES ('old', 1, 'alice', 'approve', 't1', NULL, 3);"
		"INSERT INTO github_prs VALUES ('old', 'octo-org/calc', 7, 'h1', 'octo-agent');",
		NULL, NULL, NULL),
	    SQLITE_OK);
	/* it really is the old definition */
	ck_assert_int_ne(
	    sqlite3_exec(db, "UPDATE proposals SET state = 'superseded'", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	al_store_close(store);
	ck_assert_int_eq(al_store_open(path, &store, NULL), 0);
	ck_assert_int_eq(al_store_approvals(store, "old", &list, NULL), 0);
	ck_assert_int_eq(json_array_size(list), 1);
	json_decref(list);
	/* its pull request was told before the upgrade: nothing to tell again */
	ck_assert_int_eq(al_store_status_untold(store, &list, NULL), 0);
	ck_assert_int_eq(json_array_size(list), 0);
	json_decref(list);
	/* now a newer push of pull request 7 supersedes it */
	pr_insert("new", 7, "h2", "d1", &e, 0);
	assert_ids(e.ended, "[\"old\"]");
	al_pr_ended_clear(&e);
	assert_state("old", "superseded", NULL);
	/* the two old entries were chained, the new ones after them */
	ck_assert_int_eq(al_store_audit_verify(store, &rep, NULL), 0);
	ck_assert(!rep.broken);
	ck_assert_int_ge(rep.entries, 4);
	ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 9);
	sqlite3_finalize(st);
	/* version 8's quarantine tables, version 9's egress count */
	ck_assert_int_eq(
	    sqlite3_exec(db,
			 "SELECT name, released_seq FROM quarantines;"
			 "SELECT escape_jobs, static_hits, kill_jobs, rejected, egress_jobs"
			 " FROM anomalies",
			 NULL, NULL, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db, "SELECT title FROM proposals WHERE id = 'old'", -1, &st, NULL),
	    SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "kept");
	sqlite3_finalize(st);
	sqlite3_close(db);
}
END_TEST

/* The generation a cached view is stamped with: any write, ours or another process's,
 * moves it; reads do not. */
START_TEST(the_generation_moves_with_every_write)
{
	struct al_store_gen a, b, c;
	struct al_store *other = NULL;
	struct al_proposal *p = NULL;
	char *name = NULL, *role = NULL;

	ck_assert_int_eq(al_store_generation(store, &a), 0);
	ck_assert_int_eq(al_store_token_find(store, "none", &name, &role), -ENOENT);
	ck_assert_int_eq(al_store_generation(store, &b), 0);
	ck_assert(a.own == b.own && a.others == b.others);
	insert("g1", 1, "x", 1);
	ck_assert_int_eq(al_store_generation(store, &b), 0);
	ck_assert(b.own != a.own);
	ck_assert_int_eq(al_store_proposal_get(store, "g1", &p, NULL), 0);
	al_proposal_free(p);
	ck_assert_int_eq(al_store_generation(store, &c), 0);
	ck_assert(b.own == c.own && b.others == c.others);
	/* the CLI adding a token is another connection */
	ck_assert_int_eq(al_store_open(db_path, &other, NULL), 0);
	ck_assert_int_eq(al_store_token_add(other, "cli", "agent", "h9", NULL), 0);
	al_store_close(other);
	ck_assert_int_eq(al_store_generation(store, &c), 0);
	ck_assert(c.others != b.others);
	ck_assert_int_eq(al_store_token_find(store, "h9", &name, &role), 0);
	ck_assert_str_eq(name, "cli");
	free(name);
	free(role);
}
END_TEST

/* The names between the parentheses of the proposals table's "state IN (...)" CHECK, as
 * the database keeps it: a JSON array of strings. */
static void
insert_as(const char *id, long long created, const char *proposer)
{
	struct al_proposal p = {0};

	snprintf(p.id, sizeof(p.id), "%s", id);
	p.repo = "example";
	p.base = "main";
	p.proposer = (char *)proposer;
	p.patch = "x";
	p.patch_len = 1;
	p.fail_to_pass = "[\"t1\"]";
	p.provenance = "{}";
	p.created = created;
	ck_assert_int_eq(al_store_proposal_insert(store, &p, NULL), 0);
}

START_TEST(a_quarantined_name_is_held_until_released)
{
	char id[33], reason[300] = "";
	struct al_err e = {0};
	json_t *list = NULL;
	char *text;

	ck_assert_int_eq(al_store_token_add(store, "agent-1", "agent", "h1", NULL), 0);
	ck_assert_int_eq(al_store_token_add(store, "agent-2", "agent", "h2", NULL), 0);
	insert_as("a1", 10, "agent-1");
	insert_as("b1", 20, "agent-2");
	ck_assert_int_eq(al_store_quarantine_get(store, "agent-1", reason), 0);
	ck_assert_int_eq(
	    al_store_quarantine_set(store, "agent-1", "3 escapes", "scheduler", "a1", NULL), 0);
	ck_assert_int_eq(al_store_quarantine_set(store, "agent-1", "again", "scheduler", "a1", &e),
			 -EALREADY);
	ck_assert_int_eq(al_store_quarantine_get(store, "agent-1", reason), 1);
	ck_assert_str_eq(reason, "3 escapes");
	ck_assert_int_eq(al_store_quarantine_get(store, "agent-2", NULL), 0);
	/* the older proposal waits; the other name's runs */
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_str_eq(id, "b1");
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), -ENOENT);
	ck_assert_int_eq(al_store_token_list(store, &list, NULL), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "quarantined")),
			 "3 escapes");
	ck_assert_ptr_null(json_object_get(json_array_get(list, 1), "quarantined"));
	json_decref(list);
	ck_assert_int_eq(al_store_quarantine_list(store, NULL, &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "by")),
			 "scheduler");
	json_decref(list);
	ck_assert_int_eq(al_store_quarantine_list(store, "agent-2", &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 0);
	json_decref(list);
	/* released: the held proposal is claimed */
	ck_assert_int_eq(al_store_quarantine_release(store, "agent-2", "ops-1", &e), -EALREADY);
	e = (struct al_err){0};
	ck_assert_int_eq(al_store_quarantine_release(store, "nobody", "ops-1", &e), -ENOENT);
	ck_assert_str_eq(al_err_msg(&e), "no token is named nobody");
	ck_assert_int_eq(al_store_quarantine_release(store, "agent-1", "ops-1", NULL), 0);
	ck_assert_int_eq(al_store_quarantine_release(store, "agent-1", "ops-1", &e), -EALREADY);
	ck_assert_int_eq(al_store_quarantine_get(store, "agent-1", NULL), 0);
	ck_assert_int_eq(al_store_claim_next(store, id, NULL), 0);
	ck_assert_str_eq(id, "a1");
	/* and a released name can be quarantined again */
	ck_assert_int_eq(al_store_quarantine_set(store, "agent-1", "more", "scheduler", NULL, NULL),
			 0);
	ck_assert_int_eq(al_store_quarantine_get(store, "agent-1", reason), 1);
	ck_assert_str_eq(reason, "more");
	ck_assert_int_eq(al_store_audit_list(store, NULL, 100, &list, NULL), 0);
	text = json_dumps(list, JSON_COMPACT);
	ck_assert_ptr_nonnull(strstr(
	    text, "\"actor\":\"scheduler\",\"action\":\"token.quarantine\",\"proposal\":\"a1\","
		  "\"detail\":\"name=agent-1 reason=3 escapes\""));
	ck_assert_ptr_nonnull(strstr(text, "\"actor\":\"ops-1\",\"action\":\"token.release\","
					   "\"proposal\":null,\"detail\":\"name=agent-1\""));
	free(text);
	json_decref(list);
}
END_TEST

START_TEST(anomalies_count_per_name_in_the_window_and_after_a_release)
{
	struct al_anomaly esc = {.n = {[AL_ANOMALY_ESCAPE] = 1}, .calls = "ptrace"};
	struct al_anomaly kill = {.n = {[AL_ANOMALY_KILL] = 1, [AL_ANOMALY_REJECTED] = 1}};
	struct al_anomaly none = {0}, sum;
	long long now = (long long)time(NULL);

	ck_assert_int_eq(al_store_token_add(store, "agent-1", "agent", "h1", NULL), 0);
	ck_assert_int_eq(al_store_anomaly_add(store, "agent-1", "a1", &esc, NULL), 0);
	ck_assert_int_eq(al_store_anomaly_add(store, "agent-1", "a2", &kill, NULL), 0);
	ck_assert_int_eq(al_store_anomaly_add(store, "agent-1", "a3", &none, NULL), 0);
	ck_assert_int_eq(al_store_anomaly_add(store, "agent-2", "b1", &esc, NULL), 0);
	ck_assert_int_eq(al_store_anomaly_sum(store, "agent-1", now - 60, &sum, NULL), 0);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_ESCAPE], 1);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_STATIC], 0);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_KILL], 1);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_REJECTED], 1);
	ck_assert_str_eq(sum.calls, "ptrace");
	/* a job that counted for nothing left no entry */
	ck_assert_int_eq(al_store_anomaly_add(store, "agent-3", "c1", &none, NULL), 0);
	ck_assert_int_eq(al_store_anomaly_sum(store, "agent-3", now - 60, &sum, NULL), 0);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_ESCAPE] + sum.n[AL_ANOMALY_KILL], 0);
	ck_assert_str_eq(sum.calls, "");
	/* outside the window */
	ck_assert_int_eq(al_store_anomaly_sum(store, "agent-1", now + 60, &sum, NULL), 0);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_ESCAPE], 0);
	/* released: what came before is forgiven, what comes after counts */
	ck_assert_int_eq(al_store_quarantine_set(store, "agent-1", "x", "scheduler", NULL, NULL),
			 0);
	ck_assert_int_eq(al_store_quarantine_release(store, "agent-1", "ops-1", NULL), 0);
	ck_assert_int_eq(al_store_anomaly_sum(store, "agent-1", now - 60, &sum, NULL), 0);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_ESCAPE] + sum.n[AL_ANOMALY_KILL], 0);
	ck_assert_int_eq(al_store_anomaly_add(store, "agent-1", "a4", &esc, NULL), 0);
	ck_assert_int_eq(al_store_anomaly_sum(store, "agent-1", now - 60, &sum, NULL), 0);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_ESCAPE], 1);
	/* another name's release forgives nothing of this one's */
	ck_assert_int_eq(al_store_anomaly_sum(store, "agent-2", now - 60, &sum, NULL), 0);
	ck_assert_uint_eq(sum.n[AL_ANOMALY_ESCAPE], 1);
}
END_TEST

static json_t *
schema_states(void)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *names = json_array();
	const char *sql, *p, *end;

	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
					    "SELECT sql FROM sqlite_schema WHERE type = 'table'"
					    " AND name = 'proposals'",
					    -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	sql = (const char *)sqlite3_column_text(st, 0);
	p = strstr(sql, "state IN (");
	ck_assert_ptr_nonnull(p);
	p += strlen("state IN (");
	end = strchr(p, ')');
	ck_assert_ptr_nonnull(end);
	while (p < end) {
		const char *q;

		p = strchr(p, '\'');
		ck_assert(p && p < end);
		q = strchr(++p, '\'');
		ck_assert(q && q < end);
		json_array_append_new(names, json_stringn(p, (size_t)(q - p)));
		p = q + 1;
		while (p < end && (*p == ',' || *p == ' '))
			p++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return names;
}

/* The one list of states and the schema's CHECK are the same set: each state of the list
 * is in the CHECK and a proposal can be put in it; each name in the CHECK is a state. */
START_TEST(the_schema_allows_exactly_the_listed_states)
{
	_cleanup_(json_decrefp) json_t *names = schema_states();
	const char *name = al_store_state_name((enum al_proposal_state)_i);
	_cleanup_free_ char *sql = NULL;
	struct al_proposal *p = NULL;
	bool in_schema = false;
	sqlite3 *db = NULL;
	size_t i;
	json_t *v;

	ck_assert_ptr_nonnull(name);
	ck_assert(al_store_state_valid(name));
	ck_assert_uint_eq(json_array_size(names), AL_PROPOSAL_STATE_N);
	json_array_foreach (names, i, v) {
		ck_assert(al_store_state_valid(json_string_value(v)));
		in_schema |= !strcmp(json_string_value(v), name);
	}
	ck_assert(in_schema);
	insert("s1", 1, "x", 1);
	ck_assert_int_ge(asprintf(&sql,
				  "UPDATE proposals SET state = '%s', candidate_tree = 't1'"
				  " WHERE id = 's1'",
				  name),
			 0);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(al_store_proposal_get_unpatched(store, "s1", &p, NULL), 0);
	ck_assert_str_eq(p->state, name);
	al_proposal_free(p);
}
END_TEST

/* A name outside the list: no state, refused by the schema and by the list filter. */
START_TEST(a_name_outside_the_list_is_no_state)
{
	static const char *const bogus[] = {"", "Queued", "queued ", "merged", "granted'"};
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	json_t *list = NULL;
	struct al_err err = {0};

	ck_assert_ptr_null(al_store_state_name(AL_PROPOSAL_STATE_N));
	ck_assert_ptr_null(al_store_state_name((enum al_proposal_state) - 1));
	ck_assert(!al_store_state_valid(NULL));
	insert("s1", 1, "x", 1);
	ck_assert_int_eq(sqlite3_open(db_path, &db), SQLITE_OK);
	ck_assert_int_eq(
	    sqlite3_prepare_v2(db, "UPDATE proposals SET state = ? WHERE id = 's1'", -1, &st, NULL),
	    SQLITE_OK);
	for (size_t i = 0; i < AL_ARRAY_SIZE(bogus); i++) {
		ck_assert(!al_store_state_valid(bogus[i]));
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, bogus[i], -1, SQLITE_STATIC);
		ck_assert_int_eq(sqlite3_step(st), SQLITE_CONSTRAINT);
		ck_assert_int_eq(al_store_proposal_list(store, bogus[i], 10, &list, &err), -EINVAL);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	ck_assert_int_eq(al_store_proposal_list(store, "queued", 10, &list, NULL), 0);
	ck_assert_uint_eq(json_array_size(list), 1);
	json_decref(list);
}
END_TEST

static Suite *
store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *t = tcase_create("sqlite");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, wal_mode_on_disk);
	tcase_add_test(t, tokens);
	tcase_add_test(t, proposal_roundtrip_keeps_bytes);
	tcase_add_test(t, claim_in_order_and_finish_once);
	tcase_add_test(t, no_grant_without_granted_state);
	tcase_add_test(t, requeue_and_list);
	tcase_add_test(t, reopen_keeps_state);
	tcase_add_test(t, decisions_count_once_and_grant_at_the_end);
	tcase_add_test(t, stale_decisions_leave_nothing);
	tcase_add_test(t, revise_only_by_the_proposer_and_not_when_granted);
	tcase_add_test(t, awaiting_needs_a_tree);
	tcase_add_test(t, upgrades_a_version_1_database);
	tcase_add_test(t, grant_spent_once_then_invalidated_and_regated);
	tcase_add_test(t, sessions_live_with_their_token_and_until_they_expire);
	tcase_add_test(t, requeue_one);
	tcase_add_test(t, tokens_revoked_with_their_sessions);
	tcase_add_test(t, a_quarantined_name_is_held_until_released);
	tcase_add_test(t, anomalies_count_per_name_in_the_window_and_after_a_release);
	tcase_add_test(t, decisions_and_sessions_are_audited_append_only);
	tcase_add_test(t, every_committed_move_is_told_and_titles_are_kept);
	tcase_add_test(t, upgrades_a_version_3_database);
	tcase_add_test(t, pull_requests_supersede_cancel_and_invalidate);
	tcase_add_test(t, a_moved_base_invalidates_the_grants_on_its_old_commit);
	tcase_add_test(t, statuses_newest_per_commit);
	tcase_add_test(t, untold_statuses_are_found);
	tcase_add_test(t, upgrades_a_version_5_database);
	tcase_add_test(t, upgrades_a_version_8_database);
	tcase_add_test(t, the_audit_chain_names_the_first_entry_at_fault);
	tcase_add_test(t, the_generation_moves_with_every_write);
	tcase_add_loop_test(t, the_schema_allows_exactly_the_listed_states, 0, AL_PROPOSAL_STATE_N);
	tcase_add_test(t, a_name_outside_the_list_is_no_state);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(store_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
