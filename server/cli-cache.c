/* `airlock cache list` and `airlock cache gc`: the environment cache the server's
 * configuration names (cache.dir, DATA/cache by default), listed or evicted now
 * (docs/operations.md). Usage errors exit 64, a cache in use by a job 75 (EX_TEMPFAIL). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "image/cache-gc.h"
#include "server/cli.h"
#include "server/config.h"
#include "server/envcache.h"

#define EXIT_USAGE 64
#define EXIT_BUSY 75

struct cache_opts {
	const char *config, *data;
	bool json, wait;
	long long max_mb; /* -1: the configuration's */
};

static int
usage_error(const char *what)
{
	fprintf(stderr, "airlock: cache: %s (airlock help cache)\n", what);
	return EXIT_USAGE;
}

static int
parse_max_mb(const char *s, long long *ret)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || *end || n < 0 || n > AL_CACHE_MAX_MB_LIMIT)
		return -EINVAL;
	*ret = n;
	return 0;
}

static int
cache_parse(int argc, char **argv, bool gc, struct cache_opts *o)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"data", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},	      {"max-mb", required_argument, NULL, 'm'},
	    {"wait", no_argument, NULL, 'w'},	      {NULL, 0, NULL, 0}};
	int c;

	*o = (struct cache_opts){.max_mb = -1};
	optind = 1;
	opterr = 0; /* one line of our own instead */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'c') {
			o->config = optarg;
		} else if (c == 'd') {
			o->data = optarg;
		} else if (c == 'j' && !gc) {
			o->json = true;
		} else if (c == 'w' && gc) {
			o->wait = true;
		} else if (c == 'm' && gc) {
			if (parse_max_mb(optarg, &o->max_mb) < 0)
				return usage_error("--max-mb: expected an integer 0..1073741824");
		} else if (c == 'j' || c == 'w' || c == 'm') {
			return usage_error(gc ? "--json: only for cache list"
					      : "--wait, --max-mb: only for cache gc");
		} else {
			return usage_error("unknown option, or one without its value");
		}
	}
	if (optind != argc)
		return usage_error("unexpected arguments");
	return 0;
}

/* 1.5 MiB: sizes as people read them. */
static void
human(unsigned long long bytes, char out[32])
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0]))
		v /= 1024, u++;
	if (u == 0)
		snprintf(out, 32, "%llu B", bytes);
	else
		snprintf(out, 32, "%.1f %s", v, units[u]);
}

static void
when(time_t t, char out[32])
{
	struct tm tm;

	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
}

static json_t *
usage_json(const char *dir, const struct al_cache_usage *u, unsigned long long max)
{
	json_t *list = json_array(), *kinds = json_object();
	char at[32];

	for (size_t i = 0; list && i < u->n; i++) {
		when(u->entries[i].used, at);
		json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:I, s:s}", "kind",
						      al_cache_kind_name(u->entries[i].kind),
						      "name", u->entries[i].name, "bytes",
						      (json_int_t)u->entries[i].bytes, "last_use",
						      (json_int_t)u->entries[i].used,
						      "last_use_utc", at));
	}
	for (size_t k = 0; kinds && k < AL_CACHE_KINDS; k++)
		json_object_set_new(kinds, al_cache_kind_name((enum al_cache_kind)k),
				    json_pack("{s:I, s:I}", "bytes", (json_int_t)u->bytes[k],
					      "entries", (json_int_t)u->count[k]));
	return json_pack("{s:s, s:I, s:I, s:o*, s:o*}", "dir", dir, "total_bytes",
			 (json_int_t)u->total, "max_bytes", (json_int_t)max, "kinds", kinds,
			 "entries", list);
}

