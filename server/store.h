/* Durable state: proposals and their grants, reviewers' decisions, tokens and sessions,
 * the audit chain and the GitHub tables.  The calls speak the project's types; the engine
 * (SQLite, the only one that includes sqlite3.h) sits behind them in server/store/. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "gates/quarantine.h"
#include "lib/err.h"

struct al_store;

/* A proposal's states, written once: the schema's CHECK, enum al_proposal_state and
 * al_store_state_name() all come from this list.  X(ID, "name") for each, SEP between two
 * (an SQL list takes no trailing comma).  superseded and cancelled end a pull request's
 * proposal (a newer push, the pull request closed). */
/* clang-format off */
#define AL_PROPOSAL_STATES(X, SEP)                      \
	X(QUEUED, "queued") SEP                         \
	X(RUNNING, "running") SEP                       \
	X(AWAITING_APPROVAL, "awaiting_approval") SEP   \
	X(REJECTED, "rejected") SEP                     \
	X(GRANTED, "granted") SEP                       \
	X(ERROR, "error") SEP                           \
	X(SUPERSEDED, "superseded") SEP                 \
	X(CANCELLED, "cancelled")
/* clang-format on */

#define AL_PROPOSAL_STATE_ENUM_(id, name) AL_PROPOSAL_##id,
enum al_proposal_state { AL_PROPOSAL_STATES(AL_PROPOSAL_STATE_ENUM_, ) AL_PROPOSAL_STATE_N };
#undef AL_PROPOSAL_STATE_ENUM_

/* The name of state st ("awaiting_approval"), or NULL when st is none. */
const char *al_store_state_name(enum al_proposal_state st);
/* Whether name is a proposal's state. */
bool al_store_state_valid(const char *name);

/* A proposal's id: 32 hex digits and the NUL. */
#define AL_PROPOSAL_ID_SIZE 33

struct al_proposal {
	char id[AL_PROPOSAL_ID_SIZE];
	char *repo;	/* owned */
	char *base;	/* owned */
	char *state;	/* owned: one of AL_PROPOSAL_STATES */
	char *proposer; /* owned */
	char *patch;	/* owned */
	size_t patch_len;
	char *test_patch; /* owned, may be NULL */
	size_t test_patch_len;
	char *fail_to_pass; /* owned, JSON text */
	char *provenance;   /* owned, JSON text */
	long long created;
	long long updated;
	char *base_commit;	/* owned, may be NULL */
	char *candidate_commit; /* owned, may be NULL */
	char *candidate_tree;	/* owned, may be NULL */
	char *result;		/* owned, runner result JSON text, may be NULL */
	char *verdict;		/* owned, JSON text, may be NULL */
	char *grant;		/* owned, DSSE envelope JSON text, may be NULL */
	char *error;		/* owned, may be NULL */
	long long revision;	/* 1, then one more for each revision the proposer sends */
	int tier;		/* -1 until decided; 0 rejected, 1 gates, 2 approved too */
	char *policy_digest;	/* owned, may be NULL: the policy the gates ran under */
	char *grant_state;	/* owned; NULL (unused), "spent" or "invalidated" */
	char *promotion;	/* owned, JSON text, may be NULL: what promote did */
	char *title;		/* owned, may be NULL: the proposer's one-line summary */
};

/* The outcome of a job, written in one transaction. */
struct al_outcome {
	const char *state;
	const char *base_commit;
	const char *candidate_commit;
	const char *candidate_tree;
	const char *result;
	const char *verdict;
	const char *grant;
	const char *error;
	int tier; /* 0 for none */
	const char *policy_digest;
};

/* A reviewer's decision and what it moves the proposal to, written in one transaction
 * that holds only while the proposal is still awaiting approval of this revision and
 * tree. */
struct al_decision {
	const char *reviewer;
	const char *decision; /* "approve" or "reject" */
	const char *comment;  /* may be NULL */
	long long revision;
	const char *tree;
	const char *state; /* awaiting_approval (not enough yet), granted or rejected */
	const char *verdict;
	const char *grant; /* only with granted */
	int tier;
};

