/* probe=caps: every capability set of this process is empty. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(void)
{
	static const char *const sets[] = {"CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:"};
	char line[256], seen[64] = "";
	int found = 0, nonzero = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f) {
		printf("probe=caps result=error step=open-status\n");
		return 2;
	}
	while (fgets(line, sizeof(line), f)) {
		for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
			size_t n = strlen(sets[i]);

			if (strncmp(line, sets[i], n) != 0)
				continue;
			found++;
			if (strtoull(line + n, NULL, 16) != 0) {
				nonzero++;
				snprintf(seen, sizeof(seen), " %.6s=%.16s", sets[i], line + n + 1);
			}
		}
	}
	fclose(f);
	if (found != 5) {
		printf("probe=caps result=error step=parse found=%d\n", found);
		return 2;
	}
	printf("probe=caps result=%s nonzero=%d%s\n", nonzero ? "allowed" : "blocked", nonzero,
	       seen);
	return nonzero ? 1 : 0;
}
