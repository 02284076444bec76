/* `airlock runner --job DIR`: checks out one proposal and runs its plan in sandboxes.
 * It never sees the signing key or the database; everything it learns goes into
 * DIR/result.json, which the server judges. */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "runner/checkout.h"
#include "runner/confine.h"
#include "runner/egress.h"
#include "runner/env.h"
#include "runner/record.h"
#include "runner/report.h"
#include "runner/sandbox.h"

#define JOB_MAX_BYTES (1u << 20)
#define PATCH_MAX_BYTES (16u << 20)
#define MAX_ARGV 128
#define AL_MAX_TIPS 256

struct job {
	const char *dir;
	json_t *spec;	/* owned */
	json_t *result; /* owned */
	char *patch;	/* owned */
	size_t patch_len;
	char *test_patch; /* owned */
	size_t test_patch_len;
	const char *repo_path;
	/* the trees a run may be given: the unmodified base, base + test patch, candidate */
	char trees[3][41];
	unsigned n_run; /* runs so far: run N works in DIR/run-N */
	uid_t uid;
	gid_t gid;
	struct al_egress_proc egress;	    /* ctl >= 0 when the gate runs have a path out */
	struct al_egress_proc setup_egress; /* likewise for setup */
	struct al_env env;		    /* the image, cached trees, setup layers */
	bool env_open;
};

static const char *const tree_names[] = {"base", "tested", "candidate"};

static json_t *
files_json(const struct al_patch_file *f, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		char st[2] = {f[i].status, '\0'};
		json_array_append_new(a, json_pack("{s:s, s:s?, s:s, s:i, s:i, s:b}", "path",
						   f[i].path, "old_path", f[i].old_path, "status",
						   st, "old_mode", (int)f[i].old_mode, "new_mode",
						   (int)f[i].new_mode, "binary", f[i].binary));
	}
	return a;
}

/* Where hunks applied at other lines than they state, and the files merged three-way. */
static json_t *
offsets_json(const struct al_checkout_result *res)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < res->n_offsets; i++)
		json_array_append_new(
		    a, json_pack("{s:s, s:s, s:i, s:I}", "which", res->offsets[i].which, "file",
				 res->offsets[i].file, "hunk", res->offsets[i].hunk, "offset",
				 (json_int_t)res->offsets[i].offset));
	return a;
}

static json_t *
merged_json(const struct al_checkout_result *res)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < res->n_merged; i++)
		json_array_append_new(a, json_pack("{s:s, s:s}", "which", res->merged[i].which,
						   "file", res->merged[i].file));
	return a;
}

static int
read_patch(struct job *j, const char *key, char **ret, size_t *ret_len, struct al_err *err)
{
	const char *name = json_string_value(json_object_get(j->spec, key));
	_cleanup_free_ char *path = NULL;

	if (!name)
		return 0;
	if (strchr(name, '/'))
		return al_err_set(err, -EINVAL, "job: %s must be a file name", key);
	path = al_path_join(j->dir, name);
	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	return al_file_read(path, PATCH_MAX_BYTES, ret, ret_len, err);
}

/* The branch tips a base must be on; every one a string, or the job is malformed. */
static int
branch_tips(struct job *j, const char **tips, size_t *ret_n, struct al_err *err)
{
	const json_t *a = json_object_get(j->spec, "branch_tips");
	size_t i;
	json_t *v;

	if (!json_is_array(a) || json_array_size(a) > AL_MAX_TIPS)
		return al_err_set(err, -EINVAL, "job: branch_tips: expected an array");
	json_array_foreach (a, i, v) {
		if (!(tips[i] = json_string_value(v)))
			return al_err_set(err, -EINVAL, "job: branch_tips: expected strings");
	}
	*ret_n = json_array_size(a);
	return 0;
}

