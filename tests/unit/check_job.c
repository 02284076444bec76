/* The scheduler's pure part (server/job.c): the job file the runner is handed and the
 * result it hands back. */
#include <check.h>
#include <errno.h>
#include <string.h>

#include "lib/macros.h"
#include "server/job.h"

static struct al_policy *
policy(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	struct al_policy *p = NULL;
	struct al_err err = {0};

	ck_assert_ptr_nonnull(j);
	ck_assert_msg(al_policy_parse(j, "policy", &p, &err) == 0, "%s", err.msg);
	json_decref(j);
	return p;
}

#define LIMITS                                                                               \
	"{\"limits\":{\"timeout_s\":45,\"memory_mb\":64,\"pids\":32,\"output_bytes\":4096}," \
	"\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}]}"

/* The job file names the patch files, carries the plan, the policy's limits and the tips;
 * a proposal without a test patch names no test patch file. */
START_TEST(job_spec)
{
	struct al_policy *pol = policy(LIMITS);
	struct al_proposal p = {.base = "main", .created = 1700000000};
	json_t *plan = json_loads("[{\"id\":\"unit\"}]", 0, NULL);
	json_t *tips = json_loads("{\"refs/heads/main\":\"abc\"}", 0, NULL);
	json_t *spec;

	if (_i)
		p.test_patch = "diff";
	spec = al_job_spec(&p, "/srv/repo.git", pol, plan, tips);
	ck_assert_ptr_nonnull(spec);
	ck_assert_str_eq(json_string_value(json_object_get(spec, "repo_path")), "/srv/repo.git");
	ck_assert_str_eq(json_string_value(json_object_get(spec, "base")), "main");
	ck_assert_str_eq(json_string_value(json_object_get(spec, "patch_file")), "patch.diff");
	if (_i)
		ck_assert_str_eq(json_string_value(json_object_get(spec, "test_patch_file")),
				 "test_patch.diff");
	else
		ck_assert(!json_is_string(json_object_get(spec, "test_patch_file")));
	ck_assert(json_equal(json_object_get(spec, "plan"), plan));
	ck_assert_int_eq(json_integer_value(json_object_get(spec, "timeout_s")), 45);
	ck_assert_int_eq(json_integer_value(json_object_get(spec, "memory_bytes")), 64 << 20);
	ck_assert_int_eq(json_integer_value(json_object_get(spec, "pids")), 32);
	ck_assert_int_eq(json_integer_value(json_object_get(spec, "output_cap")), 4096);
	ck_assert_int_eq(json_integer_value(json_object_get(spec, "commit_time")), 1700000000);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(spec, "branch_tips"),
							   "refs/heads/main")),
			 "abc");
	json_decref(spec);
	json_decref(plan);
	al_policy_free(pol);
}
END_TEST

/* One timeout per run and one for the set-up, plus the runner's slack. */
START_TEST(job_timeout)
{
	struct al_policy *pol = policy(LIMITS);

	ck_assert_int_eq(al_job_timeout_s(pol, 0), 45 + AL_JOB_RUNNER_SLACK_S);
	ck_assert_int_eq(al_job_timeout_s(pol, 3), 4 * 45 + AL_JOB_RUNNER_SLACK_S);
	al_policy_free(pol);
}
END_TEST

#define ENVIRONMENT(extra)                                                                         \
	"{\"limits\":{\"timeout_s\":45},\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}]" \
	","                                                                                        \
	"\"environment\":{\"image\":\"/srv/img\"},\"setup\":{\"command\":[\"npm\",\"ci\"],"        \
	"\"keys\":[\"package-lock.json\"],\"timeout_s\":100" extra "}}"

/* The image and setup reach the runner, setup with a salt over what decides its layer
 * (command, keys, its egress), so two policies that would install differently never share
 * one; the job's time grows by three setups and an image's first unpack. */
START_TEST(job_environment)
{
	struct al_policy *a = policy(ENVIRONMENT(""));
	struct al_policy *b = policy(ENVIRONMENT(",\"on_lockfile_change\":\"reject\""));
	struct al_proposal p = {.base = "main"};
	json_t *plan = json_array(), *tips = json_object(), *sa, *sb;
	const json_t *setup;

	sa = al_job_spec(&p, "/srv/repo.git", a, plan, json_incref(tips));
	sb = al_job_spec(&p, "/srv/repo.git", b, plan, json_incref(tips));
	ck_assert_ptr_nonnull(sa);
	ck_assert_str_eq(
	    json_string_value(json_object_get(json_object_get(sa, "environment"), "image")),
	    "/srv/img");
	setup = json_object_get(sa, "setup");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(setup, "argv"), 1)),
			 "ci");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(setup, "keys"), 0)),
			 "package-lock.json");
	ck_assert_str_eq(json_string_value(json_object_get(setup, "on_change")), "human");
	ck_assert_int_eq(json_integer_value(json_object_get(setup, "timeout_s")), 100);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(setup, "salt"))), 64);
	ck_assert_str_ne(json_string_value(json_object_get(setup, "salt")),
			 json_string_value(json_object_get(json_object_get(sb, "setup"), "salt")));
	ck_assert_int_eq(al_job_timeout_s(a, 1),
			 2 * 45 + AL_JOB_RUNNER_SLACK_S + 3 * 100 + AL_JOB_IMAGE_SLACK_S);
	json_decref(sa);
	json_decref(sb);
	json_decref(plan);
	json_decref(tips);
	al_policy_free(a);
	al_policy_free(b);
}
END_TEST

static const struct {
	const char *text;
	int want;
	const char *problem; /* a part of the error; NULL when accepted */
} results[] = {
    {"{\"runs\":[],\"base_commit\":\"abc\"}", 0, NULL},
    {"{}", 0, NULL},
    /* a runner that lies twice in one object: which key would count? */
    {"{\"runs\":[],\"runs\":[{\"status\":\"OK\"}]}", -EBADMSG, "not a JSON object"},
    {"{\"error\":\"x\",\"error\":\"y\"}", -EBADMSG, "not a JSON object"},
    {"[]", -EBADMSG, "not a JSON object"},
    {"", -EBADMSG, "not a JSON object"},
    {"{\"runs\":[]", -EBADMSG, "not a JSON object"},
    {"{\"runs\":{}}", -EBADMSG, "runs: expected an array"},
    {"{\"runs\":\"OK\"}", -EBADMSG, "runs: expected an array"},
};

START_TEST(job_result)
{
	struct al_err err = {0};
	json_t *r = NULL;
	int got = al_job_result_parse(results[_i].text, strlen(results[_i].text), &r, &err);

	ck_assert_int_eq(got, results[_i].want);
	if (results[_i].problem) {
		ck_assert_ptr_null(r);
		ck_assert_msg(strstr(al_err_msg(&err), results[_i].problem), "%s",
			      al_err_msg(&err));
	} else {
		ck_assert(json_is_object(r));
	}
	json_decref(r);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("job");
	TCase *t = tcase_create("job");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(t, job_spec, 0, 2);
	tcase_add_test(t, job_timeout);
	tcase_add_test(t, job_environment);
	tcase_add_loop_test(t, job_result, 0, (int)AL_ARRAY_SIZE(results));
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
