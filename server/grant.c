#include "grant.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/sign.h"

int
al_grant_time_format(time_t t, char out[32])
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -EINVAL;
	return 0;
}

static int
time_parse(const char *s, time_t *ret)
{
	struct tm tm = {0};
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);

	if (!end || *end)
		return -EINVAL;
	*ret = timegm(&tm);
	return 0;
}

/* A run's tree, and with a report its per-test outcomes: counted, and digested as the
 * runner recorded them ({"id","outcome"} in report order, compact JSON), so that the list
 * a verifier is shown can be checked against the grant. */
static int
run_tests(const json_t *run, json_t *o)
{
	static const char *const outcomes[] = {"passed", "failed", "error", "skipped"};
	const json_t *tests = json_object_get(run, "tests");
	json_int_t count[4] = {0};
	char digest[65], *text;
	size_t i, k;
	json_t *t;

	if (json_is_string(json_object_get(run, "tree")) &&
	    json_object_set(o, "tree", json_object_get(run, "tree")) < 0)
		return -ENOMEM;
	if (json_is_string(json_object_get(run, "report_error")))
		return json_object_set(o, "reportError", json_object_get(run, "report_error"));
	if (!json_is_array(tests))
		return 0;
	json_array_foreach (tests, i, t) {
		const char *out = json_string_value(json_object_get(t, "outcome"));

		for (k = 0; out && k < 4; k++)
			count[k] += !strcmp(out, outcomes[k]);
	}
	if (!(text = json_dumps(tests, JSON_COMPACT)))
		return -ENOMEM;
	al_sha256_hex(text, strlen(text), digest);
	free(text);
	return json_object_set_new(o, "tests",
				   json_pack("{s:I, s:I, s:I, s:I, s:{s:s}}", "passed", count[0],
					     "failed", count[1], "error", count[2], "skipped",
					     count[3], "digest", "sha256", digest));
}

/* Each run's command and output enter the grant as digests. */
static json_t *
run_digest(const json_t *run)
{
	char cmd[65], log[65];
	char *argv = json_dumps(json_object_get(run, "argv"), JSON_COMPACT);
	const char *out = json_string_value(json_object_get(run, "stdout"));
	const char *errs = json_string_value(json_object_get(run, "stderr"));
	size_t lo = out ? strlen(out) : 0, le = errs ? strlen(errs) : 0;
	char *both = malloc(lo + le + 1);
	json_t *o = NULL;

	if (argv && both) {
		memcpy(both, out ? out : "", lo);
		memcpy(both + lo, errs ? errs : "", le);
		al_sha256_hex(argv, strlen(argv), cmd);
		al_sha256_hex(both, lo + le, log);
		o = json_pack("{s:O, s:O, s:O, s:O, s:{s:s}, s:{s:s}}", "id",
			      json_object_get(run, "id"), "side", json_object_get(run, "side"),
			      "status", json_object_get(run, "status"), "exitCode",
			      json_object_get(run, "exit_code"), "command", "sha256", cmd, "log",
			      "sha256", log);
	}
	if (o && run_tests(run, o) < 0) {
		json_decref(o);
		o = NULL;
	}
	free(argv);
	free(both);
	return o;
}

static json_t *
gates_json(const json_t *verdict, const json_t *result)
{
	json_t *out = json_array(), *runs = json_array(), *rule, *run;
	size_t i;

	json_array_foreach (json_object_get(result, "runs"), i, run) {
		json_t *d = run_digest(run);
		if (!d || json_array_append_new(runs, d) < 0)
			goto fail;
	}
	json_array_foreach (json_object_get(verdict, "rules"), i, rule) {
		const json_t *ev = json_object_get(rule, "evidence");
		json_t *g = json_pack("{s:O, s:O, s:O}", "rule", json_object_get(rule, "rule"),
				      "result", json_object_get(rule, "result"), "reason",
				      json_object_get(rule, "reason"));

		/* what the reason rests on: runs, outcomes, regressions, pre-existing failures */
		if (g && json_is_object(ev) && json_object_size(ev) > 0 &&
		    json_object_set(g, "evidence", (json_t *)ev) < 0) {
			json_decref(g);
			g = NULL;
		}
		if (!g || json_array_append_new(out, g) < 0)
			goto fail;
	}
	if (json_is_array(out) && json_is_array(runs)) {
		json_t *o = json_pack("{s:o, s:o}", "rules", out, "runs", runs);
		if (o)
			return o;
		return NULL;
	}
fail:
	json_decref(out);
	json_decref(runs);
	return NULL;
}

