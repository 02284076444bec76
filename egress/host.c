/* Host names and addresses: what a request may name and what the proxy may connect to.
 * A name that any parser along the way (a resolver's inet_aton, a browser's URL parser)
 * could read as an address is refused outright, so an allowlist of names can never be
 * turned into an address by spelling. */
#include <arpa/inet.h>
#include <errno.h>
#include <idn2.h>
#include <stdlib.h>
#include <string.h>

#include "egress/host.h"
#include "lib/macros.h"

static bool
all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* "0x" followed by hex digits or nothing: a number to the WHATWG IPv4 parser. */
static bool
hex_number(const char *s, size_t n)
{
	if (n < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	for (size_t i = 2; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

const char *
al_egress_host_ip_literal(const char *name)
{
	struct in_addr a4;
	struct in6_addr a6;
	const char *last;
	size_t n = strlen(name);

	if (name[0] == '[' || strchr(name, ':') || inet_pton(AF_INET6, name, &a6) == 1)
		return "IPv6 literal";
	if (inet_pton(AF_INET, name, &a4) == 1)
		return "IPv4 literal";
	/* 127.1, 2130706433, 0x7f000001, 0177.0.0.1, 0x7f.0.0.1 */
	if (inet_aton(name, &a4))
		return "IPv4 literal in a short, decimal, octal or hex form";
	if (n && name[n - 1] == '.')
		n--;
	last = memrchr(name, '.', n);
	last = last ? last + 1 : name;
	n -= (size_t)(last - name);
	if (all_digits(last, n) || hex_number(last, n))
		return "final label is a number, read as an IPv4 address";
	return NULL;
}

int
al_egress_port_parse(const char *s, size_t len, uint16_t *ret)
{
	unsigned v = 0;

	if (len == 0 || len > 5 || !all_digits(s, len) || s[0] == '0')
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (v > 65535)
		return -EINVAL;
	*ret = (uint16_t)v;
	return 0;
}

/* Bytes that never belong in a host, with the reason they are refused. */
static const char *
raw_refused(const char *in, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c <= 0x20 || c == 0x7f)
			return "control character or space in host";
		if (c == '%')
			return "percent-encoding or zone id in host";
		if (c == '[' || c == ']' || c == ':')
			return "IPv6 literal";
		if (strchr("/\\@?#*", c))
			return "URL delimiter or wildcard in host";
	}
	return NULL;
}

static bool
ascii_only(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* The labels of an A-label name: LDH, 1..63 bytes, no hyphen at either end. */
static const char *
labels_refused(const char *name)
{
	size_t labels = 0;

	for (const char *p = name;; labels++) {
		size_t n = strcspn(p, ".");

		if (n == 0)
			return "empty label";
		if (n > 63)
			return "label longer than 63 bytes";
		for (size_t i = 0; i < n; i++)
			if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789-", p[i]))
				return "character not allowed in a host name";
		if (p[0] == '-' || p[n - 1] == '-')
			return "label starts or ends with a hyphen";
		if (p[n] == '\0')
			break;
		p += n + 1;
	}
	if (labels == 0)
		return "single-label name";
	return NULL;
}

static bool
localhost(const char *name)
{
	size_t n = strlen(name);

	return strcmp(name, "localhost") == 0 ||
	       (n > 10 && strcmp(name + n - 10, ".localhost") == 0);
}

/* The checks on a name after IDNA: length, address forms, labels, localhost. */
static const char *
ascii_refused(const char *name)
{
	const char *why;

	if (strlen(name) > AL_EGRESS_HOST_MAX)
		return "name longer than 253 bytes";
	why = al_egress_host_ip_literal(name);
	if (!why)
		why = labels_refused(name);
	if (!why && localhost(name))
		why = "localhost name";
	return why;
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int
al_egress_host_normalize(const char *in, size_t len, char *ret, const char **ret_reason)
{
	_cleanup_free_ char *buf = NULL;
	char *out = NULL;
	const char *why;

	if (len == 0)
		why = "empty host";
	else if (len > AL_EGRESS_HOST_INPUT_MAX)
		why = "host too long";
	else
		why = raw_refused(in, len);
	if (why)
		goto refused;
	buf = strndup(in, len);
	if (!buf)
		return -ENOMEM;
	if (buf[len - 1] == '.')
		buf[--len] = '\0';
	if (len == 0 || buf[len - 1] == '.' || buf[0] == '.') {
		why = "empty label";
		goto refused;
	}
	/* an ASCII name is checked before IDNA too: the reasons are exact, and IDNA's mapping
	 * cannot be what hides an address */
	if (ascii_only(buf)) {
		lower(buf);
		if ((why = ascii_refused(buf)))
			goto refused;
	}
	if (idn2_lookup_u8((const uint8_t *)buf, (uint8_t **)&out, IDN2_NONTRANSITIONAL) !=
	    IDN2_OK) {
		why = "invalid internationalised name";
		goto refused;
	}
	lower(out);
	why = ascii_refused(out);
	if (!why)
		memcpy(ret, out, strlen(out) + 1);
	idn2_free(out);
	if (!why)
		return 0;
refused:
	if (ret_reason)
		*ret_reason = why;
	return -EINVAL;
}

/* Resolved addresses.  The first matching row decides; the more specific rows come first. */
struct net4 {
	uint32_t net;
	unsigned bits;
	const char *why;
};

static const struct net4 refused4[] = {
    {0xffffffff, 32, "broadcast"},
    {0xa9fea9fe, 32, "cloud metadata address (169.254.169.254)"},
    {0x00000000, 8, "this network (0.0.0.0/8)"},
    {0x0a000000, 8, "private (10.0.0.0/8)"},
    {0x64400000, 10, "carrier-grade NAT (100.64.0.0/10)"},
    {0x7f000000, 8, "loopback (127.0.0.0/8)"},
    {0xa9fe0000, 16, "link-local (169.254.0.0/16)"},
    {0xac100000, 12, "private (172.16.0.0/12)"},
    {0xc0000000, 24, "IETF protocol assignments (192.0.0.0/24)"},
    {0xc0000200, 24, "documentation (192.0.2.0/24)"},
    {0xc0586300, 24, "6to4 relay anycast (192.88.99.0/24)"},
    {0xc0a80000, 16, "private (192.168.0.0/16)"},
    {0xc6120000, 15, "benchmarking (198.18.0.0/15)"},
    {0xc6336400, 24, "documentation (198.51.100.0/24)"},
    {0xcb007100, 24, "documentation (203.0.113.0/24)"},
    {0xe0000000, 4, "multicast (224.0.0.0/4)"},
    {0xf0000000, 4, "reserved (240.0.0.0/4)"},
};

const char *
al_egress_addr4_refused(const struct in_addr *a)
{
	uint32_t h = ntohl(a->s_addr);

	for (size_t i = 0; i < AL_ARRAY_SIZE(refused4); i++) {
		uint32_t mask = refused4[i].bits ? ~0u << (32 - refused4[i].bits) : 0;

		if ((h & mask) == refused4[i].net)
			return refused4[i].why;
	}
	return NULL;
}

struct net6 {
	uint8_t net[16];
	unsigned bits;
	const char *why;
	int v4_at; /* > 0: the IPv4 address embedded at this byte decides when it is refused */
};

static const struct net6 refused6[] = {
    {{0}, 128, "unspecified (::)", 0},
    {{[15] = 1}, 128, "loopback (::1)", 0},
    {{[10] = 0xff, 0xff}, 96, "IPv4-mapped form of a refused IPv4 address", 12},
    {{[8] = 0xff, 0xff}, 96, "IPv4-translated (::ffff:0:0:0/96)", 0},
    {{0}, 96, "IPv4-compatible (deprecated, ::/96)", 0},
    {{0x00, 0x64, 0xff, 0x9b}, 96, "NAT64 form of a refused IPv4 address", 12},
    {{0x00, 0x64, 0xff, 0x9b, 0x00, 0x01}, 48, "local-use NAT64 (64:ff9b:1::/48)", 0},
    {{0x01}, 64, "discard-only (100::/64)", 0},
    {{0x20, 0x01, 0x00, 0x00}, 32, "Teredo (2001::/32)", 0},
    {{0x20, 0x01, 0x00, 0x02}, 48, "benchmarking (2001:2::/48)", 0},
    {{0x20, 0x01, 0x00, 0x10}, 28, "ORCHID (2001:10::/28)", 0},
    {{0x20, 0x01, 0x00, 0x20}, 28, "ORCHIDv2 (2001:20::/28)", 0},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "documentation (2001:db8::/32)", 0},
    {{0x20, 0x02}, 16, "6to4 form of a refused IPv4 address", 2},
    {{0x3f, 0xff}, 20, "documentation (3fff::/20)", 0},
    {{0xfc}, 7, "unique-local (fc00::/7)", 0},
    {{0xfe, 0x80}, 10, "link-local (fe80::/10)", 0},
    {{0xfe, 0xc0}, 10, "site-local (deprecated, fec0::/10)", 0},
    {{0xff}, 8, "multicast (ff00::/8)", 0},
};

static bool
in_net6(const uint8_t *a, const uint8_t *net, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, net, whole) != 0)
		return false;
	return rest == 0 || ((a[whole] ^ net[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

/* The embedding forms decide by the IPv4 address they carry: "IPv4-mapped" of a loopback
 * address is refused, of a public one allowed. */
const char *
al_egress_addr6_refused(const struct in6_addr *a)
{
	const uint8_t *b = a->s6_addr;

	for (size_t i = 0; i < AL_ARRAY_SIZE(refused6); i++) {
		const struct net6 *r = &refused6[i];
		struct in_addr v4;

		if (!in_net6(b, r->net, r->bits))
			continue;
		if (r->v4_at == 0)
			return r->why;
		memcpy(&v4.s_addr, b + r->v4_at, 4);
		return al_egress_addr4_refused(&v4) ? r->why : NULL;
	}
	/* only global unicast is reachable */
	if ((b[0] & 0xe0) != 0x20)
		return "not global unicast (outside 2000::/3)";
	return NULL;
}

const char *
al_egress_sockaddr_refused(const struct sockaddr *sa, socklen_t len)
{
	if (!sa)
		return "no address";
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in))
		return al_egress_addr4_refused(&((const struct sockaddr_in *)sa)->sin_addr);
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		if (s6->sin6_scope_id != 0)
			return "scoped IPv6 address";
		return al_egress_addr6_refused(&s6->sin6_addr);
	}
	return "not an IPv4 or IPv6 address";
}
