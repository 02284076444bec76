/* The configuration in force: a snapshot with a reference count, so that SIGHUP can put a
 * new one in place while jobs and requests finish under the one they started with. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lib/log.h"
#include "server/server.h"

void
al_live_digest_policies(struct al_config *c)
{
	for (size_t i = 0; i < c->n_repos; i++) {
		char *canon = al_policy_canonical(c->repos[i].policy);

		/* an empty digest matches no proposal, so nothing is granted under it */
		c->repos[i].policy_digest[0] = '\0';
		if (canon)
			al_sha256_hex(canon, strlen(canon), c->repos[i].policy_digest);
		free(canon);
	}
}

struct al_config *
al_live_config(struct al_server *srv)
{
	struct al_config *c;

	pthread_mutex_lock(&srv->mu);
	c = srv->cfg;
	c->refs++;
	pthread_mutex_unlock(&srv->mu);
	return c;
}

void
al_live_config_put(struct al_server *srv, struct al_config *c)
{
	bool last;

	if (!c)
		return;
	pthread_mutex_lock(&srv->mu);
	last = --c->refs == 0;
	pthread_mutex_unlock(&srv->mu);
	if (last)
		al_config_free(c);
}

static void
swap_pointers(void **a, void **b)
{
	void *t = *a;

	*a = *b;
	*b = t;
}

/* What a reload cannot change in a running server. */
static const char *
needs_restart(const struct al_config *old, const struct al_config *c)
{
	if (strcmp(old->listen, c->listen))
		return "listen";
	if (strcmp(old->data, c->data))
		return "data";
	if (old->workers != c->workers)
		return "max_parallel_runs";
	if (old->max_body != c->max_body)
		return "max_body";
	if (old->limits.conn_timeout_s != c->limits.conn_timeout_s ||
	    old->limits.header_timeout_s != c->limits.header_timeout_s ||
	    old->limits.max_connections != c->limits.max_connections ||
	    old->limits.max_per_address != c->limits.max_per_address ||
	    old->limits.max_header_bytes != c->limits.max_header_bytes)
		return "limits (connections)";
	if (!old->tls_cert != !c->tls_cert || (c->tls_cert && (strcmp(old->tls_cert, c->tls_cert) ||
							       strcmp(old->tls_key, c->tls_key))))
		return "tls";
	return NULL;
}

int
al_live_keys_open(const char *data_dir, struct al_signer **ret_signer,
		  struct al_keyring **ret_keyring, struct al_err *err)
{
	struct al_signer *s = NULL;
	struct al_keyring *kr = NULL;
	const struct al_key *k;
	int r;

	r = al_signer_open(data_dir, &s, err);
	if (r == 0)
		r = al_keyring_load(data_dir, s, &kr, err);
	if (r == 0 &&
	    (!(k = al_keyring_find(kr, al_signer_keyid(s))) || strcmp(k->status, "active")))
		r = al_err_set(err, -EKEYREJECTED,
			       "signing.key (%.16s) is not the active key of keys.json: finish "
			       "`airlock keygen` or restore signing.key",
			       al_signer_keyid(s));
	if (r < 0) {
		al_signer_free(s);
		al_keyring_free(kr);
		return r;
	}
	*ret_signer = s;
	*ret_keyring = kr;
	return 0;
}

/* A rotated or revoked key takes effect without a restart. */
static int
reload_keys(struct al_server *srv, const char *data_dir, struct al_err *err)
{
	struct al_signer *s = NULL;
	struct al_keyring *kr = NULL;
	int r = al_live_keys_open(data_dir, &s, &kr, err);

	if (r < 0)
		return r;
	pthread_mutex_lock(&srv->mu);
	swap_pointers((void **)&srv->signer, (void **)&s);
	swap_pointers((void **)&srv->keyring, (void **)&kr);
	pthread_mutex_unlock(&srv->mu);
	al_signer_free(s);
	al_keyring_free(kr);
	return 0;
}

int
al_live_reload(struct al_server *srv, struct al_err *err)
{
	struct al_config *c = NULL, *old;
	const char *fixed;
	int r;

	r = al_config_load(srv->config_path, srv->listen_override, srv->data_override, &c, err);
	if (r < 0)
		return r;
	r = reload_keys(srv, c->data, err);
	if (r < 0) {
		al_config_free(c);
		return r;
	}
	old = al_live_config(srv);
	fixed = needs_restart(old, c);
	al_live_config_put(srv, old);
	if (fixed) {
		al_config_free(c);
		return al_err_set(err, -EINVAL, "%s changed: that takes a restart", fixed);
	}
	al_live_digest_policies(c);
	c->refs = 1;
	pthread_mutex_lock(&srv->mu);
	old = srv->cfg;
	srv->cfg = c;
	srv->config_gen++; /* after the keyring too: a view built before is not served */
	pthread_mutex_unlock(&srv->mu);
	al_live_config_put(srv, old);
	for (size_t i = 0; i < c->n_repos; i++)
		al_log("info", "config.policy", "repo=%s digest=%s", al_log_q(c->repos[i].name),
		       c->repos[i].policy_digest);
	return 0;
}
