/* Open addressing with FNV-1a, kept under half full. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image/pathset.h"

static size_t
slot(char *const *keys, size_t cap, const char *path)
{
	uint64_t h = 1469598103934665603ull;
	const unsigned char *p;
	size_t i;

	for (p = (const unsigned char *)path; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	for (i = (size_t)h & (cap - 1); keys[i] && strcmp(keys[i], path) != 0;
	     i = (i + 1) & (cap - 1))
		;
	return i;
}

static int
grow(struct al_pathset *s)
{
	size_t cap = s->cap ? s->cap * 2 : 256, i, j;
	char **keys = calloc(cap, sizeof(*keys));
	mode_t *vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (i = 0; i < s->cap; i++) {
		if (!s->keys[i])
			continue;
		j = slot(keys, cap, s->keys[i]);
		keys[j] = s->keys[i];
		vals[j] = s->vals[i];
	}
	free(s->keys);
	free(s->vals);
	s->keys = keys;
	s->vals = vals;
	s->cap = cap;
	return 0;
}

int
al_pathset_put(struct al_pathset *s, const char *path, mode_t val)
{
	size_t i;

	if ((s->n + 1) * 2 > s->cap && grow(s) < 0)
		return -ENOMEM;
	i = slot(s->keys, s->cap, path);
	if (!s->keys[i]) {
		s->keys[i] = strdup(path);
		if (!s->keys[i])
			return -ENOMEM;
		s->n++;
	}
	s->vals[i] = val;
	return 0;
}

bool
al_pathset_get(const struct al_pathset *s, const char *path, mode_t *ret_val)
{
	size_t i;

	if (!s->cap)
		return false;
	i = slot(s->keys, s->cap, path);
	if (!s->keys[i])
		return false;
	if (ret_val)
		*ret_val = s->vals[i];
	return true;
}

void
al_pathset_clear(struct al_pathset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->keys[i]);
	free(s->keys);
	free(s->vals);
	memset(s, 0, sizeof(*s));
}
