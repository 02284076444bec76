/* HTTP API: authentication, the proposal intake (its checks: server/intake.c) and the
 * read views. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gates/gates.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "server/bases.h"
#include "server/grant.h"
#include "server/metrics.h"
#include "server/server.h"
#include "server/webui.h"

#define LIST_LIMIT 200
#define AUDIT_LIMIT 500
/* Over TLS the cookie takes the __Host- prefix: Secure, Path=/, no Domain, or no cookie. */
#define SESSION_COOKIE "airlock_session"
#define SESSION_COOKIE_TLS "__Host-airlock_session"

struct caller {
	char *name; /* owned */
	char *role; /* owned */
	bool session;
	char session_hash[65];
	char csrf[65];
	long long expires;
};

static void
caller_clear(struct caller *c)
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
		     struct al_http_resp *resp, struct caller *c)
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
static int
authenticate(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp,
	     struct caller *c)
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

static int
require_role(const struct caller *c, const char *role, struct al_http_resp *resp)
{
	char detail[96];

	if (!strcmp(c->role, role) || !strcmp(c->role, "admin"))
		return 0;
	snprintf(detail, sizeof(detail), "this needs the %s role", role);
	al_reply_error(resp, 403, "forbidden", detail);
	return -EPERM;
}

typedef int (*body_intake)(const char *body, size_t len, json_t **ret, struct al_err *err);

/* The first way j passes the configured caps (depth, strings other than the patches,
 * arrays), or NULL. */
static const char *
over_limits(const json_t *j, const struct al_limits *lim, long long depth, const char *key,
	    char *buf, size_t n)
{
	const char *k, *why;
	json_t *v;
	size_t i;

	if (depth > lim->max_json_depth) {
		snprintf(buf, n, "body: nested deeper than %lld", lim->max_json_depth);
		return buf;
	}
	if (json_is_string(j) && (long long)json_string_length(j) > lim->max_json_string &&
	    !(key && (!strcmp(key, "patch") || !strcmp(key, "test_patch")) && depth == 2)) {
		snprintf(buf, n, "%.40s: a string longer than %lld bytes", key ? key : "body",
			 lim->max_json_string);
		return buf;
	}
	if (json_is_array(j)) {
		if ((long long)json_array_size(j) > lim->max_json_array) {
			snprintf(buf, n, "%.40s: more than %lld elements", key ? key : "body",
				 lim->max_json_array);
			return buf;
		}
		json_array_foreach (j, i, v)
			if ((why = over_limits(v, lim, depth + 1, key, buf, n)))
				return why;
	}
	json_object_foreach ((json_t *)j, k, v)
		if ((why = over_limits(v, lim, depth + 1, k, buf, n)))
			return why;
	return NULL;
}

/* 1 when the raw JSON text nests arrays and objects deeper than max: read before the
 * parser, which would recurse that deep. */
static int
nests_deeper(const char *p, size_t len, long long max)
{
	long long depth = 0;
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_string = 0;
		} else if (p[i] == '"') {
			in_string = 1;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > max)
				return 1;
		} else if (p[i] == ']' || p[i] == '}') {
			depth--;
		}
	}
	return 0;
}

/* The configured caps on a proposal's or a revision's patches and test ids (the intake
 * holds them to its ceilings already), or NULL. */
static const char *
over_patch_caps(const json_t *b, const struct al_limits *lim, char *buf, size_t n)
{
	static const char *const patches[] = {"patch", "test_patch"};
	const json_t *ftp = json_object_get(b, "fail_to_pass");

	for (size_t i = 0; i < AL_ARRAY_SIZE(patches); i++) {
		const json_t *v = json_object_get(b, patches[i]);

		if (json_is_string(v) && (long long)json_string_length(v) > lim->max_patch_bytes) {
			snprintf(buf, n, "%s: larger than %lld bytes (limits.max_patch_bytes)",
				 patches[i], lim->max_patch_bytes);
			return buf;
		}
	}
	if (json_is_array(ftp) && (long long)json_array_size(ftp) > lim->max_fail_to_pass) {
		snprintf(buf, n, "fail_to_pass: more than %lld test ids (limits.max_fail_to_pass)",
			 lim->max_fail_to_pass);
		return buf;
	}
	return NULL;
}

