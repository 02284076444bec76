/* The request head a proxy receives, parsed strictly: one reading only.  Whatever two
 * HTTP implementations could read differently (a bare LF, folded lines, two lengths, a
 * length and chunking) is refused rather than interpreted, so the request the proxy
 * checked is the request the upstream sees. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "egress/request.h"

static bool
tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool
token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* Finds the end of the head and refuses bytes no head may hold.  NULL with *ret_end 0:
 * incomplete. */
static const char *
scan_head(const char *d, size_t len, size_t *ret_end)
{
	size_t n = len < AL_EGRESS_HEAD_MAX ? len : AL_EGRESS_HEAD_MAX;

	*ret_end = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '\n' && (i == 0 || d[i - 1] != '\r'))
			return "bare LF";
		if (c == '\r' && i + 1 < len && d[i + 1] != '\n')
			return "bare CR";
		if (c == 0)
			return "NUL byte";
		if ((c < 0x20 && c != '\r' && c != '\n' && c != '\t') || c == 0x7f)
			return "control character";
		if (c >= 0x80)
			return "non-ASCII byte";
		if (c == '\n' && i >= 3 && d[i - 2] == '\n') {
			*ret_end = i + 1;
			return NULL;
		}
	}
	return len >= AL_EGRESS_HEAD_MAX ? "head too large" : NULL;
}

/* host[:port] into r; default_port 0 means the port is required. */
static const char *
parse_authority(const char *s, size_t n, uint16_t default_port, struct al_egress_request *r)
{
	const char *colon = memrchr(s, ':', n);
	size_t host_len = colon ? (size_t)(colon - s) : n;

	if (n && s[0] == '[')
		return "IPv6 literal";
	if (memchr(s, '@', n))
		return "userinfo in authority";
	if (host_len == 0)
		return "empty host";
	if (host_len > AL_EGRESS_HOST_INPUT_MAX)
		return "host too long";
	if (memchr(s, ':', host_len))
		return "IPv6 literal";
	if (colon) {
		if (al_egress_port_parse(colon + 1, n - host_len - 1, &r->port) < 0)
			return "invalid port";
	} else if (default_port) {
		r->port = default_port;
	} else {
		return "port missing";
	}
	memcpy(r->host, s, host_len);
	r->host[host_len] = '\0';
	return NULL;
}

/* http://authority[/path] */
static const char *
parse_absolute(const char *t, size_t n, struct al_egress_request *r)
{
	size_t auth;

	if (n < 7 || strncasecmp(t, "http://", 7) != 0)
		return "absolute-form target is not http://";
	t += 7;
	n -= 7;
	for (auth = 0; auth < n && t[auth] != '/' && t[auth] != '?'; auth++)
		;
	r->form = AL_EGRESS_ABSOLUTE;
	r->path = t + auth;
	r->path_len = n - auth;
	if (r->path_len && r->path[0] == '?')
		return "query without a path";
	return parse_authority(t, auth, 80, r);
}

static const char *
parse_target(const char *t, size_t n, enum al_egress_where where, struct al_egress_request *r)
{
	bool connect = strcmp(r->method, "CONNECT") == 0;

	if (memchr(t, '#', n))
		return "fragment in target";
	if (where == AL_EGRESS_IN_TUNNEL) {
		if (connect)
			return "CONNECT inside a tunnel";
		if (t[0] != '/')
			return "target inside a tunnel is not origin-form";
		r->form = AL_EGRESS_ORIGIN;
		r->path = t;
		r->path_len = n;
		return NULL;
	}
	if (connect) {
		r->form = AL_EGRESS_CONNECT;
		return parse_authority(t, n, 0, r);
	}
	if (t[0] == '/')
		return "origin-form request to the proxy";
	if (t[0] == '*')
		return "asterisk-form request";
	return parse_absolute(t, n, r);
}

