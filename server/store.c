#include "store.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/macros.h"

struct al_store {
	sqlite3 *db;
	pthread_mutex_t lock; /* one connection, one statement sequence at a time */
	al_store_notify_fn notify;
	void *notify_ctx;
	/* prepared once, for the statements of every request (under lock) */
	sqlite3_stmt *data_version;
	sqlite3_stmt *token_find;
};

#define SCHEMA_VERSION 7

/* superseded and cancelled end a pull request's proposal (a newer push, the pull request
 * closed); neither ever carries a grant. */
#define PROPOSALS_TABLE                                                                     \
	" id TEXT PRIMARY KEY, repo TEXT NOT NULL, base TEXT NOT NULL,"                     \
	" state TEXT NOT NULL CHECK (state IN"                                              \
	"  ('queued','running','awaiting_approval','rejected','granted','error',"           \
	"   'superseded','cancelled')),"                                                    \
	" proposer TEXT NOT NULL, patch BLOB NOT NULL, test_patch BLOB,"                    \
	" fail_to_pass TEXT NOT NULL, provenance TEXT NOT NULL,"                            \
	" created INTEGER NOT NULL, updated INTEGER NOT NULL,"                              \
	" base_commit TEXT, candidate_commit TEXT, candidate_tree TEXT,"                    \
	" result TEXT, verdict TEXT, grant_envelope TEXT, error TEXT,"                      \
	" revision INTEGER NOT NULL DEFAULT 1, tier INTEGER, policy_digest TEXT,"           \
	" grant_state TEXT CHECK (grant_state IN ('spent','invalidated')), promotion TEXT," \
	" title TEXT, attempts INTEGER NOT NULL DEFAULT 0,"                                 \
	" CHECK (state = 'granted' OR grant_envelope IS NULL),"                             \
	" CHECK (state <> 'awaiting_approval' OR candidate_tree IS NOT NULL)"

#define PROPOSALS_COLUMNS                                                                    \
	"id, repo, base, state, proposer, patch, test_patch, fail_to_pass, provenance,"      \
	" created, updated, base_commit, candidate_commit, candidate_tree, result, verdict," \
	" grant_envelope, error, revision, tier, policy_digest, grant_state, promotion, title"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS tokens ("
    " hash TEXT PRIMARY KEY, name TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('agent','reviewer','admin')),"
    " created INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS proposals (" PROPOSALS_TABLE ");"
    "CREATE INDEX IF NOT EXISTS proposals_state ON proposals(state, created);"
    "CREATE TABLE IF NOT EXISTS approvals ("
    " proposal TEXT NOT NULL REFERENCES proposals(id), revision INTEGER NOT NULL,"
    " reviewer TEXT NOT NULL, decision TEXT NOT NULL CHECK (decision IN ('approve','reject')),"
    " tree TEXT NOT NULL, comment TEXT, created INTEGER NOT NULL,"
    " PRIMARY KEY (proposal, revision, reviewer));"
    "CREATE TABLE IF NOT EXISTS spent_nonces ("
    " nonce TEXT PRIMARY KEY, proposal TEXT NOT NULL, spent INTEGER NOT NULL);"
    /* a session lives only as long as the token it was opened with */
    "CREATE TABLE IF NOT EXISTS sessions ("
    " hash TEXT PRIMARY KEY, token TEXT NOT NULL, csrf TEXT NOT NULL,"
    " created INTEGER NOT NULL, expires INTEGER NOT NULL);"
    /* each entry's hash covers the previous entry's hash: see audit_hash() */
    "CREATE TABLE IF NOT EXISTS audit ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,"
    " action TEXT NOT NULL, proposal TEXT, detail TEXT, hash TEXT);"
    "CREATE TABLE IF NOT EXISTS audit_head ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_proposal ON audit(proposal, seq);"
    "CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit"
    " BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
    /* GitHub: deliveries seen (idempotency), the pull request behind a proposal, and the
     * commit statuses still to post */
    "CREATE TABLE IF NOT EXISTS deliveries ("
    " id TEXT PRIMARY KEY, event TEXT NOT NULL, outcome TEXT NOT NULL, proposal TEXT,"
    " received INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS github_prs ("
    " proposal TEXT PRIMARY KEY REFERENCES proposals(id), full_name TEXT NOT NULL,"
    " number INTEGER NOT NULL, head TEXT NOT NULL, author TEXT NOT NULL,"
    " told TEXT);" /* STATE/GRANT_STATE its newest queued status was for */
    "CREATE TABLE IF NOT EXISTS status_outbox ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, proposal TEXT NOT NULL, full_name TEXT NOT NULL,"
    " sha TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN"
    "  ('pending','success','failure','error')), description TEXT NOT NULL,"
    " target_url TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL,"
    " done INTEGER NOT NULL DEFAULT 0, last_error TEXT);"
    "CREATE INDEX IF NOT EXISTS status_due ON status_outbox(done, next_at);";

/* Versions 5 and 6 did not keep which state a pull request's last status told: taken to
 * be the state it is in (it was told before the upgrade). */
static const char migrate_v7[] =
    "ALTER TABLE github_prs ADD COLUMN told TEXT;"
    "UPDATE github_prs SET told = (SELECT state || '/' || coalesce(grant_state, '')"
    " FROM proposals WHERE id = github_prs.proposal);";

/* Versions 4 and 5 kept the audit log without its hash chain: the column is added and the
 * existing entries chained (audit_rechain) before the triggers are made again. */
static const char migrate_v5_audit[] =
    "DROP TRIGGER IF EXISTS audit_no_update;"
    "ALTER TABLE audit ADD COLUMN hash TEXT;"
    "CREATE TABLE IF NOT EXISTS audit_head ("
    " id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,"
    " hash TEXT NOT NULL);";

/* Versions 2 to 5 had a state CHECK without superseded and cancelled: the table is built
 * again under its new definition, with foreign keys off (approvals and github_prs point at
 * it by name). */
static const char migrate_v5[] =
    "CREATE TABLE proposals_v6 (" PROPOSALS_TABLE ");"
    "INSERT INTO proposals_v6(" PROPOSALS_COLUMNS ") SELECT " PROPOSALS_COLUMNS " FROM proposals;"
    "DROP TABLE proposals;"
    "ALTER TABLE proposals_v6 RENAME TO proposals;";

/* Version 3 lacked titles (sessions, the audit log and, from version 5, the GitHub tables
 * are new tables, in schema). */
static const char migrate_v3[] = "ALTER TABLE proposals ADD COLUMN title TEXT;";

/* Version 2 lacked the grant's single use: two columns, one table (in schema). */
static const char migrate_v2[] = "ALTER TABLE proposals ADD COLUMN grant_state TEXT"
				 " CHECK (grant_state IN ('spent','invalidated'));"
				 "ALTER TABLE proposals ADD COLUMN promotion TEXT;";

/* Version 1 had no revisions, tiers or approvals, and a state CHECK without
 * awaiting_approval: its rows move into the new table in one transaction. */
static const char migrate_v1[] = "ALTER TABLE proposals RENAME TO proposals_v1;"
				 "DROP INDEX IF EXISTS proposals_state;";
static const char migrate_v1_copy[] =
    "INSERT INTO proposals(id, repo, base, state, proposer, patch, test_patch, fail_to_pass,"
    " provenance, created, updated, base_commit, candidate_commit, candidate_tree, result,"
    " verdict, grant_envelope, error)"
    " SELECT id, repo, base, state, proposer, patch, test_patch, fail_to_pass, provenance,"
    " created, updated, base_commit, candidate_commit, candidate_tree, result, verdict,"
    " grant_envelope, error FROM proposals_v1;"
    "DROP TABLE proposals_v1;";

static int
db_err(struct al_store *s, struct al_err *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);
	int e = -EIO;

	if (code == SQLITE_CONSTRAINT_PRIMARYKEY || code == SQLITE_CONSTRAINT_UNIQUE)
		e = -EEXIST;
	else if ((code & 0xff) == SQLITE_CONSTRAINT)
		e = -EINVAL;
	else if ((code & 0xff) == SQLITE_BUSY)
		e = -EBUSY;
	else if ((code & 0xff) == SQLITE_FULL)
		e = -ENOSPC;
	else if ((code & 0xff) == SQLITE_NOMEM)
		e = -ENOMEM;

	return al_err_set(err, e, "store: %s: %s", what, sqlite3_errmsg(s->db));
}

