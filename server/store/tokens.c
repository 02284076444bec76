/* Who may call: the tokens (kept only as the SHA-256 of their secret) and the browser
 * sessions opened with them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/internal.h"

struct token_args {
	const char *name, *role, *hash;
	int *ret_count;
};

static int
token_add_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct token_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char detail[160];

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO tokens(hash, name, role, created) VALUES (?,?,?,?)", -1,
			       &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "token add");
	bind_text(st, 1, a->hash);
	bind_text(st, 2, a->name);
	bind_text(st, 3, a->role);
	sqlite3_bind_int64(st, 4, now_s());
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "token add");
	/* never the secret, nor its hash: the name, the role and a short id to tell tokens of
	 * one name apart */
	snprintf(detail, sizeof(detail), "name=%s role=%s id=%.12s", a->name, a->role, a->hash);
	return al_store_audit_append(s, "cli", "token.add", NULL, detail, err);
}

int
al_store_token_add(struct al_store *s, const char *name, const char *role, const char *hash_hex,
		   struct al_err *err)
{
	return al_store_transact(s, "token add", token_add_body,
				 &(struct token_args){.name = name, .role = role, .hash = hash_hex},
				 err);
}

static json_t *
token_row(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:s*}", "name", sqlite3_column_text(st, 0), "role",
			 sqlite3_column_text(st, 1), "id", sqlite3_column_text(st, 2), "created",
			 (json_int_t)sqlite3_column_int64(st, 3), "quarantined",
			 (const char *)sqlite3_column_text(st, 4));
}

int
al_store_token_list(struct al_store *s, json_t **ret, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT t.name, t.role, substr(t.hash, 1, 12), t.created, q.reason"
			       " FROM tokens t LEFT JOIN quarantines q ON q.name = t.name AND"
			       " q.released IS NULL ORDER BY t.name, t.created",
			       -1, &st, NULL) != SQLITE_OK)
		r = al_store_db_err(s, err, "token list");
	else
		r = al_store_collect_rows(s, st, token_row, "token list", ret, err);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
token_revoke_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct token_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *del = NULL, *orphans = NULL;
	char detail[160];
	int n;

	if (sqlite3_prepare_v2(s->db, "DELETE FROM tokens WHERE name = ?", -1, &del, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "DELETE FROM sessions WHERE token NOT IN (SELECT hash FROM tokens)",
			       -1, &orphans, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "token revoke");
	bind_text(del, 1, a->name);
	if (sqlite3_step(del) != SQLITE_DONE)
		return al_store_db_err(s, err, "token revoke");
	n = sqlite3_changes(s->db);
	if (n == 0)
		return al_err_set(err, -ENOENT, "no token is named %s", a->name);
	if (sqlite3_step(orphans) != SQLITE_DONE)
		return al_store_db_err(s, err, "token revoke");
	*a->ret_count = n;
	snprintf(detail, sizeof(detail), "name=%s tokens=%d", a->name, n);
	return al_store_audit_append(s, "cli", "token.revoke", NULL, detail, err);
}

int
al_store_token_revoke(struct al_store *s, const char *name, int *ret_count, struct al_err *err)
{
	return al_store_transact(s, "token revoke", token_revoke_body,
				 &(struct token_args){.name = name, .ret_count = ret_count}, err);
}

int
al_store_token_find(struct al_store *s, const char *hash_hex, char **ret_name, char **ret_role)
{
	sqlite3_stmt *st;
	int r = -ENOENT;

	pthread_mutex_lock(&s->lock);
	st = al_store_kept_stmt(s, &s->token_find, "SELECT name, role FROM tokens WHERE hash = ?");
	if (!st) {
		r = -EIO;
		goto out;
	}
	bind_text(st, 1, hash_hex);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ret_name = al_store_col_dup(st, 0, NULL);
		*ret_role = al_store_col_dup(st, 1, NULL);
		r = (*ret_name && *ret_role) ? 0 : -ENOMEM;
		if (r < 0) {
			free(*ret_name);
			free(*ret_role);
		}
	}
	al_store_kept_done(st);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

struct session_args {
	const struct al_session *ss;
	const char *hash, *actor;
};

static int
session_add_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct session_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *purge = NULL, *st = NULL;

	if (sqlite3_prepare_v2(s->db, "DELETE FROM sessions WHERE expires <= ?", -1, &purge,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db,
			       "INSERT INTO sessions(hash, token, csrf, created, expires)"
			       " VALUES (?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "session add");
	sqlite3_bind_int64(purge, 1, now_s());
	bind_text(st, 1, a->hash);
	bind_text(st, 2, a->ss->token_hash);
	bind_text(st, 3, a->ss->csrf);
	sqlite3_bind_int64(st, 4, now_s());
	sqlite3_bind_int64(st, 5, a->ss->expires);
	if (sqlite3_step(purge) != SQLITE_DONE || sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "session add");
	return al_store_audit_append(s, a->actor, "session.start", NULL, a->ss->role, err);
}

int
al_store_session_add(struct al_store *s, const char *hash_hex, const struct al_session *ss,
		     struct al_err *err)
{
	return al_store_transact(
	    s, "session add", session_add_body,
	    &(struct session_args){.ss = ss, .hash = hash_hex, .actor = ss->name}, err);
}

int
al_store_session_find(struct al_store *s, const char *hash_hex, struct al_session *ret)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = -ENOENT, q;

	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT t.name, t.role, s.csrf, s.expires, s.token FROM sessions s"
			       " JOIN tokens t ON t.hash = s.token WHERE s.hash = ? AND"
			       " s.expires > ?",
			       -1, &st, NULL) != SQLITE_OK) {
		r = -EIO;
		goto out;
	}
	bind_text(st, 1, hash_hex);
	sqlite3_bind_int64(st, 2, now_s());
	q = sqlite3_step(st);
	if (q == SQLITE_ROW) {
		snprintf(ret->name, sizeof(ret->name), "%s", sqlite3_column_text(st, 0));
		snprintf(ret->role, sizeof(ret->role), "%s", sqlite3_column_text(st, 1));
		snprintf(ret->csrf, sizeof(ret->csrf), "%s", sqlite3_column_text(st, 2));
		ret->expires = sqlite3_column_int64(st, 3);
		snprintf(ret->token_hash, sizeof(ret->token_hash), "%s",
			 sqlite3_column_text(st, 4));
		r = 0;
	} else if (q != SQLITE_DONE) {
		r = -EIO;
	}
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int
session_end_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct session_args *a = ctx;
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db, "DELETE FROM sessions WHERE hash = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return al_store_db_err(s, err, "session end");
	bind_text(st, 1, a->hash);
	if (sqlite3_step(st) != SQLITE_DONE)
		return al_store_db_err(s, err, "session end");
	if (sqlite3_changes(s->db) != 1)
		return al_err_set(err, -ENOENT, "no such session");
	return al_store_audit_append(s, a->actor, "session.end", NULL, NULL, err);
}

int
al_store_session_end(struct al_store *s, const char *hash_hex, const char *actor,
		     struct al_err *err)
{
	return al_store_transact(s, "session end", session_end_body,
				 &(struct session_args){.hash = hash_hex, .actor = actor}, err);
}
