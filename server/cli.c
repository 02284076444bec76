/* `airlock submit` and `airlock verify`. */
#include "cli.h"

#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "server/client.h"
#include "server/grant.h"
#include "server/keyring.h"
#include "server/server.h"
#include "server/sign.h"

#define KEY_MAX 16384
#define GRANT_MAX (16u << 20)
#define EXIT_USAGE 64

#define SUBMIT_USAGE                                                                               \
	"usage: airlock submit --server URL (--token T | --token-file F) --repo NAME --base REF\n" \
	"         --patch FILE [--test-patch FILE] [--fail-to-pass ID]... [--title TEXT]\n"        \
	"         [--agent NAME] [--model NAME] [--prompt-sha256 HEX]\n"                           \
	"         [--wait [--wait-timeout S] [--out FILE]]\n"
#define EXIT_AWAITING 3

struct submit_opts {
	const char *server, *token, *token_file, *repo, *base, *patch, *test_patch, *out, *title;
	const char *agent, *model, *prompt_sha256;
	json_t *ftp; /* owned */
	int wait;
	long wait_timeout_s;
};

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "airlock: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* The first thing a submission lacks, named as the user fixes it; NULL when complete. */
static const char *
submit_lack(const struct submit_opts *o, int argc)
{
	if (!o->server)
		return "missing --server URL";
	if (!(o->token || o->token_file || getenv("AIRLOCK_TOKEN")))
		return "missing --token, --token-file or AIRLOCK_TOKEN";
	if (!o->repo)
		return "missing --repo NAME";
	if (!o->base)
		return "missing --base REF";
	if (!o->patch)
		return "missing --patch FILE";
	if (optind != argc)
		return "unexpected arguments after the options";
	if (o->wait_timeout_s <= 0)
		return "--wait-timeout: expected a number of seconds";
	return NULL;
}

static int
submit_missing(const struct submit_opts *o, int argc)
{
	const char *lack = submit_lack(o, argc);

	if (lack)
		fprintf(stderr, "airlock: submit: %s\n", lack);
	return lack != NULL;
}

static int
submit_parse(int argc, char **argv, struct submit_opts *o)
{
	static const struct option opts[] = {{"server", required_argument, NULL, 's'},
					     {"token", required_argument, NULL, 't'},
					     {"token-file", required_argument, NULL, 'T'},
					     {"repo", required_argument, NULL, 'r'},
					     {"base", required_argument, NULL, 'b'},
					     {"patch", required_argument, NULL, 'p'},
					     {"test-patch", required_argument, NULL, 'P'},
					     {"fail-to-pass", required_argument, NULL, 'f'},
					     {"wait", no_argument, NULL, 'w'},
					     {"out", required_argument, NULL, 'o'},
					     {"agent", required_argument, NULL, 'a'},
					     {"model", required_argument, NULL, 'm'},
					     {"prompt-sha256", required_argument, NULL, 'h'},
					     {"wait-timeout", required_argument, NULL, 'W'},
					     {"title", required_argument, NULL, 'i'},
					     {"help", no_argument, NULL, 'H'},
					     {NULL, 0, NULL, 0}};
	int c;

	o->ftp = json_array();
	o->wait_timeout_s = 1800;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->server = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'T':
			o->token_file = optarg;
			break;
		case 'r':
			o->repo = optarg;
			break;
		case 'b':
			o->base = optarg;
			break;
		case 'p':
			o->patch = optarg;
			break;
		case 'P':
			o->test_patch = optarg;
			break;
		case 'f':
			json_array_append_new(o->ftp, json_string(optarg));
			break;
		case 'w':
			o->wait = 1;
			break;
		case 'o':
			o->out = optarg;
			break;
		case 'a':
			o->agent = optarg;
			break;
		case 'm':
			o->model = optarg;
			break;
		case 'h':
			o->prompt_sha256 = optarg;
			break;
		case 'W':
			o->wait_timeout_s = strtol(optarg, NULL, 10);
			break;
		case 'i':
			o->title = optarg;
			break;
		case 'H':
			return 1;
		default:
			return -EINVAL;
		}
	}
	return submit_missing(o, argc) ? -EINVAL : 0;
}

