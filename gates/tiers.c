/* The policy's approvals and tiers sections: who may approve, how many must, and what a
 * grant at each tier may do (its authority, the refs it covers, its lifetime). */
#include "gates/tiers.h"

#include <errno.h>
#include <string.h>

#include "gates/schema.h"
#include "lib/macros.h"

static int
approvals_required(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return al_schema_int_range(v, 0, AL_POLICY_APPROVALS_MAX, path, &p->approvals, err);
}

static int
approvals_reviewers(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	char sub[AL_SCHEMA_PATH_MAX];
	size_t i;
	json_t *e;

	if (json_array_size(v) > AL_POLICY_REVIEWERS_MAX)
		return al_err_set(err, -EINVAL, "%s: more than %d reviewers", path,
				  AL_POLICY_REVIEWERS_MAX);
	json_array_foreach (v, i, e) {
		al_schema_path_index(sub, path, i);
		if (!json_is_string(e) ||
		    !al_schema_name_ok(json_string_value(e), json_string_length(e)))
			return al_err_set(err, -EINVAL,
					  "%s: expected a token name of 1 to %d characters from "
					  "[A-Za-z0-9_.-]",
					  sub, AL_POLICY_MAX_NAME);
		if (json_array_append(p->reviewers, e) < 0)
			return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	return 0;
}

static const struct al_schema_key approvals_keys[] = {
    {"required", AL_SCHEMA_INTEGER, false, approvals_required},
    {"reviewers", AL_SCHEMA_ARRAY, false, approvals_reviewers},
};

int
al_tiers_parse_approvals(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	return al_schema_walk(v, approvals_keys, AL_ARRAY_SIZE(approvals_keys), ctx, path, err);
}

static const char *const authority_names[] = {
    [AL_AUTH_NONE] = "none", [AL_AUTH_WRITE] = "write", [AL_AUTH_MERGE] = "merge"};

/* A tier being parsed: the authority and refs are checked together once both are read. */
struct tier_parse {
	struct al_tier *t;
	bool refs_given;
};

static int
tier_authority(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct tier_parse *tp = ctx;
	size_t i;

	for (i = 0; i < AL_ARRAY_SIZE(authority_names); i++) {
		if (!strcmp(json_string_value(v), authority_names[i])) {
			tp->t->authority = (enum al_authority_kind)i;
			return 0;
		}
	}
	return al_err_set(err, -EINVAL, "%s: expected \"none\", \"write\" or \"merge\"", path);
}

static int
tier_refs(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct tier_parse *tp = ctx;
	char sub[AL_SCHEMA_PATH_MAX];
	size_t i;
	json_t *e;

	json_array_clear(tp->t->refs);
	if (json_array_size(v) > AL_POLICY_MAX_GLOBS)
		return al_err_set(err, -EINVAL, "%s: more than %d refs", path, AL_POLICY_MAX_GLOBS);
	json_array_foreach (v, i, e) {
		al_schema_path_index(sub, path, i);
		if (!json_is_string(e) ||
		    !al_gates_ref_valid(json_string_value(e), json_string_length(e)))
			return al_err_set(err, -EINVAL,
					  "%s: expected a ref name under refs/ (globs allowed)",
					  sub);
		if (json_array_append(tp->t->refs, e) < 0)
			return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	tp->refs_given = true;
	return 0;
}

static int
tier_lifetime(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct tier_parse *tp = ctx;
	size_t n = 0;
	int r =
	    al_schema_int_range(v, AL_POLICY_LIFETIME_MIN, AL_POLICY_LIFETIME_MAX, path, &n, err);

	if (r == 0)
		tp->t->lifetime_s = (unsigned)n;
	return r;
}

static const struct al_schema_key tier_keys[] = {
    {"authority", AL_SCHEMA_STRING, true, tier_authority},
    {"refs", AL_SCHEMA_ARRAY, false, tier_refs},
    {"lifetime_s", AL_SCHEMA_INTEGER, false, tier_lifetime},
};

/* write: one pattern ending in a "*" segment and no other wildcard; merge: some refs. */
static int
tier_check(const struct tier_parse *tp, const char *path, struct al_err *err)
{
	const json_t *refs = tp->t->refs;
	const char *s;

	switch (tp->t->authority) {
	case AL_AUTH_NONE:
		if (json_array_size(refs) && tp->refs_given)
			return al_err_set(err, -EINVAL, "%s.refs: authority none covers no ref",
					  path);
		json_array_clear(tp->t->refs);
		return 0;
	case AL_AUTH_WRITE:
		s = json_string_value(json_array_get(refs, 0));
		if (json_array_size(refs) != 1 || strlen(s) < 7 ||
		    strcmp(s + strlen(s) - 2, "/*") != 0 || strcspn(s, "*?") != strlen(s) - 1)
			return al_err_set(err, -EINVAL,
					  "%s.refs: write takes one pattern ending in \"/*\" "
					  "(the proposal id), such as refs/heads/airlock/*",
					  path);
		return 0;
	case AL_AUTH_MERGE:
		if (!tp->refs_given || json_array_size(refs) == 0)
			return al_err_set(err, -EINVAL,
					  "%s.refs: merge needs the refs it may merge into", path);
		return 0;
	}
	return al_err_set(err, -EINVAL, "%s: unknown authority", path);
}

static int
parse_tier(struct al_policy *p, unsigned n, const json_t *v, const char *path, struct al_err *err)
{
	struct tier_parse tp = {.t = &p->tiers[n]};
	int r;

	r = al_schema_walk(v, tier_keys, AL_ARRAY_SIZE(tier_keys), &tp, path, err);
	return r < 0 ? r : tier_check(&tp, path, err);
}

int
al_tiers_parse(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	char sub[AL_SCHEMA_PATH_MAX];
	const char *key;
	json_t *e;
	int r;

	json_object_foreach ((json_t *)v, key, e) {
		al_schema_path_key(sub, path, key);
		if (strcmp(key, "1") && strcmp(key, "2"))
			return al_err_set(err, -EINVAL,
					  "%s: unknown tier (tiers are \"1\" and \"2\")", sub);
		if (!json_is_object(e))
			return al_err_set(err, -EINVAL, "%s: expected an object", sub);
		r = parse_tier(ctx, (unsigned)(key[0] - '0'), e, sub, err);
		if (r < 0)
			return r;
	}
	return 0;
}

json_t *
al_tiers_json(const struct al_tier *t)
{
	return json_pack("{s:s, s:O, s:I}", "authority", authority_names[t->authority], "refs",
			 t->refs, "lifetime_s", (json_int_t)t->lifetime_s);
}