/* A reviewer's signed-in browser session.  The cookie's value is never stored: only its
 * SHA-256.  name and role are the token's, read at each lookup. */
struct al_session {
	char name[128];
	char role[16];
	char csrf[65];
	char token_hash[65];
	long long expires;
};

/* Called after a committed change moved proposal id; state is where it is now. */
typedef void (*al_store_notify_fn)(void *ctx, const char *id, const char *state);

int al_store_open(const char *path, struct al_store **ret, struct al_err *err);
void al_store_close(struct al_store *s);
/* Set once, before any other thread uses the store. */
void al_store_set_notify(struct al_store *s, al_store_notify_fn fn, void *ctx);

/* Where the database stands: every row written through this store, and every commit by
 * another connection (another process: the CLI), moves it.  Two equal generations read
 * the same data. */
struct al_store_gen {
	long long own;	  /* rows changed through this connection */
	long long others; /* commits by other connections */
};
int al_store_generation(struct al_store *s, struct al_store_gen *ret);

/* A token under the SHA-256 (hex) of its secret, audited (name, role, a short id; never
 * the secret); -EEXIST when that hash is there. */
int al_store_token_add(struct al_store *s, const char *name, const char *role, const char *hash_hex,
		       struct al_err *err);
/* [{"name", "role", "id" (the hash's first 12 hex digits), "created", "quarantined"?
 * (why, while its name is quarantined)}], by name. */
int al_store_token_list(struct al_store *s, json_t **ret, struct al_err *err);
/* Deletes every token named name and the sessions opened with them, audited; how many in
 * *ret_count, or -ENOENT when there is none. */
int al_store_token_revoke(struct al_store *s, const char *name, int *ret_count, struct al_err *err);
/* The token's name and role (owned by the caller); -ENOENT when no token has this hash. */
int al_store_token_find(struct al_store *s, const char *hash_hex, char **ret_name, char **ret_role);

/* Automatic quarantine (server/store/quarantine.c): what a finished job of proposer name
 * counted for, kept only when it counted for something, entries past the longest window
 * dropped. */
int al_store_anomaly_add(struct al_store *s, const char *name, const char *proposal,
			 const struct al_anomaly *a, struct al_err *err);
/* How many of name's jobs counted for each kind since `since` (and after its last release),
 * with the escape-class calls of the newest that had any. */
int al_store_anomaly_sum(struct al_store *s, const char *name, long long since,
			 struct al_anomaly *ret, struct al_err *err);
/* Quarantines name (its queued proposals are no longer claimed), audited by actor with the
 * proposal that tipped it; -EALREADY when it is. */
int al_store_quarantine_set(struct al_store *s, const char *name, const char *reason,
			    const char *actor, const char *proposal, struct al_err *err);
/* Lifts name's quarantine, audited; what its jobs counted for until now no longer counts.
 * -EALREADY when it is not quarantined, -ENOENT when no token or quarantine has that name. */
int al_store_quarantine_release(struct al_store *s, const char *name, const char *actor,
				struct al_err *err);
/* 1 with why in reason (may be NULL) while name is quarantined, 0 when not, -EIO. */
int al_store_quarantine_get(struct al_store *s, const char *name,
			    char reason[AL_QUARANTINE_REASON_MAX]);
/* The names quarantined (only name's when not NULL): [{"name","reason","at","by"}]. */
int al_store_quarantine_list(struct al_store *s, const char *name, json_t **ret,
			     struct al_err *err);

/* Opens a session (name and role of ss name the audit entry; token_hash, csrf and
 * expires are stored) and drops expired ones. */
int al_store_session_add(struct al_store *s, const char *hash_hex, const struct al_session *ss,
			 struct al_err *err);
/* -ENOENT when there is none, it expired, or its token is gone. */
int al_store_session_find(struct al_store *s, const char *hash_hex, struct al_session *ret);
/* Ends a session for good; -ENOENT when there was none. */
int al_store_session_end(struct al_store *s, const char *hash_hex, const char *actor,
			 struct al_err *err);
