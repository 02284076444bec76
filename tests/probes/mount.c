/* probe=mount: mounting a tmpfs fails. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int
main(void)
{
	char dir[] = "/tmp/probe-mount-XXXXXX";
	int err = 0;

	if (!mkdtemp(dir)) {
		printf("probe=mount result=error errno=%s step=mkdtemp\n", strerrorname_np(errno));
		return 2;
	}
	if (mount("tmpfs", dir, "tmpfs", 0, "size=1m") < 0)
		err = errno;
	else
		umount2(dir, MNT_DETACH);
	rmdir(dir);
	printf("probe=mount result=%s errno=%s\n", err ? "blocked" : "allowed",
	       err ? strerrorname_np(err) : "0");
	return err ? 0 : 1;
}
