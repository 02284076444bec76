/* Policy parsing: each object is walked against a table of known keys, each key with a
 * JSON kind and a handler, so new keys are one table row and one function. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"
#include "lib/macros.h"

#define PATH_MAX_LEN 512

enum kind { KIND_OBJECT, KIND_ARRAY, KIND_STRING, KIND_INTEGER, KIND_BOOLEAN };

typedef int (*key_handler)(void *ctx, const json_t *v, const char *path, struct al_err *err);

struct key_spec {
	const char *key;
	enum kind kind;
	bool required;
	key_handler handle;
};

static const char *const kind_names[] = {
    [KIND_OBJECT] = "an object",   [KIND_ARRAY] = "an array",	 [KIND_STRING] = "a string",
    [KIND_INTEGER] = "an integer", [KIND_BOOLEAN] = "a boolean",
};

static bool
kind_is(const json_t *v, enum kind k)
{
	switch (k) {
	case KIND_OBJECT:
		return json_is_object(v);
	case KIND_ARRAY:
		return json_is_array(v);
	case KIND_STRING:
		return json_is_string(v);
	case KIND_INTEGER:
		return json_is_integer(v);
	case KIND_BOOLEAN:
		return json_is_boolean(v);
	}
	return false;
}

/* "base.key"; keys are printed as one printable line since they end up in messages. */
static void
path_key(char *buf, const char *base, const char *key)
{
	char clean[96];

	al_gates_printable(clean, sizeof(clean), key, strlen(key));
	snprintf(buf, PATH_MAX_LEN, "%s.%s", base, clean);
}

static void
path_index(char *buf, const char *base, size_t i)
{
	snprintf(buf, PATH_MAX_LEN, "%s[%zu]", base, i);
}

static int
walk_object(const json_t *obj, const struct key_spec *keys, size_t n, void *ctx, const char *path,
	    struct al_err *err)
{
	char sub[PATH_MAX_LEN];
	const char *key;
	json_t *v;
	size_t i;
	int r;

