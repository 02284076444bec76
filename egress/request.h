/* The head of an HTTP/1.1 request as the egress proxy receives it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "egress/host.h"

/* Caps fixed here: a longer head or more header lines is refused. */
#define AL_EGRESS_HEAD_MAX 16384
#define AL_EGRESS_HEADERS_MAX 64
#define AL_EGRESS_METHOD_MAX 32

enum al_egress_form {
	AL_EGRESS_CONNECT,  /* CONNECT host:port, to the proxy */
	AL_EGRESS_ABSOLUTE, /* GET http://host[:port]/path, to the proxy */
	AL_EGRESS_ORIGIN,   /* GET /path with Host, inside a terminated tunnel */
};

/* Where the request is read. */
enum al_egress_where {
	AL_EGRESS_AT_PROXY,
	AL_EGRESS_IN_TUNNEL,
};

struct al_egress_header {
	const char *name; /* borrowed from the parsed bytes, not NUL-terminated */
	size_t name_len;
	const char *value; /* without surrounding spaces or tabs */
	size_t value_len;
};

struct al_egress_request {
	enum al_egress_form form;
	char method[AL_EGRESS_METHOD_MAX + 1];
	/* The host as the request names it, not normalised (al_egress_host_normalize does). */
	char host[AL_EGRESS_HOST_INPUT_MAX + 1];
	uint16_t port;	  /* 0 in a tunnel when Host names none: the tunnel's own port */
	const char *path; /* borrowed; the origin-form target, "" for an empty absolute path */
	size_t path_len;
	size_t nheaders;
	struct al_egress_header headers[AL_EGRESS_HEADERS_MAX];
	int64_t content_length; /* -1 when absent */
	bool chunked;
	size_t head_len; /* bytes up to and including the empty line */
};

/* Parses the head at the start of data.  0: ret holds it (pointers into data);
 * -EAGAIN: no complete head yet and nothing refused so far, read more;
 * -EINVAL: refused, with a stable reason in *ret_reason. ret is untouched on failure. */
int al_egress_request_parse(const char *data, size_t len, enum al_egress_where where,
			    struct al_egress_request *ret, const char **ret_reason);

/* The first header named name (case-insensitive), or NULL. */
const struct al_egress_header *al_egress_request_header(const struct al_egress_request *r,
							const char *name);
