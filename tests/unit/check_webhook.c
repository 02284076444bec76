/* server/webhook.c: a GitHub delivery as GitHub sees it (status and answer, or refusal)
 * and what it left behind (what the store was asked to write, what was fetched).  The
 * signature check is the real one, over a secret in a temporary file; the body's parse
 * (server/intake.c), the store, libgit2 and the status poster are fakes below that record
 * their calls as one trace per case.  Linked with gates/ and lib/ only. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "runner/git.h"
#include "runner/runner.h"
#include "server/job.h"
#include "server/pull.h"
#include "server/server.h"
#include "tests/unit/fake_live.h"

#define HEAD "1111111111111111111111111111111111111111"
#define MOVED "2222222222222222222222222222222222222222"
#define BASE "3333333333333333333333333333333333333333"
#define MERGE_BASE "4444444444444444444444444444444444444444"
#define PROPOSAL "00112233445566778899aabbccddeeff"
#define DELIVERY "72d3162e-cc78-11e3-81ab-4c9367dc0958"
#define SECRET "It's a Secret to Everybody"
#define SECRET_B "another repository's secret"
#define BODY "{\"zen\":\"Keep it logically awesome.\",\"number\":7}"
#define REMOTE "https://github.com/acme/widget.git"
#define POLICY                                                                        \
	"{\"contract\":[{\"name\":\"unit\",\"command\":[\"make\"]}],\"test_paths\":[" \
	"\"tests/**\"]}"
#define DIFF(path)                                                                         \
	"diff --git a/" path " b/" path "\nindex 1..2 100644\n--- a/" path "\n+++ b/" path \
	"\n@@ -1 +1 @@\n-a\n+b\n"

/* ---- fakes ---- */

enum kind { PING, IGNORED, PULL, CLOSED, PUSH, MALFORMED };

static struct {
	/* set up */
	enum kind kind;
	const char *base_ref, *fetched;
	int seen, fetch_r, merge_base_r, diff_r, insert_r, record_r, close_r, moved_r;
	long long ftp;		  /* fail_to_pass ids the pull request names */
	const char *const *files; /* path, text, path, text, ..., NULL */
	const char *prs_on_base;  /* JSON */
	/* seen */
	char trace[1024];
	char specs[2][128], remote[128];
	char inserted_repo[32], delivery[160], patch[1024], test_patch[1024], provenance[512];
	char ftp_text[256], proposer[64], base[41], target[128], full_name[64], pr_full_name[64];
	int has_test_patch;
	long long number;
} fake;

static const char *const pr_files[] = {"src/a.c",
				       DIFF("src/a.c"),
				       "tests/test_a.py",
				       DIFF("tests/test_a.py"),
				       "README",
				       DIFF("README"),
				       NULL};
static const char *const pr_no_tests[] = {"src/a.c", DIFF("src/a.c"), NULL};
static const char *const pr_only_tests[] = {"tests/unit/test_b.py", DIFF("tests/unit/test_b.py"),
					    NULL};

static void trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
trace(const char *fmt, ...)
{
	size_t n = strlen(fake.trace);
	va_list ap;

	if (n)
		n += (size_t)snprintf(fake.trace + n, sizeof(fake.trace) - n, " ");
	va_start(ap, fmt);
	vsnprintf(fake.trace + n, sizeof(fake.trace) - n, fmt, ap);
	va_end(ap);
}

static struct al_repo_conf repos[2];
static struct al_github_repo gh[2];
static struct al_server srv;
static char secret_files[2][64];

int
al_intake_github_headers(const char *event, const char *delivery, struct al_err *err)
{
	if (!event || !*event || !delivery || !*delivery)
		return al_err_set(err, -EINVAL,
				  "X-GitHub-Event and X-GitHub-Delivery are required");
	return 0;
}

