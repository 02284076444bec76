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
#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "lib/runrec.h"
#include "server/bases.h"
#include "server/grant.h"
#include "server/metrics.h"
#include "server/server.h"

#define RESULT_MAX_BYTES (256u << 20)
/* A job the server stopped under this many times ends in error instead of a fourth run. */
#define AL_MAX_ATTEMPTS 3

extern char **environ;

struct job {
	struct al_server *srv;
	struct al_running *slot; /* this worker's entry in srv->running */
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
	double policy_s; /* time spent judging, for the metrics */
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
	al_server_config_put(j->srv, j->cfg);
}

static int
rule_ok(const json_t *rule)
{
	const char *res = json_string_value(json_object_get(rule, "result"));

	return res && (!strcmp(res, AL_RULE_SATISFIED) || !strcmp(res, AL_RULE_NOT_APPLICABLE));
}

/* Adds each rule of `more` to `rules`; a rule already there (the static rules are judged
 * twice: on the patch text and on what libgit2 parsed) keeps the worse result. */
static void
merge_rules(json_t *rules, const json_t *more)
{
	size_t i, k;
	json_t *r, *have;

	json_array_foreach (more, i, r) {
		const char *name = json_string_value(json_object_get(r, "rule"));
		int found = 0;

		json_array_foreach (rules, k, have) {
			if (!name ||
			    strcmp(name, json_string_value(json_object_get(have, "rule")) ?: ""))
				continue;
			found = 1;
			if (rule_ok(have) && !rule_ok(r))
				json_array_set(rules, k, r);
			break;
		}
		if (!found)
			json_array_append(rules, r);
	}
}

/* First rule that is neither SATISFIED nor NOT_APPLICABLE, or NULL. */
static const json_t *
first_failure(const json_t *rules)
{
	size_t i;
	json_t *r;

	json_array_foreach (rules, i, r) {
		if (!rule_ok(r))
			return r;
	}
	return NULL;
}

static json_t *
rejection(const json_t *rules)
{
	const json_t *f = first_failure(rules);
	const char *why = f ? json_string_value(json_object_get(f, "reason")) : NULL;

	return json_pack("{s:s, s:s, s:O, s:i}", "decision", "rejected", "reason",
			 why ? why : "rejected", "rules", rules, "tier", 0);
}

static int
write_job_files(struct job *j, const json_t *plan, struct al_err *err)
{
	_cleanup_free_ char *patch = al_path_join(j->dir, "patch.diff");
	_cleanup_free_ char *tpatch = al_path_join(j->dir, "test_patch.diff");
	_cleanup_free_ char *spec = al_path_join(j->dir, "job.json");
	_cleanup_free_ char *text = NULL;
	struct al_run_limits lim;
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
	al_policy_limits(j->repo->policy, &lim);
	o = json_pack("{s:s, s:s, s:s, s:s?, s:O, s:I, s:I, s:I, s:I, s:s, s:I, s:o}", "repo_path",
		      j->repo->path, "base", j->p->base, "patch_file", "patch.diff",
		      "test_patch_file", j->p->test_patch ? "test_patch.diff" : NULL, "plan", plan,
		      "timeout_s", (json_int_t)lim.timeout_s, "output_cap",
		      (json_int_t)lim.output_bytes, "memory_bytes", (json_int_t)lim.memory_bytes,
		      "pids", (json_int_t)lim.pids, "message", "airlock candidate", "commit_time",
		      (json_int_t)j->p->created, "branch_tips", tips);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return al_err_set(err, -ENOMEM, "out of memory");
	return al_file_write_atomic(spec, text, strlen(text), 0600, err);
}

