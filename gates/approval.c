/* Human approval and authority: which paths need a human, whose approval counts, and
 * what a grant at each tier may carry.  Approvals are read as recorded by the server;
 * the rules here decide which of them still count. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"
#include "lib/macros.h"

static bool
in_array(const json_t *arr, const char *s)
{
	size_t i;
	json_t *e;

	json_array_foreach (arr, i, e)
		if (json_is_string(e) && !strcmp(json_string_value(e), s))
			return true;
	return false;
}

static int
protected_list(const struct al_policy *p, const json_t *files, json_t *out)
{
	static const char *const keys[] = {"path", "old_path"};
	size_t i, k;
	json_t *f;

	json_array_foreach (files, i, f) {
		for (k = 0; k < AL_ARRAY_SIZE(keys); k++) {
			const char *s = json_string_value(json_object_get(f, keys[k]));

			if (!s || !al_gates_globs_match(p->protected_paths, s) || in_array(out, s))
				continue;
			if (json_array_append_new(out, json_string(s)) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

int
al_gates_protected(const struct al_policy *p, const json_t *const *lists, size_t n_lists,
		   json_t **ret, struct al_err *err)
{
	_cleanup_(al_gates_decrefp) json_t *out = json_array();
	size_t i;

	if (!p || !ret)
		return al_err_set(err, -EINVAL, "protected: missing policy or result");
	if (!out)
		return al_err_set(err, -ENOMEM, "protected: out of memory");
	for (i = 0; i < n_lists; i++)
		if (json_is_array(lists[i]) && protected_list(p, lists[i], out) < 0)
			return al_err_set(err, -ENOMEM, "protected: out of memory");
	*ret = steal_pointer(&out);
	return 0;
}

/* ---- existing tests ---- */

/* Why the change to file f needs a human, into buf, with *ret_path the path to name; NULL
 * when it does not.  removed is how many lines its hunks remove (0 for a runner's list,
 * which has no hunks). */
static const char *
test_change(const struct al_policy *p, const json_t *f, unsigned removed, const char **ret_path,
	    char *buf, size_t n)
{
	const char *path = json_string_value(json_object_get(f, "path"));
	const char *old = json_string_value(json_object_get(f, "old_path"));
	const char *st = json_string_value(json_object_get(f, "status"));
	json_int_t om = json_integer_value(json_object_get(f, "old_mode"));
	json_int_t nm = json_integer_value(json_object_get(f, "new_mode"));
	bool created, deleted, renamed;

	if (!path)
		return NULL;
	if (!old)
		old = path;
	if (!st)
		st = "M";
	/* a copy is a new file: its source stays as it was */
	created = !strcmp(st, "A") || !strcmp(st, "C");
	deleted = !strcmp(st, "D");
	renamed = !strcmp(st, "R") || strcmp(old, path) != 0;
	/* configuration counts however it is touched: a new conftest.py can skip every test
	 * beside it */
	if (al_gates_globs_match(p->test_config_paths, old) == 1 ||
	    al_gates_globs_match(p->test_config_paths, path) == 1) {
		*ret_path =
		    !created && al_gates_globs_match(p->test_config_paths, old) == 1 ? old : path;
		snprintf(buf, n, "test configuration %s",
			 created   ? "added"
			 : deleted ? "deleted"
			 : renamed ? "renamed"
				   : "changed");
		return buf;
	}
	if (created || al_gates_globs_match(p->test_paths, old) != 1)
		return NULL;
	*ret_path = old;
	if (deleted)
		snprintf(buf, n, "deleted");
	else if (renamed)
		snprintf(buf, n, "renamed to %s", path);
	else if (om && nm && om != nm)
		snprintf(buf, n, "mode %llo to %llo", (unsigned long long)om,
			 (unsigned long long)nm);
	else if (json_is_true(json_object_get(f, "binary")))
		snprintf(buf, n, "binary change");
	else if (removed)
		snprintf(buf, n, "%u line%s removed", removed, removed > 1 ? "s" : "");
	else
		return NULL;
	return buf;
}

/* Adds the files of one list that need a human to out, each path once (seen). */
static int
changed_list(const struct al_policy *p, const json_t *files, const unsigned *removed, json_t *seen,
	     json_t *out)
{
	char why[1024]; /* a long rename target is cut: a why is for reading */
	const char *path = NULL;
	size_t i;
	json_t *f;

	json_array_foreach (files, i, f) {
		unsigned lines = removed && i < AL_PATCH_MAX_FILES ? removed[i] : 0;

		if (!test_change(p, f, lines, &path, why, sizeof(why)) ||
		    json_object_get(seen, path))
			continue;
		if (json_object_set_new(seen, path, json_true()) < 0 ||
		    json_array_append_new(out, json_pack("{s:s, s:s}", "path", path, "why", why)) <
			0)
			return -ENOMEM;
	}
	return 0;
}

