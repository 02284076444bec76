/* Static rules: judgements over the list of files a patch touches.  The rules are a table
 * so that new ones (symlinks, submodules, secrets, sizes) are one row and one function. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"
#include "lib/macros.h"

typedef const char *(*static_check)(const struct al_static_input *in, char *reason, size_t n);

/* Calls fn on each path and old path of files until it returns non-zero. */
static int
each_path(const json_t *files, int (*fn)(const char *path, void *ctx), void *ctx)
{
	static const char *const keys[] = {"path", "old_path"};
	size_t i, k;
	json_t *f;
	int r;

	json_array_foreach (files, i, f) {
		for (k = 0; k < AL_ARRAY_SIZE(keys); k++) {
			const char *s = json_string_value(json_object_get(f, keys[k]));

			if (s && (r = fn(s, ctx)) != 0)
				return r;
		}
	}
	return 0;
}

struct path_hit {
	const struct al_policy *policy;
	const char *path; /* borrowed from the file list */
	const char *why;
};

static int
unsafe_path(const char *path, void *ctx)
{
	struct path_hit *h = ctx;

	h->why = al_gates_path_problem(path);
	h->path = path;
	return h->why != NULL;
}

static const char *
check_paths(const struct al_static_input *in, char *reason, size_t n)
{
	struct path_hit h = {0};

	if (each_path(in->patch_files, unsafe_path, &h)) {
		snprintf(reason, n, "patch path %s %s", h.path, h.why);
		return AL_RULE_UNSATISFIED;
	}
	if (in->test_files && each_path(in->test_files, unsafe_path, &h)) {
		snprintf(reason, n, "test patch path %s %s", h.path, h.why);
		return AL_RULE_UNSATISFIED;
	}
	snprintf(reason, n, "every path is relative and stays inside the work tree");
	return AL_RULE_SATISFIED;
}

static int
test_path(const char *path, void *ctx)
{
	struct path_hit *h = ctx;

	h->path = path;
	return al_gates_globs_match(h->policy->test_paths, path);
}

static int
non_test_path(const char *path, void *ctx)
{
	return !test_path(path, ctx);
}

static const char *
check_patch_test_paths(const struct al_static_input *in, char *reason, size_t n)
{
	struct path_hit h = {.policy = in->policy};

	if (json_array_size(in->policy->test_paths) == 0) {
		snprintf(reason, n, "policy has no test_paths");
		return AL_RULE_NOT_APPLICABLE;
	}
	if (each_path(in->patch_files, test_path, &h)) {
		snprintf(reason, n, "patch touches test path %s", h.path);
		return AL_RULE_UNSATISFIED;
	}
	snprintf(reason, n, "patch touches no test path");
	return AL_RULE_SATISFIED;
}

static const char *
check_test_patch_paths(const struct al_static_input *in, char *reason, size_t n)
{
	struct path_hit h = {.policy = in->policy};

	if (!in->test_files) {
		snprintf(reason, n, "no test patch");
		return AL_RULE_NOT_APPLICABLE;
	}
	if (json_array_size(in->policy->test_paths) == 0) {
		snprintf(reason, n, "policy has no test_paths");
		return AL_RULE_NOT_APPLICABLE;
	}
	if (each_path(in->test_files, non_test_path, &h)) {
		snprintf(reason, n, "test patch touches non-test path %s", h.path);
		return AL_RULE_UNSATISFIED;
	}
	snprintf(reason, n, "test patch touches only test paths");
	return AL_RULE_SATISFIED;
}

static const struct {
	const char *name;
	static_check check;
} static_rules[] = {
    {"static.paths", check_paths},
    {"static.patch_test_paths", check_patch_test_paths},
    {"static.test_patch_paths", check_test_patch_paths},
};

int
al_gates_static_rules(const struct al_static_input *in, json_t *rules)
{
	char reason[AL_REASON_MAX];
	size_t i;
	int r;

	for (i = 0; i < AL_ARRAY_SIZE(static_rules); i++) {
		const char *result = static_rules[i].check(in, reason, sizeof(reason));

		r = al_gates_rule_add(rules, static_rules[i].name, result, "%s", reason);
		if (r < 0)
			return r;
	}
	return 0;
}

int
al_gates_static_all(json_t *rules, const char *result, const char *reason)
{
	size_t i;
	int r;

	for (i = 0; i < AL_ARRAY_SIZE(static_rules); i++) {
		r = al_gates_rule_add(rules, static_rules[i].name, result, "%s", reason);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool
clean_string(const json_t *v)
{
	return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

int
al_gates_files_valid(const json_t *files, const char *what, char *msg, size_t msgsz)
{
	size_t i;
	json_t *f, *old;

	if (!json_is_array(files)) {
		snprintf(msg, msgsz, "%s: expected an array", what);
		return 0;
	}
	json_array_foreach (files, i, f) {
		old = json_object_get(f, "old_path");
		if (!json_is_object(f) || !clean_string(json_object_get(f, "path")) ||
		    (old && !json_is_null(old) && !clean_string(old))) {
			snprintf(msg, msgsz, "%s[%zu]: expected an object with a string path", what,
				 i);
			return 0;
		}
	}
	return 1;
}

/* Parses one patch text; a parse failure becomes the static.parse reason. */
static int
parse_one(const char *text, size_t len, const char *what, json_t **ret, char *why, size_t n)
{
	struct al_err perr = {0};
	int r = al_gates_patch_files(text, len, ret, &perr);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		snprintf(why, n, "%s: %s", what, al_err_msg(&perr));
	return 0;
}

int
al_gates_static(const struct al_policy *p, const char *patch, size_t patch_len,
		const char *test_patch, size_t test_patch_len, json_t **ret, struct al_err *err)
{
	json_t *pf = NULL, *tf = NULL, *rules = NULL;
	char why[AL_REASON_MAX] = "";
	bool has_test = test_patch && test_patch_len > 0;
	int r;

	if (!p || !ret)
		return al_err_set(err, -EINVAL, "static: missing policy or result");
	rules = json_array();
	if (!rules)
		return al_err_set(err, -ENOMEM, "static: out of memory");
	r = parse_one(patch, patch_len, "patch", &pf, why, sizeof(why));
	if (r == 0 && !why[0] && has_test)
		r = parse_one(test_patch, test_patch_len, "test patch", &tf, why, sizeof(why));
	if (r == 0 && why[0]) {
		r = al_gates_rule_add(rules, "static.parse", AL_RULE_UNSATISFIED, "%s", why);
		if (r == 0)
			r = al_gates_static_all(rules, AL_RULE_NOT_APPLICABLE,
						"not checked: a patch does not parse");
	} else if (r == 0) {
		struct al_static_input in = {p, pf, tf};

		r = al_gates_rule_add(rules, "static.parse", AL_RULE_SATISFIED, "%s",
				      has_test ? "patch and test patch parse" : "patch parses");
		if (r == 0)
			r = al_gates_static_rules(&in, rules);
	}
	json_decref(pf);
	json_decref(tf);
	if (r < 0) {
		json_decref(rules);
		return al_err_set(err, r, "static: out of memory");
	}
	*ret = rules;
	return 0;
}
