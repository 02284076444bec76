/* The syscall filter compiled with libseccomp from runner/seccomp-rules.c; used by the
 * build's generator (runner/gen/main.c) and by the test that holds the stored programs
 * against it. Never linked into airlock itself. */
#pragma once

#include <linux/filter.h>
#include <stddef.h>

#include "lib/err.h"
#include "runner/seccomp-rules.h"

/* The BPF program of variant v, as seccomp_export_bpf writes it; *ret_insns is the
 * caller's to free. */
int al_filter_build(enum al_seccomp_variant v, struct sock_filter **ret_insns, size_t *ret_len,
		    struct al_err *err);