static char *
read_token(const struct submit_opts *o, struct al_err *err)
{
	char *text = NULL;
	size_t len;

	if (o->token)
		return strdup(o->token);
	if (!o->token_file) {
		const char *env = getenv("AIRLOCK_TOKEN");

		if (!env || !*env) {
			al_err_set(err, -EINVAL,
				   "no token: give --token, --token-file or "
				   "AIRLOCK_TOKEN");
			return NULL;
		}
		return strdup(env);
	}
	if (al_file_read(o->token_file, 1024, &text, &len, err) < 0)
		return NULL;
	text[strcspn(text, "\r\n")] = '\0';
	return text;
}

static json_t *
submit_body(const struct submit_opts *o, struct al_err *err)
{
	_cleanup_free_ char *patch = NULL, *tpatch = NULL;
	size_t len;
	json_t *b, *prov;

	if (al_file_read(o->patch, AL_MAX_PATCH_BYTES, &patch, &len, err) < 0)
		return NULL;
	if (o->test_patch &&
	    al_file_read(o->test_patch, AL_MAX_PATCH_BYTES, &tpatch, &len, err) < 0)
		return NULL;
	prov = json_object();
	if (o->agent)
		json_object_set_new(prov, "agent", json_string(o->agent));
	if (o->model)
		json_object_set_new(prov, "model", json_string(o->model));
	if (o->prompt_sha256)
		json_object_set_new(prov, "prompt_sha256", json_string(o->prompt_sha256));
	/* no test patch: no key at all (null is not a patch) */
	b = json_pack("{s:s, s:s, s:s, s:s*, s:s*, s:O, s:o}", "repo", o->repo, "base", o->base,
		      "patch", patch, "test_patch", tpatch, "title", o->title, "fail_to_pass",
		      o->ftp, "provenance", prov);
	if (!b)
		al_err_set(err, -EINVAL, "patch files must be UTF-8 text");
	return b;
}

/* Prints the server's error body as one line. */
static int
report_http_error(long status, const char *body)
{
	json_t *j = json_loads(body, 0, NULL);
	const char *e = json_string_value(json_object_get(j, "error"));
	const char *d = json_string_value(json_object_get(j, "detail"));

	fprintf(stderr, "airlock: server answered %ld: %s%s%s\n", status, e ? e : body,
		d ? ": " : "", d ? d : "");
	json_decref(j);
	return 2;
}

/* "runs: a, b", "patch: src/x.c:12", "approved by: alice": one line from evidence. */
static void
evidence_text(const json_t *ev, char *buf, size_t n)
{
	const json_t *runs = json_object_get(ev, "runs"), *by = json_object_get(ev, "approved_by");
	const char *file = json_string_value(json_object_get(ev, "file"));
	const char *which = json_string_value(json_object_get(ev, "patch"));
	const json_t *line = json_object_get(ev, "line");
	size_t i, o = 0;
	json_t *e;

	buf[0] = '\0';
	if (json_array_size(runs) || json_array_size(by)) {
		const json_t *list = json_array_size(runs) ? runs : by;

		o = (size_t)snprintf(buf, n, "%s", list == runs ? "runs: " : "approved by: ");
		json_array_foreach (list, i, e) {
			int k = snprintf(buf + o, n - o, "%s%s", i ? ", " : "",
					 json_string_value(e) ?: "?");
			if (k < 0 || (size_t)k >= n - o)
				break;
			o += (size_t)k;
		}
	} else if (file && json_is_integer(line)) {
		snprintf(buf, n, "%s: %s:%lld", which ? which : "patch", file,
			 (long long)json_integer_value(line));
	} else if (file) {
		snprintf(buf, n, "%s: %s", which ? which : "patch", file);
	} else if (which) {
		snprintf(buf, n, "%s", which);
	}
}

