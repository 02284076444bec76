#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress/host.h"
#include "egress/request.h"
#include "egress/rules.h"
#include "lib/macros.h"

/* Host names: NULL want means refused, with a reason containing why. */
static const struct {
	const char *in, *want, *why;
} hosts[] = {
    {"pypi.org", "pypi.org", NULL},
    {"PyPI.org.", "pypi.org", NULL},
    {"FILES.PythonHosted.ORG", "files.pythonhosted.org", NULL},
    {"bücher.example", "xn--bcher-kva.example", NULL},
    {"BÜCHER.example", "xn--bcher-kva.example", NULL},
    {"xn--bcher-kva.example", "xn--bcher-kva.example", NULL},
    /* the Cyrillic "ру" of a homograph is its own name, never the Latin one */
    {"\xd1\x80\xd1\x83pi.org", "xn--pi-kmcm.org", NULL},
    {"faß.de", "xn--fa-hia.de", NULL},
    {"0x7f.example.com", "0x7f.example.com", NULL},
    {"a-b.example", "a-b.example", NULL},
    {"", NULL, "empty host"},
    {".", NULL, "empty label"},
    {"pypi.org..", NULL, "empty label"},
    {".pypi.org", NULL, "empty label"},
    {"a..b", NULL, "empty label"},
    {"localhost", NULL, "single-label"},
    {"localhost.", NULL, "single-label"},
    {"intranet", NULL, "single-label"},
    {"foo.localhost", NULL, "localhost"},
    {"LOCALHOST.localhost.", NULL, "localhost"},
    /* every spelling of an IPv4 address */
    {"127.0.0.1", NULL, "IPv4 literal"},
    {"127.0.0.1.", NULL, "IPv4 literal"},
    {"127.1", NULL, "IPv4 literal"},
    {"127.0.1", NULL, "IPv4 literal"},
    {"2130706433", NULL, "IPv4 literal"},
    {"0x7f000001", NULL, "IPv4 literal"},
    {"0X7F000001", NULL, "IPv4 literal"},
    {"0x7f.0.0.1", NULL, "IPv4 literal"},
    {"0177.0.0.1", NULL, "IPv4 literal"},
    {"0177.1", NULL, "IPv4 literal"},
    {"169.254.169.254", NULL, "IPv4 literal"},
    {"1.2.3.4", NULL, "IPv4 literal"},
    {"0", NULL, "IPv4 literal"},
    {"999.1.1.1", NULL, "final label is a number"},
    {"1.2.3.4.5", NULL, "final label is a number"},
    {"example.123", NULL, "final label is a number"},
    {"example.0x1f", NULL, "final label is a number"},
    {"example.0x", NULL, "final label is a number"},
    {"08.0.0.1", NULL, "final label is a number"},
    /* fullwidth digits that IDNA maps to 127.0.0.1 */
    {"\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.0.0.1", NULL, "IPv4 literal"},
    /* an ideographic full stop mapped to a dot */
    {"127\xe3\x80\x82"
     "0.0.1",
     NULL, "IPv4 literal"},
    /* IPv6 in every dress */
    {"::1", NULL, "IPv6 literal"},
    {"[::1]", NULL, "IPv6 literal"},
    {"::ffff:127.0.0.1", NULL, "IPv6 literal"},
    {"[::ffff:7f00:1]", NULL, "IPv6 literal"},
    {"fe80::1%eth0", NULL, "IPv6 literal"},
    {"fe80::1%25eth0", NULL, "IPv6 literal"},
    {"2001:db8::1", NULL, "IPv6 literal"},
    {"pypi.org%2f", NULL, "percent"},
    {"pypi%2eorg", NULL, "percent"},
    {"pypi.org:443", NULL, "IPv6 literal"},
    {"user@pypi.org", NULL, "URL delimiter"},
    {"pypi.org/evil", NULL, "URL delimiter"},
    {"pypi.org\\evil", NULL, "URL delimiter"},
    {"*.pypi.org", NULL, "wildcard"},
    {"pypi .org", NULL, "control character or space"},
    {"pypi\t.org", NULL, "control character or space"},
    {"pypi.org\r\n", NULL, "control character or space"},
    {"pypi_x.org", NULL, "not allowed"},
    {"-pypi.org", NULL, "hyphen"},
    {"pypi-.org", NULL, "hyphen"},
    {"xn--zz.example", NULL, "internationalised"},
    {"\xff\xfe.example", NULL, "internationalised"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org", NULL,
     "longer than 63"},
};

START_TEST(host_names_normalise_or_are_refused)
{
	char out[AL_EGRESS_HOST_MAX + 1] = "untouched";
	const char *why = NULL;
	int rc = al_egress_host_normalize(hosts[_i].in, strlen(hosts[_i].in), out, &why);

	if (hosts[_i].want) {
		ck_assert_msg(rc == 0, "%s: refused: %s", hosts[_i].in, why);
		ck_assert_str_eq(out, hosts[_i].want);
	} else {
		ck_assert_msg(rc == -EINVAL, "%s: accepted as %s", hosts[_i].in, out);
		ck_assert_str_eq(out, "untouched");
		ck_assert_msg(why && strstr(why, hosts[_i].why), "%s: reason %s", hosts[_i].in,
			      why);
	}
}
END_TEST

START_TEST(host_length_is_capped)
{
	char in[AL_EGRESS_HOST_INPUT_MAX + 2], out[AL_EGRESS_HOST_MAX + 1];
	const char *why = NULL;

	/* 4 labels of 63: 255 bytes, over the 253 of a name */
	memset(in, 'a', sizeof(in));
	in[63] = in[127] = in[191] = '.';
	ck_assert_int_eq(al_egress_host_normalize(in, 255, out, &why), -EINVAL);
	ck_assert_str_eq(why, "name longer than 253 bytes");
	ck_assert_int_eq(al_egress_host_normalize(in, 253, out, &why), 0);
	ck_assert_int_eq(al_egress_host_normalize(in, sizeof(in), out, &why), -EINVAL);
	ck_assert_str_eq(why, "host too long");
	/* the same name with a NUL in the middle is refused, never cut */
	ck_assert_int_eq(al_egress_host_normalize("pypi.org\0.evil", 14, out, &why), -EINVAL);
}
END_TEST

