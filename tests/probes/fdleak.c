/* probe=fdleak: the sandbox inherits nothing but its stdio: fd 0 is /dev/null, 1 and 2 are
 * pipes, and no other descriptor is open (the harness starts airlock with an extra fd 9 on
 * a host file to tempt it). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char target[256], stdio[3][24] = {"closed", "closed", "closed"};
	int extra = 0, first = -1, bad_stdio;

	if (!d) {
		printf("probe=fdleak result=error step=opendir errno=%s\n", strerrorname_np(errno));
		return 2;
	}
	while ((e = readdir(d))) {
		char path[300];
		long fd;
		ssize_t n;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		fd = strtol(e->d_name, NULL, 10);
		if (fd == dirfd(d))
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		if (fd <= 2) {
			snprintf(stdio[fd], sizeof(stdio[fd]), "%.16s",
				 strncmp(target, "pipe:", 5) == 0 ? "pipe" : target);
			continue;
		}
		if (extra++ == 0)
			first = (int)fd;
	}
	closedir(d);
	bad_stdio =
	    strcmp(stdio[0], "/dev/null") || strcmp(stdio[1], "pipe") || strcmp(stdio[2], "pipe");
	printf("probe=fdleak result=%s extra=%d stdin=%s stdout=%s stderr=%s",
	       extra || bad_stdio ? "allowed" : "blocked", extra, stdio[0], stdio[1], stdio[2]);
	if (extra)
		printf(" first=%d", first);
	printf("\n");
	return extra || bad_stdio ? 1 : 0;
}
