/* Verdicts: the decision table over every rule's result.  A grant is only ever the
 * outcome of every rule SATISFIED or NOT_APPLICABLE, with the approvals the policy asks
 * for; anything else is a rejection or a wait, never a grant. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"
#include "gates/judge.h"
#include "lib/macros.h"

#define REASON_MAX 1200

static int
rule_ok(const json_t *rule)
{
	const char *res = json_string_value(json_object_get(rule, "result"));

	return res && (!strcmp(res, AL_RULE_SATISFIED) || !strcmp(res, AL_RULE_NOT_APPLICABLE));
}

static const char *
rule_name(const json_t *rule)
{
	const char *name = json_string_value(json_object_get(rule, "rule"));

	return name ? name : "";
}

const json_t *
al_judge_first_failure(const json_t *rules)
{
	size_t i;
	json_t *r;

	json_array_foreach (rules, i, r) {
		if (!rule_ok(r))
			return r;
	}
	return NULL;
}

void
al_judge_merge(json_t *rules, const json_t *more)
{
	size_t i, k;
	json_t *r, *have;

	json_array_foreach (more, i, r) {
		const char *name = json_string_value(json_object_get(r, "rule"));
		int found = 0;

		json_array_foreach (rules, k, have) {
			if (!name || strcmp(name, rule_name(have)))
				continue;
			found = 1;
			if (rule_ok(have) && !rule_ok(r))
				json_array_set(rules, k, r);
			break;
		}
		if (!found)
			json_array_append(rules, r);
	}
}

/* A grant rests on what was judged: with no rule SATISFIED (all of them not applicable,
 * or none at all) nothing shows that the change works. */
static int
any_satisfied(const json_t *rules)
{
	const char *res;
	size_t i;
	json_t *r;

	json_array_foreach (rules, i, r) {
		res = json_string_value(json_object_get(r, "result"));
		if (res && !strcmp(res, AL_RULE_SATISFIED))
			return 1;
	}
	return 0;
}

json_t *
al_judge_rejection(const json_t *rules)
{
	const json_t *f = al_judge_first_failure(rules);
	const char *why = f ? json_string_value(json_object_get(f, "reason")) : NULL;

	return json_pack("{s:s, s:s, s:O, s:i}", "decision", "rejected", "reason",
			 why ? why : "rejected", "rules", rules, "tier", 0);
}

/* What in either patch needs a human, by the text parse and by libgit2's (the runner's):
 * the protected paths, and the existing tests and test configuration it changes. */
static int
needs_human(const struct al_policy *p, const struct al_judge_job *job, json_t **ret_protected,
	    json_t **ret_changed, struct al_err *err)
{
	const json_t *runner[] = {json_object_get(job->runner_files, "patch"),
				  json_object_get(job->runner_files, "test_patch")};
	json_t *pf = NULL, *tf = NULL, *prot = NULL;
	int r;

	r = al_gates_patch_files(job->patch, job->patch_len, &pf, err);
	if (r == 0 && job->test_patch)
		r = al_gates_patch_files(job->test_patch, job->test_patch_len, &tf, err);
	if (r == 0) {
		const json_t *lists[] = {pf, tf, runner[0], runner[1]};

		r = al_gates_protected(p, lists, AL_ARRAY_SIZE(lists), &prot, err);
	}
	/* new dependencies, under on_lockfile_change "human", are a human's to accept */
	if (r == 0 && al_gates_setup_needs_human(p) &&
	    al_gates_add_paths(prot, job->setup_changed) < 0)
		r = al_err_set(err, -ENOMEM, "out of memory");
	if (r == 0)
		r = al_gates_changed_tests(
		    p,
		    &(struct al_change_input){.patch = job->patch,
					      .patch_len = job->patch_len,
					      .test_patch = job->test_patch,
					      .test_patch_len = job->test_patch_len,
					      .lists = runner,
					      .n_lists = AL_ARRAY_SIZE(runner)},
		    ret_changed, err);
	json_decref(pf);
	json_decref(tf);
	if (r < 0) {
		json_decref(prot);
		return r;
	}
	*ret_protected = prot;
	return 0;
}

