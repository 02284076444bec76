/* Job scheduler: claims queued proposals, execs one `airlock runner` per job, judges the
 * result with gates/, and signs a grant only from a complete set of passing results. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gates/gates.h"
#include "gates/judge.h"
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/macros.h"
#include "lib/runrec.h"
#include "server/bases.h"
#include "server/egress.h"
#include "server/envcache.h"
#include "server/grant.h"
#include "server/job.h"
#include "server/metrics.h"
#include "server/pause.h"
#include "server/quarantine.h"
#include "server/server.h"

/* A job the server stopped under this many times ends in error instead of a fourth run. */
#define AL_MAX_ATTEMPTS 3
/* An idle worker looks at the queue this often even when nothing wakes it. */
#define POLL_S 2

/* A worker's job, read and changed under the scheduler's mu. */
struct al_running {
	char id[33];   /* "" when idle */
	pid_t runner;  /* 0 before it starts */
	int cancelled; /* the proposal moved on: nothing of this run is written */
	int requeued;  /* the server stops: the run is left to the next start */
};

struct al_sched {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stopping;
	pthread_t *workers; /* owned */
	unsigned n_workers;
	struct al_running *running; /* owned, one per worker */
};

extern char **environ;

struct job {
	struct al_server *srv;
	struct al_running *slot; /* this worker's entry in the scheduler's running */
	struct al_config *cfg;	 /* a reference */
	struct al_proposal *p;
	const struct al_repo_conf *repo;
	char *dir;	 /* owned */
	json_t *ftp;	 /* owned */
	json_t *rules;	 /* owned: every rule result so far */
	json_t *result;	 /* owned */
	json_t *verdict; /* owned */
	char *grant;	 /* owned */
	int tier;
	double policy_s;		   /* time spent judging, for the metrics */
	struct al_job_egress egress;	   /* the gate runs' path out, when policy gives one */
	json_t *egress_record;		   /* owned; its connections, once the proxy ended */
	struct al_job_egress setup_egress; /* setup's path out, likewise */
	json_t *setup_egress_record;
};

static void
job_clear(struct job *j)
{
	al_proposal_free(j->p);
	free(j->dir);
	json_decref(j->ftp);
	json_decref(j->rules);
	json_decref(j->result);
	json_decref(j->verdict);
	free(j->grant);
	al_job_egress_clear(&j->egress);
	json_decref(j->egress_record);
	al_job_egress_clear(&j->setup_egress);
	json_decref(j->setup_egress_record);
	al_live_config_put(j->srv, j->cfg);
}

static int
write_job_files(struct job *j, const json_t *plan, struct al_err *err)
{
	_cleanup_free_ char *patch = al_path_join(j->dir, "patch.diff");
	_cleanup_free_ char *tpatch = al_path_join(j->dir, "test_patch.diff");
	_cleanup_free_ char *spec = al_path_join(j->dir, "job.json");
	_cleanup_free_ char *text = NULL;
	json_t *o, *tips = NULL;
	int r;

	if (!patch || !tpatch || !spec)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_file_write_atomic(patch, j->p->patch, j->p->patch_len, 0600, err);
	if (r == 0 && j->p->test_patch)
		r = al_file_write_atomic(tpatch, j->p->test_patch, j->p->test_patch_len, 0600, err);
	/* the branches as they are now: a base taken off them since intake is refused */
	if (r == 0)
		r = al_bases_tips(j->repo, &tips, err);
	if (r < 0)
		return r;
	o = al_job_spec(j->p, j->repo->path, j->repo->policy, plan, tips);
	if (o && json_object_set_new(o, "cache", json_string(j->cfg->cache_dir)) < 0)
		json_decref(o), o = NULL;
	if (o && json_object_set_new(o, "confine",
				     json_pack("{s:o, s:[s+, s+]}", "hide",
					       al_job_hide(j->cfg, j->srv->config_path), "secrets",
					       j->cfg->data, "/signing.key", j->cfg->data,
					       "/airlock.db")) < 0)
		json_decref(o), o = NULL;
	/* the egress secrets are the proxy's alone: the runner checks it cannot read them */
	if (o)
		al_job_egress_secret_files(
		    j->repo->policy, json_object_get(json_object_get(o, "confine"), "secrets"));
	if (o && j->egress.on &&
	    json_object_set_new(o, "egress", al_job_egress_spec(&j->egress)) < 0)
		json_decref(o), o = NULL;
	if (o && j->setup_egress.on &&
	    json_object_set_new(o, "setup_egress", al_job_egress_spec(&j->setup_egress)) < 0)
		json_decref(o), o = NULL;
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return al_err_set(err, -ENOMEM, "out of memory");
	return al_file_write_atomic(spec, text, strlen(text), 0600, err);
}