int
al_gates_changed_tests(const struct al_policy *p, const struct al_change_input *in, json_t **ret,
		       struct al_err *err)
{
	_cleanup_(al_gates_decrefp) json_t *out = json_array();
	_cleanup_(al_gates_decrefp) json_t *seen = json_object();
	const char *texts[2];
	size_t lens[2], i;
	int r = 0;

	if (!p || !in || !ret)
		return al_err_set(err, -EINVAL, "changed tests: missing policy, input or result");
	if (!out || !seen)
		return al_err_set(err, -ENOMEM, "changed tests: out of memory");
	texts[0] = in->patch;
	lens[0] = in->patch_len;
	texts[1] = in->test_patch;
	lens[1] = in->test_patch_len;
	for (i = 0; r == 0 && i < AL_ARRAY_SIZE(texts); i++) {
		struct al_patch_text t = {0};

		if (!texts[i])
			continue;
		r = al_gates_patch_scan(texts[i], lens[i], &t, err);
		if (r == 0 && changed_list(p, t.files, t.lines_removed, seen, out) < 0)
			r = al_err_set(err, -ENOMEM, "changed tests: out of memory");
		al_gates_patch_text_clear(&t);
	}
	for (i = 0; r == 0 && i < in->n_lists; i++)
		if (json_is_array(in->lists[i]) &&
		    changed_list(p, in->lists[i], NULL, seen, out) < 0)
			r = al_err_set(err, -ENOMEM, "changed tests: out of memory");
	if (r < 0)
		return r;
	*ret = steal_pointer(&out);
	return 0;
}

/* ---- approvals ---- */

const char *
al_gates_approver_problem(const struct al_policy *p, const char *proposer, const char *reviewer)
{
	if (!reviewer || !*reviewer)
		return "approval without a reviewer name";
	/* the proposer's identity never counts, whatever role its token has */
	if (proposer && !strcmp(proposer, reviewer))
		return "the proposer cannot approve their own proposal";
	if (json_array_size(p->reviewers) && !in_array(p->reviewers, reviewer))
		return "not one of the reviewers this policy names";
	return NULL;
}

/* Whether one recorded approval counts for this revision and tree, and why not. */
static const char *
approval_problem(const struct al_policy *p, const struct al_approval_input *in, const json_t *a)
{
	const char *reviewer = json_string_value(json_object_get(a, "reviewer"));
	const char *tree = json_string_value(json_object_get(a, "tree"));
	const json_t *rev = json_object_get(a, "revision");
	const char *why = al_gates_approver_problem(p, in->proposer, reviewer);

	if (why)
		return why;
	if (!json_is_integer(rev) || json_integer_value(rev) != in->revision)
		return "stale: given for an earlier revision";
	if (!tree || !in->tree || strcmp(tree, in->tree) != 0)
		return "stale: given for another candidate tree";
	return NULL;
}

struct tally {
	json_t *counted; /* names */
	json_t *ignored; /* [{"reviewer","why"}] */
};