/* The request body as JSON that passed intake (server/intake.c) and the caps; NULL when
 * it did not, with the 400 written ("malformed JSON", or error and the first problem). */
static json_t *
accept_body(const struct al_http_req *req, const struct al_limits *lim, body_intake intake,
	    const char *error, struct al_http_resp *resp)
{
	size_t len;
	const char *body = al_http_body(req, &len);
	struct al_err err = {0};
	json_t *b = NULL;
	const char *why;
	char msg[128];
	int r;

	if (nests_deeper(body, len, lim->max_json_depth)) {
		snprintf(msg, sizeof(msg), "body: nested deeper than %lld", lim->max_json_depth);
		al_reply_error(resp, 400, error, msg);
		return NULL;
	}
	r = intake(body, len, &b, &err);

	if (r < 0) {
		al_reply_error(resp, 400, r == -EINVAL ? error : "malformed JSON",
			       al_err_msg(&err));
		return NULL;
	}
	if ((why = over_limits(b, lim, 1, NULL, msg, sizeof(msg))) ||
	    (why = over_patch_caps(b, lim, msg, sizeof(msg)))) {
		al_reply_error(resp, 400, error, why);
		json_decref(b);
		return NULL;
	}
	return b;
}

/* The patches of a request body into p, borrowed from b. */
static void
take_patches(const json_t *b, struct al_proposal *p)
{
	p->patch = (char *)json_string_value(json_object_get(b, "patch"));
	p->patch_len = json_string_length(json_object_get(b, "patch"));
	p->test_patch = (char *)json_string_value(json_object_get(b, "test_patch"));
	p->test_patch_len = json_string_length(json_object_get(b, "test_patch"));
}

/* 0 when principal may submit now (a token taken from its bucket), or the seconds until
 * it may. */
static int
rate_wait(struct al_server *srv, const char *principal, const struct al_limits *lim)
{
	double now = al_metrics_now(), rate = (double)lim->submit_per_minute / 60.0;
	struct al_bucket *b = NULL, *oldest = &srv->buckets[0];
	int wait = 0;

	if (lim->submit_per_minute == 0)
		return 0;
	pthread_mutex_lock(&srv->mu);
	for (size_t i = 0; i < AL_ARRAY_SIZE(srv->buckets) && !b; i++) {
		if (!strcmp(srv->buckets[i].name, principal))
			b = &srv->buckets[i];
		else if (srv->buckets[i].at < oldest->at)
			oldest = &srv->buckets[i];
	}
	if (!b) {
		b = oldest; /* a principal not seen lately starts full */
		snprintf(b->name, sizeof(b->name), "%s", principal);
		b->tokens = (double)lim->submit_burst;
		b->at = now;
	}
	b->tokens += (now - b->at) * rate;
	if (b->tokens > (double)lim->submit_burst)
		b->tokens = (double)lim->submit_burst;
	b->at = now;
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else
		wait = (int)((1.0 - b->tokens) / rate) + 1;
	pthread_mutex_unlock(&srv->mu);
	return wait;
}

static int
draining(struct al_server *srv)
{
	int d;

	pthread_mutex_lock(&srv->mu);
	d = srv->draining;
	pthread_mutex_unlock(&srv->mu);
	return d;
}

/* 503 with Retry-After while the server stops: what it takes now would wait for the next
 * start, so the agent is told to send it then. */
static int
refuse_draining(struct al_server *srv, struct al_http_resp *resp)
{
	if (!draining(srv))
		return 0;
	al_reply_error(resp, 503, "unavailable",
		       "the server is shutting down: send it again once it is back");
	resp->retry_after = 10;
	return -EAGAIN;
}

/* 503 while the server stops; 429 with Retry-After when the queue is full or the
 * principal is over its rate. */
static int
admit(struct al_server *srv, const struct al_limits *lim, const char *principal,
      struct al_http_resp *resp)
{
	long long queued;
	char detail[128];
	int wait;

