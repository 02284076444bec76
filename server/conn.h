/* The header deadline: a connection must deliver a request's headers within a fixed time
 * of its start (or of its previous request's end), however slowly it trickles them.  An
 * inactivity timeout alone lets a client that sends a byte a second hold a connection for
 * ever.  Overdue connections have their socket shut down; the listener then closes them. */
#pragma once

struct al_conn_watch;
struct al_conn;

/* Called on the reaper's thread with how many connections a sweep cut (at least one). */
typedef void (*al_conn_cut_fn)(unsigned n);

/* deadline_s: seconds a connection has for its headers.  Nothing runs until
 * al_conn_watch_start. */
int al_conn_watch_new(double deadline_s, al_conn_cut_fn on_cut, struct al_conn_watch **ret);
/* Starts the reaper thread: a sweep every quarter of the deadline, a second at most. */
int al_conn_watch_start(struct al_conn_watch *w);
/* Stops the reaper and frees w; every connection must have been removed. */
void al_conn_watch_free(struct al_conn_watch *w);

/* Watches socket fd from now; NULL when out of memory (the connection is then not
 * watched: the caller refuses it). */
struct al_conn *al_conn_watch_add(struct al_conn_watch *w, int fd, double now);
/* The connection's headers are in: it is not cut until it is re-armed. */
void al_conn_watch_headers_in(struct al_conn_watch *w, struct al_conn *c);
/* A request ended: the connection has the deadline from now for the next one's headers. */
void al_conn_watch_rearm(struct al_conn_watch *w, struct al_conn *c, double now);
/* Stops watching c and frees it, before its socket is closed. */
void al_conn_watch_remove(struct al_conn_watch *w, struct al_conn *c);
/* Shuts down the sockets of connections past the deadline without their headers, each
 * once; returns how many. */
unsigned al_conn_watch_sweep(struct al_conn_watch *w, double now);
/* The monotonic clock the watch's times are on, in seconds. */
double al_conn_watch_now(void);
