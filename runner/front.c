/* The `airlock` command. `airlock sandbox` runs here, in a static binary of libc alone
 * (musl where the build has it: glibc's start-up probes the CPU's features and caches,
 * and each probe is a trap to the hypervisor on a virtual machine, ~0.25 ms a start), so
 * it starts in about the time of a plain exec. Every other subcommand, and a sandbox
 * asking for what needs JSON (--egress, --allow-host, --record), is handed to
 * `airlock-core` beside this binary, which links libgit2, libmicrohttpd, SQLite,
 * libsodium, libcurl and jansson (loading those costs ~12 ms). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runner/cli.h"

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
	int r;

	if (argc >= 2 && !strcmp(argv[1], "sandbox")) {
		r = al_cli_sandbox_with(argc - 1, argv + 1, NULL);
		if (r != AL_CLI_TO_CORE)
			return r;
	}
	return exec_core(argv);
}
