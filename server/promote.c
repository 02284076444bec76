/* Promotion: the grant's authority exercised.  The ref moves by compare-and-swap on what
 * the grant names (nothing there for write, the base commit for merge), and only with a
 * grant that verifies, has not expired and was never used: its nonce is spent first, in
 * the same transaction that marks it, and given back only when the ref did not move. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/macros.h"
#include "runner/git.h"
#include "server/grant.h"
#include "server/pause.h"
#include "server/server.h"

struct promotion {
	struct al_server *srv;
	struct al_config *cfg; /* a reference */
	const struct al_repo_conf *repo;
	struct al_proposal *p; /* owned */
	json_t *st;	       /* owned: the verified statement */
	const char *actor;
	struct al_refusal why;
	json_t *answer; /* owned */
};

/* The stored grant, checked as any verifier would: signature and key first. */
static int
verified_statement(struct promotion *m)
{
	_cleanup_free_ char *payload = NULL;
	const struct al_key *key = NULL;
	struct al_err err = {0};
	size_t len;
	int r;

	pthread_mutex_lock(&m->srv->mu);
	r = al_keyring_verify(m->srv->keyring, m->p->grant, strlen(m->p->grant), time(NULL),
			      &payload, &len, &key, &err);
	pthread_mutex_unlock(&m->srv->mu);
	if (r < 0)
		return al_reply_refuse(&m->why, 409, "grant does not verify: %s", al_err_msg(&err));
	r = al_grant_check(payload, len, time(NULL), NULL, &m->st, &err);
	if (r == AL_VERIFY_EXPIRED)
		return al_reply_refuse(&m->why, 409, "%s", al_err_msg(&err));
	if (r != 0)
		return al_reply_refuse(&m->why, 409, "grant is malformed: %s", al_err_msg(&err));
	return 0;
}

static int
load(struct promotion *m, const char *id)
{
	struct al_err err = {0};
	int r = al_store_proposal_get(m->srv->store, id, &m->p, &err);

	if (r == -ENOENT)
		return al_reply_refuse(&m->why, 404, "no such proposal");
	if (r < 0)
		return al_reply_refuse(&m->why, 500, "could not read the proposal");
	if (strcmp(m->p->state, "granted"))
		return al_reply_refuse(&m->why, 409, "proposal is %s, not granted", m->p->state);
	if (!m->p->grant)
		return al_reply_refuse(&m->why, 409, "proposal has no stored grant");
	if (m->p->grant_state && !strcmp(m->p->grant_state, "spent"))
		return al_reply_refuse(&m->why, 409, "grant already used");
	if (m->p->grant_state)
		return al_reply_refuse(&m->why, 409, "grant was invalidated: the base moved");
	m->repo = al_config_repo(m->cfg, m->p->repo);
	if (!m->repo)
		return al_reply_refuse(&m->why, 409, "repository %s is no longer configured",
				       m->p->repo);
	return verified_statement(m);
}

static const char *
pred_str(const json_t *st, const char *a, const char *b)
{
	const json_t *v = json_object_get(json_object_get(st, "predicate"), a);

	return json_string_value(b ? json_object_get(v, b) : v);
}

/* The ref did not move: the base had (merge), or the ref already existed (write). */
static int
stale(struct promotion *m, const char *kind, const char *ref, const char *msg)
{
	struct al_err err = {0};
	bool merge = !strcmp(kind, "merge");
	bool regate = merge && al_policy_regate_on_base_change(m->repo->policy);

	if (al_store_grant_settle(m->srv->store, m->p->id, merge ? "invalidated" : NULL, NULL,
				  !merge, &err) < 0)
		return al_reply_refuse(&m->why, 500, "could not record the outcome");
	if (!merge)
		return al_reply_refuse(&m->why, 409, "%s", msg);
	al_log("info", "proposal.base_moved", "id=%s ref=%s regate=%d", m->p->id, al_log_q(ref),
	       regate);
	if (regate && al_store_regate(m->srv->store, m->p->id, &err) == 0)
		return al_reply_refuse(&m->why, 409,
				       "base moved: %s; the gates run again on the new base", msg);
	return al_reply_refuse(&m->why, 409, "base moved: %s; the grant is invalidated", msg);
}

