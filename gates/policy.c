/* Policy parsing: the top-level keys (paths, limits, flags, branches) and the defaults,
 * with the reproduce and contract sections in gates/contracts.c and approvals and tiers in
 * gates/tiers.c, each walked against its table of known keys (gates/schema.c); then the
 * canonical form a grant digests and the getters. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/contracts.h"
#include "egress/proxy.h"
#include "gates/internal.h"
#include "gates/schema.h"
#include "gates/tiers.h"
#include "lib/macros.h"

static int
parse_globs_cap(json_t *out, const json_t *v, const char *path, size_t cap, struct al_err *err)
{
	char sub[AL_SCHEMA_PATH_MAX];
	size_t i;
	json_t *e;
	int r;

	if (json_array_size(v) > cap)
		return al_err_set(err, -EINVAL, "%s: more than %zu globs", path, cap);
	json_array_foreach (v, i, e) {
		al_schema_path_index(sub, path, i);
		r = al_schema_string(e, AL_POLICY_MAX_GLOB_LEN, sub, err);
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
	char sub[AL_SCHEMA_PATH_MAX];
	size_t i;
	json_t *e;

	if (json_array_size(v) == 0 || json_array_size(v) > AL_POLICY_MAX_BRANCHES)
		return al_err_set(err, -EINVAL, "%s: expected 1 to %d ref globs", path,
				  AL_POLICY_MAX_BRANCHES);
	json_array_clear(p->branches);
	json_array_foreach (v, i, e) {
		const char *g = json_string_value(e);

		al_schema_path_index(sub, path, i);
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

	return al_schema_int_in(v, AL_POLICY_MAX_PATCH_BYTES_MAX, path, &p->max_patch_bytes, err);
}

static int
limits_files(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return al_schema_int_in(v, AL_PATCH_MAX_FILES, path, &p->max_files, err);
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

	return al_schema_int_range(v, 16, AL_POLICY_MEMORY_MB_MAX, path, &p->memory_mb, err);
}

static int
limits_disk(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return al_schema_int_range(v, 1, AL_POLICY_DISK_MB_MAX, path, &p->disk_mb, err);
}

static int
limits_pids(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return al_schema_int_range(v, 8, AL_POLICY_PIDS_MAX, path, &p->pids, err);
}

static int
limits_output(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return al_schema_int_range(v, 1024, AL_POLICY_OUTPUT_MAX, path, &p->output_bytes, err);
}

static const struct al_schema_key limits_keys[] = {
    {"max_patch_bytes", AL_SCHEMA_INTEGER, false, limits_patch_bytes},
    {"max_files", AL_SCHEMA_INTEGER, false, limits_files},
    {"timeout_s", AL_SCHEMA_INTEGER, false, policy_timeout},
    {"memory_mb", AL_SCHEMA_INTEGER, false, limits_memory},
    {"disk_mb", AL_SCHEMA_INTEGER, false, limits_disk},
    {"pids", AL_SCHEMA_INTEGER, false, limits_pids},
    {"output_bytes", AL_SCHEMA_INTEGER, false, limits_output},
};

static int
policy_limits(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	return al_schema_walk(v, limits_keys, AL_ARRAY_SIZE(limits_keys), ctx, path, err);
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

/* {"gate": {...}}: the path out of the gate runs, checked as the proxy will read it (the
 * secret files are read only by the proxy, when a job runs). */
static int
policy_egress(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	struct al_err e = {0};
	const char *key;
	char *text;
	json_t *phase;
	int r;

	json_object_foreach ((json_t *)v, key, phase) {
		json_t **slot = !strcmp(key, "gate")	? &p->egress_gate
				: !strcmp(key, "setup") ? &p->egress_setup
							: NULL;

		if (!slot)
			return al_err_set(err, -EINVAL, "%s.%s: unknown phase (want gate or setup)",
					  path, key);
		text = json_dumps(phase, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!text)
			return al_err_set(err, -ENOMEM, "%s: out of memory", path);
		r = al_proxy_conf_check(text, strlen(text), &e);
		free(text);
		if (r < 0)
			return al_err_set(err, r, "%s.%s: %s", path, key, al_err_msg(&e));
		json_decref(*slot);
		*slot = json_incref(phase);
	}
	return 0;
}

