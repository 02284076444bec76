/* The serving process: shared state of HTTP handlers and scheduler workers. */
#pragma once

#include <limits.h>
#include <pthread.h>

#include "server/config.h"
#include "server/http.h"
#include "server/sign.h"
#include "server/store.h"

#define AL_VERSION "0.1.0"
#define AL_MAX_PATCH_BYTES (4u << 20)
#define AL_MAX_FAIL_TO_PASS 64
#define AL_OUTPUT_CAP (1u << 20)
#define AL_GRANT_LIFETIME_S (24 * 3600)

struct al_server {
	struct al_config *cfg;	  /* owned */
	struct al_store *store;	  /* owned */
	struct al_signer *signer; /* owned */
	struct al_http *http;	  /* owned */
	char self_exe[PATH_MAX];
	char binary_sha256[65];
	char kernel[128];
	char **policy_digests; /* owned, one per cfg->repos entry */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;
	pthread_t *workers; /* owned */
	unsigned n_workers;
};

/* API routing (server/api.c). */
void al_api_handle(void *ctx, const struct al_http_req *req, struct al_http_resp *resp);

/* Scheduler (server/sched.c). */
int al_sched_start(struct al_server *srv, struct al_err *err);
void al_sched_kick(struct al_server *srv);
void al_sched_stop(struct al_server *srv);
const char *al_server_policy_digest(const struct al_server *srv, const char *repo);
