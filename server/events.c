#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The last RING events; a subscriber that falls further behind is told to start over. */
#define RING 256

struct event {
	char text[128];
	size_t len;
};

struct sub {
	struct al_events *ev;
	struct al_http_stream *st;
	unsigned long long next; /* seq of the next event to send */
	unsigned long long beat; /* keep-alive round last answered */
	int parked;
	int greeted;
	char out[160];
	size_t out_len, out_off;
	struct sub *prev, *link;
};

struct al_events {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct event ring[RING];
	unsigned long long seq; /* of the newest event; 0 before the first */
	unsigned long long beat;
	struct sub *subs;
	unsigned n_subs;
	int closing;
	int ticking;
	pthread_t ticker;
};

static const char hello[] = "retry: 2000\n\nevent: hello\ndata: {\"server\":\"airlock\"}\n\n";

/* Called locked. */
static void
wake_all(struct al_events *ev)
{
	for (struct sub *s = ev->subs; s; s = s->link)
		if (s->parked) {
			s->parked = 0;
			al_http_stream_wake(s->st);
		}
}

static void *
ticker_main(void *arg)
{
	struct al_events *ev = arg;
	struct timespec until;

	pthread_mutex_lock(&ev->mu);
	while (!ev->closing) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += AL_EVENTS_KEEPALIVE_S;
		if (pthread_cond_timedwait(&ev->cv, &ev->mu, &until) == ETIMEDOUT) {
			ev->beat++;
			wake_all(ev);
		}
	}
	pthread_mutex_unlock(&ev->mu);
	return NULL;
}

int
al_events_new(struct al_events **ret, struct al_err *err)
{
	struct al_events *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return al_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&ev->mu, NULL);
	pthread_cond_init(&ev->cv, NULL);
	if (pthread_create(&ev->ticker, NULL, ticker_main, ev) != 0) {
		al_events_free(ev);
		return al_err_set(err, -EAGAIN, "events: cannot start the keep-alive thread");
	}
	ev->ticking = 1;
	*ret = ev;
	return 0;
}

void
al_events_publish(struct al_events *ev, const char *id, const char *state)
{
	struct event *e;
	int n;

	if (!ev)
		return;
	pthread_mutex_lock(&ev->mu);
	e = &ev->ring[(ev->seq + 1) % RING];
	n = snprintf(e->text, sizeof(e->text),
		     "event: proposal\nid: %llu\ndata: {\"id\":\"%s\",\"state\":\"%s\"}\n\n",
		     ev->seq + 1, id, state);
	if (n > 0 && (size_t)n < sizeof(e->text)) {
		e->len = (size_t)n;
		ev->seq++;
		wake_all(ev);
	}
	pthread_mutex_unlock(&ev->mu);
}

/* The subscriber's next message into s->out; 0 when there is none. Called locked. */
static int
compose(struct al_events *ev, struct sub *s)
{
	const char *text = NULL;
	size_t len = 0;

	if (!s->greeted || ev->seq - s->next + 1 > RING) {
		/* first contact, or too far behind to catch up: start over */
		s->greeted = 1;
		s->next = ev->seq + 1;
		text = hello;
		len = sizeof(hello) - 1;
	} else if (s->next <= ev->seq) {
		text = ev->ring[s->next % RING].text;
		len = ev->ring[s->next % RING].len;
		s->next++;
	} else if (s->beat != ev->beat) {
		s->beat = ev->beat;
		text = ": keep-alive\n\n";
		len = strlen(text);
	}
	if (!text)
		return 0;
	memcpy(s->out, text, len);
	s->out_len = len;
	s->out_off = 0;
	return 1;
}

static ssize_t
sub_fill(void *ctx, struct al_http_stream *st, char *buf, size_t max)
{
	struct sub *s = ctx;
	struct al_events *ev = s->ev;
	size_t n;

	pthread_mutex_lock(&ev->mu);
	s->st = st;
	if (s->out_off == s->out_len) {
		if (ev->closing) {
			pthread_mutex_unlock(&ev->mu);
			return -1;
		}
		if (!compose(ev, s)) {
			s->parked = 1;
			al_http_stream_park(st);
			pthread_mutex_unlock(&ev->mu);
			return 0;
		}
	}
	n = s->out_len - s->out_off;
	if (n > max)
		n = max;
	memcpy(buf, s->out + s->out_off, n);
	s->out_off += n;
	pthread_mutex_unlock(&ev->mu);
	return (ssize_t)n;
}

static void
sub_done(void *ctx, struct al_http_stream *st)
{
	struct sub *s = ctx;
	struct al_events *ev = s->ev;

	(void)st;
	pthread_mutex_lock(&ev->mu);
	if (s->prev)
		s->prev->link = s->link;
	else
		ev->subs = s->link;
	if (s->link)
		s->link->prev = s->prev;
	ev->n_subs--;
	pthread_mutex_unlock(&ev->mu);
	free(s);
}

int
al_events_subscribe(struct al_events *ev, struct al_http_resp *resp)
{
	struct sub *s = calloc(1, sizeof(*s));
	static const char busy[] = "{\"error\":\"unavailable\",\"detail\":\"too many live "
				   "listeners; try again later\"}";

	pthread_mutex_lock(&ev->mu);
	if (!s || ev->closing || ev->n_subs >= AL_EVENTS_MAX_SUBSCRIBERS) {
		pthread_mutex_unlock(&ev->mu);
		free(s);
		resp->status = 503;
		resp->body = strdup(busy);
		resp->len = resp->body ? strlen(resp->body) : 0;
		return -EBUSY;
	}
	s->ev = ev;
	s->beat = ev->beat;
	s->link = ev->subs;
	if (ev->subs)
		ev->subs->prev = s;
	ev->subs = s;
	ev->n_subs++;
	pthread_mutex_unlock(&ev->mu);
	resp->status = 200;
	resp->content_type = "text/event-stream";
	resp->cache = "no-cache";
	resp->stream = (struct al_http_streamer){.fill = sub_fill, .done = sub_done, .ctx = s};
	return 0;
}

void
al_events_shutdown(struct al_events *ev)
{
	if (!ev)
		return;
	pthread_mutex_lock(&ev->mu);
	ev->closing = 1;
	wake_all(ev);
	pthread_cond_broadcast(&ev->cv);
	pthread_mutex_unlock(&ev->mu);
	if (ev->ticking)
		pthread_join(ev->ticker, NULL);
	ev->ticking = 0;
}

void
al_events_free(struct al_events *ev)
{
	if (!ev)
		return;
	al_events_shutdown(ev);
	pthread_mutex_destroy(&ev->mu);
	pthread_cond_destroy(&ev->cv);
	free(ev);
}
