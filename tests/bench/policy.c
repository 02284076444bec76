/* Policy evaluation cost: the static rules over a 200-file, 5000-line patch plus the
 * verdict over a matching runner result, timed 10,000 times. Baseline, measured in the
 * same run: one memchr pass counting the patch's lines, the floor of reading it at all.
 * Prints p50 and p99 of each and their ratio. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gates/gates.h"
#include "lib/buf.h"

#define FILES 200
#define ITER 10000

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* 200 files of one hunk each: 5 header lines, 6 context, 7 removed, 7 added = 25 a file. */
static char *
make_patch(size_t *len)
{
	struct al_buf b;

	al_buf_init(&b, 64u << 20);
	for (int f = 0; f < FILES; f++) {
		al_buf_printf(
		    &b,
		    "diff --git a/src/mod%03d.c b/src/mod%03d.c\nindex 1111111..2222222 100644\n"
		    "--- a/src/mod%03d.c\n+++ b/src/mod%03d.c\n@@ -10,13 +10,13 @@ int f%d(void)\n",
		    f, f, f, f, f);
		for (int i = 0; i < 3; i++)
			al_buf_printf(&b, " \tint context_%d = %d; /* unchanged */\n", i, i * f);
		for (int i = 0; i < 7; i++)
			al_buf_printf(&b, "-\tvalue = compute_old(value, %d) + offset_%d;\n", i, f);
		for (int i = 0; i < 7; i++)
			al_buf_printf(&b, "+\tvalue = compute_new(value, %d) * scale_%d;\n", i, f);
		for (int i = 0; i < 3; i++)
			al_buf_printf(&b, " \treturn_path_%d(value); /* unchanged */\n", i);
	}
	return al_buf_steal(&b, len);
}

static const char test_patch[] =
    "diff --git a/tests/test_mod.c b/tests/test_mod.c\nindex 1111111..2222222 100644\n"
    "--- a/tests/test_mod.c\n+++ b/tests/test_mod.c\n@@ -1,2 +1,3 @@\n int a;\n"
    "+TEST(mod_overflow) { check(f0() == 1); }\n int b;\n";

static json_t *
make_result(const json_t *plan)
{
	json_t *files = json_array(), *runs = json_array(), *item;
	size_t i;

	for (int f = 0; f < FILES; f++) {
		char path[64];

		snprintf(path, sizeof(path), "src/mod%03d.c", f);
		json_array_append_new(files,
				      json_pack("{s:s, s:s, s:s, s:i, s:i, s:b}", "path", path,
						"old_path", path, "status", "M", "old_mode",
						0100644, "new_mode", 0100644, "binary", 0));
	}
	json_array_foreach (plan, i, item) {
		json_t *run = json_deep_copy(item);
		int fail = !strcmp(json_string_value(json_object_get(item, "rule")), "reproduce") &&
			   !strcmp(json_string_value(json_object_get(item, "side")), "base");

		json_object_set_new(run, "status", json_string(fail ? "RE" : "OK"));
		json_object_set_new(run, "exit_code", json_integer(fail));
		json_object_set_new(run, "signal", json_integer(0));
		json_object_update_missing_new(
		    run, json_pack("{s:b, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:[]}", "killed", 0,
				   "wall_ms", 10, "cpu_ms", 5, "max_rss_kb", 900, "stdout_bytes", 0,
				   "stdout_dropped", 0, "stderr_bytes", 0, "stderr_dropped", 0,
				   "denied"));
		json_array_append_new(runs, run);
	}
	return json_pack("{s:s, s:s, s:s, s:{s:o, s:[{s:s, s:s, s:s, s:i, s:i, s:b}]}, s:o}",
			 "base_commit", "1111111111111111111111111111111111111111",
			 "candidate_commit", "2222222222222222222222222222222222222222",
			 "candidate_tree", "3333333333333333333333333333333333333333", "files",
			 "patch", files, "test_patch", "path", "tests/test_mod.c", "old_path",
			 "tests/test_mod.c", "status", "M", "old_mode", 0100644, "new_mode",
			 0100644, "binary", 0, "runs", runs);
}

