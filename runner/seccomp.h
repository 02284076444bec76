/* The sandbox's syscall filter (the libseccomp adapter). */
#pragma once

#include "lib/err.h"

/* A compiled BPF program; opaque outside runner/seccomp.c. */
struct al_seccomp_prog;

/* Compiles the deny-list filter once per process and hands out the shared, immutable
 * program (never freed). Call it before forking: installing must not allocate. */
int al_seccomp_prepare(const struct al_seccomp_prog **ret_prog, struct al_err *err);

/* Installs a prepared program in the calling thread. Async-signal-safe: no allocation,
 * no locks, so it may run in a child made with a raw clone(). The caller must already
 * have set no_new_privs. Returns 0 or -errno. */
int al_seccomp_install(const struct al_seccomp_prog *prog);

/* Prepares, sets no_new_privs and installs in the calling thread. */
int al_seccomp_load(struct al_err *err);

/* A canonical text listing what the filter denies; stable for a given build. */
const char *al_seccomp_profile(void);