static long long
now_s(void)
{
	return (long long)time(NULL);
}

/* Tells the server's listener that a committed change moved proposal id (to state). */
static void
notify(struct al_store *s, const char *id, const char *state)
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

static int
int_query(struct al_store *s, const char *sql, long long *ret)
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

static int
exec_sql(struct al_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

static int audit_rechain(struct al_store *s);

/* Creates or upgrades the tables; an upgrade either completes or leaves the old version
 * whole. */
static int
schema_install(struct al_store *s)
{
	long long version = 0, old = 0, prs = 0; /* prs: github_prs without told */

	if (int_query(s, "PRAGMA user_version", &version) < 0 ||
	    int_query(s,
		      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
		      " name = 'proposals'",
		      &old) < 0 ||
	    int_query(s,
		      "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
		      " name = 'github_prs' AND NOT EXISTS (SELECT 1 FROM"
		      " pragma_table_info('github_prs') WHERE name = 'told')",
		      &prs) < 0)
		return -EIO;
	if (version >= SCHEMA_VERSION)
		return exec_sql(s, schema);
	/* a no-op inside a transaction, so before it; al_store_open turns them on after */
	if (exec_sql(s, "PRAGMA foreign_keys=OFF") < 0 || exec_sql(s, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	if ((old && version == 0 && exec_sql(s, migrate_v1) < 0) ||
	    (version == 2 && exec_sql(s, migrate_v2) < 0) ||
	    ((version == 2 || version == 3) && exec_sql(s, migrate_v3) < 0) ||
	    (old && version >= 2 && exec_sql(s, migrate_v5) < 0) ||
	    (old && version >= 4 && (exec_sql(s, migrate_v5_audit) < 0 || audit_rechain(s) < 0)) ||
	    (prs && exec_sql(s, migrate_v7) < 0) || exec_sql(s, schema) < 0 ||
	    (old && version == 0 && exec_sql(s, migrate_v1_copy) < 0) ||
	    exec_sql(s, "PRAGMA user_version = " AL_STRINGIFY(SCHEMA_VERSION)) < 0 ||
	    exec_sql(s, "COMMIT") < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	return 0;
}

int
al_store_open(const char *path, struct al_store **ret, struct al_err *err)
{
	struct al_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return al_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
			    NULL) != SQLITE_OK) {
		r = al_err_set(err, -EIO, "store: %s: %s", path,
			       s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    schema_install(s) < 0 ||
	    sqlite3_exec(s->db, "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK) {
		r = db_err(s, err, path);
		goto fail;
	}
	*ret = s;
	return 0;
fail:
	al_store_close(s);
	return r;
}

void
al_store_close(struct al_store *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->data_version);
	sqlite3_finalize(s->token_find);
	sqlite3_close(s->db);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void
finalizep(sqlite3_stmt **st)
{
	sqlite3_finalize(*st);
}
#define _cleanup_stmt_ _cleanup_(finalizep)

static void
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

int
al_store_token_add(struct al_store *s, const char *name, const char *role, const char *hash_hex,
		   struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r = 0;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO tokens(hash, name, role, created) VALUES (?,?,?,?)", -1,
			       &st, NULL) != SQLITE_OK) {
		r = db_err(s, err, "token add");
		goto out;
	}
	bind_text(st, 1, hash_hex);
	bind_text(st, 2, name);
	bind_text(st, 3, role);
	sqlite3_bind_int64(st, 4, now_s());
	if (sqlite3_step(st) != SQLITE_DONE)
		r = db_err(s, err, "token add");
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

static char *
col_dup(sqlite3_stmt *st, int i, size_t *ret_len)
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

/* *st, prepared on first use and kept (under lock); reset for its next use by the caller.
 * NULL when it cannot be prepared. */
static sqlite3_stmt *
kept_stmt(struct al_store *s, sqlite3_stmt **st, const char *sql)
{
	if (!*st &&
	    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return *st;
}

static void
kept_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int
al_store_token_find(struct al_store *s, const char *hash_hex, char **ret_name, char **ret_role)
{
	sqlite3_stmt *st;
	int r = -ENOENT;

	pthread_mutex_lock(&s->lock);
	st = kept_stmt(s, &s->token_find, "SELECT name, role FROM tokens WHERE hash = ?");
	if (!st) {
		r = -EIO;
		goto out;
	}
	bind_text(st, 1, hash_hex);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*ret_name = col_dup(st, 0, NULL);
		*ret_role = col_dup(st, 1, NULL);
		r = (*ret_name && *ret_role) ? 0 : -ENOMEM;
		if (r < 0) {
			free(*ret_name);
			free(*ret_role);
		}
	}
	kept_done(st);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

int
al_store_generation(struct al_store *s, struct al_store_gen *ret)
{
	sqlite3_stmt *st;
	int r = -EIO;

	pthread_mutex_lock(&s->lock);
	st = kept_stmt(s, &s->data_version, "PRAGMA data_version");
	if (st && sqlite3_step(st) == SQLITE_ROW) {
		ret->own = sqlite3_total_changes64(s->db);
		ret->others = sqlite3_column_int64(st, 0);
		r = 0;
	}
	if (st)
		kept_done(st);
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int transact(struct al_store *s, const char *what,
		    int (*body)(struct al_store *, const void *, struct al_err *), const void *ctx,
		    struct al_err *err);
static int collect_rows(struct al_store *s, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *st),
			const char *what, json_t **ret, struct al_err *err);
static int audit_append(struct al_store *s, const char *actor, const char *action,
			const char *proposal, const char *detail, struct al_err *err);

static int
insert_proposal(struct al_store *s, const struct al_proposal *p, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO proposals(id, repo, base, state, proposer, patch,"
			       " test_patch, fail_to_pass, provenance, created, updated, title)"
			       " VALUES (?,?,?,'queued',?,?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "proposal insert");
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
		return db_err(s, err, "proposal insert");
	return 0;
}

static int
insert_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct al_proposal *p = ctx;
	char detail[600];
	int r = insert_proposal(s, p, err);

	if (r < 0)
		return r;
	snprintf(detail, sizeof(detail), "repository %s, base %s", p->repo, p->base);
	return audit_append(s, p->proposer, "proposal.submitted", p->id, detail, err);
}

int
al_store_proposal_insert(struct al_store *s, const struct al_proposal *p, struct al_err *err)
{
	int r = transact(s, "proposal insert", insert_body, p, err);

	if (r == 0)
		notify(s, p->id, "queued");
	return r;
}

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
		return db_err(s, err, "delivery");
	bind_text(st, 1, id);
	bind_text(st, 2, event);
	bind_text(st, 3, outcome);
	bind_text(st, 4, proposal);
	sqlite3_bind_int64(st, 5, now_s());
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, "delivery");
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
	return transact(s, "delivery", delivery_body,
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
		return db_err(s, err, "status");
	bind_text(st, 1, proposal);
	bind_text(st, 2, full_name);
	bind_text(st, 3, sha);
	bind_text(st, 4, state);
	bind_text(st, 5, description);
	bind_text(st, 6, target_url);
	sqlite3_bind_int64(st, 7, now_s());
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, "status");
	/* what the pull request was told, in the same transaction: a start after a crash
	 * queues what it missed (al_store_status_untold) */
	if (sqlite3_prepare_v2(s->db, "UPDATE github_prs SET told = ? WHERE proposal = ?", -1,
			       &mark, NULL) != SQLITE_OK)
		return db_err(s, err, "status");
	bind_text(mark, 1, told);
	bind_text(mark, 2, proposal);
	if (sqlite3_step(mark) != SQLITE_DONE)
		return db_err(s, err, "status");
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
		return db_err(s, err, "pull request");
	bind_text(sel, 1, a->pr->full_name);
	sqlite3_bind_int64(sel, 2, a->pr->number);
	bind_text(sel, 3, keep);
	while ((q = sqlite3_step(sel)) == SQLITE_ROW)
		json_array_append_new(rows, json_pack("[ss]", sqlite3_column_text(sel, 0),
						      sqlite3_column_text(sel, 1)));
	if (q != SQLITE_DONE)
		return db_err(s, err, "pull request");
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
			return db_err(s, err, "pull request");
		r = audit_append(s, "github", granted ? "grant.invalidated" : state, id, why, err);
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
	    (r = insert_proposal(s, a->p, err)) < 0 ||
	    (r = end_earlier(s, a, "superseded", why, err)) < 0)
		return r;
	snprintf(why, sizeof(why), "pull request %s#%lld, head %s, author %s, delivery %s",
		 pr->full_name, pr->number, pr->head, pr->author, pr->delivery);
	if ((r = audit_append(s, "github", "proposal.submitted", a->p->id, why, err)) < 0)
		return r;
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO github_prs(proposal, full_name, number, head, author)"
			       " VALUES (?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "pull request");
	bind_text(st, 1, a->p->id);
	bind_text(st, 2, pr->full_name);
	sqlite3_bind_int64(st, 3, pr->number);
	bind_text(st, 4, pr->head);
	bind_text(st, 5, pr->author);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, "pull request");
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
		notify(s, json_string_value(id), state);
	json_array_foreach (e->invalidated, i, id)
		notify(s, json_string_value(id), "granted");
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
	r = transact(s, "pull request", pr_body, &(struct pr_args){p, pr, ret}, err);
	if (r < 0) {
		al_pr_ended_clear(ret);
		return r;
	}
	if (p)
		notify(s, p->id, "queued");
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
		return db_err(s, err, "base moved");
	bind_text(st, 1, a->repo);
	bind_text(st, 2, a->before);
	bind_text(st, 3, why);
	sqlite3_bind_int64(st, 4, now_s());
	while ((q = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(a->ids,
				      json_string((const char *)sqlite3_column_text(st, 0)));
	if (q != SQLITE_DONE)
		return db_err(s, err, "base moved");
	json_array_foreach (a->ids, i, id)
		if ((r = audit_append(s, "github", "grant.invalidated", json_string_value(id), why,
				      err)) < 0)
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
	r = transact(s, "base moved", moved_body,
		     &(struct moved_args){delivery, repo, ref, before, ids}, err);
	if (r < 0) {
		json_decref(ids);
		return r;
	}
	json_array_foreach (ids, i, id)
		notify(s, json_string_value(id), "granted");
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
		return db_err(s, err, "status");
	bind_text(st, 1, a->proposal);
	q = sqlite3_step(st);
	if (q == SQLITE_DONE)
		return -ENOENT;
	if (q != SQLITE_ROW)
		return db_err(s, err, "status");
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
	return transact(s, "status", status_body,
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
		r = db_err(s, err, "status untold");
	else
		r = collect_rows(s, st, pair_row, "status untold", ret, err);
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
		r = db_err(s, err, "pull requests on base");
	} else {
		bind_text(st, 1, repo);
		bind_text(st, 2, base);
		r = collect_rows(s, st, pr_row, "pull requests on base", ret, err);
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
			       "UPDATE status_outbox SET done = 2 WHERE done = 0 AND seq <"
			       " (SELECT max(seq) FROM status_outbox o WHERE o.full_name ="
			       " status_outbox.full_name AND o.sha = status_outbox.sha)",
			       -1, &old, NULL) != SQLITE_OK ||
	    sqlite3_step(old) != SQLITE_DONE ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT seq, proposal, full_name, sha, state, description,"
			       " target_url, attempts FROM status_outbox WHERE done = 0 AND"
			       " next_at <= ? ORDER BY seq LIMIT 32",
			       -1, &st, NULL) != SQLITE_OK) {
		r = db_err(s, err, "status due");
	} else {
		sqlite3_bind_int64(st, 1, now);
		r = collect_rows(s, st, status_row, "status due", ret, err);
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
		r = db_err(s, err, "status settle");
	} else {
		sqlite3_bind_int64(st, 1, seq);
		sqlite3_bind_int(st, 2, delivered ? 1 : 0);
		sqlite3_bind_int64(st, 3, next_at);
		bind_text(st, 4, error);
		if (sqlite3_step(st) != SQLITE_DONE)
			r = db_err(s, err, "status settle");
	}
	pthread_mutex_unlock(&s->lock);
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
	p->repo = col_dup(st, 1, NULL);
	p->base = col_dup(st, 2, NULL);
	p->state = col_dup(st, 3, NULL);
	p->proposer = col_dup(st, 4, NULL);
	p->patch = col_dup(st, 5, &p->patch_len);
	p->test_patch = col_dup(st, 6, &p->test_patch_len);
	p->fail_to_pass = col_dup(st, 7, NULL);
	p->provenance = col_dup(st, 8, NULL);
	p->created = sqlite3_column_int64(st, 9);
	p->updated = sqlite3_column_int64(st, 10);
	p->base_commit = col_dup(st, 11, NULL);
	p->candidate_commit = col_dup(st, 12, NULL);
	p->candidate_tree = col_dup(st, 13, NULL);
	p->result = col_dup(st, 14, NULL);
	p->verdict = col_dup(st, 15, NULL);
	p->grant = col_dup(st, 16, NULL);
	p->error = col_dup(st, 17, NULL);
	p->revision = sqlite3_column_int64(st, 18);
	p->tier = sqlite3_column_type(st, 19) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 19);
	p->policy_digest = col_dup(st, 20, NULL);
	p->grant_state = col_dup(st, 21, NULL);
	p->promotion = col_dup(st, 22, NULL);
	p->title = col_dup(st, 23, NULL);
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
		r = db_err(s, err, "proposal get");
		goto out;
	}
	bind_text(st, 1, id);
	q = sqlite3_step(st);
	if (q == SQLITE_ROW)
		r = proposal_from_row(st, ret);
	else if (q != SQLITE_DONE)
		r = db_err(s, err, "proposal get");
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

