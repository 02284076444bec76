/* The kill switch: one flag under its own lock, kept in DATA/paused.json so that a restart
 * stays paused, each change audited.  Everything that starts a job, signs a grant or moves
 * a ref asks al_pause_on first. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "server/pause.h"
#include "server/server.h"

#define PAUSE_FILE "paused.json"
#define PAUSE_FILE_MAX 4096

struct al_pause {
	pthread_mutex_t mu;
	bool on;
	char reason[AL_PAUSE_REASON_MAX];
	char by[65];
	long long at;
};

int
al_pause_new(struct al_pause **ret)
{
	struct al_pause *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	*ret = p;
	return 0;
}

void
al_pause_free(struct al_pause *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->mu);
	free(p);
}

int
al_pause_load(struct al_pause *p, const char *data_dir, struct al_err *err)
{
	_cleanup_free_ char *path = al_path_join(data_dir, PAUSE_FILE), *text = NULL;
	json_t *j;
	size_t len;
	int r;

	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (access(path, F_OK) < 0)
		return 0;
	r = al_file_read(path, PAUSE_FILE_MAX, &text, &len, err);
	if (r < 0)
		return r;
	j = json_loadb(text, len, 0, NULL);
	/* unreadable: paused all the same (fail closed), saying so */
	snprintf(p->reason, sizeof(p->reason), "%s",
		 json_string_value(json_object_get(j, "reason"))
		     ?: "paused before a restart (paused.json unreadable)");
	snprintf(p->by, sizeof(p->by), "%s", json_string_value(json_object_get(j, "by")) ?: "");
	p->at = json_integer_value(json_object_get(j, "at"));
	p->on = true;
	json_decref(j);
	return 1;
}

bool
al_pause_on(struct al_server *srv, char reason[AL_PAUSE_REASON_MAX])
{
	struct al_pause *p = srv->pause;
	bool on;

	pthread_mutex_lock(&p->mu);
	on = p->on;
	if (on && reason)
		memcpy(reason, p->reason, AL_PAUSE_REASON_MAX);
	pthread_mutex_unlock(&p->mu);
	return on;
}

json_t *
al_pause_json(struct al_server *srv)
{
	struct al_pause *p = srv->pause;
	json_t *j;

	pthread_mutex_lock(&p->mu);
	j = p->on ? json_pack("{s:b, s:s, s:s, s:I}", "paused", 1, "reason", p->reason, "by", p->by,
			      "at", (json_int_t)p->at)
		  : json_pack("{s:b}", "paused", 0);
	pthread_mutex_unlock(&p->mu);
	return j;
}

static char *
pause_path(struct al_server *srv)
{
	struct al_config *cfg = al_live_config(srv);
	char *path = al_path_join(cfg->data, PAUSE_FILE);

	al_live_config_put(srv, cfg);
	return path;
}

int
al_pause_set(struct al_server *srv, const char *reason, const char *by, struct al_err *err)
{
	struct al_pause *p = srv->pause;
	_cleanup_free_ char *path = pause_path(srv), *text = NULL;
	long long now = (long long)time(NULL);
	json_t *j;
	int r;

	j = json_pack("{s:s, s:s, s:I}", "reason", reason, "by", by, "at", (json_int_t)now);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!path || !text)
		return al_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_lock(&p->mu);
	if (p->on) {
		pthread_mutex_unlock(&p->mu);
		return al_err_set(err, -EALREADY, "already paused: %s", p->reason);
	}
	/* on record first: a crash right after still comes back paused */
	r = al_file_write_atomic(path, text, strlen(text), 0600, err);
	if (r == 0) {
		p->on = true;
		snprintf(p->reason, sizeof(p->reason), "%s", reason);
		snprintf(p->by, sizeof(p->by), "%s", by);
		p->at = now;
	}
	pthread_mutex_unlock(&p->mu);
	if (r == 0)
		(void)al_store_audit_note(srv->store, by, "server.pause", NULL, reason, NULL);
	return r;
}

int
al_pause_clear(struct al_server *srv, const char *by, struct al_err *err)
{
	struct al_pause *p = srv->pause;
	_cleanup_free_ char *path = pause_path(srv);
	int r = 0;

	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_lock(&p->mu);
	if (!p->on)
		r = al_err_set(err, -EALREADY, "not paused");
	else if (unlink(path) < 0 && errno != ENOENT)
		r = al_err_set(err, -errno, "%s: %s", path, strerror(errno));
	else
		p->on = false;
	pthread_mutex_unlock(&p->mu);
	if (r == 0)
		(void)al_store_audit_note(srv->store, by, "server.resume", NULL, NULL, NULL);
	return r;
}