int
al_intake_github(const char *event, const char *body, size_t len, const char *full_name,
		 struct al_github_event *ret, struct al_err *err)
{
	(void)event;
	ck_assert_uint_eq(len, strlen(body));
	snprintf(fake.full_name, sizeof(fake.full_name), "%s", full_name);
	memset(ret, 0, sizeof(*ret));
	switch (fake.kind) {
	case MALFORMED:
		return al_err_set(err, -EBADMSG, "expected a JSON object");
	case PING:
		ret->kind = AL_GITHUB_PING;
		break;
	case IGNORED:
		ret->kind = AL_GITHUB_IGNORED;
		ret->reason = "issues events are not acted on";
		break;
	case CLOSED:
		ret->kind = AL_GITHUB_CLOSED;
		ret->number = 7;
		break;
	case PUSH:
		ret->kind = AL_GITHUB_PUSH;
		snprintf(ret->ref, sizeof(ret->ref), "refs/heads/%s", fake.base_ref);
		snprintf(ret->before, sizeof(ret->before), "%s", BASE);
		snprintf(ret->after, sizeof(ret->after), "%s", MOVED);
		break;
	case PULL:
		ret->kind = AL_GITHUB_PULL_REQUEST;
		ret->number = 7;
		snprintf(ret->action, sizeof(ret->action), "opened");
		snprintf(ret->head, sizeof(ret->head), "%s", HEAD);
		snprintf(ret->base_ref, sizeof(ret->base_ref), "%s", fake.base_ref);
		snprintf(ret->login, sizeof(ret->login), "alice");
		snprintf(ret->title, sizeof(ret->title), "Fix the widget");
		ret->fail_to_pass = json_array();
		for (long long i = 0; i < fake.ftp; i++)
			json_array_append_new(ret->fail_to_pass,
					      json_sprintf("tests/test_a.py::t%lld", i));
		break;
	}
	return 0;
}

void
al_intake_event_clear(struct al_github_event *ev)
{
	json_decref(ev->fail_to_pass);
	ev->fail_to_pass = NULL;
}

int
al_store_delivery_seen(struct al_store *s, const char *id)
{
	(void)s;
	ck_assert_str_eq(id, DELIVERY);
	trace("seen");
	return fake.seen;
}

int
al_store_delivery_record(struct al_store *s, const char *id, const char *event, const char *outcome,
			 struct al_err *err)
{
	(void)s;
	ck_assert_str_eq(id, DELIVERY);
	trace("record(%s,%s)", event, outcome);
	return fake.record_r < 0 ? al_err_set(err, fake.record_r, "store says no") : 0;
}

int
al_git_fetch(const char *repo_path, const char *url, const char *const *refspecs, size_t n,
	     struct al_err *err)
{
	ck_assert_str_eq(repo_path, "/srv/git/widget");
	ck_assert_uint_eq(n, 2);
	trace("fetch");
	snprintf(fake.remote, sizeof(fake.remote), "%s", url);
	snprintf(fake.specs[0], sizeof(fake.specs[0]), "%s", refspecs[0]);
	snprintf(fake.specs[1], sizeof(fake.specs[1]), "%s", refspecs[1]);
	return fake.fetch_r < 0 ? al_err_set(err, fake.fetch_r, "network down") : 0;
}

int
al_git_ref_commit(const char *repo_path, const char *ref, char out[41], struct al_err *err)
{
	(void)repo_path;
	(void)err;
	trace("ref(%s)", ref);
	snprintf(out, 41, "%s", strstr(ref, "/pull/") ? fake.fetched : BASE);
	return 0;
}

int
al_git_merge_base(const char *repo_path, const char *a_hex, const char *b_hex, char out[41],
		  struct al_err *err)
{
	(void)repo_path;
	ck_assert_str_eq(a_hex, BASE);
	ck_assert_str_eq(b_hex, HEAD);
	trace("merge_base");
	if (fake.merge_base_r < 0)
		return al_err_set(err, fake.merge_base_r,
				  "no merge base between the head and base");
	snprintf(out, 41, "%s", MERGE_BASE);
	return 0;
}

int
al_git_diff_files(const char *repo_path, const char *from_hex, const char *to_hex,
		  int (*each)(void *ctx, const char *path, const char *patch, size_t len),
		  void *ctx, struct al_err *err)
{
	(void)repo_path;
	/* the pull request's own change: from where it branched to its head */
	ck_assert_str_eq(from_hex, MERGE_BASE);
	ck_assert_str_eq(to_hex, HEAD);
	trace("diff");
	if (fake.diff_r < 0)
		return al_err_set(err, fake.diff_r, "corrupt object");
	for (size_t i = 0; fake.files[i]; i += 2) {
		int r = each(ctx, fake.files[i], fake.files[i + 1], strlen(fake.files[i + 1]));

		if (r < 0)
			return r;
	}
	return 0;
}

