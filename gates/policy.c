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
int_in(const json_t *v, json_int_t max, const char *path, size_t *ret, struct al_err *err)
{
	json_int_t n = json_integer_value(v);

	if (n < 1 || n > max)
		return al_err_set(err, -EINVAL, "%s: expected an integer from 1 to %lld", path,
				  (long long)max);
	*ret = (size_t)n;
	return 0;
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

static const struct key_spec reproduce_keys[] = {
    {"command", KIND_ARRAY, true, reproduce_command},
    {"repeat", KIND_INTEGER, false, reproduce_repeat},
};

static int
policy_reproduce(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	return walk_object(v, reproduce_keys, AL_ARRAY_SIZE(reproduce_keys), ctx, path, err);
}

struct contract_entry {
	const char *name; /* borrowed from the policy json */
	json_t *command;  /* owned */
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

static const struct key_spec contract_keys[] = {
    {"name", KIND_STRING, true, contract_name},
    {"command", KIND_ARRAY, true, contract_command},
};

static int
contract_add(struct al_policy *p, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry c = {NULL, NULL};
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
	e = json_pack("{s:s, s:o}", "name", c.name, "command", c.command);
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
parse_globs(json_t *out, const json_t *v, const char *path, struct al_err *err)
{
	char sub[PATH_MAX_LEN];
	size_t i;
	json_t *e;
	int r;

	if (json_array_size(v) > AL_POLICY_MAX_GLOBS)
		return al_err_set(err, -EINVAL, "%s: more than %d globs", path,
				  AL_POLICY_MAX_GLOBS);
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
policy_allow_binary(void *ctx, const json_t *v, const char *path AL_UNUSED,
		    struct al_err *err AL_UNUSED)
{
	struct al_policy *p = ctx;

	p->allow_binary = json_is_true(v);
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

static const struct key_spec limits_keys[] = {
    {"max_patch_bytes", KIND_INTEGER, false, limits_patch_bytes},
    {"max_files", KIND_INTEGER, false, limits_files},
};

static int
policy_limits(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	return walk_object(v, limits_keys, AL_ARRAY_SIZE(limits_keys), ctx, path, err);
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

static const struct key_spec policy_keys[] = {
    {"reproduce", KIND_OBJECT, false, policy_reproduce},
    {"contract", KIND_ARRAY, false, policy_contract},
    {"test_paths", KIND_ARRAY, false, policy_test_paths},
    {"timeout_s", KIND_INTEGER, false, policy_timeout},
    {"allow_binary", KIND_BOOLEAN, false, policy_allow_binary},
    {"executable_paths", KIND_ARRAY, false, policy_executable_paths},
    {"limits", KIND_OBJECT, false, policy_limits},
};

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
	p->contracts = json_array();
	p->test_paths = json_array();
	p->executable_paths = json_array();
	p->timeout_s = AL_POLICY_TIMEOUT_DEFAULT;
	p->repeat = 1;
	p->max_patch_bytes = AL_POLICY_MAX_PATCH_BYTES_DEFAULT;
	p->max_files = AL_POLICY_MAX_FILES_DEFAULT;
	if (!p->contracts || !p->test_paths || !p->executable_paths)
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
	free(p);
}

char *
al_policy_canonical(const struct al_policy *p)
{
	json_t *o;
	char *s;

	if (!p)
		return NULL;
	o = json_pack("{s:O, s:O, s:I, s:b, s:O, s:{s:I, s:I}}", "contract", p->contracts,
		      "test_paths", p->test_paths, "timeout_s", (json_int_t)p->timeout_s,
		      "allow_binary", (int)p->allow_binary, "executable_paths", p->executable_paths,
		      "limits", "max_files", (json_int_t)p->max_files, "max_patch_bytes",
		      (json_int_t)p->max_patch_bytes);
	if (!o)
		return NULL;
	if (p->reproduce && json_object_set_new(o, "reproduce",
						json_pack("{s:O, s:I}", "command", p->reproduce,
							  "repeat", (json_int_t)p->repeat)) < 0) {
		json_decref(o);
		return NULL;
	}
	s = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(o);
	return s;
}

unsigned
al_policy_timeout_s(const struct al_policy *p)
{
	return p ? p->timeout_s : AL_POLICY_TIMEOUT_DEFAULT;
}
