/* What follows the gates: reviewers' decisions on a proposal awaiting approval, the grant
 * spent once and settled after promotion, and an invalidated grant's proposal regated. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/store/internal.h"

static json_t *
decision_row(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:I, s:s, s:s?, s:I}", "reviewer", sqlite3_column_text(st, 0),
			 "decision", sqlite3_column_text(st, 1), "revision",
			 (json_int_t)sqlite3_column_int64(st, 2), "tree",
			 sqlite3_column_text(st, 3), "comment", sqlite3_column_text(st, 4),
			 "created", (json_int_t)sqlite3_column_int64(st, 5));
}

int
al_store_approvals(struct al_store *s, const char *id, json_t **ret, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT reviewer, decision, revision, tree, comment, created"
			       " FROM approvals WHERE proposal = ? ORDER BY created, rowid",
			       -1, &st, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "approvals");
	} else {
		bind_text(st, 1, id);
		r = al_store_collect_rows(s, st, decision_row, "approvals", ret, err);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
insert_decision(struct al_store *s, const char *id, const struct al_decision *d, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO approvals(proposal, revision, reviewer, decision, tree,"
			       " comment, created) VALUES (?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "decide");
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, d->revision);
	bind_text(st, 3, d->reviewer);
	bind_text(st, 4, d->decision);
	bind_text(st, 5, d->tree);
	bind_text(st, 6, d->comment);
	sqlite3_bind_int64(st, 7, now_s());
	if (sqlite3_step(st) != SQLITE_DONE) {
		if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
			return al_err_set(err, -EEXIST, "%s already decided on revision %lld",
					  d->reviewer, d->revision);
		return al_store_db_err(s, err, "decide");
	}
	return 0;
}

/* The proposal moves on only from the revision, tree and state the decision was made on. */
static int
update_decided(struct al_store *s, const char *id, const struct al_decision *d, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET state = ?2, updated = ?3, verdict = ?4,"
			       " grant_envelope = ?5, tier = ?6 WHERE id = ?1 AND revision = ?7"
			       " AND candidate_tree = ?8 AND state = 'awaiting_approval'",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "decide");
	bind_text(st, 1, id);
	bind_text(st, 2, d->state);
	sqlite3_bind_int64(st, 3, now_s());
	bind_text(st, 4, d->verdict);
	bind_text(st, 5, d->grant);
	sqlite3_bind_int(st, 6, d->tier);
	sqlite3_bind_int64(st, 7, d->revision);
	bind_text(st, 8, d->tree);
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "decide");
	if (sqlite3_changes(s->db) != 1)
		return al_err_set(err, -ESTALE,
				  "the proposal changed: it is no longer awaiting approval of "
				  "revision %lld",
				  d->revision);
	return 0;
}

struct decide_args {
	const char *id;
	const struct al_decision *d;
};

static int
decide_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct decide_args *a = ctx;
	const struct al_decision *d = a->d;
	char detail[1400];
	int r = insert_decision(s, a->id, d, err);

	if (r == 0)
		r = update_decided(s, a->id, d, err);
	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "revision %lld, tree %s, proposal now %s%s%s", d->revision,
		 d->tree, d->state, d->comment ? "; comment: " : "", d->comment ? d->comment : "");
	r = al_store_audit_append(s, d->reviewer, d->decision, a->id, detail, err);
	if (r == 0 && strcmp(d->state, "awaiting_approval"))
		r = al_store_audit_outcome(s, d->reviewer, a->id, d->state, d->tier, d->verdict,
					   NULL, d->grant, d->tree, err);
	return r;
}

int
al_store_decide(struct al_store *s, const char *id, const struct al_decision *d, struct al_err *err)
{
	int r = al_store_transact(s, "decide", decide_body, &(struct decide_args){id, d}, err);

	if (r == 0)
		al_store_tell(s, id, d->state);
	return r;
}

struct spend_args {
	const char *id, *nonce;
	const char *grant_state, *promotion; /* settle */
	bool unspend;
};