static const struct {
	const char *in;
	int ok;
	uint16_t want;
} ports[] = {
    {"443", 1, 443}, {"1", 1, 1},      {"65535", 1, 65535}, {"80", 1, 80},   {"0", 0, 0},
    {"65536", 0, 0}, {"99999", 0, 0},  {"0443", 0, 0},	    {"+443", 0, 0},  {"-1", 0, 0},
    {"", 0, 0},	     {" 443", 0, 0},   {"443 ", 0, 0},	    {"0x1bb", 0, 0}, {"4 43", 0, 0},
    {"443a", 0, 0},  {"100000", 0, 0},
};

START_TEST(ports_are_digits_in_range)
{
	uint16_t p = 7;
	int rc = al_egress_port_parse(ports[_i].in, strlen(ports[_i].in), &p);

	ck_assert_msg((rc == 0) == ports[_i].ok, "port \"%s\"", ports[_i].in);
	ck_assert_uint_eq(p, ports[_i].ok ? ports[_i].want : 7);
}
END_TEST

/* Resolved addresses: why NULL means the proxy may connect. */
static const struct {
	const char *addr, *why;
} addrs[] = {
    {"93.184.215.14", NULL},
    {"151.101.0.223", NULL},
    {"8.8.8.8", NULL},
    {"100.63.255.255", NULL},
    {"100.128.0.0", NULL},
    {"172.15.255.255", NULL},
    {"172.32.0.0", NULL},
    {"192.169.0.1", NULL},
    {"223.255.255.255", NULL},
    {"127.0.0.1", "loopback"},
    {"127.255.255.254", "loopback"},
    {"0.0.0.0", "this network"},
    {"0.1.2.3", "this network"},
    {"10.0.0.1", "private (10."},
    {"172.16.0.1", "private (172.16"},
    {"172.31.255.255", "private (172.16"},
    {"192.168.1.1", "private (192.168"},
    {"169.254.169.254", "cloud metadata"},
    {"169.254.0.1", "link-local"},
    {"100.64.0.1", "carrier-grade NAT"},
    {"100.127.255.255", "carrier-grade NAT"},
    {"192.0.0.170", "IETF"},
    {"192.0.2.1", "documentation"},
    {"198.51.100.7", "documentation"},
    {"203.0.113.9", "documentation"},
    {"198.18.0.1", "benchmarking"},
    {"198.19.255.255", "benchmarking"},
    {"192.88.99.1", "6to4 relay"},
    {"224.0.0.1", "multicast"},
    {"239.255.255.250", "multicast"},
    {"240.0.0.1", "reserved"},
    {"255.255.255.254", "reserved"},
    {"255.255.255.255", "broadcast"},
    {"2606:4700::6810:84e5", NULL},
    {"2a04:4e42::223", NULL},
    {"::ffff:93.184.215.14", NULL},
    {"64:ff9b::808:808", NULL},
    {"2002:5db8:d70e::1", NULL},
    {"::", "unspecified"},
    {"::1", "loopback"},
    {"::ffff:127.0.0.1", "IPv4-mapped"},
    {"::ffff:169.254.169.254", "IPv4-mapped"},
    {"::ffff:10.1.2.3", "IPv4-mapped"},
    {"::ffff:0:7f00:1", "IPv4-translated"},
    {"::127.0.0.1", "IPv4-compatible"},
    {"::8.8.8.8", "IPv4-compatible"},
    {"64:ff9b::7f00:1", "NAT64"},
    {"64:ff9b::a9fe:a9fe", "NAT64"},
    {"64:ff9b:1::1", "local-use NAT64"},
    {"2002:7f00:1::1", "6to4"},
    {"2002:c0a8:101::1", "6to4"},
    {"2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"},
    {"2001:db8::1", "documentation"},
    {"3fff::1", "documentation"},
    {"2001:2::1", "benchmarking"},
    {"2001:10::1", "ORCHID"},
    {"2001:20::1", "ORCHIDv2"},
    {"100::1", "discard-only"},
    {"fc00::1", "unique-local"},
    {"fd12:3456::1", "unique-local"},
    {"fe80::1", "link-local"},
    {"febf::1", "link-local"},
    {"fec0::1", "site-local"},
    {"ff02::1", "multicast"},
    {"ff0e::1", "multicast"},
    {"4000::1", "not global unicast"},
    {"1234::1", "not global unicast"},
};

START_TEST(addresses_are_classified)
{
	struct sockaddr_storage ss = {0};
	const char *why;

	if (strchr(addrs[_i].addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		ck_assert_int_eq(inet_pton(AF_INET6, addrs[_i].addr, &s6->sin6_addr), 1);
		ck_assert_ptr_eq(al_egress_addr6_refused(&s6->sin6_addr),
				 al_egress_sockaddr_refused((struct sockaddr *)&ss, sizeof(*s6)));
		why = al_egress_sockaddr_refused((struct sockaddr *)&ss, sizeof(*s6));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		ck_assert_int_eq(inet_pton(AF_INET, addrs[_i].addr, &s4->sin_addr), 1);
		ck_assert_ptr_eq(al_egress_addr4_refused(&s4->sin_addr),
				 al_egress_sockaddr_refused((struct sockaddr *)&ss, sizeof(*s4)));
		why = al_egress_sockaddr_refused((struct sockaddr *)&ss, sizeof(*s4));
	}
	if (!addrs[_i].why)
		ck_assert_msg(why == NULL, "%s refused: %s", addrs[_i].addr, why);
	else
		ck_assert_msg(why && strstr(why, addrs[_i].why), "%s: %s", addrs[_i].addr,
			      why ? why : "allowed");
}
END_TEST

START_TEST(odd_socket_addresses_are_refused)
{
	struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_scope_id = 2};
	struct sockaddr_in s4 = {.sin_family = AF_INET};
	struct sockaddr sa = {.sa_family = AF_UNIX};

	ck_assert_int_eq(inet_pton(AF_INET6, "2606:4700::1", &s6.sin6_addr), 1);
	ck_assert_str_eq(al_egress_sockaddr_refused((struct sockaddr *)&s6, sizeof(s6)),
			 "scoped IPv6 address");
	ck_assert_ptr_nonnull(al_egress_sockaddr_refused(&sa, sizeof(sa)));
	ck_assert_ptr_nonnull(al_egress_sockaddr_refused(NULL, 0));
	/* too short for its family */
	ck_assert_int_eq(inet_pton(AF_INET, "8.8.8.8", &s4.sin_addr), 1);
	ck_assert_ptr_nonnull(al_egress_sockaddr_refused((struct sockaddr *)&s4, 4));
	ck_assert_ptr_null(al_egress_sockaddr_refused((struct sockaddr *)&s4, sizeof(s4)));
}
END_TEST

