/* The relay of one proxied connection: see relay.h. Each turn tries every transfer that
 * has room and data; only a turn that moved nothing polls, for what the legs asked for. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "egress/relay.h"

/* A chunk-size line: at most 16 hex digits and CRLF. */
#define CHUNK_LINE_MAX 18

struct fbuf {
	char *d;
	size_t off, len, cap;
};

enum fstate { F_HEAD, F_BODY, F_CHUNK_LINE, F_CHUNK_DATA, F_CHUNK_END, F_TRAILER, F_DONE };

struct pump {
	struct al_relay *r;
	struct fbuf in, c2u, u2c; /* client bytes to check; checked bytes; the upstream's */
	enum fstate st;
	uint64_t left;
	bool c_eof, u_eof, u_shut;
	short want_c, want_u; /* poll events the legs asked for */
};

long long
al_relay_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *
fb_tail(struct fbuf *b, size_t *room)
{
	if (b->off && b->cap - b->off - b->len < b->cap / 2) {
		memmove(b->d, b->d + b->off, b->len);
		b->off = 0;
	}
	*room = b->cap - b->off - b->len;
	return b->d + b->off + b->len;
}

static void
fb_take(struct fbuf *b, size_t n)
{
	b->off += n;
	b->len -= n;
	if (b->len == 0)
		b->off = 0;
}

static int
fb_put(struct fbuf *b, const void *p, size_t n)
{
	size_t room;
	char *t = fb_tail(b, &room);

	if (room < n)
		return -ENOSPC;
	memcpy(t, p, n);
	b->len += n;
	return 0;
}

/* >0 bytes; 0 at the end of the stream; -EAGAIN with *want set; -EIO. */
static ssize_t
end_io(struct al_relay_end *e, void *buf, size_t n, bool writing, short *want)
{
	ssize_t k;
	int err;

	if (!e->ssl) {
		k = writing ? send(e->fd, buf, n, MSG_NOSIGNAL) : recv(e->fd, buf, n, 0);
		if (k >= 0)
			return k;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			*want |= writing ? POLLOUT : POLLIN;
			return -EAGAIN;
		}
		return writing ? -EIO : 0;
	}
	ERR_clear_error();
	k = writing ? SSL_write(e->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n))
		    : SSL_read(e->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));
	if (k > 0)
		return k;
	err = SSL_get_error(e->ssl, (int)k);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		*want |= err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
		return -EAGAIN;
	}
	/* close_notify, a bare close or a broken record: this direction is over */
	return writing ? -EIO : 0;
}

