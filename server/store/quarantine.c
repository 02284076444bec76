/* Automatic quarantine's records: what each finished job counted for against its proposer
 * (anomalies), and the names quarantined, each change audited in its transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates/quarantine.h"
#include "server/store/internal.h"

/* Entries older than the longest window a policy may ask for are of no more use. */
#define ANOMALY_KEEP_S ((long long)AL_QUARANTINE_WINDOW_MAX_MIN * 60)

#define COL_(id, key, def, what) ", " key
#define PARAM_(id, key, def, what) ",?"
#define SUM_(id, key, def, what) ", coalesce(sum(" key "), 0)"

struct anomaly_args {
	const char *name, *proposal, *reason, *actor;
	const struct al_anomaly *a;
};

static int
anomaly_add_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct anomaly_args *x = ctx;
	_cleanup_stmt_ sqlite3_stmt *purge = NULL, *st = NULL;

	if (sqlite3_prepare_v2(s->db, "DELETE FROM anomalies WHERE at < ?", -1, &purge, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO anomalies(name, at, proposal, calls" AL_ANOMALY_KINDS(
				   COL_) ") VALUES (?,?,?,?" AL_ANOMALY_KINDS(PARAM_) ")",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "anomaly add");
	sqlite3_bind_int64(purge, 1, now_s() - ANOMALY_KEEP_S);
	bind_text(st, 1, x->name);
	sqlite3_bind_int64(st, 2, now_s());
	bind_text(st, 3, x->proposal);
	bind_text(st, 4, x->a->calls[0] ? x->a->calls : NULL);
	for (int k = 0; k < AL_ANOMALY_N; k++)
		sqlite3_bind_int(st, 5 + k, x->a->n[k] ? 1 : 0);
	if (sqlite3_step(purge) != SQLITE_DONE || sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "anomaly add");
	return 0;
}

int
al_store_anomaly_add(struct al_store *s, const char *name, const char *proposal,
		     const struct al_anomaly *a, struct al_err *err)
{
	for (int k = 0; k < AL_ANOMALY_N; k++)
		if (a->n[k])
			return al_store_transact(
			    s, "anomaly add", anomaly_add_body,
			    &(struct anomaly_args){.name = name, .proposal = proposal, .a = a},
			    err);
	return 0;
}

/* name's entries in the window, after its last release only: what an admin forgave does
 * not count again */
#define WINDOW_SQL                                                                             \
	" FROM anomalies WHERE name = ?1 AND at >= ?2 AND seq > coalesce((SELECT released_seq" \
	" FROM quarantines WHERE name = ?1), 0)"

int
al_store_anomaly_sum(struct al_store *s, const char *name, long long since, struct al_anomaly *ret,
		     struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL, *calls = NULL;
	int r = 0;

	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, "SELECT 0" AL_ANOMALY_KINDS(SUM_) WINDOW_SQL, -1, &st,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT calls" WINDOW_SQL " AND calls IS NOT NULL ORDER BY seq DESC"
			       " LIMIT 1",
			       -1, &calls, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "anomaly sum");
		goto out;
	}
	bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, since);
	bind_text(calls, 1, name);
	sqlite3_bind_int64(calls, 2, since);
	if (sqlite3_step(st) != SQLITE_ROW) {
		r = al_store_db_err(s, err, "anomaly sum");
		goto out;
	}
	for (int k = 0; k < AL_ANOMALY_N; k++)
		ret->n[k] = (unsigned)sqlite3_column_int64(st, 1 + k);
	if (sqlite3_step(calls) == SQLITE_ROW)
		snprintf(ret->calls, sizeof(ret->calls), "%s", sqlite3_column_text(calls, 0));
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
quarantine_set_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct anomaly_args *x = ctx;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char detail[AL_QUARANTINE_REASON_MAX + 160];

	/* a released name's row is used again; a quarantined one's stays as it is */
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO quarantines(name, reason, at, by) VALUES (?1,?2,?3,?4)"
			       " ON CONFLICT(name) DO UPDATE SET reason = ?2, at = ?3, by = ?4,"
			       " released = NULL, released_by = NULL WHERE released IS NOT NULL",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "quarantine");
	bind_text(st, 1, x->name);
	bind_text(st, 2, x->reason);
	sqlite3_bind_int64(st, 3, now_s());
	bind_text(st, 4, x->actor);
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "quarantine");
	if (sqlite3_changes(s->db) == 0)
		return al_err_set(err, -EALREADY, "%s is quarantined already", x->name);
	snprintf(detail, sizeof(detail), "name=%s reason=%s", x->name, x->reason);
	return al_store_audit_append(s, x->actor, "token.quarantine", x->proposal, detail, err);
}