#define P AL_EGRESS_AT_PROXY
#define T AL_EGRESS_IN_TUNNEL

/* Request heads: why NULL means parsed, with host and port. */
static const struct {
	const char *name, *head;
	enum al_egress_where where;
	const char *why, *host;
	uint16_t port;
} reqs[] = {
    {"CONNECT", "CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org:443\r\n\r\n", P, NULL, "pypi.org",
     443},
    {"CONNECT without Host", "CONNECT pypi.org:443 HTTP/1.1\r\n\r\n", P, NULL, "pypi.org", 443},
    {"CONNECT, Host without its port (npm 9)",
     "CONNECT pypi.org:443 HTTP/1.1\r\nHost: pypi.org\r\n\r\n", P, NULL, "pypi.org", 443},
    {"CONNECT, Host in other case", "CONNECT pypi.org:443 HTTP/1.1\r\nhost: PyPI.org:443\r\n\r\n",
     P, NULL, "pypi.org", 443},
    {"absolute GET", "GET http://pypi.org/simple/ HTTP/1.1\r\nHost: pypi.org\r\n\r\n", P, NULL,
     "pypi.org", 80},
    {"absolute GET with port", "GET http://pypi.org:8080/x HTTP/1.1\r\nHost: pypi.org:8080\r\n\r\n",
     P, NULL, "pypi.org", 8080},
    {"absolute GET, HTTP scheme in capitals",
     "GET HTTP://pypi.org HTTP/1.1\r\nHost: pypi.org\r\n\r\n", P, NULL, "pypi.org", 80},
    {"POST with a length",
     "POST http://a.org/ HTTP/1.1\r\nHost: a.org\r\nContent-Length: 3\r\n\r\n", P, NULL, "a.org",
     80},
    {"POST chunked",
     "POST http://a.org/ HTTP/1.1\r\nHost: a.org\r\nTransfer-Encoding: chunked\r\n\r\n", P, NULL,
     "a.org", 80},
    {"origin-form in a tunnel", "GET /simple/ HTTP/1.1\r\nHost: pypi.org\r\n\r\n", T, NULL,
     "pypi.org", 0},
    {"origin-form with a port", "GET / HTTP/1.1\r\nHost: pypi.org:443\r\nAccept: */*\r\n\r\n", T,
     NULL, "pypi.org", 443},
    {"empty header value", "GET / HTTP/1.1\r\nHost: a.org\r\nX-Empty:\r\n\r\n", T, NULL, "a.org",
     0},
    /* versions */
    {"CONNECT HTTP/1.0 (Python's tunnels)", "CONNECT a.org:443 HTTP/1.0\r\n\r\n", P, NULL, "a.org",
     443},
    {"GET HTTP/1.0 to the proxy", "GET http://a.org/ HTTP/1.0\r\n\r\n", P,
     "HTTP version is not 1.1", NULL, 0},
    {"HTTP/1.0 in a tunnel", "GET / HTTP/1.0\r\nHost: a.org\r\n\r\n", T, "HTTP version is not 1.1",
     NULL, 0},
    {"HTTP/2", "CONNECT a.org:443 HTTP/2.0\r\n\r\n", P, "HTTP version is not 1.1", NULL, 0},
    {"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", P, "HTTP version is not 1.1", NULL, 0},
    {"HTTP/0.9", "GET /\r\n\r\n", T, "malformed request line", NULL, 0},
    {"lower-case version", "GET / http/1.1\r\nHost: a.org\r\n\r\n", T, "malformed request line",
     NULL, 0},
    {"HTTP/1.10", "GET / HTTP/1.10\r\nHost: a.org\r\n\r\n", T, "HTTP version is not 1.1", NULL, 0},
    /* line endings and bytes */
    {"bare LF after the request line", "GET / HTTP/1.1\nHost: a.org\r\n\r\n", T, "bare LF", NULL,
     0},
    {"bare LF ends the head", "GET / HTTP/1.1\r\nHost: a.org\r\n\n", T, "bare LF", NULL, 0},
    {"bare CR in a value", "GET / HTTP/1.1\r\nHost: a.org\rX: y\r\n\r\n", T, "bare CR", NULL, 0},
    {"NUL in a value", "GET / HTTP/1.1\r\nHost: a.org\r\nX: a\0b\r\n\r\n", T, "NUL byte", NULL, 0},
    {"control character", "GET / HTTP/1.1\r\nHost: a.org\r\nX: a\x01\r\n\r\n", T,
     "control character", NULL, 0},
    {"DEL", "GET / HTTP/1.1\r\nHost: a.org\r\nX: a\x7f\r\n\r\n", T, "control character", NULL, 0},
    {"non-ASCII", "GET / HTTP/1.1\r\nHost: a.org\r\nX: \xc3\xa9\r\n\r\n", T, "non-ASCII byte", NULL,
     0},
    {"empty line first", "\r\nGET / HTTP/1.1\r\nHost: a.org\r\n\r\n", T,
     "empty line before the request line", NULL, 0},
    /* request line */
    {"two spaces", "GET  / HTTP/1.1\r\nHost: a.org\r\n\r\n", T, "malformed request line", NULL, 0},
    {"space in target", "GET /a b HTTP/1.1\r\nHost: a.org\r\n\r\n", T, "malformed request line",
     NULL, 0},
    {"tab separator", "GET\t/ HTTP/1.1\r\nHost: a.org\r\n\r\n", T, "invalid method", NULL, 0},
    {"tab in target", "GET /a\tb HTTP/1.1\r\nHost: a.org\r\n\r\n", T, "invalid character", NULL, 0},
    {"method with a slash", "GE/T / HTTP/1.1\r\nHost: a.org\r\n\r\n", T, "invalid method", NULL, 0},
    {"method too long", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA / HTTP/1.1\r\nHost: a.org\r\n\r\n", T,
     "invalid method", NULL, 0},
    {"fragment", "GET /#x HTTP/1.1\r\nHost: a.org\r\n\r\n", T, "fragment", NULL, 0},
    {"trailing space", "GET / HTTP/1.1 \r\nHost: a.org\r\n\r\n", T, "HTTP version is not 1.1", NULL,
     0},
    /* targets */
    {"CONNECT without port", "CONNECT pypi.org HTTP/1.1\r\n\r\n", P, "port missing", NULL, 0},
    {"CONNECT port 0", "CONNECT pypi.org:0 HTTP/1.1\r\n\r\n", P, "invalid port", NULL, 0},
    {"CONNECT port 65536", "CONNECT pypi.org:65536 HTTP/1.1\r\n\r\n", P, "invalid port", NULL, 0},
    {"CONNECT empty port", "CONNECT pypi.org: HTTP/1.1\r\n\r\n", P, "invalid port", NULL, 0},
    {"CONNECT IPv6", "CONNECT [::1]:443 HTTP/1.1\r\n\r\n", P, "IPv6 literal", NULL, 0},
    {"CONNECT bare IPv6", "CONNECT ::1:443 HTTP/1.1\r\n\r\n", P, "IPv6 literal", NULL, 0},
    {"CONNECT userinfo", "CONNECT u@pypi.org:443 HTTP/1.1\r\n\r\n", P, "userinfo", NULL, 0},
    {"CONNECT empty host", "CONNECT :443 HTTP/1.1\r\n\r\n", P, "empty host", NULL, 0},
    {"CONNECT in a tunnel", "CONNECT a.org:443 HTTP/1.1\r\nHost: a.org:443\r\n\r\n", T,
     "CONNECT inside a tunnel", NULL, 0},
    {"https absolute", "GET https://a.org/ HTTP/1.1\r\nHost: a.org\r\n\r\n", P, "not http://", NULL,
     0},
    {"ftp absolute", "GET ftp://a.org/ HTTP/1.1\r\nHost: a.org\r\n\r\n", P, "not http://", NULL, 0},
    {"userinfo in URL", "GET http://u:p@a.org/ HTTP/1.1\r\nHost: a.org\r\n\r\n", P, "userinfo",
     NULL, 0},
    {"userinfo hiding a host", "GET http://a.org@evil.org/ HTTP/1.1\r\nHost: a.org\r\n\r\n", P,
     "userinfo", NULL, 0},
    {"origin-form to the proxy", "GET / HTTP/1.1\r\nHost: a.org\r\n\r\n", P, "origin-form", NULL,
     0},
    {"asterisk-form", "OPTIONS * HTTP/1.1\r\nHost: a.org\r\n\r\n", P, "asterisk-form", NULL, 0},
    {"absolute-form in a tunnel", "GET http://a.org/ HTTP/1.1\r\nHost: a.org\r\n\r\n", T,
     "not origin-form", NULL, 0},
    {"query without path", "GET http://a.org?x HTTP/1.1\r\nHost: a.org\r\n\r\n", P, "query", NULL,
     0},
    /* Host */
    {"missing Host", "GET http://a.org/ HTTP/1.1\r\n\r\n", P, "missing Host", NULL, 0},
    {"missing Host in a tunnel", "GET / HTTP/1.1\r\n\r\n", T, "missing Host", NULL, 0},
    {"Host names another host", "GET http://a.org/ HTTP/1.1\r\nHost: evil.org\r\n\r\n", P,
     "Host differs", NULL, 0},
    {"Host names another port", "GET http://a.org/ HTTP/1.1\r\nHost: a.org:81\r\n\r\n", P,
     "Host differs", NULL, 0},
    {"CONNECT Host names another host", "CONNECT a.org:443 HTTP/1.1\r\nHost: evil.org:443\r\n\r\n",
     P, "Host differs", NULL, 0},
    {"CONNECT Host without port names another host",
     "CONNECT a.org:443 HTTP/1.1\r\nHost: evil.org\r\n\r\n", P, "Host differs", NULL, 0},
    {"CONNECT Host names the CONNECT's host on another port",
     "CONNECT a.org:8443 HTTP/1.1\r\nHost: a.org:443\r\n\r\n", P, "Host differs", NULL, 0},
    {"duplicate Host", "GET / HTTP/1.1\r\nHost: a.org\r\nHost: evil.org\r\n\r\n", T,
     "duplicate Host", NULL, 0},
    {"empty Host", "GET / HTTP/1.1\r\nHost:\r\n\r\n", T, "invalid Host", NULL, 0},
    {"Host with userinfo", "GET / HTTP/1.1\r\nHost: u@a.org\r\n\r\n", T, "invalid Host", NULL, 0},
    /* header syntax */
    {"obsolete folding", "GET / HTTP/1.1\r\nHost: a.org\r\nX: a\r\n b\r\n\r\n", T,
     "obsolete line folding", NULL, 0},
    {"obsolete folding by tab", "GET / HTTP/1.1\r\nHost: a.org\r\nX: a\r\n\tb\r\n\r\n", T,
     "obsolete line folding", NULL, 0},
    {"space before the first header", "GET / HTTP/1.1\r\n Host: a.org\r\n\r\n", T,
     "obsolete line folding", NULL, 0},
    {"space before the colon", "GET / HTTP/1.1\r\nHost : a.org\r\n\r\n", T,
     "whitespace before the colon", NULL, 0},
    {"tab before the colon", "GET / HTTP/1.1\r\nHost\t: a.org\r\n\r\n", T,
     "whitespace before the colon", NULL, 0},
    {"no colon", "GET / HTTP/1.1\r\nHost: a.org\r\nJunk\r\n\r\n", T, "without a colon", NULL, 0},
    {"empty name", "GET / HTTP/1.1\r\nHost: a.org\r\n: x\r\n\r\n", T, "empty header name", NULL, 0},
    {"bad name", "GET / HTTP/1.1\r\nHost: a.org\r\nX(y): z\r\n\r\n", T, "invalid header name", NULL,
     0},
    {"space in name", "GET / HTTP/1.1\r\nHost: a.org\r\nX Y: z\r\n\r\n", T, "invalid header name",
     NULL, 0},
    /* bodies: the smuggling forms */
    {"length and chunked",
     "POST / HTTP/1.1\r\nHost: a.org\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", T,
     "both Content-Length and Transfer-Encoding", NULL, 0},
    {"chunked and length",
     "POST / HTTP/1.1\r\nHost: a.org\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", T,
     "both Content-Length and Transfer-Encoding", NULL, 0},
    {"two lengths",
     "POST / HTTP/1.1\r\nHost: a.org\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\n", T,
     "duplicate Content-Length", NULL, 0},
    {"length list", "POST / HTTP/1.1\r\nHost: a.org\r\nContent-Length: 4, 4\r\n\r\n", T,
     "invalid Content-Length", NULL, 0},
    {"signed length", "POST / HTTP/1.1\r\nHost: a.org\r\nContent-Length: +4\r\n\r\n", T,
     "invalid Content-Length", NULL, 0},
    {"negative length", "POST / HTTP/1.1\r\nHost: a.org\r\nContent-Length: -1\r\n\r\n", T,
     "invalid Content-Length", NULL, 0},
    {"hex length", "POST / HTTP/1.1\r\nHost: a.org\r\nContent-Length: 0x10\r\n\r\n", T,
     "invalid Content-Length", NULL, 0},
    {"empty length", "POST / HTTP/1.1\r\nHost: a.org\r\nContent-Length:\r\n\r\n", T,
     "invalid Content-Length", NULL, 0},
    {"huge length", "POST / HTTP/1.1\r\nHost: a.org\r\nContent-Length: 9999999999999999999\r\n\r\n",
     T, "invalid Content-Length", NULL, 0},
    {"length by another case",
     "POST / HTTP/1.1\r\nHost: a.org\r\ncontent-length: 4\r\nCONTENT-LENGTH: 5\r\n\r\n", T,
     "duplicate Content-Length", NULL, 0},
    {"chunked in capitals", "POST / HTTP/1.1\r\nHost: a.org\r\nTransfer-Encoding: Chunked\r\n\r\n",
     T, "not exactly chunked", NULL, 0},
    {"gzip, chunked", "POST / HTTP/1.1\r\nHost: a.org\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
     T, "not exactly chunked", NULL, 0},
    {"identity", "POST / HTTP/1.1\r\nHost: a.org\r\nTransfer-Encoding: identity\r\n\r\n", T,
     "not exactly chunked", NULL, 0},
    {"chunked with a comma",
     "POST / HTTP/1.1\r\nHost: a.org\r\nTransfer-Encoding: chunked,\r\n\r\n", T,
     "not exactly chunked", NULL, 0},
    {"two Transfer-Encodings",
     "POST / HTTP/1.1\r\nHost: a.org\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
     "chunked\r\n\r\n",
     T, "duplicate Transfer-Encoding", NULL, 0},
    {"body on CONNECT", "CONNECT a.org:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n", P,
     "body on CONNECT", NULL, 0},
    {"chunked CONNECT", "CONNECT a.org:443 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", P,
     "body on CONNECT", NULL, 0},
    {"Connection drops the length",
     "POST / HTTP/1.1\r\nHost: a.org\r\nContent-Length: 4\r\nConnection: close, "
     "Content-Length\r\n\r\n",
     T, "Connection names a framing header", NULL, 0},
    {"Connection drops the chunking",
     "POST / HTTP/1.1\r\nHost: a.org\r\nConnection: transfer-encoding\r\n\r\n", T,
     "Connection names a framing header", NULL, 0},
    {"Connection drops Host",
     "GET / HTTP/1.1\r\nHost: a.org\r\nConnection: keep-alive,HOST\r\n\r\n", T,
     "Connection names a framing header", NULL, 0},
    {"Connection keep-alive",
     "GET / HTTP/1.1\r\nHost: a.org\r\nConnection: keep-alive, close\r\n\r\n", T, NULL, "a.org", 0},
    {"Upgrade to h2c",
     "GET / HTTP/1.1\r\nHost: a.org\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n", T,
     "Upgrade refused", NULL, 0},
};