/* Steps a prepared statement to its end, one JSON object per row. Called locked. */
static int
collect_rows(struct al_store *s, sqlite3_stmt *st, json_t *(*row)(sqlite3_stmt *st),
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
		return db_err(s, err, what);
	}
	*ret = arr;
	return 0;
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

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT id, repo, base, state, proposer, created, updated, revision,"
			       " tier, title FROM proposals WHERE (?1 IS NULL OR state = ?1)"
			       " ORDER BY created DESC, rowid DESC LIMIT ?2",
			       -1, &st, NULL) != SQLITE_OK) {
		r = db_err(s, err, "proposal list");
	} else {
		bind_text(st, 1, state);
		sqlite3_bind_int(st, 2, (int)limit);
		r = collect_rows(s, st, summary_row, "proposal list", ret, err);
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
			       " ORDER BY created, rowid LIMIT 1) RETURNING id, revision, attempts",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "claim");
	sqlite3_bind_int64(st, 1, now_s());
	q = sqlite3_step(st);
	if (q == SQLITE_DONE)
		return -ENOENT;
	if (q != SQLITE_ROW)
		return db_err(s, err, "claim");
	snprintf(id, 33, "%s", (const char *)sqlite3_column_text(st, 0));
	snprintf(detail, sizeof(detail), "revision %lld, attempt %lld",
		 (long long)sqlite3_column_int64(st, 1), (long long)sqlite3_column_int64(st, 2));
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, "claim");
	return audit_append(s, "scheduler", "job.started", id, detail, err);
}

