/* Commit statuses out: a durable outbox in SQLite, posted by one thread with backoff.  A
 * GitHub outage delays a status; it never loses or changes a verdict. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "server/client.h"
#include "server/server.h"

#define BACKOFF_MAX_S 300
#define CONTEXT "airlock/gate"
/* Seconds between looks at the outbox when nothing wakes the poster. */
#define POLL_S 1

void
al_github_target_url(struct al_server *srv, const char *id, char *out, size_t n)
{
	struct al_config *cfg = al_live_config(srv);

	if (cfg->public_url)
		snprintf(out, n, "%s%s#/p/%s", cfg->public_url,
			 cfg->public_url[strlen(cfg->public_url) - 1] == '/' ? "" : "/", id);
	else
		out[0] = '\0';
	al_live_config_put(srv, cfg);
}

/* The poster thread and its wake-up. */
struct al_github {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int started;
	int kicked;
	int stopping;
};

int
al_github_new(struct al_github **ret)
{
	struct al_github *g = calloc(1, sizeof(*g));

	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	*ret = g;
	return 0;
}

void
al_github_free(struct al_github *g)
{
	if (!g)
		return;
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}

void
al_github_kick(struct al_server *srv)
{
	struct al_github *g = srv->github;

	pthread_mutex_lock(&g->mu);
	g->kicked = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

/* The status the state a proposal moved to maps to, or NULL while it is not settled
 * (running); p is the stored row, for the grant's state (NULL: not read yet). */
static const char *
status_of(const char *state, const struct al_proposal *p)
{
	if (!strcmp(state, "granted"))
		return p && p->grant_state && !strcmp(p->grant_state, "invalidated") ? "error"
										     : "success";
	if (!strcmp(state, "rejected"))
		return "failure";
	if (!strcmp(state, "error") || !strcmp(state, "superseded") || !strcmp(state, "cancelled"))
		return "error";
	if (!strcmp(state, "awaiting_approval") || !strcmp(state, "queued"))
		return "pending";
	return NULL;
}

/* A description under 140 characters, from the proposal's verdict. */
static void
describe(const char *state, const struct al_proposal *p, char *out, size_t n)
{
	json_t *v = p->verdict ? json_loads(p->verdict, 0, NULL) : NULL;
	const char *reason = json_string_value(json_object_get(v, "reason"));
	size_t len;

	if (!strcmp(state, "granted") && p->grant_state && !strcmp(p->grant_state, "invalidated"))
		snprintf(out, n, "grant invalidated: %s", p->error ? p->error : "the base moved");
	else if (!strcmp(state, "granted"))
		snprintf(out, n, "granted at tier %d: %s", p->tier,
			 reason ? reason : "all gates satisfied");
	else if (!strcmp(state, "awaiting_approval"))
		snprintf(out, n, "awaiting approval: %s", reason ? reason : "a reviewer decides");
	else if (!strcmp(state, "queued"))
		snprintf(out, n, "queued: airlock is gating this head again");
	else if (!strcmp(state, "superseded"))
		snprintf(out, n, "superseded: a newer push of the pull request is gated");
	else if (!strcmp(state, "cancelled"))
		snprintf(out, n, "cancelled: the pull request was closed");
	else
		snprintf(out, n, "%s: %s", state,
			 reason	    ? reason
			 : p->error ? p->error
				    : "see the proposal");
	json_decref(v);
	len = strlen(out);
	if (len > 139) {
		len = 136;
		while (len > 0 && ((unsigned char)out[len] & 0xc0) == 0x80)
			len--;
		memcpy(out + len, "...", 4);
	}
}

void
al_github_on_change(struct al_server *srv, const char *id, const char *state)
{
	_cleanup_(al_proposal_freep) struct al_proposal *p = NULL;
	const char *status;
	char desc[200], target[300], told[64];
	struct al_err err = {0};
	int r;

	if (!status_of(state, NULL) || al_store_proposal_get(srv->store, id, &p, NULL) < 0)
		return;
	status = status_of(state, p);
	describe(state, p, desc, sizeof(desc));
	al_github_target_url(srv, id, target, sizeof(target));
	snprintf(told, sizeof(told), "%s/%s", state, p->grant_state ? p->grant_state : "");
	r = al_store_status_enqueue(srv->store, id, status, desc, target[0] ? target : NULL, told,
				    &err);
	if (r == 0)
		al_github_kick(srv);
	else if (r != -ENOENT)
		al_log("error", "github.status_not_queued", "id=%s error=%s", id,
		       al_log_q(al_err_msg(&err)));
}

int
al_github_reconcile(struct al_server *srv)
{
	json_t *untold = NULL, *row;
	struct al_err err = {0};
	size_t i;

	if (al_store_status_untold(srv->store, &untold, &err) < 0) {
		al_log("error", "github.reconcile_failed", "error=%s", al_log_q(al_err_msg(&err)));
		return -EIO;
	}
	json_array_foreach (untold, i, row)
		al_github_on_change(srv, json_string_value(json_array_get(row, 0)),
				    json_string_value(json_array_get(row, 1)));
	if (json_array_size(untold))
		al_log("info", "github.reconciled", "statuses=%zu", json_array_size(untold));
	i = json_array_size(untold);
	json_decref(untold);
	return (int)i;
}

static int
post_one(struct al_server *srv, const json_t *row, const char *api, const char *token)
{
	const char *full = json_string_value(json_object_get(row, "full_name"));
	const char *sha = json_string_value(json_object_get(row, "sha"));
	long long seq = json_integer_value(json_object_get(row, "seq"));
	long long attempts = json_integer_value(json_object_get(row, "attempts"));
	_cleanup_free_ char *body = NULL, *answer = NULL;
	json_t *b = json_pack(
	    "{s:s, s:s, s:s, s:s?}", "state", json_string_value(json_object_get(row, "state")),
	    "description", json_string_value(json_object_get(row, "description")), "context",
	    CONTEXT, "target_url", json_string_value(json_object_get(row, "target_url")));
	char url[512], why[256] = "";
	struct al_err err = {0};
	long status = 0, delay;
	int ok;

	body = b ? json_dumps(b, JSON_COMPACT) : NULL;
	json_decref(b);
	snprintf(url, sizeof(url), "%s/repos/%s/statuses/%s", api, full, sha);
	if (!body)
		return -ENOMEM;
	if (al_client_request("POST", url, token, body, &status, &answer, &err) < 0)
		snprintf(why, sizeof(why), "%s", al_err_msg(&err));
	else if (status < 200 || status > 299)
		snprintf(why, sizeof(why), "HTTP %ld", status);
	ok = why[0] == '\0';
	delay = attempts >= 8 ? BACKOFF_MAX_S : (1L << attempts);
	if (delay > BACKOFF_MAX_S)
		delay = BACKOFF_MAX_S;
	al_store_status_settle(srv->store, seq, ok, (long long)time(NULL) + (ok ? 0 : delay),
			       ok ? NULL : why, NULL);
	if (ok)
		al_log("info", "github.status_posted", "repo=%s sha=%s state=%s", al_log_q(full),
		       sha, json_string_value(json_object_get(row, "state")));
	else
		al_log("info", "github.status_retry", "repo=%s sha=%s error=%s in_s=%ld",
		       al_log_q(full), sha, al_log_q(why), delay);
	return ok ? 0 : -EAGAIN;
}

static void *
poster_main(void *arg)
{
	struct al_server *srv = arg;
	struct al_github *g = srv->github;

	for (;;) {
		struct timespec until;
		_cleanup_free_ char *token = NULL, *api = NULL;
		struct al_config *cfg;
		json_t *due = NULL, *row;
		size_t i, n = 0;

		pthread_mutex_lock(&g->mu);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += POLL_S;
		while (!g->stopping && !g->kicked &&
		       pthread_cond_timedwait(&g->cv, &g->mu, &until) == 0)
			;
		g->kicked = 0;
		if (g->stopping) {
			pthread_mutex_unlock(&g->mu);
			return NULL;
		}
		pthread_mutex_unlock(&g->mu);
		cfg = al_live_config(srv);
		api = strdup(cfg->github_api);
		if (cfg->github_token_file &&
		    al_file_read(cfg->github_token_file, 4096, &token, &n, NULL) == 0)
			while (n && (token[n - 1] == '\n' || token[n - 1] == '\r'))
				token[--n] = '\0';
		al_live_config_put(srv, cfg);
		if (!api || !token || !n ||
		    al_store_status_due(srv->store, (long long)time(NULL), &due, NULL) < 0) {
			if (token)
				explicit_bzero(token, n);
			continue;
		}
		json_array_foreach (due, i, row)
			post_one(srv, row, api, token);
		json_decref(due);
		explicit_bzero(token, n);
	}
}

int
al_github_start(struct al_server *srv, struct al_err *err)
{
	struct al_github *g = srv->github;

	if (pthread_create(&g->thread, NULL, poster_main, srv) != 0)
		return al_err_set(err, -EAGAIN, "github: cannot start the status poster");
	g->started = 1;
	return 0;
}

void
al_github_stop(struct al_server *srv)
{
	struct al_github *g = srv->github;

	if (!g || !g->started)
		return;
	pthread_mutex_lock(&g->mu);
	g->stopping = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	pthread_join(g->thread, NULL);
	g->started = 0;
}