static int
tally_approvals(const struct al_policy *p, const struct al_approval_input *in, struct tally *t)
{
	size_t i;
	json_t *a;

	json_array_foreach (in->approvals, i, a) {
		const char *who = json_string_value(json_object_get(a, "reviewer"));
		const char *why = approval_problem(p, in, a);
		json_t *e;

		if (!why && in_array(t->counted, who))
			continue; /* one reviewer, one approval */
		e = why ? json_pack("{s:s, s:s}", "reviewer", who ? who : "?", "why", why)
			: json_string(who);
		if (!e || json_array_append_new(why ? t->ignored : t->counted, e) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* "alice, bob" into buf. */
static void
join_names(const json_t *names, char *buf, size_t n)
{
	size_t i, o = 0;
	json_t *e;

	buf[0] = '\0';
	json_array_foreach (names, i, e) {
		int k = snprintf(buf + o, n - o, "%s%s", i ? ", " : "", json_string_value(e));

		if (k < 0 || (size_t)k >= n - o)
			break;
		o += (size_t)k;
	}
}

static int
approval_rule(const struct al_policy *p, const struct al_approval_input *in, struct tally *t,
	      unsigned need, json_t *rules)
{
	size_t nprot = json_array_size(in->protected), have = json_array_size(t->counted);
	size_t nchanged = json_array_size(in->changed_tests), o = 0;
	const char *first = json_string_value(json_array_get(in->protected, 0));
	const json_t *changed = json_array_get(in->changed_tests, 0);
	char names[256], because[AL_REASON_MAX], more[32] = "";
	json_t *ev;

	ev =
	    json_pack("{s:I, s:O, s:O, s:o, s:o}", "required", (json_int_t)need, "approved_by",
		      t->counted, "ignored", t->ignored, "protected_paths",
		      in->protected ? json_deep_copy(in->protected) : json_array(), "changed_tests",
		      in->changed_tests ? json_deep_copy(in->changed_tests) : json_array());
	if (!ev)
		return -ENOMEM;
	because[0] = '\0';
	if (nprot)
		o = (size_t)snprintf(because, sizeof(because), "; touches protected path %s%s",
				     first, nprot > 1 ? " and more" : "");
	if (nchanged && o < sizeof(because)) {
		if (nchanged > 1)
			snprintf(more, sizeof(more), " and %zu more", nchanged - 1);
		snprintf(because + o, sizeof(because) - o, "; changes existing tests: %s (%s)%s",
			 json_string_value(json_object_get(changed, "path")),
			 json_string_value(json_object_get(changed, "why")), more);
	}
	if (!nprot && !nchanged)
		snprintf(because, sizeof(because), "; policy requires %zu", p->approvals);
	if (need == 0)
		return al_gates_rule_add_ev(rules, "approval", AL_RULE_NOT_APPLICABLE, ev,
					    "no approval required");
	join_names(t->counted, names, sizeof(names));
	if (have >= need)
		return al_gates_rule_add_ev(rules, "approval", AL_RULE_SATISFIED, ev,
					    "%zu of %u approvals: %s", have, need, names);
	return al_gates_rule_add_ev(rules, "approval", AL_RULE_UNSATISFIED, ev,
				    "%zu of %u approvals%s", have, need, because);
}

int
al_gates_approval(const struct al_policy *p, const struct al_approval_input *in, json_t **ret_rule,
		  unsigned *ret_need, unsigned *ret_have, struct al_err *err)
{
	struct tally t = {NULL, NULL};
	_cleanup_(al_gates_decrefp) json_t *rules = NULL;
	unsigned need;
	int r;

	if (!p || !in || !ret_rule)
		return al_err_set(err, -EINVAL, "approval: missing policy, input or result");
	if (in->approvals && !json_is_array(in->approvals))
		return al_err_set(err, -EINVAL, "approval: approvals must be an array");
	t.counted = json_array();
	t.ignored = json_array();
	rules = json_array();
	need = (unsigned)p->approvals;
	/* a protected path, or an existing test weakened, needs a human whatever the policy
	 * asks for */
	if ((json_array_size(in->protected) > 0 || json_array_size(in->changed_tests) > 0) &&
	    need < 1)
		need = 1;
	r = t.counted && t.ignored && rules ? tally_approvals(p, in, &t) : -ENOMEM;
	if (r >= 0)
		r = approval_rule(p, in, &t, need, rules);
	if (r >= 0) {
		*ret_rule = json_incref(json_array_get(rules, 0));
		if (ret_need)
			*ret_need = need;
		if (ret_have)
			*ret_have = (unsigned)json_array_size(t.counted);
	}
	json_decref(t.counted);
	json_decref(t.ignored);
	return r < 0 ? al_err_set(err, r, "approval: out of memory") : 0;
}

/* "main" -> "refs/heads/main"; a full ref stays as it is. */
static int
full_ref(const char *base, char *buf, size_t n)
{
	int k = snprintf(buf, n, "%s%s", strncmp(base, "refs/", 5) ? "refs/heads/" : "", base);

	return k < 0 || (size_t)k >= n ? -ENAMETOOLONG : 0;
}

int
al_gates_authority(const struct al_policy *p, int tier, const char *proposal_id, const char *base,
		   struct al_authority *ret, char *why, size_t whysz)
{
	static const char *const names[] = {"none", "write", "merge"};
	const struct al_tier *t;
	const char *pat;
	char ref[256];
	size_t i;
	json_t *g;

	if (!p || !ret || tier < 1 || tier > 2 || !proposal_id || !base)
		return -EINVAL;
	t = &p->tiers[tier];
	memset(ret, 0, sizeof(*ret));
	ret->authority = names[t->authority];
	ret->lifetime_s = t->lifetime_s;
	snprintf(why, whysz, "tier %d grants %s", tier, ret->authority);
	if (t->authority == AL_AUTH_WRITE) {
		if (strspn(proposal_id, "0123456789abcdef") != strlen(proposal_id) || !*proposal_id)
			return -EINVAL;
		pat = json_string_value(json_array_get(t->refs, 0));
		snprintf(ret->ref, sizeof(ret->ref), "%.*s%s", (int)(strlen(pat) - 1), pat,
			 proposal_id);
		snprintf(why, whysz, "tier %d grants write to %s", tier, ret->ref);
	} else if (t->authority == AL_AUTH_MERGE) {
		if (full_ref(base, ref, sizeof(ref)) < 0)
			return -ENAMETOOLONG;
		/* a base that is no ref name (a commit id, "a/../b") names nothing to merge into */
		if (!al_gates_ref_valid(ref, strlen(ref))) {
			ret->authority = names[AL_AUTH_NONE];
			snprintf(why, whysz, "tier %d merges only into a named ref", tier);
			return 0;
		}
		json_array_foreach (t->refs, i, g) {
			if (al_gates_glob_match(json_string_value(g), ref)) {
				snprintf(ret->ref, sizeof(ret->ref), "%s", ref);
				snprintf(why, whysz, "tier %d grants merge into %s", tier, ref);
				return 0;
			}
		}
		ret->authority = names[AL_AUTH_NONE];
		snprintf(why, whysz, "tier %d merges only into its named refs, not %s", tier, ref);
	}
	return 0;
}