/* A job's directory, whatever its runs left there: what a sandbox wrote under an
 * unprivileged airlock belongs to a subordinate id, which only a runner's namespace can
 * remove (runner/confine.c). */
static int
remove_tree(const struct al_server *srv, const char *dir)
{
	char *argv[] = {"airlock", "runner", "--remove", (char *)dir, NULL};
	int r = al_rm_rf(dir), st;
	pid_t pid;

	if (r == 0 || geteuid() == 0 || access(dir, F_OK) < 0)
		return r;
	if (posix_spawn(&pid, srv->self_exe, NULL, NULL, argv, environ) != 0)
		return r;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return r;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : r;
}

static int
exec_runner(struct job *j, size_t n_runs, struct al_err *err)
{
	char parent[24];
	char *argv[] = {"airlock", "runner", "--job", j->dir, "--parent", parent, NULL};
	int timeout = al_job_timeout_s(j->repo->policy, n_runs);
	_cleanup_close_ int pfd = -1;
	int status = 0, r;
	double t0;
	pid_t pid;

	posix_spawnattr_t attr;
	posix_spawn_file_actions_t fa;
	sigset_t none, all;

	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	/* The serving threads block SIGINT and SIGTERM; the runner starts from defaults. */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawn_file_actions_init(&fa);
	/* the proxy's control socket, at the fd job.json names (cloexec elsewhere) */
	if (al_job_egress_fd(&j->egress) >= 0)
		posix_spawn_file_actions_adddup2(&fa, al_job_egress_fd(&j->egress),
						 AL_JOB_EGRESS_FD);
	if (al_job_egress_fd(&j->setup_egress) >= 0)
		posix_spawn_file_actions_adddup2(&fa, al_job_egress_fd(&j->setup_egress),
						 AL_JOB_SETUP_EGRESS_FD);
	pthread_mutex_lock(&j->srv->sched->mu);
	r = j->slot->cancelled || j->slot->requeued
		? ECANCELED
		: posix_spawn(&pid, j->srv->self_exe, &fa, &attr, argv, environ);
	if (r == 0)
		j->slot->runner = pid;
	pthread_mutex_unlock(&j->srv->sched->mu);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	al_job_egress_handed(&j->egress);
	al_job_egress_handed(&j->setup_egress);
	if (r != 0)
		return al_err_set(err, -r, "cannot start runner: %s", strerror(r));
	t0 = al_metrics_now();
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	r = al_proc_wait_deadline(pid, pfd, timeout * 1000L, &status);
	al_metrics_observe(AL_H_RUNNER, al_metrics_now() - t0);
	pthread_mutex_lock(&j->srv->sched->mu);
	j->slot->runner = 0;
	pthread_mutex_unlock(&j->srv->sched->mu);
	if (r < 0)
		return al_err_set(err, r, "waiting for runner: %s", strerror(-r));
	if (r == 1)
		return al_err_set(err, -ETIMEDOUT, "runner passed its deadline of %d s: killed",
				  timeout);
	if (WIFSIGNALED(status))
		return al_err_set(err, -EIO, "runner killed by signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		return al_err_set(err, -EIO, "runner exited with status %d", WEXITSTATUS(status));
	return 0;
}

/* Each run's wall clock and the syscalls its sandbox denied, for the metrics. */
static void
observe_runs(const json_t *runs)
{
	size_t i, k;
	json_t *run, *d;

	json_array_foreach (runs, i, run) {
		json_t *wall = json_object_get(run, AL_RUNREC_WALL_MS);
		json_t *spawn = json_object_get(run, AL_RUNREC_SPAWN_US);

		/* a malformed record counts for nothing here; the verdict rejects it */
		if (al_runrec_check(run, NULL) < 0)
			continue;
		if (json_is_integer(wall))
			al_metrics_observe(AL_H_SANDBOX, (double)json_integer_value(wall) / 1000.0);
		if (json_is_integer(spawn))
			al_metrics_observe(AL_H_SPAWN, (double)json_integer_value(spawn) / 1e6);
		json_array_foreach (json_object_get(run, AL_RUNREC_DENIED), k, d)
			al_metrics_denied(
			    json_string_value(json_object_get(d, AL_RUNREC_DENIED_SYSCALL)),
			    json_integer_value(json_object_get(d, AL_RUNREC_DENIED_COUNT)));
	}
}

static int
load_result(struct job *j, struct al_err *err)
{
	_cleanup_free_ char *path = al_path_join(j->dir, "result.json");
	_cleanup_free_ char *text = NULL;
	size_t len;
	int r;

	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_file_read(path, AL_JOB_RESULT_MAX_BYTES, &text, &len, err);
	if (r < 0)
		return al_err_prefix(err, "runner result");
	r = al_job_result_parse(text, len, &j->result, err);
	if (r < 0)
		return r;
	observe_runs(json_object_get(j->result, "runs"));
	al_envcache_count(j->result);
	return 0;
}

/* The static rules, judged before anything runs. */
static int
static_gates(struct job *j, struct al_err *err)
{
	json_t *rules = NULL;
	double t0 = al_metrics_now();
	int r = al_gates_static(j->repo->policy, j->p->patch, j->p->patch_len, j->p->test_patch,
				j->p->test_patch_len, &rules, err);

	j->policy_s += al_metrics_now() - t0;
	if (r < 0)
		return r;
	j->rules = rules;
	return 0;
}

/* Which image the runs saw and how setup went, for the verdict and the page. */
static void
verdict_environment(struct job *j)
{
	const json_t *env = json_object_get(j->result, "environment");
	const json_t *setup = json_object_get(j->result, "setup");
	json_t *o;

	if (!env && !setup)
		return;
	o = json_pack("{s:O?, s:O?, s:O?}", "image", json_object_get(env, "image"), "unpack",
		      json_object_get(env, "unpack"), "unpack_ms", json_object_get(env, "ms"));
	if (o && setup)
		json_object_set_new(o, "setup",
				    json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, s:o}", "key",
					      json_object_get(setup, "key"), "layer",
					      json_object_get(setup, "layer"), "ms",
					      json_object_get(setup, "ms"), "changed",
					      json_object_get(setup, "changed"), "own",
					      json_object_get(setup, "own"), "failed",
					      json_object_get(setup, "failed"), "egress",
					      al_job_egress_summary(j->setup_egress_record)));
	if (o)
		json_object_set_new(j->verdict, "environment", o);
}

