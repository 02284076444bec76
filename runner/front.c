/* The `airlock` command. The sandbox subcommands run here, in a static binary of only
 * jansson and libc, so `airlock sandbox` starts in about the time of a plain exec;
 * every other subcommand is handed to `airlock-core` beside this binary, which links
 * libgit2, libmicrohttpd, SQLite, libsodium and libcurl (loading those costs ~12 ms). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runner/runner.h"

static int
exec_core(char **argv)
{
	char self[PATH_MAX], core[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n < 0) {
		fprintf(stderr, "airlock: /proc/self/exe: %s\n", strerror(errno));
		return 127;
	}
	self[n] = '\0';
	slash = strrchr(self, '/');
	*slash = '\0';
	snprintf(core, sizeof(core), "%s/airlock-core", self);
	execv(core, argv);
	fprintf(stderr, "airlock: cannot run %s: %s\n", core, strerror(errno));
	return 127;
}

int
main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "sandbox"))
		return al_cli_sandbox(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "doctor"))
		return al_cli_doctor(argc - 1, argv + 1);
	return exec_core(argv);
}
