/* One patch applied to a tree in memory as `git apply` (and `git apply -3`) would apply it,
 * for runner/checkout.c. */
#pragma once

#include <git2.h>
#include <stddef.h>

#include "lib/err.h"
#include "runner/checkout.h"

/* Applies diff, parsed from text (len bytes; NULL: its hunks are applied as stated), to the
 * tree pre; *ret is the tree after. which ("patch" or "test_patch") names it in messages
 * and in res. -ENOEXEC: it does not apply (res->fail_* say where). Hunks that applied
 * elsewhere than stated, and files merged three-way, are added to res. Only objects are
 * written to repo. */
int al_apply_patch(const char *which, const char *text, size_t len, git_diff *diff,
		   git_repository *repo, git_tree *pre, git_tree **ret,
		   struct al_checkout_result *res, struct al_err *err);