static const struct al_schema_key policy_keys[] = {
    {"reproduce", AL_SCHEMA_OBJECT, false, al_contracts_parse_reproduce},
    {"contract", AL_SCHEMA_ARRAY, false, al_contracts_parse},
    {"test_paths", AL_SCHEMA_ARRAY, false, policy_test_paths},
    {"timeout_s", AL_SCHEMA_INTEGER, false, policy_timeout},
    {"allow_binary", AL_SCHEMA_BOOLEAN, false, policy_allow_binary},
    {"executable_paths", AL_SCHEMA_ARRAY, false, policy_executable_paths},
    {"limits", AL_SCHEMA_OBJECT, false, policy_limits},
    {"contract_preexisting", AL_SCHEMA_STRING, false, policy_preexisting},
    {"protected_paths", AL_SCHEMA_ARRAY, false, policy_protected_paths},
    {"test_config_paths", AL_SCHEMA_ARRAY, false, policy_test_config_paths},
    {"approvals", AL_SCHEMA_OBJECT, false, al_tiers_parse_approvals},
    {"tiers", AL_SCHEMA_OBJECT, false, al_tiers_parse},
    {"regate_on_base_change", AL_SCHEMA_BOOLEAN, false, policy_regate},
    {"auto_promote", AL_SCHEMA_BOOLEAN, false, policy_auto_promote},
    {"branches", AL_SCHEMA_ARRAY, false, policy_branches},
    {"quarantine", AL_SCHEMA_OBJECT, false, al_gates_quarantine_parse},
    {"egress", AL_SCHEMA_OBJECT, false, policy_egress},
    {"environment", AL_SCHEMA_OBJECT, false, al_gates_environment_parse},
    {"setup", AL_SCHEMA_OBJECT, false, al_gates_setup_parse},
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
	p->disk_mb = AL_POLICY_DISK_MB_DEFAULT;
	p->pids = AL_POLICY_PIDS_DEFAULT;
	p->output_bytes = AL_POLICY_OUTPUT_DEFAULT;
	al_gates_quarantine_defaults(&p->quarantine);
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
	r = al_schema_walk(j, policy_keys, AL_ARRAY_SIZE(policy_keys), p, root, err);
	if (r < 0)
		return r;
	if (!p->reproduce && json_array_size(p->contracts) == 0)
		return al_err_set(err, -EINVAL,
				  "%s: at least one of reproduce or contract is required", root);
	if (p->egress_setup && !p->setup)
		return al_err_set(err, -EINVAL, "%s.egress.setup: there is no setup", root);
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
	json_decref(p->egress_gate);
	json_decref(p->egress_setup);
	json_decref(p->environment);
	json_decref(p->setup);
	free(p);
}

/* The phases that have a path out; {} when none (as before there were phases but gate). */
static json_t *
egress_canonical(const struct al_policy *p)
{
	json_t *o = json_object();

	if (o && p->egress_gate)
		json_object_set(o, "gate", p->egress_gate);
	if (o && p->egress_setup)
		json_object_set(o, "setup", p->egress_setup);
	return o;
}

/* Every setting, defaults included, so that two policies that behave alike digest alike.
 * Quarantine limits are left out: they judge the proposer, not the patch a grant is for. */
static json_t *
canonical_object(const struct al_policy *p)
{
	json_t *o = json_pack(
	    "{s:O, s:O, s:b, s:O, s:O, s:s, s:{s:I, s:O}, s:{s:o?, s:o?},"
	    " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
	    "contract", p->contracts, "test_paths", p->test_paths, "allow_binary",
	    (int)p->allow_binary, "executable_paths", p->executable_paths, "protected_paths",
	    p->protected_paths, "contract_preexisting", p->block_preexisting ? "block" : "allow",
	    "approvals", "required", (json_int_t)p->approvals, "reviewers", p->reviewers, "tiers",
	    "1", al_tiers_json(&p->tiers[1]), "2", al_tiers_json(&p->tiers[2]), "limits",
	    "max_files", (json_int_t)p->max_files, "max_patch_bytes",
	    (json_int_t)p->max_patch_bytes, "timeout_s", (json_int_t)p->timeout_s, "memory_mb",
	    (json_int_t)p->memory_mb, "disk_mb", (json_int_t)p->disk_mb, "pids",
	    (json_int_t)p->pids, "output_bytes", (json_int_t)p->output_bytes);

	if (o && (json_object_set_new(o, "regate_on_base_change",
				      json_boolean(p->regate_on_base_change)) < 0 ||
		  json_object_set_new(o, "auto_promote", json_boolean(p->auto_promote)) < 0 ||
		  json_object_set(o, "branches", p->branches) < 0 ||
		  json_object_set(o, "test_config_paths", p->test_config_paths) < 0 ||
		  json_object_set_new(o, "egress", egress_canonical(p)) < 0 ||
		  (p->environment && json_object_set(o, "environment", p->environment) < 0) ||
		  (p->setup && json_object_set(o, "setup", p->setup) < 0))) {
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

const json_t *
al_policy_egress(const struct al_policy *p, const char *phase)
{
	if (!p)
		return NULL;
	return !strcmp(phase, "gate")	 ? p->egress_gate
	       : !strcmp(phase, "setup") ? p->egress_setup
					 : NULL;
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
	ret->disk_bytes = p->disk_mb << 20;
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
