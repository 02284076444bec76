/* probe=hostfs: the host's private places are not in the sandbox at all. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

int
main(void)
{
	static const char *const paths[] = {
	    "/root", "/home", "/work/main", "/etc/shadow", "/var", "/run",
	    "/sys",  "/boot", "/mnt",	    "/srv",	   "/opt", "/etc/ssh",
	};
	const char *visible = NULL;
	int n = 0;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct stat st;

		if (lstat(paths[i], &st) == 0 || errno != ENOENT) {
			n++;
			if (!visible)
				visible = paths[i];
		}
	}
	printf("probe=hostfs result=%s visible=%d%s%s\n", n ? "allowed" : "blocked", n,
	       visible ? " first=" : "", visible ? visible : "");
	return n ? 1 : 0;
}
