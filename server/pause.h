/* The kill switch (server/pause.c): while paused no job starts, running ones are stopped and
 * queued again, no grant is signed and no ref moves; it outlives a restart. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "lib/err.h"

struct al_server;
struct al_pause;

#define AL_PAUSE_REASON_MAX 300

int al_pause_new(struct al_pause **ret);
void al_pause_free(struct al_pause *p);
/* Reads DATA/paused.json, the pause a stop or crash kept; 1 when paused. */
int al_pause_load(struct al_pause *p, const char *data_dir, struct al_err *err);
/* true while paused, with why in reason (may be NULL). */
bool al_pause_on(struct al_server *srv, char reason[AL_PAUSE_REASON_MAX]);
/* {"paused": false} or {"paused": true, "reason", "by", "at"}. */
json_t *al_pause_json(struct al_server *srv);
/* Pauses: recorded in DATA/paused.json and audited; the caller then stops what runs
 * (al_sched_requeue_all).  -EALREADY when already paused. */
int al_pause_set(struct al_server *srv, const char *reason, const char *by, struct al_err *err);
/* Resumes: the file removed, audited; the caller wakes the scheduler.  -EALREADY when not
 * paused. */
int al_pause_clear(struct al_server *srv, const char *by, struct al_err *err);
