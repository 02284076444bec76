#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/buf.h"
#include "lib/macros.h"
#include "server/conn.h"
#include "server/metrics.h"

struct al_http {
	struct MHD_Daemon *d;
	size_t max_body;
	const char *webhook_path; /* static */
	size_t webhook_max_body;
	int tls;
	al_http_handler handler;
	void *ctx;
	char listen[64];	     /* ADDR:PORT as bound: for port 0, the port the kernel chose */
	struct al_conn_watch *watch; /* owned: the header deadline */
};

struct al_http_stream {
	struct MHD_Connection *conn;
	struct al_http_streamer s;
};

struct al_http_req {
	struct al_http *h;
	double started; /* al_metrics_now() when its headers were in */
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	struct al_buf body;
	int too_big;
};

const char *
al_http_method(const struct al_http_req *req)
{
	return req->method;
}

const char *
al_http_path(const struct al_http_req *req)
{
	return req->path;
}

const char *
al_http_header(const struct al_http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *
al_http_query(const struct al_http_req *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
al_http_body(const struct al_http_req *req, size_t *ret_len)
{
	*ret_len = req->body.len;
	return req->body.data ? req->body.data : "";
}

const char *
al_http_cookie(const struct al_http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_COOKIE_KIND, name);
}

int
al_http_tls(const struct al_http_req *req)
{
	return req->h->tls;
}

void
al_http_stream_park(struct al_http_stream *st)
{
	MHD_suspend_connection(st->conn);
}

void
al_http_stream_wake(struct al_http_stream *st)
{
	MHD_resume_connection(st->conn);
}

static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct al_http_stream *st = cls;
	ssize_t n;

	(void)pos;
	n = st->s.fill(st->s.ctx, st, buf, max);
	return n < 0 ? MHD_CONTENT_READER_END_OF_STREAM : n;
}

static void
stream_free(void *cls)
{
	struct al_http_stream *st = cls;

	if (st->s.done)
		st->s.done(st->s.ctx, st);
	free(st);
}

static struct MHD_Response *
stream_response(struct MHD_Connection *conn, const struct al_http_streamer *s)
{
	struct al_http_stream *st = calloc(1, sizeof(*st));
	struct MHD_Response *mr;

	if (!st) {
		if (s->done)
			s->done(s->ctx, NULL);
		return NULL;
	}
	st->conn = conn;
	st->s = *s;
	mr =
	    MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
	if (!mr)
		stream_free(st);
	return mr;
}

