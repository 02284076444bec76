/* Intake validation of untrusted bodies: proposals and revisions (POST /v1/proposals),
 * GitHub webhook deliveries.  Pure: no HTTP, no store, no configuration. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/gates.h"
#include "lib/macros.h"
#include "lib/utf8.h"
#include "server/intake.h"

#define FENCE "```airlock-fail-to-pass"
#define TEST_ID_BUF 256

static int
text_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static const char *
check_provenance(const json_t *prov)
{
	const char *key;
	json_t *v;

	if (!prov)
		return NULL;
	if (!json_is_object(prov))
		return "provenance: expected an object";
	json_object_foreach ((json_t *)prov, key, v) {
		if (strcmp(key, "agent") && strcmp(key, "model") && strcmp(key, "prompt_sha256"))
			return "provenance: unknown field";
		if (!json_is_string(v) || !text_ok(json_string_value(v), AL_PROVENANCE_FIELD_MAX))
			return "provenance: fields must be short printable strings";
	}
	v = json_object_get(prov, "prompt_sha256");
	if (v && !is_hex64(json_string_value(v)))
		return "provenance.prompt_sha256: expected 64 lowercase hex digits";
	return NULL;
}

static const char *
check_fail_to_pass(const json_t *ftp)
{
	size_t i;
	json_t *v;

	if (!ftp)
		return NULL;
	if (!json_is_array(ftp) || json_array_size(ftp) > AL_MAX_FAIL_TO_PASS)
		return "fail_to_pass: expected an array of at most 64 test ids";
	json_array_foreach (ftp, i, v) {
		if (!json_is_string(v) || !al_gates_test_id_valid(json_string_value(v)))
			return "fail_to_pass: invalid test id (allowed: letters, digits, "
			       "_.:/=+,@[]- and inner spaces,"
			       " no leading '-', at most 200 characters)";
		/* one test named twice would be one proof counted twice */
		for (size_t k = 0; k < i; k++)
			if (json_equal(json_array_get(ftp, k), v))
				return "fail_to_pass: a test id is named twice";
	}
	return NULL;
}

static const char *
unknown_field(const json_t *b, const char *const *known, size_t n_known, char *buf, size_t n)
{
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *)b, key, v) {
		size_t i;
		for (i = 0; i < n_known && strcmp(key, known[i]); i++)
			;
		if (i < n_known)
			continue;
		/* named only when short printable ASCII: never cut a UTF-8 sequence */
		if (!text_ok(key, 64) ||
		    strspn(key, " !\"#$%&'()*+,-./0123456789:;<=>?@"
				"ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
				"abcdefghijklmnopqrstuvwxyz{|}~") != strlen(key))
			return "body: unknown field";
		snprintf(buf, n, "%s: unknown field", key);
		return buf;
	}
	return NULL;
}

/* The patches and tests of a proposal or a revision. */
static const char *
check_patches(const json_t *b)
{
	json_t *v;

	v = json_object_get(b, "patch");
	if (!json_is_string(v) || json_string_length(v) == 0)
		return "patch: expected a non-empty unified diff";
	if (json_string_length(v) > AL_MAX_PATCH_BYTES)
		return "patch: larger than the 4 MiB limit";
	v = json_object_get(b, "test_patch");
	if (v && (!json_is_string(v) || json_string_length(v) > AL_MAX_PATCH_BYTES))
		return "test_patch: expected a unified diff of at most 4 MiB";
	return check_fail_to_pass(json_object_get(b, "fail_to_pass"));
}

/* Shape of a proposal body; NULL when it is acceptable. buf holds a composed message. */
static const char *
check_proposal(const json_t *b, char *buf, size_t n)
{
	static const char *const known[] = {"repo",	    "base",	  "patch", "test_patch",
					    "fail_to_pass", "provenance", "title"};
	const char *why;
	json_t *v;

	if (!json_is_object(b))
		return "body: expected a JSON object";
	if ((why = unknown_field(b, known, AL_ARRAY_SIZE(known), buf, n)))
		return why;
	if (!json_is_string(json_object_get(b, "repo")))
		return "repo: expected a string";
	v = json_object_get(b, "base");
	if (!json_is_string(v) || !text_ok(json_string_value(v), AL_BASE_MAX) ||
	    json_string_value(v)[0] == '-')
		return "base: expected a ref or commit id";
	if ((why = check_patches(b)))
		return why;
	v = json_object_get(b, "title");
	if (v && (!json_is_string(v) || !text_ok(json_string_value(v), AL_TITLE_MAX)))
		return "title: expected one line of at most 200 bytes";
	return check_provenance(json_object_get(b, "provenance"));
}

/* A revision replaces the patches and tests; repository, base and provenance stay. */
static const char *
check_revision(const json_t *b, char *buf, size_t n)
{
	static const char *const known[] = {"patch", "test_patch", "fail_to_pass"};
	const char *why;

	if (!json_is_object(b))
		return "body: expected a JSON object";
	if ((why = unknown_field(b, known, AL_ARRAY_SIZE(known), buf, n)))
		return why;
	return check_patches(b);
}

