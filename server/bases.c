/* True bases: the branch tips a base is checked against, from the repository's refs. */
#include "server/bases.h"

#include <errno.h>
#include <stdlib.h>

#include "gates/gates.h"
#include "lib/macros.h"
#include "runner/git.h"

#define AL_BASES_MAX_TIPS 256

struct tips {
	const struct al_policy *policy;
	json_t *tips;
};

static int
want_branch(void *ctx, const char *ref)
{
	const struct tips *t = ctx;

	return al_policy_is_branch(t->policy, ref);
}

static int
add_tip(void *ctx, const char *ref, const char *hex)
{
	struct tips *t = ctx;

	(void)ref;
	if (json_array_size(t->tips) >= AL_BASES_MAX_TIPS)
		return -E2BIG;
	return json_array_append_new(t->tips, json_string(hex)) < 0 ? -ENOMEM : 0;
}

int
al_bases_tips(const struct al_repo_conf *repo, json_t **ret, struct al_err *err)
{
	struct tips t = {.policy = repo->policy, .tips = json_array()};
	int r;

	if (!t.tips)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_git_branch_tips(repo->path, want_branch, add_tip, &t, err);
	if (r < 0) {
		json_decref(t.tips);
		return r;
	}
	*ret = t.tips;
	return 0;
}

int
al_bases_check(const struct al_repo_conf *repo, const char *base, struct al_err *err)
{
	const char *tips[AL_BASES_MAX_TIPS];
	char commit[41];
	json_t *a = NULL, *v;
	size_t i;
	int r = al_bases_tips(repo, &a, err);

	if (r < 0)
		return r;
	json_array_foreach (a, i, v)
		tips[i] = json_string_value(v);
	r = al_git_base_on(repo->path, base, tips, json_array_size(a), commit, err);
	json_decref(a);
	return r;
}
