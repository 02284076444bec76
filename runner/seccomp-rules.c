/* The sandbox's syscall filter rules. It is a deny-list: everything the native
 * architecture offers is allowed except what lets a process leave or attack the sandbox
 * (mounts, namespaces, tracing, kernel keyrings, io_uring, BPF, modules, reboot, the
 * clock, exotic socket families...). Any other architecture (i386 via int 0x80, x32) kills
 * the process. The one source of the filter: runner/gen/ compiles it with libseccomp at
 * build time, runner/seccomp.c names denied calls and prints the profile from it. */
#include "runner/seccomp-rules.h"

#include <errno.h>
#include <linux/personality.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "lib/macros.h"

#define DENY(name)                                                                            \
	{                                                                                     \
		.syscall = #name, .nr = SYS_##name, .error = EPERM, .when = AL_SECCOMP_ALWAYS \
	}
#define DENY_FLAG(name, n, flag)                                                                 \
	{                                                                                        \
		.syscall = #name, .nr = SYS_##name, .error = EPERM, .when = AL_SECCOMP_HAS_FLAG, \
		.arg = n, .value = flag, .value_name = #flag                                     \
	}
#define DENY_EQ32(name, n, v)                                                                    \
	{                                                                                        \
		.syscall = #name, .nr = SYS_##name, .error = EPERM, .when = AL_SECCOMP_EQUALS32, \
		.arg = n, .value = v, .value_name = #v                                           \
	}
#define DENY_OUTSIDE_OF(name, n, list)                                                           \
	{                                                                                        \
		.syscall = #name, .nr = SYS_##name, .error = EPERM, .when = AL_SECCOMP_OUTSIDE,  \
		.arg = n, .value_name = #list, .allowed = list, .n_allowed = AL_ARRAY_SIZE(list) \
	}

/* Socket families a build or a test suite needs; the rest (netlink, packet, vsock,
 * bluetooth, alg...) is kernel attack surface with no use without a network. */
static const unsigned long long socket_families[] = {AF_UNIX, AF_INET, AF_INET6};
/* PER_LINUX, and the query that changes nothing */
static const unsigned long long personas[] = {PER_LINUX, 0xffffffffULL};

const struct al_seccomp_rule al_seccomp_rules[] = {
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
    {.syscall = "clone3", .nr = SYS_clone3, .error = ENOSYS, .when = AL_SECCOMP_ALWAYS},
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

const size_t al_seccomp_rules_len = AL_ARRAY_SIZE(al_seccomp_rules);