/* The parser's message, made one line of valid UTF-8: it quotes up to 20 bytes of the input
 * near the error, control characters and all, and may cut a character in two (a detail
 * that is not UTF-8 cannot be sent as a JSON string). */
int
al_intake_json_error(const json_error_t *jerr, struct al_err *err)
{
	const char *text = jerr->text[0] ? jerr->text : "not JSON";
	_cleanup_free_ char *clean = NULL;
	size_t n = 0, i;

	clean = al_utf8_sanitize(text, strlen(text), &n);
	if (!clean)
		return al_err_set(err, -EBADMSG, "not JSON");
	for (i = 0; i < n; i++)
		if ((unsigned char)clean[i] < 0x20 || clean[i] == 0x7f)
			clean[i] = ' ';
	return al_err_set(err, -EBADMSG, "%s", clean);
}

typedef const char *(*body_check)(const json_t *b, char *buf, size_t n);

static int
load_checked(const char *body, size_t len, body_check check, json_t **ret, struct al_err *err)
{
	json_error_t jerr;
	_cleanup_(al_json_decrefp) json_t *b = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	const char *why;
	char msg[96];

	if (!b)
		return al_intake_json_error(&jerr, err);
	if ((why = check(b, msg, sizeof(msg))))
		return al_err_set(err, -EINVAL, "%s", why);
	*ret = steal_pointer(&b);
	return 0;
}

int
al_intake_proposal(const char *body, size_t len, json_t **ret, struct al_err *err)
{
	return load_checked(body, len, check_proposal, ret, err);
}

int
al_intake_revision(const char *body, size_t len, json_t **ret, struct al_err *err)
{
	return load_checked(body, len, check_revision, ret, err);
}

/* --- GitHub deliveries ------------------------------------------------------------------ */

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
	return token_ok(s, AL_GITHUB_BRANCH_MAX,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._/-") &&
	       s[0] != '-' && s[0] != '/' && s[0] != '.' && !strstr(s, "..") && !strstr(s, "//") &&
	       s[strlen(s) - 1] != '/' && s[strlen(s) - 1] != '.';
}

static int
event_ok(const char *event)
{
	return token_ok(event, AL_GITHUB_TOKEN_MAX, "abcdefghijklmnopqrstuvwxyz_");
}

int
al_intake_github_headers(const char *event, const char *delivery, struct al_err *err)
{
	if (!event_ok(event) || !token_ok(delivery, AL_GITHUB_TOKEN_MAX, "0123456789abcdefABCDEF-"))
		return al_err_set(err, -EINVAL,
				  "expected X-GitHub-Event and X-GitHub-Delivery headers");
	return 0;
}

/* fail_to_pass ids from the first ```airlock-fail-to-pass fenced block of the body. */
static int
fail_to_pass_of(const char *body, json_t *ids, struct al_err *err)
{
	const char *p = body ? strstr(body, FENCE) : NULL, *end;
	char id[TEST_ID_BUF];

	if (!p)
		return 0;
	p += strlen(FENCE);
	p += strspn(p, " \t\r");
	if (*p != '\n')
		return al_err_set(err, -EINVAL,
				  "fail_to_pass block: the fence line must end after its name");
	end = strstr(p, "\n```");
	if (!end)
		return al_err_set(err, -EINVAL, "fail_to_pass block: no closing fence");
	while (p < end) {
		size_t n;

		p += strspn(p, " \t\r\n");
		/* the blank that ends the last id may run into the closing fence's newline */
		if (p >= end)
			break;
		n = strcspn(p, " \t\r\n");
		if (p + n > end)
			n = (size_t)(end - p);
		if (n >= sizeof(id))
			return al_err_set(err, -EINVAL,
					  "fail_to_pass block: a test id is too long");
		memcpy(id, p, n);
		id[n] = '\0';
		if (!al_gates_test_id_valid(id))
			return al_err_set(err, -EINVAL, "fail_to_pass block: invalid test id");
		if (json_array_size(ids) >= AL_MAX_FAIL_TO_PASS)
			return al_err_set(err, -EINVAL,
					  "fail_to_pass block: more than 64 test ids");
		for (size_t k = 0; k < json_array_size(ids); k++)
			if (!strcmp(json_string_value(json_array_get(ids, k)), id))
				return al_err_set(err, -EINVAL,
						  "fail_to_pass block: test id %s is named twice",
						  id);
		if (json_array_append_new(ids, json_string(id)) < 0)
			return al_err_set(err, -ENOMEM, "out of memory");
		p += n;
	}
	return 0;
}

static int
utf8_continuation(char c)
{
	return ((unsigned char)c & 0xc0) == 0x80;
}

/* One line of at most AL_TITLE_MAX bytes, control characters made spaces, cut on a
 * character boundary.  t is valid UTF-8 (jansson checked it). */
