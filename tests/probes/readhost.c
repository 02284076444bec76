/* probe=readhost: no host file outside the binds can be read, whether by its own path, through
 * init's root (/proc/1/root) or through a path the harness names (PROBE_SECRET_PATH, a file
 * in airlock's data dir). A read of one byte counts; nothing read is printed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 0 when something could be read from path (a byte of a file, an entry of a directory),
 * else the errno. */
static int
try_read(const char *path)
{
	char c;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	int e = 0;

	if (fd < 0)
		return errno;
	if (read(fd, &c, 1) < 0) {
		e = errno;
		if (e == EISDIR) {
			DIR *d = fdopendir(fd);
			struct dirent *ent;

			if (!d) {
				e = errno;
			} else {
				e = ENOENT; /* an empty directory reveals nothing */
				while ((ent = readdir(d)))
					if (strcmp(ent->d_name, ".") && strcmp(ent->d_name, ".."))
						e = 0;
				closedir(d);
				return e;
			}
		}
	}
	close(fd);
	return e;
}

int
main(void)
{
	static const char *const paths[] = {
	    "/etc/shadow",	 "/etc/gshadow", "/root",
	    "/root/.ssh",	 "/home",	 "/etc/ssh/ssh_host_ed25519_key",
	    "/etc/hostname",	 "/var/lib",	 "/proc/1/root/etc/shadow",
	    "/proc/1/root/root", "/proc/1/cwd",	 "/work/../etc/shadow",
	};
	const char *secret = getenv("PROBE_SECRET_PATH");
	const char *readable = NULL;
	int first_err = 0, n = 0, e;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		e = try_read(paths[i]);
		if (i == 0)
			first_err = e;
		if (e == 0) {
			n++;
			if (!readable)
				readable = paths[i];
		}
	}
	if (secret && *secret && (e = try_read(secret)) == 0) {
		n++;
		readable = "PROBE_SECRET_PATH";
	}
	printf("probe=readhost result=%s errno=%s readable=%d secret=%s%s%s\n",
	       n ? "allowed" : "blocked", first_err ? strerrorname_np(first_err) : "0", n,
	       secret && *secret ? (e ? strerrorname_np(e) : "read") : "unset",
	       readable ? " first=" : "", readable ? readable : "");
	return n ? 1 : 0;
}
