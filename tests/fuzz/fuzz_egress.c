/* The egress proxy's request head, the host names it carries and the allowlist that
 * decides them: the same bytes as a head read at the proxy and inside a tunnel, as a host
 * name, as an address and as rules. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "egress/host.h"
#include "egress/request.h"
#include "egress/rules.h"
#include "tests/fuzz/oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A name that normalised: short, never an address, and normalising it again is a no-op. */
static void
check_normal(const char *name)
{
	char again[AL_EGRESS_HOST_MAX + 1];
	struct in_addr a4;
	const char *why = NULL;

	CHECK(strlen(name) >= 3 && strlen(name) <= AL_EGRESS_HOST_MAX);
	CHECK(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789.-") == strlen(name));
	CHECK(strchr(name, '.') != NULL);
	CHECK(al_egress_host_ip_literal(name) == NULL);
	CHECK(inet_aton(name, &a4) == 0);
	CHECK(al_egress_host_normalize(name, strlen(name), again, &why) == 0);
	CHECK(strcmp(name, again) == 0);
}

static void
check_host(const char *in, size_t len)
{
	char out[AL_EGRESS_HOST_MAX + 1];
	const char *why = NULL;
	int rc = al_egress_host_normalize(in, len, out, &why);

	CHECK(rc == 0 || rc == -EINVAL);
	if (rc == 0)
		check_normal(out);
	else
		CHECK(printable(why, 200));
}

/* A parsed head ends in its empty line, its parts lie inside it, and it parses alone. */
static void
check_head(const char *d, size_t size, enum al_egress_where where)
{
	struct al_egress_request r, again;
	const char *why = NULL;
	int rc = al_egress_request_parse(d, size, where, &r, &why);

	CHECK(rc == 0 || rc == -EAGAIN || rc == -EINVAL);
	if (rc == -EINVAL)
		CHECK(printable(why, 200));
	if (rc == -EAGAIN)
		CHECK(size < AL_EGRESS_HEAD_MAX);
	if (rc != 0)
		return;
	CHECK(r.head_len >= 4 && r.head_len <= size && r.head_len <= AL_EGRESS_HEAD_MAX);
	CHECK(memcmp(d + r.head_len - 4, "\r\n\r\n", 4) == 0);
	CHECK(memmem(d, r.head_len - 2, "\r\n\r\n", 4) == NULL);
	CHECK(r.nheaders <= AL_EGRESS_HEADERS_MAX);
	CHECK(!(r.chunked && r.content_length >= 0));
	for (size_t i = 0; i < r.nheaders; i++) {
		CHECK(r.headers[i].name >= d && r.headers[i].name_len > 0);
		CHECK(r.headers[i].value + r.headers[i].value_len <= d + r.head_len);
	}
	CHECK(printable(r.method, AL_EGRESS_METHOD_MAX));
	CHECK(r.host[0] != '\0');
	CHECK(r.form == AL_EGRESS_ORIGIN || r.port != 0);
	CHECK((r.form == AL_EGRESS_ORIGIN) == (where == AL_EGRESS_IN_TUNNEL));
	CHECK(al_egress_request_parse(d, r.head_len, where, &again, &why) == 0);
	CHECK(again.head_len == r.head_len && strcmp(again.host, r.host) == 0);
	check_host(r.host, strlen(r.host));
}

/* The embedding forms follow the address they embed. */
static void
check_addr(const uint8_t *b)
{
	struct in6_addr a6;
	struct in_addr a4;

	memcpy(&a6, b, 16);
	memcpy(&a4, b + 12, 4);
	CHECK(al_egress_addr4_refused(&a4) == NULL || al_egress_addr4_refused(&a4)[0]);
	if (IN6_IS_ADDR_V4MAPPED(&a6))
		CHECK((al_egress_addr6_refused(&a6) == NULL) ==
		      (al_egress_addr4_refused(&a4) == NULL));
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		CHECK(al_egress_addr6_refused(&a6) != NULL);
}

static void
check_rules(const char *d, size_t size)
{
	struct al_egress_rules *r = NULL;
	struct al_egress_verdict v;
	struct al_err err = {0};

	if (al_egress_rules_parse(d, size, &r, &err) < 0) {
		CHECK(r == NULL && printable(al_err_msg(&err), AL_ERR_MSG_MAX));
		return;
	}
	al_egress_rules_match(r, "127.0.0.1", 9, 443, &v);
	CHECK(!v.allow);
	al_egress_rules_match(r, "localhost", 9, 443, &v);
	CHECK(!v.allow);
	al_egress_rules_free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;

	check_head(d, size, AL_EGRESS_AT_PROXY);
	check_head(d, size, AL_EGRESS_IN_TUNNEL);
	if (size <= AL_EGRESS_HOST_INPUT_MAX + 1)
		check_host(d, size);
	if (size >= 16)
		check_addr(data);
	check_rules(d, size);
	return 0;
}
