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
#include "server/job.h"
#include "server/pull.h"
#include "server/server.h"

#define SECRET_MAX 4096

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
signed_by(const struct al_config *cfg, const char *sig, const char *body, size_t len)
{
	if (!sig || strncmp(sig, "sha256=", 7) || strlen(sig) != 71)
		return NULL;
	for (size_t i = 0; i < cfg->n_repos; i++)
		if (cfg->repos[i].github &&
		    signature_ok(cfg->repos[i].github->secret_file, body, len, sig))
			return &cfg->repos[i];
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

/* One signed delivery on its way through: ev is what server/intake.c made of its body. */
struct delivery {
	struct al_server *srv;
	const struct al_config *cfg;
	const struct al_limits *lim;
	const struct al_repo_conf *repo;
	const char *id;
	struct al_github_event ev;
	struct al_refusal why;
};

/* The confined child's answer, file by file: test files to the test patch. */
static int
split_files(struct delivery *in, const json_t *files, struct split *sp)
{
	size_t i;
	json_t *f;

	al_buf_init(&sp->patch, (size_t)in->lim->max_patch_bytes);
	al_buf_init(&sp->test, (size_t)in->lim->max_patch_bytes);
	json_array_foreach (files, i, f) {
		const char *path = json_string_value(json_object_get(f, "path"));
		const json_t *patch = json_object_get(f, "patch");

		if (!path || !json_is_string(patch))
			return al_reply_refuse(&in->why, 502,
					       "the pull request's diff is malformed");
		if (split_file(sp, path, json_string_value(patch), json_string_length(patch)) < 0)
			return al_reply_refuse(&in->why, 413,
					       "the pull request's diff is larger than %lld bytes "
					       "(limits.max_patch_bytes)",
					       in->lim->max_patch_bytes);
	}
	return 0;
}

static int
fetch_refused(struct delivery *in, const char *stage, const char *why)
{
	if (!strcmp(stage, "too_big"))
		return al_reply_refuse(&in->why, 413,
				       "the pull request's diff is larger than %lld bytes "
				       "(limits.max_patch_bytes)",
				       in->lim->max_patch_bytes);
	if (!strcmp(stage, "merge_base") || !strcmp(stage, "diff"))
		return al_reply_refuse(&in->why, 422, "%s", why);
	al_log("error", "webhook.fetch_failed", "delivery=%s error=%s", in->id, al_log_q(why));
	return al_reply_refuse(&in->why, 502, "could not fetch the pull request: %s", why);
}

/* The pull request's head and the base branch fetched, and its own change (from where it
 * branched) split into sp's patch and test patch: fetched and diffed in a confined child
 * (server/pull.c), never parsed here. */
static int
fetch_change(struct delivery *in, struct split *sp, char base_commit[41])
{
	const struct al_github_event *ev = &in->ev;
	_cleanup_(al_json_decrefp) json_t *req = NULL, *res = NULL;
	long long max = in->lim->max_patch_bytes;
	const char *fetched, *base, *stage;
	char ref_base[256];
	struct al_err err = {0};

	snprintf(ref_base, sizeof(ref_base), "refs/heads/%s", ev->base_ref);
	if (!al_policy_is_branch(in->repo->policy, ref_base))
		return al_reply_refuse(
		    &in->why, 422, "the pull request's base %s is not one of the policy's branches",
		    ref_base);
	/* The base branch as GitHub has it now goes to refs/airlock/upstream/heads/<branch>,
	 * which counts as that branch for the base check (server/bases.c). */
	req = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:o}", "repo", in->repo->path, "remote",
			in->repo->github->remote, "number", (json_int_t)ev->number, "base_branch",
			ev->base_ref, "head", ev->head, "max_bytes", (json_int_t)(2 * max), "hide",
			al_job_hide(in->cfg, in->srv->config_path));
	if (!req)
		return al_reply_refuse(&in->why, 500, "out of memory");
	if (al_pull_fetch(in->srv->self_exe, req, (size_t)(12 * max) + (1u << 20), &res, &err) < 0)
		return fetch_refused(in, "fetch", al_err_msg(&err));
	if ((stage = json_string_value(json_object_get(res, "stage"))))
		return fetch_refused(in, stage,
				     json_string_value(json_object_get(res, "error")) ?: "");
	fetched = json_string_value(json_object_get(res, "head"));
	base = json_string_value(json_object_get(res, "base"));
	if (!fetched || !base || strlen(base) != 40)
		return fetch_refused(in, "fetch", "the runner's answer is malformed");
	if (strcmp(fetched, ev->head))
		return al_reply_refuse(
		    &in->why, 409,
		    "the pull request's head is now %s, not %s: a later delivery "
		    "gates it",
		    fetched, ev->head);
	if (!json_is_array(json_object_get(res, "files")))
		return fetch_refused(in, "fetch", "the runner's answer is malformed");
	/* The pull request's own change (from where it branched) is judged as it would merge:
	 * applied onto the base branch's tip, which is the grant's base, as merge queues do. */
	memcpy(base_commit, base, 41);
	return split_files(in, json_object_get(res, "files"), sp);
}