/* Every automatic gate is satisfied: tier 1 now, or a wait for the approvals that tier 2
 * (or a protected path) needs. */
static int
tier(const struct al_policy *p, const struct al_judge_job *job, json_t *rules, json_t **ret_verdict,
     struct al_err *err)
{
	json_t *prot = NULL, *changed = NULL, *rule = NULL;
	struct al_authority auth;
	unsigned need = 0;
	char why[256];
	int r;

	r = needs_human(p, job, &prot, &changed, err);
	if (r == 0)
		r = al_gates_approval(p,
				      &(struct al_approval_input){.proposer = job->proposer,
								  .protected = prot,
								  .changed_tests = changed},
				      &rule, &need, NULL, err);
	json_decref(prot);
	json_decref(changed);
	if (r < 0)
		return r;
	json_array_append_new(rules, rule);
	if (need > 0) {
		*ret_verdict =
		    json_pack("{s:s, s:O, s:O, s:i}", "decision", "awaiting_approval", "reason",
			      json_object_get(rule, "reason"), "rules", rules, "tier", 1);
	} else {
		if (al_gates_authority(p, 1, job->id, job->base, &auth, why, sizeof(why)) < 0)
			return al_err_set(err, -EINVAL, "no authority for tier 1");
		*ret_verdict =
		    json_pack("{s:s, s:s, s:O, s:i, s:s, s:s?}", "decision", "granted", "reason",
			      "all gates satisfied", "rules", rules, "tier", 1, "authority",
			      auth.authority, "ref", auth.ref[0] ? auth.ref : NULL);
	}
	return *ret_verdict ? 0 : al_err_set(err, -ENOMEM, "out of memory");
}

int
al_judge_run(const struct al_policy *p, const struct al_judge_job *job, json_t *rules,
	     const json_t *run_verdict, json_t **ret_verdict, int *ret_tier, struct al_err *err)
{
	const char *decision = json_string_value(json_object_get(run_verdict, "decision"));
	json_t *v = NULL;
	int r = 0;

	/* static rules first, then what the runs showed; the decision needs all of them */
	al_judge_merge(rules, json_object_get(run_verdict, "rules"));
	if (!any_satisfied(rules))
		json_array_append_new(
		    rules,
		    json_pack("{s:s, s:s, s:s, s:{s:I}}", "rule", "verdict", "result",
			      AL_RULE_ERROR, "reason",
			      "no rule was satisfied: nothing shows the change works", "evidence",
			      "rules_judged", (json_int_t)json_array_size(rules)));
	if (decision && !strcmp(decision, "granted") && !al_judge_first_failure(rules)) {
		r = tier(p, job, rules, &v, err);
		*ret_tier = 1;
	} else {
		v = al_judge_rejection(rules);
		*ret_tier = 0;
		if (!v)
			r = al_err_set(err, -ENOMEM, "out of memory");
	}
	json_decref(rules);
	if (r < 0) {
		json_decref(v);
		return r;
	}
	*ret_verdict = v;
	return 0;
}

/* What the gates found needs a human (key: "protected_paths" or "changed_tests"), from
 * the stored approval rule. */
static const json_t *
stored_evidence(const json_t *verdict, const char *key)
{
	size_t i;
	json_t *rule;

	json_array_foreach (json_object_get(verdict, "rules"), i, rule)
		if (!strcmp(rule_name(rule), "approval"))
			return json_object_get(json_object_get(rule, "evidence"), key);
	return NULL;
}

/* Only approvals count toward the tally; a rejection ends the proposal on its own. */
static json_t *
approvals_only(const json_t *all)
{
	json_t *out = json_array(), *a;
	size_t i;

	json_array_foreach (all, i, a)
		if (!strcmp(json_string_value(json_object_get(a, "decision")) ?: "", "approve"))
			json_array_append(out, a);
	return out;
}