/* The last limit audit entries (of one proposal, or all when proposal is NULL), oldest
 * first: [{"seq","at","actor","action","proposal"?,"detail"?}]. */
int al_store_audit_list(struct al_store *s, const char *proposal, unsigned limit, json_t **ret,
			struct al_err *err);

/* An audit entry of its own (a configuration reload, a recovery at start). */
int al_store_audit_note(struct al_store *s, const char *actor, const char *action,
			const char *proposal, const char *detail, struct al_err *err);
/* What walking the audit chain found: broken, the first entry at fault (seq) and what
 * happened to it ("modified", "inserted", "deleted …"); intact, the head's hash. */
struct al_audit_report {
	long long entries;
	bool broken;
	long long seq;
	char what[96];
	char head[65];
};
int al_store_audit_verify(struct al_store *s, struct al_audit_report *ret, struct al_err *err);

/* p as a new queued proposal, with its audit entry; -EEXIST when its id is taken. */
int al_store_proposal_insert(struct al_store *s, const struct al_proposal *p, struct al_err *err);

/* A pull request behind a proposal (GitHub intake). */
struct al_pull_request {
	const char *delivery;  /* X-GitHub-Delivery */
	const char *full_name; /* owner/name */
	long long number;
	const char *head;	/* the head commit gated */
	const char *author;	/* its author's login */
	const char *target_url; /* the proposal's page, may be NULL */
};
/* The proposals a pull request's delivery ended (ids): superseded or cancelled, and
 * granted ones whose grant it invalidated.  Owned by the caller: al_pr_ended_clear. */
struct al_pr_ended {
	json_t *ended;
	json_t *invalidated;
};
void al_pr_ended_clear(struct al_pr_ended *e);
/* The pull requests whose newest proposal is open or granted on the commit base (as the
 * proposal's base names it): [{"number","head","author","fail_to_pass" (JSON text),
 * "title"?,"proposal"}], oldest first. */
int al_store_prs_on_base(struct al_store *s, const char *repo, const char *base, json_t **ret,
			 struct al_err *err);
/* In one transaction: the delivery (-EEXIST when seen before: nothing is written), the
 * proposal, the pull request, a pending commit status to post, and the pull request's
 * earlier proposals superseded (open ones) or their unspent grants invalidated. */
int al_store_pull_request_insert(struct al_store *s, const struct al_proposal *p,
				 const struct al_pull_request *pr, struct al_pr_ended *ret,
				 struct al_err *err);
/* The pull request closed (pr: delivery, full_name, number): in one transaction, the
 * delivery and every proposal of it cancelled or its unspent grant invalidated. */
int al_store_pull_request_close(struct al_store *s, const struct al_pull_request *pr,
				struct al_pr_ended *ret, struct al_err *err);
/* A push moved ref of repo away from before: in one transaction, the delivery and every
 * unspent grant on base commit before invalidated; *ret: their ids. */
int al_store_base_moved(struct al_store *s, const char *delivery, const char *repo, const char *ref,
			const char *before, json_t **ret, struct al_err *err);
/* A delivery handled without a proposal (ping, ignored events); -EEXIST when seen. */
int al_store_delivery_record(struct al_store *s, const char *id, const char *event,
			     const char *outcome, struct al_err *err);
/* 1 when delivery id was recorded, 0 when not (or it cannot be read). */
int al_store_delivery_seen(struct al_store *s, const char *id);
/* Queues a commit status for the proposal's pull request head; -ENOENT when the proposal
 * did not come from a pull request, 0 and nothing queued when a newer proposal speaks for
 * that head.  told: "STATE/GRANT_STATE" of the proposal the status was made from, kept
 * with the pull request in the same transaction. */
int al_store_status_enqueue(struct al_store *s, const char *proposal, const char *state,
			    const char *description, const char *target_url, const char *told,
			    struct al_err *err);
/* Proposals whose pull request was not told their present state (the server died between
 * the move and the status): [["id", "state"], …], the newest proposal of each head only,
 * none running. */
