/* probe=vsock: no AF_VSOCK socket. Virtio sockets are not tied to a network namespace: in a
 * VM (Firecracker, QEMU) they lead straight to the hypervisor's host, past every network
 * rule. The probe only opens sockets and never connects, so it talks to no one. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

int
main(void)
{
	static const struct {
		const char *name;
		int type;
	} tries[] = {{"stream", SOCK_STREAM}, {"dgram", SOCK_DGRAM}, {"seqpacket", SOCK_SEQPACKET}};
	const char *opened = NULL;
	int first_err = 0, n = 0, dev;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		int fd = socket(AF_VSOCK, tries[i].type | SOCK_CLOEXEC, 0);

		if (fd >= 0) {
			close(fd);
			if (n++ == 0)
				opened = tries[i].name;
		} else if (!first_err) {
			first_err = errno;
		}
	}
	/* the device that tells a guest its own address */
	dev = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (dev >= 0) {
		close(dev);
		if (n++ == 0)
			opened = "/dev/vsock";
	}
	printf("probe=vsock result=%s errno=%s opened=%d%s%s\n", n ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", n, opened ? " first=" : "",
	       opened ? opened : "");
	return n ? 1 : 0;
}
