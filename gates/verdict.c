/* The verdict: a runner result judged against the policy and the plan.  The result is
 * read as untrusted: every field is checked before use, and anything missing, mistyped
 * or unexpected becomes an ERROR rule, so it can only ever reject. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"
#include "lib/macros.h"
#include "lib/runrec.h"

struct verdict {
	const struct al_policy *p;
	const json_t *fail_to_pass;
	const json_t *result;
	json_t *rules; /* owned */
	json_t *plan;  /* owned; NULL when no plan could be made */
	json_t *runs;  /* owned; run id -> run record */
	/* why runs and file lists may be missing without that being an error */
	const char *blocked;
};

/* An enum al_run_status, or -EINVAL for what is none (index_run lets no such run in). */
static int
run_status(const json_t *run)
{
	return al_runrec_status_parse(json_string_value(json_object_get(run, AL_RUNREC_STATUS)));
}

/* "exit 1", "signal 9", "timeout": how a run that did not pass ended. */
static void
how_failed(const json_t *run, char *buf, size_t n)
{
	const json_t *code = json_object_get(run, "exit_code");
	const json_t *sig = json_object_get(run, "signal");

	switch (run_status(run)) {
	case AL_RUN_RE:
		if (json_is_integer(code))
			snprintf(buf, n, "exit %lld", (long long)json_integer_value(code));
		else
			snprintf(buf, n, "exit status unknown");
		break;
	case AL_RUN_SG:
		if (json_is_integer(sig))
			snprintf(buf, n, "signal %lld", (long long)json_integer_value(sig));
		else
			snprintf(buf, n, "signal unknown");
		break;
	case AL_RUN_TO:
		snprintf(buf, n, "timeout");
		break;
	case AL_RUN_OOM:
		snprintf(buf, n, "out of memory");
		break;
	case AL_RUN_DISK:
		snprintf(buf, n, "disk full");
		break;
	case AL_RUN_OK:
		snprintf(buf, n, "passed");
		break;
	default:
		snprintf(buf, n, "sandbox failure");
		break;
	}
}

