/* Metrics: a handful of fixed series under one lock, rendered on each scrape. */
#include "metrics.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/buf.h"
#include "lib/fileio.h"
#include "lib/macros.h"
#include "lib/proc.h"
#include "server/store.h"

#define MAX_SERIES 96
#define MAX_DENIED 64
#define MAX_EGRESS 64

static const double bounds[AL_H_N][12] = {
    [AL_H_GATE] = {0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800},
    [AL_H_RUNNER] = {0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800},
    [AL_H_SANDBOX] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60},
    [AL_H_SPAWN] = {0.001, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1},
    [AL_H_POLICY] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
		     1},
    [AL_H_HTTP] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2},
};

static const struct {
	const char *name, *help;
} hist_names[AL_H_N] = {
    [AL_H_GATE] = {"airlock_gate_seconds", "A gate job, from claim to verdict."},
    [AL_H_RUNNER] = {"airlock_runner_seconds", "The runner process, from spawn to exit."},
    [AL_H_SANDBOX] = {"airlock_sandbox_run_seconds", "One sandboxed run, its wall clock."},
    [AL_H_SPAWN] = {"airlock_sandbox_spawn_seconds",
		    "A sandbox's set-up: namespaces, root, cgroups, filter, to the exec."},
    [AL_H_POLICY] = {"airlock_policy_eval_seconds",
		     "Policy evaluation: static rules, verdict and tier."},
    [AL_H_HTTP] = {"airlock_http_request_seconds", "One HTTP request, in to answer."},
};

/* One kind of the environment cache's entries. */
struct cache_series {
	unsigned long long hits, misses, evicted, bytes, entries;
};

struct hist {
	unsigned long long bucket[13]; /* the last is +Inf */
	unsigned long long count;
	double sum;
};

static struct {
	pthread_mutex_t mu;
	struct hist h[AL_H_N];
	struct {
		char route[40];
		int status;
		unsigned long long n;
	} http[MAX_SERIES];
	size_t n_http;
	unsigned long long http_other; /* past MAX_SERIES */
	struct {
		char name[32];
		unsigned long long n;
	} denied[MAX_DENIED];
	size_t n_denied;
	struct {
		char host[254]; /* "(other)" once MAX_EGRESS hosts are counted */
		bool allowed;
		unsigned long long n;
	} egress[MAX_EGRESS + 2];
	size_t n_egress;
	unsigned long long header_timeouts;
	unsigned long long quarantined, released;
	struct cache_series cache[AL_CACHE_KINDS];
	bool cache_sized;
} m = {.mu = PTHREAD_MUTEX_INITIALIZER};

double
al_metrics_now(void)
{
	return al_now_s();
}

void
al_metrics_observe(enum al_hist h, double seconds)
{
	size_t i;

	if ((unsigned)h >= AL_H_N)
		return;
	pthread_mutex_lock(&m.mu);
	for (i = 0; i < 12 && seconds > bounds[h][i]; i++)
		;
	m.h[h].bucket[i]++;
	m.h[h].count++;
	m.h[h].sum += seconds;
	pthread_mutex_unlock(&m.mu);
}

static int
is_id(const char *s, size_t n)
{
	return n == 32 && strspn(s, "0123456789abcdef") >= 32;
}

/* The route a path belongs to: ids made "{id}", anything unknown "other". */
static void
route_of(const char *path, char out[40])
{
	static const char *const fixed[] = {"/",
					    "/app.js",
					    "/dom.js",
					    "/diff.js",
					    "/app.css",
					    "/healthz",
					    "/metrics",
					    "/v1/keys",
					    "/v1/proposals",
					    "/v1/session",
					    "/v1/events",
					    "/v1/audit",
					    "/v1/webhooks/github"};
	static const char *const sub[] = {"approve", "reject", "revisions",
					  "grant",   "patch",  "promote"};
	const char *rest, *slash;

	for (size_t i = 0; i < AL_ARRAY_SIZE(fixed); i++)
		if (!strcmp(path, fixed[i])) {
			snprintf(out, 40, "%s", fixed[i]);
			return;
		}
	snprintf(out, 40, "other");
	if (strncmp(path, "/v1/proposals/", 14))
		return;
	rest = path + 14;
	slash = strchr(rest, '/');
	if (!is_id(rest, slash ? (size_t)(slash - rest) : strlen(rest)))
		return;
	if (!slash) {
		snprintf(out, 40, "/v1/proposals/{id}");
		return;
	}
	for (size_t i = 0; i < AL_ARRAY_SIZE(sub); i++)
		if (!strcmp(slash + 1, sub[i])) {
			snprintf(out, 40, "/v1/proposals/{id}/%s", sub[i]);
			return;
		}
}

