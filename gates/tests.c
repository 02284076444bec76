/* Per-test evidence: the outcomes a run's report gave, test ids matched the way users
 * name them, and the comparison of a contract's base and candidate test by test. */
#include <errno.h>
#include <stdio.h>
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

/* Copies id into out (n bytes) in the one spelling ids are compared in: "::" and "/"
 * become ".", and a ".py" that ends a path segment is dropped, so pytest's
 * "tests/test_x.py::C::t", unittest's "tests.test_x.C.t" and a JUnit classname.name
 * "tests.test_x.C.t" are one id. -ENAMETOOLONG when it does not fit. */
static int
normalise(const char *id, char *out, size_t n)
{
	size_t o = 0;

	for (const char *s = id; *s;) {
		const char *seg_end = s + strcspn(s, "/:");
		size_t len = (size_t)(seg_end - s);

		if (len >= 3 && !strncmp(seg_end - 3, ".py", 3) && *seg_end)
			len -= 3;
		if (o + len + 2 > n)
			return -ENAMETOOLONG;
		memcpy(out + o, s, len);
		o += len;
		s = seg_end;
		if (*s == '/') {
			out[o++] = '.';
			s++;
		} else if (*s == ':') {
			if (s[1] != ':') {
				out[o++] = ':';
				s++;
			} else {
				out[o++] = '.';
				s += 2;
			}
		}
	}
	out[o] = '\0';
	return 0;
}

bool
al_gates_test_id_match(const char *want, const char *id)
{
	char a[AL_REPORT_ID_MAX * 2 + 8], b[AL_REPORT_ID_MAX * 2 + 8];

	if (!want || !id)
		return false;
	if (!strcmp(want, id))
		return true;
	return normalise(want, a, sizeof(a)) == 0 && normalise(id, b, sizeof(b)) == 0 &&
	       !strcmp(a, b);
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
		enum al_test_outcome o = al_gates_outcome(
		    json_string_value(json_object_get(t, "outcome")));

		if (!json_is_object(t) || !json_is_string(json_object_get(t, "id")) ||
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

int
al_gates_tests_compare(const json_t *base, const json_t *cand, struct al_test_diff *d)
{
	json_t *b_by_id = json_object(), *c_by_id = json_object(), *t;
	size_t i;
	int r = 0;

	memset(d, 0, sizeof(*d));
	d->regressions = json_array();
	d->new_failing = json_array();
	d->preexisting = json_array();
	if (!b_by_id || !c_by_id || !d->regressions || !d->new_failing || !d->preexisting)
		r = -ENOMEM;
	json_array_foreach (base, i, t) {
		if (r == 0)
			r = json_object_set(b_by_id, json_string_value(json_object_get(t, "id")),
					    json_object_get(t, "outcome"));
	}
	json_array_foreach (cand, i, t) {
		if (r == 0)
			r = json_object_set(c_by_id, json_string_value(json_object_get(t, "id")),
					    json_object_get(t, "outcome"));
	}
	/* every test that passed on base must pass on the candidate: failing, erroring,
	 * skipped or gone are all regressions */
	json_array_foreach (base, i, t) {
		const char *id = json_string_value(json_object_get(t, "id"));
		enum al_test_outcome bo, co;

		if (r < 0)
			break;
		bo = al_gates_outcome(json_string_value(json_object_get(t, "outcome")));
		co = al_gates_outcome(json_string_value(json_object_get(c_by_id, id)));
		d->base_passed += bo == AL_TEST_PASSED;
		if (bo == AL_TEST_PASSED && co != AL_TEST_PASSED) {
			d->n_regressions++;
			r = list_add(d->regressions, id);
		} else if ((bo == AL_TEST_FAILED || bo == AL_TEST_ERROR) &&
			   (co == AL_TEST_FAILED || co == AL_TEST_ERROR)) {
			d->n_preexisting++;
			r = list_add(d->preexisting, id);
		}
	}
	/* tests only the candidate has (the test patch's) must pass there */
	json_array_foreach (cand, i, t) {
		const char *id = json_string_value(json_object_get(t, "id"));
		enum al_test_outcome co =
		    al_gates_outcome(json_string_value(json_object_get(t, "outcome")));

		if (r < 0)
			break;
		d->cand_passed += co == AL_TEST_PASSED;
		if (json_object_get(b_by_id, id))
			continue;
		if (co == AL_TEST_FAILED || co == AL_TEST_ERROR) {
			d->n_new_failing++;
			r = list_add(d->new_failing, id);
		}
	}
	json_decref(b_by_id);
	json_decref(c_by_id);
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
