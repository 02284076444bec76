/* Policy, static patch checks, run plans and verdicts.  Pure functions: no I/O. */
#pragma once

#include <jansson.h>
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

/* "SATISFIED" etc. */
#define AL_RULE_SATISFIED "SATISFIED"
#define AL_RULE_UNSATISFIED "UNSATISFIED"
#define AL_RULE_ERROR "ERROR"
#define AL_RULE_NOT_APPLICABLE "NOT_APPLICABLE"
