/* A set of relative paths with a mode beside each, for the unpacker's bookkeeping. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct al_pathset {
	char **keys;  /* owned, each owned */
	mode_t *vals; /* owned */
	size_t n, cap;
};

/* Adds path or replaces its value. */
int al_pathset_put(struct al_pathset *s, const char *path, mode_t val);
bool al_pathset_get(const struct al_pathset *s, const char *path, mode_t *ret_val);
void al_pathset_clear(struct al_pathset *s);