long long
al_store_count_queued(struct al_store *s)
{
	long long n = -1;

	pthread_mutex_lock(&s->lock);
	if (int_query(s, "SELECT count(*) FROM proposals WHERE state = 'queued'", &n) < 0)
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
		r = db_err(s, err, "counts");
	} else {
		while ((q = sqlite3_step(st)) == SQLITE_ROW)
			json_object_set_new(o, (const char *)sqlite3_column_text(st, 0),
					    json_integer(sqlite3_column_int64(st, 1)));
		if (q != SQLITE_DONE)
			r = db_err(s, err, "counts");
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		json_decref(o);
	else
		*ret = o;
	return r;
}

int
al_store_claim_next(struct al_store *s, char ret_id[33], struct al_err *err)
{
	int r = transact(s, "claim", claim_body, ret_id, err);

	if (r == 0)
		notify(s, ret_id, "running");
	return r;
}

/* body(s, ctx, err) inside BEGIN IMMEDIATE ... COMMIT, rolled back whole on any error. */
static int
transact(struct al_store *s, const char *what,
	 int (*body)(struct al_store *, const void *, struct al_err *), const void *ctx,
	 struct al_err *err)
{
	int r;

	pthread_mutex_lock(&s->lock);
	if (exec_sql(s, "BEGIN IMMEDIATE") < 0) {
		r = db_err(s, err, what);
	} else {
		r = body(s, ctx, err);
		if (r == 0 && exec_sql(s, "COMMIT") < 0)
			r = db_err(s, err, what);
		if (r < 0)
			exec_sql(s, "ROLLBACK");
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

struct finish_args {
	const char *id;
	const struct al_outcome *o;
};

/* The gates' result (or the error) and the grant when one was issued, inside the caller's
 * transaction. */
static int
audit_outcome(struct al_store *s, const char *actor, const char *id, const char *state, int tier,
	      const char *verdict, const char *error, const char *grant, const char *tree,
	      struct al_err *err)
{
	json_t *v = verdict ? json_loads(verdict, 0, NULL) : NULL;
	const char *reason = json_string_value(json_object_get(v, "reason"));
	char action[48], detail[1200];
	int r;

	snprintf(action, sizeof(action), "%s.%s", strcmp(state, "error") ? "gates" : "job", state);
	if (error)
		snprintf(detail, sizeof(detail), "%s", error);
	else
		snprintf(detail, sizeof(detail), "tier %d: %s", tier, reason ? reason : state);
	json_decref(v);
	r = audit_append(s, actor, action, id, detail, err);
	if (r == 0 && grant) {
		unsigned char md[crypto_hash_sha256_BYTES];
		char hex[65];

		crypto_hash_sha256(md, (const unsigned char *)grant, strlen(grant));
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		snprintf(detail, sizeof(detail), "tier %d, tree %s, envelope sha256 %s", tier,
			 tree ? tree : "?", hex);
		r = audit_append(s, actor, "grant.issued", id, detail, err);
	}
	return r;
}

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
		return db_err(s, err, "finish");
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
		return db_err(s, err, "finish");
	if (sqlite3_changes(s->db) != 1)
		return al_err_set(err, -ESTALE, "store: proposal %s is not running", a->id);
	return audit_outcome(s, "scheduler", a->id, o->state, o->tier, o->verdict, o->error,
			     o->grant, o->candidate_tree, err);
}

int
al_store_finish(struct al_store *s, const char *id, const struct al_outcome *o, struct al_err *err)
{
	int r = transact(s, "finish", finish_body, &(struct finish_args){id, o}, err);

	if (r == 0)
		notify(s, id, o->state);
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
		return db_err(s, err, "requeue");
	while ((q = sqlite3_step(sel)) == SQLITE_ROW)
		json_array_append_new(a->moved,
				      json_pack("[sI]", sqlite3_column_text(sel, 0),
						(json_int_t)sqlite3_column_int64(sel, 1)));
	if (q != SQLITE_DONE)
		return db_err(s, err, "requeue");
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
			return db_err(s, err, "requeue");
		r = audit_append(s, "recovery", give_up ? "job.error" : "job.requeued", id, why,
				 err);
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
	r = transact(s, "requeue", requeue_body, &(struct requeue_args){max_attempts, moved}, err);
	if (r < 0)
		return r;
	json_array_foreach (moved, i, row)
		notify(s, json_string_value(json_array_get(row, 0)),
		       json_string_value(json_array_get(row, 1)));
	return (int)json_array_size(moved);
}

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
		r = db_err(s, err, "approvals");
	} else {
		bind_text(st, 1, id);
		r = collect_rows(s, st, decision_row, "approvals", ret, err);
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
		return db_err(s, err, "decide");
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
		return db_err(s, err, "decide");
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
		return db_err(s, err, "decide");
	bind_text(st, 1, id);
	bind_text(st, 2, d->state);
	sqlite3_bind_int64(st, 3, now_s());
	bind_text(st, 4, d->verdict);
	bind_text(st, 5, d->grant);
	sqlite3_bind_int(st, 6, d->tier);
	sqlite3_bind_int64(st, 7, d->revision);
	bind_text(st, 8, d->tree);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, "decide");
	if (sqlite3_changes(s->db) != 1)
		return al_err_set(err, -ESTALE,
				  "the proposal changed: it is no longer awaiting approval of "
				  "revision %lld",
				  d->revision);
	return 0;
}