	if (!json_is_object(obj))
		return al_err_set(err, -EINVAL, "%s: expected an object", path);
	json_object_foreach ((json_t *)obj, key, v) {
		for (i = 0; i < n && strcmp(keys[i].key, key) != 0; i++)
			;
		if (i == n) {
			path_key(sub, path, key);
			return al_err_set(err, -EINVAL, "%s: unknown key", sub);
		}
	}
	for (i = 0; i < n; i++) {
		path_key(sub, path, keys[i].key);
		v = json_object_get(obj, keys[i].key);
		if (!v) {
			if (keys[i].required)
				return al_err_set(err, -EINVAL, "%s: required key is missing", sub);
			continue;
		}
		if (!kind_is(v, keys[i].kind))
			return al_err_set(err, -EINVAL, "%s: expected %s", sub,
					  kind_names[keys[i].kind]);
		r = keys[i].handle(ctx, v, sub, err);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A string of 1..max bytes with no NUL. */
static int
string_check(const json_t *v, size_t max, const char *path, struct al_err *err)
{
	size_t n = json_string_length(v);

	if (!json_is_string(v) || n == 0 || strlen(json_string_value(v)) != n)
		return al_err_set(err, -EINVAL, "%s: expected a non-empty string", path);
	if (n > max)
		return al_err_set(err, -EINVAL, "%s: longer than %zu bytes", path, max);
	return 0;
}

static int
parse_command(const json_t *v, const char *path, json_t **ret, struct al_err *err)
{
	char sub[PATH_MAX_LEN];
	size_t i;
	json_t *e;
	int r;

	if (json_array_size(v) == 0)
		return al_err_set(err, -EINVAL, "%s: expected a non-empty array", path);
	if (json_array_size(v) > AL_POLICY_MAX_ARGV)
		return al_err_set(err, -EINVAL, "%s: more than %d elements", path,
				  AL_POLICY_MAX_ARGV);
	json_array_foreach (v, i, e) {
		path_index(sub, path, i);
		r = string_check(e, AL_POLICY_MAX_ARG_LEN, sub, err);
		if (r < 0)
			return r;
	}
	*ret = json_deep_copy(v);
	return *ret ? 0 : al_err_set(err, -ENOMEM, "%s: out of memory", path);
}

static int
int_range(const json_t *v, json_int_t min, json_int_t max, const char *path, size_t *ret,
	  struct al_err *err)
{
	json_int_t n = json_integer_value(v);

	if (n < min || n > max)
		return al_err_set(err, -EINVAL, "%s: expected an integer from %lld to %lld", path,
				  (long long)min, (long long)max);
	*ret = (size_t)n;
	return 0;
}

static int
int_in(const json_t *v, json_int_t max, const char *path, size_t *ret, struct al_err *err)
{
	return int_range(v, 1, max, path, ret, err);
}

static int
reproduce_command(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return parse_command(v, path, &p->reproduce, err);
}

static int
reproduce_repeat(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	size_t n = 1;
	int r;

	r = int_in(v, AL_POLICY_REPEAT_MAX, path, &n, err);
	if (r < 0)
		return r;
	p->repeat = (unsigned)n;
	return 0;
}

/* A report format name, as the runner knows it; the static copy outlives the policy json. */
static int
report_format(const json_t *v, const char *path, const char **ret, struct al_err *err)
{
	static const char *const formats[] = {"junit", "tap"};

	for (size_t i = 0; i < AL_ARRAY_SIZE(formats); i++)
		if (!strcmp(json_string_value(v), formats[i])) {
			*ret = formats[i];
			return 0;
		}
	return al_err_set(err, -EINVAL, "%s: expected \"junit\" or \"tap\"", path);
}

static int
reproduce_report(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return report_format(v, path, &p->report, err);
}

static const struct key_spec reproduce_keys[] = {
    {"command", KIND_ARRAY, true, reproduce_command},
    {"repeat", KIND_INTEGER, false, reproduce_repeat},
    {"report", KIND_STRING, false, reproduce_report},
};

static int
policy_reproduce(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	return walk_object(v, reproduce_keys, AL_ARRAY_SIZE(reproduce_keys), ctx, path, err);
}

struct contract_entry {
	const char *name;   /* borrowed from the policy json */
	json_t *command;    /* owned */
	const char *report; /* static; NULL when the command writes none */
	bool exit_code;	    /* judged by exit codes alone, even when base fails */
};

static bool
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > AL_POLICY_MAX_NAME)
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static int
contract_name(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry *c = ctx;

	if (!name_ok(json_string_value(v), json_string_length(v)))
		return al_err_set(err, -EINVAL,
				  "%s: expected 1 to %d characters from [A-Za-z0-9_.-]", path,
				  AL_POLICY_MAX_NAME);
	c->name = json_string_value(v);
	return 0;
}

static int
contract_command(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry *c = ctx;

	return parse_command(v, path, &c->command, err);
}

static int
contract_report(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry *c = ctx;

	return report_format(v, path, &c->report, err);
}

static int
contract_judge(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry *c = ctx;

	if (!strcmp(json_string_value(v), "tests"))
		c->exit_code = false;
	else if (!strcmp(json_string_value(v), "exit_code"))
		c->exit_code = true;
	else
		return al_err_set(err, -EINVAL, "%s: expected \"tests\" or \"exit_code\"", path);
	return 0;
}

static const struct key_spec contract_keys[] = {
    {"name", KIND_STRING, true, contract_name},
    {"command", KIND_ARRAY, true, contract_command},
    {"report", KIND_STRING, false, contract_report},
    {"judge", KIND_STRING, false, contract_judge},
};

static int
contract_add(struct al_policy *p, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry c = {0};
	size_t i;
	json_t *e;
	int r;

	r = walk_object(v, contract_keys, AL_ARRAY_SIZE(contract_keys), &c, path, err);
	if (r < 0) {
		json_decref(c.command);
		return r;
	}
	json_array_foreach (p->contracts, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "name")), c.name) == 0) {
			json_decref(c.command);
			return al_err_set(err, -EINVAL, "%s.name: duplicate contract name \"%s\"",
					  path, c.name);
		}
	}
	/* report and judge only when set, so that older policies keep their digest */
	e = json_pack("{s:s, s:o, s:s*, s:s*}", "name", c.name, "command", c.command, "report",
		      c.report, "judge", c.exit_code ? "exit_code" : NULL);
	if (!e || json_array_append_new(p->contracts, e) < 0)
		return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	return 0;
}

