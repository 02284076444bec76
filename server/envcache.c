/* The environment cache seen from the server (server/envcache.h). */
#include "server/envcache.h"

#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/log.h"
#include "server/metrics.h"

extern char **environ;

/* A result's counts are the runner's word: a count past this is not believed. */
#define MAX_COUNT 64

/* The sizes last measured: entries never change, so a later walk reuses them. */
static struct {
	pthread_mutex_t mu;
	char *dir; /* owned: the cache they belong to */
	struct al_cache_usage known;
} st = {.mu = PTHREAD_MUTEX_INITIALIZER};

unsigned long long
al_envcache_max_bytes(long long max_mb)
{
	return max_mb < 0 ? 0 : (unsigned long long)max_mb << 20;
}

int
al_envcache_remove(const char *path, void *ctx)
{
	char *argv[] = {"airlock", "runner", "--remove", (char *)path, NULL};
	const char *self_exe = ctx;
	int r = al_rm_rf(path), status;
	pid_t pid;

	if (r == 0 || geteuid() == 0 || !self_exe || access(path, F_OK) < 0)
		return r;
	if (posix_spawn(&pid, self_exe, NULL, NULL, argv, environ) != 0)
		return r;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return r;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : r;
}

static void
use_one(enum al_cache_kind k, const json_t *how)
{
	const char *s = json_string_value(how);

	if (s && !strcmp(s, "hit"))
		al_metrics_cache_use(k, 1, 0);
	else if (s && !strcmp(s, "built"))
		al_metrics_cache_use(k, 0, 1);
}

static long long
count_of(const json_t *v)
{
	json_int_t n = json_integer_value(v);

	return json_is_integer(v) && n >= 0 && n <= MAX_COUNT ? n : 0;
}

/* "environment": {"unpack"}, "setup": {"layer"}: "hit" or "built"; "trees": {"hit",
 * "written"}: counts. */
void
al_envcache_count(const json_t *result)
{
	const json_t *trees = json_object_get(result, "trees");

	use_one(AL_CACHE_IMAGE, json_object_get(json_object_get(result, "environment"), "unpack"));
	use_one(AL_CACHE_SETUP, json_object_get(json_object_get(result, "setup"), "layer"));
	al_metrics_cache_use(AL_CACHE_TREE, count_of(json_object_get(trees, "hit")),
			     count_of(json_object_get(trees, "written")));
}

/* Takes u as the sizes known for dir (under st.mu). */
static void
known_set(const char *dir, struct al_cache_usage *u)
{
	al_cache_usage_clear(&st.known);
	st.known = *u;
	*u = (struct al_cache_usage){0};
	if (!st.dir || strcmp(st.dir, dir)) {
		free(st.dir);
		st.dir = strdup(dir);
	}
	al_metrics_cache_size(st.known.bytes, st.known.count);
}

/* Measures the cache (under st.mu); -errno. */
static int
measure(const char *dir, struct al_err *err)
{
	struct al_cache_usage u;
	bool same = st.dir && !strcmp(st.dir, dir);
	int r = al_cache_scan(dir, same ? &st.known : NULL, &u, err);

	if (r == 0)
		known_set(dir, &u);
	return r;
}

static void
evict(const char *self_exe, const struct al_config *cfg)
{
	struct al_cache_gc_opts o = {.max_bytes = al_envcache_max_bytes(cfg->cache_max_mb),
				     .remove = al_envcache_remove,
				     .ctx = (void *)self_exe,
				     .prev = &st.known};
	struct al_cache_gc_report rep;
	struct al_err err = {0};
	int r = al_cache_gc(cfg->cache_dir, &o, &rep, &err);

	if (r == -EBUSY) {
		al_log("info", "cache.gc_deferred", "dir=%s reason=%s", al_log_q(cfg->cache_dir),
		       al_log_q("a job holds the cache"));
		return;
	}
	if (r < 0) {
		al_log("error", "cache.gc_failed", "dir=%s error=%s", al_log_q(cfg->cache_dir),
		       al_log_q(al_err_msg(&err)));
		return;
	}
	for (size_t i = 0; i < rep.n_removed; i++)
		al_metrics_cache_evicted(rep.removed[i].kind, 1);
	al_log("info", "cache.evicted", "dir=%s entries=%zu freed=%llu left=%llu max=%llu",
	       al_log_q(cfg->cache_dir), rep.n_removed, rep.freed, rep.after.total, o.max_bytes);
	known_set(cfg->cache_dir, &rep.after);
	al_cache_gc_report_clear(&rep);
}

void
al_envcache_after_job(const char *self_exe, const struct al_config *cfg)
{
	struct al_err err = {0};

	/* another worker is at it already: one measure at a time is enough */
	if (!cfg || !cfg->cache_dir || pthread_mutex_trylock(&st.mu) != 0)
		return;
	if (measure(cfg->cache_dir, &err) < 0)
		al_log("error", "cache.measure_failed", "dir=%s error=%s", al_log_q(cfg->cache_dir),
		       al_log_q(al_err_msg(&err)));
	else if (st.known.total > al_envcache_max_bytes(cfg->cache_max_mb))
		evict(self_exe, cfg);
	pthread_mutex_unlock(&st.mu);
}

static void *
first_measure(void *arg)
{
	char *dir = arg;
	struct al_err err = {0};

	pthread_mutex_lock(&st.mu);
	if (measure(dir, &err) < 0)
		al_log("error", "cache.measure_failed", "dir=%s error=%s", al_log_q(dir),
		       al_log_q(al_err_msg(&err)));
	pthread_mutex_unlock(&st.mu);
	free(dir);
	return NULL;
}

void
al_envcache_start(const char *dir)
{
	char *copy = strdup(dir);
	pthread_attr_t a;
	pthread_t t;

	if (!copy)
		return;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &a, first_measure, copy) != 0)
		free(copy);
	pthread_attr_destroy(&a);
}