START_TEST(request_heads_parse_or_are_refused)
{
	struct al_egress_request r;
	const char *why = NULL;
	size_t len = strlen(reqs[_i].head);
	int rc;

	/* the NUL case holds its NUL inside the literal */
	if (strcmp(reqs[_i].name, "NUL in a value") == 0)
		len = sizeof("GET / HTTP/1.1\r\nHost: a.org\r\nX: a\0b\r\n\r\n") - 1;
	rc = al_egress_request_parse(reqs[_i].head, len, reqs[_i].where, &r, &why);
	if (!reqs[_i].why) {
		ck_assert_msg(rc == 0, "%s: refused: %s", reqs[_i].name, why);
		ck_assert_str_eq(r.host, reqs[_i].host);
		ck_assert_uint_eq(r.port, reqs[_i].port);
		ck_assert_uint_eq(r.head_len, len);
	} else {
		ck_assert_msg(rc == -EINVAL, "%s: rc %d", reqs[_i].name, rc);
		ck_assert_msg(why && strstr(why, reqs[_i].why), "%s: reason %s", reqs[_i].name,
			      why);
	}
}
END_TEST

START_TEST(a_partial_head_waits_and_a_large_one_is_refused)
{
	static const char full[] = "GET / HTTP/1.1\r\nHost: a.org\r\nAccept: */*\r\n\r\nBODY";
	struct al_egress_request r;
	const char *why = NULL;
	char *big;
	size_t n;

	/* every prefix short of the empty line waits for more */
	for (n = 0; n < sizeof(full) - 5; n++)
		ck_assert_int_eq(al_egress_request_parse(full, n, T, &r, &why), -EAGAIN);
	ck_assert_int_eq(al_egress_request_parse(full, sizeof(full) - 1, T, &r, &why), 0);
	ck_assert_uint_eq(r.head_len, sizeof(full) - 5);
	ck_assert_uint_eq(r.nheaders, 2);
	ck_assert_int_eq(r.path_len, 1);
	ck_assert_int_eq(r.content_length, -1);
	ck_assert(!r.chunked);
	ck_assert_ptr_nonnull(al_egress_request_header(&r, "ACCEPT"));
	ck_assert_int_eq(memcmp(al_egress_request_header(&r, "accept")->value, "*/*", 3), 0);
	ck_assert_ptr_null(al_egress_request_header(&r, "Cookie"));

	/* no end within the cap: refused, not waited for */
	big = malloc(AL_EGRESS_HEAD_MAX + 64);
	ck_assert_ptr_nonnull(big);
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	memset(big + 19, 'a', AL_EGRESS_HEAD_MAX + 64 - 19);
	ck_assert_int_eq(al_egress_request_parse(big, AL_EGRESS_HEAD_MAX - 1, T, &r, &why),
			 -EAGAIN);
	ck_assert_int_eq(al_egress_request_parse(big, AL_EGRESS_HEAD_MAX + 64, T, &r, &why),
			 -EINVAL);
	ck_assert_str_eq(why, "head too large");
	/* a head that would end just past the cap is refused too */
	memcpy(big + AL_EGRESS_HEAD_MAX - 2, "\r\n\r\n", 4);
	ck_assert_int_eq(al_egress_request_parse(big, AL_EGRESS_HEAD_MAX + 2, T, &r, &why),
			 -EINVAL);
	free(big);
}
END_TEST

