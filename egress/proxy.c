/* The egress proxy's connections: see proxy.h. One thread per connection, blocking (with
 * timeouts) until both legs are up, then the relay (relay.c) on non-blocking sockets. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "egress/ca.h"
#include "egress/proxy-int.h"
#include "egress/relay.h"
#include "egress/tls.h"
#include "lib/macros.h"

#define HEAD_TIMEOUT_S 30
#define CONNECT_TIMEOUT_MS 10000
#define IDLE_MS 120000

static void
set_timeouts(int fd, int seconds)
{
	struct timeval tv = {.tv_sec = seconds};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int
set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	return fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK) < 0 ? -errno : 0;
}

static void __attribute__((format(printf, 2, 3)))
deny(struct al_proxy_conn *k, const char *fmt, ...)
{
	va_list ap;

	k->denied = true;
	va_start(ap, fmt);
	vsnprintf(k->reason, sizeof(k->reason), fmt, ap);
	va_end(ap);
}

/* Reads until a whole request head is there (or refused). */
static int
read_head(struct al_proxy_conn *k, struct al_egress_request *req)
{
	const char *why = NULL;

	for (;;) {
		ssize_t n;
		int rc = al_egress_request_parse(k->buf, k->len, AL_EGRESS_AT_PROXY, req, &why);

		if (rc == 0)
			return 0;
		if (rc != -EAGAIN)
			return deny(k, "bad request: %s", why), -EINVAL;
		if (k->len >= AL_EGRESS_HEAD_MAX)
			return deny(k, "bad request: request head too long"), -EINVAL;
		n = recv(k->fd, k->buf + k->len, AL_EGRESS_HEAD_MAX - k->len, 0);
		if (n <= 0)
			return deny(k, "%s%s",
				    n == 0 ? "closed before a request" : "no request in time", ""),
			       -EIO;
		k->len += (size_t)n;
	}
}

static void
answer(int fd, SSL *ssl, int code, const char *status, const char *text)
{
	char msg[1024];
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\n"
			 "Content-Length: %zu\r\n\r\n%s\n",
			 code, status, strlen(text) + 1, text);

	if (n <= 0 || (size_t)n >= sizeof(msg))
		return;
	if (ssl)
		SSL_write(ssl, msg, n);
	else if (send(fd, msg, (size_t)n, MSG_NOSIGNAL) < 0) {
		/* the client is gone; the record still says what happened */
	}
}

static void
refuse(struct al_proxy_conn *k, SSL *ssl, int code, const char *status)
{
	char text[AL_EGRESS_REASON_MAX + 300];

	snprintf(text, sizeof(text), "airlock egress: %s:%u denied: %s", k->host[0] ? k->host : "-",
		 (unsigned)k->port, k->reason);
	answer(k->fd, ssl, code, status, text);
}

/* The allowlist, then the run's caps. */
static int
decide(struct al_proxy_conn *k, const struct al_egress_request *req)
{
	const struct al_proxy_conf *c = k->px->conf;
	struct al_egress_verdict v;
	const char *why = NULL;

	k->port = req->port;
	if (al_egress_host_normalize(req->host, strlen(req->host), k->host, &why) < 0) {
		snprintf(k->host, sizeof(k->host), "%.*s", 200, req->host);
		for (char *p = k->host; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
				*p = '?';
		return deny(k, "%s", why ? why : "out of memory"), -EPERM;
	}
	al_egress_rules_match(c->rules, k->host, strlen(k->host), k->port, &v);
	if (!v.allow)
		return deny(k, "%s", v.reason), -EPERM;
	snprintf(k->reason, sizeof(k->reason), "%s", v.reason);
	if (req->form == AL_EGRESS_ABSOLUTE && al_proxy_is_tunnel(c, k->host))
		return deny(k, "%s", "an opaque tunnel takes CONNECT only"), -EPERM;
	if (atomic_fetch_add(&k->run->conns, 1) + 1 > c->cap_connections)
		return deny(k, "%s", "connection cap reached"), -EPERM;
	if (al_relay_now_ms() >= k->run->deadline_ms)
		return deny(k, "%s", "time cap reached"), -EPERM;
	return 0;
}

static int
connect_to(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), e = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLOUT};
	socklen_t el = sizeof(e);

	if (fd < 0)
		return -errno;
	if (connect(fd, sa, len) < 0 && errno != EINPROGRESS)
		goto fail;
	if (poll(&pfd, 1, CONNECT_TIMEOUT_MS) != 1) {
		errno = ETIMEDOUT;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0 || e) {
		errno = e ? e : errno;
		goto fail;
	}
	if (set_nonblock(fd, false) < 0)
		goto fail;
	return fd;