/* An audit entry's hash: SHA-256 over a fixed tag, the previous entry's hash (64 hex; 64
 * zeros for the first) and each field as a netstring ("LEN:BYTES,", "~" for none), so
 * that no field can bleed into the next. */
static void
audit_hash(const char *prev, long long seq, long long at, const char *actor, const char *action,
	   const char *proposal, const char *detail, char out[65])
{
	static const char tag[] = "airlock-audit-v1\n";
	crypto_hash_sha256_state st;
	unsigned char md[crypto_hash_sha256_BYTES];
	char num[2][24];
	const char *f[] = {num[0], num[1], actor, action, proposal, detail};

	snprintf(num[0], sizeof(num[0]), "%lld", seq);
	snprintf(num[1], sizeof(num[1]), "%lld", at);
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)tag, sizeof(tag) - 1);
	crypto_hash_sha256_update(&st, (const unsigned char *)prev, 64);
	for (size_t i = 0; i < AL_ARRAY_SIZE(f); i++) {
		char len[24];
		int n = f[i] ? snprintf(len, sizeof(len), "%zu:", strlen(f[i]))
			     : snprintf(len, sizeof(len), "~");

		crypto_hash_sha256_update(&st, (const unsigned char *)len, (size_t)n);
		if (f[i]) {
			crypto_hash_sha256_update(&st, (const unsigned char *)f[i], strlen(f[i]));
			crypto_hash_sha256_update(&st, (const unsigned char *)",", 1);
		}
	}
	crypto_hash_sha256_final(&st, md);
	sodium_bin2hex(out, 65, md, sizeof(md));
}