void
al_metrics_http(const char *path, int status, double seconds)
{
	char route[40];
	size_t i;

	route_of(path ? path : "", route);
	al_metrics_observe(AL_H_HTTP, seconds);
	pthread_mutex_lock(&m.mu);
	for (i = 0; i < m.n_http; i++)
		if (m.http[i].status == status && !strcmp(m.http[i].route, route))
			break;
	if (i == m.n_http && m.n_http < MAX_SERIES) {
		snprintf(m.http[i].route, sizeof(m.http[i].route), "%s", route);
		m.http[i].status = status;
		m.n_http++;
	}
	if (i < m.n_http)
		m.http[i].n++;
	else
		m.http_other++;
	pthread_mutex_unlock(&m.mu);
}

void
al_metrics_denied(const char *syscall, long long count)
{
	size_t i, n = strlen(syscall);

	/* a syscall name from the runner's record: letters, digits, _ and "(other)" */
	if (count <= 0 || n == 0 || n >= sizeof(m.denied[0].name) ||
	    strspn(syscall, "abcdefghijklmnopqrstuvwxyz0123456789_()") != n)
		return;
	pthread_mutex_lock(&m.mu);
	for (i = 0; i < m.n_denied && strcmp(m.denied[i].name, syscall); i++)
		;
	if (i == m.n_denied && m.n_denied < MAX_DENIED) {
		memcpy(m.denied[i].name, syscall, n + 1);
		m.n_denied++;
	}
	if (i < m.n_denied)
		m.denied[i].n += (unsigned long long)count;
	pthread_mutex_unlock(&m.mu);
}

void
al_metrics_egress(const char *host, const char *decision)
{
	bool allowed = decision && strcmp(decision, "allowed") == 0;
	size_t i, n = host ? strlen(host) : 0;

	/* the proxy normalised it: [a-z0-9.-], or "-"; anything else counts as "(other)" */
	if (n == 0 || n >= sizeof(m.egress[0].host) ||
	    strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n)
		host = "(other)", n = strlen(host);
	pthread_mutex_lock(&m.mu);
	for (i = 0; i < m.n_egress; i++)
		if (m.egress[i].allowed == allowed && !strcmp(m.egress[i].host, host))
			break;
	if (i == m.n_egress && m.n_egress >= MAX_EGRESS && strcmp(host, "(other)")) {
		host = "(other)", n = strlen(host);
		for (i = 0; i < m.n_egress; i++)
			if (m.egress[i].allowed == allowed && !strcmp(m.egress[i].host, host))
				break;
	}
	if (i == m.n_egress && i < AL_ARRAY_SIZE(m.egress)) {
		memcpy(m.egress[i].host, host, n + 1);
		m.egress[i].allowed = allowed;
		m.n_egress++;
	}
	if (i < m.n_egress)
		m.egress[i].n++;
	pthread_mutex_unlock(&m.mu);
}

void
al_metrics_conn_cut(unsigned n)
{
	pthread_mutex_lock(&m.mu);
	m.header_timeouts += n;
	pthread_mutex_unlock(&m.mu);
}

void
al_metrics_quarantine(bool release)
{
	pthread_mutex_lock(&m.mu);
	if (release)
		m.released++;
	else
		m.quarantined++;
	pthread_mutex_unlock(&m.mu);
}

void
al_metrics_cache_use(enum al_cache_kind k, long long hits, long long misses)
{
	if ((unsigned)k >= AL_CACHE_KINDS || hits < 0 || misses < 0)
		return;
	pthread_mutex_lock(&m.mu);
	m.cache[k].hits += (unsigned long long)hits;
	m.cache[k].misses += (unsigned long long)misses;
	pthread_mutex_unlock(&m.mu);
}

