/* probe=mknod: no device node can be made, neither a copy of /dev/null (char 1:3) nor of
 * a disk (block 7:0, loop0), in /tmp or in the workspace. Any node made is removed at once. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int
main(void)
{
	static const struct {
		const char *dir;
		mode_t type;
		unsigned maj, min;
	} tries[] = {
	    {"/tmp", S_IFCHR, 1, 3},
	    {"/tmp", S_IFBLK, 7, 0},
	    {".", S_IFCHR, 1, 3},
	};
	const char *made = NULL;
	int n = 0, first_err = 0;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		char path[128];

		snprintf(path, sizeof(path), "%s/probe-mknod-%d-%zu", tries[i].dir, (int)getpid(),
			 i);
		if (mknod(path, tries[i].type | 0600, makedev(tries[i].maj, tries[i].min)) == 0) {
			unlink(path);
			if (n++ == 0)
				made = tries[i].type == S_IFCHR ? "char" : "block";
		} else if (!first_err) {
			first_err = errno;
		}
	}
	printf("probe=mknod result=%s errno=%s made=%d%s%s\n", n ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", n, made ? " first=" : "",
	       made ? made : "");
	return n ? 1 : 0;
}
