/* probe=net: the sandbox has no network. Loopback exists but is down, it is the only
 * interface, and connecting anywhere fails. */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* 0 when the connection was made, else the errno. */
static int
try_connect(const char *ip, int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	struct timeval tv = {.tv_sec = 2};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return errno;
	inet_pton(AF_INET, ip, &sa.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? errno : 0;
	close(fd);
	return r;
}

static int
loopback_up(void)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int up = 0;

	if (fd < 0)
		return 0;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		up = (ifr.ifr_flags & IFF_UP) != 0;
	close(fd);
	return up;
}

static int
other_interfaces(void)
{
	struct if_nameindex *ifs = if_nameindex();
	int n = 0;

	if (!ifs)
		return 0;
	for (struct if_nameindex *i = ifs; i->if_index; i++)
		if (strcmp(i->if_name, "lo") != 0)
			n++;
	if_freenameindex(ifs);
	return n;
}

int
main(void)
{
	int local = try_connect("127.0.0.1", 9);
	int remote = try_connect("1.1.1.1", 53);
	int up = loopback_up(), others = other_interfaces();
	int blocked = local != 0 && local != ECONNREFUSED && remote != 0 && !up && others == 0;

	printf("probe=net result=%s errno=%s local=%s lo=%s other_ifaces=%d\n",
	       blocked ? "blocked" : "allowed", remote ? strerrorname_np(remote) : "0",
	       local ? strerrorname_np(local) : "0", up ? "up" : "down", others);
	return blocked ? 0 : 1;
}