	if (refuse_draining(srv, resp) < 0)
		return -EAGAIN;
	queued = al_store_count_queued(srv->store);
	if (queued >= lim->max_queued) {
		snprintf(detail, sizeof(detail), "the queue is full (%lld proposals wait)", queued);
		al_reply_error(resp, 429, "too many requests", detail);
		resp->retry_after = 30;
		return -EAGAIN;
	}
	if ((wait = rate_wait(srv, principal, lim)) > 0) {
		snprintf(detail, sizeof(detail), "%s: more than %lld submissions a minute",
			 principal, lim->submit_per_minute);
		al_reply_error(resp, 429, "too many requests", detail);
		resp->retry_after = wait;
		return -EAGAIN;
	}
	return 0;
}

static void
post_proposal(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp,
	      const struct caller *c)
{
	struct al_config *cfg = al_live_config(srv);
	json_t *b = NULL, *ftp, *prov;
	_cleanup_free_ char *ftp_text = NULL, *prov_text = NULL;
	const struct al_repo_conf *repo = NULL;
	struct al_proposal p = {0};
	struct al_err err = {0}, berr = {0};
	char loc[64];
	int based = 0;

	if (admit(srv, &cfg->limits, c->name, resp) == 0)
		b = accept_body(req, &cfg->limits, al_intake_proposal, "invalid proposal", resp);
	if (b)
		repo = al_config_repo(cfg, json_string_value(json_object_get(b, "repo")));
	if (repo)
		based = al_bases_check(repo, json_string_value(json_object_get(b, "base")), &berr);
	al_live_config_put(srv, cfg);
	if (!b)
		return;
	if (!repo) {
		al_reply_error(resp, 404, "unknown repository",
			       json_string_value(json_object_get(b, "repo")));
		goto out;
	}
	if (based == -ENOENT || based == -EPERM || based == -EINVAL) {
		al_reply_error(resp, 400,
			       based == -EPERM ? "base is not on a protected branch"
					       : "base does not resolve",
			       al_err_msg(&berr));
		goto out;
	}
	if (based < 0) {
		al_log("error", "proposal.base_failed", "error=%s", al_log_q(al_err_msg(&berr)));
		al_reply_error(resp, 500, "internal", "could not read the repository");
		goto out;
	}
	ftp = json_object_get(b, "fail_to_pass");
	prov = json_object_get(b, "provenance");
	ftp_text = ftp ? json_dumps(ftp, JSON_COMPACT) : strdup("[]");
	prov_text = prov ? json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	al_random_hex(16, p.id);
	p.repo = (char *)json_string_value(json_object_get(b, "repo"));
	p.base = (char *)json_string_value(json_object_get(b, "base"));
	p.proposer = c->name;
	p.title = (char *)json_string_value(json_object_get(b, "title"));
	take_patches(b, &p);
	p.fail_to_pass = ftp_text;
	p.provenance = prov_text;
	p.created = (long long)time(NULL);
	if (!ftp_text || !prov_text || al_store_proposal_insert(srv->store, &p, &err) < 0) {
		al_log("error", "proposal.store_failed", "error=%s", al_log_q(al_err_msg(&err)));
		al_reply_error(resp, 500, "internal", "could not store the proposal");
		goto out;
	}
	al_log("info", "proposal.queued", "id=%s repo=%s proposer=%s", p.id, al_log_q(p.repo),
	       al_log_q(c->name));
	snprintf(loc, sizeof(loc), "/v1/proposals/%s", p.id);
	resp->location = strdup(loc);
	al_reply_json(resp, 202, json_pack("{s:s, s:s}", "id", p.id, "state", "queued"));
out:
	json_decref(b);
}

static json_t *
parse_or_null(const char *text)
{
	json_t *v = text ? json_loads(text, 0, NULL) : NULL;

	return v ? v : json_null();
}