/* METHOD SP target SP HTTP/1.1 */
static const char *
parse_request_line(const char *l, size_t n, enum al_egress_where where, struct al_egress_request *r)
{
	const char *sp1 = memchr(l, ' ', n), *sp2, *target, *version;
	size_t mlen, tlen, vlen;

	if (n == 0)
		return "empty line before the request line";
	if (!sp1)
		return "malformed request line";
	mlen = (size_t)(sp1 - l);
	if (mlen > AL_EGRESS_METHOD_MAX || !token(l, mlen))
		return "invalid method";
	target = sp1 + 1;
	sp2 = memchr(target, ' ', n - mlen - 1);
	if (!sp2 || sp2 == target)
		return "malformed request line";
	tlen = (size_t)(sp2 - target);
	version = sp2 + 1;
	vlen = n - (size_t)(version - l);
	if (memchr(target, '\t', tlen))
		return "invalid character in target";
	if (vlen == 8 && memcmp(version, "HTTP/1.1", 8) == 0)
		;
	/* Python's http.client (pip, requests) opens its tunnels with CONNECT ... HTTP/1.0;
	 * a CONNECT has no body, and what runs inside the tunnel is still HTTP/1.1 only */
	else if (vlen == 8 && memcmp(version, "HTTP/1.0", 8) == 0 && where == AL_EGRESS_AT_PROXY &&
		 mlen == 7 && memcmp(l, "CONNECT", 7) == 0)
		;
	else if (vlen >= 5 && memcmp(version, "HTTP/", 5) == 0)
		return "HTTP version is not 1.1";
	else
		return "malformed request line";
	memcpy(r->method, l, mlen);
	r->method[mlen] = '\0';
	return parse_target(target, tlen, where, r);
}

/* What the header lines established, checked once all are read. */
struct head_state {
	const struct al_egress_header *host;
	bool has_length, has_te;
};

static const char *
content_length(const struct al_egress_header *h, struct head_state *st, struct al_egress_request *r)
{
	int64_t v = 0;

	if (st->has_length)
		return "duplicate Content-Length";
	st->has_length = true;
	if (h->value_len == 0 || h->value_len > 18)
		return "invalid Content-Length";
	for (size_t i = 0; i < h->value_len; i++) {
		if (h->value[i] < '0' || h->value[i] > '9')
			return "invalid Content-Length";
		v = v * 10 + (h->value[i] - '0');
	}
	r->content_length = v;
	return NULL;
}

