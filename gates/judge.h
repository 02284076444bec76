/* The verdict {decision, reason, rules, tier, authority, ref}: assembled from the static
 * rules, the runs' rules and the approval rule, for a gate run and for a reviewer's
 * decision.  Pure: the server stores and signs what these return. */
#pragma once

#include <jansson.h>

#include "gates/gates.h"
#include "lib/err.h"

/* What the gates judge a proposal by, besides its runs. */
struct al_judge_job {
	const char *id;
	const char *base; /* as submitted */
	const char *proposer;
	const char *patch;
	size_t patch_len;
	const char *test_patch; /* NULL: none */
	size_t test_patch_len;
	const json_t *runner_files;  /* the runner's {"patch": [...], "test_patch": [...]} */
	const json_t *setup_changed; /* the setup key files the change alters, or NULL */
};

/* First rule that is neither SATISFIED nor NOT_APPLICABLE, or NULL. */
const json_t *al_judge_first_failure(const json_t *rules);
/* Adds each rule of more to rules; a rule already there (the static rules are judged twice:
 * on the patch text and on what libgit2 parsed) keeps the worse result. */
void al_judge_merge(json_t *rules, const json_t *more);
/* The rejection for rules: the first failing rule's reason, tier 0. */
json_t *al_judge_rejection(const json_t *rules);

/* The verdict of a gate run: the static rules (taken: the verdict holds them) merged with
 * what the runs showed (run_verdict, al_gates_evaluate's); when every gate is satisfied,
 * the approval rule decides between tier 1 and a wait for approvals.  ret_tier is 0, or 1
 * for a grant or a wait. */
int al_judge_run(const struct al_policy *p, const struct al_judge_job *job, json_t *rules,
		 const json_t *run_verdict, json_t **ret_verdict, int *ret_tier,
		 struct al_err *err);

/* A reviewer's decision on a proposal awaiting approval. */
struct al_judge_decision {
	const char *id;
	const char *base;
	const char *proposer;
	const char *tree; /* the candidate tree */
	long long revision;
	const json_t *verdict;	 /* the stored one */
	const json_t *approvals; /* every recorded decision, this one last */
	const char *reviewer;
	const char *decision; /* "approve" or "reject" */
	const char *comment;  /* NULL: none */
};
/* The new verdict and state ("rejected", "granted" or still "awaiting_approval") with its
 * tier; for a grant, ret_counted is the approvals the rule counted, as recorded (the grant
 * carries exactly these; NULL otherwise). */
int al_judge_decision(const struct al_policy *p, const struct al_judge_decision *in,
		      json_t **ret_verdict, const char **ret_state, int *ret_tier,
		      json_t **ret_counted, struct al_err *err);
