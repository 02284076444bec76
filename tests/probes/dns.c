/* probe=dns: names cannot be resolved and no query can leave. getaddrinfo() of a public
 * name must fail, and a raw query sent to every nameserver of /etc/resolv.conf (glibc's
 * 127.0.0.1 when the file is absent, as it should be) must not go out. The raw query asks
 * about a name under .invalid, so a resolver that does get it learns nothing. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_NS 8

/* A standard query, recursion desired, for airlock-probe.invalid IN A. */
static size_t
build_query(unsigned char *q)
{
	static const unsigned char header[12] = {0xa1, 0x7e, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	static const char name[] = "\015airlock-probe\007invalid";
	size_t n = 0;

	memcpy(q, header, sizeof(header));
	n += sizeof(header);
	memcpy(q + n, name, sizeof(name)); /* with the root label's 0 */
	n += sizeof(name);
	memcpy(q + n, (unsigned char[]){0, 1, 0, 1}, 4);
	return n + 4;
}

/* 0 when the query was sent, else the errno. */
static int
send_query(const char *ip)
{
	unsigned char q[64];
	size_t qlen = build_query(q);
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, e = 0;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(53);
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(53);
		len = sizeof(*a6);
	} else {
		return EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (sendto(fd, q, qlen, 0, (struct sockaddr *)&ss, len) < 0)
		e = errno;
	close(fd);
	return e;
}

/* Nameservers from resolv.conf; 127.0.0.1 when there is none, as glibc does. */
static int
nameservers(char ns[MAX_NS][64], int *ret_present)
{
	char line[256];
	int n = 0;
	FILE *f = fopen("/etc/resolv.conf", "re");

	*ret_present = f != NULL;
	while (f && n < MAX_NS && fgets(line, sizeof(line), f))
		if (sscanf(line, " nameserver %63s", ns[n]) == 1)
			n++;
	if (f)
		fclose(f);
	if (n == 0)
		snprintf(ns[n++], 64, "127.0.0.1");
	return n;
}

int
main(void)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	char ns[MAX_NS][64];
	int present, n_ns = nameservers(ns, &present);
	int gai = getaddrinfo("example.com", "443", &hints, &res);
	int sent = 0, first_err = 0;

	if (res)
		freeaddrinfo(res);
	for (int i = 0; i < n_ns; i++) {
		int e = send_query(ns[i]);

		if (i == 0)
			first_err = e;
		if (e == 0)
			sent++;
	}
	printf("probe=dns result=%s errno=%s resolv_conf=%s getaddrinfo=%s queries_sent=%d/%d\n",
	       gai == 0 || sent ? "allowed" : "blocked",
	       first_err ? strerrorname_np(first_err) : "0", present ? "present" : "absent",
	       gai == 0 ? "resolved" : "failed", sent, n_ns);
	return gai == 0 || sent ? 1 : 0;
}