/* Recorded decisions, each marked stale when it was given for another revision or tree. */
static json_t *
approvals_view(struct al_server *srv, const struct al_proposal *p)
{
	json_t *list = NULL, *a;
	size_t i;

	if (al_store_approvals(srv->store, p->id, &list, NULL) < 0)
		return NULL;
	json_array_foreach (list, i, a) {
		const char *tree = json_string_value(json_object_get(a, "tree"));
		bool stale = json_integer_value(json_object_get(a, "revision")) != p->revision ||
			     !p->candidate_tree || !tree || strcmp(tree, p->candidate_tree);

		json_object_set_new(a, "stale", json_boolean(stale));
	}
	return list;
}

/* What an approval would grant, stated where a reviewer decides. */
static json_t *
approval_grants(struct al_server *srv, const struct al_proposal *p)
{
	struct al_config *cfg;
	const struct al_repo_conf *repo;
	struct al_authority auth;
	char why[256];
	json_t *o = NULL;

	if (strcmp(p->state, "awaiting_approval"))
		return json_null();
	cfg = al_live_config(srv);
	repo = al_config_repo(cfg, p->repo);
	if (repo &&
	    al_gates_authority(repo->policy, 2, p->id, p->base, &auth, why, sizeof(why)) == 0)
		o = json_pack("{s:i, s:s, s:s?, s:i, s:s}", "tier", 2, "authority", auth.authority,
			      "ref", auth.ref[0] ? auth.ref : NULL, "lifetime_s",
			      (int)auth.lifetime_s, "summary", why);
	al_live_config_put(srv, cfg);
	return o ? o : json_null();
}

/* The server's own check of a stored grant, for the page: signature and key status
 * under the keyring in force, and the statement bound to the candidate commit. */
static json_t *
grant_verification(struct al_server *srv, const struct al_proposal *p)
{
	struct al_grant_binding b = {.repo = p->repo, .commit = p->candidate_commit};
	const struct al_key *key = NULL;
	_cleanup_free_ char *payload = NULL;
	struct al_err err = {0};
	char keyid[AL_KEYID_HEX] = "", status[12] = "unknown";
	json_t *stmt = NULL;
	size_t len = 0;
	int r;

	if (!p->grant)
		return json_null();
	pthread_mutex_lock(&srv->mu);
	r = al_keyring_verify(srv->keyring, p->grant, strlen(p->grant), time(NULL), &payload, &len,
			      &key, &err);
	if (key) {
		snprintf(keyid, sizeof(keyid), "%s", key->keyid);
		snprintf(status, sizeof(status), "%s", key->status);
	}
	pthread_mutex_unlock(&srv->mu);
	if (r == 0)
		r = al_grant_check(payload, len, time(NULL), &b, &stmt, &err);
	json_decref(stmt);
	return json_pack(
	    "{s:b, s:s, s:s, s:s}", "ok", r == 0, "keyid", keyid, "key_state", status, "detail",
	    r == 0 ? "signature verified; bound to the candidate commit" : al_err_msg(&err));
}

static json_t *
proposal_view(struct al_server *srv, const struct al_proposal *p)
{
	json_t *result = parse_or_null(p->result);
	json_t *runs = json_object_get(result, "runs");
	json_t *runs_v = runs ? json_incref(runs) : json_array();
	json_t *approvals = approvals_view(srv, p);
	json_t *v = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:o, s:s?, s:{s:s?, s:s?}, s:o,"
	    " s:o, s:o, s:s?, s:s?, s:o, s:o}",
	    "id", p->id, "repo", p->repo, "base", p->base, "state", p->state, "proposer",
	    p->proposer, "created", (json_int_t)p->created, "updated", (json_int_t)p->updated,
	    "revision", (json_int_t)p->revision, "tier",
	    p->tier >= 0 ? json_integer(p->tier) : json_null(), "fail_to_pass",
	    parse_or_null(p->fail_to_pass), "provenance", parse_or_null(p->provenance),
	    "base_commit", p->base_commit, "candidate", "commit", p->candidate_commit, "tree",
	    p->candidate_tree, "runs", runs_v, "verdict", parse_or_null(p->verdict), "grant",
	    parse_or_null(p->grant), "error", p->error, "policy_digest", p->policy_digest,
	    "approvals", approvals ? approvals : json_array(), "approval_grants",
	    approval_grants(srv, p));

	if (v) {
		json_object_set_new(v, "grant_state",
				    p->grant
					? json_string(p->grant_state ? p->grant_state : "unused")
					: json_null());
		json_object_set_new(v, "promotion", parse_or_null(p->promotion));
		json_object_set_new(v, "title", p->title ? json_string(p->title) : json_null());
		json_object_set_new(v, "grant_verification", grant_verification(srv, p));
	}

	if (v && json_is_object(result) && json_object_get(result, "apply_error"))
		json_object_set(v, "apply_error", json_object_get(result, "apply_error"));
	json_decref(result);
	return v;
}

