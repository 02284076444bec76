/* Shared by the files that parse the policy (policy.c, contracts.c, tiers.c): each JSON
 * object is walked against a table of known keys, each key with a JSON kind and a handler,
 * so new keys are one table row and one function; and the checks on the values they hold. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

/* The longest path ("policy.contract[2].name") a message names. */
#define AL_SCHEMA_PATH_MAX 512

enum al_schema_kind {
	AL_SCHEMA_OBJECT,
	AL_SCHEMA_ARRAY,
	AL_SCHEMA_STRING,
	AL_SCHEMA_INTEGER,
	AL_SCHEMA_BOOLEAN
};

/* Called with a key's value, of the kind its row states, and the key's path. */
typedef int (*al_schema_handler)(void *ctx, const json_t *v, const char *path, struct al_err *err);

struct al_schema_key {
	const char *key;
	enum al_schema_kind kind;
	bool required;
	al_schema_handler handle;
};

/* -EINVAL when obj is not an object, holds a key keys does not list, lacks a required one
 * or holds a value of another kind; otherwise each present key's handler, in the order of
 * keys, until one returns a negative errno. */
int al_schema_walk(const json_t *obj, const struct al_schema_key *keys, size_t n, void *ctx,
		   const char *path, struct al_err *err);
/* "base.key"; keys are printed as one printable line since they end up in messages. */
void al_schema_path_key(char *buf, const char *base, const char *key);
/* "base[i]". buf holds AL_SCHEMA_PATH_MAX bytes, as above. */
void al_schema_path_index(char *buf, const char *base, size_t i);
/* A string of 1..max bytes with no NUL. */
int al_schema_string(const json_t *v, size_t max, const char *path, struct al_err *err);
/* An integer from min to max, into *ret. */
int al_schema_int_range(const json_t *v, json_int_t min, json_int_t max, const char *path,
			size_t *ret, struct al_err *err);
/* An integer from 1 to max, into *ret. */
int al_schema_int_in(const json_t *v, json_int_t max, const char *path, size_t *ret,
		     struct al_err *err);
/* A name of 1..AL_POLICY_MAX_NAME characters from [A-Za-z0-9_.-]. */
bool al_schema_name_ok(const char *s, size_t n);
