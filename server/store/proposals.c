/* A proposal's way through the queue: submitted, read, listed and counted, claimed by the
 * scheduler, finished with the gates' outcome, requeued after a stop, revised by its
 * proposer.  Each move is a conditional UPDATE with its audit entry in one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/internal.h"

int
al_store_proposal_row_insert(struct al_store *s, const struct al_proposal *p, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO proposals(id, repo, base, state, proposer, patch,"
			       " test_patch, fail_to_pass, provenance, created, updated, title)"
			       " VALUES (?,?,?,'queued',?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "proposal insert");
	bind_text(st, 1, p->id);
	bind_text(st, 2, p->repo);
	bind_text(st, 3, p->base);
	bind_text(st, 4, p->proposer);
	sqlite3_bind_blob(st, 5, p->patch ? p->patch : "", (int)p->patch_len, SQLITE_TRANSIENT);
	if (p->test_patch)
		sqlite3_bind_blob(st, 6, p->test_patch, (int)p->test_patch_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 6);
	bind_text(st, 7, p->fail_to_pass);
	bind_text(st, 8, p->provenance);
	sqlite3_bind_int64(st, 9, p->created);
	sqlite3_bind_int64(st, 10, p->created);
	bind_text(st, 11, p->title);
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "proposal insert");
	return 0;
}

static int
insert_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct al_proposal *p = ctx;
	char detail[600];
	int r = al_store_proposal_row_insert(s, p, err);

	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "repository %s, base %s", p->repo, p->base);
	return al_store_audit_append(s, p->proposer, "proposal.submitted", p->id, detail, err);
}

int
al_store_proposal_insert(struct al_store *s, const struct al_proposal *p, struct al_err *err)
{
	int r = al_store_transact(s, "proposal insert", insert_body, p, err);

	if (r == 0)
		al_store_tell(s, p->id, "queued");
	return r;
}

void
al_proposal_free(struct al_proposal *p)
{
	if (!p)
		return;
	free(p->repo);
	free(p->base);
	free(p->state);
	free(p->proposer);
	free(p->patch);
	free(p->test_patch);
	free(p->fail_to_pass);
	free(p->provenance);
	free(p->base_commit);
	free(p->candidate_commit);
	free(p->candidate_tree);
	free(p->result);
	free(p->verdict);
	free(p->grant);
	free(p->error);
	free(p->policy_digest);
	free(p->grant_state);
	free(p->promotion);
	free(p->title);
	free(p);
}

static int
proposal_from_row(sqlite3_stmt *st, struct al_proposal **ret)
{
	struct al_proposal *p = calloc(1, sizeof(*p));
	const char *id;

	if (!p)
		return -ENOMEM;
	id = (const char *)sqlite3_column_text(st, 0);
	snprintf(p->id, sizeof(p->id), "%s", id ? id : "");
	p->repo = al_store_col_dup(st, 1, NULL);
	p->base = al_store_col_dup(st, 2, NULL);
	p->state = al_store_col_dup(st, 3, NULL);
	p->proposer = al_store_col_dup(st, 4, NULL);
	p->patch = al_store_col_dup(st, 5, &p->patch_len);
	p->test_patch = al_store_col_dup(st, 6, &p->test_patch_len);
	p->fail_to_pass = al_store_col_dup(st, 7, NULL);
	p->provenance = al_store_col_dup(st, 8, NULL);
	p->created = sqlite3_column_int64(st, 9);
	p->updated = sqlite3_column_int64(st, 10);
	p->base_commit = al_store_col_dup(st, 11, NULL);
	p->candidate_commit = al_store_col_dup(st, 12, NULL);
	p->candidate_tree = al_store_col_dup(st, 13, NULL);
	p->result = al_store_col_dup(st, 14, NULL);
	p->verdict = al_store_col_dup(st, 15, NULL);
	p->grant = al_store_col_dup(st, 16, NULL);
	p->error = al_store_col_dup(st, 17, NULL);
	p->revision = sqlite3_column_int64(st, 18);
	p->tier = sqlite3_column_type(st, 19) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 19);
	p->policy_digest = al_store_col_dup(st, 20, NULL);
	p->grant_state = al_store_col_dup(st, 21, NULL);
	p->promotion = al_store_col_dup(st, 22, NULL);
	p->title = al_store_col_dup(st, 23, NULL);
	if (!p->repo || !p->base || !p->state || !p->proposer || !p->patch || !p->fail_to_pass ||
	    !p->provenance) {
		al_proposal_free(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

#define PROPOSAL_COLUMNS(patch, test_patch)                                           \
	"SELECT id, repo, base, state, proposer, " patch ", " test_patch ","          \
	" fail_to_pass, provenance, created, updated, base_commit, candidate_commit," \
	" candidate_tree, result, verdict, grant_envelope, error, revision, tier,"    \
	" policy_digest, grant_state, promotion, title FROM proposals WHERE id = ?"

static int
proposal_get(struct al_store *s, const char *sql, const char *id, struct al_proposal **ret,
	     struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = -ENOENT, q;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "proposal get");
		goto out;
	}
	bind_text(st, 1, id);
	q = sqlite3_step(st);
	if (q == SQLITE_ROW)
		r = proposal_from_row(st, ret);
	else if (q != SQLITE_DONE)
		r = al_store_db_err(s, err, "proposal get");
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
al_store_proposal_get(struct al_store *s, const char *id, struct al_proposal **ret,
		      struct al_err *err)
{
	return proposal_get(s, PROPOSAL_COLUMNS("patch", "test_patch"), id, ret, err);
}

int
al_store_proposal_get_unpatched(struct al_store *s, const char *id, struct al_proposal **ret,
				struct al_err *err)
{
	return proposal_get(s, PROPOSAL_COLUMNS("x''", "NULL"), id, ret, err);
}

static json_t *
summary_row(sqlite3_stmt *st)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:s?}", "id", sqlite3_column_text(st, 0),
	    "repo", sqlite3_column_text(st, 1), "base", sqlite3_column_text(st, 2), "state",
	    sqlite3_column_text(st, 3), "proposer", sqlite3_column_text(st, 4), "created",
	    (json_int_t)sqlite3_column_int64(st, 5), "updated",
	    (json_int_t)sqlite3_column_int64(st, 6), "revision",
	    (json_int_t)sqlite3_column_int64(st, 7), "tier",
	    sqlite3_column_type(st, 8) == SQLITE_NULL ? json_null()
						      : json_integer(sqlite3_column_int64(st, 8)),
	    "title", sqlite3_column_text(st, 9));
}

int
al_store_proposal_list(struct al_store *s, const char *state, unsigned limit, json_t **ret,
		       struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	if (state && !al_store_state_valid(state))
		return al_err_set(err, -EINVAL, "store: no proposal state %s", state);
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, repo, base, state, proposer, created, updated, revision,"
			       " tier, title FROM proposals WHERE (?1 IS NULL OR state = ?1)"
			       " ORDER BY created DESC, rowid DESC LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "proposal list");
	} else {
		bind_text(st, 1, state);
		sqlite3_bind_int(st, 2, (int)limit);
		r = al_store_collect_rows(s, st, summary_row, "proposal list", ret, err);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
claim_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	char *id = (char *)ctx;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char detail[64];
	int q;

	if (sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET state = 'running', updated = ?1,"
			       " attempts = attempts + 1"
			       " WHERE id = (SELECT id FROM proposals WHERE state = 'queued'"
			       /* a quarantined proposer's proposals wait, queued, for a release */
			       " AND proposer NOT IN (SELECT name FROM quarantines"
			       " WHERE released IS NULL)"
			       " ORDER BY created, rowid LIMIT 1) RETURNING id, revision, attempts",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "claim");
	sqlite3_bind_int64(st, 1, now_s());
	q = sqlite3_step(st);
	if (q == SQLITE_DONE)
		return -ENOENT;
	if (q != SQLITE_ROW)
		return al_store_db_err(s, err, "claim");
	snprintf(id, AL_PROPOSAL_ID_SIZE, "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(detail, sizeof(detail), "revision %lld, attempt %lld",
		 (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2));
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "claim");
	return al_store_audit_append(s, "scheduler", "job.started", id, detail, err);
}

