/* The only file that includes seccomp.h. The filter is a deny-list: everything the native
 * architecture offers is allowed except what lets a process leave or attack the sandbox
 * (mounts, namespaces, tracing, kernel keyrings, io_uring, BPF, modules, reboot...).
 * Any other architecture (i386 via int 0x80, x32) kills the process. The program is
 * compiled once, in the runner, and installed in the sandboxed child with a bare prctl()
 * so the child never allocates. */
#include "runner/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/buf.h"
#include "lib/macros.h"

struct al_seccomp_prog {
	unsigned short len;
	struct sock_filter *insns; /* owned, for the life of the process */
};

enum deny_when {
	DENY_ALWAYS,
	DENY_HAS_FLAG, /* (arg & value) != 0 */
	DENY_EQUALS32, /* (arg & 0xffffffff) == value: the kernel reads this arg as 32 bits */
};

struct deny_rule {
	const char *syscall;
	int error;
	enum deny_when when;
	unsigned arg;
	unsigned long long value;
	const char *value_name;
};

#define DENY(name)                                    \
	{                                             \
#name, EPERM, DENY_ALWAYS, 0, 0, NULL \
	}
#define DENY_FLAG(name, arg, flag)                            \
	{                                                     \
#name, EPERM, DENY_HAS_FLAG, arg, flag, #flag \
	}
#define DENY_EQ32(name, arg, v)                         \
	{                                               \
#name, EPERM, DENY_EQUALS32, arg, v, #v \
	}

static const struct deny_rule deny_rules[] = {
    /* other processes' memory */
    DENY(ptrace),
    DENY(process_vm_readv),
    DENY(process_vm_writev),
    DENY(pidfd_getfd),
    /* kernel keyrings are not namespaced */
    DENY(keyctl),
    DENY(add_key),
    DENY(request_key),
    /* large kernel attack surface */
    DENY(io_uring_setup),
    DENY(io_uring_enter),
    DENY(io_uring_register),
    DENY(userfaultfd),
    DENY(perf_event_open),
    DENY(bpf),
    /* the mount table is built before exec and stays as built */
    DENY(mount),
    DENY(umount2),
    DENY(pivot_root),
    DENY(move_mount),
    DENY(open_tree),
    DENY(fsopen),
    DENY(fsmount),
    DENY(fsconfig),
    DENY(fspick),
    DENY(mount_setattr),
    /* no new namespaces, no joining others */
    DENY(unshare),
    DENY(setns),
    DENY_FLAG(clone, 0, CLONE_NEWNS),
    DENY_FLAG(clone, 0, CLONE_NEWCGROUP),
    DENY_FLAG(clone, 0, CLONE_NEWUTS),
    DENY_FLAG(clone, 0, CLONE_NEWIPC),
    DENY_FLAG(clone, 0, CLONE_NEWUSER),
    DENY_FLAG(clone, 0, CLONE_NEWPID),
    DENY_FLAG(clone, 0, CLONE_NEWNET),
    /* clone3 passes its flags in memory a filter cannot read: make libc fall back */
    {"clone3", ENOSYS, DENY_ALWAYS, 0, 0, NULL},
    /* the machine itself */
    DENY(kexec_load),
    DENY(kexec_file_load),
    DENY(init_module),
    DENY(finit_module),
    DENY(delete_module),
    DENY(reboot),
    DENY(swapon),
    DENY(swapoff),
    DENY(acct),
    DENY(syslog),
    DENY(quotactl),
    DENY(open_by_handle_at),
    DENY(lookup_dcookie),
    /* typing into a terminal the sandbox does not own */
    DENY_EQ32(ioctl, 1, TIOCSTI),
    DENY_EQ32(ioctl, 1, TIOCLINUX),
};

#if defined(__x86_64__)
#define NATIVE_ARCH "x86_64"
#elif defined(__aarch64__)
#define NATIVE_ARCH "aarch64"
#else
#define NATIVE_ARCH "native"
#endif

static struct al_seccomp_prog compiled;
static struct al_err compile_err;
static int compile_rc;
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

static void
ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx)
		seccomp_release(*ctx);
}

