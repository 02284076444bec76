/* The HTTP listener (the libmicrohttpd adapter). Handlers see plain structs. */
#pragma once

#include <stddef.h>

#include "lib/err.h"

struct al_http;
struct al_http_req;

struct al_http_resp {
	int status;
	char *body; /* owned */
	size_t len;
	const char *content_type; /* static; default application/json */
	char *location;		  /* owned, may be NULL */
};

typedef void (*al_http_handler)(void *ctx, const struct al_http_req *req,
				struct al_http_resp *resp);

const char *al_http_method(const struct al_http_req *req);
const char *al_http_path(const struct al_http_req *req);
const char *al_http_header(const struct al_http_req *req, const char *name);
const char *al_http_query(const struct al_http_req *req, const char *key);
const char *al_http_body(const struct al_http_req *req, size_t *ret_len);

/* Bodies over max_body are answered 413 before the handler sees them. */
int al_http_start(const char *listen, size_t max_body, al_http_handler h, void *ctx,
		  struct al_http **ret, struct al_err *err);
void al_http_stop(struct al_http *h);