static const char audit_genesis[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* The chain's head (the last entry's seq and hash), or seq 0 and the genesis hash. */
static int
audit_head(struct al_store *s, long long *seq, char hash[65])
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int q;

	*seq = 0;
	memcpy(hash, audit_genesis, 65);
	if (sqlite3_prepare_v2(s->db, "SELECT seq, hash FROM audit_head WHERE id = 1", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	q = sqlite3_step(st);
	if (q == SQLITE_ROW && sqlite3_column_bytes(st, 1) == 64) {
		*seq = sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_text(st, 1), 65);
	}
	return q == SQLITE_ROW || q == SQLITE_DONE ? 0 : -EIO;
}

static int
audit_set_head(struct al_store *s, long long seq, const char *hash)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v2(s->db,
			       "INSERT OR REPLACE INTO audit_head(id, seq, hash) VALUES (1,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, seq);
	bind_text(st, 2, hash);
	return sqlite3_step(st) == SQLITE_DONE ? 0 : -EIO;
}

/* Chains the entries a version 4 or 5 database kept (inside the upgrade). */
static int
audit_rechain(struct al_store *s)
{
	_cleanup_stmt_ sqlite3_stmt *sel = NULL, *up = NULL;
	char prev[65], h[65];
	long long seq = 0;
	int q;

	memcpy(prev, audit_genesis, 65);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT seq, at, actor, action, proposal, detail FROM audit"
			       " ORDER BY seq",
			       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(s->db, "UPDATE audit SET hash = ? WHERE seq = ?", -1, &up, NULL) !=
		SQLITE_OK)
		return -EIO;
	while ((q = sqlite3_step(sel)) == SQLITE_ROW) {
		/* dense from 1: the triggers never let an entry go */
		seq = sqlite3_column_int64(sel, 0);
		audit_hash(prev, seq, sqlite3_column_int64(sel, 1),
			   (const char *)sqlite3_column_text(sel, 2),
			   (const char *)sqlite3_column_text(sel, 3),
			   (const char *)sqlite3_column_text(sel, 4),
			   (const char *)sqlite3_column_text(sel, 5), h);
		sqlite3_reset(up);
		bind_text(up, 1, h);
		sqlite3_bind_int64(up, 2, seq);
		if (sqlite3_step(up) != SQLITE_DONE)
			return -EIO;
		memcpy(prev, h, 65);
	}
	if (q != SQLITE_DONE)
		return -EIO;
	return seq ? audit_set_head(s, seq, prev) : 0;
}

/* One audit entry, inside the caller's transaction: the next seq after the chain's head,
 * its hash over the head's. */
