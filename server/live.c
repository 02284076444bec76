/* The configuration in force: a snapshot with a reference count, so that SIGHUP can put a
 * new one in place while jobs and requests finish under the one they started with. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "lib/log.h"
#include "server/server.h"

void
al_server_digest_policies(struct al_config *c)
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
al_server_config(struct al_server *srv)
{
	struct al_config *c;

	pthread_mutex_lock(&srv->mu);
	c = srv->cfg;
	c->refs++;
	pthread_mutex_unlock(&srv->mu);
	return c;
}

void
al_server_config_put(struct al_server *srv, struct al_config *c)
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

/* What a reload cannot change in a running server. */
static const char *
needs_restart(const struct al_config *old, const struct al_config *c)
{
	if (strcmp(old->listen, c->listen))
		return "listen";
	if (strcmp(old->data, c->data))
		return "data";
	if (old->workers != c->workers)
		return "workers";
	if (old->max_body != c->max_body)
		return "max_body";
	return NULL;
}

int
al_server_reload(struct al_server *srv, struct al_err *err)
{
	struct al_config *c = NULL, *old;
	const char *fixed;
	int r;

	r = al_config_load(srv->config_path, srv->listen_override, srv->data_override, &c, err);
	if (r < 0)
		return r;
	old = al_server_config(srv);
	fixed = needs_restart(old, c);
	al_server_config_put(srv, old);
	if (fixed) {
		al_config_free(c);
		return al_err_set(err, -EINVAL, "%s changed: that takes a restart", fixed);
	}
	al_server_digest_policies(c);
	c->refs = 1;
	pthread_mutex_lock(&srv->mu);
	old = srv->cfg;
	srv->cfg = c;
	pthread_mutex_unlock(&srv->mu);
	al_server_config_put(srv, old);
	for (size_t i = 0; i < c->n_repos; i++)
		al_log("info", "config.policy", "repo=%s digest=%s", al_log_q(c->repos[i].name),
		       c->repos[i].policy_digest);
	return 0;
}
