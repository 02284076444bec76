#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
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
	ck_assert_int_eq(al_store_proposal_get(store, "nope", &p, NULL), -ENOENT);
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
	ck_assert_int_eq(al_store_requeue_running(store, NULL), 1);
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