static int
id_valid(const char *id)
{
	return strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32;
}

enum proposal_part { PART_VIEW, PART_GRANT, PART_PATCH };

/* {"patch", "test_patch"}: the diffs as the proposer sent them (JSON strings, so UTF-8). */
static void
reply_patches(const struct al_proposal *p, struct al_http_resp *resp)
{
	json_t *tp = p->test_patch ? json_stringn(p->test_patch, p->test_patch_len) : json_null();

	al_reply_json(resp, 200,
		      json_pack("{s:o?, s:o?}", "patch", json_stringn(p->patch, p->patch_len),
				"test_patch", tp));
}

static int
view_stamp(struct al_server *srv, struct al_view_stamp *stamp)
{
	pthread_mutex_lock(&srv->mu);
	stamp->config = srv->config_gen;
	pthread_mutex_unlock(&srv->mu);
	return al_store_generation(srv->store, &stamp->store);
}

static void
get_proposal(struct al_server *srv, const char *id, enum proposal_part part,
	     struct al_http_resp *resp)
{
	char name[96];
	_cleanup_(al_proposal_freep) struct al_proposal *p = NULL;
	struct al_view_stamp stamp;
	struct al_err err = {0};
	int r, stamped = 0;

	if (!id_valid(id)) {
		al_reply_error(resp, 404, "not found", "no such proposal");
		return;
	}
	/* the stamp before any read: a write after it makes what is kept unservable */
	if (part == PART_VIEW && view_stamp(srv, &stamp) == 0) {
		if (al_views_get(&srv->views, id, &stamp, &resp->body, &resp->len) == 0) {
			resp->status = 200;
			return;
		}
		stamped = 1;
	}
	r = part == PART_PATCH ? al_store_proposal_get(srv->store, id, &p, &err)
			       : al_store_proposal_get_unpatched(srv->store, id, &p, &err);
	if (r == -ENOENT) {
		al_reply_error(resp, 404, "not found", "no such proposal");
		return;
	}
	if (r < 0) {
		al_reply_error(resp, 500, "internal", "could not read the proposal");
		return;
	}
	if (part == PART_VIEW) {
		al_reply_json(resp, 200, proposal_view(srv, p));
		if (stamped && resp->status == 200)
			al_views_put(&srv->views, id, &stamp, resp->body, resp->len);
		return;
	}
	if (part == PART_PATCH) {
		reply_patches(p, resp);
		return;
	}
	if (!p->grant) {
		al_reply_error(resp, 404, "no grant", p->state);
		return;
	}
	resp->status = 200;
	resp->body = strdup(p->grant);
	resp->len = resp->body ? strlen(resp->body) : 0;
	snprintf(name, sizeof(name), "attachment; filename=\"airlock-grant-%s.json\"", p->id);
	resp->disposition = strdup(name);
}

static void
list_proposals(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp)
{
	static const char *const states[] = {"queued",	   "running",  "awaiting_approval",
					     "rejected",   "granted",  "error",
					     "superseded", "cancelled"};
	const char *state = al_http_query(req, "state");
	struct al_err err = {0};
	json_t *list;
	size_t i;

	if (state) {
		for (i = 0; i < AL_ARRAY_SIZE(states) && strcmp(state, states[i]); i++)
			;
		if (i == AL_ARRAY_SIZE(states)) {
			al_reply_error(
			    resp, 400, "invalid state",
			    "state must be queued, running, awaiting_approval, rejected, "
			    "granted or error");
			return;
		}
	}
	if (al_store_proposal_list(srv->store, state, LIST_LIMIT, &list, &err) < 0) {
		al_reply_error(resp, 500, "internal", "could not list proposals");
		return;
	}
	al_reply_json(resp, 200, json_pack("{s:o}", "proposals", list));
}

