/* The run plan: which commands the runner executes, on which side, with which argv. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"
#include "lib/macros.h"

static int
check_test(const json_t *ids, size_t i, struct al_err *err)
{
	const json_t *v = json_array_get(ids, i);
	char shown[AL_TEST_ID_MAX + 8];
	size_t k;

	if (!json_is_string(v))
		return al_err_set(err, -EINVAL, "fail_to_pass[%zu]: expected a string", i);
	al_gates_printable(shown, sizeof(shown), json_string_value(v), json_string_length(v));
	if (strlen(json_string_value(v)) != json_string_length(v) ||
	    !al_gates_test_id_valid(json_string_value(v)))
		return al_err_set(err, -EINVAL, "fail_to_pass[%zu]: invalid test id \"%s\"", i,
				  shown);
	for (k = 0; k < i; k++)
		if (json_equal(json_array_get(ids, k), (json_t *)v))
			return al_err_set(err, -EINVAL,
					  "fail_to_pass[%zu]: duplicate test id \"%s\"", i, shown);
	return 0;
}

static int
check_tests(const struct al_policy *p, const json_t *ids, struct al_err *err)
{
	size_t i, n = json_array_size(ids);
	int r;

	if (ids && !json_is_array(ids))
		return al_err_set(err, -EINVAL, "fail_to_pass: expected an array of test ids");
	if (n > AL_GATES_MAX_TESTS)
		return al_err_set(err, -EINVAL, "fail_to_pass: more than %d test ids",
				  AL_GATES_MAX_TESTS);
	for (i = 0; i < n; i++) {
		r = check_test(ids, i, err);
		if (r < 0)
			return r;
	}
	if (p->reproduce && n == 0)
		return al_err_set(err, -EINVAL,
				  "fail_to_pass: at least one test id is required by this policy");
	if (!p->reproduce && n > 0)
		return al_err_set(
		    err, -EINVAL,
		    "fail_to_pass: this policy has no reproduce command to run tests");
	return 0;
}

int
al_gates_run_id_k(char *buf, size_t bufsz, const char *rule, const char *name, const char *side,
		  unsigned k)
{
	size_t n;
	int r;

	r = al_gates_run_id(buf, bufsz, rule, name, side);
	if (r < 0 || k == 0)
		return r;
	n = strlen(buf);
	r = snprintf(buf + n, bufsz - n, ":%u", k);
	if (r < 0 || (size_t)r >= bufsz - n)
		return -ENAMETOOLONG;
	return 0;
}

/* Where a run happens and what it hands back besides its exit. */
struct run_place {
	const char *side;   /* "base" or "candidate": which half of the proof */
	const char *tree;   /* "base" (unmodified), "tested" (+ test patch) or "candidate" */
	const char *report; /* "junit", "tap", or NULL for none */
};

/* Appends one run, the k-th of repeated ones (0 when not repeated); argv is stolen. */
static int
add_run(json_t *plan, const char *rule, const char *key, const char *name,
	const struct run_place *at, unsigned k, json_t *argv)
{
	char id[AL_TEST_ID_MAX + 64];
	json_t *o;

	if (!argv)
		return -ENOMEM;
	if (al_gates_run_id_k(id, sizeof(id), rule, name, at->side, k) < 0) {
		json_decref(argv);
		return -ENAMETOOLONG;
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:s*}", "id", id, "rule", rule, key, name,
		      "side", at->side, "tree", at->tree, "argv", argv, "report", at->report);
	if (!o || json_array_append_new(plan, o) < 0)
		return -ENOMEM;
	return 0;
}

static json_t *
reproduce_argv(const struct al_policy *p, const json_t *id)
{
	json_t *argv = json_deep_copy(p->reproduce);

	if (argv && json_array_append_new(argv, json_deep_copy(id)) < 0) {
		json_decref(argv);
		return NULL;
	}
	return argv;
}

/* The reproduction runs on base + test patch, where the new test must fail, and on the
 * candidate; a contract runs on the candidate and on the unmodified base, so that what
 * already failed there is told apart from a regression and the test patch cannot change
 * what "passed on base" means. */
static int
add_runs(const struct al_policy *p, const json_t *ids, json_t *plan)
{
	/* one unrepeated run keeps the plain ids that results already stored carry */
	unsigned k, first = p->repeat > 1 ? 1 : 0, last = p->repeat > 1 ? p->repeat : 0;
	const struct run_place repro[] = {{"base", "tested", p->report},
					  {"candidate", "candidate", p->report}};
	size_t i, s;
	json_t *v;
	int r;

	json_array_foreach (ids, i, v) {
		for (s = 0; s < AL_ARRAY_SIZE(repro); s++) {
			for (k = first; k <= last; k++) {
				r = add_run(plan, "reproduce", "test", json_string_value(v),
					    &repro[s], k, reproduce_argv(p, v));
				if (r < 0)
					return r;
			}
		}
	}
	json_array_foreach (p->contracts, i, v) {
		const char *report = json_string_value(json_object_get(v, "report"));
		const struct run_place contract[] = {{"candidate", "candidate", report},
						     {"base", "base", report}};

		for (s = 0; s < AL_ARRAY_SIZE(contract); s++) {
			r = add_run(plan, "contract", "name",
				    json_string_value(json_object_get(v, "name")), &contract[s], 0,
				    json_deep_copy(json_object_get(v, "command")));
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int
al_gates_plan(const struct al_policy *p, const json_t *fail_to_pass, json_t **ret,
	      struct al_err *err)
{
	_cleanup_(al_gates_decrefp) json_t *plan = NULL;
	int r;

	if (!p || !ret)
		return al_err_set(err, -EINVAL, "plan: missing policy or result");
	r = check_tests(p, fail_to_pass, err);
	if (r < 0)
		return r;
	plan = json_array();
	if (!plan)
		return al_err_set(err, -ENOMEM, "plan: out of memory");
	r = add_runs(p, fail_to_pass, plan);
	if (r < 0)
		return al_err_set(err, r, "plan: cannot build the run list");
	*ret = steal_pointer(&plan);
	return 0;
}