START_TEST(header_lines_are_capped)
{
	char head[4096];
	struct al_egress_request r;
	const char *why = NULL;
	size_t n = 0;

	n += (size_t)snprintf(head + n, sizeof(head) - n, "GET / HTTP/1.1\r\nHost: a.org\r\n");
	for (int i = 1; i < AL_EGRESS_HEADERS_MAX; i++)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "X-%d: v\r\n", i);
	memcpy(head + n, "\r\n", 3);
	ck_assert_int_eq(al_egress_request_parse(head, n + 2, T, &r, &why), 0);
	ck_assert_uint_eq(r.nheaders, AL_EGRESS_HEADERS_MAX);
	n += (size_t)snprintf(head + n, sizeof(head) - n, "X-last: v\r\n\r\n");
	ck_assert_int_eq(al_egress_request_parse(head, n, T, &r, &why), -EINVAL);
	ck_assert_str_eq(why, "too many header lines");
}
END_TEST

START_TEST(absolute_form_exposes_its_path_and_body)
{
	static const char h[] = "POST http://a.org:8080/up?x=1 HTTP/1.1\r\nHost: "
				"A.ORG:8080\r\nContent-Length: 12\r\n\r\n";
	struct al_egress_request r;
	const char *why = NULL;

	ck_assert_int_eq(al_egress_request_parse(h, sizeof(h) - 1, P, &r, &why), 0);
	ck_assert_int_eq(r.form, AL_EGRESS_ABSOLUTE);
	ck_assert_str_eq(r.method, "POST");
	ck_assert_int_eq(r.path_len, 7);
	ck_assert_int_eq(memcmp(r.path, "/up?x=1", 7), 0);
	ck_assert_int_eq(r.content_length, 12);
}
END_TEST