void
al_metrics_cache_evicted(enum al_cache_kind k, unsigned long long n)
{
	if ((unsigned)k >= AL_CACHE_KINDS)
		return;
	pthread_mutex_lock(&m.mu);
	m.cache[k].evicted += n;
	pthread_mutex_unlock(&m.mu);
}

void
al_metrics_cache_size(const unsigned long long bytes[AL_CACHE_KINDS],
		      const size_t count[AL_CACHE_KINDS])
{
	pthread_mutex_lock(&m.mu);
	for (size_t k = 0; k < AL_CACHE_KINDS; k++) {
		m.cache[k].bytes = bytes[k];
		m.cache[k].entries = count[k];
	}
	m.cache_sized = true;
	pthread_mutex_unlock(&m.mu);
}

/* One family of the cache's series, a line per kind (under m.mu). */
static void
render_cache_family(struct al_buf *b, const char *name, const char *type, const char *help,
		    size_t field)
{
	al_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
	for (size_t k = 0; k < AL_CACHE_KINDS; k++)
		al_buf_printf(b, "%s{kind=\"%s\"} %llu\n", name,
			      al_cache_kind_name((enum al_cache_kind)k),
			      *(const unsigned long long *)((const char *)&m.cache[k] + field));
}

static void
render_cache(struct al_buf *b)
{
	if (m.cache_sized) {
		render_cache_family(b, "airlock_cache_bytes", "gauge",
				    "Bytes the environment cache's entries take on disk, by kind.",
				    offsetof(struct cache_series, bytes));
		render_cache_family(b, "airlock_cache_entries", "gauge",
				    "Entries in the environment cache, by kind.",
				    offsetof(struct cache_series, entries));
	}
	render_cache_family(b, "airlock_cache_hits_total", "counter",
			    "Cache entries a job's runner found and used, by kind.",
			    offsetof(struct cache_series, hits));
	render_cache_family(b, "airlock_cache_misses_total", "counter",
			    "Cache entries a job's runner had to build, by kind.",
			    offsetof(struct cache_series, misses));
	render_cache_family(b, "airlock_cache_evictions_total", "counter",
			    "Cache entries evicted to keep the cache under cache.max_mb, by kind.",
			    offsetof(struct cache_series, evicted));
}

/* The names quarantined now (read from the store, so a release by the CLI shows), and the
 * steps this server took. */
static void
render_quarantine(struct al_buf *b, struct al_store *s, unsigned long long q,
		  unsigned long long rel)
{
	json_t *list = NULL;

	if (al_store_quarantine_list(s, NULL, &list, NULL) == 0)
		al_buf_printf(b,
			      "# HELP airlock_quarantined_tokens Token names quarantined now.\n"
			      "# TYPE airlock_quarantined_tokens gauge\n"
			      "airlock_quarantined_tokens %zu\n",
			      json_array_size(list));
	json_decref(list);
	al_buf_printf(b,
		      "# HELP airlock_quarantine_events_total Tokens quarantined, and released"
		      " over the API.\n"
		      "# TYPE airlock_quarantine_events_total counter\n"
		      "airlock_quarantine_events_total{event=\"quarantine\"} %llu\n"
		      "airlock_quarantine_events_total{event=\"release\"} %llu\n",
		      q, rel);
}

static void
render_hist(struct al_buf *b, enum al_hist h, const struct hist *v)
{
	unsigned long long cum = 0;

	al_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", hist_names[h].name,
		      hist_names[h].help, hist_names[h].name);
	for (size_t i = 0; i < 12; i++) {
		cum += v->bucket[i];
		al_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", hist_names[h].name, bounds[h][i],
			      cum);
	}
	al_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
		      hist_names[h].name, v->count, hist_names[h].name, v->sum, hist_names[h].name,
		      v->count);
}

/* What the running jobs' checkouts hold on the data dir's disk; the runs' own writes never
 * land there (their disk is a tmpfs inside the sandbox). A walk that meets a directory
 * being removed starts over; one that keeps failing leaves the gauge out. */
