/* probe=syscalls: each denied system call fails with the filter's errno (bubblewrap's
 * tests/try-syscall.c is the model). The arguments are chosen so that, where the filter
 * is absent, the kernel rejects the call itself and nothing happens. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NOPATH "/nonexistent-airlock-probe"

struct
try {
	const char *name;
	long nr;
	long a[6];
	int want;
};

int
main(void)
{
	char c = 'x';
	const struct try tries[] = {
	    {"ptrace", SYS_ptrace, {-1}, EPERM},
	    {"process_vm_readv", SYS_process_vm_readv, {0}, EPERM},
	    {"process_vm_writev", SYS_process_vm_writev, {0}, EPERM},
	    {"pidfd_getfd", SYS_pidfd_getfd, {-1}, EPERM},
	    {"keyctl", SYS_keyctl, {-1}, EPERM},
	    {"add_key", SYS_add_key, {0}, EPERM},
	    {"request_key", SYS_request_key, {0}, EPERM},
	    {"io_uring_setup", SYS_io_uring_setup, {0}, EPERM},
	    {"io_uring_enter", SYS_io_uring_enter, {-1}, EPERM},
	    {"io_uring_register", SYS_io_uring_register, {-1}, EPERM},
	    {"userfaultfd", SYS_userfaultfd, {-1}, EPERM},
	    {"perf_event_open", SYS_perf_event_open, {0, 0, -1, -1, 0}, EPERM},
	    {"bpf", SYS_bpf, {-1}, EPERM},
	    {"mount", SYS_mount, {0}, EPERM},
	    {"umount2", SYS_umount2, {(long)NOPATH}, EPERM},
	    {"pivot_root", SYS_pivot_root, {(long)NOPATH, (long)NOPATH}, EPERM},
	    {"move_mount", SYS_move_mount, {-1, (long)"", -1, (long)""}, EPERM},
	    {"open_tree", SYS_open_tree, {-1, (long)NOPATH}, EPERM},
	    {"fsopen", SYS_fsopen, {(long)"nonexistent-airlock-fs"}, EPERM},
	    {"fsmount", SYS_fsmount, {-1}, EPERM},
	    {"fsconfig", SYS_fsconfig, {-1}, EPERM},
	    {"fspick", SYS_fspick, {-1, (long)NOPATH}, EPERM},
	    {"mount_setattr", SYS_mount_setattr, {-1, (long)NOPATH}, EPERM},
	    {"unshare", SYS_unshare, {0}, EPERM},
	    {"setns", SYS_setns, {-1}, EPERM},
	    {"clone3", SYS_clone3, {0}, ENOSYS},
	    {"kexec_load", SYS_kexec_load, {0, 0, 0, (long)0xdead0000}, EPERM},
	    {"kexec_file_load", SYS_kexec_file_load, {-1, -1, 0, 0, (long)0xdead0000}, EPERM},
	    {"init_module", SYS_init_module, {0}, EPERM},
	    {"finit_module", SYS_finit_module, {-1, (long)""}, EPERM},
	    {"delete_module", SYS_delete_module, {(long)"airlock_no_such_module"}, EPERM},
	    {"reboot", SYS_reboot, {0}, EPERM},
	    {"swapon", SYS_swapon, {(long)NOPATH}, EPERM},
	    {"swapoff", SYS_swapoff, {(long)NOPATH}, EPERM},
	    {"acct", SYS_acct, {(long)NOPATH}, EPERM},
	    {"syslog", SYS_syslog, {10}, EPERM},
	    {"quotactl", SYS_quotactl, {0}, EPERM},
	    {"open_by_handle_at", SYS_open_by_handle_at, {-1}, EPERM},
	    {"ioctl(TIOCSTI)", SYS_ioctl, {-1, TIOCSTI, (long)&c}, EPERM},
	};
	const char *open = NULL;
	int open_err = 0, n_open = 0;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		const struct try *t = &tries[i];
		long r = syscall(t->nr, t->a[0], t->a[1], t->a[2], t->a[3], t->a[4], t->a[5]);
		int e = r < 0 ? errno : 0;

		if (e == t->want)
			continue;
		n_open++;
		if (!open) {
			open = t->name;
			open_err = e;
		}
	}
	if (open)
		printf("probe=syscalls result=allowed not_denied=%d first=%s errno=%s\n", n_open,
		       open, open_err ? strerrorname_np(open_err) : "0");
	else
		printf("probe=syscalls result=blocked errno=EPERM count=%zu\n",
		       sizeof(tries) / sizeof(tries[0]));
	return open ? 1 : 0;
}
