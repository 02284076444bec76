/* What a tree puts on disk, for the runner's libgit2 files: trees written byte for byte, and
 * the .gitattributes that would make a checkout write other bytes. */
#pragma once

#include <git2.h>

#include "lib/err.h"

/* Creates dir (which must not exist) and writes tree into it. *created tells the caller
 * whether there is something to remove on failure. */
int al_tree_write(git_repository *repo, git_tree *tree, const char *dir, int *created,
		  struct al_err *err);
/* The same, where base_dir holds tree base as written (and never changed after): a file
 * whose id and mode are the same in both is hardlinked from there rather than read from
 * the repository and written again. */
int al_tree_write_from(git_repository *repo, git_tree *tree, const char *dir, git_tree *base,
		       const char *base_dir, int *created, struct al_err *err);
/* Every tree a run may get is written byte for byte; one whose attributes would make a
 * checkout differ is refused (-EMEDIUMTYPE) rather than tested in a form nobody will run. */
int al_tree_check_attributes(git_repository *repo, git_tree *tree, struct al_err *err);