/* Fetches the pull request, builds its proposal and stores it with the delivery. */
static int
pull_request(struct delivery *in, json_t **ret)
{
	const struct al_github_event *ev = &in->ev;
	const char *head = ev->head, *login = ev->login;
	long long number = ev->number;
	_cleanup_free_ char *ftp_text = NULL, *prov_text = NULL;
	_cleanup_(al_json_decrefp) json_t *prov = NULL;
	char base_commit[41], target[300], pr_name[200];
	struct split sp = {.policy = in->repo->policy};
	struct al_proposal p = {0};
	struct al_pull_request row = {0};
	struct al_pr_ended ended = {0};
	struct al_err err = {0};
	int r;

	if ((long long)json_array_size(ev->fail_to_pass) > in->lim->max_fail_to_pass)
		return al_reply_refuse(&in->why, 400,
				       "fail_to_pass block: more than %lld test ids "
				       "(limits.max_fail_to_pass)",
				       in->lim->max_fail_to_pass);
	if ((r = fetch_change(in, &sp, base_commit)) < 0)
		return r;
	snprintf(pr_name, sizeof(pr_name), "%s#%lld", in->repo->github->full_name,
		 (long long)number);
	ftp_text = json_dumps(ev->fail_to_pass, JSON_COMPACT);
	prov = json_pack("{s:s, s:s, s:s, s:s}", "agent", "github", "pull_request", pr_name,
			 "author", login, "head", head);
	prov_text = prov ? json_dumps(prov, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	al_random_hex(16, p.id);
	p.repo = in->repo->name;
	p.base = base_commit;
	p.proposer = (char *)login; /* the author can never approve it */
	p.title = ev->title[0] ? (char *)ev->title : NULL;
	p.patch = sp.patch.data ? sp.patch.data : "";
	p.patch_len = sp.patch.len;
	p.test_patch = sp.test.len ? sp.test.data : NULL;
	p.test_patch_len = sp.test.len;
	p.fail_to_pass = ftp_text;
	p.provenance = prov_text;
	p.created = (long long)time(NULL);
	al_github_target_url(in->srv, p.id, target, sizeof(target));
	row = (struct al_pull_request){.delivery = in->id,
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
		*ret = json_pack("{s:s, s:s}", "status", "duplicate", "delivery", in->id);
		return 0;
	}
	if (r < 0)
		return al_reply_refuse(&in->why, 500, "could not store the proposal");
	al_log("info", "webhook.pull_request", "delivery=%s pr=%s head=%s id=%s superseded=%zu",
	       in->id, al_log_q(pr_name), head, p.id, json_array_size(ended.ended));
	al_github_kick(in->srv);
	*ret = json_pack("{s:s, s:s, s:s, s:O, s:O}", "status", "queued", "proposal", p.id, "head",
			 head, "superseded", ended.ended, "invalidated", ended.invalidated);
	al_pr_ended_clear(&ended);
	return 0;
}

/* The pull request closed: its open proposals are cancelled (a running job is stopped),
 * its unspent grants invalidated. */
static int
closed(struct delivery *in, json_t **ret)
{
	long long number = in->ev.number;
	struct al_pull_request row = {
	    .delivery = in->id, .full_name = in->repo->github->full_name, .number = number};
	struct al_pr_ended ended = {0};
	struct al_err err = {0};
	int r;

	r = al_store_pull_request_close(in->srv->store, &row, &ended, &err);
	if (r == -EEXIST) {
		*ret = json_pack("{s:s, s:s}", "status", "duplicate", "delivery", in->id);
		return 0;
	}
	if (r < 0)
		return al_reply_refuse(&in->why, 500, "could not record the closed pull request");
	al_log("info", "webhook.closed", "delivery=%s pr=%lld cancelled=%zu invalidated=%zu",
	       in->id, (long long)number, json_array_size(ended.ended),
	       json_array_size(ended.invalidated));
	al_github_kick(in->srv);
	*ret = json_pack("{s:s, s:O, s:O}", "status", "closed", "cancelled", ended.ended,
			 "invalidated", ended.invalidated);
	al_pr_ended_clear(&ended);
	return 0;
}

/* A push to a branch: every unspent grant on the commit the branch left is invalidated. */
/* The base branch moved: every pull request judged on its old tip (open, or granted with
 * a grant the move just invalidated) is gated again on the new tip, as a synchronize
 * would, under a delivery id of its own so that a redelivered push adds nothing. */
static json_t *
regate(struct delivery *in, const char *branch)
{
	json_t *rows = NULL, *out = json_array(), *row;
	struct al_err err = {0};
	size_t i;

	if (!out ||
	    al_store_prs_on_base(in->srv->store, in->repo->name, in->ev.before, &rows, &err) < 0) {
		al_log("error", "webhook.regate_failed", "delivery=%s error=%s", in->id,
		       al_log_q(al_err_msg(&err)));
		return out;
	}
	json_array_foreach (rows, i, row) {
		struct delivery sub = {
		    .srv = in->srv, .cfg = in->cfg, .lim = in->lim, .repo = in->repo};
		char id[160];
		json_t *answer = NULL;
		int r;

		snprintf(id, sizeof(id), "%s+pr%lld", in->id,
			 (long long)json_integer_value(json_object_get(row, "number")));
		sub.id = id;
		sub.ev.kind = AL_GITHUB_PULL_REQUEST;
		sub.ev.number = json_integer_value(json_object_get(row, "number"));
		snprintf(sub.ev.action, sizeof(sub.ev.action), "%s", "synchronize");
		snprintf(sub.ev.head, sizeof(sub.ev.head), "%s",
			 json_string_value(json_object_get(row, "head")));
		snprintf(sub.ev.base_ref, sizeof(sub.ev.base_ref), "%s", branch);
		snprintf(sub.ev.login, sizeof(sub.ev.login), "%s",
			 json_string_value(json_object_get(row, "author")));
		snprintf(sub.ev.title, sizeof(sub.ev.title), "%s",
			 json_string_value(json_object_get(row, "title")) ?: "");
		sub.ev.fail_to_pass = json_loads(
		    json_string_value(json_object_get(row, "fail_to_pass")) ?: "[]", 0, NULL);
		r = json_is_array(sub.ev.fail_to_pass) ? pull_request(&sub, &answer) : -EINVAL;
		al_log("info", "webhook.regate", "delivery=%s pr=%lld from=%s result=%s", in->id,
		       (long long)sub.ev.number,
		       json_string_value(json_object_get(row, "proposal")),
		       r < 0 ? al_log_q(sub.why.detail) : "queued");
		json_array_append_new(
		    out,
		    json_pack("{s:I, s:s, s:s?, s:s?}", "number", (json_int_t)sub.ev.number, "was",
			      json_string_value(json_object_get(row, "proposal")), "proposal",
			      json_string_value(json_object_get(answer, "proposal")), "refused",
			      r < 0 ? sub.why.detail : NULL));
		json_decref(answer);
		al_intake_event_clear(&sub.ev);
	}
	json_decref(rows);
	return out;
}

static int
push(struct delivery *in, json_t **ret)
{
	const char *ref = in->ev.ref, *before = in->ev.before, *after = in->ev.after;
	json_t *ids = NULL, *regated;
	struct al_err err = {0};
	int r;

	r = al_store_base_moved(in->srv->store, in->id, in->repo->name, ref, before, &ids, &err);
	if (r == -EEXIST) {
		*ret = json_pack("{s:s, s:s}", "status", "duplicate", "delivery", in->id);
		return 0;
	}
	if (r < 0)
		return al_reply_refuse(&in->why, 500, "could not record the push");
	al_log("info", "webhook.push", "delivery=%s ref=%s before=%s after=%s invalidated=%zu",
	       in->id, al_log_q(ref), before, after, json_array_size(ids));
	regated = al_policy_is_branch(in->repo->policy, ref)
		      ? regate(in, ref + strlen("refs/heads/"))
		      : json_array();
	al_github_kick(in->srv);
	*ret = json_pack("{s:s, s:s, s:s, s:s, s:o, s:o}", "status", "base moved", "ref", ref,
			 "before", before, "after", after, "invalidated", ids, "regated", regated);
	return 0;
}

/* A ping, or an event airlock does not act on: only the delivery is recorded. */
static int
ignore(struct delivery *in, const char *event, json_t **ret)
{
	int pong = in->ev.kind == AL_GITHUB_PING;
	struct al_err err = {0};
	int r = al_store_delivery_record(in->srv->store, in->id, event, pong ? "pong" : "ignored",
					 &err);

	if (r == -EEXIST)
		*ret = json_pack("{s:s, s:s}", "status", "duplicate", "delivery", in->id);
	else if (r < 0)
		return al_reply_refuse(&in->why, 500, "could not record the delivery");
	else if (pong)
		*ret = json_pack("{s:s}", "status", "pong");
	else
		*ret = json_pack("{s:s, s:s}", "status", "ignored", "reason", in->ev.reason);
	return 0;
}

/* The delivery, checked and parsed, acted on. */
static int
act(struct delivery *in, const struct al_webhook_req *req, json_t **ret)
{
	struct al_err err = {0};
	int r;

	if (al_intake_github_headers(req->event, req->delivery, &err) < 0)
		return al_reply_refuse(&in->why, 400, "%s", al_err_msg(&err));
	if (al_store_delivery_seen(in->srv->store, req->delivery)) {
		*ret = json_pack("{s:s, s:s}", "status", "duplicate", "delivery", req->delivery);
		return 0;
	}
	r = al_intake_github(req->event, req->body, req->len, in->repo->github->full_name, &in->ev,
			     &err);
	if (r < 0) {
		in->why.error = r == -EBADMSG ? "malformed JSON" : NULL;
		return al_reply_refuse(&in->why, r == -EINVAL || r == -EBADMSG ? 400 : 500, "%s",
				       al_err_msg(&err));
	}
	switch (in->ev.kind) {
	case AL_GITHUB_PING:
	case AL_GITHUB_IGNORED:
		return ignore(in, req->event, ret);
	case AL_GITHUB_PUSH:
		return push(in, ret);
	case AL_GITHUB_CLOSED:
		return closed(in, ret);
	case AL_GITHUB_PULL_REQUEST:
		return pull_request(in, ret);
	}
	return al_reply_refuse(&in->why, 500, "unknown event kind");
}

int
al_webhook_github(struct al_server *srv, const struct al_webhook_req *req, int *ret_status,
		  json_t **ret_answer, struct al_refusal *why)
{
	struct delivery in = {.srv = srv, .id = req->delivery};
	struct al_config *cfg = al_live_config(srv);
	json_t *answer = NULL;
	const char *status;
	int r;

	in.cfg = cfg;
	in.lim = &cfg->limits;
	in.repo = signed_by(cfg, req->signature, req->body, req->len);
	if (!in.repo) {
		al_log("info", "webhook.refused", "reason=signature");
		in.why.error = "unauthorized";
		r = al_reply_refuse(&in.why, 401, "missing or wrong X-Hub-Signature-256");
	} else {
		r = act(&in, req, &answer);
	}
	if (r == 0 && !answer)
		r = al_reply_refuse(&in.why, 500, "out of memory");
	if (r < 0) {
		*why = in.why;
	} else {
		status = json_string_value(json_object_get(answer, "status"));
		*ret_status = !strcmp(status ? status : "", "queued") ||
				      !strcmp(status ? status : "", "ignored")
				  ? 202
				  : 200;
		*ret_answer = steal_pointer(&answer);
	}
	json_decref(answer);
	al_intake_event_clear(&in.ev);
	al_live_config_put(srv, cfg);
	return r;
}
