/* probe=rawsock: no raw IP socket (forged packets, sniffing), IPv4 or IPv6. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	static const struct {
		const char *name;
		int family, protocol;
	} tries[] = {
	    {"inet-icmp", AF_INET, IPPROTO_ICMP}, {"inet-raw", AF_INET, IPPROTO_RAW},
	    {"inet-tcp", AF_INET, IPPROTO_TCP},	  {"inet6-icmp", AF_INET6, IPPROTO_ICMPV6},
	    {"inet6-raw", AF_INET6, IPPROTO_RAW},
	};
	const char *opened = NULL;
	int first_err = 0, n = 0;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		int fd = socket(tries[i].family, SOCK_RAW | SOCK_CLOEXEC, tries[i].protocol);

		if (fd >= 0) {
			close(fd);
			if (n++ == 0)
				opened = tries[i].name;
		} else if (!first_err) {
			first_err = errno;
		}
	}
	printf("probe=rawsock result=%s errno=%s opened=%d%s%s\n", n ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", n, opened ? " first=" : "",
	       opened ? opened : "");
	return n ? 1 : 0;
}