static json_t *
subjects_json(const struct al_grant_input *in)
{
	char name[160];
	json_t *s;

	snprintf(name, sizeof(name), "%s@%s", in->repo, in->proposal_id);
	s = json_pack("[{s:s, s:{s:s, s:s}}, {s:s, s:{s:s}}]", "name", name, "digest", "gitCommit",
		      in->candidate_commit, "gitTree", in->candidate_tree, "name", "patch",
		      "digest", "sha256", in->patch_sha256);
	if (s && in->test_patch_sha256 &&
	    json_array_append_new(s, json_pack("{s:s, s:{s:s}}", "name", "test_patch", "digest",
					       "sha256", in->test_patch_sha256)) < 0) {
		json_decref(s);
		return NULL;
	}
	return s;
}

int
al_grant_statement(const struct al_grant_input *in, char **ret, struct al_err *err)
{
	char issued[32], not_after[32];
	json_t *st, *gates = gates_json(in->verdict, in->result), *subj = subjects_json(in);
	json_t *approvals = in->approvals ? json_deep_copy(in->approvals) : json_array();
	char *text;

	if (!approvals || al_grant_time_format(in->issued_at, issued) < 0 ||
	    al_grant_time_format(in->issued_at + in->lifetime_s, not_after) < 0 || !gates ||
	    !subj) {
		json_decref(gates);
		json_decref(subj);
		json_decref(approvals);
		return al_err_set(err, -EINVAL, "grant: cannot build statement");
	}
	st = json_pack("{s:s, s:o, s:s, s:{s:{s:s, s:s}, s:s, s:{s:{s:s}}, s:s, s:s, s:s, s:o, s:o,"
		       " s:{s:s, s:s, s:s}, s:O, s:{s:s, s:s?}, s:i, s:s, s:s, s:s}}",
		       "_type", AL_STATEMENT_TYPE, "subject", subj, "predicateType",
		       AL_PREDICATE_TYPE, "predicate", "verifier", "id", "airlock", "version",
		       in->verifier_version, "proposal", in->proposal_id, "policy", "digest",
		       "sha256", in->policy_sha256, "repository", in->repo, "baseRef", in->base,
		       "baseCommit", in->base_commit, "gates", gates, "approvals", approvals,
		       "runner", "binarySha256", in->binary_sha256, "sandboxProfileSha256",
		       in->sandbox_profile_sha256, "kernel", in->kernel, "provenance",
		       in->provenance, "authority", "kind", in->authority, "ref",
		       in->authority_ref && *in->authority_ref ? in->authority_ref : NULL, "tier",
		       in->tier, "issuedAt", issued, "notAfter", not_after, "nonce", in->nonce);
	if (!st)
		return al_err_set(err, -EINVAL, "grant: cannot build statement");
	/* the environment the runs saw is part of the runner's identity */
	if (in->image_digest || in->setup_key)
		json_object_set_new(json_object_get(json_object_get(st, "predicate"), "runner"),
				    "environment",
				    json_pack("{s:s?, s:s?}", "image", in->image_digest,
					      "setupLayer", in->setup_key));
	text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(st);
	if (!text)
		return al_err_set(err, -ENOMEM, "out of memory");
	*ret = text;
	return 0;
}