/* The confined child, run in process: the same answer from the fakes above. */
int
al_pull_fetch(const char *self_exe, const json_t *request, size_t cap, json_t **ret,
	      struct al_err *err)
{
	(void)self_exe;
	(void)cap;
	(void)err;
	ck_assert(json_is_array(json_object_get(request, "hide")));
	*ret = al_pull_answer(request);
	return 0;
}

json_t *
al_job_hide(const struct al_config *c, const char *config_path)
{
	(void)c;
	(void)config_path;
	return json_array();
}

void
al_random_hex(size_t n, char *out)
{
	ck_assert_uint_eq(n, 16);
	memcpy(out, PROPOSAL, 33);
}

void
al_github_target_url(struct al_server *s, const char *id, char *out, size_t n)
{
	(void)s;
	snprintf(out, n, "https://airlock.example/p/%s", id);
}

int
al_store_pull_request_insert(struct al_store *s, const struct al_proposal *p,
			     const struct al_pull_request *pr, struct al_pr_ended *ret,
			     struct al_err *err)
{
	(void)s;
	trace("insert(%s)", pr->delivery);
	snprintf(fake.inserted_repo, sizeof(fake.inserted_repo), "%s", p->repo);
	snprintf(fake.delivery, sizeof(fake.delivery), "%s", pr->delivery);
	snprintf(fake.patch, sizeof(fake.patch), "%.*s", (int)p->patch_len, p->patch);
	fake.has_test_patch = p->test_patch != NULL;
	snprintf(fake.test_patch, sizeof(fake.test_patch), "%.*s", (int)p->test_patch_len,
		 p->test_patch ? p->test_patch : "");
	snprintf(fake.provenance, sizeof(fake.provenance), "%s", p->provenance);
	snprintf(fake.ftp_text, sizeof(fake.ftp_text), "%s", p->fail_to_pass);
	snprintf(fake.proposer, sizeof(fake.proposer), "%s", p->proposer);
	snprintf(fake.base, sizeof(fake.base), "%s", p->base);
	snprintf(fake.target, sizeof(fake.target), "%s", pr->target_url ? pr->target_url : "");
	ck_assert_str_eq(p->id, PROPOSAL);
	ck_assert_str_eq(pr->head, HEAD);
	ck_assert_str_eq(pr->author, "alice");
	snprintf(fake.pr_full_name, sizeof(fake.pr_full_name), "%s", pr->full_name);
	fake.number = pr->number;
	if (fake.insert_r < 0)
		return al_err_set(err, fake.insert_r, "store says no");
	ret->ended = json_pack("[s]", "0123456789abcdef0123456789abcdef");
	ret->invalidated = json_array();
	return 0;
}

void
al_pr_ended_clear(struct al_pr_ended *e)
{
	json_decref(e->ended);
	json_decref(e->invalidated);
	e->ended = e->invalidated = NULL;
}

int
al_store_pull_request_close(struct al_store *s, const struct al_pull_request *pr,
			    struct al_pr_ended *ret, struct al_err *err)
{
	(void)s;
	trace("close(%lld)", pr->number);
	if (fake.close_r < 0)
		return al_err_set(err, fake.close_r, "store says no");
	ret->ended = json_pack("[s]", PROPOSAL);
	ret->invalidated = json_array();
	return 0;
}

int
al_store_base_moved(struct al_store *s, const char *delivery, const char *repo, const char *ref,
		    const char *before, json_t **ret, struct al_err *err)
{
	(void)s;
	(void)delivery;
	ck_assert_str_eq(before, BASE);
	trace("base_moved(%s,%s)", repo, ref);
	if (fake.moved_r < 0)
		return al_err_set(err, fake.moved_r, "store says no");
	*ret = json_array();
	return 0;
}

int
al_store_prs_on_base(struct al_store *s, const char *repo, const char *base, json_t **ret,
		     struct al_err *err)
{
	(void)s;
	(void)err;
	ck_assert_str_eq(base, BASE);
	trace("prs_on_base(%s)", repo);
	*ret = json_loads(fake.prs_on_base ? fake.prs_on_base : "[]", 0, NULL);
	ck_assert_ptr_nonnull(*ret);
	return 0;
}

void
al_github_kick(struct al_server *s)
{
	(void)s;
	trace("kick");
}

/* ---- the server the module sees ---- */

