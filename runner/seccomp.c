/* The sandbox's syscall filter. It is a deny-list: everything the native architecture
 * offers is allowed except what lets a process leave or attack the sandbox (mounts,
 * namespaces, tracing, kernel keyrings, io_uring, BPF, modules, reboot, the clock, exotic
 * socket families...). Any other architecture (i386 via int 0x80, x32) kills the process.
 *
 * The BPF is generated here from the rule table, in microseconds, once per process; it
 * used to come from libseccomp, whose compile cost about a millisecond in every
 * short-lived runner and `airlock sandbox`. The shape is libseccomp's: check the
 * architecture, then one comparison per denied syscall, each followed by its small body.
 * Arguments are compared in their low 32 bits, which is all the kernel reads of an int
 * argument (ioctl's cmd, socket's family, personality's persona, clone's namespace
 * flags); two tests keep the generated program honest: every rule is tried against the
 * kernel, with a control run without the filter.
 *
 * Two variants come from the same rules. The counting one returns
 * SECCOMP_RET_USER_NOTIF for every EPERM rule: the kernel parks the call and the runner,
 * holding the listener fd, counts it and answers EPERM. Should the runner be gone, the
 * kernel fails the call with ENOSYS: still denied. The plain one returns EPERM directly;
 * it serves kernels without user notification and al_seccomp_load. The program is
 * installed in the sandboxed child with a bare syscall so the child never allocates. */
#include "runner/seccomp.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/personality.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/macros.h"

struct program {
	unsigned short len;
	struct sock_filter *insns; /* owned, for the life of the process */
};

struct al_seccomp_prog {
	struct program plain;  /* denied calls fail with their errno */
	struct program notify; /* EPERM rules notify the listener; len 0 when unsupported */
	char why_plain[160];   /* why notify is empty */
};

enum deny_when {
	DENY_ALWAYS,
	DENY_HAS_FLAG, /* (arg & value) != 0 */
	DENY_EQUALS32, /* (arg & 0xffffffff) == value: the kernel reads this arg as 32 bits */
	DENY_OUTSIDE,  /* arg is none of allowed[] (sorted; the kernel reads it as 32 bits) */
};

struct deny_rule {
	const char *syscall;
	int nr;
	int error;
	enum deny_when when;
	unsigned arg;
	unsigned long long value;
	const char *value_name;
	const unsigned long long *allowed; /* DENY_OUTSIDE */
	size_t n_allowed;
};

#define DENY(name)                                                                      \
	{                                                                               \
		.syscall = #name, .nr = SYS_##name, .error = EPERM, .when = DENY_ALWAYS \
	}
#define DENY_FLAG(name, n, flag)                                                           \
	{                                                                                  \
		.syscall = #name, .nr = SYS_##name, .error = EPERM, .when = DENY_HAS_FLAG, \
		.arg = n, .value = flag, .value_name = #flag                               \
	}
#define DENY_EQ32(name, n, v)                                                              \
	{                                                                                  \
		.syscall = #name, .nr = SYS_##name, .error = EPERM, .when = DENY_EQUALS32, \
		.arg = n, .value = v, .value_name = #v                                     \
	}
#define DENY_OUTSIDE_OF(name, n, list)                                                           \
	{                                                                                        \
		.syscall = #name, .nr = SYS_##name, .error = EPERM, .when = DENY_OUTSIDE,        \
		.arg = n, .value_name = #list, .allowed = list, .n_allowed = AL_ARRAY_SIZE(list) \
	}

/* Socket families a build or a test suite needs; the rest (netlink, packet, vsock,
 * bluetooth, alg...) is kernel attack surface with no use without a network. */
