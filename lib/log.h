/* One line per event, key=value fields. Only top-level code logs. */
#pragma once

/* al_log("info", "proposal.queued", "id=%s repo=%s", ...): values the caller passes
 * through al_log_q() are quoted and escaped. */
void al_log(const char *level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Quotes s into a static per-thread ring of buffers; safe for a few uses per line. */
const char *al_log_q(const char *s);
void al_log_quiet(int quiet);
