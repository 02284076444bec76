/* Admission: what a request must pass before its body is acted on.  The body's JSON
 * against the configured caps (depth read before the parser), the queue's cap, each
 * principal's submission rate (a token bucket each), and the 503 while the server stops. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/macros.h"
#include "server/admit.h"
#include "server/metrics.h"
#include "server/pause.h"
#include "server/quarantine.h"
#include "server/server.h"

/* Principals remembered at once; the one seen longest ago gives its bucket up. */
#define AL_BUCKETS 256
/* Seconds an agent is told to wait: the server stopping, and the queue full. */
#define AL_RETRY_DRAINING_S 10
#define AL_RETRY_QUEUE_FULL_S 30

struct al_rate {
	pthread_mutex_t mu;
	struct bucket {
		char name[65];
		double tokens, at;
	} buckets[AL_BUCKETS];
};

int
al_admit_rate_new(struct al_rate **ret)
{
	struct al_rate *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->mu, NULL);
	*ret = r;
	return 0;
}

void
al_admit_rate_free(struct al_rate *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->mu);
	free(r);
}

/* The first way j passes the configured caps (depth, strings other than the patches,
 * arrays), or NULL. */
static const char *
over_limits(const json_t *j, const struct al_limits *lim, long long depth, const char *key,
	    char *buf, size_t n)
{
	const char *k, *why;
	json_t *v;
	size_t i;

	if (depth > lim->max_json_depth) {
		snprintf(buf, n, "body: nested deeper than %lld", lim->max_json_depth);
		return buf;
	}
	if (json_is_string(j) && (long long)json_string_length(j) > lim->max_json_string &&
	    !(key && (!strcmp(key, "patch") || !strcmp(key, "test_patch")) && depth == 2)) {
		snprintf(buf, n, "%.40s: a string longer than %lld bytes", key ? key : "body",
			 lim->max_json_string);
		return buf;
	}
	if (json_is_array(j)) {
		if ((long long)json_array_size(j) > lim->max_json_array) {
			snprintf(buf, n, "%.40s: more than %lld elements", key ? key : "body",
				 lim->max_json_array);
			return buf;
		}
		json_array_foreach (j, i, v)
			if ((why = over_limits(v, lim, depth + 1, key, buf, n)))
				return why;
	}
	json_object_foreach ((json_t *)j, k, v)
		if ((why = over_limits(v, lim, depth + 1, k, buf, n)))
			return why;
	return NULL;
}

/* 1 when the raw JSON text nests arrays and objects deeper than max: read before the
 * parser, which would recurse that deep. */
static int
nests_deeper(const char *p, size_t len, long long max)
{
	long long depth = 0;
	int in_string = 0;

	for (size_t i = 0; i < len; i++) {
		if (in_string) {
			if (p[i] == '\\')
				i++;
			else if (p[i] == '"')
				in_string = 0;
		} else if (p[i] == '"') {
			in_string = 1;
		} else if (p[i] == '[' || p[i] == '{') {
			if (++depth > max)
				return 1;
		} else if (p[i] == ']' || p[i] == '}') {
			depth--;
		}
	}
	return 0;
}

/* The configured caps on a proposal's or a revision's patches and test ids (the intake
 * holds them to its ceilings already), or NULL. */
static const char *
over_patch_caps(const json_t *b, const struct al_limits *lim, char *buf, size_t n)
{
	static const char *const patches[] = {"patch", "test_patch"};
	const json_t *ftp = json_object_get(b, "fail_to_pass");

	for (size_t i = 0; i < AL_ARRAY_SIZE(patches); i++) {
		const json_t *v = json_object_get(b, patches[i]);

		if (json_is_string(v) && (long long)json_string_length(v) > lim->max_patch_bytes) {
			snprintf(buf, n, "%s: larger than %lld bytes (limits.max_patch_bytes)",
				 patches[i], lim->max_patch_bytes);
			return buf;
		}
	}
	if (json_is_array(ftp) && (long long)json_array_size(ftp) > lim->max_fail_to_pass) {
		snprintf(buf, n, "fail_to_pass: more than %lld test ids (limits.max_fail_to_pass)",
			 lim->max_fail_to_pass);
		return buf;
	}
	return NULL;
}

/* The request body as JSON that passed intake (server/intake.c) and the caps; NULL when
 * it did not, with the 400 written ("malformed JSON", or error and the first problem). */