/* The compare-and-swap precondition, for a verifier that sees the ref's current value. */
static int
check_old(const json_t *pred, const char *old, struct al_err *err)
{
	const char *kind =
	    json_string_value(json_object_get(json_object_get(pred, "authority"), "kind"));
	const char *base = json_string_value(json_object_get(pred, "baseCommit"));
	bool nowhere = strspn(old, "0") == strlen(old) && *old;

	if (kind && !strcmp(kind, "merge") && (!base || strcmp(base, old)))
		return al_err_set(err, AL_VERIFY_WRONG_BINDING,
				  "base moved: the grant merges onto %s, the ref is at %s",
				  base ? base : "(none)", old);
	if (kind && !strcmp(kind, "write") && !nowhere)
		return al_err_set(err, AL_VERIFY_WRONG_BINDING,
				  "the grant writes a new ref, and this one exists (at %s)", old);
	if (!kind || (strcmp(kind, "merge") && strcmp(kind, "write")))
		return al_err_set(err, AL_VERIFY_WRONG_BINDING, "grant covers no ref");
	return 0;
}

static int
check_binding(const json_t *st, const struct al_grant_binding *b, struct al_err *err)
{
	const json_t *pred = json_object_get(st, "predicate");
	const char *repo = json_string_value(json_object_get(pred, "repository"));
	const char *ref =
	    json_string_value(json_object_get(json_object_get(pred, "authority"), "ref"));
	const json_t *subj = json_array_get(json_object_get(st, "subject"), 0);
	const char *commit =
	    json_string_value(json_object_get(json_object_get(subj, "digest"), "gitCommit"));

	if (b && b->repo && (!repo || strcmp(repo, b->repo)))
		return al_err_set(err, AL_VERIFY_WRONG_BINDING,
				  "grant is for repository %s, not %s", repo ? repo : "(none)",
				  b->repo);
	if (b && b->ref && (!ref || strcmp(ref, b->ref)))
		return al_err_set(err, AL_VERIFY_WRONG_BINDING, "grant covers ref %s, not %s",
				  ref ? ref : "(none)", b->ref);
	if (b && b->commit && (!commit || strcmp(commit, b->commit)))
		return al_err_set(err, AL_VERIFY_WRONG_BINDING, "grant is for commit %s, not %s",
				  commit ? commit : "(none)", b->commit);
	return b && b->old ? check_old(pred, b->old, err) : 0;
}

int
al_grant_check(const char *payload, size_t len, time_t now, const struct al_grant_binding *b,
	       json_t **ret_statement, struct al_err *err)
{
	json_error_t jerr;
	json_t *st = json_loadb(payload, len, JSON_REJECT_DUPLICATES, &jerr), *pred;
	const char *na, *commit;
	time_t not_after;
	int r = 0;

	if (!st)
		return al_err_set(err, AL_VERIFY_MALFORMED, "statement is not JSON: %s", jerr.text);
	pred = json_object_get(st, "predicate");
	na = json_string_value(json_object_get(pred, "notAfter"));
	commit = json_string_value(json_object_get(
	    json_object_get(json_array_get(json_object_get(st, "subject"), 0), "digest"),
	    "gitCommit"));
	if (strcmp(json_string_value(json_object_get(st, "_type")) ?: "", AL_STATEMENT_TYPE))
		r = al_err_set(err, AL_VERIFY_MALFORMED, "_type is not %s", AL_STATEMENT_TYPE);
	else if (strcmp(json_string_value(json_object_get(st, "predicateType")) ?: "",
			AL_PREDICATE_TYPE))
		r = al_err_set(err, AL_VERIFY_MALFORMED, "predicateType is not %s",
			       AL_PREDICATE_TYPE);
	else if (!json_is_object(pred) || !commit || !na || time_parse(na, &not_after) < 0)
		r = al_err_set(err, AL_VERIFY_MALFORMED, "predicate lacks subject or notAfter");
	else if (now > not_after)
		r = al_err_set(err, AL_VERIFY_EXPIRED, "grant expired at %s", na);
	else
		r = check_binding(st, b, err);
	if (r != 0) {
		json_decref(st);
		return r;
	}
	*ret_statement = st;
	return 0;
}