static bool
clean_string(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

static bool
object_id(const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), i;

	if (!s || (n != 40 && n != 64))
		return false;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The first problem with the result's overall shape, or NULL. */
static const char *
shape_problem(const struct verdict *v)
{
	static const struct {
		const char *key, *problem;
	} ids[] = {
	    {"base_commit", "result.base_commit: expected a commit id"},
	    {"candidate_commit", "result.candidate_commit: expected a commit id"},
	    {"candidate_tree", "result.candidate_tree: expected a tree id"},
	};
	const json_t *runs = json_object_get(v->result, "runs");
	const json_t *files = json_object_get(v->result, "files");
	size_t i;

	if (runs ? !json_is_array(runs) : !v->blocked)
		return "result.runs: expected an array";
	if (files ? !json_is_object(files) : !v->blocked)
		return "result.files: expected an object";
	if (v->blocked)
		return NULL;
	for (i = 0; i < AL_ARRAY_SIZE(ids); i++)
		if (!object_id(json_object_get(v->result, ids[i].key)))
			return ids[i].problem;
	return NULL;
}

static int
rule_result(struct verdict *v)
{
	const char *why = shape_problem(v);

	if (why)
		return al_gates_rule_add(v->rules, "result", AL_RULE_ERROR, "%s", why);
	return al_gates_rule_add(v->rules, "result", AL_RULE_SATISFIED, "result is well-formed");
}

static int
rule_runner(struct verdict *v)
{
	const json_t *e = json_object_get(v->result, "error");

	if (!e)
		return al_gates_rule_add(v->rules, "runner", AL_RULE_SATISFIED, "runner completed");
	return al_gates_rule_add(v->rules, "runner", AL_RULE_ERROR, "runner failed: %s",
				 json_is_string(e) ? json_string_value(e) : "(malformed error)");
}

static int
which_valid(const json_t *v)
{
	const char *s = json_string_value(v);

	return s && (!strcmp(s, "patch") || !strcmp(s, "test_patch"));
}

/* One entry of result.apply_offsets or result.apply_merged, copied key by key; NULL when it
 * is not {which, file[, hunk >= 1, offset != 0]}. */
static json_t *
applied_entry(const json_t *e, bool offset)
{
	const json_t *file = json_object_get(e, "file"), *hunk = json_object_get(e, "hunk");
	const json_t *off = json_object_get(e, "offset");

	if (!json_is_object(e) || !which_valid(json_object_get(e, "which")) ||
	    !clean_string(file) || !json_string_length(file))
		return NULL;
	if (!offset)
		return json_pack("{s:O, s:O}", "which", json_object_get(e, "which"), "file", file);
	if (!json_is_integer(hunk) || json_integer_value(hunk) < 1 ||
	    json_integer_value(hunk) > 0x7fffffff || !json_is_integer(off) ||
	    json_integer_value(off) == 0)
		return NULL;
	return json_pack("{s:O, s:O, s:O, s:O}", "which", json_object_get(e, "which"), "file", file,
			 "hunk", hunk, "offset", off);
}

/* A copy of the result's list at key (absent: empty); NULL when it is malformed. */
static json_t *
applied_list(const json_t *result, const char *key, bool offset)
{
	const json_t *a = json_object_get(result, key), *e;
	json_t *out = json_array();
	size_t i;

	if (!out || (a && !json_is_array(a))) {
		json_decref(out);
		return NULL;
	}
	json_array_foreach (a, i, e) {
		json_t *c = applied_entry(e, offset);

		if (!c || json_array_append_new(out, c) < 0) {
			json_decref(out);
			return NULL;
		}
	}
	return out;
}

/* "patch and test patch apply", saying which hunks applied at shifted lines (as git apply
 * does) and which files were merged three-way (git apply -3). */
static int
apply_satisfied(struct verdict *v)
{
	json_t *off = applied_list(v->result, "apply_offsets", true);
	json_t *merged = applied_list(v->result, "apply_merged", false);
	size_t n = json_array_size(off), m = json_array_size(merged);
	const char *hunks = n == 1 ? "hunk at a shifted line" : "hunks at shifted lines";
	const char *files = m == 1 ? "file by three-way merge" : "files by three-way merge";
	char how[128] = "";

	if (!off || !merged) {
		json_decref(off);
		json_decref(merged);
		return al_gates_rule_add(v->rules, "apply", AL_RULE_ERROR, "result.%s: malformed",
					 off ? "apply_merged" : "apply_offsets");
	}
	if (n && m)
		snprintf(how, sizeof(how), " (%zu %s, %zu %s)", n, hunks, m, files);
	else if (n || m)
		snprintf(how, sizeof(how), " (%zu %s)", n ? n : m, n ? hunks : files);
	return al_gates_rule_add_ev(v->rules, "apply", AL_RULE_SATISFIED,
				    json_pack("{s:o, s:o}", "offsets", off, "merged", merged),
				    "patch and test patch apply%s", how);
}

static int
rule_apply(struct verdict *v)
{
	const json_t *a = json_object_get(v->result, "apply_error");
	const char *which, *file, *msg;
	json_int_t hunk;
	char head[AL_REASON_MAX];
	size_t hl;

	if (!a)
		return apply_satisfied(v);
	which = json_string_value(json_object_get(a, "which"));
	file = json_string_value(json_object_get(a, "file"));
	msg = json_string_value(json_object_get(a, "message"));
	hunk = json_integer_value(json_object_get(a, "hunk"));
	if (!json_is_object(a) || !which || (strcmp(which, "patch") && strcmp(which, "test_patch")))
		return al_gates_rule_add(v->rules, "apply", AL_RULE_ERROR,
					 "result.apply_error: malformed");
	if (!file)
		file = "(unknown file)";
	if (hunk > 0) {
		/* the runner's own words after the hunk: why it did not apply (a three-way
		 * conflict), when its message names this file and hunk */
		snprintf(head, sizeof(head), "%s does not apply: %s hunk %lld", which, file,
			 (long long)hunk);
		hl = strlen(head);
		if (!msg || strncmp(msg, head, hl) || strncmp(msg + hl, ": ", 2))
			msg = NULL;
		return al_gates_rule_add(v->rules, "apply", AL_RULE_UNSATISFIED, "%s%s", head,
					 msg ? msg + hl : "");
	}
	return al_gates_rule_add(v->rules, "apply", AL_RULE_UNSATISFIED,
				 "%s does not apply: %s%s%s", which, file, msg ? ": " : "",
				 msg ? msg : "");
}

/* The static file-list rules (paths, modes, binary) again, over the file lists the
 * runner's own parser produced. */
static int
rule_static(struct verdict *v)
{
	const json_t *files = json_object_get(v->result, "files");
	const json_t *pf = json_object_get(files, "patch");
	const json_t *tf = json_object_get(files, "test_patch");
	char msg[AL_REASON_MAX];

	if (!pf && v->blocked) {
		snprintf(msg, sizeof(msg), "not checked: %s", v->blocked);
		return al_gates_static_all(v->rules, false, AL_RULE_NOT_APPLICABLE, msg);
	}
	/* the runner lists an empty test patch as no files: no test patch at all */
	if (json_is_null(tf) || (json_is_array(tf) && json_array_size(tf) == 0))
		tf = NULL;
	if (!al_gates_files_valid(pf, "result.files.patch", msg, sizeof(msg)) ||
	    (tf && !al_gates_files_valid(tf, "result.files.test_patch", msg, sizeof(msg))))
		return al_gates_static_all(v->rules, false, AL_RULE_ERROR, msg);
	return al_gates_static_rules(
	    &(struct al_static_input){.policy = v->p, .patch_files = pf, .test_files = tf},
	    v->rules);
}

/* A run must be the one the plan asked for: same rule, side, test or name, and argv. */
static const char *
plan_mismatch(const json_t *run, const json_t *planned)
{
	static const char *const keys[] = {"rule", "side", "tree",  "test",
					   "name", "argv", "report"};
	size_t i;

	for (i = 0; i < AL_ARRAY_SIZE(keys); i++) {
		json_t *got = json_object_get(run, keys[i]);

		if (got && !json_equal(got, json_object_get(planned, keys[i])))
			return keys[i];
	}
	return NULL;
}

static const json_t *
planned_run(const struct verdict *v, const char *id)
{
	size_t i;
	json_t *e;

	json_array_foreach (v->plan, i, e)
		if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0)
			return e;
	return NULL;
}

