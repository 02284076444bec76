/* Automatic quarantine (gates/quarantine.c): what a finished job counts for against its
 * proposer, and whether the jobs counted in a window cross the policy's limits.  Pure
 * functions; the server keeps the counts (server/quarantine.c). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct al_policy;

/* X(ID, "policy key", default limit, what a count of one is): the kinds of anomaly, written
 * once for the policy's keys, their defaults, the store's columns and the reasons. */
/* clang-format off */
#define AL_ANOMALY_KINDS(X)                                                              \
	X(ESCAPE, "escape_jobs", 3, "job(s) whose sandbox denied an escape-class syscall") \
	X(STATIC, "static_hits", 3, "job(s) rejected by the secrets or path rules")       \
	X(KILL, "kill_jobs", 5, "job(s) with a run killed at its time or memory cap")     \
	X(REJECTED, "rejected", 20, "proposal(s) rejected by the gates")                  \
	X(EGRESS, "egress_jobs", 0, "job(s) whose runs tried to reach a host egress denies")
/* clang-format on */

#define AL_ANOMALY_ENUM_(id, key, def, what) AL_ANOMALY_##id,
enum al_anomaly_kind { AL_ANOMALY_KINDS(AL_ANOMALY_ENUM_) AL_ANOMALY_N };
#undef AL_ANOMALY_ENUM_

#define AL_QUARANTINE_WINDOW_DEFAULT_MIN 60
#define AL_QUARANTINE_WINDOW_MAX_MIN (7 * 24 * 60)
#define AL_QUARANTINE_LIMIT_MAX 1000
/* The escape-class calls a job was denied, by name, comma-separated. */
#define AL_ANOMALY_CALLS_MAX 160
#define AL_QUARANTINE_REASON_MAX 300

/* One job: each count 0 or 1.  Summed over a window: how many jobs. */
struct al_anomaly {
	unsigned n[AL_ANOMALY_N];
	char calls[AL_ANOMALY_CALLS_MAX];
};

/* The policy's "quarantine" object: a window and a limit for each kind (0: not counted). */
struct al_quarantine_rules {
	unsigned window_s;
	unsigned limit[AL_ANOMALY_N];
};

/* The key of a kind in the policy ("escape_jobs"), and what one count of it is. */
const char *al_gates_anomaly_key(enum al_anomaly_kind k);
const char *al_gates_anomaly_what(enum al_anomaly_kind k);
/* Whether the sandbox denying this call (a name from the run record) is an attempt to
 * leave it: tracing, other processes' memory, keyrings, BPF, perf, mounts, namespaces,
 * kernel modules, kexec, reboot, swap, file handles; and "(other)", the calls a record
 * had no room to name.  docs/policy.md lists them. */
bool al_gates_escape_syscall(const char *name);
/* What a job that ended in state, with the runner's result and the verdict (either may be
 * NULL), counts for.  A malformed run record counts for nothing here. */
void al_gates_anomaly(const json_t *result, const json_t *verdict, const char *state,
		      struct al_anomaly *ret);
/* The policy's quarantine settings, defaults where it says nothing. */
void al_policy_quarantine(const struct al_policy *p, struct al_quarantine_rules *ret);
/* The first kind whose count over the window reached its limit, with why in reason
 * ("2 job(s) whose sandbox ... in 10 min (ptrace, mount)"); -1 when none did. */
int al_gates_quarantine_due(const struct al_quarantine_rules *q, const struct al_anomaly *counts,
			    char *reason, size_t n);