static int
checkout(struct job *j, struct al_err *err)
{
	const char *tips[AL_MAX_TIPS];
	struct al_checkout_opts o = {
	    .repo_path = j->repo_path,
	    .base = json_string_value(json_object_get(j->spec, "base")),
	    .patch = j->patch,
	    .patch_len = j->patch_len,
	    .test_patch = j->test_patch,
	    .test_patch_len = j->test_patch_len,
	    .message = json_string_value(json_object_get(j->spec, "message")),
	    .commit_time = json_integer_value(json_object_get(j->spec, "commit_time")),
	    .tips = tips,
	};
	struct al_checkout_result res = {0};
	int r;

	if (!o.repo_path || !o.base || !o.message)
		return al_err_set(err, -EINVAL, "job: repo_path, base and message are required");
	r = branch_tips(j, tips, &o.n_tips, err);
	if (r < 0)
		return r;
	r = al_checkout_prepare(&o, &res, err);
	if (r == 0) {
		memcpy(j->trees[0], res.base_tree, sizeof(j->trees[0]));
		memcpy(j->trees[1], res.tested_tree, sizeof(j->trees[1]));
		memcpy(j->trees[2], res.candidate_tree, sizeof(j->trees[2]));
		json_object_set_new(j->result, "base_commit", json_string(res.base_commit));
		json_object_set_new(j->result, "candidate_commit",
				    json_string(res.candidate_commit));
		json_object_set_new(j->result, "candidate_tree", json_string(res.candidate_tree));
		json_object_set_new(
		    j->result, "files",
		    json_pack("{s:o, s:o}", "patch", files_json(res.patch_files, res.n_patch_files),
			      "test_patch", files_json(res.test_files, res.n_test_files)));
		json_object_set_new(j->result, "apply_offsets", offsets_json(&res));
		json_object_set_new(j->result, "apply_merged", merged_json(&res));
	} else if (r == -ENOEXEC) {
		json_object_set_new(j->result, "apply_error",
				    json_pack("{s:s, s:s?, s:i, s:s}", "which", res.fail_which,
					      "file", res.fail_file, "hunk", res.fail_hunk,
					      "message", al_err_msg(err)));
	}
	al_checkout_result_clear(&res);
	return r;
}

static json_t *
record_json(const json_t *item, const struct al_run_record *rec)
{
	return al_run_record_json(rec, 1, json_deep_copy(item));
}

/* The tree a plan item runs on: "base", "tested" or "candidate"; -1 for none. */
static int
item_tree(const json_t *item)
{
	const char *t = json_string_value(json_object_get(item, "tree"));

	for (size_t i = 0; t && i < AL_ARRAY_SIZE(tree_names); i++)
		if (!strcmp(t, tree_names[i]))
			return (int)i;
	return -1;
}

static int
item_argv(const json_t *item, char **argv, struct al_err *err)
{
	const json_t *argv_j = json_object_get(item, "argv");
	size_t i, n = json_array_size(argv_j);
	json_t *v;

	if (n == 0 || n > MAX_ARGV)
		return al_err_set(err, -EINVAL, "job: malformed plan item");
	json_array_foreach (argv_j, i, v) {
		if (!(argv[i] = (char *)json_string_value(v)))
			return al_err_set(err, -EINVAL, "job: argv must be strings");
	}
	argv[n] = NULL;
	return 0;
}

static uid_t sandbox_uid;
static gid_t sandbox_gid;

static void
sandbox_limits(const json_t *spec, struct al_sandbox_opts *o)
{
	o->timeout_ms = (unsigned)json_integer_value(json_object_get(spec, "timeout_s")) * 1000u;
	o->output_cap = (size_t)json_integer_value(json_object_get(spec, "output_cap"));
	/* absent or 0: the sandbox's defaults */
	o->memory_bytes = (size_t)json_integer_value(json_object_get(spec, "memory_bytes"));
	o->pids_max = (unsigned)json_integer_value(json_object_get(spec, "pids"));
	o->disk_bytes = (size_t)json_integer_value(json_object_get(spec, "disk_bytes"));
	/* the cached checkout stays as written: the run's changes live in its disk, which
	 * the sandbox caps and which vanishes with it */
	o->workspace_overlay = 1;
	o->host_uid = sandbox_uid;
	o->host_gid = sandbox_gid;
}

/* Where a command writes its report: a directory of its own outside the workspace
 * (AL_SANDBOX_REPORT_DIR, in the run's disk), so that the report of one run is never the
 * tree of another. The sandbox copies the file out before the disk goes. */
struct report_place {
	enum al_report_format format;
	const char *file;  /* the file name in AL_SANDBOX_REPORT_DIR */
	char env[64];	   /* AIRLOCK_REPORT=... */
	char *env_list[2]; /* {env, NULL} */
};

static int
report_prepare(const json_t *item, struct report_place *rp, struct al_err *err)
{
	const char *name = json_string_value(json_object_get(item, "report"));

	if (al_report_format_parse(name, &rp->format) < 0)
		return al_err_set(err, -EINVAL, "job: unknown report format");
	rp->file = rp->format == AL_REPORT_JUNIT ? "report.xml" : "report.tap";
	snprintf(rp->env, sizeof(rp->env), "AIRLOCK_REPORT=" AL_SANDBOX_REPORT_DIR "/%s", rp->file);
	rp->env_list[0] = rp->env;
	return 0;
}