static int
index_run(struct verdict *v, size_t i, json_t *run)
{
	const json_t *idv = json_object_get(run, "id"), *planned;
	const char *id = json_string_value(idv), *key;
	struct al_err e = {0};

	if (!json_is_object(run) || !clean_string(idv) ||
	    !json_is_string(json_object_get(run, "status")))
		return al_gates_rule_add(
		    v->rules, "runs", AL_RULE_ERROR,
		    "result.runs[%zu]: expected an object with string id and status", i);
	if (json_object_get(v->runs, id))
		return al_gates_rule_add(v->rules, "runs", AL_RULE_ERROR, "duplicate run %s", id);
	planned = planned_run(v, id);
	if (!planned)
		return al_gates_rule_add(v->rules, "runs", AL_RULE_ERROR, "unexpected run %s", id);
	if (run_status(run) < 0)
		return al_gates_rule_add(v->rules, "runs", AL_RULE_ERROR,
					 "run %s has an unknown status", id);
	if (al_runrec_check(run, &e) < 0)
		return al_gates_rule_add(v->rules, "runs", AL_RULE_ERROR, "run %s: %s", id,
					 al_err_msg(&e));
	key = plan_mismatch(run, planned);
	if (key)
		return al_gates_rule_add(v->rules, "runs", AL_RULE_ERROR,
					 "run %s does not match the plan (%s)", id, key);
	return json_object_set(v->runs, id, run) < 0 ? -ENOMEM : 0;
}

static int
index_runs(struct verdict *v)
{
	const json_t *runs = json_object_get(v->result, "runs");
	size_t i;
	json_t *run;
	int r;

	json_array_foreach (runs, i, run) {
		r = index_run(v, i, run);
		if (r < 0)
			return r;
	}
	return 0;
}

static const json_t *
run_get(const struct verdict *v, const char *rule, const char *name, const char *side, char *id,
	size_t idsz)
{
	if (al_gates_run_id(id, idsz, rule, name, side) < 0)
		return NULL;
	return json_object_get(v->runs, id);
}

static int
missing_run(struct verdict *v, const char *rule, const char *id)
{
	if (v->blocked)
		return al_gates_rule_add(v->rules, rule, AL_RULE_NOT_APPLICABLE, "not run: %s",
					 v->blocked);
	return al_gates_rule_add(v->rules, rule, AL_RULE_ERROR, "missing run %s", id);
}