long long
al_store_count_queued(struct al_store *s)
{
	long long n = -1;

	pthread_mutex_lock(&s->lock);
	if (al_store_int_query(s, "SELECT count(*) FROM proposals WHERE state = 'queued'", &n) < 0)
		n = -1;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int
al_store_state_counts(struct al_store *s, json_t **ret, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	json_t *o = json_object();
	int q, r = 0;

	if (!o)
		return al_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "SELECT state, count(*) FROM proposals GROUP BY state", -1,
			       &st, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "counts");
	} else {
		while ((q = sqlite3_step(st)) == SQLITE_ROW)
			json_object_set_new(o, (const char *)sqlite3_column_text(st, 0),
					    json_integer(sqlite3_column_int64(st, 1)));
		if (q != SQLITE_DONE)
			r = al_store_db_err(s, err, "counts");
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		json_decref(o);
	else
		*ret = o;
	return r;
}

int
al_store_claim_next(struct al_store *s, char ret_id[AL_PROPOSAL_ID_SIZE], struct al_err *err)
{
	int r = al_store_transact(s, "claim", claim_body, ret_id, err);

	if (r == 0)
		al_store_tell(s, ret_id, "running");
	return r;
}

struct finish_args {
	const char *id;
	const struct al_outcome *o;
};

