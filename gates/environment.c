/* The policy's "environment" (the image whose /usr the sandboxes see as their root) and
 * "setup" (the command whose output becomes a cached layer, keyed by its key files): both
 * part of the canonical policy, so a grant's policy digest covers them
 * (docs/environments.md). */
#include <errno.h>
#include <string.h>

#include "gates/contracts.h"
#include "gates/internal.h"
#include "gates/schema.h"
#include "lib/macros.h"

#define SETUP_KEYS_MAX 32
#define IMAGE_PATH_MAX 1024

static int
env_image(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	json_t *env = ctx;
	const char *s = json_string_value(v);
	int r = al_schema_string(v, IMAGE_PATH_MAX, path, err);

	if (r < 0)
		return r;
	if (s[0] != '/')
		return al_err_set(err, -EINVAL, "%s: expected an absolute path", path);
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, "/");

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return al_err_set(err, -EINVAL, "%s: expected a path without . or .. parts",
					  path);
		p += n;
		p += *p == '/';
	}
	return json_object_set_new(env, "image", json_deep_copy(v));
}

/* "sha256:" and 64 lowercase hex digits: the manifest digest the image must have. */
static int
env_digest(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	json_t *env = ctx;
	const char *s = json_string_value(v);

	if (strlen(s) != 71 || strncmp(s, "sha256:", 7) || strspn(s + 7, "0123456789abcdef") != 64)
		return al_err_set(err, -EINVAL, "%s: expected sha256: and 64 lowercase hex digits",
				  path);
	return json_object_set_new(env, "digest", json_deep_copy(v));
}

static const struct al_schema_key env_keys[] = {
    {"image", AL_SCHEMA_STRING, true, env_image},
    {"digest", AL_SCHEMA_STRING, false, env_digest},
};

int
al_gates_environment_parse(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	json_t *env = json_object();
	int r;

	if (!env)
		return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	r = al_schema_walk(v, env_keys, AL_ARRAY_SIZE(env_keys), env, path, err);
	if (r < 0) {
		json_decref(env);
		return r;
	}
	json_decref(p->environment);
	p->environment = env;
	return 0;
}

static int
setup_command(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	json_t *cmd = NULL;
	int r = al_contracts_parse_command(v, path, &cmd, err);

	return r < 0 ? r : json_object_set_new(ctx, "command", cmd);
}

/* Repository paths whose bytes key the layer (lockfiles): relative, no "..", each once. */
static int
setup_keys(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	char sub[AL_SCHEMA_PATH_MAX];
	const char *why;
	size_t i, j;
	json_t *e;
	int r;

	if (json_array_size(v) > SETUP_KEYS_MAX)
		return al_err_set(err, -EINVAL, "%s: more than %d files", path, SETUP_KEYS_MAX);
	json_array_foreach (v, i, e) {
		al_schema_path_index(sub, path, i);
		if ((r = al_schema_string(e, 1024, sub, err)) < 0)
			return r;
		if ((why = al_gates_path_problem(json_string_value(e))))
			return al_err_set(err, -EINVAL, "%s: %s", sub, why);
		for (j = 0; j < i; j++)
			if (json_equal(json_array_get(v, j), e))
				return al_err_set(err, -EINVAL, "%s: given twice", sub);
	}
	return json_object_set_new(ctx, "keys", json_deep_copy(v));
}

static int
setup_on_change(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	static const char *const modes[] = {"human", "throwaway", "reject"};
	const char *s = json_string_value(v);

	for (size_t i = 0; i < AL_ARRAY_SIZE(modes); i++)
		if (!strcmp(s, modes[i]))
			return json_object_set_new(ctx, "on_lockfile_change", json_deep_copy(v));
	return al_err_set(err, -EINVAL, "%s: expected human, throwaway or reject", path);
}

static int
setup_timeout(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	size_t t;
	int r = al_schema_int_range(v, 1, AL_POLICY_TIMEOUT_MAX, path, &t, err);

	return r < 0 ? r : json_object_set_new(ctx, "timeout_s", json_integer((json_int_t)t));
}

