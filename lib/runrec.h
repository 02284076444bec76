/* The run record: what the runner writes into result.json for each sandboxed run, and
 * what the gates read back and judge. The one place that names the run statuses and the
 * record's fields; runner/record.c writes them, gates/verdict.c checks them here first. */
#pragma once

#include "lib/err.h"

/* jansson's value, declared here so the sandbox (which has no JSON) can include this */
struct json_t;

/* X(status, meaning): the run statuses, in enum order; a status's name is its suffix. */
#define AL_RUN_STATUSES(X)                                      \
	X(OK, "exited 0")                                       \
	X(RE, "exited non-zero")                                \
	X(SG, "killed by a signal it did not ask for from us")  \
	X(TO, "wall-clock timeout, whole tree killed")          \
	X(OOM, "memory cap reached")                            \
	X(DISK, "disk cap reached (writes failed with ENOSPC)") \
	X(XX, "the sandbox itself failed; never the command's fault")

#define AL_RUN_STATUS_ENUM_(s, meaning) AL_RUN_##s,
enum al_run_status { AL_RUN_STATUSES(AL_RUN_STATUS_ENUM_) };
#undef AL_RUN_STATUS_ENUM_

/* The record's fields. Every run has the first twelve; the rest are optional. */
#define AL_RUNREC_STATUS "status"		  /* string: a run status's name */
#define AL_RUNREC_EXIT_CODE "exit_code"		  /* integer; -1 unless it exited */
#define AL_RUNREC_SIGNAL "signal"		  /* integer; the killing signal, or 0 */
#define AL_RUNREC_KILLED "killed"		  /* boolean: we killed it (timeout) */
#define AL_RUNREC_WALL_MS "wall_ms"		  /* integer */
#define AL_RUNREC_CPU_MS "cpu_ms"		  /* integer */
#define AL_RUNREC_MAX_RSS_KB "max_rss_kb"	  /* integer */
#define AL_RUNREC_STDOUT_BYTES "stdout_bytes"	  /* integer: bytes kept */
#define AL_RUNREC_STDOUT_DROPPED "stdout_dropped" /* integer: bytes dropped past the cap */
#define AL_RUNREC_STDERR_BYTES "stderr_bytes"	  /* integer */
#define AL_RUNREC_STDERR_DROPPED "stderr_dropped" /* integer */
#define AL_RUNREC_DENIED "denied" /* array of {"syscall": string, "count": integer} */
#define AL_RUNREC_DENIED_SYSCALL "syscall"
#define AL_RUNREC_DENIED_COUNT "count"
#define AL_RUNREC_SPAWN_US "spawn_us"	  /* integer: set-up to exec, when known */
#define AL_RUNREC_DETAIL "detail"	  /* string: for XX, the set-up step that failed */
#define AL_RUNREC_DISK_BYTES "disk_bytes" /* integer: the run's disk in use at its end */
#define AL_RUNREC_STDOUT "stdout"	  /* string: the output kept (not UTF-8: U+FFFD) */
#define AL_RUNREC_STDERR "stderr"	  /* string */

/* "OK", "RE", ...; "??" for a value that is no status. */
const char *al_runrec_status_name(enum al_run_status s);
/* The status of that name, or -EINVAL (NULL included). */
int al_runrec_status_parse(const char *name);
/* 0 when rec is a run record: an object with every required field of its JSON type, a
 * known status and well-formed denied entries, optional fields of their type when there.
 * -EBADMSG otherwise, with the first problem in err. Other keys are left to the caller. */
int al_runrec_check(const struct json_t *rec, struct al_err *err);