static const unsigned long long socket_families[] = {AF_UNIX, AF_INET, AF_INET6};
/* PER_LINUX, and the query that changes nothing */
static const unsigned long long personas[] = {PER_LINUX, 0xffffffffULL};

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
    {.syscall = "clone3", .nr = SYS_clone3, .error = ENOSYS, .when = DENY_ALWAYS},
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
    /* the clock is the host's */
    DENY(settimeofday),
    DENY(clock_settime),
    DENY(clock_adjtime),
    DENY(adjtimex),
    /* other personalities turn off ASLR or change the syscall ABI's details */
    DENY_OUTSIDE_OF(personality, 0, personas),
    DENY_OUTSIDE_OF(socket, 0, socket_families),
    DENY_OUTSIDE_OF(socketpair, 0, socket_families),
    /* typing into a terminal the sandbox does not own */
    DENY_EQ32(ioctl, 1, TIOCSTI),
    DENY_EQ32(ioctl, 1, TIOCLINUX),
};

#if defined(__x86_64__)
#define NATIVE_ARCH "x86_64"
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#define X32_SYSCALL_BIT 0x40000000u
#elif defined(__aarch64__)
#define NATIVE_ARCH "aarch64"
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#else
#error "the seccomp filter knows x86_64 and aarch64"
#endif

#define MAX_INSNS 1024
#define ARG_LOW(i)                                                      \
	(offsetof(struct seccomp_data, args) + (i) * sizeof(uint64_t) + \
	 (__BYTE_ORDER == __LITTLE_ENDIAN ? 0 : sizeof(uint32_t)))

static struct al_seccomp_prog compiled;
static struct al_err compile_err;
static int compile_rc;
static pthread_once_t compile_once = PTHREAD_ONCE_INIT;

struct builder {
	struct sock_filter insns[MAX_INSNS];
	size_t n;
	int overflow; /* a bug in the table or here, never an input */
};

static void
emit(struct builder *b, uint16_t code, size_t jt, size_t jf, uint32_t k)
{
	if (b->n == MAX_INSNS || jt > 255 || jf > 255) {
		b->overflow = 1;
		return;
	}
	b->insns[b->n++] = (struct sock_filter)BPF_JUMP(code, k, (uint8_t)jt, (uint8_t)jf);
}

static void
ret(struct builder *b, uint32_t action)
{
	emit(b, BPF_RET | BPF_K, 0, 0, action);
}

static uint32_t
deny_action(const struct deny_rule *d)
{
	return SECCOMP_RET_ERRNO | ((uint32_t)d->error & SECCOMP_RET_DATA);
}

/* One rule's test, after which it denies; a rule that does not match falls through. */
static void
emit_rule(struct builder *b, const struct deny_rule *d)
{
	if (d->when != DENY_ALWAYS)
		emit(b, BPF_LD | BPF_W | BPF_ABS, 0, 0, (uint32_t)ARG_LOW(d->arg));
	switch (d->when) {
	case DENY_ALWAYS:
		break;
	case DENY_HAS_FLAG:
		assert(d->value <= 0xffffffffULL);
		emit(b, BPF_JMP | BPF_JSET | BPF_K, 0, 1, (uint32_t)d->value);
		break;
	case DENY_EQUALS32:
		emit(b, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t)d->value);
		break;
	case DENY_OUTSIDE:
		/* an allowed value jumps over the deny */
		for (size_t k = 0; k < d->n_allowed; k++) {
			assert(d->allowed[k] <= 0xffffffffULL);
			emit(b, BPF_JMP | BPF_JEQ | BPF_K, d->n_allowed - k, 0,
			     (uint32_t)d->allowed[k]);
		}
		break;
	}
	ret(b, deny_action(d));
}

/* "if nr == X: every rule of X in turn, then allow"; the body comes first into its own
 * builder so the skip over it is known. */
