/* probe=devmem: the device nodes that reach physical memory, I/O ports, the kernel log,
 * the console, loop and device-mapper control, KVM, TUN and FUSE are all absent from
 * /dev; only the harmless ones (null, zero, full, random, urandom) are there. A node is
 * opened read-only when present, to say whether it would work; nothing is read. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
main(void)
{
	static const char *const nodes[] = {
	    "/dev/mem",		  "/dev/kmem",
	    "/dev/port",	  "/dev/kmsg",
	    "/dev/console",	  "/dev/tty0",
	    "/dev/tty1",	  "/dev/ttyS0",
	    "/dev/loop-control",  "/dev/mapper/control",
	    "/dev/kvm",		  "/dev/net/tun",
	    "/dev/fuse",	  "/dev/cpu/0/msr",
	    "/dev/btrfs-control", "/dev/uinput",
	    "/dev/vga_arbiter",	  "/dev/hwrng",
	    "/dev/autofs",	  "/dev/cpu_dma_latency",
	};
	const char *present = NULL;
	int n = 0, opened = 0, mem_err = 0;

	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		struct stat st;
		int fd;

		if (stat(nodes[i], &st) < 0) {
			if (i == 0)
				mem_err = errno;
			continue;
		}
		if (n++ == 0)
			present = nodes[i];
		fd = open(nodes[i], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd >= 0) {
			opened++;
			close(fd);
		} else if (i == 0) {
			mem_err = errno;
		}
	}
	printf("probe=devmem result=%s errno=%s present=%d opened=%d%s%s\n",
	       n ? "allowed" : "blocked", mem_err ? strerrorname_np(mem_err) : "0", n, opened,
	       present ? " first=" : "", present ? present : "");
	return n ? 1 : 0;
}