static int
finish_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct finish_args *a = ctx;
	const struct al_outcome *o = a->o;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET state = ?2, updated = ?3, base_commit = ?4,"
			       " candidate_commit = ?5, candidate_tree = ?6, result = ?7,"
			       " verdict = ?8, grant_envelope = ?9, error = ?10, tier = ?11,"
			       " policy_digest = ?12 WHERE id = ?1 AND state = 'running'",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "finish");
	bind_text(st, 1, a->id);
	bind_text(st, 2, o->state);
	sqlite3_bind_int64(st, 3, now_s());
	bind_text(st, 4, o->base_commit);
	bind_text(st, 5, o->candidate_commit);
	bind_text(st, 6, o->candidate_tree);
	bind_text(st, 7, o->result);
	bind_text(st, 8, o->verdict);
	bind_text(st, 9, o->grant);
	bind_text(st, 10, o->error);
	if (o->tier > 0)
		sqlite3_bind_int(st, 11, o->tier);
	else
		sqlite3_bind_null(st, 11);
	bind_text(st, 12, o->policy_digest);
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "finish");
	if (sqlite3_changes(s->db) != 1)
		return al_err_set(err, -ESTALE, "store: proposal %s is not running", a->id);
	return al_store_audit_outcome(s, "scheduler", a->id, o->state, o->tier, o->verdict,
				      o->error, o->grant, o->candidate_tree, err);
}

int
al_store_finish(struct al_store *s, const char *id, const struct al_outcome *o, struct al_err *err)
{
	int r = al_store_transact(s, "finish", finish_body, &(struct finish_args){id, o}, err);

	if (r == 0)
		al_store_tell(s, id, o->state);
	return r;
}

struct requeue_args {
	int max_attempts;
	json_t *moved; /* [[id, state]] */
};

/* Each proposal a stop left running: back to the queue, or to error once it has been
 * started max_attempts times (a job that kills its server each time must not loop). */
static int
requeue_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct requeue_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *sel = NULL, *up = NULL;
	size_t i;
	json_t *row;
	int q;

	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, attempts FROM proposals WHERE state = 'running'"
			       " ORDER BY created, rowid",
			       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET state = ?2, error = ?3, updated = ?4"
			       " WHERE id = ?1 AND state = 'running'",
			       -1, &up, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "requeue");
	while ((q = sqlite3_step(sel)) == SQLITE_ROW)
		json_array_append_new(a->moved,
				      json_pack("[sI]", sqlite3_column_text(sel, 0),
						(json_int_t)sqlite3_column_int64(sel, 1)));
	if (q != SQLITE_DONE)
		return al_store_db_err(s, err, "requeue");
	json_array_foreach (a->moved, i, row) {
		const char *id = json_string_value(json_array_get(row, 0));
		long long n = json_integer_value(json_array_get(row, 1));
		bool give_up = n >= a->max_attempts;
		char why[160];
		int r;

		snprintf(why, sizeof(why),
			 give_up
			     ? "the server stopped while its job ran, %lld times: given up"
			     : "the server stopped while its job ran (attempt %lld): queued again",
			 n);
		sqlite3_reset(up);
		bind_text(up, 1, id);
		bind_text(up, 2, give_up ? "error" : "queued");
		bind_text(up, 3, give_up ? why : NULL);
		sqlite3_bind_int64(up, 4, now_s());
		if (sqlite3_step(up) != SQLITE_DONE)
			return al_store_db_err(s, err, "requeue");
		r = al_store_audit_append(s, "recovery", give_up ? "job.error" : "job.requeued", id,
					  why, err);
		if (r < 0)
			return r;
		json_array_set_new(row, 1, json_string(give_up ? "error" : "queued"));
	}
	return 0;
}

