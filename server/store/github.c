/* The GitHub tables: deliveries seen (each handled once), the pull request behind a
 * proposal and what its delivery ends, a moved base's grants, and the commit statuses
 * still to post (an outbox, written in the transaction of the move it tells of). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "server/store/internal.h"

/* status_outbox.done: waiting to be posted (the schema's default), posted, or dropped for
 * a newer status of the same commit. */
#define STATUS_WAITING 0
#define STATUS_POSTED 1
#define STATUS_DROPPED 2

/* A delivery seen, inside the caller's transaction; -EEXIST for one seen before. */
static int
insert_delivery(struct al_store *s, const char *id, const char *event, const char *outcome,
		const char *proposal, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO deliveries(id, event, outcome, proposal, received)"
			       " VALUES (?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "delivery");
	bind_text(st, 1, id);
	bind_text(st, 2, event);
	bind_text(st, 3, outcome);
	bind_text(st, 4, proposal);
	sqlite3_bind_int64(st, 5, now_s());
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "delivery");
	return 0;
}

struct delivery_args {
	const char *id, *event, *outcome;
};

static int
delivery_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct delivery_args *a = ctx;

	return insert_delivery(s, a->id, a->event, a->outcome, NULL, err);
}

int
al_store_delivery_record(struct al_store *s, const char *id, const char *event, const char *outcome,
			 struct al_err *err)
{
	return al_store_transact(
	    s, "delivery", delivery_body,
	    &(struct delivery_args){.id = id, .event = event, .outcome = outcome}, err);
}