static const char *
chunk_line(struct pump *p)
{
	const char *d = p->in.d + p->in.off;
	size_t n = p->in.len < CHUNK_LINE_MAX ? p->in.len : CHUNK_LINE_MAX, i;
	uint64_t size = 0;

	for (i = 0; i < n && d[i] != '\r'; i++) {
		char c = d[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;

		if (v < 0)
			return c == ';' ? "chunk extension" : "invalid chunk size";
		if (i == 16)
			return "chunk size too large";
		size = size << 4 | (uint64_t)v;
	}
	if (i == n)
		return p->in.len >= CHUNK_LINE_MAX ? "invalid chunk size" : NULL; /* need more */
	if (i == 0)
		return "invalid chunk size";
	if (i + 1 >= p->in.len)
		return NULL;
	if (d[i + 1] != '\n')
		return "bare CR in chunk size line";
	if (fb_put(&p->c2u, d, i + 2) < 0)
		return NULL; /* the upstream leg drains first */
	fb_take(&p->in, i + 2);
	p->left = size;
	p->st = size ? F_CHUNK_DATA : F_TRAILER;
	return NULL;
}

/* The CRLF after a chunk's data, or the empty trailer section. */
static const char *
chunk_crlf(struct pump *p)
{
	const char *d = p->in.d + p->in.off;

	if (p->in.len < 2)
		return NULL;
	if (d[0] != '\r' || d[1] != '\n')
		return p->st == F_TRAILER ? "trailer fields" : "chunk data not followed by CRLF";
	if (fb_put(&p->c2u, d, 2) < 0)
		return NULL;
	fb_take(&p->in, 2);
	p->st = p->st == F_TRAILER ? (p->r->one_request ? F_DONE : F_HEAD) : F_CHUNK_LINE;
	return NULL;
}

static const char *
body_bytes(struct pump *p)
{
	size_t room, n = p->in.len;
	char *t = fb_tail(&p->c2u, &room);

	if (n > room)
		n = room;
	if (p->r->check_requests && n > p->left)
		n = (size_t)p->left;
	memcpy(t, p->in.d + p->in.off, n);
	p->c2u.len += n;
	fb_take(&p->in, n);
	if (!p->r->check_requests)
		return NULL;
	p->left -= n;
	if (p->left == 0)
		p->st = p->st == F_CHUNK_DATA ? F_CHUNK_END : p->r->one_request ? F_DONE : F_HEAD;
	return NULL;
}

static const char *
head(struct pump *p)
{
	struct al_egress_request req;
	const char *why = NULL;
	struct al_buf out;
	int rc = al_egress_request_parse(p->in.d + p->in.off, p->in.len, p->r->where, &req, &why);

	if (rc == -EAGAIN)
		return p->in.len >= AL_EGRESS_HEAD_MAX ? "request head too long" : NULL;
	if (rc < 0)
		return why;
	al_buf_init(&out, AL_EGRESS_HEAD_MAX * 2);
	why = p->r->on_head(p->r->arg, &req, &out);
	if (!why && out.len > p->c2u.cap)
		why = "request head too long";
	if (!why && fb_put(&p->c2u, out.data, out.len) < 0) {
		al_buf_free(&out);
		return NULL; /* parsed again once the upstream leg drains */
	}
	al_buf_free(&out);
	if (why)
		return why;
	fb_take(&p->in, req.head_len);
	p->r->requests++;
	p->left = req.content_length > 0 ? (uint64_t)req.content_length : 0;
	p->st = req.chunked ? F_CHUNK_LINE : p->left ? F_BODY : p->r->one_request ? F_DONE : F_HEAD;
	return NULL;
}

static const char *
step(struct pump *p)
{
	switch (p->st) {
	case F_HEAD:
		return head(p);
	case F_BODY:
	case F_CHUNK_DATA:
		return body_bytes(p);
	case F_CHUNK_LINE:
		return chunk_line(p);
	case F_CHUNK_END:
	case F_TRAILER:
		return chunk_crlf(p);
	case F_DONE:
		break;
	}
	return "a second request to a plain-HTTP upstream";
}

/* Moves what it can from in to c2u; a reason when the client's bytes are refused. */
static const char *
filter(struct pump *p)
{
	if (!p->r->check_requests)
		return body_bytes(p);
	while (p->in.len) {
		size_t before = p->in.len;
		enum fstate st = p->st;
		const char *why = step(p);

		if (why)
			return why;
		if (p->in.len == before && p->st == st)
			return NULL; /* waiting for bytes or for room */
	}
	return NULL;
}

/* Reads from one leg into buf until buf is full or the leg has nothing more, so that the
 * other leg is handed 64 KiB at a time, not one TLS record per turn; sets *eof at its end. */
static bool
pull(struct al_relay_end *e, struct fbuf *buf, bool *eof, short *want)
{
	bool moved = false;
	size_t room;
	char *t;
	ssize_t n;

	while (!*eof) {
		t = fb_tail(buf, &room);
		if (room == 0)
			break;
		n = end_io(e, t, room, false, want);
		if (n == -EAGAIN)
			break;
		if (n <= 0)
			*eof = true;
		else
			buf->len += (size_t)n;
		moved = true;
	}
	return moved;
}

/* Writes buf to a leg; -EIO when the leg is gone. */
static int
push(struct al_relay *r, struct al_relay_end *e, struct fbuf *buf, uint64_t *count, short *want)
{
	ssize_t n;

	if (buf->len == 0)
		return 0;
	n = end_io(e, buf->d + buf->off, buf->len, true, want);
	if (n == -EAGAIN)
		return 0;
	if (n < 0)
		return -EIO;
	fb_take(buf, (size_t)n);
	*count += (uint64_t)n;
	atomic_fetch_add(r->run_bytes, (uint64_t)n);
	return 1;
}

/* One turn: 1 when something moved, 0 when nothing could, -1 when the connection ends. */
static int
turn(struct pump *p)
{
	struct al_relay *r = p->r;
	int moved = 0, k;

	p->want_c = p->want_u = 0;
	if (!r->refused)
		moved |= pull(&r->client, &p->in, &p->c_eof, &p->want_c);
	if (p->in.len && !r->refused && (r->refused = filter(p))) {
		/* what was checked before the refusal still goes; nothing after it */
		p->in.len = 0;
		p->c_eof = true;
	}
	if ((k = push(r, &r->upstream, &p->c2u, &r->up, &p->want_u)) < 0)
		return -1;
	moved |= k;
	if (r->refused)
		return p->c2u.len ? moved : -1;
	moved |= pull(&r->upstream, &p->u2c, &p->u_eof, &p->want_u);
	if ((k = push(r, &r->client, &p->u2c, &r->down, &p->want_c)) < 0)
		return -1;
	moved |= k;
	if (atomic_load(r->run_bytes) > r->cap_bytes)
		r->refused = "byte cap reached";
	else if (al_relay_now_ms() >= r->deadline_ms)
		r->refused = "time cap reached";
	if (r->refused)
		return -1;
	/* the upstream is done and all it sent was passed on */
	if (p->u_eof && p->u2c.len == 0)
		return -1;
	if (p->c_eof && p->in.len == 0 && p->c2u.len == 0) {
		if (r->check_requests || r->client.ssl || r->upstream.ssl)
			return -1; /* an HTTP client that closed wants nothing more */
		if (!p->u_shut)
			shutdown(r->upstream.fd, SHUT_WR); /* a raw tunnel passes it on */
		p->u_shut = true;
	}
	return moved;
}

static int
wait_legs(struct pump *p)
{
	struct al_relay *r = p->r;
	struct pollfd pfd[2] = {{.fd = r->client.fd, .events = p->want_c},
				{.fd = r->upstream.fd, .events = p->want_u}};
	long long left = r->deadline_ms - al_relay_now_ms();
	int timeout = left < r->idle_ms ? (int)(left > 0 ? left : 0) : r->idle_ms, n;

	if (!p->want_c && !p->want_u)
		return -1; /* nothing to wait for: both legs are done */
	do
		n = poll(pfd, 2, timeout);
	while (n < 0 && errno == EINTR);
	if (n == 0 && al_relay_now_ms() < r->deadline_ms)
		return -1; /* idle */
	return n < 0 ? -1 : 0;
}

int
al_relay_run(struct al_relay *r)
{
	struct pump p = {.r = r, .st = F_HEAD};
	int rc = 0, k;

	p.in.cap = p.c2u.cap = p.u2c.cap = AL_RELAY_BUF;
	p.in.d = malloc(AL_RELAY_BUF);
	p.c2u.d = malloc(AL_RELAY_BUF);
	p.u2c.d = malloc(AL_RELAY_BUF);
	if (!p.in.d || !p.c2u.d || !p.u2c.d || r->initial_len > AL_RELAY_BUF) {
		rc = -ENOMEM;
		goto out;
	}
	if (r->initial_len)
		memcpy(p.in.d, r->initial, r->initial_len);
	p.in.len = r->initial_len;
	/* a record's header and body in one read(), not two. A leg is polled for input only
	 * once SSL_read() said WANT_READ, when OpenSSL holds no whole record of it. */
	if (r->client.ssl)
		SSL_set_read_ahead(r->client.ssl, 1);
	if (r->upstream.ssl)
		SSL_set_read_ahead(r->upstream.ssl, 1);
	while ((k = turn(&p)) >= 0)
		if (k == 0 && wait_legs(&p) < 0)
			break;
out:
	free(p.in.d);
	free(p.c2u.d);
	free(p.u2c.d);
	return rc;
}
