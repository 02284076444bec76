/* Admission (server/admit.c): body caps, queue cap, submission rate, draining. */
#pragma once

#include <jansson.h>

#include "lib/err.h"
#include "server/config.h"
#include "server/http.h"

struct al_server;
/* The submission rate of each principal. */
struct al_rate;

int al_admit_rate_new(struct al_rate **ret);
void al_admit_rate_free(struct al_rate *r);

typedef int (*al_admit_intake)(const char *body, size_t len, json_t **ret, struct al_err *err);
/* The request body as JSON that passed intake (server/intake.c) and the caps; NULL when
 * it did not, with the 400 written ("malformed JSON", or error and the first problem). */
json_t *al_admit_body(const struct al_http_req *req, const struct al_limits *lim,
		      al_admit_intake intake, const char *error, struct al_http_resp *resp);
/* 1 while the server stops (SIGTERM came). */
int al_admit_draining(struct al_server *srv);
/* 0, or -EAGAIN with 503 written while the server is paused ("paused: REASON") or stops
 * (with Retry-After). */
int al_admit_refuse_draining(struct al_server *srv, struct al_http_resp *resp);
/* 0 when principal may submit now; -EAGAIN with 503 while the server stops, -EPERM with
 * 403 "quarantined: REASON" while principal is quarantined, or -EAGAIN with 429 and
 * Retry-After when the queue is full or the principal is over its rate. */
int al_admit_submission(struct al_server *srv, const struct al_limits *lim, const char *principal,
			struct al_http_resp *resp);