static void
write_secret(char *path, size_t n, const char *secret)
{
	int fd;

	snprintf(path, n, "/tmp/check_webhook.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	/* a trailing newline, as an editor leaves it, is not part of the secret */
	ck_assert(dprintf(fd, "%s\n", secret) > 0);
	close(fd);
}

static void
setup(void)
{
	static const char *const names[] = {"widget", "gadget"};
	struct al_err err = {0};

	memset(&fake, 0, sizeof(fake));
	memset(&live, 0, sizeof(live));
	memset(&srv, 0, sizeof(srv));
	fake.base_ref = "main";
	fake.fetched = HEAD;
	fake.files = pr_files;
	write_secret(secret_files[0], sizeof(secret_files[0]), SECRET);
	write_secret(secret_files[1], sizeof(secret_files[1]), SECRET_B);
	for (size_t i = 0; i < 2; i++) {
		json_t *j = json_loads(POLICY, 0, NULL);

		gh[i] = (struct al_github_repo){.full_name = i ? "acme/gadget" : "acme/widget",
						.secret_file = secret_files[i],
						.remote = REMOTE};
		repos[i] = (struct al_repo_conf){
		    .name = (char *)names[i], .github = &gh[i], .path = "/srv/git/widget"};
		ck_assert_msg(al_policy_parse(j, "repos.x.policy", &repos[i].policy, &err) == 0,
			      "%s", err.msg);
		json_decref(j);
	}
	cfg = (struct al_config){.repos = repos, .n_repos = 2};
	cfg.limits.max_patch_bytes = 1 << 20;
	cfg.limits.max_fail_to_pass = 3;
	al_log_quiet(1);
}

static void
teardown(void)
{
	live_balanced();
	for (size_t i = 0; i < 2; i++) {
		al_policy_free(repos[i].policy);
		unlink(secret_files[i]);
	}
}

/* "sha256=" and the hex HMAC-SHA256 of body under secret, as GitHub sends it. */
static void
sign(const char *secret, const char *body, char out[72])
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "sha256=", 7);
	sodium_bin2hex(out + 7, 65, mac, sizeof(mac));
}

/* ---- deliveries ---- */

enum sig { GOOD, NONE, WRONG_SECRET, OTHER_BODY, SHA1, TRUNCATED, SECRET_WITH_NEWLINE };

