/* Shared by the control group files only: cgroup.c (detection, the host) and cgroup-run.c
 * (one run's groups). */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#define AL_CGROUP_RUN_PREFIX "airlock-run-"
/* Empty groups kept for later runs to take (cgroup-run.c), AL_CGROUP_SPARES of them */
#define AL_CGROUP_SPARE_PREFIX "airlock-spare-"
#define AL_CGROUP_SPARES 2
/* v1: where a run's init moves itself once the command and everything it left are dead,
 * so the run's groups can go while the kernel still tears its namespaces down */
#define AL_CGROUP_EXIT_NAME "airlock-exit"

/* snprintf that fails with -ENAMETOOLONG instead of truncating */
int al_cgroup_fmt(char *buf, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));
/* Up to size - 1 bytes of dir/name, NUL-terminated; the length or -errno. */
ssize_t al_cgroup_read_text(const char *dir, const char *name, char *buf, size_t size);
/* All of text into dir/name in one write, or -errno. */
int al_cgroup_write_text(const char *dir, const char *name, const char *text);