static int
run_gates(struct job *j, struct al_err *err)
{
	json_t *plan = NULL, *v = NULL;
	double t0;
	int r;

	r = al_gates_plan(j->repo->policy, j->ftp, &plan, err);
	if (r == 0 && al_mkdir_p(j->dir, 0700) < 0)
		r = al_err_set(err, -errno, "%s: cannot create", j->dir);
	if (r == 0)
		r = al_job_egress_start(j->srv->self_exe, j->repo->policy, "gate", j->p->id,
					&j->egress, err);
	if (r == 0)
		r = al_job_egress_start(j->srv->self_exe, j->repo->policy, "setup", j->p->id,
					&j->setup_egress, err);
	if (r == 0)
		r = write_job_files(j, plan, err);
	if (r == 0)
		r = exec_runner(j, json_array_size(plan), err);
	json_decref(plan);
	if (r == 0)
		r = al_job_egress_finish(&j->egress, &j->egress_record, err);
	if (r == 0)
		r = al_job_egress_finish(&j->setup_egress, &j->setup_egress_record, err);
	if (r == 0)
		r = load_result(j, err);
	if (r == 0 && json_array_size(j->egress_record))
		json_object_set(j->result, "egress", j->egress_record);
	if (r == 0 && json_array_size(j->setup_egress_record))
		json_object_set(j->result, "setup_egress", j->setup_egress_record);
	t0 = al_metrics_now();
	if (r == 0)
		r = al_gates_evaluate(j->repo->policy, j->ftp, j->result, &v, err);
	if (r == 0)
		r = al_judge_run(
		    j->repo->policy,
		    &(struct al_judge_job){.id = j->p->id,
					   .base = j->p->base,
					   .proposer = j->p->proposer,
					   .patch = j->p->patch,
					   .patch_len = j->p->patch_len,
					   .test_patch = j->p->test_patch,
					   .test_patch_len = j->p->test_patch_len,
					   .runner_files = json_object_get(j->result, "files"),
					   .setup_changed = json_object_get(
					       json_object_get(j->result, "setup"), "changed")},
		    steal_pointer(&j->rules), v, &j->verdict, &j->tier, err);
	if (r == 0 && al_policy_egress(j->repo->policy, "gate"))
		json_object_set_new(j->verdict, "egress", al_job_egress_summary(j->egress_record));
	if (r == 0)
		verdict_environment(j);
	j->policy_s += al_metrics_now() - t0;
	json_decref(v);
	return r;
}

