/* probe=blockdev: no block device is reachable: none of the usual disk names exists and
 * no block device node sits anywhere in /dev. A disk opened for reading would expose
 * every file on it, whatever the mount table says. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Block device nodes in dir and one level below it; the first goes to first. */
static int
scan(const char *dir, int depth, char *first, size_t first_size)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[512];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (lstat(path, &st) < 0)
			continue;
		if (S_ISBLK(st.st_mode)) {
			if (n++ == 0 && !*first)
				snprintf(first, first_size, "%s", path);
		} else if (S_ISDIR(st.st_mode) && depth > 0) {
			n += scan(path, depth - 1, first, first_size);
		}
	}
	closedir(d);
	return n;
}

int
main(void)
{
	static const char *const disks[] = {
	    "/dev/vda",	    "/dev/sda",	  "/dev/nvme0n1", "/dev/xvda", "/dev/hda",
	    "/dev/mmcblk0", "/dev/loop0", "/dev/dm-0",	  "/dev/md0",  "/dev/zram0",
	};
	char first[512] = "";
	int opened = 0, first_err = 0, nodes;

	for (size_t i = 0; i < sizeof(disks) / sizeof(disks[0]); i++) {
		int fd = open(disks[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);

		if (fd >= 0) {
			close(fd);
			if (opened++ == 0 && !*first)
				snprintf(first, sizeof(first), "%s", disks[i]);
		} else if (!first_err) {
			first_err = errno;
		}
	}
	nodes = scan("/dev", 1, first, sizeof(first));
	printf("probe=blockdev result=%s errno=%s opened=%d block_nodes=%d%s%s\n",
	       opened || nodes ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", opened, nodes, *first ? " first=" : "",
	       first);
	return opened || nodes ? 1 : 0;
}
