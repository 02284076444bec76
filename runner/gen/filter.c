/* The libseccomp adapter, the only file that includes seccomp.h: the rule table becomes
 * libseccomp rules, and libseccomp's BPF comes back as an array.
 *
 * libseccomp compares an argument in all its 64 bits, while the kernel reads an int
 * argument (ioctl's cmd, socket's family, personality's persona, clone's flags) in its low
 * 32 only; so every comparison here is a masked equality whose mask covers the low 32 bits
 * alone, which libseccomp's high-word test then always passes. "Not one of these values"
 * has no such form, and libseccomp takes one comparison per argument in a rule: it becomes
 * a set of masked equalities that together cover every 32-bit value outside the list (a
 * prefix of bits no allowed value has, each). */
#include "runner/gen/filter.h"

#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/macros.h"

#define LOW32 0xffffffffULL
/* The API level whose actions (user notification, kill-process) the programs use: set, so
 * that libseccomp does not ask the build machine's kernel what it supports. */
#define API_LEVEL 6

static void
ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static uint32_t
rule_action(const struct al_seccomp_rule *d, enum al_seccomp_variant v)
{
	if (d->error == EPERM && v == AL_SECCOMP_COUNTED)
		return SCMP_ACT_NOTIFY;
	return SCMP_ACT_ERRNO((uint32_t)d->error);
}

static int
add_masked(scmp_filter_ctx ctx, uint32_t action, const struct al_seccomp_rule *d,
	   unsigned long long mask, unsigned long long value)
{
	return seccomp_rule_add(ctx, action, d->nr, 1,
				SCMP_CMP(d->arg, SCMP_CMP_MASKED_EQ, mask, value));
}

static int
in_allowed(const struct al_seccomp_rule *d, unsigned long long mask, unsigned long long prefix)
{
	for (size_t i = 0; i < d->n_allowed; i++)
		if ((d->allowed[i] & mask) == prefix)
			return 1;
	return 0;
}

/* Every 32-bit value whose top bits are prefix (of len bits) and that is not allowed. */
static int
add_outside(scmp_filter_ctx ctx, uint32_t action, const struct al_seccomp_rule *d,
	    unsigned long long prefix, unsigned len)
{
	unsigned long long mask = len ? (LOW32 << (32 - len)) & LOW32 : 0;
	unsigned long long bit;
	int r;

	if (!in_allowed(d, mask, prefix))
		return add_masked(ctx, action, d, mask, prefix);
	if (len == 32)
		return 0; /* an allowed value itself */
	bit = 1ULL << (31 - len);
	r = add_outside(ctx, action, d, prefix, len + 1);
	return r < 0 ? r : add_outside(ctx, action, d, prefix | bit, len + 1);
}

static int
add_rule(scmp_filter_ctx ctx, const struct al_seccomp_rule *d, enum al_seccomp_variant v)
{
	uint32_t action = rule_action(d, v);

	switch (d->when) {
	case AL_SECCOMP_ALWAYS:
		return seccomp_rule_add(ctx, action, d->nr, 0);
	case AL_SECCOMP_HAS_FLAG:
		/* (arg & flag) == flag says (arg & flag) != 0 only for one bit */
		if (d->value == 0 || (d->value & (d->value - 1)) || d->value > LOW32)
			return -EINVAL;
		return add_masked(ctx, action, d, d->value, d->value);
	case AL_SECCOMP_EQUALS32:
		if (d->value > LOW32)
			return -EINVAL;
		return add_masked(ctx, action, d, LOW32, d->value);
	case AL_SECCOMP_OUTSIDE:
		for (size_t i = 0; i < d->n_allowed; i++)
			if (d->allowed[i] > LOW32)
				return -EINVAL;
		return add_outside(ctx, action, d, 0, 0);
	}
	return -EINVAL;
}

static int
read_back(int fd, struct sock_filter **ret_insns, size_t *ret_len, struct al_err *err)
{
	off_t size = lseek(fd, 0, SEEK_END);
	_cleanup_free_ struct sock_filter *insns = NULL;
	ssize_t n;

	if (size <= 0 || size % (off_t)sizeof(*insns) || lseek(fd, 0, SEEK_SET) < 0)
		return al_err_set(err, -EIO, "seccomp: libseccomp exported %lld bytes",
				  (long long)size);
	insns = malloc((size_t)size);
	if (!insns)
		return al_err_set(err, -ENOMEM, "out of memory");
	n = pread(fd, insns, (size_t)size, 0);
	if (n != size)
		return al_err_set(err, n < 0 ? -errno : -EIO, "seccomp: reading the export back");
	*ret_insns = steal_pointer(&insns);
	*ret_len = (size_t)size / sizeof(**ret_insns);
	return 0;
}

int
al_filter_build(enum al_seccomp_variant v, struct sock_filter **ret_insns, size_t *ret_len,
		struct al_err *err)
{
	_cleanup_(ctx_releasep) scmp_filter_ctx ctx = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	r = seccomp_api_set(API_LEVEL);
	if (r < 0)
		return al_err_set(err, r, "seccomp: libseccomp API level %d: %s", API_LEVEL,
				  strerror(-r));
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return al_err_set(err, -ENOMEM, "seccomp: seccomp_init failed");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* a binary tree over the syscall numbers: a handful of jumps per syscall, not one
	 * comparison for every rule */
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; r == 0 && i < al_seccomp_rules_len; i++) {
		r = add_rule(ctx, &al_seccomp_rules[i], v);
		if (r < 0)
			return al_err_set(err, r, "seccomp: rule %zu (%s): %s", i,
					  al_seccomp_rules[i].syscall, strerror(-r));
	}
	if (r < 0)
		return al_err_set(err, r, "seccomp: kill-process for other architectures: %s",
				  strerror(-r));
	fd = memfd_create("airlock-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return al_err_set(err, -errno, "seccomp: memfd_create: %s", strerror(errno));
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return al_err_set(err, r, "seccomp: seccomp_export_bpf: %s", strerror(-r));
	return read_back(fd, ret_insns, ret_len, err);
}