/* A finished job counted against its proposer, who may be quarantined by it. */
static void
count_anomalies(struct job *j, const char *state)
{
	char reason[AL_QUARANTINE_REASON_MAX];
	struct al_err err = {0};
	int r = al_quarantine_observe(j->srv, j->repo ? j->repo->policy : NULL, j->p->proposer,
				      j->p->id, j->result, j->verdict, state, reason, &err);

	if (r < 0)
		al_log("error", "quarantine.count_failed", "id=%s error=%s", j->p->id,
		       al_log_q(al_err_msg(&err)));
	else if (r == 1)
		al_log("warn", "token.quarantined", "name=%s id=%s reason=%s",
		       al_log_q(j->p->proposer), j->p->id, al_log_q(reason));
}

static int
finish(struct job *j, const char *state, const char *error)
{
	int r;

	_cleanup_free_ char *result = j->result ? json_dumps(j->result, JSON_COMPACT) : NULL;
	_cleanup_free_ char *verdict = j->verdict ? json_dumps(j->verdict, JSON_COMPACT) : NULL;
	struct al_err err = {0};
	struct al_outcome o = {
	    .state = state,
	    .base_commit = json_string_value(json_object_get(j->result, "base_commit")),
	    .candidate_commit = json_string_value(json_object_get(j->result, "candidate_commit")),
	    .candidate_tree = json_string_value(json_object_get(j->result, "candidate_tree")),
	    .result = result,
	    .verdict = verdict,
	    .grant = !strcmp(state, "granted") ? j->grant : NULL,
	    .error = error,
	    .tier = !strcmp(state, "error") ? 0 : j->tier,
	    .policy_digest = j->repo ? j->repo->policy_digest : NULL,
	};

	pthread_mutex_lock(&j->srv->sched->mu);
	r = j->slot->requeued;
	pthread_mutex_unlock(&j->srv->sched->mu);
	if (r) {
		al_log("info", "job.left_for_restart", "id=%s", j->p->id);
		return -ECANCELED;
	}
	/* Counted before the state is stored: whoever sees the job ended also sees the
	 * quarantine it tipped, so its proposer cannot slip one more submission in between.
	 * A job whose proposal moved on while it ran still did what it did. */
	count_anomalies(j, state);
	r = al_store_finish(j->srv->store, j->p->id, &o, &err);
	if (r == -ESTALE)
		al_log("info", "job.discarded", "id=%s reason=%s", j->p->id,
		       al_log_q("the proposal moved on while it ran (superseded or cancelled)"));
	else if (r < 0)
		al_log("error", "job.store_failed", "id=%s error=%s", j->p->id,
		       al_log_q(al_err_msg(&err)));
	else
		al_log("info", "job.finished", "id=%s state=%s reason=%s", j->p->id, state,
		       al_log_q(error ? error
				      : json_string_value(json_object_get(j->verdict, "reason"))));
	return r;
}