static void
print_usage(const char *dir, const struct al_cache_usage *u, unsigned long long max)
{
	char size[32], at[32], total[32], cap[32];

	printf("%-7s %-64s %10s  %s\n", "KIND", "NAME", "SIZE", "LAST USE");
	for (size_t i = 0; i < u->n; i++) {
		human(u->entries[i].bytes, size);
		when(u->entries[i].used, at);
		printf("%-7s %-64s %10s  %s\n", al_cache_kind_name(u->entries[i].kind),
		       u->entries[i].name, size, at);
	}
	human(u->total, total);
	human(max, cap);
	printf("total %s in %zu entr%s (cap %s) in %s\n", total, u->n, u->n == 1 ? "y" : "ies", cap,
	       dir);
}

static int
cache_list(const struct al_config *cfg, const struct cache_opts *o)
{
	unsigned long long max = al_envcache_max_bytes(cfg->cache_max_mb);
	struct al_cache_usage u;
	struct al_err err = {0};
	char *text;

	if (al_cache_scan(cfg->cache_dir, NULL, &u, &err) < 0)
		return fprintf(stderr, "airlock: cache list: %s\n", al_err_msg(&err)), 1;
	if (o->json) {
		json_t *j = usage_json(cfg->cache_dir, &u, max);

		text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
		json_decref(j);
		if (text)
			printf("%s\n", text);
		free(text);
	} else {
		print_usage(cfg->cache_dir, &u, max);
	}
	al_cache_usage_clear(&u);
	return 0;
}

static int
cache_gc(const struct al_config *cfg, const struct cache_opts *o, const char *self_exe)
{
	struct al_cache_gc_opts g = {
	    .max_bytes = al_envcache_max_bytes(o->max_mb >= 0 ? o->max_mb : cfg->cache_max_mb),
	    .wait = o->wait,
	    .remove = al_envcache_remove,
	    .ctx = (void *)self_exe};
	struct al_cache_gc_report rep;
	struct al_err err = {0};
	char size[32], at[32], left[32], cap[32];
	int r = al_cache_gc(cfg->cache_dir, &g, &rep, &err);

	if (r == -EBUSY)
		return fprintf(stderr,
			       "airlock: cache gc: %s is in use by a running job: nothing was "
			       "removed (try again later, or --wait)\n",
			       cfg->cache_dir),
		       EXIT_BUSY;
	if (r < 0)
		return fprintf(stderr, "airlock: cache gc: %s\n", al_err_msg(&err)), 1;
	for (size_t i = 0; i < rep.n_removed; i++) {
		human(rep.removed[i].bytes, size);
		when(rep.removed[i].used, at);
		printf("removed %s/%s (%s, last used %s)\n",
		       al_cache_kind_name(rep.removed[i].kind), rep.removed[i].name, size, at);
	}
	human(rep.freed, size);
	human(rep.after.total, left);
	human(g.max_bytes, cap);
	printf("removed %zu entr%s (%s) and %zu leftover%s; %s left of %s in %s\n", rep.n_removed,
	       rep.n_removed == 1 ? "y" : "ies", size, rep.tmp_removed,
	       rep.tmp_removed == 1 ? "" : "s", left, cap, cfg->cache_dir);
	al_cache_gc_report_clear(&rep);
	return 0;
}

int
al_cli_cache(int argc, char **argv)
{
	const char *verb = argc > 1 ? argv[1] : "";
	bool gc = !strcmp(verb, "gc");
	struct al_config *cfg = NULL;
	struct cache_opts o;
	struct al_err err = {0};
	char self_exe[4096];
	ssize_t n;
	int r;

	if (!gc && strcmp(verb, "list"))
		return usage_error("expected list or gc");
	if ((r = cache_parse(argc - 1, argv + 1, gc, &o)) != 0)
		return r;
	if (al_config_load(o.config, NULL, o.data, &cfg, &err) < 0)
		return fprintf(stderr, "airlock: cache: %s\n", al_err_msg(&err)), 1;
	n = readlink("/proc/self/exe", self_exe, sizeof(self_exe) - 1);
	self_exe[n > 0 ? n : 0] = '\0';
	r = gc ? cache_gc(cfg, &o, n > 0 ? self_exe : NULL) : cache_list(cfg, &o);
	al_config_free(cfg);
	return r;
}