/* What the runs of one side of a reproduce test showed. */
struct side_runs {
	const json_t *first;  /* the first run present */
	const json_t *failed; /* the first run that did not pass */
	const json_t *odd;    /* the first run that neither passed nor failed (TO, OOM, DISK, XX) */
	bool xx;	      /* some run was a sandbox failure */
	unsigned passed, n;
	char missing[AL_TEST_ID_MAX + 64]; /* the first missing run's id; "" when none is */
	char problem[AL_REASON_MAX / 2];   /* the first run whose report cannot judge the test */
	const char *outcome;		   /* the test's reported outcome in the first run */
};

/* Whether the named test passed in one run, by its report: it must be there, and have run.
 * false with s->problem set when the report cannot say. */
static bool
reported_pass(const json_t *run, const char *test, struct side_runs *s, bool *ret_pass)
{
	const json_t *tests = NULL;
	enum al_test_outcome o;
	char why[AL_REASON_MAX / 2];
	size_t matches;

	if (al_gates_report_tests(run, &tests, why, sizeof(why)) < 0) {
		if (!s->problem[0])
			snprintf(s->problem, sizeof(s->problem), "%s", why);
		return false;
	}
	o = al_gates_report_find(tests, test, &matches);
	if (matches == 0 || o == AL_TEST_SKIPPED) {
		if (!s->problem[0])
			snprintf(s->problem, sizeof(s->problem),
				 matches ? "the test was skipped, it did not run"
					 : "the test is not in the report (%zu tests reported)",
				 json_array_size(tests));
		return false;
	}
	if (!s->outcome)
		s->outcome = al_gates_outcome_name(o);
	*ret_pass = o == AL_TEST_PASSED;
	return true;
}

static void
side_collect(const struct verdict *v, const char *test, const char *side, struct side_runs *s)
{
	unsigned k, first = v->p->repeat > 1 ? 1 : 0, last = v->p->repeat > 1 ? v->p->repeat : 0;
	char id[AL_TEST_ID_MAX + 64];
	const json_t *run;
	int st;
	bool pass;

	memset(s, 0, sizeof(*s));
	for (k = first; k <= last; k++) {
		run = NULL;
		if (al_gates_run_id_k(id, sizeof(id), "reproduce", test, side, k) == 0)
			run = json_object_get(v->runs, id);
		if (!run) {
			if (!s->missing[0])
				snprintf(s->missing, sizeof(s->missing), "%s", id);
			continue;
		}
		st = run_status(run);
		s->n++;
		if (!s->first)
			s->first = run;
		if (st != AL_RUN_OK && st != AL_RUN_RE && st != AL_RUN_SG && !s->odd)
			s->odd = run;
		s->xx |= st == AL_RUN_XX;
		pass = st == AL_RUN_OK;
		/* with a report the test's own outcome counts. On the candidate a pass needs a
		 * clean exit too; on base a test the report says passed passed, whatever the
		 * exit: a failure elsewhere in the run is no reproduction */
		if (v->p->report && (st == AL_RUN_OK || st == AL_RUN_RE || st == AL_RUN_SG) &&
		    reported_pass(run, test, s, &pass) && !strcmp(side, "candidate"))
			pass = pass && st == AL_RUN_OK;
		if (pass)
			s->passed++;
		else if (!s->failed)
			s->failed = run;
	}
}

/* {"runs": [every run id of this test, base first]} */
static json_t *
reproduce_evidence(const struct verdict *v, const char *test)
{
	static const char *const sides[] = {"base", "candidate"};
	unsigned k, first = v->p->repeat > 1 ? 1 : 0, last = v->p->repeat > 1 ? v->p->repeat : 0;
	char id[AL_TEST_ID_MAX + 64];
	json_t *ids = json_array();
	size_t s;

	for (s = 0; ids && s < AL_ARRAY_SIZE(sides); s++) {
		for (k = first; k <= last; k++) {
			if (al_gates_run_id_k(id, sizeof(id), "reproduce", test, sides[s], k) < 0 ||
			    json_array_append_new(ids, json_string(id)) < 0) {
				json_decref(ids);
				return NULL;
			}
		}
	}
	return ids ? json_pack("{s:o}", "runs", ids) : NULL;
}

/* how_failed, for a run that exited 0 yet failed the test by its report */
static void
how_failed_side(const struct side_runs *s, const json_t *run, char *buf, size_t n)
{
	if (run_status(run) == AL_RUN_OK && s->outcome)
		snprintf(buf, n, "%s in the report, exit 0", s->outcome);
	else
		how_failed(run, buf, n);
}

