/* The helpers every file of the store runs its statements and transactions through, and
 * the generation the store is at.  Opening the store is server/store/schema.c's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/internal.h"

/* An extended result code's primary code (SQLITE_CONSTRAINT for SQLITE_CONSTRAINT_CHECK). */
#define PRIMARY_CODE(code) ((code)&0xff)

int
al_store_db_err(struct al_store *s, struct al_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);
	int e = -EIO;

	if (code == SQLITE_CONSTRAINT_PRIMARYKEY || code == SQLITE_CONSTRAINT_UNIQUE)
		e = -EEXIST;
	else if (PRIMARY_CODE(code) == SQLITE_CONSTRAINT)
		e = -EINVAL;
	else if (PRIMARY_CODE(code) == SQLITE_BUSY)
		e = -EBUSY;
	else if (PRIMARY_CODE(code) == SQLITE_FULL)
		e = -ENOSPC;
	else if (PRIMARY_CODE(code) == SQLITE_NOMEM)
		e = -ENOMEM;

	return al_err_set(err, e, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

void
al_store_tell(struct al_store *s, const char *id, const char *state)
{
	if (s->notify)
		s->notify(s->notify_ctx, id, state);
}

void
al_store_set_notify(struct al_store *s, al_store_notify_fn fn, void *ctx)
{
	s->notify = fn;
	s->notify_ctx = ctx;
}

int
al_store_int_query(struct al_store *s, const char *sql, long long *ret)
{
	sqlite3_stmt *st = NULL;
	int r = -EIO;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		*ret = sqlite3_column_int64(st, 0);
		r = 0;
	}
	sqlite3_finalize(st);
	return r;
}

int
al_store_exec(struct al_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

char *
al_store_col_dup(sqlite3_stmt *st, int i, size_t *ret_len)
{
	const void *p;
	int n;
	char *out;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	p = sqlite3_column_blob(st, i);
	n = sqlite3_column_bytes(st, i);
	out = malloc((size_t)n + 1);
	if (!out)
		return NULL;
	if (n)
		memcpy(out, p, (size_t)n);
	out[n] = '\0';
	if (ret_len)
		*ret_len = (size_t)n;
	return out;
}

sqlite3_stmt *
al_store_kept_stmt(struct al_store *s, sqlite3_stmt **st, const char *sql)
{
	if (!*st &&
	    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return *st;
}

void
al_store_kept_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int
al_store_generation(struct al_store *s, struct al_store_gen *ret)
{
	sqlite3_stmt *st;
	int r = -EIO;

	pthread_mutex_lock(&s->lock);
	st = al_store_kept_stmt(s, &s->data_version, "PRAGMA data_version");
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		ret->own = sqlite3_total_changes64(s->db);
		ret->others = sqlite3_column_int64(st, 0);
		r = 0;
	}
	if (st)
		al_store_kept_done(st);
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
al_store_collect_rows(struct al_store *s, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *st),
		      const char *what, json_t **ret, struct al_err *err)
{
	json_t *arr = json_array();
	int q;

	if (!arr)
		return al_err_set(err, -ENOMEM, "out of memory");
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = row(st);

		if (!o || json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return al_err_set(err, -ENOMEM, "out of memory");
		}
	}
	if (q != SQLITE_DONE) {
		json_decref(arr);
		return al_store_db_err(s, err, what);
	}
	*ret = arr;
	return 0;
}

int
al_store_transact(struct al_store *s, const char *what, al_store_body_fn body, const void *ctx,
		  struct al_err *err)
{
	int r;

	pthread_mutex_lock(&s->lock);
	if (al_store_exec(s, "BEGIN IMMEDIATE") < 0) {
		r = al_store_db_err(s, err, what);
	} else {
		r = body(s, ctx, err);
		if (r == 0 && al_store_exec(s, "COMMIT") < 0)
			r = al_store_db_err(s, err, what);
		if (r < 0)
			al_store_exec(s, "ROLLBACK");
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}