fail:
	e = errno;
	close(fd);
	return -e;
}

static void
show_addr(const struct sockaddr *sa, char *buf, size_t size)
{
	const void *a = sa->sa_family == AF_INET
			    ? (const void *)&((struct sockaddr_in *)sa)->sin_addr
			    : (const void *)&((struct sockaddr_in6 *)sa)->sin6_addr;

	if (!inet_ntop(sa->sa_family, a, buf, (socklen_t)size))
		snprintf(buf, size, "?");
}

static int
override_connect(struct al_proxy_conn *k, const struct al_proxy_override *o)
{
	struct sockaddr_storage ss = o->addr;
	struct sockaddr *sa = (struct sockaddr *)&ss;
	const char *why;
	int fd;

	show_addr(sa, k->addr, sizeof(k->addr));
	if (o->answer) {
		((struct sockaddr_in *)sa)->sin_port = htons(k->port); /* same offset in v6 */
		if ((why = al_egress_sockaddr_refused(sa, o->addr_len)))
			return deny(k, "resolves to %s: %s", k->addr, why), -EPERM;
	}
	fd = connect_to(sa, o->addr_len);
	if (fd < 0)
		deny(k, "connect: %s", strerror(-fd));
	return fd;
}

/* The test override, or one lookup whose every address must pass; then a connection to
 * exactly an address that was checked. */
static int
resolve_connect(struct al_proxy_conn *k)
{
	const struct al_proxy_conf *c = k->px->conf;
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res, *ai;
	int fd = -ECONNREFUSED, rc;

	for (size_t i = 0; i < c->n_overrides; i++)
		if (!strcmp(c->overrides[i].host, k->host))
			return override_connect(k, &c->overrides[i]);
	rc = getaddrinfo(k->host, NULL, &hints, &res);
	if (rc)
		return deny(k, "cannot resolve: %s", gai_strerror(rc)), -EHOSTUNREACH;
	for (ai = res; ai; ai = ai->ai_next) {
		const char *why = al_egress_sockaddr_refused(ai->ai_addr, ai->ai_addrlen);

		show_addr(ai->ai_addr, k->addr, sizeof(k->addr));
		if (why) {
			deny(k, "resolves to %s: %s", k->addr, why);
			freeaddrinfo(res);
			return -EPERM;
		}
	}
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		((struct sockaddr_in *)ai->ai_addr)->sin_port =
		    htons(k->port); /* same offset in v6 */
		show_addr(ai->ai_addr, k->addr, sizeof(k->addr));
		fd = connect_to(ai->ai_addr, ai->ai_addrlen);
	}
	freeaddrinfo(res);
	if (fd < 0)
		deny(k, "connect: %s", strerror(-fd));
	return fd;
}

static void
relay(struct al_proxy_conn *k, SSL *client, SSL *upstream, int upfd, bool check, bool one)
{
	struct al_relay r = {
	    .client = {k->fd, client},
	    .upstream = {upfd, upstream},
	    .check_requests = check,
	    .one_request = one,
	    .where = client ? AL_EGRESS_IN_TUNNEL : AL_EGRESS_AT_PROXY,
	    .on_head = al_proxy_check_head,
	    .arg = k,
	    .initial = k->buf,
	    .initial_len = k->len,
	    .run_bytes = &k->run->bytes,
	    .cap_bytes = k->px->conf->cap_bytes,
	    .deadline_ms = k->run->deadline_ms,
	    .idle_ms = IDLE_MS,
	};

	if (set_nonblock(k->fd, true) < 0 || set_nonblock(upfd, true) < 0 || al_relay_run(&r) < 0) {
		deny(k, "%s", "out of memory");
		return;
	}
	k->up = r.up;
	k->down = r.down;
	k->requests = r.requests;
	if (r.refused && !k->denied)
		deny(k, "%s", r.refused);
	if (r.refused && client && k->in_request_refusal) {
		set_nonblock(k->fd, false);
		refuse(k, client, 403, "Forbidden");
	}
	if (client)
		SSL_shutdown(client); /* best effort, as a courtesy: nothing more is sent */
	if (upstream)
		SSL_shutdown(upstream);
}

