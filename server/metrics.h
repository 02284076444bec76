/* Counters and histograms for GET /metrics (Prometheus text format 0.0.4). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "image/cache.h"
#include "server/views.h"

struct al_store;

enum al_hist {
	AL_H_GATE,    /* a job, claim to verdict */
	AL_H_RUNNER,  /* the runner process, spawn to exit */
	AL_H_SANDBOX, /* one sandboxed run, its wall clock */
	AL_H_SPAWN,   /* a sandbox's set-up, to the command's exec */
	AL_H_POLICY,  /* judging: the static rules, the verdict and the tier */
	AL_H_HTTP,    /* one request, headers in to answer queued */
	AL_H_N,
};

/* Both are cheap and thread-safe; labels are normalised (an id is "{id}", an unknown
 * route "other"), so the series stay few. */
void al_metrics_http(const char *path, int status, double seconds);
void al_metrics_observe(enum al_hist h, double seconds);
void al_metrics_denied(const char *syscall, long long count);
/* n connections were cut for not sending a request's headers in time. */
void al_metrics_conn_cut(unsigned n);
/* One connection through the egress proxy; at most 64 hosts get a series of their own. */
void al_metrics_egress(const char *host, const char *decision);
/* A token quarantined (false) or released over the API (true). */
void al_metrics_quarantine(bool release);
/* The environment cache: entries found (hits) and built (misses) by a job's runner, entries
 * evicted, and what each kind holds now (rendered once known). */
void al_metrics_cache_use(enum al_cache_kind k, long long hits, long long misses);
void al_metrics_cache_evicted(enum al_cache_kind k, unsigned long long n);
void al_metrics_cache_size(const unsigned long long bytes[AL_CACHE_KINDS],
			   const size_t count[AL_CACHE_KINDS]);
/* The whole exposition, proposals by state read from the store and the bytes under
 * jobs_dir (the runners' directories, walked now); NULL when out of memory. The caller
 * frees it. */
char *al_metrics_render(struct al_store *s, struct al_views *views, const char *jobs_dir,
			size_t *ret_len);
double al_metrics_now(void);