static void
get_keys(struct al_server *srv, struct al_http_resp *resp)
{
	json_t *doc;

	pthread_mutex_lock(&srv->mu);
	doc = al_keyring_json(srv->keyring);
	pthread_mutex_unlock(&srv->mu);
	if (!doc) {
		al_reply_error(resp, 500, "internal", "out of memory");
		return;
	}
	al_reply_json(resp, 200, doc);
}

static void
post_revision(struct al_server *srv, const char *id, const struct al_http_req *req,
	      struct al_http_resp *resp, const struct caller *c)
{
	struct al_config *cfg = al_live_config(srv);
	json_t *b = NULL, *ftp;
	_cleanup_(al_proposal_freep) struct al_proposal *cur = NULL;
	_cleanup_free_ char *ftp_text = NULL;
	struct al_proposal p = {0};
	struct al_err err = {0};
	long long revision = 0;
	char msg[160];
	int r;

	if (refuse_draining(srv, resp) == 0)
		b = accept_body(req, &cfg->limits, al_intake_revision, "invalid revision", resp);
	al_live_config_put(srv, cfg);
	if (!b)
		return;
	r = al_store_proposal_get(srv->store, id, &cur, &err);
	if (r < 0) {
		al_reply_error(resp, r == -ENOENT ? 404 : 500,
			       r == -ENOENT ? "not found" : "internal",
			       r == -ENOENT ? "no such proposal" : "could not read the proposal");
		goto out;
	}
	/* only the proposer revises; an admin submits a proposal of their own instead */
	if (strcmp(cur->proposer, c->name)) {
		al_reply_error(resp, 403, "forbidden", "only the proposer can revise a proposal");
		goto out;
	}
	ftp = json_object_get(b, "fail_to_pass");
	ftp_text = ftp ? json_dumps(ftp, JSON_COMPACT) : strdup(cur->fail_to_pass);
	snprintf(p.id, sizeof(p.id), "%s", cur->id);
	p.proposer = c->name;
	take_patches(b, &p);
	p.fail_to_pass = ftp_text;
	r = ftp_text ? al_store_revise(srv->store, &p, &revision, &err) : -ENOMEM;
	if (r == -ESTALE) {
		snprintf(msg, sizeof(msg),
			 "proposal is %s: only a proposal awaiting approval, "
			 "rejected or in error takes a revision",
			 cur->state);
		al_reply_error(resp, 409, "conflict", msg);
		goto out;
	}
	if (r < 0) {
		al_log("error", "proposal.store_failed", "id=%s error=%s", id,
		       al_log_q(al_err_msg(&err)));
		al_reply_error(resp, 500, "internal", "could not store the revision");
		goto out;
	}
	al_log("info", "proposal.revised", "id=%s revision=%lld proposer=%s", id, revision,
	       al_log_q(c->name));
	al_reply_json(resp, 202,
		      json_pack("{s:s, s:s, s:I}", "id", id, "state", "queued", "revision",
				(json_int_t)revision));
out:
	json_decref(b);
}

static void
promote(struct al_server *srv, const char *id, const struct caller *c, struct al_http_resp *resp)
{
	struct al_refusal why = {0};
	json_t *answer = NULL;

	if (al_promote_grant(srv, id, c->name, &answer, &why) < 0)
		al_reply_refusal(resp, &why);
	else
		al_reply_json(resp, 200, answer);
}

static int
method_is(const struct al_http_req *req, const char *m, struct al_http_resp *resp)
{
	if (!strcmp(al_http_method(req), m))
		return 1;
	al_reply_error(resp, 405, "method not allowed", al_http_method(req));
	return 0;
}

static void
route_proposals(struct al_server *srv, const struct al_http_req *req, const char *rest,
		struct al_http_resp *resp)
{
	struct caller c = {0};
	char id[40];
	const char *slash;

