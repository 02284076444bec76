/* probe=rofs: the system tree is read-only. O_TMPFILE asks for write access to a directory
 * without leaving anything behind when it works. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	static const struct {
		const char *path;
		int flags;
	} tries[] = {
	    {"/", O_TMPFILE | O_WRONLY},	{"/usr", O_TMPFILE | O_WRONLY},
	    {"/usr/bin", O_TMPFILE | O_WRONLY}, {"/etc", O_TMPFILE | O_WRONLY},
	    {"/dev", O_TMPFILE | O_WRONLY},	{"/etc/passwd", O_WRONLY | O_APPEND},
	};
	const char *writable = NULL;
	int first_err = 0;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		int fd = open(tries[i].path, tries[i].flags | O_CLOEXEC, 0600);

		if (fd >= 0) {
			close(fd);
			if (!writable)
				writable = tries[i].path;
		} else if (!first_err) {
			first_err = errno;
		}
	}
	printf("probe=rofs result=%s errno=%s%s%s\n", writable ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", writable ? " writable=" : "",
	       writable ? writable : "");
	return writable ? 1 : 0;
}