static void
report(const char *name, double *t)
{
	qsort(t, ITER, sizeof(*t), cmp_double);
	printf("  %-46s p50 %8.1f us   p99 %8.1f us\n", name, t[ITER / 2], t[ITER * 99 / 100]);
}

int
main(void)
{
	static const char policy_text[] =
	    "{\"reproduce\": {\"command\": [\"sh\", \"tests/run.sh\"]},"
	    " \"contract\": [{\"name\": \"unit\", \"command\": [\"make\", \"check\"]},"
	    "                {\"name\": \"lint\", \"command\": [\"make\", \"lint\"]}],"
	    " \"test_paths\": [\"tests/**\", \"**/test_*.c\"], \"timeout_s\": 60,"
	    " \"protected_paths\": [\"Makefile\", \"build/**\"],"
	    " \"approvals\": {\"required\": 1, \"reviewers\": [\"alice\", \"bob\"]}}";
	static double full[ITER], floor_t[ITER];
	json_t *pj = json_loads(policy_text, 0, NULL), *ftp = json_pack("[s]", "mod_overflow");
	json_t *plan = NULL, *result, *rules = NULL, *verdict = NULL, *files = NULL, *prot = NULL;
	json_t *approval = NULL;
	struct al_policy *policy = NULL;
	size_t len, lines = 0, checksum = 0;
	char *patch = make_patch(&len);

	if (!pj || al_policy_parse(pj, "bench", &policy, NULL) < 0 ||
	    al_gates_plan(policy, ftp, &plan, NULL) < 0) {
		fprintf(stderr, "bench policy: setup failed\n");
		return 1;
	}
	result = make_result(plan);
	for (const char *p = patch; (p = memchr(p, '\n', len - (size_t)(p - patch))); p++)
		lines++;
	for (int i = 0; i < ITER; i++) {
		double t0 = now_us();
		size_t n = 0;

		for (const char *p = patch; (p = memchr(p, '\n', len - (size_t)(p - patch))); p++)
			n++;
		checksum += n;
		floor_t[i] = now_us() - t0;
	}
	for (int i = 0; i < ITER; i++) {
		double t0 = now_us();

		if (al_gates_static(policy, patch, len, test_patch, sizeof(test_patch) - 1, &rules,
				    NULL) < 0 ||
		    al_gates_evaluate(policy, ftp, result, &verdict, NULL) < 0 ||
		    al_gates_patch_files(patch, len, &files, NULL) < 0 ||
		    al_gates_protected(policy, (const json_t *const[]){files}, 1, &prot, NULL) <
			0 ||
		    al_gates_approval(
			policy,
			&(struct al_approval_input){
			    .proposer = "agent-1", .tree = "t", .revision = 1, .protected = prot},
			&approval, NULL, NULL, NULL) < 0)
			return fprintf(stderr, "bench policy: evaluation failed\n"), 1;
		full[i] = now_us() - t0;
		if (i == 0)
			printf("bench policy: %d files, %zu lines, %zu bytes, %d evaluations; "
			       "decision %s\n",
			       FILES, lines, len, ITER,
			       json_string_value(json_object_get(verdict, "decision")));
		json_decref(rules);
		json_decref(verdict);
		json_decref(files);
		json_decref(prot);
		json_decref(approval);
	}
	report("full policy (static, verdict, protected, approval)", full);
	report("baseline: one memchr pass over the patch", floor_t);
	qsort(full, ITER, sizeof(double), cmp_double);
	printf("  ratio full/baseline: p50 %.0fx; target p99 < 1000 us: %s (checksum %zu)\n",
	       full[ITER / 2] / floor_t[ITER / 2],
	       full[ITER * 99 / 100] < 1000.0 ? "met" : "MISSED", checksum % 7);
	json_decref(result);
	json_decref(plan);
	json_decref(pj);
	json_decref(ftp);
	al_policy_free(policy);
	free(patch);
	return 0;
}