/* The verdict as a table a person reads: one rule a line, result first. */
static void
print_verdict(const json_t *p)
{
	const json_t *v = json_object_get(p, "verdict"), *rule, *grants;
	const char *state = json_string_value(json_object_get(p, "state"));
	const char *reason = json_string_value(json_object_get(v, "reason"));
	const char *error = json_string_value(json_object_get(p, "error"));
	const char *auth = json_string_value(json_object_get(v, "authority"));
	const char *ref = json_string_value(json_object_get(v, "ref"));
	const json_t *tier = json_object_get(p, "tier");
	char ev[256];
	size_t i;

	printf("verdict: %s: %s\n", state ? state : "?", error ? error : reason ? reason : "");
	printf("proposal: %s  repo: %s  base: %s  revision: %lld  proposer: %s\n",
	       json_string_value(json_object_get(p, "id")) ?: "?",
	       json_string_value(json_object_get(p, "repo")) ?: "?",
	       json_string_value(json_object_get(p, "base")) ?: "?",
	       (long long)json_integer_value(json_object_get(p, "revision")),
	       json_string_value(json_object_get(p, "proposer")) ?: "?");
	if (json_is_integer(tier))
		printf("tier: %lld%s%s%s%s\n", (long long)json_integer_value(tier),
		       auth ? "  authority: " : "", auth ? auth : "", ref ? " " : "",
		       ref ? ref : "");
	grants = json_object_get(p, "approval_grants");
	if (json_is_object(grants))
		printf("an approval grants: %s\n",
		       json_string_value(json_object_get(grants, "summary")) ?: "?");
	if (json_array_size(json_object_get(v, "rules")))
		printf("  %-14s %-30s %s\n", "RESULT", "RULE", "REASON [EVIDENCE]");
	json_array_foreach (json_object_get(v, "rules"), i, rule) {
		evidence_text(json_object_get(rule, "evidence"), ev, sizeof(ev));
		printf("  %-14s %-30s %s%s%s%s\n",
		       json_string_value(json_object_get(rule, "result")) ?: "?",
		       json_string_value(json_object_get(rule, "rule")) ?: "?",
		       json_string_value(json_object_get(rule, "reason")) ?: "", ev[0] ? " [" : "",
		       ev, ev[0] ? "]" : "");
	}
}

static int
save_grant(const struct submit_opts *o, const char *id, const char *token)
{
	char url[512], name[128];
	_cleanup_free_ char *body = NULL;
	struct al_err err = {0};
	const char *path = o->out;
	long status = 0;

	snprintf(url, sizeof(url), "%s/v1/proposals/%s/grant", o->server, id);
	if (al_client_request("GET", url, token, NULL, &status, &body, &err) < 0)
		return fail("%s", al_err_msg(&err));
	if (status != 200)
		return report_http_error(status, body);
	if (!path) {
		snprintf(name, sizeof(name), "airlock-grant-%s.json", id);
		path = name;
	}
	if (al_file_write_atomic(path, body, strlen(body), 0644, &err) < 0)
		return fail("%s", al_err_msg(&err));
	printf("grant saved to %s\n", path);
	return 0;
}

static int
wait_verdict(const struct submit_opts *o, const char *id, const char *token)
{
	char url[512];
	time_t deadline = time(NULL) + o->wait_timeout_s;
	struct al_err err = {0};

	snprintf(url, sizeof(url), "%s/v1/proposals/%s", o->server, id);
	while (time(NULL) < deadline) {
		_cleanup_free_ char *body = NULL;
		long status = 0;
		json_t *p;
		const char *state;
		int done, granted, awaiting;

		if (al_client_request("GET", url, token, NULL, &status, &body, &err) < 0)
			return fail("%s", al_err_msg(&err));
		if (status != 200)
			return report_http_error(status, body);
		p = json_loads(body, 0, NULL);
		state = json_string_value(json_object_get(p, "state"));
		done = state && strcmp(state, "queued") && strcmp(state, "running");
		granted = state && !strcmp(state, "granted");
		awaiting = state && !strcmp(state, "awaiting_approval");
		if (done)
			print_verdict(p);
		json_decref(p);
		if (awaiting)
			return EXIT_AWAITING;
		if (done)
			return granted ? save_grant(o, id, token) : 1;
		usleep(100 * 1000);
	}
	return fail("timed out waiting for a verdict on %s", id);
}