static int
move_ref(struct promotion *m)
{
	const char *kind = pred_str(m->st, "authority", "kind"),
		   *ref = pred_str(m->st, "authority", "ref");
	const char *base = pred_str(m->st, "baseCommit", NULL),
		   *nonce = pred_str(m->st, "nonce", NULL);
	const char *commit = json_string_value(json_object_get(
	    json_object_get(json_array_get(json_object_get(m->st, "subject"), 0), "digest"),
	    "gitCommit"));
	_cleanup_free_ char *promotion = NULL;
	struct al_err err = {0};
	char cur[41];
	int r;

	if (!kind || !strcmp(kind, "none") || !ref)
		return al_reply_refuse(&m->why, 409, "grant carries no authority over a ref");
	if ((strcmp(kind, "write") && strcmp(kind, "merge")) || !commit || !nonce ||
	    (!strcmp(kind, "merge") && !base))
		return al_reply_refuse(&m->why, 409,
				       "grant is malformed: authority, commit or nonce missing");
	r = al_store_grant_spend(m->srv->store, m->p->id, nonce, &err);
	if (r == -EALREADY)
		return al_reply_refuse(&m->why, 409, "grant already used");
	if (r < 0)
		return al_reply_refuse(&m->why, 500, "could not record the grant's use");
	r = al_git_ref_cas(m->repo->path, ref, commit, strcmp(kind, "merge") ? NULL : base, cur,
			   &err);
	if (r == -ESTALE)
		return stale(m, kind, ref, al_err_msg(&err));
	if (r < 0) {
		al_log("error", "proposal.promote_failed", "id=%s error=%s", m->p->id,
		       al_log_q(al_err_msg(&err)));
		al_store_grant_settle(m->srv->store, m->p->id, NULL, NULL, true, NULL);
		return al_reply_refuse(&m->why, 500, "could not update the ref");
	}
	m->answer = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:s}", "id", m->p->id, "ref", ref,
			      "commit", commit, "previous", strcmp(kind, "merge") ? NULL : base,
			      "at", (json_int_t)time(NULL), "by", m->actor);
	promotion = m->answer ? json_dumps(m->answer, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (!promotion ||
	    al_store_grant_settle(m->srv->store, m->p->id, "spent", promotion, false, &err) < 0)
		al_log("error", "proposal.promote_unrecorded", "id=%s ref=%s", m->p->id,
		       al_log_q(ref));
	al_log("info", "proposal.promoted", "id=%s ref=%s commit=%s by=%s", m->p->id, al_log_q(ref),
	       commit, al_log_q(m->actor));
	return 0;
}

int
al_promote_grant(struct al_server *srv, const char *id, const char *actor, json_t **ret,
		 struct al_refusal *refusal)
{
	struct promotion m = {.srv = srv, .actor = actor};
	char paused[AL_PAUSE_REASON_MAX];
	int r;

	if (al_pause_on(srv, paused)) {
		refusal->error = "paused";
		return al_reply_refuse(refusal, 503, "paused: %s", paused);
	}
	/* one decision or promotion at a time */
	pthread_mutex_lock(&srv->decide_mu);
	m.cfg = al_live_config(srv);
	r = load(&m, id);
	if (r == 0)
		r = move_ref(&m);
	pthread_mutex_unlock(&srv->decide_mu);
	if (r < 0) {
		*refusal = m.why;
		if (!refusal->status)
			al_reply_refuse(refusal, 500, "promotion failed");
	} else {
		*ret = steal_pointer(&m.answer);
	}
	json_decref(m.answer);
	json_decref(m.st);
	al_proposal_free(m.p);
	al_live_config_put(srv, m.cfg);
	return r;
}
