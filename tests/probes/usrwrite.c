/* probe=usrwrite: nothing under /usr can be changed: no existing file opens for writing,
 * no file or directory can be made. Writes are only ever opened, never made, and an
 * O_TMPFILE leaves no name behind, so the probe changes nothing where it is allowed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
main(void)
{
	static const char *const files[] = {"/usr/bin/env", "/usr/lib/os-release",
					    "/usr/share/common-licenses/GPL-3"};
	static const char *const dirs[] = {"/usr/bin", "/usr/lib", "/usr/local", "/usr/share"};
	const char *writable = NULL;
	char dir[64];
	int first_err = 0, n = 0, fd;

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		fd = open(files[i], O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			if (n++ == 0)
				writable = files[i];
		} else if (!first_err && errno != ENOENT) {
			first_err = errno;
		}
	}
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		fd = open(dirs[i], O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			if (n++ == 0)
				writable = dirs[i];
		}
	}
	snprintf(dir, sizeof(dir), "/usr/airlock-probe-%d", (int)getpid());
	if (mkdir(dir, 0700) == 0) {
		rmdir(dir);
		if (n++ == 0)
			writable = "/usr (mkdir)";
	}
	printf("probe=usrwrite result=%s errno=%s writable=%d%s%s\n", n ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", n, writable ? " first=" : "",
	       writable ? writable : "");
	return n ? 1 : 0;
}
