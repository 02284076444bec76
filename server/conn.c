/* The header deadline: a list of open connections under one lock, swept by one thread. */
#include "conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "lib/proc.h"

struct al_conn {
	struct al_conn *prev, *next;
	int fd;	      /* borrowed: the listener owns and closes it */
	double since; /* when the wait for headers began */
	int waiting;  /* no headers yet since `since` */
	int cut;      /* its socket was shut down */
};

struct al_conn_watch {
	pthread_mutex_t mu;
	pthread_cond_t stop_cv;
	struct al_conn *head; /* owned, under mu */
	double deadline;
	al_conn_cut_fn on_cut;
	int stopping; /* under mu */
	int running;
	pthread_t thread;
};

double
al_conn_watch_now(void)
{
	return al_now_s();
}

int
al_conn_watch_new(double deadline_s, al_conn_cut_fn on_cut, struct al_conn_watch **ret)
{
	struct al_conn_watch *w;
	pthread_condattr_t ca;

	if (!(deadline_s > 0))
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->stop_cv, &ca);
	pthread_condattr_destroy(&ca);
	w->deadline = deadline_s;
	w->on_cut = on_cut;
	*ret = w;
	return 0;
}

static void *
reaper_main(void *arg)
{
	struct al_conn_watch *w = arg;
	double step = w->deadline / 4 > 1 ? 1 : w->deadline / 4;

	pthread_mutex_lock(&w->mu);
	while (!w->stopping) {
		double at = al_conn_watch_now() + step;
		struct timespec ts = {.tv_sec = (time_t)at,
				      .tv_nsec = (long)((at - (double)(time_t)at) * 1e9)};

		pthread_cond_timedwait(&w->stop_cv, &w->mu, &ts);
		if (w->stopping)
			break;
		pthread_mutex_unlock(&w->mu);
		unsigned n = al_conn_watch_sweep(w, al_conn_watch_now());
		if (n && w->on_cut)
			w->on_cut(n);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int
al_conn_watch_start(struct al_conn_watch *w)
{
	int r = pthread_create(&w->thread, NULL, reaper_main, w);

	if (r)
		return -r;
	w->running = 1;
	return 0;
}

void
al_conn_watch_free(struct al_conn_watch *w)
{
	if (!w)
		return;
	if (w->running) {
		pthread_mutex_lock(&w->mu);
		w->stopping = 1;
		pthread_cond_signal(&w->stop_cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	/* a listener stopped before its connections closed leaves none behind */
	while (w->head)
		al_conn_watch_remove(w, w->head);
	pthread_cond_destroy(&w->stop_cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

struct al_conn *
al_conn_watch_add(struct al_conn_watch *w, int fd, double now)
{
	struct al_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->since = now;
	c->waiting = 1;
	pthread_mutex_lock(&w->mu);
	c->next = w->head;
	if (w->head)
		w->head->prev = c;
	w->head = c;
	pthread_mutex_unlock(&w->mu);
	return c;
}

void
al_conn_watch_headers_in(struct al_conn_watch *w, struct al_conn *c)
{
	pthread_mutex_lock(&w->mu);
	c->waiting = 0;
	pthread_mutex_unlock(&w->mu);
}

void
al_conn_watch_rearm(struct al_conn_watch *w, struct al_conn *c, double now)
{
	pthread_mutex_lock(&w->mu);
	c->since = now;
	c->waiting = 1;
	pthread_mutex_unlock(&w->mu);
}

void
al_conn_watch_remove(struct al_conn_watch *w, struct al_conn *c)
{
	pthread_mutex_lock(&w->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	pthread_mutex_unlock(&w->mu);
	free(c);
}

unsigned
al_conn_watch_sweep(struct al_conn_watch *w, double now)
{
	unsigned n = 0;

	/* under the lock: the listener removes a connection before it closes its socket, so
	 * the descriptor shut down here is still that connection's */
	pthread_mutex_lock(&w->mu);
	for (struct al_conn *c = w->head; c; c = c->next) {
		if (!c->waiting || c->cut || now - c->since < w->deadline)
			continue;
		shutdown(c->fd, SHUT_RDWR);
		c->cut = 1;
		n++;
	}
	pthread_mutex_unlock(&w->mu);
	return n;
}