/* Rules that must be refused, with what the message names. */
static const struct {
	const char *json, *why;
} bad_rules[] = {
    {"", "not JSON"},
    {"[]", "not an object"},
    {"{\"allow\": [\"pypi.org\"], \"alow\": []}", "unknown key \"alow\""},
    {"{\"allow\": [\"a.org\"], \"allow\": [\"b.org\"]}", "not JSON"},
    {"{\"allow\": \"pypi.org\"}", "egress.allow: not an array"},
    {"{\"allow\": [1]}", "egress.allow[0]: not a non-empty string"},
    {"{\"allow\": [\"\"]}", "egress.allow[0]: not a non-empty string"},
    {"{\"allow\": [\"a\\u0000b.org\"]}", "not JSON"},
    {"{\"allow\": [\"*\"]}", "\"*\" alone"},
    {"{\"allow\": [\"*.com\"]}", "two labels or more"},
    {"{\"allow\": [\"*.com.\"]}", "two labels or more"},
    {"{\"allow\": [\"*.\"]}", "egress.allow[0]: not a host name"},
    {"{\"allow\": [\"*pypi.org\"]}", "only be a leading"},
    {"{\"allow\": [\"pypi.*.org\"]}", "only be a leading"},
    {"{\"allow\": [\"pypi.org.*\"]}", "only be a leading"},
    {"{\"allow\": [\"*.*.pypi.org\"]}", "only be a leading"},
    {"{\"allow\": [\"**.pypi.org\"]}", "only be a leading"},
    {"{\"allow\": [\"127.0.0.1\"]}", "IPv4 literal"},
    {"{\"allow\": [\"2130706433\"]}", "IPv4 literal"},
    {"{\"allow\": [\"0x7f.1\"]}", "IPv4 literal"},
    {"{\"allow\": [\"*.0.0.1\"]}", "IPv4 literal"},
    {"{\"allow\": [\"[::1]\"]}", "IPv6 literal"},
    {"{\"allow\": [\"localhost\"]}", "single-label"},
    {"{\"allow\": [\"pypi.org:443\"]}", "not a host name"},
    {"{\"allow\": [\"https://pypi.org\"]}", "not a host name"},
    {"{\"allow\": [\"@pypi\"]}", "no bundle named \"pypi\""},
    {"{\"allow\": [\"@pypi\"], \"bundles\": {\"npm\": [\"registry.npmjs.org\"]}}", "no bundle"},
    {"{\"bundles\": []}", "egress.bundles: not an object"},
    {"{\"bundles\": {\"PyPI\": [\"pypi.org\"]}}", "bundle name"},
    {"{\"bundles\": {\"\": [\"pypi.org\"]}}", "bundle name"},
    {"{\"bundles\": {\"pypi\": []}}", "egress.bundles.pypi: empty"},
    {"{\"bundles\": {\"pypi\": \"pypi.org\"}}", "egress.bundles.pypi: not an array"},
    {"{\"bundles\": {\"pypi\": [\"*\"]}}", "egress.bundles.pypi[0]"},
    {"{\"bundles\": {\"pypi\": [\"10.0.0.1\"]}}", "IPv4 literal"},
    {"{\"bundles\": {\"a\": [\"@b\"], \"b\": [\"x.org\"]}}", "a bundle cannot name a bundle"},
    {"{\"ports\": []}", "egress.ports"},
    {"{\"ports\": [0]}", "egress.ports[0]: not a port"},
    {"{\"ports\": [65536]}", "not a port"},
    {"{\"ports\": [-443]}", "not a port"},
    {"{\"ports\": [\"443\"]}", "not a port"},
    {"{\"ports\": [443.0]}", "not a port"},
    {"{\"ports\": [443, 443]}", "listed twice"},
    {"{\"deny\": [\"*\"]}", "egress.deny[0]"},
    {"{\"deny\": {}}", "egress.deny: not an array"},
};