static int
rule_reproduce(struct verdict *v, const char *test)
{
	char rule[AL_TEST_ID_MAX + 32], how[64];
	struct side_runs b, c;
	json_t *ev;

	snprintf(rule, sizeof(rule), "reproduce:%s", test);
	side_collect(v, test, "base", &b);
	side_collect(v, test, "candidate", &c);
	if (b.missing[0] || c.missing[0])
		return missing_run(v, rule, b.missing[0] ? b.missing : c.missing);
	ev = reproduce_evidence(v, test);
	if (!ev)
		return -ENOMEM;
	if (b.outcome || c.outcome)
		json_object_set_new(
		    ev, "outcomes",
		    json_pack("{s:s*, s:s*}", "base", b.outcome, "candidate", c.outcome));
	if (b.problem[0] && !b.odd)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev, "%s on base: %s",
					    test, b.problem);
	if (c.problem[0] && !c.odd)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev,
					    "%s on candidate: %s", test, c.problem);
	if (b.passed == b.n)
		return al_gates_rule_add_ev(
		    v->rules, rule, AL_RULE_UNSATISFIED, ev,
		    "%s already passes on base: reproduction proves nothing", test);
	/* runs of one side that disagree prove nothing either way */
	if (b.passed > 0)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev,
					    "%s is flaky on base: passed %u of %u runs", test,
					    b.passed, b.n);
	if (b.odd)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev,
					    "%s on base: %s, inconclusive", test,
					    al_runrec_status_name(run_status(b.odd)));
	if (c.xx)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev,
					    "%s on candidate: XX, inconclusive", test);
	if (c.passed > 0 && c.passed < c.n)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev,
					    "%s is flaky on candidate: passed %u of %u runs", test,
					    c.passed, c.n);
	if (c.passed == 0) {
		how_failed_side(&c, c.failed, how, sizeof(how));
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_UNSATISFIED, ev,
					    "%s still fails on candidate (%s)", test, how);
	}
	how_failed_side(&b, b.first, how, sizeof(how));
	if (b.n > 1)
		return al_gates_rule_add_ev(
		    v->rules, rule, AL_RULE_SATISFIED, ev,
		    "%s fails on base (%s) and passes on candidate, %u runs "
		    "each",
		    test, how, b.n);
	return al_gates_rule_add_ev(v->rules, rule, AL_RULE_SATISFIED, ev,
				    "%s fails on base (%s) and passes on candidate", test, how);
}

static bool
run_failed(const json_t *run)
{
	int st = run_status(run);

	return st == AL_RUN_RE || st == AL_RUN_SG || st == AL_RUN_TO || st == AL_RUN_OOM ||
	       st == AL_RUN_DISK;
}

