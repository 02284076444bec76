/* Live updates for the web UI: Server-Sent Events of proposal state changes. */
#pragma once

#include "lib/err.h"
#include "server/http.h"

#define AL_EVENTS_MAX_SUBSCRIBERS 32
#define AL_EVENTS_KEEPALIVE_S 15

struct al_events;

int al_events_new(struct al_events **ret, struct al_err *err);
/* Records that proposal id is now in state and wakes every subscriber. */
void al_events_publish(struct al_events *ev, const char *id, const char *state);
/* Makes resp the stream of a new subscriber (200, text/event-stream), or a 503 when
 * AL_EVENTS_MAX_SUBSCRIBERS are already listening; -EBUSY then. */
int al_events_subscribe(struct al_events *ev, struct al_http_resp *resp);
/* Ends every stream and refuses new ones; before the HTTP server stops. */
void al_events_shutdown(struct al_events *ev);
/* After the HTTP server stopped. */
void al_events_free(struct al_events *ev);
