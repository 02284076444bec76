/* True bases: a proposal's base must be in the history of one of the repository's
 * protected branches (policy `branches`). */
#pragma once

#include <jansson.h>

#include "lib/err.h"
#include "server/config.h"

/* The commits the repository's protected branches point at now: a JSON array of commit
 * ids (empty when no branch matches, which refuses every base). */
int al_bases_tips(const struct al_repo_conf *repo, json_t **ret, struct al_err *err);
/* Whether base resolves to a commit on a protected branch: 0, -ENOENT (does not resolve)
 * or -EPERM (on none), with err saying which. */
int al_bases_check(const struct al_repo_conf *repo, const char *base, struct al_err *err);