	if (authenticate(srv, req, resp, &c) < 0)
		return;
	if (!*rest) {
		if (!strcmp(al_http_method(req), "POST")) {
			if (require_role(&c, "agent", resp) == 0)
				post_proposal(srv, req, resp, &c);
		} else if (method_is(req, "GET", resp)) {
			list_proposals(srv, req, resp);
		}
		goto out;
	}
	slash = strchr(rest, '/');
	if ((slash ? (size_t)(slash - rest) : strlen(rest)) >= sizeof(id)) {
		al_reply_error(resp, 404, "not found", "no such proposal");
		goto out;
	}
	snprintf(id, sizeof(id), "%.*s", slash ? (int)(slash - rest) : (int)strlen(rest), rest);
	if (!slash) {
		if (method_is(req, "GET", resp))
			get_proposal(srv, id, PART_VIEW, resp);
	} else if (!strcmp(slash, "/grant")) {
		if (method_is(req, "GET", resp))
			get_proposal(srv, id, PART_GRANT, resp);
	} else if (!strcmp(slash, "/patch")) {
		if (method_is(req, "GET", resp))
			get_proposal(srv, id, PART_PATCH, resp);
	} else if (!id_valid(id)) {
		al_reply_error(resp, 404, "not found", "no such proposal");
	} else if (!strcmp(slash, "/approve") || !strcmp(slash, "/reject")) {
		if (method_is(req, "POST", resp) && require_role(&c, "reviewer", resp) == 0) {
			size_t len;
			const char *body = al_http_body(req, &len);
			struct al_refusal why = {0};

			if (al_decide_record(srv, id, c.name,
					     slash[1] == 'a' ? "approve" : "reject", body, len,
					     &why) < 0)
				al_reply_refusal(resp, &why);
			else
				get_proposal(srv, id, PART_VIEW, resp);
		}
	} else if (!strcmp(slash, "/promote")) {
		if (method_is(req, "POST", resp) && require_role(&c, "admin", resp) == 0)
			promote(srv, id, &c, resp);
	} else if (!strcmp(slash, "/revisions")) {
		if (method_is(req, "POST", resp) && require_role(&c, "agent", resp) == 0)
			post_revision(srv, id, req, resp, &c);
	} else {
		al_reply_error(resp, 404, "not found", al_http_path(req));
	}
out:
	caller_clear(&c);
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

static json_t *
session_json(const struct caller *c)
{
	return json_pack("{s:s, s:s, s:s*, s:o*}", "name", c->name, "role", c->role, "csrf",
			 c->session ? c->csrf : NULL, "expires",
			 c->session ? json_integer(c->expires) : NULL);
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
	struct caller c = {0};
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
	al_reply_json(resp, 200, session_json(&c));
out:
	explicit_bzero(cookie, sizeof(cookie));
	json_decref(b);
	caller_clear(&c);
}

static void
route_session(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp)
{
	struct caller c = {0};
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
	if (authenticate(srv, req, resp, &c) < 0)
		return;
	if (!strcmp(m, "GET")) {
		al_reply_json(resp, 200, session_json(&c));
	} else if (!c.session) {
		al_reply_error(resp, 400, "bad request", "no session to end: none was used");
	} else if (al_store_session_end(srv->store, c.session_hash, c.name, &err) < 0) {
		al_reply_error(resp, 401, "unauthorized", "the session had already ended");
	} else {
		al_log("info", "session.ended", "name=%s", al_log_q(c.name));
		resp->set_cookie = session_cookie(req, NULL, 0);
		al_reply_json(resp, 200, json_pack("{s:b}", "signed_out", 1));
	}
	caller_clear(&c);
}

/* GET /v1/audit[?proposal=ID] (reviewer): the newest entries, oldest first. */
static void
get_audit(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp)
{
	const char *proposal = al_http_query(req, "proposal");
	struct al_err err = {0};
	json_t *list;

	if (proposal && !id_valid(proposal)) {
		al_reply_error(resp, 400, "bad request", "proposal: expected a proposal id");
		return;
	}
	if (al_store_audit_list(srv->store, proposal, AUDIT_LIMIT, &list, &err) < 0) {
		al_reply_error(resp, 500, "internal", "could not read the audit log");
		return;
	}
	al_reply_json(resp, 200, json_pack("{s:o}", "entries", list));
}

/* Routes that need a signed-in caller and no proposal id. */
static void
route_signed_in(struct al_server *srv, const struct al_http_req *req, const char *path,
		struct al_http_resp *resp)
{
	struct caller c = {0};

