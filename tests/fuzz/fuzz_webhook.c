/* The GitHub webhook intake (server/intake.c) over arbitrary deliveries.  The first byte
 * picks the X-GitHub-Event header (so every kind is reached, and bad headers too); the
 * rest is the body, as signed by the repository "octo-org/calc".  What is accepted must be
 * safe to put in a refspec, a store row and a commit status; what is refused says why. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/intake.h"
#include "tests/fuzz/oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FULL_NAME "octo-org/calc"

/* Indexed by the first byte modulo 8: '0' ping, '1' pull_request, '2' push, ... */
static const char *const events[8] = {
    "ping",
    "pull_request",
    "push",
    "issues",
    "pull_request_review",
    "",
    "Pull_Request",
    "pull_request_pull_request_pull_request_pull_request_pull_request_x", /* 65 bytes */
};

static int
is_sha(const char *s)
{
	return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

/* What goes into "+refs/heads/%s:...": no option, no climb, no refspec syntax. */
static int
branch_safe(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= AL_GITHUB_BRANCH_MAX && s[0] != '-' && s[0] != '/' && s[0] != '.' &&
	       s[n - 1] != '/' && s[n - 1] != '.' && !strstr(s, "..") && !strstr(s, "//") &&
	       !strpbrk(s, ":+*?[]^~\\ @{}") && printable(s, AL_GITHUB_BRANCH_MAX);
}

static int
test_id_ok(const char *id)
{
	static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				      "0123456789_.:/=+,@[]-";
	size_t n = id ? strlen(id) : 0;

	return n > 0 && n <= 200 && id[0] != '-' && !strstr(id, "..") && strspn(id, allowed) == n;
}

static int
utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* The title is the delivery's, control characters made spaces: whole when it fits, else
 * cut on a character boundary at most 3 bytes short of the cap. */
static void
check_title(const char *title, const json_t *delivery)
{
	const char *src =
	    json_string_value(json_object_get(json_object_get(delivery, "pull_request"), "title"));
	size_t n = strlen(title), i;

	CHECK(n <= AL_TITLE_MAX && utf8_ok(title));
	CHECK(n == 0 || printable(title, AL_TITLE_MAX));
	if (!src) {
		CHECK(n == 0);
		return;
	}
	for (i = 0; i < n; i++)
		CHECK(title[i] == ((unsigned char)src[i] < 0x20 || src[i] == 0x7f ? ' ' : src[i]));
	if (strlen(src) <= AL_TITLE_MAX)
		CHECK(n == strlen(src));
	else
		CHECK(n + 3 >= AL_TITLE_MAX);
}

static void
check_pull_request(const struct al_github_event *ev, const json_t *delivery)
{
	size_t i;
	json_t *v;

	CHECK(!strcmp(ev->action, "opened") || !strcmp(ev->action, "reopened") ||
	      !strcmp(ev->action, "synchronize"));
	CHECK(ev->number > 0 && ev->number <= AL_GITHUB_NUMBER_MAX);
	CHECK(is_sha(ev->head));
	CHECK(branch_safe(ev->base_ref));
	CHECK(printable(ev->login, AL_GITHUB_LOGIN_MAX) &&
	      strspn(ev->login, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789-[]") == strlen(ev->login));
	check_title(ev->title, delivery);
	CHECK(json_is_array(ev->fail_to_pass) &&
	      json_array_size(ev->fail_to_pass) <= AL_MAX_FAIL_TO_PASS);
	json_array_foreach (ev->fail_to_pass, i, v) {
		CHECK(test_id_ok(json_string_value(v)));
		for (size_t k = 0; k < i; k++)
			CHECK(!json_equal(json_array_get(ev->fail_to_pass, k), v));
	}
}

static void
check_event(const char *event, const struct al_github_event *ev, const json_t *delivery)
{
	CHECK(json_is_object(delivery));
	switch (ev->kind) {
	case AL_GITHUB_PING:
		CHECK(!strcmp(event, "ping"));
		break;
	case AL_GITHUB_IGNORED:
		CHECK(strcmp(event, "ping") && printable(ev->reason, 200));
		break;
	case AL_GITHUB_PULL_REQUEST:
		CHECK(!strcmp(event, "pull_request"));
		check_pull_request(ev, delivery);
		break;
	case AL_GITHUB_CLOSED:
		CHECK(!strcmp(event, "pull_request"));
		CHECK(ev->number > 0 && ev->number <= AL_GITHUB_NUMBER_MAX);
		break;
	case AL_GITHUB_PUSH:
		CHECK(!strcmp(event, "push"));
		CHECK(!strncmp(ev->ref, "refs/heads/", 11) && branch_safe(ev->ref + 11));
		CHECK(is_sha(ev->before) && is_sha(ev->after));
		break;
	default:
		CHECK(!"a kind out of range");
	}
}

/* A pull request body typed into GitHub's web page has CRLF line ends: the same fenced
 * block must give the same ids, or the same refusal. */
static void
check_crlf(const char *event, json_t *delivery, int r, const struct al_github_event *ev,
	   const struct al_err *err)
{
	json_t *pr = json_object_get(delivery, "pull_request");
	const char *body = json_string_value(json_object_get(pr, "body"));
	struct al_github_event ev2 = {0};
	struct al_err err2 = {0};
	char *crlf, *text, *q;
	int r2;

	if (!body || !strchr(body, '\n') || !strcmp(event, "ping"))
		return;
	crlf = malloc(2 * strlen(body) + 1);
	CHECK(crlf);
	for (q = crlf; *body; body++) {
		if (*body == '\n')
			*q++ = '\r';
		*q++ = *body;
	}
	*q = '\0';
	json_object_set_new(pr, "body", json_string(crlf));
	free(crlf);
	text = json_dumps(delivery, 0);
	if (!text)
		return;
	r2 = al_intake_github(event, text, strlen(text), FULL_NAME, &ev2, &err2);
	CHECK(r2 == r);
	if (r == 0) {
		CHECK(ev2.kind == ev->kind);
		CHECK(json_equal(ev2.fail_to_pass, ev->fail_to_pass) ||
		      (!ev2.fail_to_pass && !ev->fail_to_pass));
	} else {
		CHECK(!strcmp(err2.msg, err->msg));
	}
	al_intake_event_clear(&ev2);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *event = events[size ? data[0] % 8 : 0];
	const char *body = size ? (const char *)data + 1 : "";
	size_t len = size ? size - 1 : 0;
	struct al_github_event ev = {.kind = AL_GITHUB_PING};
	struct al_err err = {0};
	json_t *delivery = json_loadb(body, len, 0, NULL);
	int header_ok = strlen(event) > 0 && strlen(event) <= AL_GITHUB_TOKEN_MAX &&
			strspn(event, "abcdefghijklmnopqrstuvwxyz_") == strlen(event);
	int r;

	CHECK((al_intake_github_headers(event, "0123-abcd", NULL) == 0) == header_ok);
	r = al_intake_github(event, body, len, FULL_NAME, &ev, &err);
	if (r == 0) {
		CHECK(header_ok);
		check_event(event, &ev, delivery);
	} else {
		CHECK(r == -EINVAL || r == -EBADMSG);
		CHECK(printable(err.msg, sizeof(err.msg) - 1) && utf8_ok(err.msg));
		CHECK(header_ok ? (r == -EBADMSG) == !json_is_object(delivery) : r == -EINVAL);
		CHECK(!ev.fail_to_pass && ev.kind == AL_GITHUB_PING); /* untouched */
	}
	if (json_is_object(delivery))
		check_crlf(event, delivery, r, &ev, &err);
	al_intake_event_clear(&ev);
	json_decref(delivery);
	return 0;
}