/* What every answer carries: the UI's page and the API share one origin and one policy. */
static void
add_common_headers(struct MHD_Response *mr, int tls)
{
	MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(mr, "Content-Security-Policy",
				"default-src 'self'; frame-ancestors 'none'; base-uri 'none';"
				" form-action 'self'");
	MHD_add_response_header(mr, "X-Frame-Options", "DENY");
	MHD_add_response_header(mr, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(mr, "Cross-Origin-Opener-Policy", "same-origin");
	MHD_add_response_header(mr, "Cross-Origin-Resource-Policy", "same-origin");
	if (tls)
		MHD_add_response_header(mr, "Strict-Transport-Security", "max-age=31536000");
}

static void
resp_clear(struct al_http_resp *r)
{
	free(r->body);
	free(r->location);
	free(r->set_cookie);
	free(r->disposition);
	r->body = r->location = r->set_cookie = r->disposition = NULL;
}

static enum MHD_Result
send_resp(struct MHD_Connection *conn, int tls, struct al_http_resp *r)
{
	struct MHD_Response *mr;
	enum MHD_Result ret;

	if (r->stream.fill) {
		mr = stream_response(conn, &r->stream);
	} else {
		mr = MHD_create_response_from_buffer(r->len, r->body ? r->body : (void *)"",
						     r->body ? MHD_RESPMEM_MUST_FREE
							     : MHD_RESPMEM_PERSISTENT);
		if (mr)
			r->body = NULL;
	}
	if (!mr) {
		resp_clear(r);
		return MHD_NO;
	}
	MHD_add_response_header(mr, "Content-Type",
				r->content_type ? r->content_type : "application/json");
	MHD_add_response_header(mr, "Cache-Control", r->cache ? r->cache : "no-store");
	add_common_headers(mr, tls);
	if (r->location)
		MHD_add_response_header(mr, "Location", r->location);
	if (r->set_cookie)
		MHD_add_response_header(mr, "Set-Cookie", r->set_cookie);
	if (r->disposition)
		MHD_add_response_header(mr, "Content-Disposition", r->disposition);
	if (r->retry_after > 0) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%d", r->retry_after);
		MHD_add_response_header(mr, "Retry-After", ra);
	}
	resp_clear(r);
	ret = MHD_queue_response(conn, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static enum MHD_Result
send_static(struct MHD_Connection *conn, int tls, int status, const char *json)
{
	struct al_http_resp r = {.status = status, .body = strdup(json)};

	r.len = r.body ? strlen(r.body) : 0;
	return send_resp(conn, tls, &r);
}

static const char too_big_body[] =
    "{\"error\":\"body too large\",\"detail\":\"the request body exceeds the server's limit\"}";

static int
declared_too_big(struct MHD_Connection *conn, size_t max)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
	char *end;
	unsigned long long n;

	if (!cl)
		return 0;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return errno != 0 || *end != '\0' || n > max;
}

/* The watched connection behind conn; NULL if it is not watched. */
static struct al_conn *
watched(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *info =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return info ? info->socket_context : NULL;
}

/* The access handler's first call for a request: its headers are all in. */
static void
headers_in(struct al_http *h, struct MHD_Connection *conn)
{
	struct al_conn *c = watched(conn);

	if (c)
		al_conn_watch_headers_in(h->watch, c);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
	   const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct al_http *h = cls;
	struct al_http_req *req = *con_cls;
	struct al_http_resp resp = {0};

	(void)version;
	if (!req) {
		size_t max = h->webhook_path && !strcmp(url, h->webhook_path) ? h->webhook_max_body
									      : h->max_body;

		headers_in(h, conn);
		if (declared_too_big(conn, max)) {
			al_metrics_http(url, 413, 0);
			return send_static(conn, h->tls, 413, too_big_body);
		}
		req = calloc(1, sizeof(*req));
		if (!req)
			return MHD_NO;
		req->h = h;
		req->started = al_metrics_now();
		al_buf_init(&req->body, max);
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!req->too_big && al_buf_append(&req->body, upload, *upload_size) < 0)
			req->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}
	if (req->too_big) {
		al_metrics_http(url, 413, al_metrics_now() - req->started);
		return send_static(conn, h->tls, 413, too_big_body);
	}
	req->conn = conn;
	req->method = method;
	req->path = url;
	h->handler(h->ctx, req, &resp);
	al_metrics_http(url, resp.status, al_metrics_now() - req->started);
	return send_resp(conn, h->tls, &resp);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct al_http *h = cls;
	struct al_http_req *req = *con_cls;
	struct al_conn *c = watched(conn);

	(void)toe;
	/* a kept-alive connection has the deadline again for its next request's headers */
	if (c)
		al_conn_watch_rearm(h->watch, c, al_conn_watch_now());
	if (!req)
		return;
	al_buf_free(&req->body);
	free(req);
	*con_cls = NULL;
}

/* Each connection is watched from its start until it is closed; one that cannot be is
 * shut down at once (fail closed: an unwatched connection could be held for ever). */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
	      enum MHD_ConnectionNotificationCode code)
{
	struct al_http *h = cls;
	const union MHD_ConnectionInfo *info;

	if (code != MHD_CONNECTION_NOTIFY_STARTED) {
		/* MHD closes the socket after this returns: the watch lets it go first */
		if (*socket_context)
			al_conn_watch_remove(h->watch, *socket_context);
		*socket_context = NULL;
		return;
	}
	info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!info) /* not for a connection MHD accepted itself */
		return;
	*socket_context = al_conn_watch_add(h->watch, info->connect_fd, al_conn_watch_now());
	if (!*socket_context)
		shutdown(info->connect_fd, SHUT_RDWR);
}

static int
parse_listen(const char *listen, struct sockaddr_in *sa, struct al_err *err)
{
	char host[64];
	const char *colon = strrchr(listen, ':');
	size_t hl;

	if (!colon || (hl = (size_t)(colon - listen)) == 0 || hl >= sizeof(host))
		return al_err_set(err, -EINVAL, "listen: %s: expected ADDR:PORT", listen);
	memcpy(host, listen, hl);
	host[hl] = '\0';
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((unsigned short)strtoul(colon + 1, NULL, 10));
	if (!strcmp(host, "localhost"))
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
		return al_err_set(err, -EINVAL, "listen: %s: not an IPv4 address", host);
	return 0;
}

