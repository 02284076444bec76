/* probe=membomb, destructive, run by the probe suite only: allocate and touch memory a
 * mebibyte at a time until something stops it. The memory cap must kill it (the run
 * record says OOM) long before BOUND_MIB; if the probe gets there, it says "allowed".
 * It refuses to start outside a sandbox. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "sandboxed.h"

#define BOUND_MIB 512
#define MIB (1024 * 1024)

int
main(void)
{
	int mib, err = 0;

	if (!sandboxed()) {
		printf("probe=membomb result=error step=refused not-in-a-sandbox\n");
		return 2;
	}
	/* said first: the cap is expected to kill us before any later line */
	printf("probe=membomb result=allocating bound_mib=%d\n", BOUND_MIB);
	fflush(stdout);
	for (mib = 0; mib < BOUND_MIB; mib++) {
		char *p =
		    mmap(NULL, MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			err = errno;
			break;
		}
		memset(p, 0xa5, MIB);
	}
	/* an allocation refused is not the cap the suite asks for: it wants the OOM kill */
	printf("probe=membomb result=allowed errno=%s mib=%d\n", err ? strerrorname_np(err) : "0",
	       mib);
	return 1;
}