static void
emit_syscall(struct builder *b, int nr, struct builder *body)
{
	int unconditional = 0;

	body->n = 0;
	for (size_t i = 0; i < AL_ARRAY_SIZE(deny_rules) && !unconditional; i++) {
		if (deny_rules[i].nr != nr)
			continue;
		emit_rule(body, &deny_rules[i]);
		unconditional = deny_rules[i].when == DENY_ALWAYS;
	}
	if (!unconditional)
		ret(body, SECCOMP_RET_ALLOW);
	b->overflow |= body->overflow;
	emit(b, BPF_JMP | BPF_JEQ | BPF_K, 0, body->n, (uint32_t)nr);
	for (size_t i = 0; i < body->n; i++)
		emit(b, body->insns[i].code, body->insns[i].jt, body->insns[i].jf,
		     body->insns[i].k);
}

static int
first_rule_of(size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (deny_rules[j].nr == deny_rules[i].nr)
			return 0;
	return 1;
}

/* libseccomp's layout: a foreign architecture, or x32's numbers on x86_64 (but not -1,
 * which is how a tracer skips a call), kill the process. */
static int
compile(struct program *ret_prog, struct al_err *err)
{
	_cleanup_free_ struct builder *b = calloc(1, sizeof(*b));
	_cleanup_free_ struct builder *body = calloc(1, sizeof(*body));
	struct sock_filter *insns;

	if (!b || !body)
		return al_err_set(err, -ENOMEM, "out of memory");
	emit(b, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
	emit(b, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, AUDIT_ARCH_NATIVE);
	ret(b, SECCOMP_RET_KILL_PROCESS);
	emit(b, BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
#ifdef X32_SYSCALL_BIT
	emit(b, BPF_JMP | BPF_JGE | BPF_K, 0, 2, X32_SYSCALL_BIT);
	emit(b, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 0xffffffffu);
	ret(b, SECCOMP_RET_KILL_PROCESS);
#endif
	for (size_t i = 0; i < AL_ARRAY_SIZE(deny_rules); i++)
		if (first_rule_of(i))
			emit_syscall(b, deny_rules[i].nr, body);
	ret(b, SECCOMP_RET_ALLOW);
	if (b->overflow)
		return al_err_set(err, -E2BIG, "seccomp: the rule table does not fit a program");
	insns = malloc(b->n * sizeof(*insns));
	if (!insns)
		return al_err_set(err, -ENOMEM, "out of memory");
	memcpy(insns, b->insns, b->n * sizeof(*insns));
	ret_prog->insns = insns;
	ret_prog->len = (unsigned short)b->n;
	return 0;
}

/* The calls the counting variant reports, by number; filled at compile time. */
static struct {
	int nr;
	const char *name;
} counted[AL_ARRAY_SIZE(deny_rules)];
static size_t n_counted;

static void
fill_counted(void)
{
	for (size_t i = 0; i < AL_ARRAY_SIZE(deny_rules); i++) {
		if (deny_rules[i].error != EPERM || !first_rule_of(i))
			continue;
		counted[n_counted].nr = deny_rules[i].nr;
		counted[n_counted++].name = deny_rules[i].syscall;
	}
}

/* The kernel must offer the action, and its notification structs must be the ones we
 * were built with (the ioctl numbers encode their sizes). */
static int
notify_usable(char *why, size_t size)
{
	uint32_t action = SECCOMP_RET_USER_NOTIF;
	struct seccomp_notif_sizes sz;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) < 0) {
		snprintf(why, size, "the kernel has no seccomp user notification (%s)",
			 strerrorname_np(errno));
		return 0;
	}
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) {
		snprintf(why, size, "SECCOMP_GET_NOTIF_SIZES: %s", strerrorname_np(errno));
		return 0;
	}
	if (sz.seccomp_notif != sizeof(struct seccomp_notif) ||
	    sz.seccomp_notif_resp != sizeof(struct seccomp_notif_resp)) {
		snprintf(why, size,
			 "the kernel's notification structs differ from airlock's build");
		return 0;
	}
	return 1;
}

/* The counting variant is the plain one with each EPERM return turned into a
 * notification (clone3's ENOSYS stays as it is). */
