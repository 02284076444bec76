/* Reviewer decisions: approve and reject.  Everything that decides whether an approval
 * counts is in gates/ (al_gates_approval); this file loads, checks the state, signs when
 * enough approvals are in, and writes the decision and its outcome in one transaction. */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "gates/judge.h"
#include "lib/macros.h"
#include "server/pause.h"
#include "server/server.h"

#define COMMENT_MAX 1000

struct decision {
	struct al_server *srv;
	struct al_config *cfg; /* a reference */
	const struct al_repo_conf *repo;
	struct al_proposal *p; /* owned */
	const char *reviewer;
	const char *decision; /* "approve" or "reject" */
	json_t *body;	      /* owned */
	json_t *verdict;      /* owned: the stored one, then the new one */
	json_t *result;	      /* owned */
	json_t *approvals;    /* owned: recorded ones plus this one */
	char *grant;	      /* owned */
	struct al_refusal why;
};

static void
decision_clear(struct decision *d)
{
	al_proposal_free(d->p);
	json_decref(d->body);
	json_decref(d->verdict);
	json_decref(d->result);
	json_decref(d->approvals);
	free(d->grant);
	al_live_config_put(d->srv, d->cfg);
}

static bool
printable_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\n' && s[i] != '\t') || s[i] == 0x7f)
			return false;
	return strlen(s) == n;
}

/* {"comment"?: text, "tree"?: the candidate tree the reviewer looked at} */
static int
parse_body(struct decision *d, const char *text, size_t len)
{
	json_error_t jerr;
	const char *key;
	json_t *v;

	if (len == 0)
		d->body = json_object();
	else
		d->body = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!d->body) {
		struct al_err e = {0};

		al_intake_json_error(&jerr, &e);
		return al_reply_refuse(&d->why, 400, "malformed JSON: %s", al_err_msg(&e));
	}
	if (!json_is_object(d->body))
		return al_reply_refuse(&d->why, 400, "body: expected a JSON object");
	json_object_foreach (d->body, key, v) {
		if (!strcmp(key, "comment")) {
			if (!json_is_string(v) || json_string_length(v) > COMMENT_MAX ||
			    !printable_text(json_string_value(v), json_string_length(v)))
				return al_reply_refuse(&d->why, 400,
						       "comment: expected text of at most %d bytes",
						       COMMENT_MAX);
		} else if (!strcmp(key, "tree")) {
			if (!json_is_string(v) || json_string_length(v) > 64)
				return al_reply_refuse(&d->why, 400, "tree: expected a tree id");
		} else {
			return al_reply_refuse(&d->why, 400,
					       "body: unknown field (comment and tree are known)");
		}
	}
	return 0;
}

/* The proposal must be awaiting approval of the gates run under the policy in force, and
 * the reviewer must be one whose approval can count. */
static int
check_state(struct decision *d)
{
	const char *tree = json_string_value(json_object_get(d->body, "tree"));
	const char *why;

	if (strcmp(d->p->state, "awaiting_approval"))
		return al_reply_refuse(&d->why, 409, "proposal is %s, not awaiting approval",
				       d->p->state);
	d->repo = al_config_repo(d->cfg, d->p->repo);
	if (!d->repo)
		return al_reply_refuse(&d->why, 409, "repository %s is no longer configured",
				       d->p->repo);
	if (!d->p->policy_digest || strcmp(d->p->policy_digest, d->repo->policy_digest))
		return al_reply_refuse(
		    &d->why, 409,
		    "the policy changed since the gates ran; a new revision runs them "
		    "again");
	why = al_gates_approver_problem(d->repo->policy, d->p->proposer, d->reviewer);
	if (why)
		return al_reply_refuse(&d->why, 403, "%s", why);
	if (tree && (!d->p->candidate_tree || strcmp(tree, d->p->candidate_tree)))
		return al_reply_refuse(&d->why, 409, "stale: the candidate tree is now %s, not %s",
				       d->p->candidate_tree ? d->p->candidate_tree : "unknown",
				       tree);
	return 0;
}