/* The contract's entry in the policy. */
static const json_t *
contract_conf(const struct verdict *v, const char *name)
{
	size_t i;
	json_t *e;

	json_array_foreach (v->p->contracts, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")), name))
			return e;
	return NULL;
}

/* A contract with a report: judged test by test. A test that passed on base must pass on
 * the candidate; a test only the candidate has must not fail; tests failing on both are
 * pre-existing and listed. A candidate that exits badly where base exited 0 regresses
 * whatever its report says. */
static int
contract_by_tests(struct verdict *v, const char *rule, const char *name, const json_t *c,
		  const json_t *b, json_t *ev)
{
	const json_t *bt = NULL, *ct = NULL;
	struct al_test_diff d;
	char why[AL_REASON_MAX / 2], how[64];
	int r;

	if (al_gates_report_tests(b, &bt, why, sizeof(why)) < 0)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev,
					    "contract %s on base: %s", name, why);
	how_failed(c, how, sizeof(how));
	/* a candidate killed before it wrote its report still regressed from a clean base */
	if (al_gates_report_tests(c, &ct, why, sizeof(why)) < 0 && run_status(b) == AL_RUN_OK &&
	    run_failed(c))
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_UNSATISFIED, ev,
					    "contract %s passes on base but fails on candidate "
					    "(%s; %s): a regression",
					    name, how, why);
	if (!ct)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev,
					    "contract %s on candidate: %s", name, why);
	if ((r = al_gates_tests_compare(bt, ct, &d)) < 0) {
		json_decref(ev);
		return r;
	}
	json_object_set(ev, "regressions", d.regressions);
	json_object_set(ev, "new_failing", d.new_failing);
	json_object_set(ev, "preexisting", d.preexisting);
	json_object_set_new(ev, "tests",
			    json_pack("{s:I, s:I}", "base", (json_int_t)json_array_size(bt),
				      "candidate", (json_int_t)json_array_size(ct)));
	if (d.n_regressions)
		r = al_gates_rule_add_ev(v->rules, rule, AL_RULE_UNSATISFIED, ev,
					 "contract %s: %zu test%s passed on base and fail%s on "
					 "candidate, a regression: %s",
					 name, d.n_regressions, d.n_regressions > 1 ? "s" : "",
					 d.n_regressions > 1 ? "" : "s",
					 json_string_value(json_array_get(d.regressions, 0)));
	else if (d.n_new_failing)
		r = al_gates_rule_add_ev(
		    v->rules, rule, AL_RULE_UNSATISFIED, ev,
		    "contract %s: new test %s fails on candidate (%zu failing)", name,
		    json_string_value(json_array_get(d.new_failing, 0)), d.n_new_failing);
	else if (run_status(b) == AL_RUN_OK && run_status(c) != AL_RUN_OK)
		r = al_gates_rule_add_ev(v->rules, rule, AL_RULE_UNSATISFIED, ev,
					 "contract %s passes on base but fails on candidate (%s) "
					 "although no test regressed: a regression",
					 name, how);
	else if (d.n_preexisting && v->p->block_preexisting)
		r = al_gates_rule_add_ev(v->rules, rule, AL_RULE_UNSATISFIED, ev,
					 "contract %s: %zu test%s already fail%s on base (%s), and "
					 "policy blocks pre-existing failures",
					 name, d.n_preexisting, d.n_preexisting > 1 ? "s" : "",
					 d.n_preexisting > 1 ? "" : "s",
					 json_string_value(json_array_get(d.preexisting, 0)));
	else if (d.n_preexisting)
		r = al_gates_rule_add_ev(
		    v->rules, rule, AL_RULE_SATISFIED, ev,
		    "contract %s: no regression in %zu tests; %zu pre-existing "
		    "failure%s allowed by policy (%s)",
		    name, json_array_size(ct), d.n_preexisting, d.n_preexisting > 1 ? "s" : "",
		    json_string_value(json_array_get(d.preexisting, 0)));
	else
		r = al_gates_rule_add_ev(v->rules, rule, AL_RULE_SATISFIED, ev,
					 "contract %s: %zu of %zu tests pass on candidate, none "
					 "regressed",
					 name, d.cand_passed, json_array_size(ct));
	al_gates_test_diff_clear(&d);
	return r;
}

static int
rule_contract(struct verdict *v, const char *name)
{
	char rule[AL_POLICY_MAX_NAME + 32], cid[AL_POLICY_MAX_NAME + 64],
	    bid[AL_POLICY_MAX_NAME + 64], how[64], bhow[64];
	const json_t *c = run_get(v, "contract", name, "candidate", cid, sizeof(cid));
	const json_t *b = run_get(v, "contract", name, "base", bid, sizeof(bid));
	const json_t *conf = contract_conf(v, name);
	bool exit_code =
	    !strcmp(json_string_value(json_object_get(conf, "judge")) ?: "", "exit_code");
	json_t *ev;

	snprintf(rule, sizeof(rule), "contract:%s", name);
	if (!c || !b)
		return missing_run(v, rule, c ? bid : cid);
	ev = json_pack("{s:[s, s]}", "runs", cid, bid);
	if (!ev)
		return -ENOMEM;
	how_failed(c, how, sizeof(how));
	how_failed(b, bhow, sizeof(bhow));
	if (run_status(c) != AL_RUN_OK && !run_failed(c))
		return al_gates_rule_add_ev(
		    v->rules, rule, AL_RULE_ERROR, ev,
		    "contract %s: sandbox failure on candidate, inconclusive", name);
	/* base must have run to an end: what it showed is the yardstick */
	if (run_status(b) != AL_RUN_OK && run_status(b) != AL_RUN_RE && run_status(b) != AL_RUN_SG)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev,
					    "contract %s on base: %s, inconclusive", name, bhow);
	if (json_object_get(conf, "report"))
		return contract_by_tests(v, rule, name, c, b, ev);
	if (run_status(c) == AL_RUN_OK)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_SATISFIED, ev,
					    "contract %s passed on candidate%s", name,
					    run_failed(b) ? " (it failed on base)" : "");
	if (run_status(b) == AL_RUN_OK)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_UNSATISFIED, ev,
					    "contract %s passes on base but fails on candidate "
					    "(%s): a regression",
					    name, how);
	/* failed on both sides: without per-test results that tells nothing (a missing
	 * interpreter fails both too), unless the policy asked for exit codes by name */
	if (!exit_code)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_ERROR, ev,
					    "contract %s fails on base (%s) and on candidate (%s): "
					    "without a per-test report a regression cannot be told "
					    "from a pre-existing failure",
					    name, bhow, how);
	if (v->p->block_preexisting)
		return al_gates_rule_add_ev(v->rules, rule, AL_RULE_UNSATISFIED, ev,
					    "contract %s fails on candidate (%s) and already on "
					    "base (%s): pre-existing, and policy blocks it",
					    name, how, bhow);
	return al_gates_rule_add_ev(v->rules, rule, AL_RULE_NOT_APPLICABLE, ev,
				    "contract %s fails on candidate (%s) and already on base "
				    "(%s): pre-existing, allowed by policy (judge: exit_code)",
				    name, how, bhow);
}