int
al_store_delivery_seen(struct al_store *s, const char *id)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM deliveries WHERE id = ?", -1, &st, NULL) ==
	    SQLITE_OK) {
		bind_text(st, 1, id);
		r = sqlite3_step(st) == SQLITE_ROW;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
enqueue_status(struct al_store *s, const char *proposal, const char *full_name, const char *sha,
	       const char *state, const char *description, const char *target_url, const char *told,
	       struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL, *mark = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO status_outbox(proposal, full_name, sha, state,"
			       " description, target_url, next_at) VALUES (?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "status");
	bind_text(st, 1, proposal);
	bind_text(st, 2, full_name);
	bind_text(st, 3, sha);
	bind_text(st, 4, state);
	bind_text(st, 5, description);
	bind_text(st, 6, target_url);
	sqlite3_bind_int64(st, 7, now_s());
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "status");
	/* what the pull request was told, in the same transaction: a start after a crash
	 * queues what it missed (al_store_status_untold) */
	if (sqlite3_prepare_v2(s->db, "UPDATE github_prs SET told = ? WHERE proposal = ?", -1,
			       &mark, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "status");
	bind_text(mark, 1, told);
	bind_text(mark, 2, proposal);
	if (sqlite3_step(mark) != SQLITE_DONE)
		return al_store_db_err(s, err, "status");
	return 0;
}

struct pr_args {
	const struct al_proposal *p; /* NULL when the pull request closed */
	const struct al_pull_request *pr;
	struct al_pr_ended *ended;
};

/* Ends the pull request's earlier proposals, inside the caller's transaction: open ones
 * (queued, running, awaiting approval) move to `state`, unspent grants are invalidated.
 * Their ids are appended to a->ended. */
static int
end_earlier(struct al_store *s, const struct pr_args *a, const char *state, const char *why,
	    struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *sel = NULL, *end = NULL, *inv = NULL;
	_cleanup_(json_decrefp) json_t *rows = json_array();
	const char *keep = a->p ? a->p->id : "";
	size_t i;
	json_t *row;
	int q;

	if (!rows)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (sqlite3_prepare_v2(
		s->db,
		"SELECT p.id, p.state FROM proposals p JOIN github_prs g ON"
		" g.proposal = p.id WHERE g.full_name = ?1 AND g.number = ?2 AND"
		" p.id <> ?3 AND (p.state IN ('queued','running','awaiting_approval')"
		" OR (p.state = 'granted' AND p.grant_state IS NULL)) ORDER BY p.created",
		-1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET state = ?2, error = ?3, updated = ?4 WHERE"
			       " id = ?1 AND state IN ('queued','running','awaiting_approval')",
			       -1, &end, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET grant_state = 'invalidated', error = ?2,"
			       " updated = ?3 WHERE id = ?1 AND state = 'granted' AND"
			       " grant_state IS NULL",
			       -1, &inv, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "pull request");
	bind_text(sel, 1, a->pr->full_name);
	sqlite3_bind_int64(sel, 2, a->pr->number);
	bind_text(sel, 3, keep);
	while ((q = sqlite3_step(sel)) == SQLITE_ROW)
		json_array_append_new(rows, json_pack("[ss]", sqlite3_column_text(sel, 0),
						      sqlite3_column_text(sel, 1)));
	if (q != SQLITE_DONE)
		return al_store_db_err(s, err, "pull request");
	json_array_foreach (rows, i, row) {
		const char *id = json_string_value(json_array_get(row, 0));
		bool granted = !strcmp(json_string_value(json_array_get(row, 1)) ?: "", "granted");
		sqlite3_stmt *st = granted ? inv : end;
		int k = 1;
		int r;

		sqlite3_reset(st);
		bind_text(st, k++, id);
		if (!granted)
			bind_text(st, k++, state);
		bind_text(st, k++, why);
		sqlite3_bind_int64(st, k, now_s());
		if (sqlite3_step(st) != SQLITE_DONE)
			return al_store_db_err(s, err, "pull request");
		r = al_store_audit_append(s, "github", granted ? "grant.invalidated" : state, id,
					  why, err);
		if (r < 0)
			return r;
		json_array_append_new(granted ? a->ended->invalidated : a->ended->ended,
				      json_string(id));
	}
	return 0;
}

static int
pr_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct pr_args *a = ctx;
	const struct al_pull_request *pr = a->pr;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char why[200];
	int r;

	if (!a->p) {
		snprintf(why, sizeof(why), "the pull request %s#%lld was closed", pr->full_name,
			 pr->number);
		r = insert_delivery(s, pr->delivery, "pull_request", "cancelled", NULL, err);
		return r < 0 ? r : end_earlier(s, a, "cancelled", why, err);
	}
	snprintf(why, sizeof(why), "superseded by %s: the pull request's head is now %s", a->p->id,
		 pr->head);
	if ((r = insert_delivery(s, pr->delivery, "pull_request", "queued", a->p->id, err)) < 0 ||
	    (r = al_store_proposal_row_insert(s, a->p, err)) < 0 ||
	    (r = end_earlier(s, a, "superseded", why, err)) < 0)
		return r;
	snprintf(why, sizeof(why), "pull request %s#%lld, head %s, author %s, delivery %s",
		 pr->full_name, pr->number, pr->head, pr->author, pr->delivery);
	if ((r = al_store_audit_append(s, "github", "proposal.submitted", a->p->id, why, err)) < 0)
		return r;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO github_prs(proposal, full_name, number, head, author)"
			       " VALUES (?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "pull request");
	bind_text(st, 1, a->p->id);
	bind_text(st, 2, pr->full_name);
	sqlite3_bind_int64(st, 3, pr->number);
	bind_text(st, 4, pr->head);
	bind_text(st, 5, pr->author);
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "pull request");
	return enqueue_status(s, a->p->id, pr->full_name, pr->head, "pending",
			      "airlock is gating this pull request", pr->target_url, "queued/",
			      err);
}

void
al_pr_ended_clear(struct al_pr_ended *e)
{
	json_decref(e->ended);
	json_decref(e->invalidated);
	e->ended = e->invalidated = NULL;
}

/* Tells of every proposal a pull request's delivery moved. */
static void
notify_ended(struct al_store *s, const struct al_pr_ended *e, const char *state)
{
	size_t i;
	json_t *id;

	json_array_foreach (e->ended, i, id)
		al_store_tell(s, json_string_value(id), state);
	json_array_foreach (e->invalidated, i, id)
		al_store_tell(s, json_string_value(id), "granted");
}

static int
pr_transact(struct al_store *s, const struct al_proposal *p, const struct al_pull_request *pr,
	    struct al_pr_ended *ret, struct al_err *err)
{
	int r;

	ret->ended = json_array();
	ret->invalidated = json_array();
	if (!ret->ended || !ret->invalidated) {
		al_pr_ended_clear(ret);
		return al_err_set(err, -ENOMEM, "out of memory");
	}
	r = al_store_transact(s, "pull request", pr_body, &(struct pr_args){p, pr, ret}, err);
	if (r < 0) {
		al_pr_ended_clear(ret);
		return r;
	}
	if (p)
		al_store_tell(s, p->id, "queued");
	notify_ended(s, ret, p ? "superseded" : "cancelled");
	return 0;
}

int
al_store_pull_request_insert(struct al_store *s, const struct al_proposal *p,
			     const struct al_pull_request *pr, struct al_pr_ended *ret,
			     struct al_err *err)
{
	return pr_transact(s, p, pr, ret, err);
}

int
al_store_pull_request_close(struct al_store *s, const struct al_pull_request *pr,
			    struct al_pr_ended *ret, struct al_err *err)
{
	return pr_transact(s, NULL, pr, ret, err);
}

struct moved_args {
	const char *delivery, *repo, *ref, *before;
	json_t *ids;
};

static int
moved_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct moved_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char why[300];
	size_t i;
	json_t *id;
	int q, r;

	snprintf(why, sizeof(why), "the base moved: %s left %s", a->ref, a->before);
	if ((r = insert_delivery(s, a->delivery, "push", "base moved", NULL, err)) < 0)
		return r;
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE proposals SET grant_state = 'invalidated', error = ?3,"
			       " updated = ?4 WHERE repo = ?1 AND base_commit = ?2 AND"
			       " state = 'granted' AND grant_state IS NULL RETURNING id",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "base moved");
	bind_text(st, 1, a->repo);
	bind_text(st, 2, a->before);
	bind_text(st, 3, why);
	sqlite3_bind_int64(st, 4, now_s());
	while ((q = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(a->ids,
				      json_string((const char *)sqlite3_column_text(st, 0)));
	if (q != SQLITE_DONE)
		return al_store_db_err(s, err, "base moved");
	json_array_foreach (a->ids, i, id)
		if ((r = al_store_audit_append(s, "github", "grant.invalidated",
					       json_string_value(id), why, err)) < 0)
			return r;
	return 0;
}

int
al_store_base_moved(struct al_store *s, const char *delivery, const char *repo, const char *ref,
		    const char *before, json_t **ret, struct al_err *err)
{
	json_t *ids = json_array();
	size_t i;
	json_t *id;
	int r;

	if (!ids)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_store_transact(s, "base moved", moved_body,
			      &(struct moved_args){delivery, repo, ref, before, ids}, err);
	if (r < 0) {
		json_decref(ids);
		return r;
	}
	json_array_foreach (ids, i, id)
		al_store_tell(s, json_string_value(id), "granted");
	*ret = ids;
	return 0;
}

struct status_args {
	const char *proposal, *state, *description, *target_url, *told;
};

static int
status_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct status_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char full_name[160], sha[41];
	int q;

	/* the newest proposal of a commit speaks for it: an older one (a pull request closed
	 * and reopened on the same head) posts nothing more there */
	if (sqlite3_prepare_v2(s->db,
			       "SELECT g.full_name, g.head, EXISTS (SELECT 1 FROM github_prs n"
			       " WHERE n.full_name = g.full_name AND n.head = g.head AND"
			       " n.rowid > g.rowid) FROM github_prs g WHERE g.proposal = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "status");
	bind_text(st, 1, a->proposal);
	q = sqlite3_step(st);
	if (q == SQLITE_DONE)
		return -ENOENT;
	if (q != SQLITE_ROW)
		return al_store_db_err(s, err, "status");
	if (sqlite3_column_int(st, 2))
		return 0;
	snprintf(full_name, sizeof(full_name), "%s", sqlite3_column_text(st, 0));
	snprintf(sha, sizeof(sha), "%s", sqlite3_column_text(st, 1));
	return enqueue_status(s, a->proposal, full_name, sha, a->state, a->description,
			      a->target_url, a->told, err);
}

int
al_store_status_enqueue(struct al_store *s, const char *proposal, const char *state,
			const char *description, const char *target_url, const char *told,
			struct al_err *err)
{
	return al_store_transact(
	    s, "status", status_body,
	    &(struct status_args){proposal, state, description, target_url, told}, err);
}

static json_t *
pair_row(sqlite3_stmt *st)
{
	return json_pack("[s,s]", sqlite3_column_text(st, 0), sqlite3_column_text(st, 1));
}

int
al_store_status_untold(struct al_store *s, json_t **ret, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(
		s->db,
		"SELECT p.id, p.state FROM github_prs g JOIN proposals p ON p.id = g.proposal"
		" WHERE p.state <> 'running' AND g.told IS NOT"
		" (p.state || '/' || coalesce(p.grant_state, '')) AND NOT EXISTS"
		" (SELECT 1 FROM github_prs n WHERE n.full_name = g.full_name AND"
		" n.head = g.head AND n.rowid > g.rowid) ORDER BY g.rowid",
		-1, &st, NULL) != SQLITE_OK)
		r = al_store_db_err(s, err, "status untold");
	else
		r = al_store_collect_rows(s, st, pair_row, "status untold", ret, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static json_t *
pr_row(sqlite3_stmt *st)
{
	return json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s}", "number",
			 (json_int_t)sqlite3_column_int64(st, 0), "head",
			 sqlite3_column_text(st, 1), "author", sqlite3_column_text(st, 2),
			 "fail_to_pass", sqlite3_column_text(st, 3), "title",
			 sqlite3_column_text(st, 4), "proposal", sqlite3_column_text(st, 5));
}

int
al_store_prs_on_base(struct al_store *s, const char *repo, const char *base, json_t **ret,
		     struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	/* each pull request's newest proposal, still open or granted, judged on that base */
	if (sqlite3_prepare_v2(
		s->db,
		"SELECT g.number, g.head, g.author, p.fail_to_pass, p.title, p.id FROM github_prs g"
		" JOIN proposals p ON p.id = g.proposal WHERE p.repo = ?1 AND p.base = ?2 AND"
		" p.state IN ('queued', 'running', 'awaiting_approval', 'granted') AND NOT EXISTS"
		" (SELECT 1 FROM github_prs n WHERE n.full_name = g.full_name AND"
		" n.number = g.number AND n.rowid > g.rowid) ORDER BY g.rowid",
		-1, &st, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "pull requests on base");
	} else {
		bind_text(st, 1, repo);
		bind_text(st, 2, base);
		r = al_store_collect_rows(s, st, pr_row, "pull requests on base", ret, err);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static json_t *
status_row(sqlite3_stmt *st)
{
	return json_pack(
	    "{s:I, s:s, s:s, s:s, s:s, s:s, s:s?, s:I}", "seq",
	    (json_int_t)sqlite3_column_int64(st, 0), "proposal", sqlite3_column_text(st, 1),
	    "full_name", sqlite3_column_text(st, 2), "sha", sqlite3_column_text(st, 3), "state",
	    sqlite3_column_text(st, 4), "description", sqlite3_column_text(st, 5), "target_url",
	    sqlite3_column_text(st, 6), "attempts", (json_int_t)sqlite3_column_int64(st, 7));
}

int
al_store_status_due(struct al_store *s, long long now, json_t **ret, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *old = NULL, *st = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	/* GitHub keeps one airlock/gate status per commit: only the newest for a commit
	 * matters, older ones still waiting are dropped (a cancelled proposal's error never
	 * lands over the verdict of the reopened pull request on the same head) */
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE status_outbox SET done = ?1 WHERE done = ?2 AND seq <"
			       " (SELECT max(seq) FROM status_outbox o WHERE o.full_name ="
			       " status_outbox.full_name AND o.sha = status_outbox.sha)",
			       -1, &old, NULL) != SQLITE_OK ||
	    sqlite3_bind_int(old, 1, STATUS_DROPPED) != SQLITE_OK ||
	    sqlite3_bind_int(old, 2, STATUS_WAITING) != SQLITE_OK ||
	    sqlite3_step(old) != SQLITE_DONE ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT seq, proposal, full_name, sha, state, description,"
			       " target_url, attempts FROM status_outbox WHERE done = ?1 AND"
			       " next_at <= ?2 ORDER BY seq LIMIT ?3",
			       -1, &st, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "status due");
	} else {
		sqlite3_bind_int(st, 1, STATUS_WAITING);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int(st, 3, AL_STORE_STATUS_BATCH);
		r = al_store_collect_rows(s, st, status_row, "status due", ret, err);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
al_store_status_settle(struct al_store *s, long long seq, bool delivered, long long next_at,
		       const char *error, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "UPDATE status_outbox SET done = ?2, attempts = attempts + 1,"
			       " next_at = ?3, last_error = ?4 WHERE seq = ?1",
			       -1, &st, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "status settle");
	} else {
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_int(st, 2, delivered ? STATUS_POSTED : STATUS_WAITING);
		sqlite3_bind_int64(st, 3, next_at);
		bind_text(st, 4, error);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = al_store_db_err(s, err, "status settle");
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}
