/* Static rules: judgements over the list of files a patch touches and over its hunks.
 * The rules are a table so that a new one is one row and one function.  The rows that
 * only read file lists are judged again on the runner's libgit2 file list. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"
#include "lib/macros.h"

/* Where a rule found what it reports; unset fields are left out of the evidence. */
struct where {
	const char *patch; /* "patch" or "test_patch" */
	const char *file;
	unsigned long line;
};

typedef const char *(*static_check)(const struct al_static_input *in, struct where *at,
				    char *reason, size_t n);

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
check_paths(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	struct path_hit h = {0};

	if (each_path(in->patch_files, unsafe_path, &h)) {
		*at = (struct where){"patch", h.path, 0};
		snprintf(reason, n, "patch path %s %s", h.path, h.why);
		return AL_RULE_UNSATISFIED;
	}
	if (in->test_files && each_path(in->test_files, unsafe_path, &h)) {
		*at = (struct where){"test_patch", h.path, 0};
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
check_patch_test_paths(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	struct path_hit h = {.policy = in->policy};

	if (json_array_size(in->policy->test_paths) == 0) {
		snprintf(reason, n, "policy has no test_paths");
		return AL_RULE_NOT_APPLICABLE;
	}
	if (each_path(in->patch_files, test_path, &h)) {
		*at = (struct where){"patch", h.path, 0};
		snprintf(reason, n, "patch touches test path %s", h.path);
		return AL_RULE_UNSATISFIED;
	}
	snprintf(reason, n, "patch touches no test path");
	return AL_RULE_SATISFIED;
}

static const char *
check_test_patch_paths(const struct al_static_input *in, struct where *at, char *reason, size_t n)
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
		*at = (struct where){"test_patch", h.path, 0};
		snprintf(reason, n, "test patch touches non-test path %s", h.path);
		return AL_RULE_UNSATISFIED;
	}
	snprintf(reason, n, "test patch touches only test paths");
	return AL_RULE_SATISFIED;
}

static unsigned
mode_of(const json_t *f, const char *key)
{
	const json_t *m = json_object_get(f, key);

	return json_is_integer(m) ? (unsigned)json_integer_value(m) : 0;
}

typedef bool (*file_pred)(const struct al_static_input *in, const json_t *f);

/* The first file, of the patch and then of the test patch, that hit() picks; *ret_which
 * says which patch it is in. */
static const char *
find_file(const struct al_static_input *in, file_pred hit, const char **ret_which, struct where *at)
{
	const json_t *lists[] = {in->patch_files, in->test_files};
	static const char *const names[] = {"patch", "test patch"};
	static const char *const ids[] = {"patch", "test_patch"};
	size_t i, k;
	json_t *f;

	for (k = 0; k < AL_ARRAY_SIZE(lists); k++) {
		json_array_foreach (lists[k], i, f) {
			if (hit(in, f)) {
				*ret_which = names[k];
				*at = (struct where){
				    ids[k], json_string_value(json_object_get(f, "path")), 0};
				return at->file;
			}
		}
	}
	return NULL;
}

static bool
is_symlink(const struct al_static_input *in AL_UNUSED, const json_t *f)
{
	return mode_of(f, "new_mode") == 0120000;
}

static const char *
check_symlinks(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	const char *which, *path = find_file(in, is_symlink, &which, at);

	if (path) {
		snprintf(reason, n, "%s makes %s a symlink", which, path);
		return AL_RULE_UNSATISFIED;
	}
	snprintf(reason, n, "no symlink is created or changed");
	return AL_RULE_SATISFIED;
}

static bool
is_submodule(const struct al_static_input *in AL_UNUSED, const json_t *f)
{
	return mode_of(f, "old_mode") == 0160000 || mode_of(f, "new_mode") == 0160000;
}

static const char *
check_submodules(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	const char *which, *path = find_file(in, is_submodule, &which, at);

	if (path) {
		snprintf(reason, n, "%s touches submodule %s", which, path);
		return AL_RULE_UNSATISFIED;
	}
	snprintf(reason, n, "no submodule is touched");
	return AL_RULE_SATISFIED;
}

static bool
is_binary(const struct al_static_input *in AL_UNUSED, const json_t *f)
{
	return json_is_true(json_object_get(f, "binary"));
}

static const char *
check_binary(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	const char *which, *path = find_file(in, is_binary, &which, at);

	if (!path) {
		snprintf(reason, n, "no binary change");
		return AL_RULE_SATISFIED;
	}
	if (in->policy->allow_binary) {
		snprintf(reason, n, "binary changes are allowed by policy");
		return AL_RULE_SATISFIED;
	}
	snprintf(reason, n, "%s has a binary change to %s", which, path);
	return AL_RULE_UNSATISFIED;
}

static bool
gains_exec(const struct al_static_input *in, const json_t *f)
{
	return mode_of(f, "new_mode") == 0100755 && mode_of(f, "old_mode") != 0100755 &&
	       !al_gates_globs_match(in->policy->executable_paths,
				     json_string_value(json_object_get(f, "path")));
}