static void
render_jobs_disk(struct al_buf *b, const char *jobs_dir)
{
	unsigned long long bytes = 0;
	int r = -ESTALE;

	for (int tries = 0; r == -ESTALE && tries < 3; tries++)
		r = al_du(jobs_dir, &bytes);
	if (r < 0 && r != -ENOENT) /* none: no job has run yet */
		return;
	al_buf_printf(b,
		      "# HELP airlock_jobs_disk_bytes Bytes the job directories (DATA/jobs) take "
		      "on disk.\n"
		      "# TYPE airlock_jobs_disk_bytes gauge\nairlock_jobs_disk_bytes %llu\n",
		      bytes);
}

char *
al_metrics_render(struct al_store *s, struct al_views *views, const char *jobs_dir, size_t *ret_len)
{
	json_t *counts = NULL;
	struct al_buf b;
	struct hist h[AL_H_N];
	unsigned long long hits, misses, quarantined, released;

	al_buf_init(&b, 1u << 20);
	if (al_store_state_counts(s, &counts, NULL) == 0) {
		al_buf_printf(&b, "# HELP airlock_proposals Proposals by state.\n"
				  "# TYPE airlock_proposals gauge\n");
		for (int i = 0; i < AL_PROPOSAL_STATE_N; i++) {
			const char *state = al_store_state_name(i);

			al_buf_printf(
			    &b, "airlock_proposals{state=\"%s\"} %lld\n", state,
			    (long long)json_integer_value(json_object_get(counts, state)));
		}
		al_buf_printf(&b,
			      "# HELP airlock_queue_depth Proposals waiting for a runner.\n"
			      "# TYPE airlock_queue_depth gauge\nairlock_queue_depth %lld\n",
			      (long long)json_integer_value(json_object_get(counts, "queued")));
		json_decref(counts);
	}
	pthread_mutex_lock(&m.mu);
	memcpy(h, m.h, sizeof(h));
	al_buf_printf(&b, "# HELP airlock_http_requests_total HTTP requests by route and status.\n"
			  "# TYPE airlock_http_requests_total counter\n");
	for (size_t i = 0; i < m.n_http; i++)
		al_buf_printf(&b, "airlock_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
			      m.http[i].route, m.http[i].status, m.http[i].n);
	if (m.http_other)
		al_buf_printf(
		    &b, "airlock_http_requests_total{route=\"other\",status=\"other\"} %llu\n",
		    m.http_other);
	al_buf_printf(&b,
		      "# HELP airlock_seccomp_denied_total Syscalls the sandbox denied, by name.\n"
		      "# TYPE airlock_seccomp_denied_total counter\n");
	for (size_t i = 0; i < m.n_denied; i++)
		al_buf_printf(&b, "airlock_seccomp_denied_total{syscall=\"%s\"} %llu\n",
			      m.denied[i].name, m.denied[i].n);
	al_buf_printf(&b, "# HELP airlock_egress_connections_total Connections out of sandboxes "
			  "through the egress proxy, by host and decision.\n"
			  "# TYPE airlock_egress_connections_total counter\n");
	for (size_t i = 0; i < m.n_egress; i++)
		al_buf_printf(
		    &b, "airlock_egress_connections_total{host=\"%s\",decision=\"%s\"} %llu\n",
		    m.egress[i].host, m.egress[i].allowed ? "allowed" : "denied", m.egress[i].n);
	al_buf_printf(&b,
		      "# HELP airlock_http_header_timeouts_total Connections cut for not sending "
		      "a request's headers within limits.header_timeout_s.\n"
		      "# TYPE airlock_http_header_timeouts_total counter\n"
		      "airlock_http_header_timeouts_total %llu\n",
		      m.header_timeouts);
	quarantined = m.quarantined;
	released = m.released;
	render_cache(&b);
	pthread_mutex_unlock(&m.mu);
	render_quarantine(&b, s, quarantined, released);
	for (int i = 0; i < AL_H_N; i++)
		render_hist(&b, (enum al_hist)i, &h[i]);
	render_jobs_disk(&b, jobs_dir);
	al_views_counts(views, &hits, &misses);
	al_buf_printf(&b,
		      "# HELP airlock_view_cache_total Proposal view reads served from the cache "
		      "(hit) or rendered (miss).\n"
		      "# TYPE airlock_view_cache_total counter\n"
		      "airlock_view_cache_total{result=\"hit\"} %llu\n"
		      "airlock_view_cache_total{result=\"miss\"} %llu\n",
		      hits, misses);
	return al_buf_steal(&b, ret_len);
}