static int
audit_append(struct al_store *s, const char *actor, const char *action, const char *proposal,
	     const char *detail, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	long long seq, at = now_s();
	char prev[65], h[65];

	if (audit_head(s, &seq, prev) < 0)
		return db_err(s, err, "audit");
	seq++;
	audit_hash(prev, seq, at, actor, action, proposal, detail, h);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO audit(seq, at, actor, action, proposal, detail, hash)"
			       " VALUES (?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return db_err(s, err, "audit");
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, at);
	bind_text(st, 3, actor);
	bind_text(st, 4, action);
	bind_text(st, 5, proposal);
	bind_text(st, 6, detail);
	bind_text(st, 7, h);
	if (sqlite3_step(st) != SQLITE_DONE || audit_set_head(s, seq, h) < 0)
		return db_err(s, err, "audit");
	return 0;
}

struct note_args {
	const char *actor, *action, *proposal, *detail;
};

static int
note_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct note_args *a = ctx;

	return audit_append(s, a->actor, a->action, a->proposal, a->detail, err);
}

int
al_store_audit_note(struct al_store *s, const char *actor, const char *action, const char *proposal,
		    const char *detail, struct al_err *err)
{
	return transact(s, "audit", note_body, &(struct note_args){actor, action, proposal, detail},
			err);
}

/* 1 when the entry after seq chains to prev under seq's number: the entry at seq is one
 * that slipped in, the next one the original renumbered. */
static int
next_chains_to(struct al_store *s, long long seq, const char *prev)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char h[65];

	if (sqlite3_prepare_v2(s->db,
			       "SELECT at, actor, action, proposal, detail, hash FROM audit"
			       " WHERE seq > ? ORDER BY seq LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_int64(st, 1, seq);
	if (sqlite3_step(st) != SQLITE_ROW || !sqlite3_column_text(st, 5))
		return 0;
	audit_hash(prev, seq, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		   (const char *)sqlite3_column_text(st, 2),
		   (const char *)sqlite3_column_text(st, 3),
		   (const char *)sqlite3_column_text(st, 4), h);
	return !strcmp(h, (const char *)sqlite3_column_text(st, 5));
}

/* The first break in the chain, walking from the first entry: an entry whose hash does
 * not cover its content and the entry before it (modified), one the next entry skips
 * over (inserted), a gap in seq (deleted), or a chain that ends before its recorded head
 * (deleted at the end). */
int
al_store_audit_verify(struct al_store *s, struct al_audit_report *ret, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char prev[65], prev2[65], h[65], alt[65], head_hash[65];
	long long prev_seq = 0, head_seq = 0;
	int q, r = 0;

	memset(ret, 0, sizeof(*ret));
	memcpy(prev, audit_genesis, 65);
	memcpy(prev2, audit_genesis, 65);
	pthread_mutex_lock(&s->lock);
	if (audit_head(s, &head_seq, head_hash) < 0 ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT seq, at, actor, action, proposal, detail, hash FROM audit"
			       " ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK) {
		r = db_err(s, err, "audit verify");
		goto out;
	}
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		long long seq = sqlite3_column_int64(st, 0), at = sqlite3_column_int64(st, 1);
		const char *actor = (const char *)sqlite3_column_text(st, 2);
		const char *action = (const char *)sqlite3_column_text(st, 3);
		const char *proposal = (const char *)sqlite3_column_text(st, 4);
		const char *detail = (const char *)sqlite3_column_text(st, 5);
		const char *stored = (const char *)sqlite3_column_text(st, 6);

		ret->entries++;
		audit_hash(prev, seq, at, actor, action, proposal, detail, h);
		if (stored && !strcmp(stored, h) && seq == prev_seq + 1) {
			memcpy(prev2, prev, 65);
			memcpy(prev, h, 65);
			prev_seq = seq;
			continue;
		}
		ret->broken = true;
		ret->seq = seq;
		if (seq > head_seq) {
			snprintf(ret->what, sizeof(ret->what), "inserted after the chain's head");
		} else if (seq != prev_seq + 1) {
			ret->seq = prev_seq + 1;
			snprintf(ret->what, sizeof(ret->what),
				 "deleted (the chain jumps from %lld to %lld)", prev_seq, seq);
		} else if (stored && prev_seq > 0 &&
			   (audit_hash(prev2, seq - 1, at, actor, action, proposal, detail, alt),
			    !strcmp(stored, alt))) {
			/* it still chains to the entry before the one before it, under its old
			 * number: that one slipped in (and the rest were renumbered) */
			ret->seq = prev_seq;
			snprintf(ret->what, sizeof(ret->what), "inserted");
		} else if (next_chains_to(s, seq, prev)) {
			snprintf(ret->what, sizeof(ret->what), "inserted");
		} else {
			snprintf(ret->what, sizeof(ret->what), "modified");
		}
		goto out;
	}
	if (q != SQLITE_DONE) {
		r = db_err(s, err, "audit verify");
		goto out;
	}
	if (prev_seq != head_seq || strcmp(prev, head_hash)) {
		ret->broken = true;
		ret->seq = prev_seq + 1;
		snprintf(ret->what, sizeof(ret->what),
			 "deleted (the chain ends at %lld; its head is at %lld)", prev_seq,
			 head_seq);
		goto out;
	}
	memcpy(ret->head, prev, 65);
out:
	pthread_mutex_unlock(&s->lock);
	return r;
}

static json_t *
audit_row(sqlite3_stmt *st)
{
	return json_pack(
	    "{s:I, s:I, s:s, s:s, s:s?, s:s?}", "seq", (json_int_t)sqlite3_column_int64(st, 0),
	    "at", (json_int_t)sqlite3_column_int64(st, 1), "actor", sqlite3_column_text(st, 2),
	    "action", sqlite3_column_text(st, 3), "proposal", sqlite3_column_text(st, 4), "detail",
	    sqlite3_column_text(st, 5));
}

