/* GitHub webhooks in (POST /v1/webhooks/github): the signature first, then the delivery id,
 * then the event.  A pull request's head is fetched with libgit2, its diff from the merge
 * base split into patch and test patch by the policy's test_paths, and gated like any
 * proposal; its commit statuses go out through the outbox (server/github.c). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gates/gates.h"
#include "lib/buf.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "runner/checkout.h"
#include "server/server.h"

#define SECRET_MAX 4096
#define FENCE "```airlock-fail-to-pass"

/* 1 when sig ("sha256=" and 64 hex) is the HMAC-SHA256 of body under the secret in file. */
static int
signature_ok(const char *file, const char *body, size_t len, const char *sig)
{
	_cleanup_free_ char *secret = NULL;
	unsigned char mac[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	size_t n = 0, bin = 0;
	int ok;

	if (al_file_read(file, SECRET_MAX, &secret, &n, NULL) < 0)
		return 0;
	while (n && (secret[n - 1] == '\n' || secret[n - 1] == '\r'))
		n--;
	if (n == 0 || sodium_hex2bin(want, sizeof(want), sig + 7, 64, NULL, &bin, NULL) != 0 ||
	    bin != sizeof(want)) {
		sodium_memzero(secret, n);
		return 0;
	}
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, n);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(secret, n);
	ok = sodium_memcmp(mac, want, sizeof(mac)) == 0;
	sodium_memzero(&st, sizeof(st));
	return ok;
}

/* The repository whose webhook secret signed the body, or NULL.  Every secret is tried:
 * the body is not read before one of them vouches for it. */
static const struct al_repo_conf *
signed_by(const struct al_config *cfg, const struct al_http_req *req, const char *body, size_t len)
{
	const char *sig = al_http_header(req, "X-Hub-Signature-256");

	if (!sig || strncmp(sig, "sha256=", 7) || strlen(sig) != 71)
		return NULL;
	for (size_t i = 0; i < cfg->n_repos; i++)
		if (cfg->repos[i].github &&
		    signature_ok(cfg->repos[i].github->secret_file, body, len, sig))
			return &cfg->repos[i];
	return NULL;
}

static int
token_ok(const char *s, size_t max, const char *allowed)
{
	size_t n = s ? strlen(s) : 0;

	return n > 0 && n <= max && strspn(s, allowed) == n;
}

