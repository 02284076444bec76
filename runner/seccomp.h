/* The sandbox's syscall filter: BPF that libseccomp built from one rule table
 * (runner/seccomp-rules.c) while airlock was built, loaded here. */
#pragma once

#include <linux/filter.h>
#include <stddef.h>

#include "lib/err.h"
#include "runner/seccomp-rules.h"

/* The stored BPF programs; opaque outside runner/seccomp.c. */
struct al_seccomp_prog;

/* Hands out the stored programs (immutable, never freed), having checked once per process
 * whether the kernel can notify. Call it before forking: installing must not allocate. */
int al_seccomp_prepare(const struct al_seccomp_prog **ret_prog, struct al_err *err);

/* The program a variant installs (the counting one has len 0 when the kernel cannot
 * notify), for tests that hold it against libseccomp's. */
void al_seccomp_program(const struct al_seccomp_prog *prog, enum al_seccomp_variant v,
			const struct sock_filter **ret_insns, size_t *ret_len);

/* NULL when denials can be counted (user notification works); else why not. */
const char *al_seccomp_uncounted_reason(const struct al_seccomp_prog *prog);

/* Installs the plain program (denied calls fail with EPERM) in the calling thread.
 * Async-signal-safe: no allocation, no locks, so it may run in a child made with a raw
 * clone(). The caller must already have set no_new_privs. Returns 0 or -errno. */
int al_seccomp_install(const struct al_seccomp_prog *prog);

/* Installs the counting program and sets *ret_listener to its listener fd (O_CLOEXEC),
 * which the supervisor must drain with al_seccomp_answer; where the kernel cannot notify,
 * installs the plain program and sets -1. Async-signal-safe, like al_seccomp_install. */
int al_seccomp_install_counted(const struct al_seccomp_prog *prog, int *ret_listener);

/* Hands a listener over a unix socket (SCM_RIGHTS); async-signal-safe. */
int al_seccomp_send_listener(int sock, int listener);
/* Takes one without blocking; -EAGAIN when nothing is there yet, -EPIPE at EOF. */
int al_seccomp_recv_listener(int sock, int *ret_listener);

/* Answers one pending notification with EPERM and names the denied call (a static
 * string). 1 when one was answered, 0 when it vanished (its caller was killed),
 * -errno when the listener is unusable. Call it when the listener polls readable. */
int al_seccomp_answer(int listener, const char **ret_name);

/* Prepares, sets no_new_privs and installs the plain program in the calling thread. */
int al_seccomp_load(struct al_err *err);

/* For al_doctor_run: in test children, whether a filter denies (*ret_filter) and
 * whether user notification reaches a supervisor (*ret_notify); why holds the reason
 * for the first thing missing. -ENOTSUP when no filter works at all. */
int al_seccomp_probe(int *ret_filter, int *ret_notify, char *why, size_t size);

/* A canonical text listing what the filter denies; stable for a given build. */
const char *al_seccomp_profile(void);
