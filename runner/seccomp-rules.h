/* The sandbox's syscall filter as data: the one rule table (seccomp-rules.c), and the BPF
 * programs libseccomp compiles from it while airlock is built (runner/gen/), which
 * runner/seccomp.c loads. */
#pragma once

#include <linux/filter.h>
#include <stddef.h>

enum al_seccomp_when {
	AL_SECCOMP_ALWAYS,
	AL_SECCOMP_HAS_FLAG, /* (arg & value) != 0; value is a single bit */
	AL_SECCOMP_EQUALS32, /* (arg & 0xffffffff) == value: the kernel reads the arg as 32 bits */
	AL_SECCOMP_OUTSIDE,  /* arg is none of allowed[] (the kernel reads it as 32 bits) */
};

struct al_seccomp_rule {
	const char *syscall;
	int nr;
	int error; /* the errno a denied call fails with */
	enum al_seccomp_when when;
	unsigned arg;
	unsigned long long value;
	const char *value_name;
	const unsigned long long *allowed; /* AL_SECCOMP_OUTSIDE */
	size_t n_allowed;
};

/* What the filter denies, in order; a syscall's rules are contiguous or not, as written. */
extern const struct al_seccomp_rule al_seccomp_rules[];
extern const size_t al_seccomp_rules_len;

/* The two programs built from the rules. The counting one has every EPERM rule return
 * SECCOMP_RET_USER_NOTIF instead, for the runner to count and answer; other errnos (clone3's
 * ENOSYS) are the same in both. */
enum al_seccomp_variant {
	AL_SECCOMP_PLAIN,
	AL_SECCOMP_COUNTED,
};

/* In the generated $(BUILD)/gen/runner/seccomp-bpf.c. */
extern const struct sock_filter al_seccomp_bpf_plain[];
extern const unsigned short al_seccomp_bpf_plain_len;
extern const struct sock_filter al_seccomp_bpf_counted[];
extern const unsigned short al_seccomp_bpf_counted_len;