int
al_cli_submit(int argc, char **argv)
{
	struct submit_opts o = {0};
	struct al_err err = {0};
	_cleanup_free_ char *token = NULL, *req = NULL, *resp = NULL;
	char url[512];
	long status = 0;
	json_t *body = NULL, *answer;
	int r;

	r = submit_parse(argc, argv, &o);
	if (r != 0) {
		json_decref(o.ftp);
		fputs(SUBMIT_USAGE, r > 0 ? stdout : stderr);
		return r > 0 ? 0 : EXIT_USAGE;
	}
	token = read_token(&o, &err);
	if (token)
		body = submit_body(&o, &err);
	req = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	json_decref(o.ftp);
	if (!req)
		return fail("submit: %s", al_err_msg(&err));
	snprintf(url, sizeof(url), "%s/v1/proposals", o.server);
	if (al_client_request("POST", url, token, req, &status, &resp, &err) < 0)
		return fail("submit: %s", al_err_msg(&err));
	if (status != 202)
		return report_http_error(status, resp);
	answer = json_loads(resp, 0, NULL);
	if (!json_string_value(json_object_get(answer, "id"))) {
		json_decref(answer);
		return fail("submit: unexpected answer: %s", resp);
	}
	printf("proposal %s\n", json_string_value(json_object_get(answer, "id")));
	fflush(stdout);
	r = o.wait ? wait_verdict(&o, json_string_value(json_object_get(answer, "id")), token) : 0;
	json_decref(answer);
	explicit_bzero(token, strlen(token));
	return r;
}

static void
print_valid(const json_t *st, const char *keyid)
{
	const json_t *pred = json_object_get(st, "predicate");
	const json_t *auth = json_object_get(pred, "authority");
	const json_t *dig =
	    json_object_get(json_array_get(json_object_get(st, "subject"), 0), "digest");

	printf("valid: %s %s in %s at commit %s (tree %s), proposal %s, key %.16s, expires %s\n",
	       json_string_value(json_object_get(auth, "kind")),
	       json_string_value(json_object_get(auth, "ref")),
	       json_string_value(json_object_get(pred, "repository")),
	       json_string_value(json_object_get(dig, "gitCommit")),
	       json_string_value(json_object_get(dig, "gitTree")),
	       json_string_value(json_object_get(pred, "proposal")), keyid,
	       json_string_value(json_object_get(pred, "notAfter")));
}

/* --key FILE: a PEM or base64 public key (one trusted key), or a keyring document as
 * GET /v1/keys answers it; --keys-url URL: that document fetched. */
static int
verify_keys(const char *key, const char *url, struct al_keyring **ret, struct al_err *err)
{
	_cleanup_free_ char *text = NULL;
	unsigned char pub[AL_PUBKEY_BYTES];
	long status = 0;
	size_t len;
	json_t *doc;
	int r;

	if (url) {
		if (al_client_request("GET", url, NULL, NULL, &status, &text, err) < 0)
			return -EIO;
		if (status != 200)
			return al_err_set(err, -EIO, "%s answered %ld", url, status);
	} else if (al_file_read(key, KEY_MAX, &text, &len, err) < 0) {
		return -EIO;
	}
	doc = json_loads(text, 0, NULL);
	if (doc) {
		r = al_keyring_parse(doc, ret, err);
		json_decref(doc);
		return r;
	}
	if (url)
		return al_err_set(err, -EINVAL, "%s: not a keys document", url);
	r = al_pubkey_parse(text, pub, err);
	if (r < 0)
		return r;
	doc = json_pack("{s:[{s:s, s:s}]}", "keys", "public_key", text, "status", "active");
	r = doc ? al_keyring_parse(doc, ret, err) : al_err_set(err, -ENOMEM, "out of memory");
	json_decref(doc);
	return r;
}