static const struct al_schema_key setup_keys_table[] = {
    {"command", AL_SCHEMA_ARRAY, true, setup_command},
    {"keys", AL_SCHEMA_ARRAY, true, setup_keys},
    {"on_lockfile_change", AL_SCHEMA_STRING, false, setup_on_change},
    {"timeout_s", AL_SCHEMA_INTEGER, false, setup_timeout},
};

int
al_gates_setup_parse(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	json_t *s = json_pack("{s:s, s:i}", "on_lockfile_change", "human", "timeout_s",
			      AL_POLICY_TIMEOUT_DEFAULT * 5);
	int r;

	if (!s)
		return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	r = al_schema_walk(v, setup_keys_table, AL_ARRAY_SIZE(setup_keys_table), s, path, err);
	if (r < 0) {
		json_decref(s);
		return r;
	}
	json_decref(p->setup);
	p->setup = s;
	return 0;
}

const json_t *
al_policy_environment(const struct al_policy *p)
{
	return p ? p->environment : NULL;
}

const json_t *
al_policy_setup(const struct al_policy *p)
{
	return p ? p->setup : NULL;
}

/* The setup rule, when the policy has setup: its layer (hit or built), or why it failed.
 * A failure on the base tree is the environment's (ERROR); on a tree whose key files the
 * change altered, or a refusal, the change's (UNSATISFIED). Either way no run ran:
 * *blocked says so. */
int
al_gates_rule_setup(const struct al_policy *p, const json_t *result, json_t *rules,
		    const char **blocked)
{
	const json_t *s = json_object_get(result, "setup"), *failed = json_object_get(s, "failed");
	const char *tree = json_string_value(json_object_get(failed, "tree"));
	const char *refused = json_string_value(json_object_get(failed, "refused"));
	const char *status = json_string_value(json_object_get(failed, "status"));
	json_int_t code = json_integer_value(json_object_get(failed, "exit_code"));
	bool base = tree && !strcmp(tree, "base");

	if (!p->setup || (!s && *blocked))
		return 0;
	if (!json_is_object(s))
		return al_gates_rule_add(rules, "setup", AL_RULE_ERROR, "setup: no record of it");
	if (!failed)
		return al_gates_rule_add_ev(
		    rules, "setup", AL_RULE_SATISFIED,
		    json_pack("{s:O?, s:O?, s:O?, s:O?}", "layer", json_object_get(s, "layer"),
			      "ms", json_object_get(s, "ms"), "changed",
			      json_object_get(s, "changed"), "own", json_object_get(s, "own")),
		    "setup layer %s (%lld ms)%s",
		    json_string_value(json_object_get(s, "layer")) ?: "?",
		    (long long)json_integer_value(json_object_get(s, "ms")),
		    json_array_size(json_object_get(s, "own")) ? "; a layer of its own for the "
								 "change's key files"
							       : "");
	*blocked = "setup failed";
	if (refused)
		return al_gates_rule_add_ev(rules, "setup",
					    base ? AL_RULE_ERROR : AL_RULE_UNSATISFIED,
					    json_deep_copy(failed), "setup refused%s%s: %s",
					    tree ? " on the tree " : "", tree ? tree : "", refused);
	return al_gates_rule_add_ev(rules, "setup", base ? AL_RULE_ERROR : AL_RULE_UNSATISFIED,
				    json_deep_copy(failed),
				    "setup failed on the %s tree (%s, exit %lld)%s",
				    tree ? tree : "?", status ? status : "?", (long long)code,
				    base ? ": the environment's failure, not the change's"
					 : ": the change alters its key files");
}

bool
al_gates_setup_needs_human(const struct al_policy *p)
{
	const char *mode = json_string_value(json_object_get(p->setup, "on_lockfile_change"));

	return mode && !strcmp(mode, "human");
}

int
al_gates_add_paths(json_t *list, const json_t *paths)
{
	size_t i, j;
	json_t *v, *e;

	json_array_foreach (paths, i, v) {
		bool seen = !json_is_string(v);

		json_array_foreach (list, j, e)
			seen = seen || json_equal(e, v);
		if (!seen && json_array_append(list, v) < 0)
			return -ENOMEM;
	}
	return 0;
}
