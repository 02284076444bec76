#include "views.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long long
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ids are 32 random hex digits: their first eight pick the slot */
static struct al_view *
slot_of(struct al_views *v, const char *id)
{
	unsigned long h = 0;

	for (int i = 0; i < 8 && id[i]; i++)
		h = h * 16 +
		    (unsigned long)(id[i] <= '9' ? id[i] - '0' : (id[i] | 0x20) - 'a' + 10);
	return &v->slot[h % AL_VIEW_SLOTS];
}

static int
same_stamp(const struct al_view_stamp *a, const struct al_view_stamp *b)
{
	return a->store.own == b->store.own && a->store.others == b->store.others &&
	       a->config == b->config;
}

void
al_views_init(struct al_views *v)
{
	memset(v, 0, sizeof(*v));
	pthread_mutex_init(&v->mu, NULL);
}

void
al_views_free(struct al_views *v)
{
	for (size_t i = 0; i < AL_VIEW_SLOTS; i++)
		free(v->slot[i].body);
	pthread_mutex_destroy(&v->mu);
	memset(v, 0, sizeof(*v));
}

int
al_views_get(struct al_views *v, const char *id, const struct al_view_stamp *stamp, char **ret_body,
	     size_t *ret_len)
{
	struct al_view *e;
	int r = -ENOENT;

	pthread_mutex_lock(&v->mu);
	e = slot_of(v, id);
	if (e->body && !strcmp(e->id, id) && same_stamp(&e->stamp, stamp) &&
	    mono_ms() - e->built_ms < AL_VIEW_TTL_MS) {
		*ret_body = malloc(e->len + 1);
		if (*ret_body) {
			memcpy(*ret_body, e->body, e->len + 1);
			*ret_len = e->len;
			r = 0;
		} else {
			r = -ENOMEM;
		}
	}
	if (r == 0)
		v->hits++;
	else
		v->misses++;
	pthread_mutex_unlock(&v->mu);
	return r;
}

void
al_views_put(struct al_views *v, const char *id, const struct al_view_stamp *stamp,
	     const char *body, size_t len)
{
	struct al_view *e;
	char *copy;

	if (len > AL_VIEW_MAX_BYTES || strlen(id) >= sizeof(e->id))
		return;
	copy = malloc(len + 1);
	if (!copy)
		return;
	memcpy(copy, body, len);
	copy[len] = '\0';
	pthread_mutex_lock(&v->mu);
	e = slot_of(v, id);
	free(e->body);
	memcpy(e->id, id, strlen(id) + 1);
	e->stamp = *stamp;
	e->built_ms = mono_ms();
	e->body = copy;
	e->len = len;
	pthread_mutex_unlock(&v->mu);
}

void
al_views_counts(struct al_views *v, unsigned long long *hits, unsigned long long *misses)
{
	pthread_mutex_lock(&v->mu);
	*hits = v->hits;
	*misses = v->misses;
	pthread_mutex_unlock(&v->mu);
}