static int
rules_runs(struct verdict *v)
{
	struct al_err perr = {0};
	size_t i;
	json_t *e;
	int r;

	r = al_gates_plan(v->p, v->fail_to_pass, &v->plan, &perr);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return al_gates_rule_add(v->rules, "plan", AL_RULE_ERROR, "%s", al_err_msg(&perr));
	r = index_runs(v);
	json_array_foreach (v->fail_to_pass, i, e) {
		if (r >= 0)
			r = rule_reproduce(v, json_string_value(e));
	}
	json_array_foreach (v->p->contracts, i, e) {
		if (r >= 0)
			r = rule_contract(v, json_string_value(json_object_get(e, "name")));
	}
	return r;
}

static int
decide(const struct verdict *v, json_t **ret)
{
	const char *reason = NULL;
	bool failed = false;
	size_t i;
	json_t *rule, *out;

	json_array_foreach (v->rules, i, rule) {
		if (!al_gates_rule_failed(rule))
			continue;
		if (!failed)
			reason = json_string_value(json_object_get(rule, "reason"));
		failed = true;
	}
	/* nothing judged is nothing proven */
	if (json_array_size(v->rules) == 0) {
		failed = true;
		reason = "no rule was evaluated";
	}
	if (!failed)
		reason = "all gates satisfied";
	out = json_pack("{s:s, s:s, s:O}", "decision", failed ? "rejected" : "granted", "reason",
			reason ? reason : "rejected", "rules", v->rules);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}

static int
judge(struct verdict *v)
{
	int r;

	if (!json_is_object(v->result))
		return al_gates_rule_add(v->rules, "result", AL_RULE_ERROR,
					 "result: expected an object");
	if (json_object_get(v->result, "error"))
		v->blocked = "runner failed";
	else if (json_object_get(v->result, "apply_error"))
		v->blocked = "a patch did not apply";
	r = al_gates_rule_setup(v->p, v->result, v->rules, &v->blocked);
	if (r >= 0)
		r = rule_result(v);
	if (r >= 0)
		r = rule_runner(v);
	if (r >= 0)
		r = rule_apply(v);
	if (r >= 0)
		r = rule_static(v);
	if (r >= 0)
		r = rules_runs(v);
	return r;
}

int
al_gates_evaluate(const struct al_policy *p, const json_t *fail_to_pass, const json_t *result,
		  json_t **ret, struct al_err *err)
{
	struct verdict v = {.p = p, .fail_to_pass = fail_to_pass, .result = result};
	int r;

	if (!p || !ret)
		return al_err_set(err, -EINVAL, "evaluate: missing policy or result");
	v.rules = json_array();
	v.runs = json_object();
	r = v.rules && v.runs ? judge(&v) : -ENOMEM;
	if (r >= 0)
		r = decide(&v, ret);
	json_decref(v.rules);
	json_decref(v.plan);
	json_decref(v.runs);
	if (r < 0)
		return al_err_set(err, r, "evaluate: out of memory");
	return 0;
}
