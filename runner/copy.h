/* The copying fallback for hosts without overlay in a user namespace (runner/copy.c). */
#pragma once

#include <stdbool.h>

#include "lib/err.h"

#include "runner/sandbox.h" /* al_overlay_supported */
/* Copies the tree at src into dst (made when absent; what is there is replaced name by
 * name): directories, regular files with their permission bits, symlinks as they are. */
int al_copy_tree(const char *src, const char *dst, struct al_err *err);
/* What setup, run on copy (a copy of tree), added: moved into layer. -EPERM naming the
 * path when it changed or removed anything tree has, or left a device. */
int al_copy_additions(const char *copy, const char *tree, const char *layer, struct al_err *err);
