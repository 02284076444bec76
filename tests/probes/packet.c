/* probe=packet: no AF_PACKET socket, raw or cooked, which would read and forge frames
 * below IP. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(void)
{
	static const struct {
		const char *name;
		int type;
	} tries[] = {{"raw", SOCK_RAW}, {"dgram", SOCK_DGRAM}, {"packet", SOCK_PACKET}};
	const char *opened = NULL;
	int first_err = 0, n = 0;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		int fd = socket(AF_PACKET, tries[i].type | SOCK_CLOEXEC, htons(ETH_P_ALL));

		if (fd >= 0) {
			close(fd);
			if (n++ == 0)
				opened = tries[i].name;
		} else if (!first_err) {
			first_err = errno;
		}
	}
	printf("probe=packet result=%s errno=%s opened=%d%s%s\n", n ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", n, opened ? " first=" : "",
	       opened ? opened : "");
	return n ? 1 : 0;
}