static void
title_of(const char *t, char out[AL_TITLE_MAX + 1])
{
	size_t n = 0;

	for (; t && *t && n < AL_TITLE_MAX; t++)
		out[n++] = (unsigned char)*t < 0x20 || *t == 0x7f ? ' ' : *t;
	/* cut inside a character: drop its first bytes too */
	if (t && utf8_continuation(*t)) {
		while (n > 0 && utf8_continuation(out[n - 1]))
			n--;
		if (n > 0)
			n--; /* the lead byte */
	}
	out[n] = '\0';
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

static int
number_ok(json_int_t n)
{
	return n > 0 && n <= AL_GITHUB_NUMBER_MAX;
}

/* opened, reopened, synchronize: what the gate needs of the pull request. */
static int
pull_request(const json_t *ev, struct al_github_event *out, struct al_err *err)
{
	const json_t *pr = json_object_get(ev, "pull_request");
	const char *head = json_string_value(json_object_get(json_object_get(pr, "head"), "sha"));
	const char *base_ref =
	    json_string_value(json_object_get(json_object_get(pr, "base"), "ref"));
	const char *login =
	    json_string_value(json_object_get(json_object_get(pr, "user"), "login"));
	json_int_t number = json_integer_value(json_object_get(pr, "number"));
	int r;

	if (!is_sha(head) || !branch_ok(base_ref) || !number_ok(number) ||
	    !token_ok(login, AL_GITHUB_LOGIN_MAX,
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-[]"))
		return al_err_set(err, -EINVAL,
				  "pull_request: expected number, head.sha, base.ref and "
				  "user.login");
	out->fail_to_pass = json_array();
	if (!out->fail_to_pass)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = fail_to_pass_of(json_string_value(json_object_get(pr, "body")), out->fail_to_pass, err);
	if (r < 0)
		return r;
	out->kind = AL_GITHUB_PULL_REQUEST;
	out->number = number;
	snprintf(out->action, sizeof(out->action), "%s",
		 json_string_value(json_object_get(ev, "action")));
	snprintf(out->head, sizeof(out->head), "%s", head);
	snprintf(out->base_ref, sizeof(out->base_ref), "%s", base_ref);
	snprintf(out->login, sizeof(out->login), "%s", login);
	title_of(json_string_value(json_object_get(pr, "title")), out->title);
	return 0;
}

static int
closed(const json_t *ev, struct al_github_event *out, struct al_err *err)
{
	json_int_t number =
	    json_integer_value(json_object_get(json_object_get(ev, "pull_request"), "number"));

	if (!number_ok(number))
		return al_err_set(err, -EINVAL, "pull_request: expected number");
	out->kind = AL_GITHUB_CLOSED;
	out->number = number;
	return 0;
}

static int
push(const json_t *ev, struct al_github_event *out, struct al_err *err)
{
	const char *ref = json_string_value(json_object_get(ev, "ref"));
	const char *before = json_string_value(json_object_get(ev, "before"));
	const char *after = json_string_value(json_object_get(ev, "after"));

	if (!ref || strncmp(ref, "refs/heads/", 11) || !branch_ok(ref + 11) || !is_sha(before) ||
	    !is_sha(after))
		return al_err_set(err, -EINVAL, "push: expected ref (a branch), before and after");
	out->kind = AL_GITHUB_PUSH;
	snprintf(out->ref, sizeof(out->ref), "%s", ref);
	snprintf(out->before, sizeof(out->before), "%s", before);
	snprintf(out->after, sizeof(out->after), "%s", after);
	return 0;
}

int
al_intake_github(const char *event, const char *body, size_t len, const char *full_name,
		 struct al_github_event *ret, struct al_err *err)
{
	_cleanup_(al_json_decrefp) json_t *ev = NULL;
	_cleanup_(al_intake_event_clear) struct al_github_event out = {0};
	const char *full;
	int r;

	if (!event_ok(event))
		return al_err_set(err, -EINVAL,
				  "expected X-GitHub-Event and X-GitHub-Delivery headers");
	ev = json_loadb(body, len, 0, NULL);
	if (!json_is_object(ev))
		return al_err_set(err, -EBADMSG, "the delivery is not a JSON object");
	full = json_string_value(json_object_get(json_object_get(ev, "repository"), "full_name"));
	if (!full || !full_name || strcmp(full, full_name))
		return al_err_set(err, -EINVAL,
				  "repository.full_name is not the repository this secret is for");
	if (!strcmp(event, "ping")) {
		out.kind = AL_GITHUB_PING;
		r = 0;
	} else if ((out.reason = ignored(event, ev))) {
		out.kind = AL_GITHUB_IGNORED;
		r = 0;
	} else if (!strcmp(event, "push")) {
		r = push(ev, &out, err);
	} else if (!strcmp(json_string_value(json_object_get(ev, "action")), "closed")) {
		r = closed(ev, &out, err);
	} else {
		r = pull_request(ev, &out, err);
	}
	if (r < 0)
		return r;
	*ret = out;
	out.fail_to_pass = NULL; /* moved to ret */
	return 0;
}

void
al_intake_event_clear(struct al_github_event *ev)
{
	json_decref(ev->fail_to_pass);
	ev->fail_to_pass = NULL;
}