int
al_cli_verify(int argc, char **argv)
{
	static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
					     {"keys-url", required_argument, NULL, 'u'},
					     {"repo", required_argument, NULL, 'r'},
					     {"ref", required_argument, NULL, 'R'},
					     {"commit", required_argument, NULL, 'c'},
					     {"old", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	struct al_grant_binding b = {0};
	const char *key = NULL, *url = NULL;
	_cleanup_free_ char *grant = NULL, *payload = NULL;
	struct al_keyring *kr = NULL;
	const struct al_key *used = NULL;
	struct al_err err = {0};
	size_t len, plen;
	json_t *st = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'k')
			key = optarg;
		else if (c == 'u')
			url = optarg;
		else if (c == 'r')
			b.repo = optarg;
		else if (c == 'R')
			b.ref = optarg;
		else if (c == 'c')
			b.commit = optarg;
		else if (c == 'o')
			b.old = optarg;
		else
			return EXIT_USAGE;
	}
	if (!key == !url || optind != argc - 1) {
		fprintf(stderr, "usage: airlock verify (--key FILE | --keys-url URL) --repo R "
				"[--ref REF] [--commit SHA] [--old SHA] GRANT_FILE\n");
		return EXIT_USAGE;
	}
	/* A grant is valid only for the repository it names: a grant for another repository
	 * with the same history would otherwise pass every other binding. */
	if (!b.repo || !*b.repo) {
		fprintf(stderr, "usage: airlock verify: --repo R is required (the repository the "
				"grant must be for, as the server's config names it)\n");
		return EXIT_USAGE;
	}
	if (al_sign_init() < 0 || verify_keys(key, url, &kr, &err) < 0) {
		fprintf(stderr, "invalid: keys: %s\n", al_err_msg(&err));
		return EXIT_USAGE;
	}
	if (al_file_read(argv[optind], GRANT_MAX, &grant, &len, &err) < 0) {
		al_keyring_free(kr);
		fprintf(stderr, "invalid: %s\n", al_err_msg(&err));
		return AL_VERIFY_MALFORMED;
	}
	/* the signature first, and the key's status; only then is the payload read */
	r = al_keyring_verify(kr, grant, len, time(NULL), &payload, &plen, &used, &err);
	if (r == 0)
		r = al_grant_check(payload, plen, time(NULL), &b, &st, &err);
	else
		r = r == -EBADMSG || r == -ENOMEM ? AL_VERIFY_MALFORMED : AL_VERIFY_BAD_SIGNATURE;
	if (r != 0)
		fprintf(stderr, "invalid: %s\n", al_err_msg(&err));
	else
		print_valid(st, used->keyid);
	json_decref(st);
	al_keyring_free(kr);
	return r;
}

/* Options shared by status, approve and reject. */
struct review_opts {
	struct submit_opts conn; /* server and token */
	const char *comment, *tree, *id;
};

static int
review_parse(int argc, char **argv, bool decide, struct review_opts *o)
{
	static const struct option opts[] = {
	    {"server", required_argument, NULL, 's'},	  {"token", required_argument, NULL, 't'},
	    {"token-file", required_argument, NULL, 'T'}, {"comment", required_argument, NULL, 'c'},
	    {"tree", required_argument, NULL, 'r'},	  {NULL, 0, NULL, 0}};
	int c;

	o->conn.server = "http://127.0.0.1:8080";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			o->conn.server = optarg;
		else if (c == 't')
			o->conn.token = optarg;
		else if (c == 'T')
			o->conn.token_file = optarg;
		else if (c == 'c' && decide)
			o->comment = optarg;
		else if (c == 'r' && decide)
			o->tree = optarg;
		else
			return -EINVAL;
	}
	if (optind != argc - 1)
		return -EINVAL;
	o->id = argv[optind];
	/* the id goes into a URL path */
	if (strlen(o->id) != 32 || strspn(o->id, "0123456789abcdef") != 32)
		return -EINVAL;
	return 0;
}

int
al_cli_status(int argc, char **argv)
{
	struct review_opts o = {0};
	_cleanup_free_ char *token = NULL, *body = NULL;
	struct al_err err = {0};
	char url[512];
	long status = 0;
	json_t *p;

	if (review_parse(argc, argv, false, &o) < 0) {
		fprintf(stderr, "usage: airlock status [--server URL] (--token T | --token-file F) "
				"PROPOSAL_ID\n");
		return EXIT_USAGE;
	}
	token = read_token(&o.conn, &err);
	if (!token)
		return fail("status: %s", al_err_msg(&err));
	snprintf(url, sizeof(url), "%s/v1/proposals/%s", o.conn.server, o.id);
	if (al_client_request("GET", url, token, NULL, &status, &body, &err) < 0)
		return fail("status: %s", al_err_msg(&err));
	explicit_bzero(token, strlen(token));
	if (status != 200)
		return report_http_error(status, body);
	p = json_loads(body, 0, NULL);
	if (!json_is_object(p)) {
		json_decref(p);
		return fail("status: the server's answer is not a JSON object");
	}
	print_verdict(p);
	json_decref(p);
	return 0;
}