/* Notes the address h listens on, with the port read back from its socket. */
static int
bound_address(struct al_http *h, const struct sockaddr_in *sa, struct al_err *err)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	char host[INET_ADDRSTRLEN];

	if (!info || !info->port || !inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host)))
		return al_err_set(err, -EIO, "listen: cannot read back the bound port");
	snprintf(h->listen, sizeof(h->listen), "%s:%u", host, (unsigned)info->port);
	return 0;
}

const char *
al_http_listen(const struct al_http *h)
{
	return h->listen;
}

/* The watch on connections' headers, running; its reaper counts what it cuts. */
static int
watch_start(struct al_http *h, unsigned header_timeout_s, struct al_err *err)
{
	int r = al_conn_watch_new(header_timeout_s ? header_timeout_s : 10u, al_metrics_conn_cut,
				  &h->watch);

	if (r == 0 && (r = al_conn_watch_start(h->watch)) < 0) {
		al_conn_watch_free(h->watch);
		h->watch = NULL;
	}
	return r < 0 ? al_err_set(err, r, "cannot start the header deadline's thread") : 0;
}

static void
http_free(struct al_http *h)
{
	if (h->d)
		MHD_stop_daemon(h->d);
	/* after the daemon: its last connections are let go as it stops */
	al_conn_watch_free(h->watch);
	free(h);
}

/* One address may hold at most per_address of max connections: the rest stay for others. */
static struct MHD_Daemon *
daemon_start(struct al_http *h, const struct al_http_opts *o, const struct sockaddr_in *sa)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
			 MHD_ALLOW_SUSPEND_RESUME | (h->tls ? MHD_USE_TLS : 0);
	unsigned max = o->max_connections ? o->max_connections : 256u;
	unsigned per_address = o->max_per_address ? o->max_per_address : (max + 3) / 4;

	/* the TLS options come last: without a certificate they end the list */
	return MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)sa,
	    MHD_OPTION_THREAD_POOL_SIZE, 4u, MHD_OPTION_CONNECTION_LIMIT, max,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, per_address, MHD_OPTION_CONNECTION_TIMEOUT,
	    o->conn_timeout_s ? o->conn_timeout_s : 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    o->max_header_bytes ? o->max_header_bytes : (size_t)(64 * 1024),
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_NOTIFY_CONNECTION,
	    on_connection, h, h->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, o->tls_cert_pem,
	    MHD_OPTION_HTTPS_MEM_KEY, o->tls_key_pem, MHD_OPTION_END);
}

int
al_http_start(const struct al_http_opts *o, al_http_handler handler, void *ctx,
	      struct al_http **ret, struct al_err *err)
{
	struct sockaddr_in sa;
	struct al_http *h;
	int r = parse_listen(o->listen, &sa, err);

	if (r < 0)
		return r;
	if (!o->tls_cert_pem != !o->tls_key_pem)
		return al_err_set(err, -EINVAL, "tls: a certificate needs its key");
	if (o->tls_cert_pem && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return al_err_set(err, -ENOTSUP, "tls: libmicrohttpd was built without TLS");
	h = calloc(1, sizeof(*h));
	if (!h)
		return al_err_set(err, -ENOMEM, "out of memory");
	h->max_body = o->max_body;
	h->webhook_path = o->webhook_path;
	h->webhook_max_body = o->webhook_max_body;
	h->tls = o->tls_cert_pem != NULL;
	h->handler = handler;
	h->ctx = ctx;
	if ((r = watch_start(h, o->header_timeout_s, err)) < 0) {
		http_free(h);
		return r;
	}
	h->d = daemon_start(h, o, &sa);
	if (!h->d) {
		http_free(h);
		return al_err_set(err, -EADDRINUSE, "cannot listen on %s%s", o->listen,
				  o->tls_cert_pem ? " with this certificate and key" : "");
	}
	if ((r = bound_address(h, &sa, err)) < 0) {
		http_free(h);
		return r;
	}
	*ret = h;
	return 0;
}

void
al_http_stop(struct al_http *h)
{
	if (h)
		http_free(h);
}