static const struct {
	enum sig sig;
	const char *event, *delivery;
	enum kind kind;
	const char *base_ref, *fetched;
	int seen, fetch_r, merge_base_r, diff_r, insert_r, record_r;
	long long ftp, max_patch;
	int status;	    /* of the answer or the refusal */
	const char *answer; /* JSON of the answer; NULL: refused */
	const char *detail; /* of a refusal */
	const char *trace;  /* what was done, in order */
} deliveries[] = {
    /* the signature first: nothing is read or stored without it */
    {NONE, "ping", DELIVERY, PING, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 401, NULL,
     "missing or wrong X-Hub-Signature-256", ""},
    {WRONG_SECRET, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 401, NULL,
     "missing or wrong X-Hub-Signature-256", ""},
    {OTHER_BODY, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 401, NULL,
     "missing or wrong X-Hub-Signature-256", ""},
    {SHA1, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 401, NULL,
     "missing or wrong X-Hub-Signature-256", ""},
    {TRUNCATED, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 401, NULL,
     "missing or wrong X-Hub-Signature-256", ""},
    {SECRET_WITH_NEWLINE, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 401,
     NULL, "missing or wrong X-Hub-Signature-256", ""},
    /* then the headers and the delivery id */
    {GOOD, NULL, DELIVERY, PING, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 400, NULL,
     "X-GitHub-Event and X-GitHub-Delivery are required", ""},
    {GOOD, "pull_request", DELIVERY, PULL, "main", HEAD, 1, 0, 0, 0, 0, 0, 0, 0, 200,
     "{\"status\":\"duplicate\",\"delivery\":\"" DELIVERY "\"}", NULL, "seen"},
    {GOOD, "pull_request", DELIVERY, MALFORMED, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 400, NULL,
     "expected a JSON object", "seen"},
    /* events that are only recorded */
    {GOOD, "ping", DELIVERY, PING, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 200,
     "{\"status\":\"pong\"}", NULL, "seen record(ping,pong)"},
    {GOOD, "issues", DELIVERY, IGNORED, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 202,
     "{\"status\":\"ignored\",\"reason\":\"issues events are not acted on\"}", NULL,
     "seen record(issues,ignored)"},
    {GOOD, "ping", DELIVERY, PING, "main", HEAD, 0, 0, 0, 0, 0, -EEXIST, 0, 0, 200,
     "{\"status\":\"duplicate\",\"delivery\":\"" DELIVERY "\"}", NULL, "seen record(ping,pong)"},
    {GOOD, "ping", DELIVERY, PING, "main", HEAD, 0, 0, 0, 0, 0, -EIO, 0, 0, 500, NULL,
     "could not record the delivery", "seen record(ping,pong)"},
    /* pull requests refused */
    {GOOD, "pull_request", DELIVERY, PULL, "dev", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 422, NULL,
     "the pull request's base refs/heads/dev is not one of the policy's branches", "seen"},
    {GOOD, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, 0, 0, 4, 0, 400, NULL,
     "fail_to_pass block: more than 3 test ids (limits.max_fail_to_pass)", "seen"},
    {GOOD, "pull_request", DELIVERY, PULL, "main", HEAD, 0, -EIO, 0, 0, 0, 0, 0, 0, 502, NULL,
     "could not fetch the pull request: network down", "seen fetch"},
    {GOOD, "pull_request", DELIVERY, PULL, "main", MOVED, 0, 0, 0, 0, 0, 0, 0, 0, 409, NULL,
     "the pull request's head is now " MOVED ", not " HEAD ": a later delivery gates it",
     "seen fetch ref(refs/airlock/pull/7/head) ref(refs/airlock/upstream/heads/main)"},
    {GOOD, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, -ENOENT, 0, 0, 0, 0, 0, 422, NULL,
     "no merge base between the head and base",
     "seen fetch ref(refs/airlock/pull/7/head) ref(refs/airlock/upstream/heads/main) merge_base"},
    {GOOD, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, -EIO, 0, 0, 0, 0, 422, NULL,
     "corrupt object",
     "seen fetch ref(refs/airlock/pull/7/head) ref(refs/airlock/upstream/heads/main) merge_base "
     "diff"},
    /* the diff's cap: one file over it */
    {GOOD, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 100, 413, NULL,
     "the pull request's diff is larger than 100 bytes (limits.max_patch_bytes)",
     "seen fetch ref(refs/airlock/pull/7/head) ref(refs/airlock/upstream/heads/main) merge_base "
     "diff"},
    {GOOD, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, -EEXIST, 0, 0, 0, 200,
     "{\"status\":\"duplicate\",\"delivery\":\"" DELIVERY "\"}", NULL,
     "seen fetch ref(refs/airlock/pull/7/head) ref(refs/airlock/upstream/heads/main) merge_base "
     "diff insert(" DELIVERY ")"},
    {GOOD, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, -EIO, 0, 0, 0, 500, NULL,
     "could not store the proposal",
     "seen fetch ref(refs/airlock/pull/7/head) ref(refs/airlock/upstream/heads/main) merge_base "
     "diff insert(" DELIVERY ")"},
    /* queued */
    {GOOD, "pull_request", DELIVERY, PULL, "main", HEAD, 0, 0, 0, 0, 0, 0, 2, 0, 202,
     "{\"status\":\"queued\",\"proposal\":\"" PROPOSAL "\",\"head\":\"" HEAD
     "\",\"superseded\":[\"0123456789abcdef0123456789abcdef\"],\"invalidated\":[]}",
     NULL,
     "seen fetch ref(refs/airlock/pull/7/head) ref(refs/airlock/upstream/heads/main) merge_base "
     "diff insert(" DELIVERY ") kick"},
    {GOOD, "pull_request", DELIVERY, CLOSED, "main", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 200,
     "{\"status\":\"closed\",\"cancelled\":[\"" PROPOSAL "\"],\"invalidated\":[]}", NULL,
     "seen close(7) kick"},
    {GOOD, "push", DELIVERY, PUSH, "docs", HEAD, 0, 0, 0, 0, 0, 0, 0, 0, 200,
     "{\"status\":\"base moved\",\"ref\":\"refs/heads/docs\",\"before\":\"" BASE
     "\",\"after\":\"" MOVED "\",\"invalidated\":[],\"regated\":[]}",
     NULL, "seen base_moved(widget,refs/heads/docs) kick"},
};