static const char *
check_exec_bits(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	const char *which, *path = find_file(in, gains_exec, &which, at);

	if (path) {
		snprintf(reason, n, "%s makes %s executable outside executable_paths", which, path);
		return AL_RULE_UNSATISFIED;
	}
	snprintf(reason, n, "no file gains the executable bit outside executable_paths");
	return AL_RULE_SATISFIED;
}

static bool
over_limits(const struct al_policy *p, const struct al_patch_text *t, const char *which,
	    struct where *at, char *reason, size_t n)
{
	size_t files = json_array_size(t->files);

	at->patch = strcmp(which, "patch") ? "test_patch" : "patch";
	if (t->len > p->max_patch_bytes) {
		snprintf(reason, n, "%s is %zu bytes, over max_patch_bytes %zu", which, t->len,
			 p->max_patch_bytes);
		return true;
	}
	if (files > p->max_files) {
		snprintf(reason, n, "%s touches %zu files, over max_files %zu", which, files,
			 p->max_files);
		return true;
	}
	return false;
}

static const char *
check_limits(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	if (over_limits(in->policy, in->patch, "patch", at, reason, n) ||
	    (in->test && over_limits(in->policy, in->test, "test patch", at, reason, n)))
		return AL_RULE_UNSATISFIED;
	at->patch = NULL;
	snprintf(reason, n, "within max_patch_bytes %zu and max_files %zu",
		 in->policy->max_patch_bytes, in->policy->max_files);
	return AL_RULE_SATISFIED;
}

/* Never the secret itself: the reason is stored and shown. */
static bool
secret_in(const struct al_patch_text *t, const char *which, struct where *at, char *reason,
	  size_t n)
{
	const char *path;

	if (!t->secret_kind)
		return false;
	path = json_string_value(json_object_get(json_array_get(t->files, t->secret_file), "path"));
	*at = (struct where){which, path, t->secret_line};
	snprintf(reason, n, "secret-like %s in added line: %s:%lu", t->secret_kind,
		 path ? path : "?", t->secret_line);
	return true;
}

static const char *
check_secrets(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	if (secret_in(in->patch, "patch", at, reason, n) ||
	    (in->test && secret_in(in->test, "test_patch", at, reason, n)))
		return AL_RULE_UNSATISFIED;
	snprintf(reason, n, "no added line looks like a secret");
	return AL_RULE_SATISFIED;
}

/* A creation, deletion, rename, copy, mode or binary change is a change on its own. */
static bool
file_changes(const json_t *files)
{
	size_t i;
	json_t *f;

	json_array_foreach (files, i, f) {
		const char *st = json_string_value(json_object_get(f, "status"));

		if ((st && strcmp(st, "M") != 0) || is_binary(NULL, f) ||
		    mode_of(f, "old_mode") != mode_of(f, "new_mode"))
			return true;
	}
	return false;
}

static bool
changes_nothing(const struct al_patch_text *t, const char *which, char *reason, size_t n)
{
	if (t->changes || file_changes(t->files))
		return false;
	if (t->hunks)
		snprintf(reason, n, "%s changes only whitespace", which);
	else
		snprintf(reason, n, "%s has no hunks and no mode or rename changes", which);
	return true;
}

static const char *
check_nonempty(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	if (changes_nothing(in->patch, "patch", reason, n)) {
		at->patch = "patch";
		return AL_RULE_UNSATISFIED;
	}
	if (in->test && changes_nothing(in->test, "test patch", reason, n)) {
		at->patch = "test_patch";
		return AL_RULE_UNSATISFIED;
	}
	snprintf(reason, n, "%s more than whitespace",
		 in->test ? "both patches change" : "patch changes");
	return AL_RULE_SATISFIED;
}

static const char *
check_test_adds_test(const struct al_static_input *in, struct where *at, char *reason, size_t n)
{
	size_t i;
	json_t *f;

	if (!in->test) {
		snprintf(reason, n, "no test patch");
		return AL_RULE_NOT_APPLICABLE;
	}
	if (json_array_size(in->policy->test_paths) == 0) {
		snprintf(reason, n, "policy has no test_paths");
		return AL_RULE_NOT_APPLICABLE;
	}
	json_array_foreach (in->test->files, i, f) {
		const char *path = json_string_value(json_object_get(f, "path"));

		if (i < AL_PATCH_MAX_FILES && in->test->nonblank[i] && path &&
		    al_gates_globs_match(in->policy->test_paths, path)) {
			*at = (struct where){"test_patch", path, 0};
			snprintf(reason, n, "test patch adds lines to %s", path);
			return AL_RULE_SATISFIED;
		}
	}
	at->patch = "test_patch";
	snprintf(reason, n, "test patch adds no test");
	return AL_RULE_UNSATISFIED;
}

