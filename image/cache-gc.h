/* The environment cache's upkeep (docs/environments.md, "The cache"): what each entry
 * takes on disk and when it was last used, and eviction of the least recently used ones
 * until the whole fits its cap. Eviction holds the cache's lock exclusively, so no runner
 * is using any entry while one goes. */
#pragma once

#include <stdbool.h>
#include <time.h>

#include "image/cache.h"
#include "lib/err.h"

/* A .tmp-* directory older than this is left by a crash (or a failed removal): gc removes
 * it. */
#define AL_CACHE_TMP_AGE_S 3600

struct al_cache_entry {
	enum al_cache_kind kind;
	char name[AL_CACHE_NAME_MAX + 1];
	unsigned long long bytes; /* its blocks on disk, links not followed */
	time_t used;		  /* its last use (the entry's modification time) */
};

struct al_cache_usage {
	struct al_cache_entry *entries; /* owned; by kind, then name */
	size_t n;
	unsigned long long bytes[AL_CACHE_KINDS];
	size_t count[AL_CACHE_KINDS];
	unsigned long long total;
};

/* The entries of the cache at root, read without its lock (entries only appear while it
 * is shared; .tmp-* directories are not counted). An entry also in prev (may be NULL) takes
 * its size from there: an entry never changes once in place, and its name says what it
 * holds. A cache that does not exist yet is empty. */
int al_cache_scan(const char *root, const struct al_cache_usage *prev, struct al_cache_usage *ret,
		  struct al_err *err);
void al_cache_usage_clear(struct al_cache_usage *u);

struct al_cache_gc_opts {
	unsigned long long max_bytes; /* what the entries may take in all */
	bool wait;		      /* for runners to let go, else -EBUSY at once */
	/* Removes a directory already renamed out of the entries' names (a failure leaves a
	 * .tmp-* that a later gc retries); NULL: al_rm_rf. */
	int (*remove)(const char *path, void *ctx);
	void *ctx;
	const struct al_cache_usage *prev; /* sizes already known, may be NULL */
};

struct al_cache_gc_report {
	struct al_cache_entry *removed; /* owned, in the order they went (oldest use first) */
	size_t n_removed;
	unsigned long long freed;
	size_t tmp_removed;	     /* leftovers older than AL_CACHE_TMP_AGE_S */
	unsigned long long before;   /* the entries' total before */
	struct al_cache_usage after; /* what is left */
};

/* Takes the cache's lock exclusively (wait false: -EBUSY when a runner holds it), removes
 * old leftovers, then evicts the least recently used entries until the rest take at most
 * max_bytes. An entry is renamed out of its name before it is removed, so a removal that
 * fails half way never leaves a partial entry to be used. */
int al_cache_gc(const char *root, const struct al_cache_gc_opts *o, struct al_cache_gc_report *ret,
		struct al_err *err);
void al_cache_gc_report_clear(struct al_cache_gc_report *r);