/* A stored grant: its note on the candidate, and its use at once when policy says so. */
static void
after_grant(struct job *j)
{
	const char *commit = json_string_value(json_object_get(j->result, "candidate_commit"));
	struct al_refusal why = {0};
	json_t *answer = NULL;

	al_issue_note(j->repo, j->p->id, commit, j->grant);
	if (!al_policy_auto_promote(j->repo->policy))
		return;
	/* the job that quarantined its proposer (or one that finished since) moves no ref by
	 * itself: the grant waits for a person (unreadable: the same) */
	if (al_store_quarantine_get(j->srv->store, j->p->proposer, NULL) != 0) {
		al_log("info", "proposal.auto_promote_held", "id=%s proposer=%s", j->p->id,
		       al_log_q(j->p->proposer));
		return;
	}
	if (al_promote_grant(j->srv, j->p->id, "auto", &answer, &why) < 0)
		al_log("error", "proposal.auto_promote_failed", "id=%s status=%d detail=%s",
		       j->p->id, why.status, al_log_q(why.detail));
	json_decref(answer);
}

static void
run_job(struct al_server *srv, struct al_running *slot, const char *id)
{
	struct job j = {.srv = srv, .slot = slot};
	struct al_err err = {0};
	double started = al_metrics_now();
	int r;

	r = al_store_proposal_get(srv->store, id, &j.p, &err);
	if (r < 0) {
		al_log("error", "job.load_failed", "id=%s error=%s", id,
		       al_log_q(al_err_msg(&err)));
		return;
	}
	if (strcmp(j.p->state, "running")) {
		al_log("info", "job.cancelled", "id=%s state=%s", id, j.p->state);
		al_proposal_free(j.p);
		return;
	}
	al_log("info", "job.started", "id=%s repo=%s revision=%lld", id, al_log_q(j.p->repo),
	       j.p->revision);
	j.cfg = al_live_config(srv);
	j.repo = al_config_repo(j.cfg, j.p->repo);
	j.ftp = json_loads(j.p->fail_to_pass, 0, NULL);
	j.dir = al_path_join(j.cfg->data, "jobs");
	if (j.dir) {
		char *d = al_path_join(j.dir, id);
		free(j.dir);
		j.dir = d;
	}
	if (!j.repo)
		r = al_err_set(&err, -ENOENT, "repository %s is no longer configured", j.p->repo);
	else if (!j.ftp || !j.dir)
		r = al_err_set(&err, -ENOMEM, "out of memory");
	else
		r = static_gates(&j, &err);
	if (r == 0 && al_judge_first_failure(j.rules)) {
		j.verdict = al_judge_rejection(j.rules);
		finish(&j, "rejected", NULL);
		goto out;
	}
	if (r == 0) {
		remove_tree(srv, j.dir);
		r = run_gates(&j, &err);
	}
	if (r == 0 && !strcmp(json_string_value(json_object_get(j.verdict, "decision")), "granted"))
		r = al_issue_grant(srv, j.repo, j.p, j.result, j.verdict, 1, NULL, &j.grant, &err);
	if (r < 0)
		finish(&j, "error", al_err_msg(&err));
	else if (finish(&j, json_string_value(json_object_get(j.verdict, "decision")), NULL) == 0 &&
		 j.grant)
		after_grant(&j);
out:
	if (j.dir)
		remove_tree(srv, j.dir);
	al_envcache_after_job(srv->self_exe, j.cfg);
	al_metrics_observe(AL_H_GATE, al_metrics_now() - started);
	if (j.policy_s > 0)
		al_metrics_observe(AL_H_POLICY, j.policy_s);
	job_clear(&j);
}

