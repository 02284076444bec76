/* The HTTP listener (the libmicrohttpd adapter). Handlers see plain structs. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"

struct al_http;
struct al_http_req;
struct al_http_stream;

/* A streamed body: fill writes up to max bytes into buf and returns how many; 0 when it
 * has nothing yet, after calling al_http_stream_park(st) under a lock of its own that
 * al_http_stream_wake(st) is also called under; below 0 to end the stream.  done is
 * called once when the connection is finished with the stream. */
struct al_http_streamer {
	ssize_t (*fill)(void *ctx, struct al_http_stream *st, char *buf, size_t max);
	void (*done)(void *ctx, struct al_http_stream *st);
	void *ctx;
};

struct al_http_resp {
	int status;
	char *body; /* owned */
	size_t len;
	const char *content_type;	/* static; default application/json */
	int retry_after;		/* seconds, for a 429 or 503; 0: none */
	char *location;			/* owned, may be NULL */
	char *set_cookie;		/* owned, may be NULL */
	char *disposition;		/* owned, may be NULL: Content-Disposition */
	const char *cache;		/* static; default no-store */
	struct al_http_streamer stream; /* fill set: the body is streamed, body unused */
};

/* Parks a stream until al_http_stream_wake; only from inside its fill. */
void al_http_stream_park(struct al_http_stream *st);
/* Wakes a parked stream (from any thread), once per park. */
void al_http_stream_wake(struct al_http_stream *st);

typedef void (*al_http_handler)(void *ctx, const struct al_http_req *req,
				struct al_http_resp *resp);

const char *al_http_method(const struct al_http_req *req);
const char *al_http_path(const struct al_http_req *req);
const char *al_http_header(const struct al_http_req *req, const char *name);
const char *al_http_query(const struct al_http_req *req, const char *key);
const char *al_http_body(const struct al_http_req *req, size_t *ret_len);
/* The value of cookie name, or NULL. */
const char *al_http_cookie(const struct al_http_req *req, const char *name);
/* Whether the request came over TLS. */
int al_http_tls(const struct al_http_req *req);

struct al_http_opts {
	const char *listen;	  /* ADDR:PORT; port 0: any free port */
	size_t max_body;	  /* bodies over it are answered 413 before the handler sees them */
	const char *webhook_path; /* may be NULL: the one path with its own body cap */
	size_t webhook_max_body;
	const char *tls_cert_pem, *tls_key_pem; /* both or neither: serve HTTPS */
	unsigned conn_timeout_s;		/* an idle connection is closed */
	unsigned header_timeout_s;		/* a request's headers must be in by then */
	unsigned max_connections;		/* 0: 256 */
	unsigned max_per_address;		/* 0: a quarter of max_connections */
	size_t max_header_bytes;		/* request line and headers of a connection */
};

/* o->listen may name port 0: the kernel picks a free port, al_http_listen says which. */
int al_http_start(const struct al_http_opts *o, al_http_handler h, void *ctx, struct al_http **ret,
		  struct al_err *err);
/* The address h listens on, ADDR:PORT with the port actually bound; borrowed. */
const char *al_http_listen(const struct al_http *h);
void al_http_stop(struct al_http *h);