json_t *
al_admit_body(const struct al_http_req *req, const struct al_limits *lim, al_admit_intake intake,
	      const char *error, struct al_http_resp *resp)
{
	size_t len;
	const char *body = al_http_body(req, &len);
	struct al_err err = {0};
	json_t *b = NULL;
	const char *why;
	char msg[128];
	int r;

	if (nests_deeper(body, len, lim->max_json_depth)) {
		snprintf(msg, sizeof(msg), "body: nested deeper than %lld", lim->max_json_depth);
		al_reply_error(resp, 400, error, msg);
		return NULL;
	}
	r = intake(body, len, &b, &err);

	if (r < 0) {
		al_reply_error(resp, 400, r == -EINVAL ? error : "malformed JSON",
			       al_err_msg(&err));
		return NULL;
	}
	if ((why = over_limits(b, lim, 1, NULL, msg, sizeof(msg))) ||
	    (why = over_patch_caps(b, lim, msg, sizeof(msg)))) {
		al_reply_error(resp, 400, error, why);
		json_decref(b);
		return NULL;
	}
	return b;
}

/* 0 when principal may submit now (a token taken from its bucket), or the seconds until
 * it may. */
static int
rate_wait(struct al_server *srv, const char *principal, const struct al_limits *lim)
{
	double now = al_metrics_now(), rate = (double)lim->submit_per_minute / 60.0;
	struct al_rate *rt = srv->rate;
	struct bucket *b = NULL, *oldest = &rt->buckets[0];
	int wait = 0;

	if (lim->submit_per_minute == 0)
		return 0;
	pthread_mutex_lock(&rt->mu);
	for (size_t i = 0; i < AL_ARRAY_SIZE(rt->buckets) && !b; i++) {
		if (!strcmp(rt->buckets[i].name, principal))
			b = &rt->buckets[i];
		else if (rt->buckets[i].at < oldest->at)
			oldest = &rt->buckets[i];
	}
	if (!b) {
		b = oldest; /* a principal not seen lately starts full */
		snprintf(b->name, sizeof(b->name), "%s", principal);
		b->tokens = (double)lim->submit_burst;
		b->at = now;
	}
	b->tokens += (now - b->at) * rate;
	if (b->tokens > (double)lim->submit_burst)
		b->tokens = (double)lim->submit_burst;
	b->at = now;
	if (b->tokens >= 1.0)
		b->tokens -= 1.0;
	else
		wait = (int)((1.0 - b->tokens) / rate) + 1;
	pthread_mutex_unlock(&rt->mu);
	return wait;
}

int
al_admit_draining(struct al_server *srv)
{
	int d;

	pthread_mutex_lock(&srv->mu);
	d = srv->draining;
	pthread_mutex_unlock(&srv->mu);
	return d;
}

/* 503 with Retry-After while the server stops: what it takes now would wait for the next
 * start, so the agent is told to send it then. */
int
al_admit_refuse_draining(struct al_server *srv, struct al_http_resp *resp)
{
	char reason[AL_PAUSE_REASON_MAX], detail[AL_PAUSE_REASON_MAX + 64];

	if (al_pause_on(srv, reason)) {
		snprintf(detail, sizeof(detail), "paused: %s", reason);
		al_reply_error(resp, 503, "paused", detail);
		return -EAGAIN;
	}
	if (!al_admit_draining(srv))
		return 0;
	al_reply_error(resp, 503, "unavailable",
		       "the server is shutting down: send it again once it is back");
	resp->retry_after = AL_RETRY_DRAINING_S;
	return -EAGAIN;
}

/* 503 while the server stops; 403 while the principal is quarantined; 429 with
 * Retry-After when the queue is full or the principal is over its rate. */
int
al_admit_submission(struct al_server *srv, const struct al_limits *lim, const char *principal,
		    struct al_http_resp *resp)
{
	long long queued;
	char detail[128];
	int wait;

	if (al_admit_refuse_draining(srv, resp) < 0)
		return -EAGAIN;
	/* before the rate: a quarantined token's refusals do not use up its allowance */
	if (al_quarantine_refuse(srv, principal, resp) < 0)
		return -EPERM;
	queued = al_store_count_queued(srv->store);
	if (queued >= lim->max_queued) {
		snprintf(detail, sizeof(detail), "the queue is full (%lld proposals wait)", queued);
		al_reply_error(resp, 429, "too many requests", detail);
		resp->retry_after = AL_RETRY_QUEUE_FULL_S;
		return -EAGAIN;
	}
	if ((wait = rate_wait(srv, principal, lim)) > 0) {
		snprintf(detail, sizeof(detail), "%s: more than %lld submissions a minute",
			 principal, lim->submit_per_minute);
		al_reply_error(resp, 429, "too many requests", detail);
		resp->retry_after = wait;
		return -EAGAIN;
	}
	return 0;
}