static int
derive_notify(const struct program *plain, struct program *ret, struct al_err *err)
{
	size_t size = plain->len * sizeof(struct sock_filter);
	struct sock_filter *insns = malloc(size);

	if (!insns)
		return al_err_set(err, -ENOMEM, "out of memory");
	memcpy(insns, plain->insns, size);
	for (size_t i = 0; i < plain->len; i++)
		if (insns[i].code == (BPF_RET | BPF_K) &&
		    insns[i].k == (SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)))
			insns[i].k = SECCOMP_RET_USER_NOTIF;
	ret->insns = insns;
	ret->len = plain->len;
	return 0;
}

static void
compile_now(void)
{
	struct al_err err = {0};

	fill_counted();
	compile_rc = compile(&compiled.plain, &compile_err);
	if (compile_rc < 0 || !notify_usable(compiled.why_plain, sizeof(compiled.why_plain)))
		return;
	if (derive_notify(&compiled.plain, &compiled.notify, &err) < 0)
		snprintf(compiled.why_plain, sizeof(compiled.why_plain), "%s", al_err_msg(&err));
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

const char *
al_seccomp_uncounted_reason(const struct al_seccomp_prog *prog)
{
	return prog->notify.len ? NULL : prog->why_plain;
}

int
al_seccomp_install(const struct al_seccomp_prog *prog)
{
	struct sock_fprog fprog = {.len = prog->plain.len, .filter = prog->plain.insns};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0)
		return -errno;
	return 0;
}

int
al_seccomp_install_counted(const struct al_seccomp_prog *prog, int *ret_listener)
{
	struct sock_fprog fprog = {.len = prog->notify.len, .filter = prog->notify.insns};
	long fd;

	*ret_listener = -1;
	if (!prog->notify.len)
		return al_seccomp_install(prog);
	fd =
	    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
	if (fd < 0)
		return -errno;
	*ret_listener = (int)fd;
	return 0;
}

int
al_seccomp_send_listener(int sock, int listener)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte = 'L';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = u.buf,
	    .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	ssize_t n;

	memset(u.buf, 0, sizeof(u.buf));
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &listener, sizeof(int));
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == 1 ? 0 : n < 0 ? -errno : -EIO;
}

int
al_seccomp_recv_listener(int sock, int *ret_listener)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr msg = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = u.buf,
	    .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	if (n == 0)
		return -EPIPE;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)) || (msg.msg_flags & MSG_CTRUNC))
		return -EBADMSG;
	memcpy(ret_listener, CMSG_DATA(c), sizeof(int));
	return 0;
}

static const char *
counted_name(int nr)
{
	for (size_t i = 0; i < n_counted; i++)
		if (counted[i].nr == nr)
			return counted[i].name;
	return "unknown";
}

/* The target's memory is never read, so no SECCOMP_IOCTL_NOTIF_ID_VALID dance: whatever
 * happened to the caller meanwhile, the answer is EPERM. */
