/* The audit log: entries appended inside the transaction of the change they record, each
 * hashed over the one before it, and the walk that finds the first entry at fault. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "server/store/internal.h"

int
al_store_audit_outcome(struct al_store *s, const char *actor, const char *id, const char *state,
		       int tier, const char *verdict, const char *error, const char *grant,
		       const char *tree, struct al_err *err)
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
	r = al_store_audit_append(s, actor, action, id, detail, err);
	if (r == 0 && grant) {
		unsigned char md[crypto_hash_sha256_BYTES];
		char hex[AL_STORE_HASH_SIZE];

		crypto_hash_sha256(md, (const unsigned char *)grant, strlen(grant));
		sodium_bin2hex(hex, sizeof(hex), md, sizeof(md));
		snprintf(detail, sizeof(detail), "tier %d, tree %s, envelope sha256 %s", tier,
			 tree ? tree : "?", hex);
		r = al_store_audit_append(s, actor, "grant.issued", id, detail, err);
	}
	return r;
}

/* An audit entry's hash: SHA-256 over a fixed tag, the previous entry's hash (64 hex; 64
 * zeros for the first) and each field as a netstring ("LEN:BYTES,", "~" for none), so
 * that no field can bleed into the next. */
static void
audit_hash(const char *prev, long long seq, long long at, const char *actor, const char *action,
	   const char *proposal, const char *detail, char out[AL_STORE_HASH_SIZE])
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
	crypto_hash_sha256_update(&st, (const unsigned char *)prev, AL_STORE_HASH_HEX);
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
	sodium_bin2hex(out, AL_STORE_HASH_SIZE, md, sizeof(md));
}