/* The approvals the rule counted, as recorded: the grant carries exactly these. */
static json_t *
approvals_counted(const json_t *approvals, const json_t *rule, long long revision, const char *tree)
{
	const json_t *names = json_object_get(json_object_get(rule, "evidence"), "approved_by");
	json_t *out = json_array(), *a, *n;
	size_t i, k;

	json_array_foreach (names, k, n) {
		json_array_foreach (approvals, i, a) {
			if (json_equal(json_object_get(a, "reviewer"), n) &&
			    json_integer_value(json_object_get(a, "revision")) == revision &&
			    !strcmp(json_string_value(json_object_get(a, "tree")) ?: "", tree)) {
				json_array_append(out, a);
				break;
			}
		}
	}
	return out;
}

/* Rules with the approval rule replaced by rule (stolen). */
static json_t *
rules_with(const json_t *verdict, json_t *rule)
{
	json_t *rules = json_deep_copy(json_object_get(verdict, "rules")), *e;
	size_t i;

	json_array_foreach (rules, i, e) {
		if (!strcmp(rule_name(e), "approval")) {
			json_array_set_new(rules, i, rule);
			return rules;
		}
	}
	json_array_append_new(rules, rule);
	return rules;
}

static json_t *
rejected(const struct al_judge_decision *in, int *ret_tier)
{
	char reason[REASON_MAX];
	json_t *rule;

	snprintf(reason, sizeof(reason), "rejected by %s%s%s", in->reviewer,
		 in->comment ? ": " : "", in->comment ? in->comment : "");
	rule =
	    json_pack("{s:s, s:s, s:s, s:{s:s}}", "rule", "approval", "result", AL_RULE_UNSATISFIED,
		      "reason", reason, "evidence", "rejected_by", in->reviewer);
	*ret_tier = 0;
	return json_pack("{s:s, s:s, s:o, s:i}", "decision", "rejected", "reason", reason, "rules",
			 rules_with(in->verdict, rule), "tier", 0);
}

/* Anything but "approve" counts as a rejection: an unknown word never approves. */
int
al_judge_decision(const struct al_policy *p, const struct al_judge_decision *in,
		  json_t **ret_verdict, const char **ret_state, int *ret_tier, json_t **ret_counted,
		  struct al_err *err)
{
	json_t *counted = approvals_only(in->approvals), *rule = NULL, *v;
	unsigned need = 0, have = 0;
	struct al_authority auth;
	char why[256];
	int r;

	r = al_gates_approval(p,
			      &(struct al_approval_input){
				  .proposer = in->proposer,
				  .tree = in->tree,
				  .revision = in->revision,
				  .protected = stored_evidence(in->verdict, "protected_paths"),
				  .changed_tests = stored_evidence(in->verdict, "changed_tests"),
				  .approvals = counted},
			      &rule, &need, &have, err);
	if (r < 0) {
		json_decref(counted);
		return r;
	}
	*ret_counted = NULL;
	if (strcmp(in->decision, "approve")) {
		json_decref(rule);
		v = rejected(in, ret_tier);
		*ret_state = "rejected";
	} else if (have >= need) {
		if (al_gates_authority(p, 2, in->id, in->base, &auth, why, sizeof(why)) < 0) {
			json_decref(rule);
			json_decref(counted);
			return al_err_set(err, -EINVAL, "no authority for tier 2");
		}
		*ret_counted = approvals_counted(counted, rule, in->revision, in->tree);
		v = json_pack("{s:s, s:s, s:o, s:i, s:s, s:s?}", "decision", "granted", "reason",
			      "all gates satisfied and approved", "rules",
			      rules_with(in->verdict, rule), "tier", 2, "authority", auth.authority,
			      "ref", auth.ref[0] ? auth.ref : NULL);
		*ret_state = "granted";
		*ret_tier = 2;
	} else {
		v = json_pack("{s:s, s:O, s:o, s:i}", "decision", "awaiting_approval", "reason",
			      json_object_get(rule, "reason"), "rules",
			      rules_with(in->verdict, rule), "tier", 1);
		*ret_state = "awaiting_approval";
		*ret_tier = 1;
	}
	json_decref(counted);
	if (!v) {
		json_decref(*ret_counted);
		*ret_counted = NULL;
		return al_err_set(err, -ENOMEM, "out of memory");
	}
	*ret_verdict = v;
	return 0;
}
