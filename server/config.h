/* Server configuration: JSON file, validated whole at start. */
#pragma once

#include <stddef.h>

#include "gates/gates.h"
#include "lib/err.h"

#define AL_DEFAULT_LISTEN "127.0.0.1:8080"
#define AL_DEFAULT_DATA "./airlock-data"
#define AL_DEFAULT_MAX_BODY (8u << 20)
#define AL_DEFAULT_SESSION_TTL_S (8 * 3600)
#define AL_DEFAULT_CACHE_MAX_MB 10240
#define AL_CACHE_MAX_MB_LIMIT (1ll << 30) /* a petabyte: past any disk, short of overflow */

/* A repository that GitHub sends webhooks for. */
struct al_github_repo {
	char *full_name;   /* owned: "owner/name" */
	char *secret_file; /* owned: the webhook secret, read at each delivery */
	char *remote;	   /* owned: the URL pull requests are fetched from */
};

struct al_repo_conf {
	char *name;		       /* owned */
	struct al_github_repo *github; /* owned, may be NULL */
	char *path;		       /* owned, absolute */
	struct al_policy *policy;      /* owned */
	char policy_digest[65];	       /* sha256 of the canonical policy, filled by the server */
};

struct al_config {
	char *listen; /* owned */
	char *data;   /* owned, absolute once al_config_load returns */
	size_t max_body;
	unsigned workers;	 /* max_parallel_runs: gate jobs at once (default: cores) */
	long long session_ttl_s; /* how long a reviewer's sign-in lasts */
	struct al_limits {
		long long max_queued;	     /* queued proposals before 429 */
		long long submit_per_minute; /* per principal; 0: no limit */
		long long submit_burst;	     /* per principal, at once */
		long long shutdown_grace_s;  /* SIGTERM: how long running jobs may finish */
		long long conn_timeout_s;    /* idle connection */
		long long header_timeout_s;  /* a request's headers, however trickled */
		long long max_connections;
		long long max_per_address;  /* 0: a quarter of max_connections */
		long long max_header_bytes; /* request line and headers, per connection */
		long long max_json_depth;
		long long max_json_string;  /* bytes, any string but a patch */
		long long max_json_array;   /* elements, any array */
		long long max_patch_bytes;  /* a patch, a test patch, a pull request's diff */
		long long max_fail_to_pass; /* test ids a proposal names */
	} limits;
	char *tls_cert;		    /* owned, may be NULL: PEM file; with tls_key, serve HTTPS */
	char *tls_key;		    /* owned, may be NULL */
	char *github_api;	    /* owned: the REST API base URL commit statuses go to */
	char *github_token_file;    /* owned, may be NULL: no statuses are posted without it */
	char *public_url;	    /* owned, may be NULL: where the page is, for target_url */
	char *cache_dir;	    /* owned: the environment cache, DATA/cache unless set */
	long long cache_max_mb;	    /* what its entries may take before gc evicts */
	struct al_repo_conf *repos; /* owned */
	size_t n_repos;
	unsigned refs; /* the server's count of users of this snapshot, under its lock */
};

/* path NULL gives the embedded defaults.  listen and data, when non-NULL, override the
 * file.  Relative paths in the file are taken from the file's directory. */
int al_config_load(const char *path, const char *listen, const char *data, struct al_config **ret,
		   struct al_err *err);
/* Parses text already read; dir anchors relative paths. */
int al_config_parse(const char *text, size_t len, const char *dir, struct al_config **ret,
		    struct al_err *err);
void al_config_free(struct al_config *c);
const struct al_repo_conf *al_config_repo(const struct al_config *c, const char *name);
