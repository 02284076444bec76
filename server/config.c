#include "egress/proxy.h"
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "server/intake.h"

#define CONFIG_MAX_BYTES (4u << 20)
#define MAX_REPOS 256

void
al_config_free(struct al_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_repos; i++) {
		if (c->repos[i].github) {
			free(c->repos[i].github->full_name);
			free(c->repos[i].github->secret_file);
			free(c->repos[i].github->remote);
			free(c->repos[i].github);
		}
		free(c->repos[i].name);
		free(c->repos[i].path);
		al_policy_free(c->repos[i].policy);
	}
	free(c->repos);
	free(c->listen);
	free(c->data);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->github_api);
	free(c->github_token_file);
	free(c->public_url);
	free(c->cache_dir);
	free(c);
}

static void
config_freep(struct al_config **c)
{
	al_config_free(*c);
}

const struct al_repo_conf *
al_config_repo(const struct al_config *c, const char *name)
{
	for (size_t i = 0; i < c->n_repos; i++)
		if (strcmp(c->repos[i].name, name) == 0)
			return &c->repos[i];
	return NULL;
}

static int
repo_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-')
		return 0;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Absolute path of p, taking a relative one from dir; the target need not exist. */
static char *
anchor(const char *dir, const char *p)
{
	if (p[0] == '/' || !dir)
		return strdup(p);
	return al_path_join(dir, p);
}

static int
listen_valid(const char *s)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long port;

	if (!colon || colon == s)
		return 0;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	/* port 0: the kernel picks a free one, which the server then prints */
	return errno == 0 && *end == '\0' && colon[1] && port >= 0 && port < 65536;
}

static int
full_name_valid(const char *s)
{
	const char *slash = strchr(s, '/');
	size_t n = strlen(s);

	return n >= 3 && n <= 140 && slash && slash != s && slash[1] && !strchr(slash + 1, '/') &&
	       s[0] != '.' && slash[1] != '.' &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/") == n;
}

/* {"repo": "owner/name", "secret_file": FILE, "remote": URL} */
static int
parse_github_repo(struct al_repo_conf *r, const char *name, json_t *v, const char *dir,
		  struct al_err *err)
{
	static const char *const keys[] = {"repo", "secret_file", "remote"};
	const char *key;
	json_t *val;