START_TEST(test_delivery)
{
	char sig[80] = "";
	struct al_webhook_req req = {.event = deliveries[_i].event,
				     .delivery = deliveries[_i].delivery,
				     .signature = sig,
				     .body = BODY,
				     .len = strlen(BODY)};
	struct al_refusal why = {0};
	json_t *answer = NULL, *want;
	int status = 0, r;

	setup();
	fake.kind = deliveries[_i].kind;
	fake.base_ref = deliveries[_i].base_ref;
	fake.fetched = deliveries[_i].fetched;
	fake.seen = deliveries[_i].seen;
	fake.fetch_r = deliveries[_i].fetch_r;
	fake.merge_base_r = deliveries[_i].merge_base_r;
	fake.diff_r = deliveries[_i].diff_r;
	fake.insert_r = deliveries[_i].insert_r;
	fake.record_r = deliveries[_i].record_r;
	fake.ftp = deliveries[_i].ftp;
	if (deliveries[_i].max_patch)
		cfg.limits.max_patch_bytes = deliveries[_i].max_patch;
	switch (deliveries[_i].sig) {
	case GOOD:
		sign(SECRET, BODY, sig);
		break;
	case NONE:
		req.signature = NULL;
		break;
	case WRONG_SECRET:
		sign("not the secret", BODY, sig);
		break;
	case OTHER_BODY:
		sign(SECRET, BODY " ", sig);
		break;
	case SHA1:
		sign(SECRET, BODY, sig);
		memcpy(sig, "sha1=", 5);
		memmove(sig + 5, sig + 7, strlen(sig + 7) + 1);
		break;
	case TRUNCATED:
		sign(SECRET, BODY, sig);
		sig[70] = '\0';
		break;
	case SECRET_WITH_NEWLINE:
		sign(SECRET "\n", BODY, sig);
		break;
	}
	r = al_webhook_github(&srv, &req, &status, &answer, &why);
	if (deliveries[_i].answer) {
		ck_assert_msg(r == 0, "refused %d: %s", why.status, why.detail);
		ck_assert_int_eq(status, deliveries[_i].status);
		want = json_loads(deliveries[_i].answer, 0, NULL);
		ck_assert_ptr_nonnull(want);
		{
			char *got = json_dumps(answer, JSON_COMPACT | JSON_SORT_KEYS);

			ck_assert_msg(json_equal(answer, want), "got %s", got);
			free(got);
		}
		json_decref(want);
		json_decref(answer);
	} else {
		ck_assert_int_lt(r, 0);
		ck_assert_int_eq(why.status, deliveries[_i].status);
		ck_assert_str_eq(why.detail, deliveries[_i].detail);
		if (why.status == 401)
			ck_assert_str_eq(why.error, "unauthorized");
	}
	ck_assert_str_eq(fake.trace, deliveries[_i].trace);
	teardown();
}
END_TEST

/* ---- the proposal a pull request becomes ---- */

static const struct {
	const char *const *files;
	const char *patch, *test_patch; /* test_patch NULL: none */
} splits[] = {
    /* test files (the policy's test_paths) go to the test patch, the rest in order */
    {pr_files, DIFF("src/a.c") DIFF("README"), DIFF("tests/test_a.py")},
    {pr_no_tests, DIFF("src/a.c"), NULL},
    {pr_only_tests, "", DIFF("tests/unit/test_b.py")},
};

