/* What a job hands `airlock runner` and takes back from it (server/job.c): pure, no files,
 * no store; the scheduler (server/sched.c) does the writing, the waiting and the storing. */
#pragma once

#include <jansson.h>

#include "gates/gates.h"
#include "lib/err.h"
#include "server/config.h"
#include "server/store.h"

/* The runner's own time on top of its runs' timeouts: checkout, trees, reports. */
#define AL_JOB_RUNNER_SLACK_S 120
/* An environment image unpacked for the first time. */
#define AL_JOB_IMAGE_SLACK_S 600
/* The largest result.json read back. */
#define AL_JOB_RESULT_MAX_BYTES (256u << 20)

/* job.json for proposal p in the repository at repo_path under policy: the plan, the
 * policy's limits and the branch tips (taken) the base must still be on.  NULL when out
 * of memory. */
json_t *al_job_spec(const struct al_proposal *p, const char *repo_path,
		    const struct al_policy *policy, const json_t *plan, json_t *tips);
/* The deadline of a runner with n_runs runs to do: one timeout per run, one more for the
 * set-up, and the slack. */
int al_job_timeout_s(const struct al_policy *policy, size_t n_runs);
/* result.json as the runner wrote it: a JSON object without duplicate keys whose "runs",
 * when there, is an array.  0 and the object, or -EBADMSG. */
int al_job_result_parse(const char *text, size_t len, json_t **ret, struct al_err *err);

/* What the runner must not see (runner/confine.c): the data directory, the configuration
 * and the secret files it names, and every repository (the job's own is put back). A
 * missing one is skipped by the runner. */
json_t *al_job_hide(const struct al_config *c, const char *config_path);