	if (authenticate(srv, req, resp, &c) < 0 || !method_is(req, "GET", resp))
		goto out;
	if (!strcmp(path, "/v1/events"))
		al_events_subscribe(srv->events, resp);
	else if (require_role(&c, "reviewer", resp) == 0)
		get_audit(srv, req, resp);
out:
	caller_clear(&c);
}

/* The embedded page: the same bytes for everyone, no data in them. */
static void
serve_page(const struct al_webui_file *f, const struct al_http_req *req, struct al_http_resp *resp)
{
	if (!method_is(req, "GET", resp))
		return;
	resp->body = malloc(f->len ? f->len : 1);
	if (!resp->body) {
		al_reply_error(resp, 500, "internal", "out of memory");
		return;
	}
	memcpy(resp->body, f->data, f->len);
	resp->len = f->len;
	resp->status = 200;
	resp->content_type = f->content_type;
	resp->cache = "no-cache";
}

/* GET /metrics: Prometheus text; counts and timings only, no ids, no names. */
static void
reply_metrics(struct al_server *srv, struct al_http_resp *resp)
{
	size_t len = 0;
	char *text = al_metrics_render(srv->store, &srv->views, &len);

	if (!text) {
		al_reply_error(resp, 500, "internal", "out of memory");
		return;
	}
	resp->status = 200;
	resp->body = text;
	resp->len = len;
	resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

static void
webhook(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp)
{
	struct al_webhook_req in = {.event = al_http_header(req, "X-GitHub-Event"),
				    .delivery = al_http_header(req, "X-GitHub-Delivery"),
				    .signature = al_http_header(req, "X-Hub-Signature-256")};
	struct al_refusal why = {0};
	json_t *answer = NULL;
	int status = 0;

	in.body = al_http_body(req, &in.len);
	if (al_webhook_github(srv, &in, &status, &answer, &why) < 0)
		al_reply_refusal(resp, &why);
	else
		al_reply_json(resp, status, answer);
}

void
al_api_handle(void *ctx, const struct al_http_req *req, struct al_http_resp *resp)
{
	struct al_server *srv = ctx;
	const char *path = al_http_path(req);
	struct al_webui_file page;

	if (!strcmp(path, "/healthz")) {
		/* a load balancer stops sending work to a server that is stopping */
		if (method_is(req, "GET", resp) && draining(srv))
			al_reply_json(resp, 503, json_pack("{s:s}", "status", "draining"));
		else if (!resp->status)
			al_reply_json(resp, 200, json_pack("{s:s}", "status", "ok"));
	} else if (!strcmp(path, "/metrics")) {
		if (method_is(req, "GET", resp))
			reply_metrics(srv, resp);
	} else if (!strcmp(path, "/v1/keys")) {
		if (method_is(req, "GET", resp))
			get_keys(srv, resp);
	} else if (!strcmp(path, "/v1/proposals")) {
		route_proposals(srv, req, "", resp);
	} else if (!strncmp(path, "/v1/proposals/", 14)) {
		route_proposals(srv, req, path + 14, resp);
	} else if (!strcmp(path, "/v1/webhooks/github")) {
		if (method_is(req, "POST", resp))
			webhook(srv, req, resp);
	} else if (!strcmp(path, "/v1/session")) {
		route_session(srv, req, resp);
	} else if (!strcmp(path, "/v1/events") || !strcmp(path, "/v1/audit")) {
		route_signed_in(srv, req, path, resp);
	} else if (al_webui_file(path, &page) == 0) {
		serve_page(&page, req, resp);
	} else {
		al_reply_error(resp, 404, "not found", path);
	}
}
