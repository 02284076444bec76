/* The policy's key tables walked, and the checks on the values they hold (gates/schema.h). */
#include "gates/schema.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"

static const char *const kind_names[] = {
    [AL_SCHEMA_OBJECT] = "an object",  [AL_SCHEMA_ARRAY] = "an array",
    [AL_SCHEMA_STRING] = "a string",   [AL_SCHEMA_INTEGER] = "an integer",
    [AL_SCHEMA_BOOLEAN] = "a boolean",
};

static bool
kind_is(const json_t *v, enum al_schema_kind k)
{
	switch (k) {
	case AL_SCHEMA_OBJECT:
		return json_is_object(v);
	case AL_SCHEMA_ARRAY:
		return json_is_array(v);
	case AL_SCHEMA_STRING:
		return json_is_string(v);
	case AL_SCHEMA_INTEGER:
		return json_is_integer(v);
	case AL_SCHEMA_BOOLEAN:
		return json_is_boolean(v);
	}
	return false;
}

void
al_schema_path_key(char *buf, const char *base, const char *key)
{
	char clean[96];

	al_gates_printable(clean, sizeof(clean), key, strlen(key));
	snprintf(buf, AL_SCHEMA_PATH_MAX, "%s.%s", base, clean);
}

void
al_schema_path_index(char *buf, const char *base, size_t i)
{
	snprintf(buf, AL_SCHEMA_PATH_MAX, "%s[%zu]", base, i);
}

int
al_schema_walk(const json_t *obj, const struct al_schema_key *keys, size_t n, void *ctx,
	       const char *path, struct al_err *err)
{
	char sub[AL_SCHEMA_PATH_MAX];
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
			al_schema_path_key(sub, path, key);
			return al_err_set(err, -EINVAL, "%s: unknown key", sub);
		}
	}
	for (i = 0; i < n; i++) {
		al_schema_path_key(sub, path, keys[i].key);
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

int
al_schema_string(const json_t *v, size_t max, const char *path, struct al_err *err)
{
	size_t n = json_string_length(v);

	if (!json_is_string(v) || n == 0 || strlen(json_string_value(v)) != n)
		return al_err_set(err, -EINVAL, "%s: expected a non-empty string", path);
	if (n > max)
		return al_err_set(err, -EINVAL, "%s: longer than %zu bytes", path, max);
	return 0;
}

int
al_schema_int_range(const json_t *v, json_int_t min, json_int_t max, const char *path, size_t *ret,
		    struct al_err *err)
{
	json_int_t n = json_integer_value(v);

	if (n < min || n > max)
		return al_err_set(err, -EINVAL, "%s: expected an integer from %lld to %lld", path,
				  (long long)min, (long long)max);
	*ret = (size_t)n;
	return 0;
}

int
al_schema_int_in(const json_t *v, json_int_t max, const char *path, size_t *ret, struct al_err *err)
{
	return al_schema_int_range(v, 1, max, path, ret, err);
}

bool
al_schema_name_ok(const char *s, size_t n)
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