/* The report as the command left it (the sandbox copied it without following links or
 * blocking on a FIFO), parsed here, outside the sandbox. The outcome goes into the run
 * record: "tests", or "report_error" saying why there are none. */
static int
report_collect(const struct report_place *rp, const struct al_run_record *run, json_t *rec)
{
	struct al_err err = {0};
	json_t *tests = NULL;
	int r = run->report_error;

	if (r == -EINVAL)
		al_err_set(&err, r, "the report is not a regular file");
	else if (r == -EFBIG || r == -EIO)
		al_err_set(&err, r, "the report cannot be read: %s",
			   r == -EFBIG ? "larger than the cap" : strerror(-r));
	else if (r == -ECHILD)
		al_err_set(&err, r, "no report: the run was stopped before it ended");
	else if (r < 0)
		al_err_set(&err, r, "no report was written (%s)", strerror(-r));
	else
		r = al_report_parse(rp->format, run->report, run->report_len, &tests, &err);
	if (r < 0)
		return json_object_set_new(rec, "report_error", json_string(al_err_msg(&err)));
	return json_object_set_new(rec, "tests", tests);
}

/* What a run is handed besides its own settings: the report's variable, and the path out
 * when the job has one (its listener is labelled run-N, as the proxy's record shows). */
struct run_egress {
	struct al_bind binds[1];
	size_t n_binds;
	char *env[AL_EGRESS_ENV_MAX + 2];
	size_t n_env;
	char label[32];
};

static void
with_egress(struct job *j, struct al_sandbox_opts *o, char *report_env, struct run_egress *eg)
{
	if (report_env)
		eg->env[eg->n_env++] = report_env;
	eg->env[eg->n_env] = NULL;
	o->env_extra = eg->env;
	if (j->egress.ctl < 0)
		return;
	snprintf(eg->label, sizeof(eg->label), "run-%u", j->n_run);
	al_egress_sandbox(&j->egress, o, eg->label, eg->binds, &eg->n_binds, eg->env, &eg->n_env);
	o->binds = eg->binds;
	o->n_binds = eg->n_binds;
}

/* One plan item in its own sandbox, on a fresh overlay of its tree's cached checkout (and
 * setup layer), whose writable layer goes with the sandbox: nothing a run writes reaches a
 * later run. */
static int
run_one(struct job *j, const json_t *item, json_t *runs, struct al_err *err)
{
	int tree = item_tree(item);
	const char *work = NULL, *layers[1];
	_cleanup_free_ char *copy = NULL;
	char *argv[MAX_ARGV + 1];
	struct al_sandbox_opts o = {0};
	struct al_run_record rec = {0};
	struct report_place rp = {0};
	struct run_egress eg = {0};
	bool report = json_object_get(item, "report") != NULL;
	json_t *record;
	int r;

	if (tree < 0)
		return al_err_set(err, -EINVAL, "job: plan item without a known tree");
	if ((r = item_argv(item, argv, err)) < 0)
		return r;
	j->n_run++;
	r = al_env_tree(&j->env, j->repo_path, j->trees[tree], tree, &work, err);
	if (r == 0 && report)
		r = report_prepare(item, &rp, err);
	if (r == 0) {
		sandbox_limits(j->spec, &o);
		r = al_env_workspace(&j->env, tree, j->n_run, &o, layers, &copy, err);
	}
	if (r == 0) {
		o.argv = argv;
		if (report) {
			o.report_name = rp.file;
			o.report_max = AL_REPORT_MAX_BYTES;
		}
		with_egress(j, &o, report ? rp.env : NULL, &eg);
		r = al_sandbox_run(&o, &rec, err);
	}
	if (copy)
		al_rm_rf(copy);
	record = r == 0 ? record_json(item, &rec) : NULL;
	if (record && report && report_collect(&rp, &rec, record) < 0)
		r = al_err_set(err, -ENOMEM, "out of memory");
	if (r < 0) {
		json_decref(record);
		return r;
	}
	al_log("info", "runner.ran", "id=%s status=%s exit=%d signal=%d wall_ms=%ld tests=%zu",
	       al_log_q(json_string_value(json_object_get(item, "id"))),
	       al_runrec_status_name(rec.status), rec.exit_code, rec.signal, rec.wall_ms,
	       json_array_size(json_object_get(record, "tests")));
	json_array_append_new(runs, record);
	al_sandbox_record_clear(&rec);
	return 0;
}

