/* probe=netlink: no netlink socket of any family member can be opened. Netlink reaches
 * deep into the kernel (routing, netfilter, audit, uevents, xfrm, diag), and some of its
 * members are not namespaced at all. */
#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	static const struct {
		const char *name;
		int protocol;
	} tries[] = {
	    {"route", NETLINK_ROUTE},
	    {"sock_diag", NETLINK_SOCK_DIAG},
	    {"netfilter", NETLINK_NETFILTER},
	    {"audit", NETLINK_AUDIT},
	    {"uevent", NETLINK_KOBJECT_UEVENT},
	    {"generic", NETLINK_GENERIC},
	    {"xfrm", NETLINK_XFRM},
	    {"connector", NETLINK_CONNECTOR},
	};
	const char *opened = NULL;
	int first_err = 0, n = 0;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, tries[i].protocol);

		if (fd >= 0) {
			close(fd);
			if (n++ == 0)
				opened = tries[i].name;
		} else if (!first_err) {
			first_err = errno;
		}
	}
	printf("probe=netlink result=%s errno=%s opened=%d%s%s\n", n ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", n, opened ? " first=" : "",
	       opened ? opened : "");
	return n ? 1 : 0;
}
