/* The sandbox's syscall filter at run time. The rules are in seccomp-rules.c; libseccomp
 * compiles them into two BPF programs while airlock is built (runner/gen/), and this file
 * loads the stored programs: running libseccomp's compiler cost about a millisecond in
 * every short-lived runner and `airlock sandbox`. libseccomp's program checks the
 * architecture (any other, and x32's numbers on x86_64, kill the process), then each
 * denied syscall and its arguments in their low 32 bits, which is all the kernel reads of
 * an int argument; two tests keep the programs honest: every rule is tried against the
 * kernel, with a control run without the filter, and the stored programs are held against
 * what libseccomp builds from the same table.
 *
 * Of the two variants, the counting one returns SECCOMP_RET_USER_NOTIF for every EPERM
 * rule: the kernel parks the call and the runner, holding the listener fd, counts it and
 * answers EPERM. Should the runner be gone, the kernel fails the call with ENOSYS: still
 * denied. The plain one returns EPERM directly; it serves kernels without user
 * notification and al_seccomp_load. The program is installed in the sandboxed child with
 * a bare syscall so the child never allocates. */
#include "lib/fdpass.h"
#include "runner/seccomp.h"

#include <assert.h>
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/compat.h"
#include "lib/macros.h"
#include "runner/seccomp-rules.h"

struct program {
	unsigned short len;
	const struct sock_filter *insns; /* the stored program */
};

struct al_seccomp_prog {
	struct program plain;  /* denied calls fail with their errno */
	struct program notify; /* EPERM rules notify the listener; len 0 when unsupported */
	char why_plain[160];   /* why notify is empty */
};

#if defined(__x86_64__)
#define NATIVE_ARCH "x86_64"
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH "aarch64"
#define AUDIT_ARCH_NATIVE AUDIT_ARCH_AARCH64
#else
#error "the seccomp filter knows x86_64 and aarch64"
#endif

static struct al_seccomp_prog progs;
static pthread_once_t prepare_once = PTHREAD_ONCE_INIT;

static int
first_rule_of(size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (al_seccomp_rules[j].nr == al_seccomp_rules[i].nr)
			return 0;
	return 1;
}

/* The calls the counting variant reports, by number; filled once per process. */
static struct {
	int nr;
	const char *name;
} counted[64];
static size_t n_counted;

static void
fill_counted(void)
{
	for (size_t i = 0; i < al_seccomp_rules_len; i++) {
		if (al_seccomp_rules[i].error != EPERM || !first_rule_of(i))
			continue;
		assert(n_counted < AL_ARRAY_SIZE(counted));
		counted[n_counted].nr = al_seccomp_rules[i].nr;
		counted[n_counted++].name = al_seccomp_rules[i].syscall;
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
			 al_errno_name(errno));
		return 0;
	}
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0) {
		snprintf(why, size, "SECCOMP_GET_NOTIF_SIZES: %s", al_errno_name(errno));
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

static void
prepare_now(void)
{
	fill_counted();
	progs.plain.insns = al_seccomp_bpf_plain;
	progs.plain.len = al_seccomp_bpf_plain_len;
	if (!notify_usable(progs.why_plain, sizeof(progs.why_plain)))
		return;
	progs.notify.insns = al_seccomp_bpf_counted;
	progs.notify.len = al_seccomp_bpf_counted_len;
}

int
al_seccomp_prepare(const struct al_seccomp_prog **ret_prog, struct al_err *err)
{
	pthread_once(&prepare_once, prepare_now);
	if (!progs.plain.len) /* a broken build: fail closed */
		return al_err_set(err, -ENOEXEC, "seccomp: no filter program was built in");
	*ret_prog = &progs;
	return 0;
}

void
al_seccomp_program(const struct al_seccomp_prog *prog, enum al_seccomp_variant v,
		   const struct sock_filter **ret_insns, size_t *ret_len)
{
	const struct program *p = v == AL_SECCOMP_COUNTED ? &prog->notify : &prog->plain;

	*ret_insns = p->insns;
	*ret_len = p->len;
}

const char *
al_seccomp_uncounted_reason(const struct al_seccomp_prog *prog)
{
	return prog->notify.len ? NULL : prog->why_plain;
}

int
al_seccomp_install(const struct al_seccomp_prog *prog)
{
	/* the kernel only reads the program */
	struct sock_fprog fprog = {.len = prog->plain.len,
				   .filter = (struct sock_filter *)prog->plain.insns};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) < 0)
		return -errno;
	return 0;
}

int
al_seccomp_install_counted(const struct al_seccomp_prog *prog, int *ret_listener)
{
	struct sock_fprog fprog = {.len = prog->notify.len,
				   .filter = (struct sock_filter *)prog->notify.insns};
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
	return al_fd_send(sock, "L", 1, listener);
}

int
al_seccomp_recv_listener(int sock, int *ret_listener)
{
	char byte;
	size_t n;

	return al_fd_recv(sock, &byte, 1, MSG_DONTWAIT, &n, ret_listener);
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

/* ---- probing the host (for runner/doctor.c) ---- */

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
profile_rule(size_t *len, const struct al_seccomp_rule *d)
{
	const char *e = al_errno_name(d->error);

	switch (d->when) {
	case AL_SECCOMP_ALWAYS:
		al_fixed_printf(profile_text, sizeof(profile_text), len,
				"seccomp deny %s errno=%s\n", d->syscall, e);
		break;
	case AL_SECCOMP_OUTSIDE:
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
				d->when == AL_SECCOMP_HAS_FLAG ? "has" : "==", d->value_name, e);
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
	for (size_t i = 0; i < al_seccomp_rules_len; i++)
		profile_rule(&len, &al_seccomp_rules[i]);
}

const char *
al_seccomp_profile(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, profile_build);
	return profile_text;
}
