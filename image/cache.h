/* The environment cache (docs/environments.md): unpacked images, checked-out trees and
 * sealed setup layers, each a directory KIND/NAME under the cache's root, named by what it
 * holds (a digest or a tree id). An entry is built under a temporary name and renamed into
 * place whole, so a half-written one is never seen. Runners hold the cache's lock shared
 * for as long as they use entries; eviction takes it exclusively. An entry's modification
 * time is its last use. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"

enum al_cache_kind {
	AL_CACHE_IMAGE, /* images/<manifest digest's hex>: the unpacked root */
	AL_CACHE_TREE,	/* trees/<tree id>: a checkout, the sandbox user's */
	AL_CACHE_SETUP, /* setup/<key's hex>: what setup added to the base tree */
	AL_CACHE_KINDS,
};

#define AL_CACHE_NAME_MAX 128
/* The prefix of an entry still being built (or left by a crash: gc removes it). */
#define AL_CACHE_TMP_PREFIX ".tmp-"
#define AL_CACHE_LOCK ".lock"

struct al_cache {
	char *root;  /* owned */
	int lock_fd; /* holds the lock, shared or exclusive */
};

/* The directory name of a kind ("images", "trees", "setup"). */
const char *al_cache_kind_name(enum al_cache_kind k);
/* An entry's name: 1..AL_CACHE_NAME_MAX lowercase hex digits. */
bool al_cache_name_valid(const char *name);
/* Opens (making it, mode 0700, and its kind directories when absent) the cache at root and
 * takes its lock: shared for a user of entries, exclusive for eviction. wait false: -EBUSY
 * at once when the lock is held the other way. */
int al_cache_open(const char *root, bool exclusive, bool wait, struct al_cache *c,
		  struct al_err *err);
void al_cache_close(struct al_cache *c);
/* 1 with *ret_path (owned) set when KIND/NAME exists, its use time now; 0 when absent.
 * -EINVAL for a name other than 1..AL_CACHE_NAME_MAX lowercase hex digits. */
int al_cache_find(const struct al_cache *c, enum al_cache_kind k, const char *name, char **ret_path,
		  struct al_err *err);
/* A new empty directory KIND/.tmp-XXXXXX to build an entry in (*ret_tmp owned). */
int al_cache_begin(const struct al_cache *c, enum al_cache_kind k, char **ret_tmp,
		   struct al_err *err);
/* Renames tmp to KIND/NAME. When another runner got there first, tmp is removed and
 * theirs is used. *ret_path (owned) is the entry's path. On error tmp is removed. */
int al_cache_commit(const struct al_cache *c, enum al_cache_kind k, const char *tmp,
		    const char *name, char **ret_path, struct al_err *err);
/* Removes a temporary directory al_cache_begin made (its build failed). */
void al_cache_abandon(const char *tmp);
