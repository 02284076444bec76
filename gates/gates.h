/* Policy, static patch checks, run plans and verdicts.  Pure functions: no I/O.
 *
 * gates/ is one module: its public names are al_gates_* and al_policy_* (this header),
 * al_judge_* (judge.h); each file opens with what it judges:
 *   policy.c (top-level keys, defaults, canonical form, getters), schema.c (the key-table
 *   walker), contracts.c (reproduce and contract), tiers.c (approvals and tiers);
 *   patch.c (the diff parser), static.c, content.c, glob.c, text.c (the static rules and
 *   their helpers); plan.c (what runs), verdict.c (what the runs showed), tests.c
 *   (per-test reports); approval.c (who may approve, what needs a human) and judge.c (the
 *   verdict: static and run rules, tier, approvals). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

struct al_policy;

/* Validates and copies a policy object; err names the JSON path of the offending value,
 * relative to `where` (for example "repos.example.policy"). */
int al_policy_parse(const json_t *j, const char *where, struct al_policy **ret, struct al_err *err);
void al_policy_free(struct al_policy *p);
/* Canonical serialisation (sorted keys, compact); its sha256 is the policy digest. */
char *al_policy_canonical(const struct al_policy *p);
unsigned al_policy_timeout_s(const struct al_policy *p);
/* The path out of a phase's runs ("gate"): the egress object as configured (its
 * format is egress/proxy.h's), or NULL when the phase has none. Borrowed. */
const json_t *al_policy_egress(const struct al_policy *p, const char *phase);
/* The policy's environment {"image","digest"?} and setup {"command","keys",
 * "on_lockfile_change","timeout_s"}, NULL when it has none (gates/environment.c). */
const json_t *al_policy_environment(const struct al_policy *p);
const json_t *al_policy_setup(const struct al_policy *p);

/* What each sandboxed command may use. */
struct al_run_limits {
	unsigned timeout_s;
	size_t memory_bytes;
	unsigned pids;
	size_t output_bytes; /* per stream */
	size_t disk_bytes;   /* everything a run may write: /work's changes, /tmp, its report */
};
void al_policy_limits(const struct al_policy *p, struct al_run_limits *ret);
bool al_policy_regate_on_base_change(const struct al_policy *p);
bool al_policy_auto_promote(const struct al_policy *p);
/* Whether a base on branch ref (a full name, refs/heads/...) may be gated. */
bool al_policy_is_branch(const struct al_policy *p, const char *ref);
/* Whether path is under the policy's test_paths (a test file, for the test patch). */
bool al_policy_is_test_path(const struct al_policy *p, const char *path);

/* Fail-to-pass ids become argv elements: a strict charset, never a leading '-'. */
int al_gates_test_id_valid(const char *id);

/* Paths the unified diff touches, from its headers; json array of
 * {"path","old_path","status","old_mode","new_mode","binary"} as the runner reports them. */
int al_gates_patch_files(const char *patch, size_t len, json_t **ret, struct al_err *err);

/* Static rules over the patch texts (test_patch may be NULL). Returns a json array of
 * rule results {"rule","result","reason"}. */
int al_gates_static(const struct al_policy *p, const char *patch, size_t patch_len,
		    const char *test_patch, size_t test_patch_len, json_t **ret,
		    struct al_err *err);

/* The commands the runner must run: array of {"id","rule","test"?,"side","argv"}. */
int al_gates_plan(const struct al_policy *p, const json_t *fail_to_pass, json_t **ret,
		  struct al_err *err);

/* Judges a runner result against the policy.  Returns
 * {"decision": "granted"|"rejected", "reason": "...", "rules": [{"rule","result","reason"}]}. */
int al_gates_evaluate(const struct al_policy *p, const json_t *fail_to_pass, const json_t *result,
		      json_t **ret, struct al_err *err);

/* The protected paths among the files of each list (al_gates_patch_files shape; NULL
 * lists are skipped): an array of distinct paths, in the order met. */
int al_gates_protected(const struct al_policy *p, const json_t *const *lists, size_t n_lists,
		       json_t **ret, struct al_err *err);

/* What a change does to the tests it is judged by: the patch and test patch texts (the
 * test patch NULL when none), whose hunks tell the lines each file loses, and more file
 * lists (the runner's own, al_gates_patch_files shape; NULL entries skipped), whose
 * statuses and modes are judged too. */
struct al_change_input {
	const char *patch;
	size_t patch_len;
	const char *test_patch;
	size_t test_patch_len;
	const json_t *const *lists;
	size_t n_lists;
};

/* The existing tests a change weakens and the test configuration it touches, which need a
 * human: [{"path","why"}], each path once, in the order met.  An existing test file (under
 * test_paths, not created by the change) that loses or changes a line, is deleted, renamed,
 * changes mode or has a binary change; any file under test_config_paths, created or not.
 * -EBADMSG with err when a text does not parse. */
int al_gates_changed_tests(const struct al_policy *p, const struct al_change_input *in,
			   json_t **ret, struct al_err *err);

/* Why reviewer may not approve a proposal of proposer under p, or NULL when they may. */
const char *al_gates_approver_problem(const struct al_policy *p, const char *proposer,
				      const char *reviewer);

struct al_approval_input {
	const char *proposer;
	const char *tree;	     /* the candidate tree approvals must name */
	long long revision;	     /* the proposal's current revision */
	const json_t *protected;     /* al_gates_protected's array, or NULL */
	const json_t *changed_tests; /* al_gates_changed_tests's array, or NULL */
	const json_t *approvals;     /* [{"reviewer","tree","revision"}] as recorded */
};

/* The approval rule {"rule":"approval","result","reason","evidence"}: SATISFIED when
 * enough current approvals are in, NOT_APPLICABLE when none is needed, UNSATISFIED
 * while some are missing.  ret_need and ret_have are the counts. */
int al_gates_approval(const struct al_policy *p, const struct al_approval_input *in,
		      json_t **ret_rule, unsigned *ret_need, unsigned *ret_have,
		      struct al_err *err);

/* What a grant at tier 1 (gates satisfied) or 2 (approved too) may carry. */
struct al_authority {
	const char *authority; /* "none", "write" or "merge" */
	char ref[256];	       /* the ref it covers; "" for none */
	unsigned lifetime_s;
};
/* base is the proposal's base as submitted; a merge tier covers it only when its full
 * name (refs/heads/ added to a short name) matches one of the tier's refs, and is
 * "none" otherwise, with why saying so. */
int al_gates_authority(const struct al_policy *p, int tier, const char *proposal_id,
		       const char *base, struct al_authority *ret, char *why, size_t whysz);

/* "SATISFIED" etc. */
#define AL_RULE_SATISFIED "SATISFIED"
#define AL_RULE_UNSATISFIED "UNSATISFIED"
#define AL_RULE_ERROR "ERROR"
#define AL_RULE_NOT_APPLICABLE "NOT_APPLICABLE"
