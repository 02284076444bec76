/* probe=rlimit: hard resource limits only go down. For open files, file size and core size
 * the probe tries to raise the hard limit above where it is, and to lower it and raise it
 * back; both need CAP_SYS_RESOURCE. Only this process's limits move. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

/* 0 when a hard limit went up, else the errno of the last refusal. */
static int
try_raise(int resource)
{
	struct rlimit rl, lower;
	int e = 0;

	if (getrlimit(resource, &rl) < 0)
		return errno;
	if (rl.rlim_max != RLIM_INFINITY) {
		struct rlimit up = {rl.rlim_cur, rl.rlim_max + 1};

		if (setrlimit(resource, &up) == 0)
			return 0;
		e = errno;
	}
	if (rl.rlim_max == 0)
		return e;
	lower.rlim_max = rl.rlim_max - 1;
	lower.rlim_cur = rl.rlim_cur < lower.rlim_max ? rl.rlim_cur : lower.rlim_max;
	if (setrlimit(resource, &lower) < 0)
		return errno;
	if (setrlimit(resource, &rl) == 0)
		return 0;
	return errno;
}

int
main(void)
{
	static const struct {
		const char *name;
		int resource;
	} limits[] = {{"nofile", RLIMIT_NOFILE}, {"fsize", RLIMIT_FSIZE}, {"core", RLIMIT_CORE}};
	const char *raised = NULL;
	int n = 0, first_err = 0;

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		int e = try_raise(limits[i].resource);

		if (e == 0 && n++ == 0)
			raised = limits[i].name;
		if (e && !first_err)
			first_err = e;
	}
	printf("probe=rlimit result=%s errno=%s raised=%d%s%s\n", n ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", n, raised ? " first=" : "",
	       raised ? raised : "");
	return n ? 1 : 0;
}
