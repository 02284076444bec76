/* Each request a proxied connection carries: it must name the host the connection was
 * allowed for; the client's copies of secret headers and the proxy's own headers are
 * dropped; secrets are added (inside a verified TLS tunnel only). And each connection's
 * record: names, numbers and reasons, never a secret's value. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "egress/proxy-int.h"
#include "egress/relay.h"
#include "lib/macros.h"

void
al_proxy_answer_established(int fd)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";

	if (send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) < 0) {
		/* the relay finds the client gone */
	}
}

static bool
named(const struct al_egress_header *h, const char *name)
{
	return h->name_len == strlen(name) && strncasecmp(h->name, name, h->name_len) == 0;
}

/* Headers that belong to the hop to the proxy, never passed on. */
static bool
hop_header(const struct al_egress_header *h, bool plain)
{
	if (named(h, "proxy-authorization") || named(h, "proxy-connection"))
		return true;
	return plain && (named(h, "host") || named(h, "connection") || named(h, "keep-alive"));
}

static const char *
same_host(struct al_proxy_conn *k, const struct al_egress_request *req)
{
	char host[AL_EGRESS_HOST_MAX + 1];
	const char *why = NULL;

	if (al_egress_host_normalize(req->host, strlen(req->host), host, &why) < 0 ||
	    strcmp(host, k->host) || (req->port && req->port != k->port)) {
		k->in_request_refusal = true;
		return "Host header names another host than the connection's";
	}
	return NULL;
}

static int
put_headers(struct al_proxy_conn *k, const struct al_egress_request *req, bool plain,
	    struct al_buf *out)
{
	const struct al_proxy_conf *c = k->px->conf;
	int r = 0;

	for (size_t i = 0; i < req->nheaders && r == 0; i++) {
		const struct al_egress_header *h = &req->headers[i];

		if (hop_header(h, plain) || al_proxy_secret_for(c, k->host, h->name, h->name_len))
			continue;
		r = al_buf_printf(out, "%.*s: %.*s\r\n", (int)h->name_len, h->name,
				  (int)h->value_len, h->value);
	}
	for (size_t i = 0; i < c->n_secrets && r == 0 && !plain; i++) {
		const struct al_proxy_secret *s = &c->secrets[i];

		if (strcmp(s->host, k->host))
			continue;
		r = al_buf_printf(out, "%s: ", s->header);
		if (r == 0)
			r = al_buf_append(out, s->value, s->value_len);
		if (r == 0)
			r = al_buf_puts(out, "\r\n");
		k->secrets_used |= 1u << i;
	}
	return r;
}

const char *
al_proxy_check_head(void *arg, const struct al_egress_request *req, struct al_buf *out)
{
	struct al_proxy_conn *k = arg;
	bool plain = req->form == AL_EGRESS_ABSOLUTE;
	const char *why = same_host(k, req);
	int r;

	if (why)
		return why;
	r = al_buf_printf(out, "%s %.*s%s HTTP/1.1\r\n", req->method, (int)req->path_len, req->path,
			  req->path_len ? "" : "/");
	if (r == 0 && plain)
		r = k->port == 80 ? al_buf_printf(out, "Host: %s\r\n", k->host)
				  : al_buf_printf(out, "Host: %s:%u\r\n", k->host, k->port);
	if (r == 0)
		r = put_headers(k, req, plain, out);
	if (r == 0 && plain)
		r = al_buf_puts(out, "Connection: close\r\n");
	if (r == 0)
		r = al_buf_puts(out, "\r\n");
	return r == 0 ? NULL : "request head too long";
}

static json_t *
secret_names(const struct al_proxy_conn *k)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < k->px->conf->n_secrets; i++)
		if (k->secrets_used & (1u << i))
			json_array_append_new(a, json_string(k->px->conf->secrets[i].name));
	return a;
}

void
al_proxy_record(struct al_proxy_conn *k)
{
	json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:i, s:I, s:o}", "run",
			      k->run->label, "host", k->host[0] ? k->host : "-", "port", k->port,
			      "decision", k->denied ? "denied" : "allowed", "reason", k->reason,
			      "mode", k->mode, "address", k->addr, "up", (json_int_t)k->up, "down",
			      (json_int_t)k->down, "requests", (int)k->requests, "ms",
			      (json_int_t)(al_relay_now_ms() - k->t0), "secrets", secret_names(k));
	char *line = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;

	pthread_mutex_lock(&k->px->out_lock);
	if (line) {
		fputs(line, k->px->out);
		fputc('\n', k->px->out);
		fflush(k->px->out);
	}
	pthread_mutex_unlock(&k->px->out_lock);
	free(line);
	json_decref(j);
}