struct worker_arg {
	struct al_server *srv;
	struct al_running *slot;
};

/* Claims the oldest queued proposal and names it in the worker's slot.  A cancel that
 * commits before the slot is named is seen by run_job in the proposal's state, one after it
 * finds the slot. */
static int
claim(struct al_server *srv, struct al_running *slot, char id[33], struct al_err *err)
{
	struct al_sched *s = srv->sched;
	int r = al_store_claim_next(srv->store, id, err);

	if (r == 0) {
		pthread_mutex_lock(&s->mu);
		*slot = (struct al_running){0};
		memcpy(slot->id, id, sizeof(slot->id));
		/* paused between the look and the claim: the job goes straight back */
		slot->requeued = al_pause_on(srv, NULL);
		pthread_mutex_unlock(&s->mu);
	}
	return r;
}

/* A job the kill switch stopped goes back to the queue.  At shutdown al_sched_stop does it
 * instead. */
static void
requeue_after_pause(struct al_server *srv, const char *id)
{
	struct al_err err = {0};
	int r = al_store_requeue(srv->store, id,
				 "the server was paused while its job ran: queued again", &err);

	al_log(r < 0 ? "error" : "info", "sched.requeued_at_pause", "id=%s error=%s", id,
	       al_log_q(r < 0 ? al_err_msg(&err) : ""));
}