/* decision: "approve" or "reject". */
int
al_cli_decide(int argc, char **argv, const char *decision)
{
	struct review_opts o = {0};
	_cleanup_free_ char *token = NULL, *body = NULL, *req = NULL;
	struct al_err err = {0};
	char url[512];
	long status = 0;
	json_t *b, *p;

	if (review_parse(argc, argv, true, &o) < 0) {
		fprintf(stderr,
			"usage: airlock %s [--server URL] (--token T | --token-file F) "
			"[--comment TEXT] [--tree TREE_ID] PROPOSAL_ID\n",
			decision);
		return EXIT_USAGE;
	}
	token = read_token(&o.conn, &err);
	if (!token)
		return fail("%s: %s", decision, al_err_msg(&err));
	b = json_object();
	if (b && o.comment && json_object_set_new(b, "comment", json_string(o.comment)) < 0)
		json_decref(steal_pointer(&b));
	if (b && o.tree && json_object_set_new(b, "tree", json_string(o.tree)) < 0)
		json_decref(steal_pointer(&b));
	req = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!req)
		return fail("%s: the comment must be UTF-8 text", decision);
	snprintf(url, sizeof(url), "%s/v1/proposals/%s/%s", o.conn.server, o.id, decision);
	if (al_client_request("POST", url, token, req, &status, &body, &err) < 0)
		return fail("%s: %s", decision, al_err_msg(&err));
	explicit_bzero(token, strlen(token));
	if (status != 200)
		return report_http_error(status, body);
	p = json_loads(body, 0, NULL);
	print_verdict(p);
	json_decref(p);
	return 0;
}

/* `airlock pause --reason TEXT` / `airlock resume`: the kill switch, over the API (admin). */
int
al_cli_pause(int argc, char **argv, bool pause)
{
	static const struct option opts[] = {{"server", required_argument, NULL, 's'},
					     {"token", required_argument, NULL, 't'},
					     {"token-file", required_argument, NULL, 'T'},
					     {"reason", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	const char *what = pause ? "pause" : "resume", *reason = NULL;
	struct submit_opts conn = {.server = "http://127.0.0.1:8080"};
	_cleanup_free_ char *token = NULL, *req = NULL, *body = NULL;
	struct al_err err = {0};
	char url[512];
	long status = 0;
	json_t *b;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			conn.server = optarg;
		else if (c == 't')
			conn.token = optarg;
		else if (c == 'T')
			conn.token_file = optarg;
		else if (c == 'r' && pause)
			reason = optarg;
		else
			return fprintf(stderr, "airlock: %s: unknown option\n", what), EXIT_USAGE;
	}
	if (optind != argc || (pause && !reason))
		return fprintf(stderr, "airlock: %s: %s\n", what,
			       optind != argc ? "unexpected arguments" : "missing --reason TEXT"),
		       EXIT_USAGE;
	token = read_token(&conn, &err);
	if (!token)
		return fail("%s: %s", what, al_err_msg(&err));
	b = pause ? json_pack("{s:s}", "reason", reason) : json_object();
	req = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	if (!req)
		return fail("%s: the reason must be UTF-8 text", what);
	snprintf(url, sizeof(url), "%s/v1/admin/%s", conn.server, what);
	if (al_client_request("POST", url, token, req, &status, &body, &err) < 0)
		return fail("%s: %s", what, al_err_msg(&err));
	explicit_bzero(token, strlen(token));
	if (status != 200)
		return report_http_error(status, body);
	b = json_loads(body, 0, NULL);
	if (pause)
		printf("paused: %s (%lld running job(s) stopped and queued again)\n", reason,
		       (long long)json_integer_value(json_object_get(b, "stopped")));
	else
		printf("resumed\n");
	json_decref(b);
	return 0;
}

/* ---- shared with the proposal commands (cli-change.c) ---- */

char *
al_cli_token(const char *token, const char *token_file, struct al_err *err)
{
	struct submit_opts o = {.token = token, .token_file = token_file};

	return read_token(&o, err);
}

int
al_cli_refused(long status, const char *body)
{
	return report_http_error(status, body);
}

int
al_cli_wait(const char *server, const char *out, long timeout_s, const char *id, const char *token)
{
	struct submit_opts o = {.server = server, .out = out, .wait_timeout_s = timeout_s};

	return wait_verdict(&o, id, token);
}
