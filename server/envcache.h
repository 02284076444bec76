/* The environment cache seen from the server (docs/operations.md, "The environment
 * cache"): each stored result's hits and misses counted, eviction after a job when the
 * cache is over cache.max_mb, the sizes /metrics shows, and the removal of entries the
 * sandbox's ids own. */
#pragma once

#include <jansson.h>

#include "image/cache-gc.h"
#include "server/config.h"

/* The sizes of the cache at dir, walked once in a thread of their own (for /metrics from
 * the start, without holding up the server's start-up). */
void al_envcache_start(const char *dir);
/* A runner's result as it is loaded: the entries it found (hits) and built (misses). */
void al_envcache_count(const json_t *result);
/* After a job's result is stored: the cache measured and, over its cap, evicted down to it
 * without waiting (a runner holding the cache: nothing now, a later job tries again).
 * self_exe removes what only the sandbox's ids may. */
void al_envcache_after_job(const char *self_exe, const struct al_config *cfg);
/* A gc remover (struct al_cache_gc_opts): al_rm_rf, and when that fails for a server not
 * running as root, `airlock runner --remove PATH` (ctx: the binary), whose namespace maps
 * the sandbox's ids. */
int al_envcache_remove(const char *path, void *ctx);
/* A cap in MiB, in bytes. */
unsigned long long al_envcache_max_bytes(long long max_mb);
