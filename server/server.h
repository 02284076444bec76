/* The serving process: shared state of HTTP handlers and scheduler workers. */
#pragma once

#include <limits.h>
#include <pthread.h>

#include "server/config.h"
#include "server/events.h"
#include "server/http.h"
#include "server/intake.h"
#include "server/keyring.h"
#include "server/reply.h"
#include "server/sign.h"
#include "server/store.h"
#include "server/views.h"

#define AL_VERSION "0.1.0"

struct al_server {
	/* owned, one reference; replaced whole on reload: take it with al_live_config() */
	struct al_config *cfg;
	const char *config_path;     /* NULL: built-in defaults */
	const char *listen_override; /* command line; may be NULL */
	const char *data_override;   /* command line; may be NULL */
	struct al_store *store;	     /* owned */
	struct al_signer *signer;    /* owned; replaced under mu on reload, used under mu */
	struct al_keyring *keyring;  /* owned; likewise */
	struct al_http *http;	     /* owned */
	struct al_events *events;    /* owned: live updates for the page */
	char self_exe[PATH_MAX];
	char binary_sha256[65];
	char kernel[128];
	pthread_mutex_t mu;	   /* guards cfg, signer, keyring, draining, config_gen */
	pthread_mutex_t decide_mu; /* one reviewer decision or promotion at a time */
	int draining;		/* under mu: SIGTERM came; reads are served, submissions get 503 */
	struct al_sched *sched; /* owned: workers and their jobs (server/sched.c) */
	struct al_github *github; /* owned: the commit-status poster (server/github.c) */
	struct al_pause *pause;	  /* owned: the kill switch (server/pause.c) */
	struct al_rate *rate;	  /* owned: submissions per principal (server/admit.c) */
	unsigned long config_gen; /* under mu: one more at each reload */
	struct al_views views;	  /* rendered proposal views (server/views.c) */
};

/* API routing (server/api.c). */
void al_api_handle(void *ctx, const struct al_http_req *req, struct al_http_resp *resp);

/* Scheduler (server/sched.c): its workers and what each runs, made before any thread
 * starts (a store change may wake it first). */
struct al_sched;
int al_sched_new(struct al_sched **ret);
void al_sched_free(struct al_sched *s);
int al_sched_start(struct al_server *srv, struct al_err *err);
void al_sched_kick(struct al_server *srv);
/* Stops the job running proposal id, if any (it moved on: superseded, cancelled): its
 * runner is killed and nothing it found is written. */
void al_sched_cancel(struct al_server *srv, const char *id);
/* Stops taking jobs, lets running ones finish for shutdown_grace_s, then kills the rest
 * and puts them back in the queue. */
void al_sched_stop(struct al_server *srv);
/* The kill switch pulled: every running job's runner is killed and the job goes back to the
 * queue (its worker queues it again); how many were running. */
int al_sched_requeue_all(struct al_server *srv);

/* The configuration in force, with a reference the caller gives back with
 * al_live_config_put; a reload never frees a snapshot still in use. */
struct al_config *al_live_config(struct al_server *srv);
void al_live_config_put(struct al_server *srv, struct al_config *c);
/* Fills each repository's policy digest. */
void al_live_digest_policies(struct al_config *c);
/* Opens DATA/signing.key and DATA/keys.json; the key must be the keyring's active one. */
int al_live_keys_open(const char *data_dir, struct al_signer **ret_signer,
		      struct al_keyring **ret_keyring, struct al_err *err);
/* Reads the configuration file, signing key and keyring again; on any error the old
 * ones stay in force. */
int al_live_reload(struct al_server *srv, struct al_err *err);

/* Signs the grant for a proposal that reached tier (1 or 2) under policy repo. */
int al_issue_grant(struct al_server *srv, const struct al_repo_conf *repo,
		   const struct al_proposal *p, const json_t *result, const json_t *verdict,
		   int tier, const json_t *approvals, char **ret_envelope, struct al_err *err);

/* Moves the ref a granted proposal's grant covers (server/promote.c); actor is who asked
 * ("auto" for policy's auto_promote).  0 and the answer, or why not. */
int al_promote_grant(struct al_server *srv, const char *id, const char *actor, json_t **ret,
		     struct al_refusal *refusal);
/* Attaches a stored grant to its candidate commit as a note under refs/notes/airlock. */
void al_issue_note(const struct al_repo_conf *repo, const char *id, const char *commit,
		   const char *envelope);

/* GitHub (server/webhook.c, server/github.c): the webhook intake, and the commit-status
 * outbox's poster. */
#define AL_WEBHOOK_MAX_BODY (25u << 20)
/* A delivery as it came: its headers (each may be NULL) and body. */
struct al_webhook_req {
	const char *event;     /* X-GitHub-Event */
	const char *delivery;  /* X-GitHub-Delivery */
	const char *signature; /* X-Hub-Signature-256 */
	const char *body;
	size_t len;
};
/* 0 with the answer and its status (202 when something was queued or ignored, else 200),
 * or -errno and why. */
int al_webhook_github(struct al_server *srv, const struct al_webhook_req *req, int *ret_status,
		      json_t **ret_answer, struct al_refusal *why);
/* The poster's state, made before any thread starts (al_github_kick may come first). */
struct al_github;
int al_github_new(struct al_github **ret);
void al_github_free(struct al_github *g);
int al_github_start(struct al_server *srv, struct al_err *err);
void al_github_stop(struct al_server *srv);
void al_github_kick(struct al_server *srv);
/* Queues the commit status for a proposal that came from a pull request and moved. */
void al_github_on_change(struct al_server *srv, const char *id, const char *state);
/* At start: queues the status of every pull request whose newest move was never told (the
 * server died between the move and its status).  How many, or -EIO. */
int al_github_reconcile(struct al_server *srv);
/* The proposal's page under public_url ("" without one). */
void al_github_target_url(struct al_server *srv, const char *id, char *out, size_t n);

/* Reviewer decisions (server/decide.c). */
/* Records a reviewer's decision ("approve" or "reject", with the request body), and signs
 * when enough approvals are in: 0, or -errno and why. */
int al_decide_record(struct al_server *srv, const char *id, const char *reviewer,
		     const char *decision, const char *body, size_t len, struct al_refusal *why);
