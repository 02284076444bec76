/* The proposal intake (server/intake.c) over arbitrary bytes: the body of
 * POST /v1/proposals and of a revision.  An accepted body must hold exactly what the
 * handler then reads without further checks; a refused one must say why in one line. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/intake.h"
#include "tests/fuzz/oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the reply's detail needs: one line, and valid UTF-8 so it can be a JSON string. */
static void
check_reason(int r, const struct al_err *err)
{
	json_t *s;

	CHECK(r == -EINVAL || r == -EBADMSG);
	CHECK(printable(err->msg, sizeof(err->msg) - 1));
	s = json_string(err->msg);
	CHECK(s);
	json_decref(s);
}

/* The test id rules written out again: the runner puts these on a command line, each one
 * argument; spaces only inside. */
static int
test_id_ok(const char *id)
{
	static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				      "0123456789_.:/=+,@[]- ";
	size_t n = id ? strlen(id) : 0;

	return n > 0 && n <= 200 && id[0] != '-' && id[0] != ' ' && id[n - 1] != ' ' &&
	       !strstr(id, "..") && strspn(id, allowed) == n;
}

static void
check_fail_to_pass(const json_t *ftp)
{
	size_t i;
	json_t *v;

	if (!ftp)
		return;
	CHECK(json_is_array(ftp) && json_array_size(ftp) <= AL_MAX_FAIL_TO_PASS);
	json_array_foreach (ftp, i, v) {
		CHECK(test_id_ok(json_string_value(v)));
		for (size_t k = 0; k < i; k++)
			CHECK(!json_equal(json_array_get(ftp, k), v));
	}
}

static void
check_patches(const json_t *b)
{
	const json_t *patch = json_object_get(b, "patch"), *test = json_object_get(b, "test_patch");

	CHECK(json_is_string(patch) && json_string_length(patch) > 0 &&
	      json_string_length(patch) <= AL_MAX_PATCH_BYTES);
	CHECK(!test || (json_is_string(test) && json_string_length(test) <= AL_MAX_PATCH_BYTES));
	check_fail_to_pass(json_object_get(b, "fail_to_pass"));
}

static void
check_provenance(const json_t *prov)
{
	const char *key, *digest;
	json_t *v;

	if (!prov)
		return;
	CHECK(json_is_object(prov));
	json_object_foreach ((json_t *)prov, key, v) {
		CHECK(!strcmp(key, "agent") || !strcmp(key, "model") ||
		      !strcmp(key, "prompt_sha256"));
		CHECK(printable(json_string_value(v), 200));
	}
	digest = json_string_value(json_object_get(prov, "prompt_sha256"));
	CHECK(!digest || (strlen(digest) == 64 && strspn(digest, "0123456789abcdef") == 64));
}

static void
check_known(const json_t *b, const char *const *known, size_t n)
{
	const char *key;
	json_t *v;

	json_object_foreach ((json_t *)b, key, v) {
		size_t i;

		for (i = 0; i < n && strcmp(key, known[i]); i++)
			;
		CHECK(i < n);
	}
}

static void
check_proposal(const json_t *b)
{
	static const char *const known[] = {"repo",	    "base",	  "patch", "test_patch",
					    "fail_to_pass", "provenance", "title"};
	const char *base = json_string_value(json_object_get(b, "base"));
	const json_t *title = json_object_get(b, "title");

	CHECK(json_is_object(b));
	check_known(b, known, sizeof(known) / sizeof(known[0]));
	CHECK(json_is_string(json_object_get(b, "repo")));
	CHECK(printable(base, AL_BASE_MAX) && base[0] != '-');
	check_patches(b);
	CHECK(!title || printable(json_string_value(title), AL_TITLE_MAX));
	check_provenance(json_object_get(b, "provenance"));
}

/* An accepted body, written out again, is accepted again. */
static void
check_roundtrip(const json_t *b, int (*intake)(const char *, size_t, json_t **, struct al_err *))
{
	char *text = json_dumps(b, JSON_COMPACT);
	struct al_err err = {0};
	json_t *again = NULL;

	if (!text)
		return; /* out of memory */
	CHECK(intake(text, strlen(text), &again, &err) == 0);
	CHECK(json_equal(again, (json_t *)b));
	json_decref(again);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const revision_fields[] = {"patch", "test_patch", "fail_to_pass"};
	const char *text = (const char *)data;
	struct al_err err = {0}, rerr = {0};
	json_t *b = NULL, *rev = NULL, *parsed;
	int r, rr;

	/* "not JSON" is exactly what jansson refuses, duplicate keys included */
	parsed = json_loadb(text, size, JSON_REJECT_DUPLICATES, NULL);
	r = al_intake_proposal(text, size, &b, &err);
	if (r == 0) {
		check_proposal(b);
		check_roundtrip(b, al_intake_proposal);
	} else {
		check_reason(r, &err);
		CHECK(!b);
		CHECK((r == -EBADMSG) == !parsed);
	}

	rr = al_intake_revision(text, size, &rev, &rerr);
	if (rr == 0) {
		CHECK(json_is_object(rev));
		check_known(rev, revision_fields, 3);
		check_patches(rev);
		check_roundtrip(rev, al_intake_revision);
	} else {
		check_reason(rr, &rerr);
		CHECK(!rev);
		CHECK((rr == -EBADMSG) == !parsed);
	}
	/* the patches a proposal may carry, a revision may carry too */
	if (r == 0) {
		json_t *sub = json_object();
		const char *key;
		json_t *v;

		json_object_foreach (b, key, v)
			if (!strcmp(key, "patch") || !strcmp(key, "test_patch") ||
			    !strcmp(key, "fail_to_pass"))
				json_object_set(sub, key, v);
		check_roundtrip(sub, al_intake_revision);
		json_decref(sub);
	}
	json_decref(parsed);
	json_decref(b);
	json_decref(rev);
	return 0;
}