START_TEST(test_pull_request_stored)
{
	char sig[80];
	struct al_webhook_req req = {.event = "pull_request",
				     .delivery = DELIVERY,
				     .signature = sig,
				     .body = BODY,
				     .len = strlen(BODY)};
	struct al_refusal why = {0};
	json_t *answer = NULL, *prov;
	int status = 0;

	setup();
	fake.kind = PULL;
	fake.files = splits[_i].files;
	fake.ftp = 1;
	sign(SECRET, BODY, sig);
	ck_assert_int_eq(al_webhook_github(&srv, &req, &status, &answer, &why), 0);
	ck_assert_int_eq(status, 202);
	ck_assert_str_eq(fake.patch, splits[_i].patch);
	ck_assert_int_eq(fake.has_test_patch, splits[_i].test_patch != NULL);
	if (splits[_i].test_patch)
		ck_assert_str_eq(fake.test_patch, splits[_i].test_patch);
	/* gated on the base branch's tip, by the pull request's author, who cannot approve */
	ck_assert_str_eq(fake.inserted_repo, "widget");
	ck_assert_str_eq(fake.pr_full_name, "acme/widget");
	ck_assert_str_eq(fake.base, BASE);
	ck_assert_str_eq(fake.proposer, "alice");
	ck_assert_int_eq(fake.number, 7);
	ck_assert_str_eq(fake.delivery, DELIVERY);
	ck_assert_str_eq(fake.ftp_text, "[\"tests/test_a.py::t0\"]");
	ck_assert_str_eq(fake.target, "https://airlock.example/p/" PROPOSAL);
	prov = json_loads(fake.provenance, 0, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(prov, "pull_request")), "acme/widget#7");
	ck_assert_str_eq(json_string_value(json_object_get(prov, "author")), "alice");
	ck_assert_str_eq(json_string_value(json_object_get(prov, "head")), HEAD);
	json_decref(prov);
	/* fetched from the configured remote into airlock's own refs */
	ck_assert_str_eq(fake.remote, REMOTE);
	ck_assert_str_eq(fake.specs[0], "+refs/pull/7/head:refs/airlock/pull/7/head");
	ck_assert_str_eq(fake.specs[1], "+refs/heads/main:refs/airlock/upstream/heads/main");
	json_decref(answer);
	teardown();
}
END_TEST

/* Each repository's secret vouches only for its own deliveries. */
START_TEST(test_signed_by_other_repo)
{
	char sig[80];
	struct al_webhook_req req = {.event = "pull_request",
				     .delivery = DELIVERY,
				     .signature = sig,
				     .body = BODY,
				     .len = strlen(BODY)};
	struct al_refusal why = {0};
	json_t *answer = NULL;
	int status = 0;

	setup();
	fake.kind = PULL;
	sign(SECRET_B, BODY, sig);
	ck_assert_int_eq(al_webhook_github(&srv, &req, &status, &answer, &why), 0);
	ck_assert_str_eq(fake.inserted_repo, "gadget");
	ck_assert_str_eq(fake.full_name, "acme/gadget");
	ck_assert_str_eq(fake.pr_full_name, "acme/gadget");
	json_decref(answer);
	teardown();
}
END_TEST

/* A push to a policy branch gates again the pull requests judged on its old tip, each
 * under a delivery id of its own. */
START_TEST(test_push_regates)
{
	char sig[80];
	struct al_webhook_req req = {.event = "push",
				     .delivery = DELIVERY,
				     .signature = sig,
				     .body = BODY,
				     .len = strlen(BODY)};
	struct al_refusal why = {0};
	json_t *answer = NULL, *regated;
	int status = 0;

	setup();
	fake.kind = PUSH;
	fake.prs_on_base =
	    "[{\"number\":7,\"head\":\"" HEAD "\",\"author\":\"alice\","
	    "\"fail_to_pass\":\"[]\",\"proposal\":\"0123456789abcdef0123456789abcdef\"}]";
	sign(SECRET, BODY, sig);
	ck_assert_int_eq(al_webhook_github(&srv, &req, &status, &answer, &why), 0);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(fake.trace,
			 "seen base_moved(widget,refs/heads/main) prs_on_base(widget) fetch "
			 "ref(refs/airlock/pull/7/head) ref(refs/airlock/upstream/heads/main) "
			 "merge_base diff insert(" DELIVERY "+pr7) kick kick");
	regated = json_object_get(answer, "regated");
	ck_assert_uint_eq(json_array_size(regated), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(regated, 0), "proposal")),
			 PROPOSAL);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(regated, 0), "was")),
			 "0123456789abcdef0123456789abcdef");
	json_decref(answer);
	teardown();
}
END_TEST

static Suite *
webhook_suite(void)
{
	Suite *s = suite_create("webhook");
	TCase *tc = tcase_create("deliveries");

	tcase_add_loop_test(tc, test_delivery, 0, sizeof(deliveries) / sizeof(deliveries[0]));
	tcase_add_loop_test(tc, test_pull_request_stored, 0, sizeof(splits) / sizeof(splits[0]));
	tcase_add_test(tc, test_signed_by_other_repo);
	tcase_add_test(tc, test_push_regates);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	if (sodium_init() < 0)
		return EXIT_FAILURE;
	sr = srunner_create(webhook_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
