/* Durable state in SQLite (the only file that includes sqlite3.h). */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

struct al_store;

struct al_proposal {
	char id[33];
	char *repo;	/* owned */
	char *base;	/* owned */
	char *state;	/* owned: queued, running, rejected, granted, error */
	char *proposer; /* owned */
	char *patch;	/* owned */
	size_t patch_len;
	char *test_patch; /* owned, may be NULL */
	size_t test_patch_len;
	char *fail_to_pass; /* owned, JSON text */
	char *provenance;   /* owned, JSON text */
	long long created;
	long long updated;
	char *base_commit;	/* owned, may be NULL */
	char *candidate_commit; /* owned, may be NULL */
	char *candidate_tree;	/* owned, may be NULL */
	char *result;		/* owned, runner result JSON text, may be NULL */
	char *verdict;		/* owned, JSON text, may be NULL */
	char *grant;		/* owned, DSSE envelope JSON text, may be NULL */
	char *error;		/* owned, may be NULL */
};

/* The outcome of a job, written in one transaction. */
struct al_outcome {
	const char *state;
	const char *base_commit;
	const char *candidate_commit;
	const char *candidate_tree;
	const char *result;
	const char *verdict;
	const char *grant;
	const char *error;
};

int al_store_open(const char *path, struct al_store **ret, struct al_err *err);
void al_store_close(struct al_store *s);

int al_store_token_add(struct al_store *s, const char *name, const char *role, const char *hash_hex,
		       struct al_err *err);
/* -ENOENT when no token has this hash. */
int al_store_token_find(struct al_store *s, const char *hash_hex, char **ret_name, char **ret_role);

int al_store_proposal_insert(struct al_store *s, const struct al_proposal *p, struct al_err *err);
/* -ENOENT when there is none. */
int al_store_proposal_get(struct al_store *s, const char *id, struct al_proposal **ret,
			  struct al_err *err);
void al_proposal_free(struct al_proposal *p);
/* Summaries {"id","repo","base","state","proposer","created","updated"}, newest first. */
int al_store_proposal_list(struct al_store *s, const char *state, unsigned limit, json_t **ret,
			   struct al_err *err);
/* Moves the oldest queued proposal to running; -ENOENT when none is queued. */
int al_store_claim_next(struct al_store *s, char ret_id[33], struct al_err *err);
/* Finishes a running proposal; -ESTALE when it was not running. */
int al_store_finish(struct al_store *s, const char *id, const struct al_outcome *o,
		    struct al_err *err);
/* Puts proposals a crash left running back in the queue; returns how many. */
int al_store_requeue_running(struct al_store *s, struct al_err *err);

static inline void
al_proposal_freep(struct al_proposal **p)
{
	al_proposal_free(*p);
}
