/* `airlock-core runner --pull-request`: a pull request fetched from its remote and diffed
 * for the server (server/pull.c), in the runner's confinement (runner/confine.c): what the
 * remote sends is parsed by libgit2 in a process that cannot open the signing key, the
 * database or another repository. Only the pulled repository stays writable, since the
 * fetch moves its refs/airlock/ refs.
 *
 * The request is one JSON object on stdin:
 *   {"repo": PATH, "remote": URL, "number": N, "base_branch": NAME, "head": HEX,
 *    "max_bytes": N, "hide": [PATH...]}
 * and the answer one on stdout:
 *   {"head": HEX, "base": HEX, "merge_base": HEX, "files": [{"path": P, "patch": TEXT}...]}
 * ("files" and "merge_base" left out when the fetched head is not "head"),
 * or {"stage": "fetch"|"merge_base"|"diff"|"too_big"|"request", "error": TEXT}. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/confine.h"
#include "runner/git.h"
#include "runner/runner.h"

#define REQUEST_MAX ((size_t)1 << 20)
#define MAX_HIDE 64

struct files {
	json_t *list;
	size_t bytes, max;
};

static int
add_file(void *ctx, const char *path, const char *patch, size_t len)
{
	struct files *f = ctx;

	if (len > f->max - f->bytes)
		return -E2BIG;
	f->bytes += len;
	return json_array_append_new(
		   f->list, json_pack("{s:s, s:s%}", "path", path, "patch", patch, len)) < 0
		   ? -ENOMEM
		   : 0;
}

static json_t *
failed(const char *stage, const struct al_err *err)
{
	return json_pack("{s:s, s:s}", "stage", stage, "error", al_err_msg(err));
}

static int
confine_for(const json_t *req, const char *repo, struct al_err *err)
{
	const json_t *hide = json_object_get(req, "hide");
	const char *paths[MAX_HIDE];
	struct al_confine c = {.hide = paths, .repo = repo, .repo_writable = 1};
	size_t i;
	json_t *v;

	if (!json_is_array(hide) || json_array_size(hide) > MAX_HIDE)
		return al_err_set(err, -EINVAL, "request: no confinement (hide)");
	json_array_foreach (hide, i, v) {
		if (!(paths[i] = json_string_value(v)))
			return al_err_set(err, -EINVAL, "request: hide: expected strings");
	}
	c.n_hide = json_array_size(hide);
	return al_confine_enter(&c, err);
}

json_t *
al_pull_answer(const json_t *req)
{
	const char *repo = json_string_value(json_object_get(req, "repo"));
	const char *remote = json_string_value(json_object_get(req, "remote"));
	const char *branch = json_string_value(json_object_get(req, "base_branch"));
	json_int_t number = json_integer_value(json_object_get(req, "number"));
	const char *expect = json_string_value(json_object_get(req, "head"));
	json_int_t max = json_integer_value(json_object_get(req, "max_bytes"));
	char spec_head[160], spec_base[600], ref_head[64], ref_base[300];
	char head[41], base[41], merge_base[41];
	const char *specs[2] = {spec_head, spec_base};
	struct files f = {.list = json_array(), .max = (size_t)max};
	struct al_err err = {0};
	int r;

	if (!repo || !remote || !branch || number <= 0 || max <= 0 || !f.list ||
	    strlen(branch) > 250) {
		json_decref(f.list);
		return failed("request", &(struct al_err){.msg = "malformed request"});
	}
	snprintf(ref_head, sizeof(ref_head), "refs/airlock/pull/%lld/head", (long long)number);
	snprintf(ref_base, sizeof(ref_base), "refs/airlock/upstream/heads/%s", branch);
	snprintf(spec_head, sizeof(spec_head), "+refs/pull/%lld/head:%s", (long long)number,
		 ref_head);
	snprintf(spec_base, sizeof(spec_base), "+refs/heads/%s:%s", branch, ref_base);
	if (al_git_fetch(repo, remote, specs, 2, &err) < 0 ||
	    al_git_ref_commit(repo, ref_head, head, &err) < 0 ||
	    al_git_ref_commit(repo, ref_base, base, &err) < 0) {
		json_decref(f.list);
		return failed("fetch", &err);
	}
	/* a head other than the one the event named: a later delivery gates that one */
	if (expect && strcmp(expect, head)) {
		json_decref(f.list);
		return json_pack("{s:s, s:s}", "head", head, "base", base);
	}
	if (al_git_merge_base(repo, base, head, merge_base, &err) < 0) {
		json_decref(f.list);
		return failed("merge_base", &err);
	}
	r = al_git_diff_files(repo, merge_base, head, add_file, &f, &err);
	if (r < 0) {
		json_decref(f.list);
		return failed(r == -E2BIG ? "too_big" : "diff", &err);
	}
	return json_pack("{s:s, s:s, s:s, s:o}", "head", head, "base", base, "merge_base",
			 merge_base, "files", f.list);
}

int
al_runner_pull(void)
{
	_cleanup_free_ char *text = NULL, *out = NULL;
	json_t *req = NULL, *res;
	size_t len;
	int r = al_fd_read_all(STDIN_FILENO, REQUEST_MAX, &text, &len);

	if (r == 0)
		req = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	struct al_err err = {0};

	if (!json_is_object(req))
		res = failed("request", &(struct al_err){.msg = "request is not JSON"});
	else if (confine_for(req, json_string_value(json_object_get(req, "repo")), &err) < 0)
		res = failed("request", &err);
	else
		res = al_pull_answer(req);
	json_decref(req);
	out = res ? json_dumps(res, JSON_COMPACT) : NULL;
	json_decref(res);
	if (!out || al_fd_write_all(STDOUT_FILENO, out, strlen(out)) < 0)
		return 1;
	return 0;
}