static int
policy_contract(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	char sub[PATH_MAX_LEN];
	size_t i;
	json_t *e;
	int r;

	if (json_array_size(v) > AL_POLICY_MAX_CONTRACTS)
		return al_err_set(err, -EINVAL, "%s: more than %d contracts", path,
				  AL_POLICY_MAX_CONTRACTS);
	json_array_foreach (v, i, e) {
		path_index(sub, path, i);
		r = contract_add(ctx, e, sub, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
parse_globs_cap(json_t *out, const json_t *v, const char *path, size_t cap, struct al_err *err)
{
	char sub[PATH_MAX_LEN];
	size_t i;
	json_t *e;
	int r;

	if (json_array_size(v) > cap)
		return al_err_set(err, -EINVAL, "%s: more than %zu globs", path, cap);
	json_array_foreach (v, i, e) {
		path_index(sub, path, i);
		r = string_check(e, AL_POLICY_MAX_GLOB_LEN, sub, err);
		if (r < 0)
			return r;
		if (json_array_append(out, e) < 0)
			return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	return 0;
}

static int
parse_globs(json_t *out, const json_t *v, const char *path, struct al_err *err)
{
	return parse_globs_cap(out, v, path, AL_POLICY_MAX_GLOBS, err);
}

static int
policy_test_paths(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return parse_globs(p->test_paths, v, path, err);
}

static int
policy_executable_paths(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return parse_globs(p->executable_paths, v, path, err);
}

static int
policy_branches(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	char sub[PATH_MAX_LEN];
	size_t i;
	json_t *e;

	if (json_array_size(v) == 0 || json_array_size(v) > AL_POLICY_MAX_BRANCHES)
		return al_err_set(err, -EINVAL, "%s: expected 1 to %d ref globs", path,
				  AL_POLICY_MAX_BRANCHES);
	json_array_clear(p->branches);
	json_array_foreach (v, i, e) {
		const char *g = json_string_value(e);

		path_index(sub, path, i);
		if (!g || strncmp(g, "refs/heads/", 11) ||
		    json_string_length(e) > AL_POLICY_REF_MAX ||
		    !al_gates_ref_valid(g, json_string_length(e)))
			return al_err_set(err, -EINVAL,
					  "%s: expected a branch ref or glob under refs/heads/",
					  sub);
		if (json_array_append(p->branches, e) < 0)
			return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	return 0;
}

static int
policy_allow_binary(void *ctx, const json_t *v, const char *path AL_UNUSED,
		    struct al_err *err AL_UNUSED)
{
	struct al_policy *p = ctx;

	p->allow_binary = json_is_true(v);
	return 0;
}

static int
policy_regate(void *ctx, const json_t *v, const char *path AL_UNUSED, struct al_err *err AL_UNUSED)
{
	struct al_policy *p = ctx;

	p->regate_on_base_change = json_is_true(v);
	return 0;
}

static int
policy_auto_promote(void *ctx, const json_t *v, const char *path AL_UNUSED,
		    struct al_err *err AL_UNUSED)
{
	struct al_policy *p = ctx;

	p->auto_promote = json_is_true(v);
	return 0;
}

static int
limits_patch_bytes(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return int_in(v, AL_POLICY_MAX_PATCH_BYTES_MAX, path, &p->max_patch_bytes, err);
}

static int
limits_files(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return int_in(v, AL_PATCH_MAX_FILES, path, &p->max_files, err);
}

static int
policy_timeout(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	json_int_t t = json_integer_value(v);

	if (t < 1 || t > AL_POLICY_TIMEOUT_MAX)
		return al_err_set(err, -EINVAL, "%s: expected an integer from 1 to %d", path,
				  AL_POLICY_TIMEOUT_MAX);
	p->timeout_s = (unsigned)t;
	return 0;
}

static int
limits_memory(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return int_range(v, 16, AL_POLICY_MEMORY_MB_MAX, path, &p->memory_mb, err);
}

static int
limits_pids(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return int_range(v, 8, AL_POLICY_PIDS_MAX, path, &p->pids, err);
}

static int
limits_output(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return int_range(v, 1024, AL_POLICY_OUTPUT_MAX, path, &p->output_bytes, err);
}

static const struct key_spec limits_keys[] = {
    {"max_patch_bytes", KIND_INTEGER, false, limits_patch_bytes},
    {"max_files", KIND_INTEGER, false, limits_files},
    {"timeout_s", KIND_INTEGER, false, policy_timeout},
    {"memory_mb", KIND_INTEGER, false, limits_memory},
    {"pids", KIND_INTEGER, false, limits_pids},
    {"output_bytes", KIND_INTEGER, false, limits_output},
};

static int
policy_limits(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	return walk_object(v, limits_keys, AL_ARRAY_SIZE(limits_keys), ctx, path, err);
}

static int
policy_preexisting(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	const char *s = json_string_value(v);

	if (strcmp(s, "allow") && strcmp(s, "block"))
		return al_err_set(err, -EINVAL, "%s: expected \"allow\" or \"block\"", path);
	p->block_preexisting = !strcmp(s, "block");
	return 0;
}

/* Globs added to a list that starts with n_defaults defaults; a glob already listed is kept
 * once, so that the canonical form (defaults included) parses back to itself, and the cap
 * counts only the globs beyond the defaults for the same reason. */
static int
add_to_defaults(json_t *list, size_t n_defaults, const json_t *v, const char *path,
		struct al_err *err)
{
	json_t *given = json_array(), *g;
	size_t i, k;
	int r;

	if (!given)
		return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	r = parse_globs_cap(given, v, path, AL_POLICY_MAX_GLOBS + n_defaults, err);
	json_array_foreach (given, i, g) {
		json_t *have;
		bool dup = false;

		json_array_foreach (list, k, have)
			dup |= json_equal(have, g);
		if (r == 0 && !dup && json_array_append(list, g) < 0)
			r = al_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	json_decref(given);
	if (r == 0 && json_array_size(list) > AL_POLICY_MAX_GLOBS + n_defaults)
		r = al_err_set(err, -EINVAL, "%s: more than %d globs besides the defaults", path,
			       AL_POLICY_MAX_GLOBS);
	return r;
}

/* Touching these always needs a human, whatever the policy adds: CI and airlock's own
 * configuration, owners, and the files that tell git how to read the tree (attributes at
 * any depth: filters, diff and merge drivers, export-ignore; LFS; submodules). */
static const char *const default_protected[] = {
    ".github/**",	 ".gitlab-ci.yml", ".airlock/**", "**/CODEOWNERS",
    "**/.gitattributes", ".gitmodules",	   ".lfsconfig",
};

/* What decides which tests run and how: changing one of these can skip, deselect or
 * neuter existing tests without touching a test file, so it always needs a human.  Why
 * each is here is in docs/policy.md. */
static const char *const default_test_config[] = {
    /* pytest, tox, nox: fixtures and hooks, addopts, deselection, test commands */
    "**/conftest.py",
    "**/pytest.ini",
    "**/tox.ini",
    "**/setup.cfg",
    "**/pyproject.toml",
    "**/noxfile.py",
    /* JavaScript: npm test's command, jest and mocha settings, vitest (which reads
     * vite.config when it has no file of its own), karma, playwright */
    "**/package.json",
    "**/jest.config.*",
    "**/vitest.config.*",
    "**/vitest.workspace.*",
    "**/vite.config.*",
    "**/karma.conf.*",
    "**/.mocharc*",
    "**/playwright.config.*",
    /* C and C++: make targets, CMake and CTest, meson's test() */
    "**/Makefile",
    "**/GNUmakefile",
    "**/makefile",
    "**/CMakeLists.txt",
    "**/CTestTestfile.cmake",
    "**/meson.build",
    /* JVM: surefire and Gradle test excludes */
    "**/pom.xml",
    "**/build.gradle",
    "**/build.gradle.kts",
    /* Rust: a cargo runner runs the test binaries */
    "**/.cargo/config",
    "**/.cargo/config.toml",
    /* Ruby, PHP */
    "**/.rspec",
    "**/phpunit.xml",
    "**/phpunit.xml.dist",
};

static int
policy_protected_paths(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return add_to_defaults(p->protected_paths, AL_ARRAY_SIZE(default_protected), v, path, err);
}

static int
policy_test_config_paths(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return add_to_defaults(p->test_config_paths, AL_ARRAY_SIZE(default_test_config), v, path,
			       err);
}

static int
approvals_required(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return int_range(v, 0, AL_POLICY_APPROVALS_MAX, path, &p->approvals, err);
}

static int
approvals_reviewers(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	char sub[PATH_MAX_LEN];
	size_t i;
	json_t *e;

	if (json_array_size(v) > AL_POLICY_REVIEWERS_MAX)
		return al_err_set(err, -EINVAL, "%s: more than %d reviewers", path,
				  AL_POLICY_REVIEWERS_MAX);
	json_array_foreach (v, i, e) {
		path_index(sub, path, i);
		if (!json_is_string(e) || !name_ok(json_string_value(e), json_string_length(e)))
			return al_err_set(err, -EINVAL,
					  "%s: expected a token name of 1 to %d characters from "
					  "[A-Za-z0-9_.-]",
					  sub, AL_POLICY_MAX_NAME);
		if (json_array_append(p->reviewers, e) < 0)
			return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	}
	return 0;
}

static const struct key_spec approvals_keys[] = {
    {"required", KIND_INTEGER, false, approvals_required},
    {"reviewers", KIND_ARRAY, false, approvals_reviewers},
};

static int
policy_approvals(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	return walk_object(v, approvals_keys, AL_ARRAY_SIZE(approvals_keys), ctx, path, err);
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
	char sub[PATH_MAX_LEN];
	size_t i;
	json_t *e;

	json_array_clear(tp->t->refs);
	if (json_array_size(v) > AL_POLICY_MAX_GLOBS)
		return al_err_set(err, -EINVAL, "%s: more than %d refs", path, AL_POLICY_MAX_GLOBS);
	json_array_foreach (v, i, e) {
		path_index(sub, path, i);
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
	int r = int_range(v, AL_POLICY_LIFETIME_MIN, AL_POLICY_LIFETIME_MAX, path, &n, err);

	if (r == 0)
		tp->t->lifetime_s = (unsigned)n;
	return r;
}

static const struct key_spec tier_keys[] = {
    {"authority", KIND_STRING, true, tier_authority},
    {"refs", KIND_ARRAY, false, tier_refs},
    {"lifetime_s", KIND_INTEGER, false, tier_lifetime},
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

	r = walk_object(v, tier_keys, AL_ARRAY_SIZE(tier_keys), &tp, path, err);
	return r < 0 ? r : tier_check(&tp, path, err);
}

static int
policy_tiers(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	char sub[PATH_MAX_LEN];
	const char *key;
	json_t *e;
	int r;

	json_object_foreach ((json_t *)v, key, e) {
		path_key(sub, path, key);
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

static const struct key_spec policy_keys[] = {
    {"reproduce", KIND_OBJECT, false, policy_reproduce},
    {"contract", KIND_ARRAY, false, policy_contract},
    {"test_paths", KIND_ARRAY, false, policy_test_paths},
    {"timeout_s", KIND_INTEGER, false, policy_timeout},
    {"allow_binary", KIND_BOOLEAN, false, policy_allow_binary},
    {"executable_paths", KIND_ARRAY, false, policy_executable_paths},
    {"limits", KIND_OBJECT, false, policy_limits},
    {"contract_preexisting", KIND_STRING, false, policy_preexisting},
    {"protected_paths", KIND_ARRAY, false, policy_protected_paths},
    {"test_config_paths", KIND_ARRAY, false, policy_test_config_paths},
    {"approvals", KIND_OBJECT, false, policy_approvals},
    {"tiers", KIND_OBJECT, false, policy_tiers},
    {"regate_on_base_change", KIND_BOOLEAN, false, policy_regate},
    {"auto_promote", KIND_BOOLEAN, false, policy_auto_promote},
    {"branches", KIND_ARRAY, false, policy_branches},
};

static int
policy_defaults(struct al_policy *p)
{
	size_t i, t;

	p->contracts = json_array();
	p->test_paths = json_array();
	p->executable_paths = json_array();
	p->protected_paths = json_array();
	p->reviewers = json_array();
	p->test_config_paths = json_array();
	p->branches = json_pack("[s, s]", "refs/heads/main", "refs/heads/master");
	p->timeout_s = AL_POLICY_TIMEOUT_DEFAULT;
	p->repeat = 1;
	p->max_patch_bytes = AL_POLICY_MAX_PATCH_BYTES_DEFAULT;
	p->max_files = AL_POLICY_MAX_FILES_DEFAULT;
	p->memory_mb = AL_POLICY_MEMORY_MB_DEFAULT;
	p->pids = AL_POLICY_PIDS_DEFAULT;
	p->output_bytes = AL_POLICY_OUTPUT_DEFAULT;
	if (!p->contracts || !p->test_paths || !p->executable_paths || !p->protected_paths ||
	    !p->reviewers || !p->branches || !p->test_config_paths)
		return -ENOMEM;
	for (i = 0; i < AL_ARRAY_SIZE(default_protected); i++)
		if (json_array_append_new(p->protected_paths, json_string(default_protected[i])) <
		    0)
			return -ENOMEM;
	for (i = 0; i < AL_ARRAY_SIZE(default_test_config); i++)
		if (json_array_append_new(p->test_config_paths,
					  json_string(default_test_config[i])) < 0)
			return -ENOMEM;
	for (t = 1; t < AL_ARRAY_SIZE(p->tiers); t++) {
		p->tiers[t].authority = AL_AUTH_WRITE;
		p->tiers[t].lifetime_s = AL_POLICY_LIFETIME_DEFAULT;
		p->tiers[t].refs = json_pack("[s]", "refs/heads/airlock/*");
		if (!p->tiers[t].refs)
			return -ENOMEM;
	}
	return 0;
}

static void
policy_freep(struct al_policy **p)
{
	al_policy_free(*p);
}

int
al_policy_parse(const json_t *j, const char *where, struct al_policy **ret, struct al_err *err)
{
	_cleanup_(policy_freep) struct al_policy *p = NULL;
	const char *root = where && *where ? where : "policy";
	int r;

	if (!ret)
		return al_err_set(err, -EINVAL, "%s: no place for the result", root);
	p = calloc(1, sizeof(*p));
	if (!p)
		return al_err_set(err, -ENOMEM, "%s: out of memory", root);
	if (policy_defaults(p) < 0)
		return al_err_set(err, -ENOMEM, "%s: out of memory", root);
	r = walk_object(j, policy_keys, AL_ARRAY_SIZE(policy_keys), p, root, err);
	if (r < 0)
		return r;
	if (!p->reproduce && json_array_size(p->contracts) == 0)
		return al_err_set(err, -EINVAL,
				  "%s: at least one of reproduce or contract is required", root);
	*ret = steal_pointer(&p);
	return 0;
}

void
al_policy_free(struct al_policy *p)
{
	if (!p)
		return;
	json_decref(p->reproduce);
	json_decref(p->contracts);
	json_decref(p->test_paths);
	json_decref(p->executable_paths);
	json_decref(p->protected_paths);
	json_decref(p->test_config_paths);
	json_decref(p->reviewers);
	json_decref(p->branches);
	for (size_t t = 0; t < AL_ARRAY_SIZE(p->tiers); t++)
		json_decref(p->tiers[t].refs);
	free(p);
}

static json_t *
tier_json(const struct al_tier *t)
{
	return json_pack("{s:s, s:O, s:I}", "authority", authority_names[t->authority], "refs",
			 t->refs, "lifetime_s", (json_int_t)t->lifetime_s);
}

/* Every setting, defaults included, so that two policies that behave alike digest alike. */
static json_t *
canonical_object(const struct al_policy *p)
{
	json_t *o = json_pack(
	    "{s:O, s:O, s:b, s:O, s:O, s:s, s:{s:I, s:O}, s:{s:o?, s:o?},"
	    " s:{s:I, s:I, s:I, s:I, s:I, s:I}}",
	    "contract", p->contracts, "test_paths", p->test_paths, "allow_binary",
	    (int)p->allow_binary, "executable_paths", p->executable_paths, "protected_paths",
	    p->protected_paths, "contract_preexisting", p->block_preexisting ? "block" : "allow",
	    "approvals", "required", (json_int_t)p->approvals, "reviewers", p->reviewers, "tiers",
	    "1", tier_json(&p->tiers[1]), "2", tier_json(&p->tiers[2]), "limits", "max_files",
	    (json_int_t)p->max_files, "max_patch_bytes", (json_int_t)p->max_patch_bytes,
	    "timeout_s", (json_int_t)p->timeout_s, "memory_mb", (json_int_t)p->memory_mb, "pids",
	    (json_int_t)p->pids, "output_bytes", (json_int_t)p->output_bytes);

	if (o && (json_object_set_new(o, "regate_on_base_change",
				      json_boolean(p->regate_on_base_change)) < 0 ||
		  json_object_set_new(o, "auto_promote", json_boolean(p->auto_promote)) < 0 ||
		  json_object_set(o, "branches", p->branches) < 0 ||
		  json_object_set(o, "test_config_paths", p->test_config_paths) < 0)) {
		json_decref(o);
		return NULL;
	}
	if (o && p->reproduce &&
	    json_object_set_new(o, "reproduce",
				json_pack("{s:O, s:I, s:s*}", "command", p->reproduce, "repeat",
					  (json_int_t)p->repeat, "report", p->report)) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *
al_policy_canonical(const struct al_policy *p)
{
	json_t *o = p ? canonical_object(p) : NULL;
	char *s;

	if (!o)
		return NULL;
	s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	return s;
}

unsigned
al_policy_timeout_s(const struct al_policy *p)
{
	return p ? p->timeout_s : AL_POLICY_TIMEOUT_DEFAULT;
}

void
al_policy_limits(const struct al_policy *p, struct al_run_limits *ret)
{
	ret->timeout_s = p->timeout_s;
	ret->memory_bytes = p->memory_mb << 20;
	ret->pids = (unsigned)p->pids;
	ret->output_bytes = p->output_bytes;
}

bool
al_policy_regate_on_base_change(const struct al_policy *p)
{
	return p->regate_on_base_change;
}

bool
al_policy_auto_promote(const struct al_policy *p)
{
	return p->auto_promote;
}

bool
al_policy_is_branch(const struct al_policy *p, const char *ref)
{
	return al_gates_globs_match(p->branches, ref) == 1;
}

bool
al_policy_is_test_path(const struct al_policy *p, const char *path)
{
	return al_gates_globs_match(p->test_paths, path) == 1;
}
