/* probe=procsys: no machine-wide kernel setting can be changed through /proc: core_pattern
 * (runs a program as root on the next crash), modprobe, sysrq, drop_caches, panic, the
 * pointer and perf restrictions. Knobs that a namespace of the sandbox owns (ns_last_pid,
 * its own network settings) are left out: they change only the sandbox. Each file is only
 * opened for writing, never written, so where it is allowed nothing changes. The hostname
 * (the sandbox's own UTS namespace) is reported but not judged. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	static const char *const knobs[] = {
	    "/proc/sys/kernel/core_pattern",
	    "/proc/sys/kernel/modprobe",
	    "/proc/sys/kernel/sysrq",
	    "/proc/sysrq-trigger",
	    "/proc/sys/vm/drop_caches",
	    "/proc/sys/kernel/panic",
	    "/proc/sys/kernel/randomize_va_space",
	    "/proc/sys/fs/suid_dumpable",
	    "/proc/sys/kernel/kptr_restrict",
	    "/proc/sys/kernel/perf_event_paranoid",
	};
	const char *writable = NULL;
	int n = 0, first_err = 0, fd, host_err;

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		fd = open(knobs[i], O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			if (n++ == 0)
				writable = knobs[i];
		} else if (!first_err) {
			first_err = errno;
		}
	}
	fd = open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC);
	host_err = fd < 0 ? errno : 0;
	if (fd >= 0)
		close(fd);
	printf("probe=procsys result=%s errno=%s writable=%d hostname=%s%s%s\n",
	       n ? "allowed" : "blocked", first_err ? strerrorname_np(first_err) : "0", n,
	       host_err ? strerrorname_np(host_err) : "writable", writable ? " first=" : "",
	       writable ? writable : "");
	return n ? 1 : 0;
}