	if (!json_is_object(v))
		return al_err_set(err, -EINVAL, "repos.%s.github: expected an object", name);
	json_object_foreach (v, key, val) {
		size_t i;

		for (i = 0; i < AL_ARRAY_SIZE(keys) && strcmp(key, keys[i]); i++)
			;
		if (i == AL_ARRAY_SIZE(keys))
			return al_err_set(err, -EINVAL, "repos.%s.github.%.64s: unknown key", name,
					  key);
		if (!json_is_string(val) || !json_string_length(val))
			return al_err_set(err, -EINVAL, "repos.%s.github.%s: expected a string",
					  name, key);
	}
	for (size_t i = 0; i < AL_ARRAY_SIZE(keys); i++)
		if (!json_object_get(v, keys[i]))
			return al_err_set(err, -EINVAL, "repos.%s.github.%s: missing", name,
					  keys[i]);
	if (!full_name_valid(json_string_value(json_object_get(v, "repo"))))
		return al_err_set(err, -EINVAL, "repos.%s.github.repo: expected \"owner/name\"",
				  name);
	r->github = calloc(1, sizeof(*r->github));
	if (!r->github)
		return al_err_set(err, -ENOMEM, "out of memory");
	r->github->full_name = strdup(json_string_value(json_object_get(v, "repo")));
	r->github->secret_file = anchor(dir, json_string_value(json_object_get(v, "secret_file")));
	r->github->remote = strdup(json_string_value(json_object_get(v, "remote")));
	if (!r->github->full_name || !r->github->secret_file || !r->github->remote)
		return al_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* {"api_base_url": URL, "token_file": FILE} */
static int
parse_github(struct al_config *c, json_t *v, const char *dir, struct al_err *err)
{
	const char *key;
	json_t *val;

	if (!json_is_object(v))
		return al_err_set(err, -EINVAL, "github: expected an object");
	json_object_foreach (v, key, val) {
		if (strcmp(key, "api_base_url") && strcmp(key, "token_file"))
			return al_err_set(err, -EINVAL, "github.%.64s: unknown key", key);
		if (!json_is_string(val) || !json_string_length(val))
			return al_err_set(err, -EINVAL, "github.%s: expected a string", key);
	}
	if ((val = json_object_get(v, "api_base_url"))) {
		const char *u = json_string_value(val);

		if (strncmp(u, "https://", 8) && strncmp(u, "http://", 7))
			return al_err_set(err, -EINVAL,
					  "github.api_base_url: expected an http(s) URL");
		free(c->github_api);
		c->github_api = strdup(u);
		if (c->github_api && c->github_api[strlen(c->github_api) - 1] == '/')
			c->github_api[strlen(c->github_api) - 1] = '\0';
	}
	if ((val = json_object_get(v, "token_file"))) {
		free(c->github_token_file);
		c->github_token_file = anchor(dir, json_string_value(val));
	}
	if (!c->github_api || (json_object_get(v, "token_file") && !c->github_token_file))
		return al_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* The policy with the operator's egress bundles (top-level "egress_bundles") added to its
 * egress.gate, so that "@name" works in every repository and the digest covers the hosts
 * a bundle stands for. A name defined in both places is an error. NULL: out of memory or
 * refused (err says which). */
/* The server's bundles copied into one phase's egress (gate or setup), when it has one. */
static int
phase_bundles(json_t *p, const char *phase, const json_t *bundles, const char *where,
	      struct al_err *err)
{
	json_t *eg = json_object_get(json_object_get(p, "egress"), phase), *own, *v;
	const char *name;

	if (!json_is_object(eg))
		return 0;
	own = json_object_get(eg, "bundles");
	if (!own)
		json_object_set_new(eg, "bundles", own = json_object());
	json_object_foreach ((json_t *)bundles, name, v) {
		if (!json_is_object(own) || json_object_get(own, name))
			return al_err_set(err, -EINVAL,
					  "%s.egress.%s.bundles.%.64s: also in egress_bundles",
					  where, phase, name);
		json_object_set(own, name, v);
	}
	return 0;
}

static json_t *
with_bundles(const json_t *policy, const json_t *bundles, const char *where, struct al_err *err)
{
	json_t *p = json_deep_copy(policy);

	if (!p)
		return al_err_set(err, -ENOMEM, "out of memory"), NULL;
	if (bundles && (phase_bundles(p, "gate", bundles, where, err) < 0 ||
			phase_bundles(p, "setup", bundles, where, err) < 0)) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static int
parse_repo(struct al_config *c, const char *name, json_t *v, const char *dir, const json_t *bundles,
	   struct al_err *err)
{
	struct al_repo_conf *r = &c->repos[c->n_repos];
	char where[128];
	const char *key;
	json_t *val;
	int rc;
	struct stat st;

	if (!repo_name_valid(name))
		return al_err_set(err, -EINVAL, "repos.%.64s: invalid repository name", name);
	if (!json_is_object(v))
		return al_err_set(err, -EINVAL, "repos.%s: expected an object", name);
	json_object_foreach (v, key, val) {
		if (strcmp(key, "path") && strcmp(key, "policy") && strcmp(key, "github"))
			return al_err_set(err, -EINVAL, "repos.%s.%.64s: unknown key", name, key);
	}
	val = json_object_get(v, "path");
	if (!json_is_string(val) || !json_string_length(val))
		return al_err_set(err, -EINVAL, "repos.%s.path: expected a non-empty string", name);
	snprintf(where, sizeof(where), "repos.%s.policy", name);
	if (!json_object_get(v, "policy"))
		return al_err_set(err, -EINVAL, "%s: missing", where);
	r->name = strdup(name);
	r->path = anchor(dir, json_string_value(val));
	c->n_repos++; /* owned fields are freed with the config from here on */
	if (!r->name || !r->path)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (stat(r->path, &st) < 0 || !S_ISDIR(st.st_mode))
		return al_err_set(err, -ENOENT, "repos.%s.path: %s is not a directory", name,
				  r->path);
	if (json_object_get(v, "github") &&
	    parse_github_repo(r, name, json_object_get(v, "github"), dir, err) < 0)
		return -EINVAL;
	val = with_bundles(json_object_get(v, "policy"), bundles, where, err);
	if (!val)
		return err && err->code ? err->code : -ENOMEM;
	rc = al_policy_parse(val, where, &r->policy, err);
	json_decref(val);
	return rc;
}

/* {"name": ["host", "*.suffix"], ...}: checked as the proxy will read them. */
static int
parse_bundles(const json_t *v, struct al_err *err)
{
	json_t *o = json_pack("{s:O}", "bundles", v);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	struct al_err e = {0};
	int r;

	json_decref(o);
	if (!text)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_proxy_conf_check(text, strlen(text), &e);
	free(text);
	return r < 0 ? al_err_set(err, r, "egress_bundles: %s", al_err_msg(&e)) : 0;
}

/* {"cert": PEM file, "key": PEM file} */
static int
parse_tls(struct al_config *c, json_t *v, const char *dir, struct al_err *err)
{
	const char *key;
	json_t *val;

	if (!json_is_object(v))
		return al_err_set(err, -EINVAL, "tls: expected {\"cert\": FILE, \"key\": FILE}");
	json_object_foreach (v, key, val) {
		if (strcmp(key, "cert") && strcmp(key, "key"))
			return al_err_set(err, -EINVAL, "tls.%.64s: unknown key", key);
		if (!json_is_string(val) || !json_string_length(val))
			return al_err_set(err, -EINVAL, "tls.%s: expected a file path", key);
	}
	if (!json_object_get(v, "cert") || !json_object_get(v, "key"))
		return al_err_set(err, -EINVAL, "tls: needs both cert and key");
	free(c->tls_cert);
	free(c->tls_key);
	c->tls_cert = anchor(dir, json_string_value(json_object_get(v, "cert")));
	c->tls_key = anchor(dir, json_string_value(json_object_get(v, "key")));
	if (!c->tls_cert || !c->tls_key)
		return al_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

/* {"dir": DIR, "max_mb": N}: the environment cache (docs/operations.md). */
static int
parse_cache(struct al_config *c, json_t *v, const char *dir, struct al_err *err)
{
	const char *key;
	json_t *val;

	if (!json_is_object(v))
		return al_err_set(err, -EINVAL, "cache: expected {\"dir\": DIR, \"max_mb\": N}");
	json_object_foreach (v, key, val) {
		if (strcmp(key, "dir") && strcmp(key, "max_mb"))
			return al_err_set(err, -EINVAL, "cache.%.64s: unknown key", key);
	}
	if ((val = json_object_get(v, "dir"))) {
		if (!json_is_string(val) || !json_string_length(val))
			return al_err_set(err, -EINVAL, "cache.dir: expected a directory path");
		free(c->cache_dir);
		if (!(c->cache_dir = anchor(dir, json_string_value(val))))
			return al_err_set(err, -ENOMEM, "out of memory");
	}
	if ((val = json_object_get(v, "max_mb"))) {
		if (!json_is_integer(val) || json_integer_value(val) < 0 ||
		    json_integer_value(val) > AL_CACHE_MAX_MB_LIMIT)
			return al_err_set(err, -EINVAL, "cache.max_mb: expected an integer 0..%lld",
					  AL_CACHE_MAX_MB_LIMIT);
		c->cache_max_mb = json_integer_value(val);
	}
	return 0;
}

/* a below b or b itself, by path components */
static int
path_holds(const char *a, const char *b)
{
	size_t n = strlen(a);

	while (n > 1 && a[n - 1] == '/')
		n--;
	if (n == 1 && a[0] == '/')
		return 1;
	return !strncmp(a, b, n) && (b[n] == '\0' || b[n] == '/');
}

/* Runners keep the cache directory writable over what they hide (runner/confine.c): it may
 * not hold any of those. */
static int
cache_check(const struct al_config *c, const char *config_path, struct al_err *err)
{
	const char *hidden[] = {c->data, config_path, c->tls_key, c->github_token_file};

	for (size_t i = 0; i < AL_ARRAY_SIZE(hidden); i++)
		if (hidden[i] && path_holds(c->cache_dir, hidden[i]))
			return al_err_set(err, -EINVAL,
					  "cache.dir: %s holds %s, which runners must not see",
					  c->cache_dir, hidden[i]);
	for (size_t i = 0; i < c->n_repos; i++)
		if (path_holds(c->cache_dir, c->repos[i].path) ||
		    (c->repos[i].github &&
		     path_holds(c->cache_dir, c->repos[i].github->secret_file)))
			return al_err_set(
			    err, -EINVAL,
			    "cache.dir: %s holds repository %s's files, which runners "
			    "must not write",
			    c->cache_dir, c->repos[i].name);
	return 0;
}

/* The integer settings with their ranges; each is documented in docs/operations.md. */
static const struct int_key {
	const char *name;
	long long min, max;
	size_t off; /* in struct al_limits */
} int_keys[] = {
    {"max_queued", 1, 100000, offsetof(struct al_limits, max_queued)},
    {"submit_per_minute", 0, 100000, offsetof(struct al_limits, submit_per_minute)},
    {"submit_burst", 1, 10000, offsetof(struct al_limits, submit_burst)},
    {"shutdown_grace_s", 0, 3600, offsetof(struct al_limits, shutdown_grace_s)},
    {"connection_timeout_s", 1, 3600, offsetof(struct al_limits, conn_timeout_s)},
    {"header_timeout_s", 1, 3600, offsetof(struct al_limits, header_timeout_s)},
    {"max_connections", 4, 4096, offsetof(struct al_limits, max_connections)},
    {"max_connections_per_address", 1, 2048, offsetof(struct al_limits, max_per_address)},
    {"max_header_bytes", 8192, 1 << 20, offsetof(struct al_limits, max_header_bytes)},
    {"max_json_depth", 2, 64, offsetof(struct al_limits, max_json_depth)},
    {"max_json_string_bytes", 64, 1 << 20, offsetof(struct al_limits, max_json_string)},
    {"max_json_array", 1, 100000, offsetof(struct al_limits, max_json_array)},
    /* at most the intake's own ceilings (server/intake.h): they can only be lowered */
    {"max_patch_bytes", 1024, AL_MAX_PATCH_BYTES, offsetof(struct al_limits, max_patch_bytes)},
    {"max_fail_to_pass", 1, AL_MAX_FAIL_TO_PASS, offsetof(struct al_limits, max_fail_to_pass)},
};

static int
parse_limits(struct al_config *c, const json_t *v, struct al_err *err)
{
	const char *key;
	json_t *n;

	if (!json_is_object(v))
		return al_err_set(err, -EINVAL, "limits: expected an object");
	json_object_foreach ((json_t *)v, key, n) {
		size_t i;

		for (i = 0; i < AL_ARRAY_SIZE(int_keys) && strcmp(key, int_keys[i].name); i++)
			;
		if (i == AL_ARRAY_SIZE(int_keys))
			return al_err_set(err, -EINVAL, "limits.%.64s: unknown key", key);
		if (!json_is_integer(n) || json_integer_value(n) < int_keys[i].min ||
		    json_integer_value(n) > int_keys[i].max)
			return al_err_set(err, -EINVAL, "limits.%s: expected an integer %lld..%lld",
					  key, int_keys[i].min, int_keys[i].max);
		*(long long *)((char *)&c->limits + int_keys[i].off) = json_integer_value(n);
	}
	/* one address, however busy, leaves at least as many connections to the others */
	if (c->limits.max_per_address > c->limits.max_connections / 2)
		return al_err_set(err, -EINVAL,
				  "limits.max_connections_per_address: at most half of "
				  "max_connections (%lld)",
				  c->limits.max_connections / 2);
	return 0;
}

static int
parse_top(struct al_config *c, json_t *root, const char *dir, struct al_err *err)
{
	const char *key;
	json_t *v;
	int r;

	json_object_foreach (root, key, v) {
		if (!strcmp(key, "listen")) {
			if (!json_is_string(v) || !listen_valid(json_string_value(v)))
				return al_err_set(err, -EINVAL, "listen: expected \"ADDR:PORT\"");
			free(c->listen);
			c->listen = strdup(json_string_value(v));
		} else if (!strcmp(key, "data")) {
			if (!json_is_string(v) || !json_string_length(v))
				return al_err_set(err, -EINVAL, "data: expected a directory path");
			free(c->data);
			c->data = anchor(dir, json_string_value(v));
		} else if (!strcmp(key, "max_body_bytes")) {
			json_int_t n = json_integer_value(v);
			if (!json_is_integer(v) || n < 4096 || n > (64 << 20))
				return al_err_set(
				    err, -EINVAL,
				    "max_body_bytes: expected an integer 4096..67108864");
			c->max_body = (size_t)n;
		} else if (!strcmp(key, "max_parallel_runs") || !strcmp(key, "workers")) {
			json_int_t n = json_integer_value(v);
			if (!json_is_integer(v) || n < 1 || n > 64)
				return al_err_set(err, -EINVAL, "%s: expected an integer 1..64",
						  key);
			c->workers = (unsigned)n;
		} else if (!strcmp(key, "limits")) {
			if ((r = parse_limits(c, v, err)) < 0)
				return r;
		} else if (!strcmp(key, "session_ttl_s")) {
			json_int_t n = json_integer_value(v);
			if (!json_is_integer(v) || n < 60 || n > 7 * 86400)
				return al_err_set(err, -EINVAL,
						  "session_ttl_s: expected an integer 60..604800");
			c->session_ttl_s = n;
		} else if (!strcmp(key, "github")) {
			if ((r = parse_github(c, v, dir, err)) < 0)
				return r;
		} else if (!strcmp(key, "public_url")) {
			const char *u = json_string_value(v);
			if (!u || (strncmp(u, "https://", 8) && strncmp(u, "http://", 7)) ||
			    strlen(u) > 200)
				return al_err_set(err, -EINVAL,
						  "public_url: expected an http(s) URL");
			free(c->public_url);
			c->public_url = strdup(u);
			if (!c->public_url)
				return al_err_set(err, -ENOMEM, "out of memory");
		} else if (!strcmp(key, "egress_bundles")) {
			if ((r = parse_bundles(v, err)) < 0)
				return r;
		} else if (!strcmp(key, "tls") || !strcmp(key, "cache")) {
			r = key[0] == 't' ? parse_tls(c, v, dir, err) : parse_cache(c, v, dir, err);
			if (r < 0)
				return r;
		} else if (!strcmp(key, "repos")) {
			const char *name;
			json_t *rv;

			if (!json_is_object(v) || json_object_size(v) > MAX_REPOS)
				return al_err_set(err, -EINVAL, "repos: expected an object");
			c->repos = calloc(json_object_size(v) + 1, sizeof(*c->repos));
			if (!c->repos)
				return al_err_set(err, -ENOMEM, "out of memory");
			json_object_foreach (v, name, rv) {
				r = parse_repo(c, name, rv, dir,
					       json_object_get(root, "egress_bundles"), err);
				if (r < 0)
					return r;
			}
		} else {
			return al_err_set(err, -EINVAL, "%.64s: unknown key", key);
		}
		if ((!strcmp(key, "listen") && !c->listen) || (!strcmp(key, "data") && !c->data))
			return al_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static struct al_config *
config_new(void)
{
	struct al_config *c = calloc(1, sizeof(*c));
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (!c)
		return NULL;
	c->listen = strdup(AL_DEFAULT_LISTEN);
	c->data = strdup(AL_DEFAULT_DATA);
	c->max_body = AL_DEFAULT_MAX_BODY;
	c->workers = (unsigned)(ncpu > 0 ? (ncpu > 64 ? 64 : ncpu) : 2);
	c->limits = (struct al_limits){.max_queued = 256,
				       .submit_per_minute = 120,
				       .submit_burst = 30,
				       .shutdown_grace_s = 30,
				       .conn_timeout_s = 30,
				       .header_timeout_s = 10,
				       .max_connections = 256,
				       .max_header_bytes = 64 * 1024,
				       .max_json_depth = 16,
				       .max_json_string = 64 * 1024,
				       .max_json_array = 1000,
				       .max_patch_bytes = AL_MAX_PATCH_BYTES,
				       .max_fail_to_pass = AL_MAX_FAIL_TO_PASS};
	c->session_ttl_s = AL_DEFAULT_SESSION_TTL_S;
	c->cache_max_mb = AL_DEFAULT_CACHE_MAX_MB;
	c->github_api = strdup("https://api.github.com");
	if (!c->listen || !c->data || !c->github_api) {
		al_config_free(c);
		return NULL;
	}
	return c;
}

int
al_config_parse(const char *text, size_t len, const char *dir, struct al_config **ret,
		struct al_err *err)
{
	_cleanup_(config_freep) struct al_config *c = config_new();
	json_error_t jerr;
	json_t *root;
	int r;

	if (!c)
		return al_err_set(err, -ENOMEM, "out of memory");
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return al_err_set(err, -EINVAL, "line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(root))
		r = al_err_set(err, -EINVAL, "(top level): expected an object");
	else
		r = parse_top(c, root, dir, err);
	json_decref(root);
	if (r < 0)
		return r;
	*ret = steal_pointer(&c);
	return 0;
}

/* Makes *p absolute; canonical too when it exists already. */
static int
absolutize(char **p)
{
	char cwd[PATH_MAX];
	char *abs = realpath(*p, NULL);

	if (abs) {
		free(*p);
		*p = abs;
		return 0;
	}
	if ((*p)[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	abs = al_path_join(cwd, *p);
	if (!abs)
		return -ENOMEM;
	free(*p);
	*p = abs;
	return 0;
}

int
al_config_load(const char *path, const char *listen, const char *data, struct al_config **ret,
	       struct al_err *err)
{
	_cleanup_(config_freep) struct al_config *c = NULL;
	_cleanup_free_ char *text = NULL, *copy = NULL, *dir = NULL, *abs_path = NULL;
	size_t len;
	int r;

	if (path) {
		r = al_file_read(path, CONFIG_MAX_BYTES, &text, &len, err);
		if (r < 0)
			return r;
		copy = strdup(path);
		dir = copy ? realpath(dirname(copy), NULL) : NULL;
		if (!dir)
			return al_err_set(err, -errno, "%s: cannot resolve its directory", path);
		r = al_config_parse(text, len, dir, &c, err);
		if (r < 0)
			return al_err_prefix(err, "%s", path);
	} else if (!(c = config_new())) {
		return al_err_set(err, -ENOMEM, "out of memory");
	}
	if (listen) {
		if (!listen_valid(listen))
			return al_err_set(err, -EINVAL, "--listen: expected ADDR:PORT");
		free(c->listen);
		c->listen = strdup(listen);
	}
	if (data) {
		free(c->data);
		c->data = strdup(data);
	}
	if (!c->listen || !c->data || absolutize(&c->data) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < c->n_repos; i++)
		if (absolutize(&c->repos[i].path) < 0)
			return al_err_set(err, -ENOMEM, "out of memory");
	if (!c->cache_dir && !(c->cache_dir = al_path_join(c->data, "cache")))
		return al_err_set(err, -ENOMEM, "out of memory");
	if (absolutize(&c->cache_dir) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (path && !(abs_path = realpath(path, NULL)))
		return al_err_set(err, -errno, "%s: %s", path, strerror(errno));
	if ((r = cache_check(c, abs_path, err)) < 0)
		return al_err_prefix(err, "%s", path ? path : "(defaults)");
	*ret = steal_pointer(&c);
	return 0;
}