START_TEST(bad_rules_are_refused)
{
	struct al_egress_rules *r = NULL;
	struct al_err err = {0};

	ck_assert_int_eq(
	    al_egress_rules_parse(bad_rules[_i].json, strlen(bad_rules[_i].json), &r, &err),
	    -EINVAL);
	ck_assert_ptr_null(r);
	ck_assert_msg(strstr(al_err_msg(&err), bad_rules[_i].why), "%s: %s", bad_rules[_i].json,
		      al_err_msg(&err));
}
END_TEST

static const char rules_json[] =
    "{\"allow\": [\"PyPI.org.\", \"*.pythonhosted.org\", \"@npm\", \"bücher.example\", "
    "\"plain.example\"],"
    " \"deny\": [\"evil.pythonhosted.org\", \"*.bad.pythonhosted.org\"],"
    " \"ports\": [443, 8443],"
    " \"bundles\": {\"npm\": [\"registry.npmjs.org\"], \"unused\": [\"x.example\"]}}";

static const struct {
	const char *host;
	uint16_t port;
	int allow;
	const char *why;
} matches[] = {
    {"pypi.org", 443, 1, "allowed by rule PyPI.org."},
    {"PYPI.ORG", 443, 1, "allowed by rule"},
    {"pypi.org.", 443, 1, "allowed by rule"},
    {"pypi.org", 8443, 1, "allowed by rule"},
    {"files.pythonhosted.org", 443, 1, "allowed by rule *.pythonhosted.org"},
    {"a.b.pythonhosted.org", 443, 1, "allowed by rule *.pythonhosted.org"},
    {"registry.npmjs.org", 443, 1, "allowed by rule @npm (registry.npmjs.org)"},
    {"b\xc3\xbc"
     "cher.example",
     443, 1, "allowed by rule"},
    {"xn--bcher-kva.example", 443, 1, "allowed by rule"},
    {"x.example", 443, 0, "not listed"},
    /* the wildcard's edges */
    {"pythonhosted.org", 443, 0, "not listed"},
    {"xpythonhosted.org", 443, 0, "not listed"},
    {"evilpythonhosted.org", 443, 0, "not listed"},
    {"pythonhosted.org.evil.com", 443, 0, "not listed"},
    {".pythonhosted.org", 443, 0, "host refused: empty label"},
    {"sub.pypi.org", 443, 0, "not listed"},
    {"pypi.org.evil.com", 443, 0, "not listed"},
    {"pypi.orgx", 443, 0, "not listed"},
    {"www.plain.example", 443, 0, "not listed"},
    /* deny wins */
    {"evil.pythonhosted.org", 443, 0, "denied by rule evil.pythonhosted.org"},
    {"EVIL.pythonhosted.org.", 443, 0, "denied by rule"},
    {"x.bad.pythonhosted.org", 443, 0, "denied by rule *.bad.pythonhosted.org"},
    {"bad.pythonhosted.org", 443, 1, "allowed by rule *.pythonhosted.org"},
    {"evil.pythonhosted.org", 80, 0, "denied by rule"},
    /* ports */
    {"pypi.org", 80, 0, "port not allowed"},
    {"pypi.org", 444, 0, "port not allowed"},
    {"pypi.org", 0, 0, "port not allowed"},
    /* a homograph: Cyrillic "р" and "у" are not the Latin letters */
    {"\xd1\x80\xd1\x83pi.org", 443, 0, "not listed"},
    {"p\xd1\x83pi.org", 443, 0, "not listed"},
    /* never an address, whatever the rules */
    {"127.0.0.1", 443, 0, "host refused: IPv4 literal"},
    {"2130706433", 443, 0, "host refused"},
    {"[::1]", 443, 0, "host refused: IPv6 literal"},
    {"localhost", 443, 0, "host refused"},
};

START_TEST(hosts_are_matched)
{
	_cleanup_(al_egress_rules_freep) struct al_egress_rules *r = NULL;
	struct al_egress_verdict v;
	struct al_err err = {0};

	ck_assert_msg(al_egress_rules_parse(rules_json, strlen(rules_json), &r, &err) == 0, "%s",
		      al_err_msg(&err));
	al_egress_rules_match(r, matches[_i].host, strlen(matches[_i].host), matches[_i].port, &v);
	ck_assert_msg(v.allow == matches[_i].allow, "%s:%u: %s", matches[_i].host, matches[_i].port,
		      v.reason);
	ck_assert_msg(strstr(v.reason, matches[_i].why), "%s: %s", matches[_i].host, v.reason);
}
END_TEST

