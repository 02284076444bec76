/* Per-test evidence: the outcomes a run's report gave, test ids matched the way users
 * name them, and the comparison of a contract's base and candidate test by test. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates/internal.h"
#include "lib/macros.h"

static const char *const outcome_names[] = {"skipped", "passed", "failed", "error"};

enum al_test_outcome
al_gates_outcome(const char *s)
{
	for (size_t i = 0; s && i < AL_ARRAY_SIZE(outcome_names); i++)
		if (!strcmp(s, outcome_names[i]))
			return (enum al_test_outcome)i;
	return AL_TEST_UNKNOWN;
}

const char *
al_gates_outcome_name(enum al_test_outcome o)
{
	return o < AL_ARRAY_SIZE(outcome_names) ? outcome_names[o] : "unknown";
}

static bool
starts(const char *p, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && memcmp(p, prefix, k) == 0;
}

/* The user's form of a test id made the reported form: in the part before the first '['
 * (pytest's parameters stay as written) a leading "./" and a ".py" ending a path
 * segment are dropped, then "::" and "/" become ".".  -E2BIG when it does not fit (then
 * it names no reported id). */
static int
normalise(const char *want, char *out, size_t cap)
{
	const char *params = strchr(want, '[');
	const char *p = want;
	size_t n = 0;

	if (!params)
		params = want + strlen(want);
	if (starts(p, (size_t)(params - p), "./"))
		p += 2;
	while (*p) {
		char c = *p;

		if (p < params && starts(p, (size_t)(params - p), ".py") &&
		    (p + 3 == params || p[3] == '/' ||
		     starts(p + 3, (size_t)(params - p - 3), "::"))) {
			p += 3;
			continue;
		}
		if (p < params && starts(p, (size_t)(params - p), "::"))
			c = '.', p++;
		else if (p < params && c == '/')
			c = '.';
		if (n + 1 >= cap)
			return -E2BIG;
		out[n++] = c;
		p++;
	}
	out[n] = '\0';
	return 0;
}

bool
al_gates_test_id_match(const char *want, const char *id)
{
	char norm[AL_REPORT_ID_MAX + 1];
	size_t n, idn;

	if (!want || !id || !*want)
		return false;
	if (strcmp(want, id) == 0)
		return true;
	if (normalise(want, norm, sizeof(norm)) < 0)
		return false;
	if (strcmp(norm, id) == 0)
		return true;
	/* unittest names a failed subTest "test_y (i=1)" */
	if (strchr(want, ' '))
		return false;
	n = strlen(norm);
	idn = strlen(id);
	return idn > n + 3 && memcmp(id, norm, n) == 0 && id[n] == ' ' && id[n + 1] == '(' &&
	       id[idn - 1] == ')';
}

int
al_gates_report_tests(const json_t *run, const json_t **ret, char *why, size_t whysz)
{
	const json_t *tests = json_object_get(run, "tests");
	const json_t *e = json_object_get(run, "report_error");
	size_t i, executed = 0;
	json_t *t;

	if (json_is_string(e) || !tests) {
		snprintf(why, whysz, "no usable report: %s",
			 json_is_string(e) ? json_string_value(e) : "none was written");
		return -ENOENT;
	}
	if (!json_is_array(tests)) {
		snprintf(why, whysz, "malformed report record");
		return -EBADMSG;
	}
	json_array_foreach (tests, i, t) {
		enum al_test_outcome o =
		    al_gates_outcome(json_string_value(json_object_get(t, "outcome")));
		const json_t *id = json_object_get(t, "id");

		/* an id with a NUL in it would read as a shorter one, maybe another test's */
		if (!json_is_object(t) || !json_is_string(id) ||
		    strlen(json_string_value(id)) != json_string_length(id) ||
		    o == AL_TEST_UNKNOWN) {
			snprintf(why, whysz, "malformed report record");
			return -EBADMSG;
		}
		executed += o != AL_TEST_SKIPPED;
	}
	if (executed == 0) {
		snprintf(why, whysz, "no test ran (%zu reported, all skipped or none)",
			 json_array_size(tests));
		return -ENODATA;
	}
	*ret = tests;
	return 0;
}

enum al_test_outcome
al_gates_report_find(const json_t *tests, const char *want, size_t *ret_matches)
{
	enum al_test_outcome worst = AL_TEST_UNKNOWN;
	size_t i, n = 0;
	json_t *t;

	json_array_foreach (tests, i, t) {
		enum al_test_outcome o;

		if (!al_gates_test_id_match(want, json_string_value(json_object_get(t, "id"))))
			continue;
		o = al_gates_outcome(json_string_value(json_object_get(t, "outcome")));
		/* several tests under one name: the worst of them stands */
		if (n++ == 0 || o > worst)
			worst = o;
	}
	*ret_matches = n;
	return worst;
}

