/* probe=initproc: the sandbox's init (pid 1) is opaque to the command. It is a copy of the
 * airlock process that started the run, so its memory, environment and open files are the
 * host's: /proc/1/{mem,environ,auxv,maps,stack,syscall,io} must not open, and
 * the links /proc/1/fd/N, cwd, root and exe must not resolve. Nor may any of its fds open
 * through /proc/1/fd: among them are the tasks files it leaves the run's cgroups by at the
 * end (a command writing "0" there would leave its limits behind). Nothing read is
 * printed. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	static const char *const files[] = {"mem",   "environ", "auxv", "maps",
					    "stack", "syscall", "io",	"pagemap"};
	static const char *const links[] = {"fd/0", "fd/3", "fd/4", "cwd", "root", "exe"};
	const char *open_one = NULL;
	char target[512];
	int n = 0, first_err = 0;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char path[64], c;
		int fd;

		snprintf(path, sizeof(path), "/proc/1/%s", files[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			if (!first_err)
				first_err = errno;
			continue;
		}
		/* some files open for anyone and refuse at read time */
		if (read(fd, &c, 1) >= 0 && n++ == 0)
			open_one = files[i];
		close(fd);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		char path[64];

		snprintf(path, sizeof(path), "/proc/1/%s", links[i]);
		if (readlink(path, target, sizeof(target)) >= 0 && n++ == 0)
			open_one = links[i];
	}
	for (int fdn = 0; fdn < 64; fdn++) {
		char path[64];
		int fd;

		snprintf(path, sizeof(path), "/proc/1/fd/%d", fdn);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			if (n++ == 0)
				open_one = "fd/N for writing";
		}
	}
	printf("probe=initproc result=%s errno=%s readable=%d%s%s\n", n ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", n, open_one ? " first=" : "",
	       open_one ? open_one : "");
	return n ? 1 : 0;
}
