/* What a handler answers: a JSON body with its status, or a refusal (status and one-line
 * detail) that the router turns into the JSON error reply.  Handlers fill these; only the
 * router (server/api.c) and the code it calls to write replies touch al_http_resp. */
#pragma once

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>

#include "server/http.h"

/* Why a request was refused: its HTTP status, the error's name (NULL: named after the
 * status) and a one-line detail. */
struct al_refusal {
	int status;
	const char *error;
	char detail[512];
};

/* Fills r; returns -EINVAL so that callers can `return al_reply_refuse(...)`. */
static inline __attribute__((format(printf, 3, 4))) int
al_reply_refuse(struct al_refusal *r, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
	r->status = status;
	return -EINVAL;
}

/* status and body (taken: its reference is given up), or a 500 when it cannot be written. */
void al_reply_json(struct al_http_resp *resp, int status, json_t *body);
/* {"error": error, "detail": detail} with status. */
void al_reply_error(struct al_http_resp *resp, int status, const char *error, const char *detail);
/* The JSON error reply for r: its error name, or one from its status ("bad request",
 * "forbidden", "not found", "conflict", ...); a refusal without a status is a 500. */
void al_reply_refusal(struct al_http_resp *resp, const struct al_refusal *r);
