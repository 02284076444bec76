/* Untrusted request bodies made into checked values, with no I/O: the proposal body of
 * POST /v1/proposals and of its revisions, and GitHub webhook deliveries.  The HTTP
 * handlers (server/api.c, server/webhook.c) keep authentication, the store and git;
 * tests/fuzz/fuzz_proposal.c and fuzz_webhook.c drive these functions directly. */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

#define AL_MAX_PATCH_BYTES (4u << 20)
#define AL_MAX_FAIL_TO_PASS 64
#define AL_TITLE_MAX 200
#define AL_BASE_MAX 256
#define AL_PROVENANCE_FIELD_MAX 200
#define AL_GITHUB_BRANCH_MAX 200
#define AL_GITHUB_LOGIN_MAX 39
#define AL_GITHUB_TOKEN_MAX 64
#define AL_GITHUB_NUMBER_MAX 1000000000

static inline void
al_json_decrefp(json_t **j)
{
	json_decref(*j);
}

/* A proposal body: 0 and the parsed object (ret, the caller's reference) whose fields
 * passed every check; -EBADMSG when the body is not JSON (err: the parser's one-line
 * reason; the reply is "malformed JSON"); -EINVAL when it is not an acceptable proposal
 * (err: the first problem, one line).  Known fields: repo, base, patch, test_patch,
 * fail_to_pass, provenance, title. */
int al_intake_proposal(const char *body, size_t len, json_t **ret, struct al_err *err);
/* Likewise for a revision, whose known fields are patch, test_patch and fail_to_pass. */
int al_intake_revision(const char *body, size_t len, json_t **ret, struct al_err *err);

enum al_github_kind {
	AL_GITHUB_PING,
	AL_GITHUB_IGNORED,	/* see reason */
	AL_GITHUB_PULL_REQUEST, /* opened, reopened or synchronize: gate the head */
	AL_GITHUB_CLOSED,	/* a pull request closed */
	AL_GITHUB_PUSH,		/* a branch moved */
};

/* A delivery's checked fields; which are set depends on kind. */
struct al_github_event {
	enum al_github_kind kind;
	const char *reason; /* AL_GITHUB_IGNORED: why, a static string */
	long long number;   /* pull requests: 1..AL_GITHUB_NUMBER_MAX */
	char action[12];    /* AL_GITHUB_PULL_REQUEST */
	char head[41];	    /* AL_GITHUB_PULL_REQUEST: 40 lowercase hex */
	char base_ref[AL_GITHUB_BRANCH_MAX + 1];
	char login[AL_GITHUB_LOGIN_MAX + 1];
	char title[AL_TITLE_MAX + 1];	     /* one line, cut on a character; may be "" */
	json_t *fail_to_pass;		     /* owned: array of test ids, AL_GITHUB_PULL_REQUEST */
	char ref[AL_GITHUB_BRANCH_MAX + 12]; /* AL_GITHUB_PUSH: "refs/heads/" and a branch */
	char before[41], after[41];	     /* AL_GITHUB_PUSH */
};

void al_intake_event_clear(struct al_github_event *ev);

/* The X-GitHub-Event and X-GitHub-Delivery headers: 0 when both are short tokens, or
 * -EINVAL with err set. */
int al_intake_github_headers(const char *event, const char *delivery, struct al_err *err);

/* A delivery of event for the repository full_name: 0 and ret filled (clear it with
 * al_intake_event_clear); -EBADMSG when the body is not a JSON object ("malformed JSON");
 * -EINVAL when it is a bad request (err: one line).  ret is untouched on failure. */
int al_intake_github(const char *event, const char *body, size_t len, const char *full_name,
		     struct al_github_event *ret, struct al_err *err);

/* jansson's message for a body it refused, made one line of valid UTF-8 (it quotes bytes
 * of the input and may cut a character in two): -EBADMSG with it in err. */
int al_intake_json_error(const json_error_t *jerr, struct al_err *err);