START_TEST(defaults_allow_nothing_and_port_443_only)
{
	static const char only80[] = "{\"allow\": [\"a.example\"], \"ports\": [80]}";
	static const char dflt[] = "{\"allow\": [\"a.example\"]}";
	_cleanup_(al_egress_rules_freep) struct al_egress_rules *none = NULL, *d = NULL,
								*p80 = NULL;
	struct al_egress_verdict v;

	ck_assert_int_eq(al_egress_rules_parse("{}", 2, &none, NULL), 0);
	al_egress_rules_match(none, "a.example", 9, 443, &v);
	ck_assert(!v.allow);
	ck_assert_str_eq(v.reason, "not listed");
	ck_assert_int_eq(al_egress_rules_parse(dflt, sizeof(dflt) - 1, &d, NULL), 0);
	al_egress_rules_match(d, "a.example", 9, 443, &v);
	ck_assert(v.allow);
	al_egress_rules_match(d, "a.example", 9, 80, &v);
	ck_assert(!v.allow);
	ck_assert_str_eq(v.reason, "port not allowed");
	ck_assert_int_eq(al_egress_rules_parse(only80, sizeof(only80) - 1, &p80, NULL), 0);
	al_egress_rules_match(p80, "a.example", 9, 80, &v);
	ck_assert(v.allow);
	al_egress_rules_match(p80, "a.example", 9, 443, &v);
	ck_assert(!v.allow);
	/* an over-long text is refused before it is parsed */
	ck_assert_int_eq(al_egress_rules_parse(dflt, AL_EGRESS_RULES_TEXT_MAX + 1, &none, NULL),
			 -EINVAL);
	al_egress_rules_free(NULL);
}
END_TEST

/* A CONNECT the parser accepts is still decided by the rules: addresses never pass, even
 * under a rule that would allow everything below them. */
static const struct {
	const char *head, *why;
} connects[] = {
    {"CONNECT 127.0.0.1:443 HTTP/1.1\r\n\r\n", "host refused: IPv4 literal"},
    {"CONNECT 2130706433:443 HTTP/1.1\r\n\r\n", "host refused: IPv4 literal"},
    {"CONNECT 0x7f000001:443 HTTP/1.1\r\n\r\n", "host refused: IPv4 literal"},
    {"CONNECT 0x7f.0.0.1:443 HTTP/1.1\r\n\r\n", "host refused: IPv4 literal"},
    {"CONNECT 0177.0.0.1:443 HTTP/1.1\r\n\r\n", "host refused: IPv4 literal"},
    {"CONNECT 169.254.169.254:443 HTTP/1.1\r\n\r\n", "host refused: IPv4 literal"},
    {"CONNECT 10.0.0.1.pythonhosted.org.1:443 HTTP/1.1\r\n\r\n", "host refused: final label"},
    {"CONNECT PyPI.org.:443 HTTP/1.1\r\n\r\n", "allowed by rule"},
    {"CONNECT xn--pi-kmcm.org:443 HTTP/1.1\r\n\r\n", "not listed"},
    {"CONNECT pypi.org:80 HTTP/1.1\r\n\r\n", "port not allowed"},
    {"CONNECT evil.pythonhosted.org:443 HTTP/1.1\r\n\r\n", "denied by rule"},
};

START_TEST(parsed_connects_are_decided)
{
	_cleanup_(al_egress_rules_freep) struct al_egress_rules *r = NULL;
	struct al_egress_request q;
	struct al_egress_verdict v;
	const char *why = NULL;

	ck_assert_int_eq(al_egress_rules_parse(rules_json, strlen(rules_json), &r, NULL), 0);
	ck_assert_msg(
	    al_egress_request_parse(connects[_i].head, strlen(connects[_i].head), P, &q, &why) == 0,
	    "%s: %s", connects[_i].head, why);
	al_egress_rules_match(r, q.host, strlen(q.host), q.port, &v);
	ck_assert_msg(strstr(v.reason, connects[_i].why), "%s: %s", q.host, v.reason);
	ck_assert(v.allow == (strncmp(v.reason, "allowed", 7) == 0));
}
END_TEST

static Suite *
egress_suite(void)
{
	Suite *s = suite_create("egress");
	TCase *h = tcase_create("host"), *q = tcase_create("request"), *r = tcase_create("rules");

	tcase_add_loop_test(h, host_names_normalise_or_are_refused, 0, (int)AL_ARRAY_SIZE(hosts));
	tcase_add_test(h, host_length_is_capped);
	tcase_add_loop_test(h, ports_are_digits_in_range, 0, (int)AL_ARRAY_SIZE(ports));
	tcase_add_loop_test(h, addresses_are_classified, 0, (int)AL_ARRAY_SIZE(addrs));
	tcase_add_test(h, odd_socket_addresses_are_refused);
	suite_add_tcase(s, h);
	tcase_add_loop_test(q, request_heads_parse_or_are_refused, 0, (int)AL_ARRAY_SIZE(reqs));
	tcase_add_test(q, a_partial_head_waits_and_a_large_one_is_refused);
	tcase_add_test(q, header_lines_are_capped);
	tcase_add_test(q, absolute_form_exposes_its_path_and_body);
	suite_add_tcase(s, q);
	tcase_add_loop_test(r, bad_rules_are_refused, 0, (int)AL_ARRAY_SIZE(bad_rules));
	tcase_add_loop_test(r, hosts_are_matched, 0, (int)AL_ARRAY_SIZE(matches));
	tcase_add_test(r, defaults_allow_nothing_and_port_443_only);
	tcase_add_loop_test(r, parsed_connects_are_decided, 0, (int)AL_ARRAY_SIZE(connects));
	suite_add_tcase(s, r);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(egress_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
