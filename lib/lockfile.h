/* One holder at a time: an exclusive lock on a file, held for as long as its descriptor is
 * open (flock: it dies with its process, whatever way it ends). */
#pragma once

#include "lib/err.h"

/* Locks path (made 0600 when missing) and writes this process's pid into it; the lock is
 * held while *ret_fd stays open (O_CLOEXEC: a child never inherits it).  -EBUSY when
 * another holds it, with the pid written there in *ret_holder (0 when unreadable). */
int al_lockfile_take(const char *path, int *ret_fd, long *ret_holder, struct al_err *err);