static int
wait_deadline(pid_t pid, int timeout_s, int *ret_status)
{
	_cleanup_close_ int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = {.fd = pfd, .events = POLLIN};
	struct timespec start, now;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (pfd >= 0) {
		long left;

		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_s * 1000L - ((now.tv_sec - start.tv_sec) * 1000L +
					    (now.tv_nsec - start.tv_nsec) / 1000000L);
		if (left <= 0) {
			kill(pid, SIGKILL);
			break;
		}
		r = poll(&p, 1, (int)left);
		if (r > 0 || (r < 0 && errno != EINTR))
			break;
	}
	while (waitpid(pid, ret_status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int
exec_runner(struct job *j, size_t n_runs, struct al_err *err)
{
	char parent[24];
	char *argv[] = {"airlock", "runner", "--job", j->dir, "--parent", parent, NULL};
	int timeout = (int)(al_policy_timeout_s(j->repo->policy) * (n_runs + 1)) + 120;
	int status = 0, r;
	double t0;
	pid_t pid;

	posix_spawnattr_t attr;
	sigset_t none, all;

	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	/* The serving threads block SIGINT and SIGTERM; the runner starts from defaults. */
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	pthread_mutex_lock(&j->srv->mu);
	r = j->slot->cancelled ? ECANCELED
			       : posix_spawn(&pid, j->srv->self_exe, NULL, &attr, argv, environ);
	if (r == 0)
		j->slot->runner = pid;
	pthread_mutex_unlock(&j->srv->mu);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return al_err_set(err, -r, "cannot start runner: %s", strerror(r));
	t0 = al_metrics_now();
	r = wait_deadline(pid, timeout, &status);
	al_metrics_observe(AL_H_RUNNER, al_metrics_now() - t0);
	pthread_mutex_lock(&j->srv->mu);
	j->slot->runner = 0;
	pthread_mutex_unlock(&j->srv->mu);
	if (r < 0)
		return al_err_set(err, r, "waiting for runner: %s", strerror(-r));
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
	json_error_t jerr;
	size_t len;
	int r;

	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_file_read(path, RESULT_MAX_BYTES, &text, &len, err);
	if (r < 0)
		return al_err_prefix(err, "runner result");
	j->result = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j->result))
		return al_err_set(err, -EBADMSG, "runner result is not a JSON object: %s",
				  jerr.text);
	observe_runs(json_object_get(j->result, "runs"));
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

/* What in either patch needs a human, by the text parse and by libgit2's (the runner's):
 * the protected paths, and the existing tests and test configuration it changes. */
static int
protected_paths(const struct job *j, json_t **ret_protected, json_t **ret_changed,
		struct al_err *err)
{
	const json_t *files = json_object_get(j->result, "files");
	const json_t *runner[] = {json_object_get(files, "patch"),
				  json_object_get(files, "test_patch")};
	json_t *pf = NULL, *tf = NULL, *prot = NULL;
	int r;

	r = al_gates_patch_files(j->p->patch, j->p->patch_len, &pf, err);
	if (r == 0 && j->p->test_patch)
		r = al_gates_patch_files(j->p->test_patch, j->p->test_patch_len, &tf, err);
	if (r == 0) {
		const json_t *lists[] = {pf, tf, runner[0], runner[1]};

		r = al_gates_protected(j->repo->policy, lists, AL_ARRAY_SIZE(lists), &prot, err);
	}
	if (r == 0)
		r = al_gates_changed_tests(
		    j->repo->policy,
		    &(struct al_change_input){.patch = j->p->patch,
					      .patch_len = j->p->patch_len,
					      .test_patch = j->p->test_patch,
					      .test_patch_len = j->p->test_patch_len,
					      .lists = runner,
					      .n_lists = AL_ARRAY_SIZE(runner)},
		    ret_changed, err);
	json_decref(pf);
	json_decref(tf);
	if (r < 0) {
		json_decref(prot);
		return r;
	}
	*ret_protected = prot;
	return 0;
}

/* Every automatic gate is satisfied: tier 1 now, or a wait for the approvals that tier 2
 * (or a protected path) needs. */
static int
decide_tier(struct job *j, struct al_err *err)
{
	json_t *prot = NULL, *changed = NULL, *rule = NULL;
	unsigned need = 0;
	char why[256];
	struct al_authority auth;
	int r;

	r = protected_paths(j, &prot, &changed, err);
	if (r == 0)
		r = al_gates_approval(j->repo->policy,
				      &(struct al_approval_input){.proposer = j->p->proposer,
								  .protected = prot,
								  .changed_tests = changed},
				      &rule, &need, NULL, err);
	json_decref(prot);
	json_decref(changed);
	if (r < 0)
		return r;
	json_array_append_new(j->rules, rule);
	j->tier = 1;
	if (need > 0) {
		j->verdict =
		    json_pack("{s:s, s:O, s:O, s:i}", "decision", "awaiting_approval", "reason",
			      json_object_get(rule, "reason"), "rules", j->rules, "tier", 1);
	} else {
		if (al_gates_authority(j->repo->policy, 1, j->p->id, j->p->base, &auth, why,
				       sizeof(why)) < 0)
			return al_err_set(err, -EINVAL, "no authority for tier 1");
		j->verdict =
		    json_pack("{s:s, s:s, s:O, s:i, s:s, s:s?}", "decision", "granted", "reason",
			      "all gates satisfied", "rules", j->rules, "tier", 1, "authority",
			      auth.authority, "ref", auth.ref[0] ? auth.ref : NULL);
	}
	return j->verdict ? 0 : al_err_set(err, -ENOMEM, "out of memory");
}

static int
run_gates(struct job *j, struct al_err *err)
{
	json_t *plan = NULL, *v = NULL, *r_rules;
	double t0;
	int r;

	r = al_gates_plan(j->repo->policy, j->ftp, &plan, err);
	if (r == 0 && al_mkdir_p(j->dir, 0700) < 0)
		r = al_err_set(err, -errno, "%s: cannot create", j->dir);
	if (r == 0)
		r = write_job_files(j, plan, err);
	if (r == 0)
		r = exec_runner(j, json_array_size(plan), err);
	json_decref(plan);
	if (r == 0)
		r = load_result(j, err);
	t0 = al_metrics_now();
	if (r == 0)
		r = al_gates_evaluate(j->repo->policy, j->ftp, j->result, &v, err);
	j->policy_s += al_metrics_now() - t0;
	if (r < 0)
		return r;
	/* Static rules first, then what the runs showed; the decision needs all of them. */
	r_rules = json_object_get(v, "rules");
	merge_rules(j->rules, r_rules);
	if (!strcmp(json_string_value(json_object_get(v, "decision")) ?: "", "granted") &&
	    !first_failure(j->rules)) {
		json_decref(v);
		t0 = al_metrics_now();
		r = decide_tier(j, err);
		j->policy_s += al_metrics_now() - t0;
		return r;
	}
	j->verdict = rejection(j->rules);
	json_decref(v);
	return j->verdict ? 0 : al_err_set(err, -ENOMEM, "out of memory");
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

	pthread_mutex_lock(&j->srv->mu);
	r = j->slot->requeued;
	pthread_mutex_unlock(&j->srv->mu);
	if (r) {
		al_log("info", "job.left_for_restart", "id=%s", j->p->id);
		return -ECANCELED;
	}
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

	al_server_note_grant(j->repo, j->p->id, commit, j->grant);
	if (!al_policy_auto_promote(j->repo->policy))
		return;
	if (al_server_promote(j->srv, j->p->id, "auto", &answer, &why) < 0)
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
	j.cfg = al_server_config(srv);
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
	if (r == 0 && first_failure(j.rules)) {
		j.verdict = rejection(j.rules);
		finish(&j, "rejected", NULL);
		goto out;
	}
	if (r == 0) {
		al_rm_rf(j.dir);
		r = run_gates(&j, &err);
	}
	if (r == 0 && !strcmp(json_string_value(json_object_get(j.verdict, "decision")), "granted"))
		r = al_server_issue_grant(srv, j.repo, j.p, j.result, j.verdict, 1, NULL, &j.grant,
					  &err);
	if (r < 0)
		finish(&j, "error", al_err_msg(&err));
	else if (finish(&j, json_string_value(json_object_get(j.verdict, "decision")), NULL) == 0 &&
		 j.grant)
		after_grant(&j);
out:
	if (j.dir)
		al_rm_rf(j.dir);
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
	int r = al_store_claim_next(srv->store, id, err);

	if (r == 0) {
		pthread_mutex_lock(&srv->mu);
		*slot = (struct al_running){0};
		memcpy(slot->id, id, sizeof(slot->id));
		pthread_mutex_unlock(&srv->mu);
	}
	return r;
}

static void *
worker(void *arg)
{
	struct al_server *srv = ((struct worker_arg *)arg)->srv;
	struct al_running *slot = ((struct worker_arg *)arg)->slot;
	char id[33];
	struct al_err err;

	free(arg);
	for (;;) {
		pthread_mutex_lock(&srv->mu);
		if (srv->stopping) {
			pthread_mutex_unlock(&srv->mu);
			return NULL;
		}
		pthread_mutex_unlock(&srv->mu);
		memset(&err, 0, sizeof(err));
		int r = claim(srv, slot, id, &err);
		if (r == 0) {
			run_job(srv, slot, id);
			pthread_mutex_lock(&srv->mu);
			*slot = (struct al_running){0};
			pthread_mutex_unlock(&srv->mu);
			continue;
		}
		if (r != -ENOENT)
			al_log("error", "sched.claim_failed", "error=%s",
			       al_log_q(al_err_msg(&err)));
		pthread_mutex_lock(&srv->mu);
		if (!srv->stopping) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 2;
			pthread_cond_timedwait(&srv->cv, &srv->mu, &ts);
		}
		pthread_mutex_unlock(&srv->mu);
	}
}

void
al_sched_cancel(struct al_server *srv, const char *id)
{
	pthread_mutex_lock(&srv->mu);
	for (unsigned i = 0; srv->running && i < srv->n_workers; i++) {
		struct al_running *s = &srv->running[i];

		if (strcmp(s->id, id))
			continue;
		s->cancelled = 1;
		if (s->runner > 0)
			kill(s->runner, SIGKILL);
		al_log("info", "job.cancelled", "id=%s runner=%d", id, (int)s->runner);
	}
	pthread_mutex_unlock(&srv->mu);
}

void
al_sched_kick(struct al_server *srv)
{
	pthread_mutex_lock(&srv->mu);
	pthread_cond_signal(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
}

int
al_sched_start(struct al_server *srv, struct al_err *err)
{
	_cleanup_free_ char *jobs = al_path_join(srv->cfg->data, "jobs");
	int r = al_store_requeue_running(srv->store, AL_MAX_ATTEMPTS, err);

	if (r < 0)
		return r;
	if (r > 0)
		al_log("info", "sched.requeued", "count=%d", r);
	/* workspaces a stop left behind: no job runs yet, so none is in use (their runners
	 * died with the server: PR_SET_PDEATHSIG; their cgroups go at the next run's sweep) */
	if (jobs && access(jobs, F_OK) == 0 && al_rm_rf(jobs) == 0)
		al_log("info", "sched.workspaces_cleared", "dir=%s", al_log_q(jobs));
	srv->workers = calloc(srv->cfg->workers, sizeof(*srv->workers));
	srv->running = calloc(srv->cfg->workers, sizeof(*srv->running));
	if (!srv->workers || !srv->running)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < srv->cfg->workers; i++) {
		struct worker_arg *a = malloc(sizeof(*a));

		if (!a)
			return al_err_set(err, -ENOMEM, "out of memory");
		*a = (struct worker_arg){srv, &srv->running[i]};
		r = pthread_create(&srv->workers[i], NULL, worker, a);
		if (r != 0) {
			free(a);
			return al_err_set(err, -r, "cannot start worker: %s", strerror(r));
		}
		pthread_mutex_lock(&srv->mu);
		srv->n_workers++;
		pthread_mutex_unlock(&srv->mu);
	}
	return 0;
}

void
al_sched_stop(struct al_server *srv)
{
	struct timespec deadline;
	unsigned joined = 0;
	int late = 0;

	pthread_mutex_lock(&srv->mu);
	srv->stopping = 1;
	pthread_cond_broadcast(&srv->cv);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += srv->cfg ? srv->cfg->limits.shutdown_grace_s : 0;
	pthread_mutex_unlock(&srv->mu);
	while (joined < srv->n_workers &&
	       pthread_timedjoin_np(srv->workers[joined], NULL, &deadline) == 0)
		joined++;
	if (joined < srv->n_workers) {
		/* the grace is over: what still runs is killed and goes back to the queue */
		pthread_mutex_lock(&srv->mu);
		for (unsigned i = 0; i < srv->n_workers; i++) {
			if (!srv->running[i].id[0])
				continue;
			srv->running[i].requeued = 1;
			if (srv->running[i].runner > 0)
				kill(srv->running[i].runner, SIGKILL);
			late++;
		}
		pthread_mutex_unlock(&srv->mu);
		for (unsigned i = joined; i < srv->n_workers; i++)
			pthread_join(srv->workers[i], NULL);
		if (late > 0) {
			struct al_err err = {0};
			int n = al_store_requeue_running(srv->store, INT_MAX, &err);

			al_log("info", "sched.requeued_at_stop", "count=%d error=%s", n,
			       al_log_q(n < 0 ? al_err_msg(&err) : ""));
		}
	}
	pthread_mutex_lock(&srv->mu);
	free(srv->workers);
	free(srv->running);
	srv->workers = NULL;
	srv->running = NULL;
	srv->n_workers = 0;
	pthread_mutex_unlock(&srv->mu);
}
