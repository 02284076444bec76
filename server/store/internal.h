/* What the files of the SQLite store share and nothing outside server/store/ sees: the
 * connection, statement and transaction helpers, and the audit entry written inside a
 * transaction.  Only server/store/ includes sqlite3.h; another engine would put its own
 * files behind server/store.h and share none of this. */
#pragma once

#include <pthread.h>
#include <sqlite3.h>
#include <time.h>

#include "lib/macros.h"
#include "server/store.h"

struct al_store {
	sqlite3 *db;
	pthread_mutex_t lock; /* one connection, one statement sequence at a time */
	al_store_notify_fn notify;
	void *notify_ctx;
	/* prepared once, for the statements of every request (under lock) */
	sqlite3_stmt *data_version;
	sqlite3_stmt *token_find;
};

/* A SHA-256 in hex, and with its NUL: the audit chain's hashes. */
#define AL_STORE_HASH_HEX 64
#define AL_STORE_HASH_SIZE (AL_STORE_HASH_HEX + 1)

/* The body of a transaction: runs locked, inside BEGIN IMMEDIATE ... COMMIT. */
typedef int (*al_store_body_fn)(struct al_store *s, const void *ctx, struct al_err *err);

static inline long long
now_s(void)
{
	return (long long)time(NULL);
}

static inline void
finalizep(sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}
#define _cleanup_stmt_ _cleanup_(finalizep)

static inline void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* core.c */

/* The connection's last error as -errno (-EEXIST for a duplicate key, -EINVAL for another
 * constraint, -EBUSY, -ENOSPC, -ENOMEM, else -EIO), with "store: what: message" in err. */
int al_store_db_err(struct al_store *s, struct al_err *err, const char *what);
/* Tells the server's listener that a committed change moved proposal id (to state). */
void al_store_tell(struct al_store *s, const char *id, const char *state);
/* The first column of the first row of sql; -EIO when there is none. Called locked. */
int al_store_int_query(struct al_store *s, const char *sql, long long *ret);
/* Runs sql (one or more statements); -EIO on failure. Called locked. */
int al_store_exec(struct al_store *s, const char *sql);
/* body(s, ctx, err) inside BEGIN IMMEDIATE ... COMMIT, rolled back whole on any error. */
int al_store_transact(struct al_store *s, const char *what, al_store_body_fn body, const void *ctx,
		      struct al_err *err);
/* Steps a prepared statement to its end, one JSON object per row. Called locked. */
int al_store_collect_rows(struct al_store *s, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *st),
			  const char *what, json_t **ret, struct al_err *err);
/* Column i as a NUL-terminated copy (its length in *ret_len); NULL for SQL NULL or when
 * out of memory. */
char *al_store_col_dup(sqlite3_stmt *st, int i, size_t *ret_len);
/* *st, prepared on first use and kept (under lock); reset for its next use with
 * al_store_kept_done.  NULL when it cannot be prepared. */
sqlite3_stmt *al_store_kept_stmt(struct al_store *s, sqlite3_stmt **st, const char *sql);
void al_store_kept_done(sqlite3_stmt *st);

/* schema.c */

/* Creates or upgrades the tables; an upgrade either completes or leaves the old version
 * whole. */
int al_store_schema_install(struct al_store *s);

/* proposals.c */

/* Inserts p as a queued proposal, inside the caller's transaction. */
int al_store_proposal_row_insert(struct al_store *s, const struct al_proposal *p,
				 struct al_err *err);

/* audit.c */

/* One audit entry, inside the caller's transaction: the next seq after the chain's head,
 * its hash over the head's. */
int al_store_audit_append(struct al_store *s, const char *actor, const char *action,
			  const char *proposal, const char *detail, struct al_err *err);
/* The gates' result (or the error) and the grant when one was issued, inside the caller's
 * transaction. */
int al_store_audit_outcome(struct al_store *s, const char *actor, const char *id, const char *state,
			   int tier, const char *verdict, const char *error, const char *grant,
			   const char *tree, struct al_err *err);
/* Chains the entries a version 4 or 5 database kept (inside the upgrade). */
int al_store_audit_rechain(struct al_store *s);
