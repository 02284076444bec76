/* probe=envsecret: the sandbox gets a clean environment. The harness exports
 * AIRLOCK_PROBE_SECRET before starting airlock; it must not arrive, and neither may any
 * other variable outside the allowlist (PATH, HOME, LANG, TERM, PWD, what the run passes
 * with --env, which the harness names PROBE_* or HOST_NS_*). The values are never printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int
allowed(const char *kv)
{
	static const char *const names[] = {
	    "PATH=", "HOME=", "LANG=", "TERM=", "PWD=", "SHLVL=", "_="};
	static const char *const prefixes[] = {"PROBE_", "HOST_NS_"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strncmp(kv, names[i], strlen(names[i])) == 0)
			return 1;
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (strncmp(kv, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

int
main(void)
{
	const char *secret = getenv("AIRLOCK_PROBE_SECRET");
	char first[64] = "";
	int n = 0, extra = 0;

	for (char **e = environ; *e; e++) {
		n++;
		if (allowed(*e))
			continue;
		if (extra++ == 0)
			snprintf(first, sizeof(first), "%.*s", (int)strcspn(*e, "="), *e);
	}
	printf("probe=envsecret result=%s secret=%s vars=%d unexpected=%d%s%s\n",
	       secret || extra ? "allowed" : "blocked", secret ? "present" : "absent", n, extra,
	       extra ? " first=" : "", first);
	return secret || extra ? 1 : 0;
}