static int
spend_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct spend_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *up = NULL, *ins = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET grant_state = 'spent', updated = ?2"
			       " WHERE id = ?1 AND state = 'granted' AND grant_state IS NULL",
			       -1, &up, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO spent_nonces(nonce, proposal, spent) VALUES (?,?,?)",
			       -1, &ins, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "spend");
	bind_text(up, 1, a->id);
	sqlite3_bind_int64(up, 2, now_s());
	if (sqlite3_step(up) != SQLITE_DONE)
		return al_store_db_err(s, err, "spend");
	if (sqlite3_changes(s->db) != 1)
		return al_err_set(err, -EALREADY, "grant already used or invalidated");
	bind_text(ins, 1, a->nonce);
	bind_text(ins, 2, a->id);
	sqlite3_bind_int64(ins, 3, now_s());
	if (sqlite3_step(ins) == SQLITE_DONE)
		return 0;
	if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		return al_err_set(err, -EALREADY, "grant nonce already used");
	return al_store_db_err(s, err, "spend");
}

int
al_store_grant_spend(struct al_store *s, const char *id, const char *nonce, struct al_err *err)
{
	int r = al_store_transact(s, "spend", spend_body,
				  &(struct spend_args){.id = id, .nonce = nonce}, err);

	if (r == 0)
		al_store_tell(s, id, "granted");
	return r;
}

/* What became of a spent grant: used (the promotion), invalidated at promotion, or the
 * spend undone. */
static int
audit_promotion(struct al_store *s, const struct spend_args *a, struct al_err *err)
{
	json_t *pr = a->promotion ? json_loads(a->promotion, 0, NULL) : NULL;
	const char *by = json_string_value(json_object_get(pr, "by"));
	const char *action = a->unspend				? "grant.unspent"
			     : !a->grant_state			? "grant.unspent"
			     : !strcmp(a->grant_state, "spent") ? "grant.promoted"
								: "grant.invalidated";
	char detail[1200];
	int r;

	snprintf(detail, sizeof(detail), "%s",
		 a->promotion				? a->promotion
		 : !strcmp(action, "grant.invalidated") ? "the base moved at promotion"
							: "the ref did not move");
	r = al_store_audit_append(s, by ? by : "promote", action, a->id, detail, err);
	json_decref(pr);
	return r;
}

static int
settle_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct spend_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *st = NULL, *del = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET grant_state = ?2, promotion = ?3, updated = ?4"
			       " WHERE id = ?1 AND grant_state = 'spent'",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "DELETE FROM spent_nonces WHERE proposal = ?", -1, &del,
			       NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "settle");
	bind_text(st, 1, a->id);
	bind_text(st, 2, a->grant_state);
	bind_text(st, 3, a->promotion);
	sqlite3_bind_int64(st, 4, now_s());
	bind_text(del, 1, a->id);
	if (sqlite3_step(st) != SQLITE_DONE || (a->unspend && sqlite3_step(del) != SQLITE_DONE))
		return al_store_db_err(s, err, "settle");
	return audit_promotion(s, a, err);
}

int
al_store_grant_settle(struct al_store *s, const char *id, const char *grant_state,
		      const char *promotion, bool unspend, struct al_err *err)
{
	int r = al_store_transact(
	    s, "settle", settle_body,
	    &(struct spend_args){
		.id = id, .grant_state = grant_state, .promotion = promotion, .unspend = unspend},
	    err);

	if (r == 0)
		al_store_tell(s, id, "granted");
	return r;
}

static int
regate_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const char *id = ctx;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char detail[64];
	int q;

	if (sqlite3_prepare_v2(
		s->db,
		"UPDATE proposals SET revision = revision + 1, state = 'queued', updated = ?2,"
		" base_commit = NULL, candidate_commit = NULL, candidate_tree = NULL,"
		" result = NULL, verdict = NULL, grant_envelope = NULL, error = NULL, tier = NULL,"
		" policy_digest = NULL, grant_state = NULL, promotion = NULL, attempts = 0"
		" WHERE id = ?1 AND state = 'granted' AND grant_state = 'invalidated'"
		" RETURNING revision",
		-1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "regate");
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_s());
	q = sqlite3_step(st);
	if (q == SQLITE_DONE)
		return al_err_set(err, -ESTALE, "proposal %s is not an invalidated grant", id);
	if (q != SQLITE_ROW)
		return al_store_db_err(s, err, "regate");
	snprintf(detail, sizeof(detail), "revision %lld, on the new base",
		 (long long)sqlite3_column_int64(st, 0));
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "regate");
	return al_store_audit_append(s, "promote", "proposal.regated", id, detail, err);
}

int
al_store_regate(struct al_store *s, const char *id, struct al_err *err)
{
	int r = al_store_transact(s, "regate", regate_body, id, err);

	if (r == 0)
		al_store_tell(s, id, "queued");
	return r;
}