static int
stopping(struct al_sched *s)
{
	int stop;

	pthread_mutex_lock(&s->mu);
	stop = s->stopping;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

static void *
worker(void *arg)
{
	struct al_server *srv = ((struct worker_arg *)arg)->srv;
	struct al_running *slot = ((struct worker_arg *)arg)->slot;
	struct al_sched *s = srv->sched;
	char id[33];
	struct al_err err;

	free(arg);
	while (!stopping(s)) {
		int r = -ENOENT;

		memset(&err, 0, sizeof(err));
		if (!al_pause_on(srv, NULL))
			r = claim(srv, slot, id, &err);
		if (r == 0) {
			int requeued;

			run_job(srv, slot, id);
			pthread_mutex_lock(&s->mu);
			requeued = slot->requeued && !s->stopping;
			*slot = (struct al_running){0};
			pthread_mutex_unlock(&s->mu);
			if (requeued)
				requeue_after_pause(srv, id);
			continue;
		}
		if (r != -ENOENT)
			al_log("error", "sched.claim_failed", "error=%s",
			       al_log_q(al_err_msg(&err)));
		pthread_mutex_lock(&s->mu);
		if (!s->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += POLL_S;
			pthread_cond_timedwait(&s->cv, &s->mu, &ts);
		}
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

int
al_sched_new(struct al_sched **ret)
{
	struct al_sched *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	*ret = s;
	return 0;
}

void
al_sched_free(struct al_sched *s)
{
	if (!s)
		return;
	free(s->workers);
	free(s->running);
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	free(s);
}

void
al_sched_cancel(struct al_server *srv, const char *id)
{
	struct al_sched *s = srv->sched;

	pthread_mutex_lock(&s->mu);
	for (unsigned i = 0; s->running && i < s->n_workers; i++) {
		struct al_running *r = &s->running[i];

		if (strcmp(r->id, id))
			continue;
		r->cancelled = 1;
		if (r->runner > 0)
			kill(r->runner, SIGKILL);
		al_log("info", "job.cancelled", "id=%s runner=%d", id, (int)r->runner);
	}
	pthread_mutex_unlock(&s->mu);
}

int
al_sched_requeue_all(struct al_server *srv)
{
	struct al_sched *s = srv->sched;
	int n = 0;

	pthread_mutex_lock(&s->mu);
	for (unsigned i = 0; s->running && i < s->n_workers; i++) {
		struct al_running *r = &s->running[i];

		if (!r->id[0])
			continue;
		r->requeued = 1;
		if (r->runner > 0)
			kill(r->runner, SIGKILL);
		al_log("info", "job.paused", "id=%s runner=%d", r->id, (int)r->runner);
		n++;
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

void
al_sched_kick(struct al_server *srv)
{
	struct al_sched *s = srv->sched;

	pthread_mutex_lock(&s->mu);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

/* Workspaces a stop left behind: no job runs yet, so none is in use (their runners died
 * with the server: PR_SET_PDEATHSIG; their cgroups go at the next run's sweep). */
static void
clear_workspaces(const struct al_server *srv, const char *data)
{
	_cleanup_free_ char *jobs = al_path_join(data, "jobs");

	if (jobs && access(jobs, F_OK) == 0 && remove_tree(srv, jobs) == 0)
		al_log("info", "sched.workspaces_cleared", "dir=%s", al_log_q(jobs));
}

int
al_sched_start(struct al_server *srv, struct al_err *err)
{
	struct al_sched *s = srv->sched;
	struct al_config *cfg = al_live_config(srv);
	unsigned n = cfg->workers;
	int r = al_store_requeue_running(srv->store, AL_MAX_ATTEMPTS, err);

	if (r > 0)
		al_log("info", "sched.requeued", "count=%d", r);
	if (r >= 0)
		clear_workspaces(srv, cfg->data);
	al_live_config_put(srv, cfg);
	if (r < 0)
		return r;
	s->workers = calloc(n, sizeof(*s->workers));
	s->running = calloc(n, sizeof(*s->running));
	if (!s->workers || !s->running)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < n; i++) {
		struct worker_arg *a = malloc(sizeof(*a));

		if (!a)
			return al_err_set(err, -ENOMEM, "out of memory");
		*a = (struct worker_arg){srv, &s->running[i]};
		r = pthread_create(&s->workers[i], NULL, worker, a);
		if (r != 0) {
			free(a);
			return al_err_set(err, -r, "cannot start worker: %s", strerror(r));
		}
		pthread_mutex_lock(&s->mu);
		s->n_workers++;
		pthread_mutex_unlock(&s->mu);
	}
	return 0;
}

/* The grace is over: what still runs is killed and goes back to the queue.  How many. */
static int
kill_late(struct al_sched *s)
{
	int late = 0;

	pthread_mutex_lock(&s->mu);
	for (unsigned i = 0; i < s->n_workers; i++) {
		if (!s->running[i].id[0])
			continue;
		s->running[i].requeued = 1;
		if (s->running[i].runner > 0)
			kill(s->running[i].runner, SIGKILL);
		late++;
	}
	pthread_mutex_unlock(&s->mu);
	return late;
}

void
al_sched_stop(struct al_server *srv)
{
	struct al_sched *s = srv->sched;
	struct al_config *cfg = al_live_config(srv);
	struct timespec deadline;
	unsigned joined = 0;

	pthread_mutex_lock(&s->mu);
	s->stopping = 1;
	pthread_cond_broadcast(&s->cv);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += cfg ? cfg->limits.shutdown_grace_s : 0;
	pthread_mutex_unlock(&s->mu);
	al_live_config_put(srv, cfg);
	while (joined < s->n_workers &&
	       pthread_timedjoin_np(s->workers[joined], NULL, &deadline) == 0)
		joined++;
	if (joined < s->n_workers) {
		int late = kill_late(s);

		for (unsigned i = joined; i < s->n_workers; i++)
			pthread_join(s->workers[i], NULL);
		if (late > 0) {
			struct al_err err = {0};
			int n = al_store_requeue_running(srv->store, INT_MAX, &err);

			al_log("info", "sched.requeued_at_stop", "count=%d error=%s", n,
			       al_log_q(n < 0 ? al_err_msg(&err) : ""));
		}
	}
	pthread_mutex_lock(&s->mu);
	s->n_workers = 0;
	pthread_mutex_unlock(&s->mu);
}
