/* The runner's job file and its result, as JSON.  The runner is trusted no more than it
 * must be: its result is parsed here with duplicate keys refused, and judged by gates/. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "server/job.h"
#include "server/sign.h"

/* What decides a setup layer besides the image and the key files' bytes: the command, the
 * key files' names, setup's path out, and the repository: one repository's layer (built from
 * its tree) is never another's. Its digest salts the layer's key. */
static json_t *
setup_spec(const struct al_policy *policy, const char *repo_path)
{
	const json_t *s = al_policy_setup(policy), *eg = al_policy_egress(policy, "setup");
	json_t *parts = json_pack("{s:O, s:O?, s:s}", "setup", s, "egress", eg, "repo", repo_path),
	       *o;
	char *text = parts ? json_dumps(parts, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	char salt[65];

	json_decref(parts);
	if (!text)
		return NULL;
	al_sha256_hex(text, strlen(text), salt);
	free(text);
	o = json_pack("{s:O, s:O, s:O, s:O, s:s}", "argv", json_object_get(s, "command"), "keys",
		      json_object_get(s, "keys"), "on_change",
		      json_object_get(s, "on_lockfile_change"), "timeout_s",
		      json_object_get(s, "timeout_s"), "salt", salt);
	return o;
}

/* The image and setup, when the policy has them. */
static json_t *
with_environment(json_t *o, const struct al_policy *policy, const char *repo_path)
{
	const json_t *env = al_policy_environment(policy);

	if (o && env && json_object_set(o, "environment", (json_t *)env) < 0)
		json_decref(o), o = NULL;
	if (o && al_policy_setup(policy) &&
	    json_object_set_new(o, "setup", setup_spec(policy, repo_path)) < 0)
		json_decref(o), o = NULL;
	return o;
}

json_t *
al_job_spec(const struct al_proposal *p, const char *repo_path, const struct al_policy *policy,
	    const json_t *plan, json_t *tips)
{
	struct al_run_limits lim;

	al_policy_limits(policy, &lim);
	return with_environment(
	    json_pack("{s:s, s:s, s:s, s:s?, s:O, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:o}",
		      "repo_path", repo_path, "base", p->base, "patch_file", "patch.diff",
		      "test_patch_file", p->test_patch ? "test_patch.diff" : NULL, "plan", plan,
		      "timeout_s", (json_int_t)lim.timeout_s, "output_cap",
		      (json_int_t)lim.output_bytes, "memory_bytes", (json_int_t)lim.memory_bytes,
		      "disk_bytes", (json_int_t)lim.disk_bytes, "pids", (json_int_t)lim.pids,
		      "message", "airlock candidate", "commit_time", (json_int_t)p->created,
		      "branch_tips", tips),
	    policy, repo_path);
}

int
al_job_timeout_s(const struct al_policy *policy, size_t n_runs)
{
	const json_t *setup = al_policy_setup(policy);
	/* the base's layer, and one of its own for a tree whose key files changed */
	json_int_t setup_s =
	    setup ? 3 * json_integer_value(json_object_get(setup, "timeout_s")) : 0;
	/* an image's first unpack */
	int image_s = al_policy_environment(policy) ? AL_JOB_IMAGE_SLACK_S : 0;

	return (int)(al_policy_timeout_s(policy) * (n_runs + 1)) + AL_JOB_RUNNER_SLACK_S +
	       (int)setup_s + image_s;
}

int
al_job_result_parse(const char *text, size_t len, json_t **ret, struct al_err *err)
{
	json_error_t jerr;
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	const json_t *runs = json_object_get(o, "runs");

	if (!json_is_object(o)) {
		json_decref(o);
		return al_err_set(err, -EBADMSG, "runner result is not a JSON object: %s",
				  jerr.text);
	}
	if (runs && !json_is_array(runs)) {
		json_decref(o);
		return al_err_set(err, -EBADMSG, "runner result: runs: expected an array");
	}
	*ret = o;
	return 0;
}

static void
add_path(json_t *a, const char *path)
{
	if (path && path[0])
		json_array_append_new(a, json_string(path));
}

json_t *
al_job_hide(const struct al_config *c, const char *config_path)
{
	json_t *a = json_array();

	if (!a)
		return NULL;
	add_path(a, c->data);
	add_path(a, config_path);
	add_path(a, c->tls_key);
	add_path(a, c->github_token_file);
	for (size_t i = 0; i < c->n_repos; i++) {
		json_t *s;
		size_t k;

		/* both phases' secrets: the proxies' alone */
		for (int ph = 0; ph < 2; ph++)
			json_array_foreach (json_object_get(al_policy_egress(c->repos[i].policy,
									     ph ? "setup" : "gate"),
							    "secrets"),
					    k, s)
				add_path(a, json_string_value(json_object_get(s, "file")));
		add_path(a, c->repos[i].path);
		if (c->repos[i].github)
			add_path(a, c->repos[i].github->secret_file);
	}
	return a;
}