static int
run_plan(struct job *j, struct al_err *err)
{
	json_t *runs = json_array(), *item;
	size_t i;
	int r = 0;

	json_object_set_new(j->result, "runs", runs);
	json_array_foreach (json_object_get(j->spec, "plan"), i, item) {
		r = run_one(j, item, runs, err);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
job_load(struct job *j, struct al_err *err)
{
	_cleanup_free_ char *path = al_path_join(j->dir, "job.json"), *text = NULL;
	json_error_t jerr;
	size_t len;
	int r;

	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_file_read(path, JOB_MAX_BYTES, &text, &len, err);
	if (r < 0)
		return r;
	j->spec = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(j->spec))
		return al_err_set(err, -EINVAL, "job.json: %s", jerr.text);
	if ((r = read_patch(j, "patch_file", &j->patch, &j->patch_len, err)) < 0 ||
	    (r = read_patch(j, "test_patch_file", &j->test_patch, &j->test_patch_len, err)) < 0)
		return r;
	if (!j->patch)
		return al_err_set(err, -EINVAL, "job: no patch");
	j->repo_path = json_string_value(json_object_get(j->spec, "repo_path"));
	return 0;
}

/* The files the server names as its secrets (the signing key, the database), tried the
 * way code running here would try them: any byte read fails the job. The count tried. */
static int
secrets_closed(const json_t *secrets, struct al_err *err)
{
	size_t i;
	json_t *v;

	json_array_foreach (secrets, i, v) {
		const char *path = json_string_value(v);
		int fd = path ? open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) : -1;
		char byte;
		ssize_t n = fd >= 0 ? read(fd, &byte, 1) : -1;

		if (fd >= 0)
			close(fd);
		if (n > 0)
			return al_err_set(err, -EPERM, "confine: %s can still be read", path);
	}
	return (int)json_array_size(secrets);
}

/* Before any untrusted byte is parsed: the runner's own namespaces, which cover what the
 * server named (runner/confine.c). A job without that list does not run. */
static int
confine(struct job *j, struct al_err *err)
{
	const json_t *hide = json_object_get(json_object_get(j->spec, "confine"), "hide");
	const char *paths[64];
	struct al_confine c = {.hide = paths,
			       .job_dir = j->dir,
			       .cache = json_string_value(json_object_get(j->spec, "cache")),
			       .repo = j->repo_path};
	size_t i;
	json_t *v;
	int r;

	/* made here, before the covers, so that it can be kept over them */
	if (c.cache && (r = al_mkdir_p(c.cache, 0700)) < 0)
		return al_err_set(err, r, "cache: %s: %s", c.cache, strerror(-r));
	if (!json_is_array(hide) || json_array_size(hide) > AL_ARRAY_SIZE(paths))
		return al_err_set(err, -EINVAL, "job: no confinement (confine.hide)");
	json_array_foreach (hide, i, v) {
		if (!(paths[i] = json_string_value(v)))
			return al_err_set(err, -EINVAL, "job: confine.hide: expected strings");
	}
	c.n_hide = json_array_size(hide);
	if ((r = al_confine_enter(&c, err)) < 0)
		return r;
	j->uid = sandbox_uid = c.sandbox_uid;
	j->gid = sandbox_gid = c.sandbox_gid;
	if ((r = secrets_closed(json_object_get(json_object_get(j->spec, "confine"), "secrets"),
				err)) < 0)
		return r;
	al_log("info", "runner.confined", "hidden=%zu secrets_unreadable=%d sandbox_uid=%u",
	       c.n_hide, r, (unsigned)c.sandbox_uid);
	return 0;
}

static int
write_result(struct job *j, struct al_err *err)
{
	_cleanup_free_ char *path = al_path_join(j->dir, "result.json");
	_cleanup_free_ char *text = json_dumps(j->result, JSON_COMPACT);

	if (!path || !text)
		return al_err_set(err, -ENOMEM, "out of memory");
	return al_file_write_atomic(path, text, strlen(text), 0600, err);
}

/* A proxy's control socket the server handed over at fd, when the job's gate runs (key
 * "egress", fd 3) or its setup ("setup_egress", fd 4) have a way out. */
static int
egress_load_one(struct job *j, const char *key, int fd, struct al_egress_proc *p,
		struct al_err *err)
{
	const json_t *e = json_object_get(j->spec, key);
	int r;