/* New rows go last: the first failing rule is the reason a user sees. */
static const struct {
	const char *name;
	static_check check;
	bool text; /* reads the patch text, so it cannot be judged on a file list alone */
} static_rules[] = {
    {"static.paths", check_paths, false},
    {"static.patch_test_paths", check_patch_test_paths, false},
    {"static.test_patch_paths", check_test_patch_paths, false},
    {"static.symlinks", check_symlinks, false},
    {"static.submodules", check_submodules, false},
    {"static.binary", check_binary, false},
    {"static.exec_bits", check_exec_bits, false},
    {"static.limits", check_limits, true},
    {"static.secrets", check_secrets, true},
    {"static.nonempty", check_nonempty, true},
    {"static.test_adds_test", check_test_adds_test, true},
};

static json_t *
where_json(const struct where *at)
{
	json_t *o = json_object();

	if (o && at->patch)
		json_object_set_new(o, "patch", json_string(at->patch));
	if (o && at->file)
		json_object_set_new(o, "file", json_string(at->file));
	if (o && at->line)
		json_object_set_new(o, "line", json_integer((json_int_t)at->line));
	return o;
}

int
al_gates_static_rules(const struct al_static_input *in, json_t *rules)
{
	char reason[AL_REASON_MAX];
	size_t i;
	int r;

	for (i = 0; i < AL_ARRAY_SIZE(static_rules); i++) {
		struct where at = {0};
		const char *result;

		if (static_rules[i].text && !in->patch)
			continue;
		result = static_rules[i].check(in, &at, reason, sizeof(reason));
		r = al_gates_rule_add_ev(rules, static_rules[i].name, result, where_json(&at), "%s",
					 reason);
		if (r < 0)
			return r;
	}
	return 0;
}

int
al_gates_static_all(json_t *rules, bool texts, const char *result, const char *reason)
{
	size_t i;
	int r;

	for (i = 0; i < AL_ARRAY_SIZE(static_rules); i++) {
		if (static_rules[i].text && !texts)
			continue;
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

/* The mode rules read these fields when present: present means well-typed. */
static bool
optional_kind(const json_t *f, const char *key, bool (*ok)(const json_t *))
{
	const json_t *v = json_object_get(f, key);

	return !v || json_is_null(v) || ok(v);
}

static bool
is_integer(const json_t *v)
{
	return json_is_integer(v);
}

static bool
is_boolean(const json_t *v)
{
	return json_is_boolean(v);
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
		if (!optional_kind(f, "old_mode", is_integer) ||
		    !optional_kind(f, "new_mode", is_integer) ||
		    !optional_kind(f, "binary", is_boolean)) {
			snprintf(msg, msgsz, "%s[%zu]: expected integer modes and a boolean binary",
				 what, i);
			return 0;
		}
	}
	return 1;
}

/* Parses one patch text; a parse failure becomes the static.parse reason. */
static int
parse_one(const char *text, size_t len, const char *what, struct al_patch_text *t, char *why,
	  size_t n)
{
	struct al_err perr = {0};
	int r = al_gates_patch_scan(text, len, t, &perr);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		snprintf(why, n, "%s: %s", what, al_err_msg(&perr));
	return 0;
}

static int
judge_texts(const struct al_policy *p, const struct al_patch_text *pt,
	    const struct al_patch_text *tt, bool has_test, const char *why, json_t *rules)
{
	struct al_static_input in = {.policy = p,
				     .patch_files = pt->files,
				     .test_files = has_test ? tt->files : NULL,
				     .patch = pt,
				     .test = has_test ? tt : NULL};
	int r;

	if (why[0]) {
		r = al_gates_rule_add(rules, "static.parse", AL_RULE_UNSATISFIED, "%s", why);
		return r < 0 ? r
			     : al_gates_static_all(rules, true, AL_RULE_NOT_APPLICABLE,
						   "not checked: a patch does not parse");
	}
	r = al_gates_rule_add(rules, "static.parse", AL_RULE_SATISFIED, "%s",
			      has_test ? "patch and test patch parse" : "patch parses");
	return r < 0 ? r : al_gates_static_rules(&in, rules);
}

int
al_gates_static(const struct al_policy *p, const char *patch, size_t patch_len,
		const char *test_patch, size_t test_patch_len, json_t **ret, struct al_err *err)
{
	struct al_patch_text pt = {0}, tt = {0};
	json_t *rules = NULL;
	char why[AL_REASON_MAX] = "";
	bool has_test = test_patch && test_patch_len > 0;
	int r;

	if (!p || !ret)
		return al_err_set(err, -EINVAL, "static: missing policy or result");
	rules = json_array();
	if (!rules)
		return al_err_set(err, -ENOMEM, "static: out of memory");
	r = parse_one(patch, patch_len, "patch", &pt, why, sizeof(why));
	if (r == 0 && !why[0] && has_test)
		r = parse_one(test_patch, test_patch_len, "test patch", &tt, why, sizeof(why));
	if (r == 0)
		r = judge_texts(p, &pt, &tt, has_test, why, rules);
	al_gates_patch_text_clear(&pt);
	al_gates_patch_text_clear(&tt);
	if (r < 0) {
		json_decref(rules);
		return al_err_set(err, r, "static: out of memory");
	}
	*ret = rules;
	return 0;
}
