/* A job's path out: the egress proxy the server starts for a job whose policy gives its
 * gate runs one (outside the runner, so that secret values never enter it), the runner's
 * end of its control socket, and the proxy's record of every connection, which goes into
 * the result, the verdict's evidence and the metrics. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "gates/gates.h"
#include "lib/err.h"
#include "runner/egress.h"

/* The fds the runner finds the proxies' control sockets on: the gate runs', setup's. */
#define AL_JOB_EGRESS_FD 3
#define AL_JOB_SETUP_EGRESS_FD 4

/* Zero-initialised, it holds nothing (al_job_egress_clear does nothing to it). */
struct al_job_egress {
	bool started; /* proc's fds are ours to close */
	bool on;
	int fd; /* the runner's fd for it: AL_JOB_EGRESS_FD or AL_JOB_SETUP_EGRESS_FD */
	struct al_egress_proc proc;
};

/* Starts the proxy when policy gives phase ("gate" or "setup") a path out (else does
 * nothing). */
int al_job_egress_start(const char *core, const struct al_policy *policy, const char *phase,
			const char *job_id, struct al_job_egress *e, struct al_err *err);
/* job.json's "egress" (or "setup_egress"): {"fd", "bundle"}, or NULL without one. */
json_t *al_job_egress_spec(const struct al_job_egress *e);
/* The control socket the runner is handed (at e->fd in it); -1 without one. */
int al_job_egress_fd(const struct al_job_egress *e);
/* Once the runner has its copy: ours goes, so that the runner's end is the last. */
void al_job_egress_handed(struct al_job_egress *e);
/* Waits for the proxy and returns its connections (an array, owned; empty without
 * egress), counted in the metrics. */
int al_job_egress_finish(struct al_job_egress *e, json_t **ret, struct al_err *err);
/* {"connections": n, "denied": ["host:port: reason", ...]} for the verdict's evidence. */
json_t *al_job_egress_summary(const json_t *connections);
void al_job_egress_clear(struct al_job_egress *e);
/* Every secret file the policy's egress names (for the runner's covers). */
void al_job_egress_secret_files(const struct al_policy *policy, json_t *paths);
