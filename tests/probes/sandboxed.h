/* The guard every destructive probe runs first: it refuses to start unless it is inside
 * a sandbox. Included by forkbomb, membomb, tmpfill, daemon and flood. */
#pragma once

#include <stdio.h>
#include <string.h>

/* A seccomp filter, no_new_privs and a uid map other than the host's identity map. */
static int
sandboxed(void)
{
	char line[256];
	int seccomp = 0, nnp = 0, mapped = 0;
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f)) {
		seccomp |= strcmp(line, "Seccomp:\t2\n") == 0;
		nnp |= strcmp(line, "NoNewPrivs:\t1\n") == 0;
	}
	if (f)
		fclose(f);
	f = fopen("/proc/self/uid_map", "re");
	if (f && fgets(line, sizeof(line), f)) {
		unsigned long a, b, n;

		mapped = sscanf(line, "%lu %lu %lu", &a, &b, &n) == 3 && n != 4294967295UL;
	}
	if (f)
		fclose(f);
	return seccomp && nnp && mapped;
}