int al_store_status_untold(struct al_store *s, json_t **ret, struct al_err *err);
#define AL_STORE_STATUS_BATCH 32
/* Statuses due at now, oldest first, at most AL_STORE_STATUS_BATCH (each commit's newest
 * only; older waiting ones are dropped): [{"seq","proposal","full_name","sha","state",
 * "description","target_url"?,"attempts"}]. */
int al_store_status_due(struct al_store *s, long long now, json_t **ret, struct al_err *err);
/* After a post: delivered, or tried again at next_at, with the error kept. */
int al_store_status_settle(struct al_store *s, long long seq, bool delivered, long long next_at,
			   const char *error, struct al_err *err);
/* -ENOENT when there is none. */
int al_store_proposal_get(struct al_store *s, const char *id, struct al_proposal **ret,
			  struct al_err *err);
/* Likewise, without reading the patches (up to 4 MiB each): patch "", test_patch NULL. */
int al_store_proposal_get_unpatched(struct al_store *s, const char *id, struct al_proposal **ret,
				    struct al_err *err);
void al_proposal_free(struct al_proposal *p);
/* Summaries {"id","repo","base","state","proposer","created","updated","revision","tier",
 * "title"} (tier and title null when none), newest first, at most limit, of the proposals
 * in state (all when NULL); -EINVAL when state is none of AL_PROPOSAL_STATES. */
int al_store_proposal_list(struct al_store *s, const char *state, unsigned limit, json_t **ret,
			   struct al_err *err);
/* How many proposals wait in the queue (an index range), or -1. */
long long al_store_count_queued(struct al_store *s);
/* {"STATE": count} of the proposals in each state there is. */
int al_store_state_counts(struct al_store *s, json_t **ret, struct al_err *err);
/* Moves the oldest queued proposal to running; -ENOENT when none is queued. */
int al_store_claim_next(struct al_store *s, char ret_id[AL_PROPOSAL_ID_SIZE], struct al_err *err);
/* Finishes a running proposal; -ESTALE when it was not running. */
int al_store_finish(struct al_store *s, const char *id, const struct al_outcome *o,
		    struct al_err *err);
/* Every recorded decision on a proposal, oldest first:
 * [{"reviewer","decision","revision","tree","comment"?,"created"}]. */
int al_store_approvals(struct al_store *s, const char *id, json_t **ret, struct al_err *err);
/* -ESTALE when the proposal moved on; -EEXIST when this reviewer already decided on this
 * revision. */
int al_store_decide(struct al_store *s, const char *id, const struct al_decision *d,
		    struct al_err *err);
/* Replaces patch, test_patch and fail_to_pass of p->id (only by p->proposer, and only
 * when it is awaiting approval, rejected or in error) and queues it again under the next
 * revision; -ESTALE otherwise. */
int al_store_revise(struct al_store *s, const struct al_proposal *p, long long *ret_revision,
		    struct al_err *err);
/* Marks a granted proposal's grant spent and its nonce used, once: -EALREADY when it
 * was spent or invalidated before. */
int al_store_grant_spend(struct al_store *s, const char *id, const char *nonce, struct al_err *err);
/* After a spend: the grant's final state ("spent" with promotion JSON, or "invalidated"),
 * or with unspend and grant_state NULL, the spend undone (the ref did not move). */
int al_store_grant_settle(struct al_store *s, const char *id, const char *grant_state,
			  const char *promotion, bool unspend, struct al_err *err);
/* An invalidated grant's proposal back in the queue under the next revision; -ESTALE when
 * it is not one. */
int al_store_regate(struct al_store *s, const char *id, struct al_err *err);
/* Puts proposals a crash left running back in the queue, or in error once they were
 * started max_attempts times; returns how many it moved. */
int al_store_requeue_running(struct al_store *s, int max_attempts, struct al_err *err);
/* One running proposal back to the queue (its job was stopped, not failed), audited with
 * why; -ESTALE when it is not running. */
int al_store_requeue(struct al_store *s, const char *id, const char *why, struct al_err *err);

static inline void
al_proposal_freep(struct al_proposal **p)
{
	al_proposal_free(*p);
}
