/* File helpers: capped reads, atomic writes, directory trees. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "err.h"

/* Reads a whole file; -EFBIG when it is larger than cap. The result is NUL-terminated. */
int al_file_read(const char *path, size_t cap, char **ret_data, size_t *ret_len,
		 struct al_err *err);
int al_fd_read_all(int fd, size_t cap, char **ret_data, size_t *ret_len);
int al_fd_write_all(int fd, const void *p, size_t n);
/* Writes to a temporary sibling, fsyncs, renames over path. */
int al_file_write_atomic(const char *path, const void *p, size_t n, mode_t mode,
			 struct al_err *err);
int al_mkdir_p(const char *path, mode_t mode);
/* Removes a tree without following symlinks; a missing path is success. */
int al_rm_rf(const char *path);
/* Bytes a tree takes on disk (its blocks, links not followed), walked at any depth with two
 * descriptors at most; -ESTALE when a directory moved during the walk. */
int al_du(const char *path, unsigned long long *ret_bytes);
/* Joins a and b with one slash; caller frees. */
char *al_path_join(const char *a, const char *b);
