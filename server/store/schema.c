/* Opening the store: the connection, the schema of a new database and the upgrades that
 * bring every older version to it in one transaction. */
#include <errno.h>
#include <stdlib.h>

#include "gates/quarantine.h"
#include "server/store/internal.h"

#define SCHEMA_VERSION 9

/* an anomaly's count columns, one for each kind, named as the policy's keys */
#define ANOMALY_COL_SQL(id, key, def, what) " " key " INTEGER NOT NULL,"

/* 'queued','running',…: the states a proposal may be in, from the one list (store.h). */
#define STATE_SQL(id, name) "'" name "'"
#define PROPOSAL_STATES_SQL AL_PROPOSAL_STATES(STATE_SQL, ",")

/* superseded and cancelled end a pull request's proposal (a newer push, the pull request
 * closed); neither ever carries a grant. */
#define PROPOSALS_TABLE                                                                     \
	" id TEXT PRIMARY KEY, repo TEXT NOT NULL, base TEXT NOT NULL,"                     \
	" state TEXT NOT NULL CHECK (state IN (" PROPOSAL_STATES_SQL ")),"                  \
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
    "CREATE INDEX IF NOT EXISTS status_due ON status_outbox(done, next_at);"
    /* automatic quarantine (new in version 8): what each finished job counted for against its
     * proposer, and the names quarantined (released ones keep their row: released_seq is the last
     * anomaly an admin forgave) */
    "CREATE TABLE IF NOT EXISTS anomalies ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, at INTEGER NOT NULL,"
    " proposal TEXT," AL_ANOMALY_KINDS(
	ANOMALY_COL_SQL) " calls TEXT);"
			 "CREATE INDEX IF NOT EXISTS anomalies_name ON anomalies(name, at);"
			 "CREATE TABLE IF NOT EXISTS quarantines ("
			 " name TEXT PRIMARY KEY, reason TEXT NOT NULL, at INTEGER NOT NULL, by "
			 "TEXT NOT NULL,"
			 " released INTEGER, released_by TEXT, released_seq INTEGER NOT NULL "
			 "DEFAULT 0);";

/* Versions 5 and 6 did not keep which state a pull request's last status told: taken to
 * be the state it is in (it was told before the upgrade). */
/* Version 9 counts denied egress: a column more for anomalies made by version 8. */
static const char migrate_v9[] = "ALTER TABLE anomalies ADD COLUMN egress_jobs INTEGER NOT "
				 "NULL DEFAULT 0;";

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

int
al_store_schema_install(struct al_store *s)
{
	long long version = 0, old = 0, prs = 0; /* prs: github_prs without told */

	if (al_store_int_query(s, "PRAGMA user_version", &version) < 0 ||
	    al_store_int_query(s,
			       "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
			       " name = 'proposals'",
			       &old) < 0 ||
	    al_store_int_query(s,
			       "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
			       " name = 'github_prs' AND NOT EXISTS (SELECT 1 FROM"
			       " pragma_table_info('github_prs') WHERE name = 'told')",
			       &prs) < 0)
		return -EIO;
	if (version >= SCHEMA_VERSION)
		return al_store_exec(s, schema);
	/* a no-op inside a transaction, so before it; al_store_open turns them on after */
	if (al_store_exec(s, "PRAGMA foreign_keys=OFF") < 0 ||
	    al_store_exec(s, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	if ((old && version == 0 && al_store_exec(s, migrate_v1) < 0) ||
	    (version == 2 && al_store_exec(s, migrate_v2) < 0) ||
	    ((version == 2 || version == 3) && al_store_exec(s, migrate_v3) < 0) ||
	    (old && version >= 2 && version < 8 && al_store_exec(s, migrate_v5) < 0) ||
	    (old && version >= 4 && version < 8 &&
	     (al_store_exec(s, migrate_v5_audit) < 0 || al_store_audit_rechain(s) < 0)) ||
	    (prs && al_store_exec(s, migrate_v7) < 0) ||
	    (version == 8 && al_store_exec(s, migrate_v9) < 0) || al_store_exec(s, schema) < 0 ||
	    (old && version == 0 && al_store_exec(s, migrate_v1_copy) < 0) ||
	    al_store_exec(s, "PRAGMA user_version = " AL_STRINGIFY(SCHEMA_VERSION)) < 0 ||
	    al_store_exec(s, "COMMIT") < 0) {
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	return 0;
}

/* How long a statement waits for another connection's write lock (the CLI's) before it
 * fails with -EBUSY. */
#define STORE_BUSY_TIMEOUT_MS 5000

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
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	if (sqlite3_exec(s->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    al_store_schema_install(s) < 0 ||
	    sqlite3_exec(s->db, "PRAGMA foreign_keys=ON;", NULL, NULL, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, path);
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