int
al_store_requeue_running(struct al_store *s, int max_attempts, struct al_err *err)
{
	_cleanup_(json_decrefp) json_t *moved = json_array();
	size_t i;
	json_t *row;
	int r;

	if (!moved)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_store_transact(s, "requeue", requeue_body,
			      &(struct requeue_args){max_attempts, moved}, err);
	if (r < 0)
		return r;
	json_array_foreach (moved, i, row)
		al_store_tell(s, json_string_value(json_array_get(row, 0)),
			      json_string_value(json_array_get(row, 1)));
	return (int)json_array_size(moved);
}

struct revise_args {
	const struct al_proposal *p;
	long long *revision;
};

static int
revise_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct revise_args *a = ctx;
	const struct al_proposal *p = a->p;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char detail[64];
	int q;

	if (sqlite3_prepare_v2(
		s->db,
		"UPDATE proposals SET revision = revision + 1, state = 'queued', updated = ?3,"
		" patch = ?4, test_patch = ?5, fail_to_pass = ?6, base_commit = NULL,"
		" candidate_commit = NULL, candidate_tree = NULL, result = NULL, verdict = NULL,"
		" grant_envelope = NULL, error = NULL, tier = NULL, policy_digest = NULL,"
		" attempts = 0 WHERE id = ?1 AND proposer = ?2"
		" AND state IN ('awaiting_approval','rejected','error') RETURNING revision",
		-1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "revise");
	bind_text(st, 1, p->id);
	bind_text(st, 2, p->proposer);
	sqlite3_bind_int64(st, 3, now_s());
	sqlite3_bind_blob(st, 4, p->patch, (int)p->patch_len, SQLITE_TRANSIENT);
	if (p->test_patch)
		sqlite3_bind_blob(st, 5, p->test_patch, (int)p->test_patch_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 5);
	bind_text(st, 6, p->fail_to_pass);
	q = sqlite3_step(st);
	if (q == SQLITE_DONE)
		return al_err_set(err, -ESTALE, "proposal %s cannot be revised in its state",
				  p->id);
	if (q != SQLITE_ROW)
		return al_store_db_err(s, err, "revise");
	*a->revision = sqlite3_column_int64(st, 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "revise");
	snprintf(detail, sizeof(detail), "revision %lld", *a->revision);
	return al_store_audit_append(s, p->proposer, "proposal.revised", p->id, detail, err);
}

int
al_store_revise(struct al_store *s, const struct al_proposal *p, long long *ret_revision,
		struct al_err *err)
{
	int r = al_store_transact(s, "revise", revise_body, &(struct revise_args){p, ret_revision},
				  err);

	if (r == 0)
		al_store_tell(s, p->id, "queued");
	return r;
}

struct requeue_one_args {
	const char *id, *why;
};

static int
requeue_one_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct requeue_one_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *up = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET state = 'queued', updated = ?2"
			       " WHERE id = ?1 AND state = 'running'",
			       -1, &up, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "requeue");
	bind_text(up, 1, a->id);
	sqlite3_bind_int64(up, 2, now_s());
	if (sqlite3_step(up) != SQLITE_DONE)
		return al_store_db_err(s, err, "requeue");
	if (sqlite3_changes(s->db) == 0)
		return al_err_set(err, -ESTALE, "proposal %s is not running", a->id);
	return al_store_audit_append(s, "recovery", "job.requeued", a->id, a->why, err);
}

int
al_store_requeue(struct al_store *s, const char *id, const char *why, struct al_err *err)
{
	int r = al_store_transact(s, "requeue", requeue_one_body,
				  &(struct requeue_one_args){id, why}, err);

	if (r == 0)
		al_store_tell(s, id, "queued");
	return r;
}