static bool
named(const struct al_egress_header *h, const char *name)
{
	return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* A Connection option naming a framing header: a hop that honours it drops the header
 * the proxy framed the request by. */
static const char *
connection_options(const struct al_egress_header *h)
{
	static const char *const framing[] = {"content-length", "transfer-encoding", "host"};
	size_t i = 0;

	while (i < h->value_len) {
		size_t start, end;

		while (i < h->value_len && (h->value[i] == ' ' || h->value[i] == '\t'))
			i++;
		start = i;
		while (i < h->value_len && h->value[i] != ',')
			i++;
		end = i++;
		while (end > start && (h->value[end - 1] == ' ' || h->value[end - 1] == '\t'))
			end--;
		for (size_t k = 0; k < sizeof(framing) / sizeof(framing[0]); k++)
			if (end - start == strlen(framing[k]) &&
			    strncasecmp(h->value + start, framing[k], end - start) == 0)
				return "Connection names a framing header";
	}
	return NULL;
}

/* The headers whose meaning the proxy depends on. */
static const char *
known_header(const struct al_egress_header *h, struct head_state *st, struct al_egress_request *r)
{
	if (named(h, "Content-Length"))
		return content_length(h, st, r);
	if (named(h, "Transfer-Encoding")) {
		if (st->has_te)
			return "duplicate Transfer-Encoding";
		st->has_te = true;
		if (h->value_len != 7 || memcmp(h->value, "chunked", 7) != 0)
			return "Transfer-Encoding is not exactly chunked";
		r->chunked = true;
	} else if (named(h, "Host")) {
		if (st->host)
			return "duplicate Host";
		st->host = h;
	} else if (named(h, "Upgrade")) {
		return "Upgrade refused";
	} else if (named(h, "Connection")) {
		return connection_options(h);
	}
	return NULL;
}

/* name ":" OWS value OWS */
static const char *
parse_header(const char *l, size_t n, struct al_egress_header *h)
{
	const char *colon;
	size_t vstart, vend;

	if (l[0] == ' ' || l[0] == '\t')
		return "obsolete line folding";
	colon = memchr(l, ':', n);
	if (!colon)
		return "header line without a colon";
	h->name = l;
	h->name_len = (size_t)(colon - l);
	if (h->name_len == 0)
		return "empty header name";
	if (l[h->name_len - 1] == ' ' || l[h->name_len - 1] == '\t')
		return "whitespace before the colon";
	if (!token(l, h->name_len))
		return "invalid header name";
	vstart = h->name_len + 1;
	while (vstart < n && (l[vstart] == ' ' || l[vstart] == '\t'))
		vstart++;
	vend = n;
	while (vend > vstart && (l[vend - 1] == ' ' || l[vend - 1] == '\t'))
		vend--;
	h->value = l + vstart;
	h->value_len = vend - vstart;
	return NULL;
}

/* Host against the target: required in HTTP/1.1; in a tunnel it names the host; at the
 * proxy it must name the target's own host and port, never another. A CONNECT's Host
 * without a port (npm 9's agent sends one) means the CONNECT's own port. */
static const char *
check_host(const struct head_state *st, struct al_egress_request *r)
{
	struct al_egress_request from_host;
	const struct al_egress_header *h = st->host;
	uint16_t dflt = r->form == AL_EGRESS_ABSOLUTE  ? 80
			: r->form == AL_EGRESS_CONNECT ? r->port
						       : 1;

	if (!h)
		return r->form == AL_EGRESS_CONNECT ? NULL : "missing Host";
	from_host.port = 0;
	if (parse_authority(h->value, h->value_len, dflt, &from_host))
		return "invalid Host";
	if (r->form == AL_EGRESS_ORIGIN) {
		memcpy(r->host, from_host.host, strlen(from_host.host) + 1);
		r->port = h->value_len && memchr(h->value, ':', h->value_len) ? from_host.port : 0;
		return NULL;
	}
	if (strcasecmp(from_host.host, r->host) != 0 || from_host.port != r->port)
		return "Host differs from the target";
	return NULL;
}

static const char *
parse_headers(const char *p, const char *end, struct al_egress_request *r)
{
	struct head_state st = {0};
	const char *why;

	while (p < end) {
		const char *eol = memchr(p, '\r', (size_t)(end - p));
		size_t n = (size_t)(eol - p);

		if (n == 0)
			break; /* the empty line */
		if (r->nheaders == AL_EGRESS_HEADERS_MAX)
			return "too many header lines";
		why = parse_header(p, n, &r->headers[r->nheaders]);
		if (!why)
			why = known_header(&r->headers[r->nheaders], &st, r);
		if (why)
			return why;
		r->nheaders++;
		p = eol + 2;
	}
	if (st.has_length && st.has_te)
		return "both Content-Length and Transfer-Encoding";
	if (r->form == AL_EGRESS_CONNECT && (r->chunked || r->content_length > 0))
		return "body on CONNECT";
	return check_host(&st, r);
}

int
al_egress_request_parse(const char *data, size_t len, enum al_egress_where where,
			struct al_egress_request *ret, const char **ret_reason)
{
	struct al_egress_request r = {.content_length = -1};
	const char *why, *eol;
	size_t end;

	why = scan_head(data, len, &end);
	if (!why && end == 0)
		return -EAGAIN;
	if (!why) {
		eol = memchr(data, '\r', end);
		why = parse_request_line(data, (size_t)(eol - data), where, &r);
		if (!why)
			why = parse_headers(eol + 2, data + end, &r);
	}
	if (why) {
		if (ret_reason)
			*ret_reason = why;
		return -EINVAL;
	}
	r.head_len = end;
	*ret = r;
	return 0;
}

const struct al_egress_header *
al_egress_request_header(const struct al_egress_request *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (named(&r->headers[i], name))
			return &r->headers[i];
	return NULL;
}