int
al_store_quarantine_set(struct al_store *s, const char *name, const char *reason, const char *actor,
			const char *proposal, struct al_err *err)
{
	return al_store_transact(
	    s, "quarantine", quarantine_set_body,
	    &(struct anomaly_args){
		.name = name, .reason = reason, .actor = actor, .proposal = proposal},
	    err);
}

static int
quarantine_release_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct anomaly_args *x = ctx;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	long long tokens = 0;
	char detail[200];

	if (sqlite3_prepare_v2(s->db,
			       "UPDATE quarantines SET released = ?2, released_by = ?3,"
			       " released_seq = (SELECT coalesce(max(seq), 0) FROM anomalies)"
			       " WHERE name = ?1 AND released IS NULL",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "release");
	bind_text(st, 1, x->name);
	sqlite3_bind_int64(st, 2, now_s());
	bind_text(st, 3, x->actor);
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "release");
	if (sqlite3_changes(s->db) == 1) {
		snprintf(detail, sizeof(detail), "name=%s", x->name);
		return al_store_audit_append(s, x->actor, "token.release", NULL, detail, err);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM tokens WHERE name = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "release");
	bind_text(st, 1, x->name);
	if (sqlite3_step(st) == SQLITE_ROW)
		tokens = sqlite3_column_int64(st, 0);
	return tokens ? al_err_set(err, -EALREADY, "%s is not quarantined", x->name)
		      : al_err_set(err, -ENOENT, "no token is named %s", x->name);
}

int
al_store_quarantine_release(struct al_store *s, const char *name, const char *actor,
			    struct al_err *err)
{
	return al_store_transact(s, "release", quarantine_release_body,
				 &(struct anomaly_args){.name = name, .actor = actor}, err);
}

int
al_store_quarantine_get(struct al_store *s, const char *name, char reason[AL_QUARANTINE_REASON_MAX])
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = -EIO, q;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT reason FROM quarantines WHERE name = ? AND released IS NULL",
			       -1, &st, NULL) == SQLITE_OK) {
		bind_text(st, 1, name);
		q = sqlite3_step(st);
		if (q == SQLITE_ROW && reason)
			snprintf(reason, AL_QUARANTINE_REASON_MAX, "%s",
				 sqlite3_column_text(st, 0));
		r = q == SQLITE_ROW ? 1 : q == SQLITE_DONE ? 0 : -EIO;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static json_t *
quarantine_row(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:I, s:s}", "name", sqlite3_column_text(st, 0), "reason",
			 sqlite3_column_text(st, 1), "at", (json_int_t)sqlite3_column_int64(st, 2),
			 "by", sqlite3_column_text(st, 3));
}

int
al_store_quarantine_list(struct al_store *s, const char *name, json_t **ret, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT name, reason, at, by FROM quarantines WHERE released IS NULL"
			       " AND (?1 IS NULL OR name = ?1) ORDER BY at, name",
			       -1, &st, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "quarantine list");
	} else {
		bind_text(st, 1, name);
		r = al_store_collect_rows(s, st, quarantine_row, "quarantine list", ret, err);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}