int
al_seccomp_answer(int listener, const char **ret_name)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;

	memset(&req, 0, sizeof(req));
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0)
		/* ENOENT: the caller was interrupted (killed) before we got to it */
		return errno == EINTR || errno == ENOENT ? 0 : -errno;
	/* other architectures never get here: the filter kills them */
	*ret_name = req.data.arch == AUDIT_ARCH_NATIVE ? counted_name(req.data.nr) : "unknown";
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	resp.error = -EPERM;
	if (ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
		return -errno;
	return 1;
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

/* ---- probing the host (al_doctor_run) ---- */

static int
wait_exit(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A child that installs a variant and tries keyctl: 0 when it failed with EPERM. */
static _Noreturn void
probe_child(const struct al_seccomp_prog *prog, int counted_variant, int sock)
{
	int listener = -1;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		_exit(2);
	if (counted_variant ? al_seccomp_install_counted(prog, &listener) < 0 || listener < 0 ||
				  al_seccomp_send_listener(sock, listener) < 0
			    : al_seccomp_install(prog) < 0)
		_exit(3);
	if (listener >= 0)
		close(listener);
	_exit(syscall(SYS_keyctl, -1L, 0L, 0L, 0L, 0L) < 0 && errno == EPERM ? 0 : 4);
}

/* The supervisor's half: take the listener, answer one call. */
static int
probe_answer(int sock)
{
	struct pollfd pfd = {.fd = sock, .events = POLLIN};
	const char *name = NULL;
	int listener = -1, r;

	if (poll(&pfd, 1, 5000) != 1 || al_seccomp_recv_listener(sock, &listener) < 0)
		return -EIO;
	pfd.fd = listener;
	r = poll(&pfd, 1, 5000) == 1 ? al_seccomp_answer(listener, &name) : -ETIMEDOUT;
	close(listener);
	return r == 1 && strcmp(name, "keyctl") == 0 ? 0 : -EIO;
}

int
al_seccomp_probe(int *ret_filter, int *ret_notify, char *why, size_t size)
{
	const struct al_seccomp_prog *prog;
	struct al_err err = {0};
	int sv[2], answered;
	pid_t pid;

	*ret_filter = *ret_notify = 0;
	if (al_seccomp_prepare(&prog, &err) < 0) {
		snprintf(why, size, "%s", al_err_msg(&err));
		return -ENOTSUP;
	}
	pid = fork();
	if (pid == 0)
		probe_child(prog, 0, -1);
	*ret_filter = pid > 0 && wait_exit(pid) == 0;
	if (!*ret_filter) {
		snprintf(why, size, "a seccomp filter could not be installed or did not deny");
		return -ENOTSUP;
	}
	if (!prog->notify.len) {
		snprintf(why, size, "%s", prog->why_plain);
		return 0;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(why, size, "socketpair: %s", strerror(errno));
		return 0;
	}
	pid = fork();
	if (pid == 0)
		probe_child(prog, 1, sv[1]);
	close(sv[1]);
	answered = pid > 0 ? probe_answer(sv[0]) : -1;
	close(sv[0]);
	if (pid > 0 && answered < 0)
		kill(pid, SIGKILL);
	*ret_notify = pid > 0 && wait_exit(pid) == 0 && answered == 0;
	if (!*ret_notify)
		snprintf(why, size, "seccomp user notification did not work in a test child");
	return 0;
}

static char profile_text[8192];

static void
profile_rule(size_t *len, const struct deny_rule *d)
{
	const char *e = strerrorname_np(d->error);

	switch (d->when) {
	case DENY_ALWAYS:
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				"seccomp deny %s errno=%s\n", d->syscall, e);
		break;
	case DENY_OUTSIDE:
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				"seccomp deny %s if arg%u not in %s (", d->syscall, d->arg,
				d->value_name);
		for (size_t i = 0; i < d->n_allowed; i++)
			al_fixed_printf(profile_text, sizeof(profile_text), len, "%s%#llx",
					i ? " " : "", d->allowed[i]);
		al_fixed_printf(profile_text, sizeof(profile_text), len, ") errno=%s\n", e);
		break;
	default:
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				"seccomp deny %s if arg%u %s %s errno=%s\n", d->syscall, d->arg,
				d->when == DENY_HAS_FLAG ? "has" : "==", d->value_name, e);
	}
}

static void
profile_build(void)
{
	size_t len = 0;

	al_fixed_printf(profile_text, sizeof(profile_text), &len,
			"seccomp default=allow arch=%s other-arch=kill-process (x32 too)\n"
			"seccomp arguments compared in their low 32 bits, as the kernel reads "
			"them\n"
			"seccomp errno=EPERM denials are counted per call through user "
			"notification where the kernel has it (answered EPERM)\n",
			NATIVE_ARCH);
	for (size_t i = 0; i < AL_ARRAY_SIZE(deny_rules); i++)
		profile_rule(&len, &deny_rules[i]);
}

const char *
al_seccomp_profile(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, profile_build);
	return profile_text;
}