	if (!e)
		return 0;
	if (json_integer_value(json_object_get(e, "fd")) != fd)
		return al_err_set(err, -EINVAL, "job: %s.fd: expected %d", key, fd);
	r = al_egress_attach(fd, json_string_value(json_object_get(e, "bundle")), p);
	if (r < 0)
		return al_err_set(err, r, "job: %s: %s", key, strerror(-r));
	return 0;
}

static int
egress_load(struct job *j, struct al_err *err)
{
	int r = egress_load_one(j, "egress", 3, &j->egress, err);

	return r < 0 ? r : egress_load_one(j, "setup_egress", 4, &j->setup_egress, err);
}

/* The image and the setup layers, before any run; 1 when the plan may run. */
static int
environment(struct job *j, struct al_err *err)
{
	struct al_env_run run = {
	    .spec = j->spec,
	    .repo_path = j->repo_path,
	    .trees = (const char(*)[41])j->trees,
	    .egress = &j->setup_egress,
	    .limits = sandbox_limits,
	};
	int r = al_env_open(&j->env, j->spec, j->dir, j->uid, j->gid, j->result, err);

	j->env_open = true;
	memcpy(j->env.base_hex, j->trees[0], sizeof(j->env.base_hex));
	if (r < 0)
		return r;
	r = al_env_setup(&j->env, &run, j->result, err);
	/* setup's proxy is done with: its record is the server's to read */
	al_egress_proc_clear(&j->setup_egress);
	return r;
}

static void
job_clear(struct job *j)
{
	al_egress_proc_clear(&j->egress);
	al_egress_proc_clear(&j->setup_egress);
	if (j->env_open)
		al_env_clear(&j->env);
	json_decref(j->spec);
	json_decref(j->result);
	free(j->patch);
	free(j->test_patch);
}

int
al_runner_main(int argc, char **argv)
{
	struct job j = {.egress = {.ctl = -1, .record_fd = -1},
			.setup_egress = {.ctl = -1, .record_fd = -1}};
	struct al_err err = {0};
	struct utsname u;
	int r;

	if (argc == 2 && !strcmp(argv[1], "--pull-request"))
		return al_runner_pull();
	if (argc == 3 && !strcmp(argv[1], "--remove")) {
		if (al_confine_remove(argv[2], &err) < 0) {
			fprintf(stderr, "airlock runner: %s\n", al_err_msg(&err));
			return 1;
		}
		return 0;
	}
	if ((argc != 3 && argc != 5) || strcmp(argv[1], "--job") ||
	    (argc == 5 && strcmp(argv[3], "--parent"))) {
		fprintf(stderr, "usage: airlock runner --job DIR [--parent PID] | --remove DIR | "
				"--pull-request (run by the server)\n");
		return 64;
	}
	j.dir = argv[2];
	/* the server's worker is the parent: if it dies (a kill -9 of the server), so does the
	 * runner, and with it the sandbox (PR_SET_PDEATHSIG there too); a restarted server
	 * then runs the job again from the queue.  A parent already gone before the prctl
	 * shows as another parent pid. */
	if (argc == 5 && (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
			  getppid() != (pid_t)strtol(argv[4], NULL, 10))) {
		fprintf(stderr, "airlock runner: the server that started this job is gone\n");
		return 1;
	}
	j.result = json_pack("{s:s, s:{s:s, s:s}}", "version", "1", "runner", "sandbox_profile",
			     al_profile_text(), "kernel", uname(&u) == 0 ? u.release : "unknown");
	if (!j.result)
		return 1;
	r = job_load(&j, &err);
	if (r == 0)
		r = egress_load(&j, &err);
	if (r == 0)
		r = confine(&j, &err);
	if (r == 0)
		r = checkout(&j, &err);
	if (r == 0)
		r = environment(&j, &err);
	if (r > 0)
		r = run_plan(&j, &err);
	if (r < 0 && r != -ENOEXEC)
		json_object_set_new(j.result, "error", json_string(al_err_msg(&err)));
	if (r < 0)
		al_log("info", "runner.stopped", "job=%s error=%s", al_log_q(j.dir),
		       al_log_q(al_err_msg(&err)));
	if (j.env_open) /* the cached checkouts used, and those written (the metrics) */
		json_object_set_new(j.result, "trees",
				    json_pack("{s:i, s:i}", "hit", j.env.trees_hit, "written",
					      j.env.trees_written));
	memset(&err, 0, sizeof(err));
	r = write_result(&j, &err);
	job_clear(&j);
	if (r < 0) {
		al_log("error", "runner.result_failed", "error=%s", al_log_q(al_err_msg(&err)));
		return 1;
	}
	return 0;
}
