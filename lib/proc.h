/* Waiting for a child process under a deadline, and the monotonic clock deadlines are
 * kept on. */
#pragma once

#include <sys/types.h>

/* Reaps pid into ret_status, killing it (SIGKILL) once timeout_ms is over.  pidfd is the
 * child's pidfd to sleep on, or -1 without one (an old kernel, or pidfd_open refused):
 * then the child is looked at every few milliseconds, so the deadline holds either way.
 * 0 when it ended by itself, 1 when the deadline killed it, or -errno. */
int al_proc_wait_deadline(pid_t pid, int pidfd, long timeout_ms, int *ret_status);

/* CLOCK_MONOTONIC in milliseconds, and in seconds with its fraction. */
long long al_now_ms(void);
double al_now_s(void);