static int
is_sha(const char *s)
{
	return s && strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* A branch name airlock will put in a refspec: refs-safe characters, no "..". */
static int
branch_ok(const char *s)
{
	return token_ok(s, 200,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-") &&
	       s[0] != '-' && s[0] != '/' && s[0] != '.' && !strstr(s, "..") && !strstr(s, "//") &&
	       s[strlen(s) - 1] != '/' && s[strlen(s) - 1] != '.';
}

/* fail_to_pass ids from the first ```airlock-fail-to-pass fenced block of the body. */
static const char *
fail_to_pass_of(const char *body, json_t *ids)
{
	const char *p = body ? strstr(body, FENCE) : NULL, *end;
	char id[256];

	if (!p)
		return NULL;
	p += strlen(FENCE);
	p += strspn(p, " \t\r");
	if (*p != '\n')
		return "fail_to_pass block: the fence line must end after its name";
	end = strstr(p, "\n```");
	if (!end)
		return "fail_to_pass block: no closing fence";
	while (p < end) {
		size_t n;

		p += strspn(p, " \t\r\n");
		n = strcspn(p, " \t\r\n");
		if (p + n > end)
			n = (size_t)(end - p);
		if (n == 0)
			break;
		if (n >= sizeof(id))
			return "fail_to_pass block: a test id is too long";
		memcpy(id, p, n);
		id[n] = '\0';
		if (!al_gates_test_id_valid(id))
			return "fail_to_pass block: invalid test id";
		if (json_array_size(ids) >= AL_MAX_FAIL_TO_PASS)
			return "fail_to_pass block: more than 64 test ids";
		json_array_append_new(ids, json_string(id));
		p += n;
	}
	return NULL;
}

/* The pull request's changes, file by file: test files to the test patch. */
struct split {
	const struct al_policy *policy;
	struct al_buf patch, test;
};

static int
split_file(void *ctx, const char *path, const char *text, size_t len)
{
	struct split *s = ctx;

	return al_buf_append(al_policy_is_test_path(s->policy, path) ? &s->test : &s->patch, text,
			     len) < 0
		   ? -E2BIG
		   : 0;
}

/* One line of at most 200 bytes, control characters made spaces, cut on a character. */
static void
title_of(const char *t, char out[201])
{
	size_t n = 0;

	for (; t && *t && n < 200; t++)
		out[n++] = (unsigned char)*t < 0x20 || *t == 0x7f ? ' ' : *t;
	while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0 && ((unsigned char)out[n - 1] & 0x80))
		n--; /* a lead byte whose sequence was cut */
	out[n] = '\0';
}

struct intake {
	struct al_server *srv;
	const struct al_repo_conf *repo;
	const char *delivery;
	json_t *ev;
	struct al_refusal why;
};

/* Fetches the pull request, builds its proposal and stores it with the delivery. */
static int
pull_request(struct intake *in, json_t **ret)
{
	const json_t *pr = json_object_get(in->ev, "pull_request");
	const char *head = json_string_value(json_object_get(json_object_get(pr, "head"), "sha"));
	const char *base_ref =
	    json_string_value(json_object_get(json_object_get(pr, "base"), "ref"));
	const char *login =
	    json_string_value(json_object_get(json_object_get(pr, "user"), "login"));
	const char *body = json_string_value(json_object_get(pr, "body"));
	json_int_t number = json_integer_value(json_object_get(pr, "number"));
	_cleanup_(al_json_decrefp) json_t *ftp = json_array();
	_cleanup_free_ char *ftp_text = NULL, *prov_text = NULL;
	_cleanup_(al_json_decrefp) json_t *prov = NULL;
	char spec_head[96], spec_base[300], ref_head[64], ref_base[64];
	char fetched[41], base_commit[41], merge_base[41], title[201], target[300], pr_name[200];
	const char *specs[2] = {spec_head, spec_base}, *why;
	struct split sp = {.policy = in->repo->policy};
	struct al_proposal p = {0};
	struct al_pull_request row = {0};
	struct al_pr_ended ended = {0};
	struct al_err err = {0};
	int r;

	if (!is_sha(head) || !branch_ok(base_ref) || number <= 0 || number > 1000000000 ||
	    !token_ok(login, 39,
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-[]"))
		return al_refuse(
		    &in->why, 400,
		    "pull_request: expected number, head.sha, base.ref and user.login");
	if ((why = fail_to_pass_of(body, ftp)))
		return al_refuse(&in->why, 400, "%s", why);
	snprintf(ref_head, sizeof(ref_head), "refs/airlock/pull/%lld/head", (long long)number);
	snprintf(ref_base, sizeof(ref_base), "refs/airlock/pull/%lld/base", (long long)number);
	snprintf(spec_head, sizeof(spec_head), "+refs/pull/%lld/head:%s", (long long)number,
		 ref_head);
	snprintf(spec_base, sizeof(spec_base), "+refs/heads/%s:%s", base_ref, ref_base);
	if (al_git_fetch(in->repo->path, in->repo->github->remote, specs, 2, &err) < 0 ||
	    al_git_ref_commit(in->repo->path, ref_head, fetched, &err) < 0 ||
	    al_git_ref_commit(in->repo->path, ref_base, base_commit, &err) < 0) {
		al_log("error", "webhook.fetch_failed", "delivery=%s error=%s", in->delivery,
		       al_log_q(al_err_msg(&err)));
		return al_refuse(&in->why, 502, "could not fetch the pull request: %s",
				 al_err_msg(&err));
	}
	if (strcmp(fetched, head))
		return al_refuse(&in->why, 409,
				 "the pull request's head is now %s, not %s: a later delivery "
				 "gates it",
				 fetched, head);
	if (al_git_merge_base(in->repo->path, base_commit, head, merge_base, &err) < 0)
		return al_refuse(&in->why, 422, "%s", al_err_msg(&err));
	al_buf_init(&sp.patch, AL_MAX_PATCH_BYTES);
	al_buf_init(&sp.test, AL_MAX_PATCH_BYTES);
	r = al_git_diff_files(in->repo->path, merge_base, head, split_file, &sp, &err);
	if (r < 0) {
		al_buf_free(&sp.patch);
		al_buf_free(&sp.test);
		return al_refuse(&in->why, r == -E2BIG ? 413 : 422, "%s",
				 r == -E2BIG ? "the pull request's diff is larger than 4 MiB"
					     : al_err_msg(&err));
	}
	snprintf(pr_name, sizeof(pr_name), "%s#%lld", in->repo->github->full_name,
		 (long long)number);
	ftp_text = json_dumps(ftp, JSON_COMPACT);
	prov = json_pack("{s:s, s:s, s:s, s:s}", "agent", "github", "pull_request", pr_name,
			 "author", login, "head", head);
	prov_text = prov ? json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	al_random_hex(16, p.id);
	title_of(json_string_value(json_object_get(pr, "title")), title);
	p.repo = in->repo->name;
	p.base = merge_base;
	p.proposer = (char *)login; /* the author can never approve it */
	p.title = title[0] ? title : NULL;
	p.patch = sp.patch.data ? sp.patch.data : "";
	p.patch_len = sp.patch.len;
	p.test_patch = sp.test.len ? sp.test.data : NULL;
	p.test_patch_len = sp.test.len;
	p.fail_to_pass = ftp_text;
	p.provenance = prov_text;
	p.created = (long long)time(NULL);
	al_server_target_url(in->srv, p.id, target, sizeof(target));
	row = (struct al_pull_request){.delivery = in->delivery,
				       .full_name = in->repo->github->full_name,
				       .number = number,
				       .head = head,
				       .author = login,
				       .target_url = target[0] ? target : NULL};
	r = ftp_text && prov_text
		? al_store_pull_request_insert(in->srv->store, &p, &row, &ended, &err)
		: -ENOMEM;
	al_buf_free(&sp.patch);
	al_buf_free(&sp.test);
	if (r == -EEXIST) {
		*ret = json_pack("{s:s, s:s}", "status", "duplicate", "delivery", in->delivery);
		return 0;
	}
	if (r < 0)
		return al_refuse(&in->why, 500, "could not store the proposal");
	al_log("info", "webhook.pull_request", "delivery=%s pr=%s head=%s id=%s superseded=%zu",
	       in->delivery, al_log_q(pr_name), head, p.id, json_array_size(ended.ended));
	al_sched_kick(in->srv);
	al_github_kick(in->srv);
	*ret = json_pack("{s:s, s:s, s:s, s:O, s:O}", "status", "queued", "proposal", p.id, "head",
			 head, "superseded", ended.ended, "invalidated", ended.invalidated);
	al_pr_ended_clear(&ended);
	return 0;
}

/* The pull request closed: its open proposals are cancelled (a running job is stopped),
 * its unspent grants invalidated. */
static int
closed(struct intake *in, json_t **ret)
{
	const json_t *pr = json_object_get(in->ev, "pull_request");
	json_int_t number = json_integer_value(json_object_get(pr, "number"));
	struct al_pull_request row = {
	    .delivery = in->delivery, .full_name = in->repo->github->full_name, .number = number};
	struct al_pr_ended ended = {0};
	struct al_err err = {0};
	int r;

	if (number <= 0 || number > 1000000000)
		return al_refuse(&in->why, 400, "pull_request: expected number");
	r = al_store_pull_request_close(in->srv->store, &row, &ended, &err);
	if (r == -EEXIST) {
		*ret = json_pack("{s:s, s:s}", "status", "duplicate", "delivery", in->delivery);
		return 0;
	}
	if (r < 0)
		return al_refuse(&in->why, 500, "could not record the closed pull request");
	al_log("info", "webhook.closed", "delivery=%s pr=%lld cancelled=%zu invalidated=%zu",
	       in->delivery, (long long)number, json_array_size(ended.ended),
	       json_array_size(ended.invalidated));
	al_github_kick(in->srv);
	*ret = json_pack("{s:s, s:O, s:O}", "status", "closed", "cancelled", ended.ended,
			 "invalidated", ended.invalidated);
	al_pr_ended_clear(&ended);
	return 0;
}

/* A push to a branch: every unspent grant on the commit the branch left is invalidated. */
static int
push(struct intake *in, json_t **ret)
{
	const char *ref = json_string_value(json_object_get(in->ev, "ref"));
	const char *before = json_string_value(json_object_get(in->ev, "before"));
	const char *after = json_string_value(json_object_get(in->ev, "after"));
	json_t *ids = NULL;
	struct al_err err = {0};
	int r;

	if (!ref || strncmp(ref, "refs/heads/", 11) || !branch_ok(ref + 11) || !is_sha(before) ||
	    !is_sha(after))
		return al_refuse(&in->why, 400, "push: expected ref (a branch), before and after");
	r = al_store_base_moved(in->srv->store, in->delivery, in->repo->name, ref, before, &ids,
				&err);
	if (r == -EEXIST) {
		*ret = json_pack("{s:s, s:s}", "status", "duplicate", "delivery", in->delivery);
		return 0;
	}
	if (r < 0)
		return al_refuse(&in->why, 500, "could not record the push");
	al_log("info", "webhook.push", "delivery=%s ref=%s before=%s after=%s invalidated=%zu",
	       in->delivery, al_log_q(ref), before, after, json_array_size(ids));
	al_github_kick(in->srv);
	*ret = json_pack("{s:s, s:s, s:s, s:s, s:o}", "status", "base moved", "ref", ref, "before",
			 before, "after", after, "invalidated", ids);
	return 0;
}

/* Why an event is not handled, or NULL when it is. */
static const char *
ignored(const char *event, const json_t *ev)
{
	const char *action = json_string_value(json_object_get(ev, "action"));
	const char *ref = json_string_value(json_object_get(ev, "ref"));

	if (!strcmp(event, "pull_request")) {
		if (action && (!strcmp(action, "opened") || !strcmp(action, "reopened") ||
			       !strcmp(action, "synchronize") || !strcmp(action, "closed")))
			return NULL;
		return "pull_request: only opened, reopened, synchronize and closed are handled";
	}
	if (!strcmp(event, "push")) {
		if (ref && !strncmp(ref, "refs/tags/", 10))
			return "push: a tag push changes no branch";
		if (json_is_true(json_object_get(ev, "deleted")))
			return "push: a branch deletion";
		if (!ref || strncmp(ref, "refs/heads/", 11))
			return "push: not a branch";
		return NULL;
	}
	return "event not handled";
}

void
al_webhook_github(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp)
{
	const char *event = al_http_header(req, "X-GitHub-Event");
	const char *delivery = al_http_header(req, "X-GitHub-Delivery");
	struct intake in = {.srv = srv, .delivery = delivery};
	struct al_config *cfg = al_server_config(srv);
	const char *full, *why;
	struct al_err err = {0};
	json_t *answer = NULL;
	size_t len;
	const char *body = al_http_body(req, &len);
	int r;

	if (strcmp(al_http_method(req), "POST")) {
		al_api_reply_error(resp, 405, "method not allowed", al_http_method(req));
		goto out;
	}
	in.repo = signed_by(cfg, req, body, len);
	if (!in.repo) {
		al_log("info", "webhook.refused", "reason=signature");
		al_api_reply_error(resp, 401, "unauthorized",
				   "missing or wrong X-Hub-Signature-256");
		goto out;
	}
	if (!token_ok(event, 64, "abcdefghijklmnopqrstuvwxyz_") ||
	    !token_ok(delivery, 64, "0123456789abcdefABCDEF-")) {
		al_api_reply_error(resp, 400, "bad request",
				   "expected X-GitHub-Event and X-GitHub-Delivery headers");
		goto out;
	}
	if (al_store_delivery_seen(srv->store, delivery)) {
		al_api_reply_json(
		    resp, 200,
		    json_pack("{s:s, s:s}", "status", "duplicate", "delivery", delivery));
		goto out;
	}
	in.ev = json_loadb(body, len, 0, NULL);
	full =
	    json_string_value(json_object_get(json_object_get(in.ev, "repository"), "full_name"));
	if (!json_is_object(in.ev)) {
		al_api_reply_error(resp, 400, "malformed JSON",
				   "the delivery is not a JSON object");
		goto out;
	}
	if (!full || strcmp(full, in.repo->github->full_name)) {
		al_api_reply_error(resp, 400, "bad request",
				   "repository.full_name is not the repository this secret is "
				   "for");
		goto out;
	}
	if (!strcmp(event, "ping") || (why = ignored(event, in.ev))) {
		int pong = !strcmp(event, "ping");

		r = al_store_delivery_record(srv->store, delivery, event, pong ? "pong" : "ignored",
					     &err);
		if (r == -EEXIST)
			al_api_reply_json(
			    resp, 200,
			    json_pack("{s:s, s:s}", "status", "duplicate", "delivery", delivery));
		else if (r < 0)
			al_api_reply_error(resp, 500, "internal", "could not record the delivery");
		else if (pong)
			al_api_reply_json(resp, 200, json_pack("{s:s}", "status", "pong"));
		else
			al_api_reply_json(
			    resp, 202, json_pack("{s:s, s:s}", "status", "ignored", "reason", why));
		goto out;
	}
	if (!strcmp(event, "push"))
		r = push(&in, &answer);
	else if (!strcmp(json_string_value(json_object_get(in.ev, "action")), "closed"))
		r = closed(&in, &answer);
	else
		r = pull_request(&in, &answer);
	if (r < 0)
		al_api_reply_refusal(resp, &in.why);
	else
		al_api_reply_json(
		    resp,
		    !strcmp(json_string_value(json_object_get(answer, "status")), "queued") ? 202
											    : 200,
		    answer);
out:
	json_decref(in.ev);
	al_server_config_put(srv, cfg);
}