static const char audit_genesis[AL_STORE_HASH_SIZE] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* The chain's head (the last entry's seq and hash), or seq 0 and the genesis hash. */
static int
audit_head(struct al_store *s, long long *seq, char hash[AL_STORE_HASH_SIZE])
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	int q;

	*seq = 0;
	memcpy(hash, audit_genesis, AL_STORE_HASH_SIZE);
	if (sqlite3_prepare_v2(s->db, "SELECT seq, hash FROM audit_head WHERE id = 1", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	q = sqlite3_step(st);
	if (q == SQLITE_ROW && sqlite3_column_bytes(st, 1) == AL_STORE_HASH_HEX) {
		*seq = sqlite3_column_int64(st, 0);
		memcpy(hash, sqlite3_column_text(st, 1), AL_STORE_HASH_SIZE);
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

int
al_store_audit_rechain(struct al_store *s)
{
	_cleanup_stmt_ sqlite3_stmt *sel = NULL, *up = NULL;
	char prev[AL_STORE_HASH_SIZE], h[AL_STORE_HASH_SIZE];
	long long seq = 0;
	int q;

	memcpy(prev, audit_genesis, AL_STORE_HASH_SIZE);
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
		memcpy(prev, h, AL_STORE_HASH_SIZE);
	}
	if (q != SQLITE_DONE)
		return -EIO;
	return seq ? audit_set_head(s, seq, prev) : 0;
}

int
al_store_audit_append(struct al_store *s, const char *actor, const char *action,
		      const char *proposal, const char *detail, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	long long seq, at = now_s();
	char prev[AL_STORE_HASH_SIZE], h[AL_STORE_HASH_SIZE];

	if (audit_head(s, &seq, prev) < 0)
		return al_store_db_err(s, err, "audit");
	seq++;
	audit_hash(prev, seq, at, actor, action, proposal, detail, h);
	if (sqlite3_prepare_v2(s->db,
			       "INSERT INTO audit(seq, at, actor, action, proposal, detail, hash)"
			       " VALUES (?,?,?,?,?,?,?)",
			       -1, &st, NULL) != SQLITE_OK)
		return al_store_db_err(s, err, "audit");
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, at);
	bind_text(st, 3, actor);
	bind_text(st, 4, action);
	bind_text(st, 5, proposal);
	bind_text(st, 6, detail);
	bind_text(st, 7, h);
	if (sqlite3_step(st) != SQLITE_DONE || audit_set_head(s, seq, h) < 0)
		return al_store_db_err(s, err, "audit");
	return 0;
}

struct note_args {
	const char *actor, *action, *proposal, *detail;
};

static int
note_body(struct al_store *s, const void *ctx, struct al_err *err)
{
	const struct note_args *a = ctx;

	return al_store_audit_append(s, a->actor, a->action, a->proposal, a->detail, err);
}

int
al_store_audit_note(struct al_store *s, const char *actor, const char *action, const char *proposal,
		    const char *detail, struct al_err *err)
{
	return al_store_transact(s, "audit", note_body,
				 &(struct note_args){actor, action, proposal, detail}, err);
}

/* 1 when the entry after seq chains to prev under seq's number: the entry at seq is one
 * that slipped in, the next one the original renumbered. */
static int
next_chains_to(struct al_store *s, long long seq, const char *prev)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	char h[AL_STORE_HASH_SIZE];

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

/* An entry as the walk reads it: seq, at, actor, action, proposal, detail, hash. */
struct audit_entry {
	long long seq, at;
	const char *actor, *action, *proposal, *detail, *stored;
};

/* Where a walk along the chain stands: the last two good hashes, the last good seq and
 * the head the chain records. */
struct audit_walk {
	char prev[AL_STORE_HASH_SIZE], prev2[AL_STORE_HASH_SIZE];
	long long prev_seq, head_seq;
};

static void
audit_entry_read(sqlite3_stmt *st, struct audit_entry *e)
{
	e->seq = sqlite3_column_int64(st, 0);
	e->at = sqlite3_column_int64(st, 1);
	e->actor = (const char *)sqlite3_column_text(st, 2);
	e->action = (const char *)sqlite3_column_text(st, 3);
	e->proposal = (const char *)sqlite3_column_text(st, 4);
	e->detail = (const char *)sqlite3_column_text(st, 5);
	e->stored = (const char *)sqlite3_column_text(st, 6);
}

/* What happened at e, the first entry that does not chain to the walk's last good one. */
static void
audit_fault(struct al_store *s, const struct audit_walk *w, const struct audit_entry *e,
	    struct al_audit_report *ret)
{
	char alt[AL_STORE_HASH_SIZE];

	ret->broken = true;
	ret->seq = e->seq;
	if (e->seq > w->head_seq) {
		snprintf(ret->what, sizeof(ret->what), "inserted after the chain's head");
	} else if (e->seq != w->prev_seq + 1) {
		ret->seq = w->prev_seq + 1;
		snprintf(ret->what, sizeof(ret->what),
			 "deleted (the chain jumps from %lld to %lld)", w->prev_seq, e->seq);
	} else if (e->stored && w->prev_seq > 0 &&
		   (audit_hash(w->prev2, e->seq - 1, e->at, e->actor, e->action, e->proposal,
			       e->detail, alt),
		    !strcmp(e->stored, alt))) {
		/* it still chains to the entry before the one before it, under its old
		 * number: that one slipped in (and the rest were renumbered) */
		ret->seq = w->prev_seq;
		snprintf(ret->what, sizeof(ret->what), "inserted");
	} else if (next_chains_to(s, e->seq, w->prev)) {
		snprintf(ret->what, sizeof(ret->what), "inserted");
	} else {
		snprintf(ret->what, sizeof(ret->what), "modified");
	}
}

/* The first break in the chain, walking from the first entry: an entry whose hash does
 * not cover its content and the entry before it (modified), one the next entry skips
 * over (inserted), a gap in seq (deleted), or a chain that ends before its recorded head
 * (deleted at the end). */
int
al_store_audit_verify(struct al_store *s, struct al_audit_report *ret, struct al_err *err)
{
	_cleanup_stmt_ sqlite3_stmt *st = NULL;
	struct audit_walk w = {.prev_seq = 0};
	struct audit_entry e;
	char h[AL_STORE_HASH_SIZE], head_hash[AL_STORE_HASH_SIZE];
	int q, r = 0;

	memset(ret, 0, sizeof(*ret));
	memcpy(w.prev, audit_genesis, AL_STORE_HASH_SIZE);
	memcpy(w.prev2, audit_genesis, AL_STORE_HASH_SIZE);
	pthread_mutex_lock(&s->lock);
	if (audit_head(s, &w.head_seq, head_hash) < 0 ||
	    sqlite3_prepare_v2(s->db,
			       "SELECT seq, at, actor, action, proposal, detail, hash FROM audit"
			       " ORDER BY seq",
			       -1, &st, NULL) != SQLITE_OK) {
		r = al_store_db_err(s, err, "audit verify");
		goto out;
	}
	while ((q = sqlite3_step(st)) == SQLITE_ROW) {
		audit_entry_read(st, &e);
		ret->entries++;
		audit_hash(w.prev, e.seq, e.at, e.actor, e.action, e.proposal, e.detail, h);
		if (!e.stored || strcmp(e.stored, h) || e.seq != w.prev_seq + 1) {
			audit_fault(s, &w, &e, ret);
			goto out;
		}
		memcpy(w.prev2, w.prev, AL_STORE_HASH_SIZE);
		memcpy(w.prev, h, AL_STORE_HASH_SIZE);
		w.prev_seq = e.seq;
	}
	if (q != SQLITE_DONE) {
		r = al_store_db_err(s, err, "audit verify");
		goto out;
	}
	if (w.prev_seq != w.head_seq || strcmp(w.prev, head_hash)) {
		ret->broken = true;
		ret->seq = w.prev_seq + 1;
		snprintf(ret->what, sizeof(ret->what),
			 "deleted (the chain ends at %lld; its head is at %lld)", w.prev_seq,
			 w.head_seq);
		goto out;
	}
	memcpy(ret->head, w.prev, AL_STORE_HASH_SIZE);
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
		r = al_store_db_err(s, err, "audit list");
	} else {
		bind_text(st, 1, proposal);
		sqlite3_bind_int(st, 2, (int)limit);
		r = al_store_collect_rows(s, st, audit_row, "audit list", ret, err);
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}
