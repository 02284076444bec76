/* One proxied connection's bytes, both ways, on non-blocking sockets or TLS legs. In an
 * opaque tunnel they pass as they are; otherwise every request the client sends is parsed
 * (egress/request.c), handed to a callback that checks it and writes the head to send on,
 * and its body is passed through by its framing (Content-Length or strict chunked, no
 * extensions or trailers), so that the next head is found where the upstream will find it.
 * Responses pass as they are: redirects are the client's to follow, through the proxy. */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <openssl/types.h>

#include "egress/request.h"
#include "lib/buf.h"

#define AL_RELAY_BUF (64u << 10)

struct al_relay_end {
	int fd;	  /* non-blocking once the relay runs */
	SSL *ssl; /* NULL: plain bytes on fd */
};

/* Checks one request and appends the head to send upstream to out. NULL, or the reason
 * the request is refused (the connection then ends). */
typedef const char *(*al_relay_head_fn)(void *arg, const struct al_egress_request *req,
					struct al_buf *out);

struct al_relay {
	struct al_relay_end client, upstream;
	bool check_requests; /* false: an opaque tunnel */
	bool one_request;    /* a plain-HTTP upstream: one request per connection */
	enum al_egress_where where;
	al_relay_head_fn on_head;
	void *arg;
	const char *initial; /* client bytes read before the relay began */
	size_t initial_len;
	_Atomic uint64_t *run_bytes; /* the run's total, both ways, all connections */
	uint64_t cap_bytes;
	long long deadline_ms; /* CLOCK_MONOTONIC: the run's time cap */
	int idle_ms;	       /* a connection quiet this long ends */
	/* filled in */
	uint64_t up, down; /* bytes written to the upstream, to the client */
	unsigned requests;
	const char *refused; /* why the relay cut the connection; NULL at a normal end */
};

/* Runs until either side ends, a request is refused or a cap is reached. 0, or -ENOMEM. */
int al_relay_run(struct al_relay *r);

/* CLOCK_MONOTONIC in ms. */
long long al_relay_now_ms(void);
