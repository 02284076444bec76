/* The in-toto Statement inside a grant: building it and checking it after the signature. */
#pragma once

#include <jansson.h>
#include <time.h>

#include "lib/err.h"

#define AL_STATEMENT_TYPE "https://in-toto.io/Statement/v1"
#define AL_PREDICATE_TYPE "https://airlock.dev/grant/v1"

struct al_grant_input {
	const char *proposal_id;
	const char *repo;
	const char *base;
	const char *base_commit;
	const char *candidate_commit;
	const char *candidate_tree;
	const char *patch_sha256;
	const char *test_patch_sha256; /* may be NULL */
	const char *policy_sha256;
	const json_t *verdict;	  /* {"rules": [...]} */
	const json_t *result;	  /* runner result, for run records */
	const json_t *provenance; /* object */
	const char *binary_sha256;
	const char *sandbox_profile_sha256;
	const char *kernel;
	const char *image_digest;  /* the environment's image, or NULL: the host's own */
	const char *setup_key;	   /* the setup layer the runs stacked on, or NULL */
	const char *authority;	   /* "none", "write" or "merge" */
	const char *authority_ref; /* NULL or "" with none */
	const json_t *approvals;   /* [{"reviewer","revision","tree","created"}], or NULL */
	int tier;
	time_t issued_at;
	long lifetime_s;
	const char *nonce; /* 32 hex */
	const char *verifier_version;
};

/* What a verifier may require beyond the signature. */
struct al_grant_binding {
	const char *repo;   /* may be NULL */
	const char *ref;    /* may be NULL */
	const char *commit; /* may be NULL */
	/* where the ref is now (40 zeros: nowhere), or NULL: a merge grant holds only while
	 * the ref is at its baseCommit, a write grant only for a ref that does not exist */
	const char *old;
};

/* Serialised statement (compact, sorted keys); caller frees. */
int al_grant_statement(const struct al_grant_input *in, char **ret, struct al_err *err);
/* Checks a signature-verified payload; returns an AL_VERIFY_* value (0 valid) and, when
 * valid, the parsed statement. */
int al_grant_check(const char *payload, size_t len, time_t now, const struct al_grant_binding *b,
		   json_t **ret_statement, struct al_err *err);
int al_grant_time_format(time_t t, char out[32]);