static int
load(struct decision *d, const char *id, struct al_err *err)
{
	int r = al_store_proposal_get(d->srv->store, id, &d->p, err);

	if (r == -ENOENT)
		return al_reply_refuse(&d->why, 404, "no such proposal");
	if (r < 0)
		return r;
	r = check_state(d);
	if (r < 0)
		return r;
	d->verdict = json_loads(d->p->verdict ? d->p->verdict : "", 0, NULL);
	d->result = json_loads(d->p->result ? d->p->result : "", 0, NULL);
	if (!json_is_object(d->verdict) || !json_is_object(d->result))
		return al_err_set(err, -EBADMSG, "stored verdict or result is unreadable");
	r = al_store_approvals(d->srv->store, d->p->id, &d->approvals, err);
	if (r < 0)
		return r;
	return json_array_append_new(
		   d->approvals,
		   json_pack("{s:s, s:s, s:I, s:s, s:I}", "reviewer", d->reviewer, "decision",
			     d->decision, "revision", (json_int_t)d->p->revision, "tree",
			     d->p->candidate_tree, "created", (json_int_t)time(NULL))) < 0
		   ? al_err_set(err, -ENOMEM, "out of memory")
		   : 0;
}

static int
judge(struct decision *d, struct al_decision *out, struct al_err *err)
{
	_cleanup_(al_json_decrefp) json_t *counted = NULL;
	json_t *v = NULL;
	int r;

	r = al_judge_decision(d->repo->policy,
			      &(struct al_judge_decision){.id = d->p->id,
							  .base = d->p->base,
							  .proposer = d->p->proposer,
							  .tree = d->p->candidate_tree,
							  .revision = d->p->revision,
							  .verdict = d->verdict,
							  .approvals = d->approvals,
							  .reviewer = d->reviewer,
							  .decision = d->decision,
							  .comment = json_string_value(
							      json_object_get(d->body, "comment"))},
			      &v, &out->state, &out->tier, &counted, err);
	if (r < 0)
		return r;
	json_decref(d->verdict);
	d->verdict = v;
	if (out->tier == 2)
		return al_issue_grant(d->srv, d->repo, d->p, d->result, d->verdict, 2, counted,
				      &d->grant, err);
	return 0;
}

static int
decide(struct decision *d, const char *id, struct al_err *err)
{
	_cleanup_free_ char *verdict = NULL;
	struct al_decision out = {0};
	int r;

	r = load(d, id, err);
	if (r == 0)
		r = judge(d, &out, err);
	if (r < 0)
		return r;
	verdict = json_dumps(d->verdict, JSON_COMPACT);
	if (!verdict)
		return al_err_set(err, -ENOMEM, "out of memory");
	out.reviewer = d->reviewer;
	out.decision = d->decision;
	out.comment = json_string_value(json_object_get(d->body, "comment"));
	out.revision = d->p->revision;
	out.tree = d->p->candidate_tree;
	out.verdict = verdict;
	out.grant = d->grant;
	r = al_store_decide(d->srv->store, d->p->id, &out, err);
	if (r == -EEXIST)
		return al_reply_refuse(&d->why, 409, "%s already decided on revision %lld",
				       d->reviewer, d->p->revision);
	if (r == -ESTALE)
		return al_reply_refuse(&d->why, 409, "%s", al_err_msg(err));
	if (r == 0)
		al_log("info", "proposal.decided", "id=%s reviewer=%s decision=%s state=%s",
		       d->p->id, al_log_q(d->reviewer), d->decision, out.state);
	if (r == 0 && d->grant)
		al_issue_note(d->repo, d->p->id, d->p->candidate_commit, d->grant);
	return r;
}

int
al_decide_record(struct al_server *srv, const char *id, const char *reviewer, const char *decision,
		 const char *body, size_t len, struct al_refusal *why)
{
	struct decision d = {.srv = srv, .reviewer = reviewer, .decision = decision};
	char paused[AL_PAUSE_REASON_MAX];
	struct al_err err = {0};
	int r;

	if (al_pause_on(srv, paused)) {
		why->error = "paused";
		return al_reply_refuse(why, 503, "paused: %s", paused);
	}
	/* one decision at a time: two approvals racing must not both miss the count */
	pthread_mutex_lock(&srv->decide_mu);
	d.cfg = al_live_config(srv);
	if (strcmp(decision, "approve") && strcmp(decision, "reject"))
		r = al_reply_refuse(&d.why, 400, "decision: expected approve or reject");
	else
		r = parse_body(&d, body, len);
	if (r == 0)
		r = decide(&d, id, &err);
	pthread_mutex_unlock(&srv->decide_mu);
	if (r < 0 && d.why.status) {
		*why = d.why;
	} else if (r < 0) {
		al_log("error", "proposal.decide_failed", "id=%s error=%s", id,
		       al_log_q(al_err_msg(&err)));
		al_reply_refuse(why, 500, "could not record the decision");
	}
	decision_clear(&d);
	return r;
}