/* The upstream's handshake, on a thread of its own while the client's runs: a new
 * connection waits for the longer of the two, not for both. */
struct upstream_leg {
	struct al_proxy_conn *k;
	int fd;
	SSL *ssl;
	struct al_err err;
	int r;
};

static void *
upstream_main(void *arg)
{
	struct upstream_leg *u = arg;

	u->r = al_tls_client_connect(u->k->px->client_ctx, u->fd, u->k->host, &u->ssl, &u->err);
	return NULL;
}

/* CONNECT to a host whose TLS the proxy ends: the client's leg (SNI must be the host) and
 * the upstream's (verified) both up, and only then every request. */
static void
terminate(struct al_proxy_conn *k, int upfd)
{
	struct upstream_leg u = {.k = k, .fd = upfd};
	struct al_err err = {0};
	SSL *client = NULL;
	pthread_attr_t attr;
	pthread_t t;
	bool threaded;
	int r;

	k->mode = "tls";
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	threaded = pthread_create(&t, &attr, upstream_main, &u) == 0;
	pthread_attr_destroy(&attr);
	r = al_tls_server_accept(k->px->server_ctx, k->fd, k->host, &client, &err);
	if (threaded)
		pthread_join(t, NULL);
	else
		upstream_main(&u);
	if (r < 0)
		deny(k, "%s", al_err_msg(&err));
	else if (u.r < 0) {
		deny(k, "%s", al_err_msg(&u.err));
		refuse(k, client, 502, "Bad Gateway");
	} else
		relay(k, client, u.ssl, upfd, true, false);
	SSL_free(client);
	SSL_free(u.ssl);
}

static void
serve_conn(struct al_proxy_conn *k)
{
	struct al_egress_request req;
	int upfd;

	set_timeouts(k->fd, HEAD_TIMEOUT_S);
	if (read_head(k, &req) < 0) {
		refuse(k, NULL, 400, "Bad Request");
		return;
	}
	k->mode = req.form == AL_EGRESS_CONNECT ? "tls" : "http";
	if (decide(k, &req) < 0) {
		refuse(k, NULL, 403, "Forbidden");
		return;
	}
	if ((upfd = resolve_connect(k)) < 0) {
		refuse(k, NULL, upfd == -EPERM ? 403 : 502,
		       upfd == -EPERM ? "Forbidden" : "Bad Gateway");
		return;
	}
	set_timeouts(upfd, HEAD_TIMEOUT_S);
	if (req.form == AL_EGRESS_ABSOLUTE) {
		relay(k, NULL, NULL, upfd, true, true); /* the head is parsed again there */
	} else if (k->len != req.head_len) {
		deny(k, "%s", "bytes sent before the tunnel was established");
		refuse(k, NULL, 400, "Bad Request");
	} else {
		k->len = 0;
		al_proxy_answer_established(k->fd);
		if (al_proxy_is_tunnel(k->px->conf, k->host)) {
			k->mode = "tunnel";
			relay(k, NULL, NULL, upfd, false, false);
		} else {
			terminate(k, upfd);
		}
	}
	close(upfd);
}

static void *
conn_main(void *arg)
{
	struct al_proxy_conn *k = arg;

	k->t0 = al_relay_now_ms();
	serve_conn(k);
	al_proxy_record(k);
	close(k->fd);
	atomic_fetch_sub(&k->px->active, 1);
	free(k);
	return NULL;
}

int
al_proxy_conn_start(struct al_proxy *px, struct al_proxy_run *run, int fd)
{
	struct al_proxy_conn *k = calloc(1, sizeof(*k));
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (!k)
		return -ENOMEM;
	k->px = px;
	k->run = run;
	k->fd = fd;
	k->mode = "-";
	atomic_fetch_add(&px->active, 1);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	rc = pthread_create(&t, &attr, conn_main, k);
	pthread_attr_destroy(&attr);
	if (rc) {
		atomic_fetch_sub(&px->active, 1);
		free(k);
		return -rc;
	}
	return 0;
}
