/* Who is calling: a bearer token, or a reviewer's session cookie (with its CSRF token and
 * same-origin checks on state-changing requests); signing in and out. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "lib/macros.h"
#include "server/auth.h"
#include "server/pause.h"
#include "server/quarantine.h"
#include "server/server.h"

/* Over TLS the cookie takes the __Host- prefix: Secure, Path=/, no Domain, or no cookie. */
#define SESSION_COOKIE "airlock_session"
#define SESSION_COOKIE_TLS "__Host-airlock_session"

void
al_auth_caller_clear(struct al_caller *c)
{
	free(c->name);
	free(c->role);
}

static bool
ct_equal(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static bool
is_hexn(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

static bool
state_changing(const struct al_http_req *req)
{
	return strcmp(al_http_method(req), "GET") && strcmp(al_http_method(req), "HEAD");
}

static const char *
cookie_name(const struct al_http_req *req)
{
	return al_http_tls(req) ? SESSION_COOKIE_TLS : SESSION_COOKIE;
}

/* A browser's state-changing request comes from this origin: its Origin, when sent, names
 * this host. */
static int
same_origin(const struct al_http_req *req, struct al_http_resp *resp)
{
	const char *origin = al_http_header(req, "Origin");
	const char *host = al_http_header(req, "Host");
	const char *sep = origin ? strstr(origin, "://") : NULL;

	if (origin && (!sep || !host || strcmp(sep + 3, host))) {
		al_reply_error(resp, 403, "forbidden", "cross-origin request refused");
		return -EPERM;
	}
	return 0;
}

/* A browser's POST carries JSON: a cross-site form can send no such body without a
 * preflight this server never answers. */
static int
json_body(const struct al_http_req *req, struct al_http_resp *resp)
{
	const char *ct = al_http_header(req, "Content-Type");

	if (strcmp(al_http_method(req), "POST"))
		return 0;
	if (!ct || strncmp(ct, "application/json", 16) ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
		al_reply_error(resp, 415, "unsupported media type",
			       "send the body as application/json");
		return -EPERM;
	}
	return 0;
}

/* The signed-in reviewer of a session cookie; state-changing requests also need the
 * session's CSRF token in X-CSRF-Token. */
static int
authenticate_session(struct al_server *srv, const struct al_http_req *req, const char *cookie,
		     struct al_http_resp *resp, struct al_caller *c)
{
	struct al_session ss;
	const char *csrf;

	if (is_hexn(cookie, 64))
		al_sha256_hex(cookie, 64, c->session_hash);
	if (!c->session_hash[0] || al_store_session_find(srv->store, c->session_hash, &ss) < 0) {
		al_reply_error(resp, 401, "unauthorized",
			       "the session expired or ended: sign in again");
		return -EACCES;
	}
	if (state_changing(req)) {
		if (same_origin(req, resp) < 0)
			return -EPERM;
		csrf = al_http_header(req, "X-CSRF-Token");
		if (!csrf || strlen(csrf) != 64 || !ct_equal(csrf, ss.csrf, 64)) {
			al_reply_error(resp, 403, "forbidden",
				       "missing or wrong X-CSRF-Token header");
			return -EPERM;
		}
		if (json_body(req, resp) < 0)
			return -EPERM;
	}
	c->name = strdup(ss.name);
	c->role = strdup(ss.role);
	c->session = true;
	c->expires = ss.expires;
	memcpy(c->csrf, ss.csrf, sizeof(c->csrf));
	if (!c->name || !c->role) {
		al_reply_error(resp, 500, "internal", "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* 0 and the caller, or an error reply already written.  A bearer token wins over a
 * cookie. */
int
al_auth_caller(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp,
	       struct al_caller *c)
{
	const char *h = al_http_header(req, "Authorization");
	const char *cookie = al_http_cookie(req, cookie_name(req));
	char hash[65];

	if (!h && cookie)
		return authenticate_session(srv, req, cookie, resp, c);
	if (!h || strncmp(h, "Bearer ", 7) != 0 || !h[7]) {
		al_reply_error(resp, 401, "unauthorized", "missing bearer token");
		return -EACCES;
	}
	if (strlen(h + 7) > 256) {
		al_reply_error(resp, 401, "unauthorized", "invalid token");
		return -EACCES;
	}
	al_sha256_hex(h + 7, strlen(h + 7), hash);
	if (al_store_token_find(srv->store, hash, &c->name, &c->role) < 0) {
		al_reply_error(resp, 401, "unauthorized", "invalid token");
		return -EACCES;
	}
	return 0;
}

int
al_auth_require_role(const struct al_caller *c, const char *role, struct al_http_resp *resp)
{
	char detail[96];

	if (!strcmp(c->role, role) || !strcmp(c->role, "admin"))
		return 0;
	snprintf(detail, sizeof(detail), "this needs the %s role", role);
	al_reply_error(resp, 403, "forbidden", detail);
	return -EPERM;
}

/* The cookie that carries a session (value NULL: the one that ends it). */
static char *
session_cookie(const struct al_http_req *req, const char *value, long long max_age)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s=%s; Path=/; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
		 cookie_name(req), value ? value : "", value ? max_age : 0,
		 al_http_tls(req) ? "; Secure" : "");
	return strdup(buf);
}

/* Who is signed in, whether the server is paused and which tokens are quarantined (the
 * page shows both as banners). */
static json_t *
session_json(struct al_server *srv, const struct al_caller *c)
{
	return json_pack("{s:s, s:s, s:s*, s:o*, s:o, s:o*}", "name", c->name, "role", c->role,
			 "csrf", c->session ? c->csrf : NULL, "expires",
			 c->session ? json_integer(c->expires) : NULL, "pause", al_pause_json(srv),
			 "quarantined", al_quarantine_json(srv, c->name, c->role));
}

/* POST /v1/session {"token": T}: a reviewer's (or admin's) token for a session cookie. */
static void
sign_in(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp)
{
	size_t len;
	const char *body = al_http_body(req, &len);
	json_t *b = NULL, *t;
	char cookie[65], hash[65];
	struct al_session ss = {0};
	struct al_config *cfg;
	struct al_caller c = {0};
	struct al_err err = {0};

	if (same_origin(req, resp) < 0 || json_body(req, resp) < 0)
		return;
	b = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	t = json_object_get(b, "token");
	if (!json_is_object(b) || json_object_size(b) != 1 || !json_is_string(t) ||
	    !json_string_length(t) || json_string_length(t) > 256) {
		al_reply_error(resp, 400, "bad request", "expected {\"token\": TOKEN}");
		goto out;
	}
	al_sha256_hex(json_string_value(t), json_string_length(t), ss.token_hash);
	if (al_store_token_find(srv->store, ss.token_hash, &c.name, &c.role) < 0) {
		al_log("info", "session.refused", "reason=token");
		al_reply_error(resp, 401, "unauthorized", "invalid token");
		goto out;
	}
	if (!strcmp(c.role, "agent")) {
		al_reply_error(resp, 403, "forbidden",
			       "agent tokens cannot sign in: the page is for reviewers");
		goto out;
	}
	al_random_hex(32, cookie);
	al_random_hex(32, ss.csrf);
	al_sha256_hex(cookie, 64, hash);
	cfg = al_live_config(srv);
	ss.expires = (long long)time(NULL) + cfg->session_ttl_s;
	resp->set_cookie = session_cookie(req, cookie, cfg->session_ttl_s);
	al_live_config_put(srv, cfg);
	snprintf(ss.name, sizeof(ss.name), "%s", c.name);
	snprintf(ss.role, sizeof(ss.role), "%s", c.role);
	if (!resp->set_cookie || al_store_session_add(srv->store, hash, &ss, &err) < 0) {
		free(resp->set_cookie);
		resp->set_cookie = NULL;
		al_log("error", "session.store_failed", "error=%s", al_log_q(al_err_msg(&err)));
		al_reply_error(resp, 500, "internal", "could not open the session");
		goto out;
	}
	al_log("info", "session.started", "name=%s role=%s", al_log_q(c.name), c.role);
	c.session = true;
	c.expires = ss.expires;
	memcpy(c.csrf, ss.csrf, sizeof(c.csrf));
	al_reply_json(resp, 200, session_json(srv, &c));
out:
	explicit_bzero(cookie, sizeof(cookie));
	json_decref(b);
	al_auth_caller_clear(&c);
}

void
al_auth_session(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp)
{
	struct al_caller c = {0};
	struct al_err err = {0};
	const char *m = al_http_method(req);

	if (!strcmp(m, "POST")) {
		sign_in(srv, req, resp);
		return;
	}
	if (strcmp(m, "GET") && strcmp(m, "DELETE")) {
		al_reply_error(resp, 405, "method not allowed", m);
		return;
	}
	if (al_auth_caller(srv, req, resp, &c) < 0)
		return;
	if (!strcmp(m, "GET")) {
		al_reply_json(resp, 200, session_json(srv, &c));
	} else if (!c.session) {
		al_reply_error(resp, 400, "bad request", "no session to end: none was used");
	} else if (al_store_session_end(srv->store, c.session_hash, c.name, &err) < 0) {
		al_reply_error(resp, 401, "unauthorized", "the session had already ended");
	} else {
		al_log("info", "session.ended", "name=%s", al_log_q(c.name));
		resp->set_cookie = session_cookie(req, NULL, 0);
		al_reply_json(resp, 200, json_pack("{s:b}", "signed_out", 1));
	}
	al_auth_caller_clear(&c);
}