int
al_store_audit_list(struct al_store *s, const char *proposal, unsigned limit, json_t **ret,
		    struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int r;

	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db,
			       "SELECT seq, at, actor, action, proposal, detail FROM"
			       " (SELECT * FROM audit WHERE (?1 IS NULL OR proposal = ?1)"
			       " ORDER BY seq DESC LIMIT ?2) ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK) {
		r = db_err(s, err, "audit list");
	} else {
		bind_text(st, 1, proposal);
		sqlite3_bind_int(st, 2, (int)limit);
		r = collect_rows(s, st, audit_row, "audit list", ret, err);
	}
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
		return db_err(s, err, "session add");
	sqlite3_bind_int64(purge, 1, now_s());
	bind_text(st, 1, a->hash);
	bind_text(st, 2, a->ss->token_hash);
	bind_text(st, 3, a->ss->csrf);
	sqlite3_bind_int64(st, 4, now_s());
	sqlite3_bind_int64(st, 5, a->ss->expires);
	if (sqlite3_step(purge) != SQLITE_DONE || sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, "session add");
	return audit_append(s, a->actor, "session.start", NULL, a->ss->role, err);
}

int
al_store_session_add(struct al_store *s, const char *hash_hex, const struct al_session *ss,
		     struct al_err *err)
{
	return transact(s, "session add", session_add_body,
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
		return db_err(s, err, "session end");
	bind_text(st, 1, a->hash);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, "session end");
	if (sqlite3_changes(s->db) != 1)
		return al_err_set(err, -ENOENT, "no such session");
	return audit_append(s, a->actor, "session.end", NULL, NULL, err);
}

int
al_store_session_end(struct al_store *s, const char *hash_hex, const char *actor,
		     struct al_err *err)
{
	return transact(s, "session end", session_end_body,
			&(struct session_args){.hash = hash_hex, .actor = actor}, err);
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
	r = audit_append(s, d->reviewer, d->decision, a->id, detail, err);
	if (r == 0 && strcmp(d->state, "awaiting_approval"))
		r = audit_outcome(s, d->reviewer, a->id, d->state, d->tier, d->verdict, NULL,
				  d->grant, d->tree, err);
	return r;
}

int
al_store_decide(struct al_store *s, const char *id, const struct al_decision *d, struct al_err *err)
{
	int r = transact(s, "decide", decide_body, &(struct decide_args){id, d}, err);

	if (r == 0)
		notify(s, id, d->state);
	return r;
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
		return db_err(s, err, "revise");
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
		return db_err(s, err, "revise");
	*a->revision = sqlite3_column_int64(st, 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, "revise");
	snprintf(detail, sizeof(detail), "revision %lld", *a->revision);
	return audit_append(s, p->proposer, "proposal.revised", p->id, detail, err);
}

int
al_store_revise(struct al_store *s, const struct al_proposal *p, long long *ret_revision,
		struct al_err *err)
{
	int r = transact(s, "revise", revise_body, &(struct revise_args){p, ret_revision}, err);

	if (r == 0)
		notify(s, p->id, "queued");
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
		return db_err(s, err, "spend");
	bind_text(up, 1, a->id);
	sqlite3_bind_int64(up, 2, now_s());
	if (sqlite3_step(up) != SQLITE_DONE)
		return db_err(s, err, "spend");
	if (sqlite3_changes(s->db) != 1)
		return al_err_set(err, -EALREADY, "grant already used or invalidated");
	bind_text(ins, 1, a->nonce);
	bind_text(ins, 2, a->id);
	sqlite3_bind_int64(ins, 3, now_s());
	if (sqlite3_step(ins) == SQLITE_DONE)
		return 0;
	if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		return al_err_set(err, -EALREADY, "grant nonce already used");
	return db_err(s, err, "spend");
}

int
al_store_grant_spend(struct al_store *s, const char *id, const char *nonce, struct al_err *err)
{
	int r =
	    transact(s, "spend", spend_body, &(struct spend_args){.id = id, .nonce = nonce}, err);

	if (r == 0)
		notify(s, id, "granted");
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
	r = audit_append(s, by ? by : "promote", action, a->id, detail, err);
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
		return db_err(s, err, "settle");
	bind_text(st, 1, a->id);
	bind_text(st, 2, a->grant_state);
	bind_text(st, 3, a->promotion);
	sqlite3_bind_int64(st, 4, now_s());
	bind_text(del, 1, a->id);
	if (sqlite3_step(st) != SQLITE_DONE || (a->unspend && sqlite3_step(del) != SQLITE_DONE))
		return db_err(s, err, "settle");
	return audit_promotion(s, a, err);
}

int
al_store_grant_settle(struct al_store *s, const char *id, const char *grant_state,
		      const char *promotion, bool unspend, struct al_err *err)
{
	int r = transact(
	    s, "settle", settle_body,
	    &(struct spend_args){
		.id = id, .grant_state = grant_state, .promotion = promotion, .unspend = unspend},
	    err);

	if (r == 0)
		notify(s, id, "granted");
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
		return db_err(s, err, "regate");
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, now_s());
	q = sqlite3_step(st);
	if (q == SQLITE_DONE)
		return al_err_set(err, -ESTALE, "proposal %s is not an invalidated grant", id);
	if (q != SQLITE_ROW)
		return db_err(s, err, "regate");
	snprintf(detail, sizeof(detail), "revision %lld, on the new base",
		 (long long)sqlite3_column_int64(st, 0));
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_err(s, err, "regate");
	return audit_append(s, "promote", "proposal.regated", id, detail, err);
}

int
al_store_regate(struct al_store *s, const char *id, struct al_err *err)
{
	int r = transact(s, "regate", regate_body, id, err);

	if (r == 0)
		notify(s, id, "queued");
	return r;
}
