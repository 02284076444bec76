/* Rendered proposal views, kept while nothing they were built from can have changed. */
#pragma once

#include <pthread.h>
#include <stddef.h>

#include "server/store.h"

/* What a view was built from: the store's generation and the configuration's (policy,
 * keyring).  A view also depends on the clock (a grant's or a key's expiry): it is kept
 * for AL_VIEW_TTL_MS at most. */
struct al_view_stamp {
	struct al_store_gen store;
	unsigned long config;
};

#define AL_VIEW_SLOTS 128
#define AL_VIEW_MAX_BYTES (32u << 10) /* a larger view is rendered at each read */
#define AL_VIEW_TTL_MS 1000

struct al_views {
	pthread_mutex_t mu;
	struct al_view {
		char id[33]; /* "" when empty */
		struct al_view_stamp stamp;
		long long built_ms; /* CLOCK_MONOTONIC */
		char *body;	    /* owned */
		size_t len;
	} slot[AL_VIEW_SLOTS];
	unsigned long long hits, misses;
};

void al_views_init(struct al_views *v);
void al_views_free(struct al_views *v);
/* A copy of id's view when one built from stamp is kept and young enough: 0, *ret_body
 * (malloc'd, the caller's) and *ret_len; -ENOENT when not; -ENOMEM. */
int al_views_get(struct al_views *v, const char *id, const struct al_view_stamp *stamp,
		 char **ret_body, size_t *ret_len);
/* Keeps a copy of id's view built from stamp (taken before anything it shows was read). */
void al_views_put(struct al_views *v, const char *id, const struct al_view_stamp *stamp,
		  const char *body, size_t len);
/* Hits and misses so far. */
void al_views_counts(struct al_views *v, unsigned long long *hits, unsigned long long *misses);
