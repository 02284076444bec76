/* HTTP API: the router, the proposal intake (its checks: server/intake.c, server/admit.c)
 * and the read views.  Handlers elsewhere answer with an outcome or a refusal; this file
 * writes the reply.  Who is calling: server/auth.c. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gates/gates.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "server/admit.h"
#include "server/auth.h"
#include "server/bases.h"
#include "server/grant.h"
#include "server/metrics.h"
#include "server/pause.h"
#include "server/quarantine.h"
#include "server/server.h"
#include "server/webui.h"

#define LIST_LIMIT 200
#define AUDIT_LIMIT 500
/* The patches of a request body into p, borrowed from b. */
static void
take_patches(const json_t *b, struct al_proposal *p)
{
	p->patch = (char *)json_string_value(json_object_get(b, "patch"));
	p->patch_len = json_string_length(json_object_get(b, "patch"));
	p->test_patch = (char *)json_string_value(json_object_get(b, "test_patch"));
	p->test_patch_len = json_string_length(json_object_get(b, "test_patch"));
}

static void
post_proposal(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp,
	      const struct al_caller *c)
{
	struct al_config *cfg = al_live_config(srv);
	json_t *b = NULL, *ftp, *prov;
	_cleanup_free_ char *ftp_text = NULL, *prov_text = NULL;
	const struct al_repo_conf *repo = NULL;
	struct al_proposal p = {0};
	struct al_err err = {0}, berr = {0};
	char loc[64];
	int based = 0;

	if (al_admit_submission(srv, &cfg->limits, c->name, resp) == 0)
		b = al_admit_body(req, &cfg->limits, al_intake_proposal, "invalid proposal", resp);
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
	const char *state = al_http_query(req, "state");
	struct al_err err = {0};
	json_t *list;

	if (state && !al_store_state_valid(state)) {
		al_reply_error(resp, 400, "invalid state",
			       "state must be queued, running, awaiting_approval, rejected, "
			       "granted, error, superseded or cancelled");
		return;
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
	      struct al_http_resp *resp, const struct al_caller *c)
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

	if (al_admit_refuse_draining(srv, resp) == 0 &&
	    al_quarantine_refuse(srv, c->name, resp) == 0)
		b = al_admit_body(req, &cfg->limits, al_intake_revision, "invalid revision", resp);
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
promote(struct al_server *srv, const char *id, const struct al_caller *c, struct al_http_resp *resp)
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
	struct al_caller c = {0};
	char id[40];
	const char *slash;

	if (al_auth_caller(srv, req, resp, &c) < 0)
		return;
	if (!*rest) {
		if (!strcmp(al_http_method(req), "POST")) {
			if (al_auth_require_role(&c, "agent", resp) == 0)
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
		if (method_is(req, "POST", resp) &&
		    al_auth_require_role(&c, "reviewer", resp) == 0) {
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
		if (method_is(req, "POST", resp) && al_auth_require_role(&c, "admin", resp) == 0)
			promote(srv, id, &c, resp);
	} else if (!strcmp(slash, "/revisions")) {
		if (method_is(req, "POST", resp) && al_auth_require_role(&c, "agent", resp) == 0)
			post_revision(srv, id, req, resp, &c);
	} else {
		al_reply_error(resp, 404, "not found", al_http_path(req));
	}
out:
	al_auth_caller_clear(&c);
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
	struct al_caller c = {0};

	if (al_auth_caller(srv, req, resp, &c) < 0 || !method_is(req, "GET", resp))
		goto out;
	if (!strcmp(path, "/v1/events"))
		al_events_subscribe(srv->events, resp);
	else if (al_auth_require_role(&c, "reviewer", resp) == 0)
		get_audit(srv, req, resp);
out:
	al_auth_caller_clear(&c);
}

/* {"reason": TEXT}: one line of printable text. */
static int
pause_reason(const struct al_http_req *req, char reason[AL_PAUSE_REASON_MAX])
{
	size_t len;
	const char *body = al_http_body(req, &len);
	json_t *b = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const json_t *t = json_object_get(b, "reason");
	const char *s = json_string_value(t);
	size_t n = json_string_length(t);
	int ok = json_is_object(b) && json_object_size(b) == 1 && s && n > 0 &&
		 n < AL_PAUSE_REASON_MAX && strlen(s) == n;

	for (size_t i = 0; ok && i < n; i++)
		ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
	if (ok)
		memcpy(reason, s, n + 1);
	json_decref(b);
	return ok ? 0 : -EINVAL;
}

/* POST /v1/admin/pause {"reason"} and POST /v1/admin/resume (admin), GET /v1/admin/pause
 * (anyone signed in): the kill switch. */
static void
route_admin(struct al_server *srv, const struct al_http_req *req, const char *path,
	    struct al_http_resp *resp)
{
	char reason[AL_PAUSE_REASON_MAX];
	struct al_caller c = {0};
	struct al_err err = {0};
	int pause = !strcmp(path, "/v1/admin/pause"), r, n = 0;
	json_t *state;

	if (al_auth_caller(srv, req, resp, &c) < 0)
		goto out;
	if (pause && !strcmp(al_http_method(req), "GET")) {
		al_reply_json(resp, 200, al_pause_json(srv));
		goto out;
	}
	if (!method_is(req, "POST", resp) || al_auth_require_role(&c, "admin", resp) < 0)
		goto out;
	if (pause && pause_reason(req, reason) < 0) {
		al_reply_error(resp, 400, "bad request",
			       "expected {\"reason\": TEXT}: one line, at most 299 bytes");
		goto out;
	}
	r = pause ? al_pause_set(srv, reason, c.name, &err) : al_pause_clear(srv, c.name, &err);
	if (r == -EALREADY) {
		al_reply_error(resp, 409, "conflict", al_err_msg(&err));
		goto out;
	}
	if (r < 0) {
		al_log("error", pause ? "server.pause_failed" : "server.resume_failed", "error=%s",
		       al_log_q(al_err_msg(&err)));
		al_reply_error(resp, 500, "internal", al_err_msg(&err));
		goto out;
	}
	/* paused on record first, then what runs is stopped; resumed, the queue is looked at */
	if (pause)
		n = al_sched_requeue_all(srv);
	else
		al_sched_kick(srv);
	al_log("info", pause ? "server.paused" : "server.resumed", "by=%s reason=%s stopped=%d",
	       al_log_q(c.name), al_log_q(pause ? reason : ""), n);
	state = al_pause_json(srv);
	if (pause)
		json_object_set_new(state, "stopped", json_integer(n));
	al_reply_json(resp, 200, state);
out:
	al_auth_caller_clear(&c);
}

/* NAME of /v1/admin/tokens/NAME/release: a token name's characters, 1 to 64 of them. */
static bool
release_name(const char *path, char name[65])
{
	static const char prefix[] = "/v1/admin/tokens/", suffix[] = "/release";
	const char *rest = path + sizeof(prefix) - 1;
	size_t n;

	if (strncmp(path, prefix, sizeof(prefix) - 1))
		return false;
	n = strcspn(rest, "/");
	if (n == 0 || n > 64 || strcmp(rest + n, suffix) ||
	    strspn(rest, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") < n)
		return false;
	memcpy(name, rest, n);
	name[n] = '\0';
	return true;
}

/* POST /v1/admin/tokens/NAME/release (admin, not NAME itself): NAME's quarantine lifted;
 * its held proposals are claimed again. */
static void
route_release(struct al_server *srv, const struct al_http_req *req, const char *path,
	      struct al_http_resp *resp)
{
	struct al_caller c = {0};
	struct al_err err = {0};
	char name[65];
	int r;

	if (!release_name(path, name)) {
		al_reply_error(resp, 404, "not found", "expected /v1/admin/tokens/NAME/release");
		return;
	}
	if (al_auth_caller(srv, req, resp, &c) < 0)
		goto out;
	if (!method_is(req, "POST", resp) || al_auth_require_role(&c, "admin", resp) < 0)
		goto out;
	r = al_quarantine_release(srv, name, c.name, &err);
	if (r == -EPERM || r == -EALREADY || r == -ENOENT) {
		al_reply_error(resp,
			       r == -EPERM    ? 403
			       : r == -ENOENT ? 404
					      : 409,
			       r == -EPERM    ? "forbidden"
			       : r == -ENOENT ? "not found"
					      : "conflict",
			       al_err_msg(&err));
		goto out;
	}
	if (r < 0) {
		al_log("error", "token.release_failed", "name=%s error=%s", al_log_q(name),
		       al_log_q(al_err_msg(&err)));
		al_reply_error(resp, 500, "internal", al_err_msg(&err));
		goto out;
	}
	al_sched_kick(srv);
	al_log("info", "token.released", "name=%s by=%s", al_log_q(name), al_log_q(c.name));
	al_reply_json(resp, 200, json_pack("{s:s, s:b}", "name", name, "quarantined", 0));
out:
	al_auth_caller_clear(&c);
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
	struct al_config *cfg = al_live_config(srv);
	_cleanup_free_ char *jobs = al_path_join(cfg->data, "jobs");
	size_t len = 0;
	char *text = jobs ? al_metrics_render(srv->store, &srv->views, jobs, &len) : NULL;

	al_live_config_put(srv, cfg);
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
		if (method_is(req, "GET", resp) && al_admit_draining(srv))
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
		al_auth_session(srv, req, resp);
	} else if (!strcmp(path, "/v1/admin/pause") || !strcmp(path, "/v1/admin/resume")) {
		route_admin(srv, req, path, resp);
	} else if (!strncmp(path, "/v1/admin/tokens/", 17)) {
		route_release(srv, req, path, resp);
	} else if (!strcmp(path, "/v1/events") || !strcmp(path, "/v1/audit")) {
		route_signed_in(srv, req, path, resp);
	} else if (al_webui_file(path, &page) == 0) {
		serve_page(&page, req, resp);
	} else {
		al_reply_error(resp, 404, "not found", path);
	}
}