static int
add_rule(scmp_filter_ctx ctx, const struct deny_rule *d, struct al_err *err)
{
	int nr = seccomp_syscall_resolve_name(d->syscall);
	uint32_t action = SCMP_ACT_ERRNO((uint32_t)d->error);
	struct scmp_arg_cmp cmp = {.arg = d->arg, .op = SCMP_CMP_MASKED_EQ};
	int r;

	if (nr == __NR_SCMP_ERROR)
		return al_err_set(err, -ENOSYS, "seccomp: unknown syscall %s", d->syscall);
	switch (d->when) {
	case DENY_ALWAYS:
		r = seccomp_rule_add(ctx, action, nr, 0);
		break;
	case DENY_HAS_FLAG:
		cmp.datum_a = d->value;
		cmp.datum_b = d->value;
		r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
		break;
	default:
		cmp.datum_a = 0xffffffffULL;
		cmp.datum_b = d->value;
		r = seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
		break;
	}
	if (r < 0)
		return al_err_set(err, r, "seccomp: rule for %s: %s", d->syscall, strerror(-r));
	return 0;
}

/* libseccomp writes the program to an fd; a memfd gives it back as bytes. */
static int
export_program(scmp_filter_ctx ctx, struct al_seccomp_prog *ret, struct al_err *err)
{
	_cleanup_close_ int fd = memfd_create("al-seccomp", MFD_CLOEXEC);
	char *data = NULL;
	size_t len = 0;
	int r;

	if (fd < 0)
		return al_err_set(err, -errno, "seccomp: memfd_create: %s", strerror(errno));
	r = seccomp_export_bpf(ctx, fd);
	if (r < 0)
		return al_err_set(err, r, "seccomp: export: %s", strerror(-r));
	if (lseek(fd, 0, SEEK_SET) < 0)
		return al_err_set(err, -errno, "seccomp: lseek: %s", strerror(errno));
	r = al_fd_read_all(fd, BPF_MAXINSNS * sizeof(struct sock_filter), &data, &len);
	if (r < 0)
		return al_err_set(err, r, "seccomp: reading program: %s", strerror(-r));
	if (len == 0 || len % sizeof(struct sock_filter) != 0) {
		free(data);
		return al_err_set(err, -EINVAL, "seccomp: program of %zu bytes", len);
	}
	ret->insns = (struct sock_filter *)(void *)data;
	ret->len = (unsigned short)(len / sizeof(struct sock_filter));
	return 0;
}

static int
compile(struct al_seccomp_prog *ret, struct al_err *err)
{
	_cleanup_(ctx_releasep) scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int r;

	if (!ctx)
		return al_err_set(err, -ENOMEM, "seccomp: init failed");
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return al_err_set(err, r, "seccomp: attributes: %s", strerror(-r));
	for (size_t i = 0; i < AL_ARRAY_SIZE(deny_rules); i++) {
		r = add_rule(ctx, &deny_rules[i], err);
		if (r < 0)
			return r;
	}
	return export_program(ctx, ret, err);
}

static void
compile_now(void)
{
	compile_rc = compile(&compiled, &compile_err);
}

int
al_seccomp_prepare(const struct al_seccomp_prog **ret_prog, struct al_err *err)
{
	pthread_once(&compile_once, compile_now);
	if (compile_rc < 0)
		return al_err_set(err, compile_rc, "%s", al_err_msg(&compile_err));
	*ret_prog = &compiled;
	return 0;
}

int
al_seccomp_install(const struct al_seccomp_prog *prog)
{
	struct sock_fprog fprog = {.len = prog->len, .filter = prog->insns};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0)
		return -errno;
	return 0;
}

int
al_seccomp_load(struct al_err *err)
{
	const struct al_seccomp_prog *prog;
	int r = al_seccomp_prepare(&prog, err);

	if (r < 0)
		return r;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return al_err_set(err, -errno, "no_new_privs: %s", strerror(errno));
	r = al_seccomp_install(prog);
	if (r < 0)
		return al_err_set(err, r, "seccomp: install: %s", strerror(-r));
	return 0;
}

static char profile_text[8192];

static void
profile_build(void)
{
	size_t len = 0;

	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"seccomp default=allow arch=%s other-arch=kill-process\n", NATIVE_ARCH);
	for (size_t i = 0; i < AL_ARRAY_SIZE(deny_rules); i++) {
		const struct deny_rule *d = &deny_rules[i];
		const char *e = strerrorname_np(d->error);

		if (d->when == DENY_ALWAYS)
			al_fixed_printf(profile_text, sizeof(profile_text), &len,
					"seccomp deny %s errno=%s\n", d->syscall, e);
		else
			al_fixed_printf(profile_text, sizeof(profile_text), &len,
					"seccomp deny %s if arg%u %s %s errno=%s\n", d->syscall,
					d->arg,
					d->when == DENY_HAS_FLAG ? "has" : "==", d->value_name, e);
	}
}

const char *
al_seccomp_profile(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, profile_build);
	return profile_text;
}