static int
list_add(json_t *list, const char *id)
{
	if (json_array_size(list) >= AL_TESTS_LISTED)
		return 0;
	return json_array_append_new(list, json_string(id)) < 0 ? -ENOMEM : 0;
}

/* What one report said about one test id, over all its entries: a report may name a test
 * twice (a JUnit classname collision, a re-run), and no entry may hide another. */
struct id_tally {
	const char *id; /* borrowed from the report */
	unsigned b_pass, b_fail, b_seen, c_pass, c_fail, c_seen;
};

/* The slot of id in the tallies, made when new; -ENOMEM. */
static int
tally_slot(json_t *index, struct id_tally **tallies, size_t *n, size_t *cap, const char *id,
	   struct id_tally **ret)
{
	json_t *at = json_object_get(index, id);
	struct id_tally *t;

	if (at) {
		*ret = &(*tallies)[json_integer_value(at)];
		return 0;
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		struct id_tally *grown = realloc(*tallies, ncap * sizeof(**tallies));

		if (!grown)
			return -ENOMEM;
		*tallies = grown;
		*cap = ncap;
	}
	if (json_object_set_new(index, id, json_integer((json_int_t)*n)) < 0)
		return -ENOMEM;
	t = &(*tallies)[(*n)++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	*ret = t;
	return 0;
}

static int
tally_side(const json_t *tests, bool cand, json_t *index, struct id_tally **tallies, size_t *n,
	   size_t *cap, size_t *ret_passed)
{
	struct id_tally *t;
	size_t i;
	json_t *e;
	int r;

	json_array_foreach (tests, i, e) {
		enum al_test_outcome o =
		    al_gates_outcome(json_string_value(json_object_get(e, "outcome")));

		r = tally_slot(index, tallies, n, cap, json_string_value(json_object_get(e, "id")),
			       &t);
		if (r < 0)
			return r;
		*ret_passed += o == AL_TEST_PASSED;
		if (cand) {
			t->c_seen++;
			t->c_pass += o == AL_TEST_PASSED;
			t->c_fail += o == AL_TEST_FAILED || o == AL_TEST_ERROR;
		} else {
			t->b_seen++;
			t->b_pass += o == AL_TEST_PASSED;
			t->b_fail += o == AL_TEST_FAILED || o == AL_TEST_ERROR;
		}
	}
	return 0;
}

/* Every test that passed on base must pass on the candidate: failing, erroring, skipped or
 * gone are all regressions. Under an id reported several times, the candidate regresses
 * when it passes fewer of them than base did, or fails more of them: a passing duplicate
 * cannot hide a failure. Tests only the candidate has (the test patch's) must not fail.
 * Linear in the size of both reports. */
static int
tally_judge(const struct id_tally *t, struct al_test_diff *d)
{
	if (t->b_seen == 0) {
		if (t->c_fail == 0)
			return 0;
		d->n_new_failing++;
		return list_add(d->new_failing, t->id);
	}
	if (t->b_pass > 0 && (t->c_pass < t->b_pass || t->c_fail > t->b_fail)) {
		d->n_regressions++;
		return list_add(d->regressions, t->id);
	}
	if (t->b_fail > 0 && t->c_fail > 0) {
		d->n_preexisting++;
		return list_add(d->preexisting, t->id);
	}
	/* only skipped on base and failing now: judged as a new test is */
	if (t->b_fail == 0 && t->c_fail > 0) {
		d->n_new_failing++;
		return list_add(d->new_failing, t->id);
	}
	return 0;
}

int
al_gates_tests_compare(const json_t *base, const json_t *cand, struct al_test_diff *d)
{
	json_t *index = json_object();
	struct id_tally *tallies = NULL;
	size_t n = 0, cap = 0, i;
	int r = 0;

	memset(d, 0, sizeof(*d));
	d->regressions = json_array();
	d->new_failing = json_array();
	d->preexisting = json_array();
	if (!index || !d->regressions || !d->new_failing || !d->preexisting)
		r = -ENOMEM;
	if (r == 0)
		r = tally_side(base, false, index, &tallies, &n, &cap, &d->base_passed);
	if (r == 0)
		r = tally_side(cand, true, index, &tallies, &n, &cap, &d->cand_passed);
	/* base's ids first, in its order, then the candidate's new ones */
	for (i = 0; r == 0 && i < n; i++)
		r = tally_judge(&tallies[i], d);
	free(tallies);
	json_decref(index);
	if (r < 0)
		al_gates_test_diff_clear(d);
	return r;
}

void
al_gates_test_diff_clear(struct al_test_diff *d)
{
	json_decref(d->regressions);
	json_decref(d->new_failing);
	json_decref(d->preexisting);
	memset(d, 0, sizeof(*d));
}
