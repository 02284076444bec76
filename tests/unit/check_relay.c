/* The egress proxy's configuration (egress/conf.c) and its relay (egress/relay.c) over
 * socketpairs: what reaches the upstream when the client frames requests honestly, and
 * what is refused when it does not. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "egress/proxy.h"
#include "egress/relay.h"
#include "lib/fileio.h"
#include "lib/macros.h"

static char dir[] = "/tmp/check_relay.XXXXXX";

static void
setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void
teardown(void)
{
	al_rm_rf(dir);
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
}

static char *
secret_file(const char *name, const char *value)
{
	char *path = al_path_join(dir, name);

	ck_assert_int_eq(al_file_write_atomic(path, value, strlen(value), 0600, NULL), 0);
	return path;
}

/* ---- configuration ---- */

START_TEST(a_full_configuration_parses)
{
	_cleanup_free_ char *f = secret_file("tok", "s3cret\n");
	char text[2048];
	struct al_proxy_conf c;
	struct al_err err = {0};
	const struct al_proxy_secret *s;

	snprintf(
	    text, sizeof(text),
	    "{\"allow\": [\"reg.example\", \"PINNED.example.\"], \"tunnel\": [\"pinned.example\"],"
	    " \"secrets\": [{\"name\": \"TOK\", \"host\": \"Reg.Example\", \"header\": "
	    "\"Authorization\", \"file\": \"%s\", \"format\": \"Bearer {}\"}],"
	    " \"caps\": {\"connections\": 5}}",
	    f);
	ck_assert_int_eq(al_proxy_conf_parse(text, strlen(text), &c, &err), 0);
	ck_assert_uint_eq(c.n_tunnels, 1);
	ck_assert(al_proxy_is_tunnel(&c, "pinned.example"));
	ck_assert(!al_proxy_is_tunnel(&c, "reg.example"));
	s = al_proxy_secret_for(&c, "reg.example", "AUTHORIZATION", 13);
	ck_assert_ptr_nonnull(s);
	ck_assert_str_eq(s->value, "Bearer s3cret");
	ck_assert_ptr_null(al_proxy_secret_for(&c, "pinned.example", "Authorization", 13));
	ck_assert_uint_eq(c.cap_connections, 5);
	ck_assert_uint_eq(c.cap_seconds, AL_PROXY_DEFAULT_SECONDS);
	ck_assert(c.cap_bytes == AL_PROXY_DEFAULT_BYTES);
	al_proxy_conf_clear(&c);
}
END_TEST

static const struct {
	const char *secret; /* the value file's contents; NULL: the file does not exist */
	const char *extra;  /* more of the secret rule */
	const char *why;
} bad_secrets[] = {
    {"a\x01"
     "b",
     "", "holds a control character"},
    {"a\rb\n", "", "holds a control character"},
    {"", "", "empty"},
    {NULL, "", "cannot read it"},
    {"x", ", \"format\": \"Bearer\"", "want exactly one {}"},
    {"x", ", \"format\": \"{} {}\"", "want exactly one {}"},
    {"x", ", \"format\": \"a\\r\\nX-Evil: 1 {}\"", "control character"},
};

START_TEST(bad_secrets_are_refused_without_their_value)
{
	_cleanup_free_ char *f = bad_secrets[_i].secret ? secret_file("v", bad_secrets[_i].secret)
							: al_path_join(dir, "missing");
	char text[2048];
	struct al_proxy_conf c;
	struct al_err err = {0};

	snprintf(text, sizeof(text),
		 "{\"allow\": [\"a.example\"], \"secrets\": [{\"name\": \"T\", \"host\": "
		 "\"a.example\", \"header\": \"X-T\", \"file\": \"%s\"%s}]}",
		 f, bad_secrets[_i].extra);
	ck_assert_int_eq(al_proxy_conf_parse(text, strlen(text), &c, &err), -EINVAL);
	ck_assert_msg(strstr(al_err_msg(&err), bad_secrets[_i].why), "%s", al_err_msg(&err));
	ck_assert_ptr_null(strstr(al_err_msg(&err), "a\x01"));
	/* the policy check does not read the file at all */
	if (!bad_secrets[_i].secret || !bad_secrets[_i].secret[0] ||
	    strchr(bad_secrets[_i].secret, '\r') || strchr(bad_secrets[_i].secret, 1))
		ck_assert_int_eq(al_proxy_conf_check(text, strlen(text), NULL), 0);
}
END_TEST

START_TEST(test_keys_need_the_environment_and_test_names)
{
	static const char t1[] = "{\"allow\": [\"a.test\"], \"test\": {\"resolve\": {\"a.test\": "
				 "\"127.0.0.1:8443\"}, \"hosts\": {\"b.test\": \"10.0.0.1\"}}}";
	static const char t2[] = "{\"allow\": [\"a.example\"], \"test\": {\"resolve\": "
				 "{\"a.example\": \"127.0.0.1:8443\"}}}";
	static const char t3[] = "{\"allow\": [\"a.test\"], \"test\": {\"resolve\": {\"a.test\": "
				 "\"10.0.0.1:443\"}}}";
	struct al_proxy_conf c;
	struct al_err err = {0};

	unsetenv(AL_PROXY_TEST_ENV);
	ck_assert_int_eq(al_proxy_conf_parse(t1, strlen(t1), &c, &err), -EINVAL);
	ck_assert_str_eq(al_err_msg(&err),
			 "test: only for tests (AIRLOCK_EGRESS_TEST=1 is not set)");
	setenv(AL_PROXY_TEST_ENV, "1", 1);
	ck_assert_int_eq(al_proxy_conf_parse(t1, strlen(t1), &c, NULL), 0);
	ck_assert_uint_eq(c.n_overrides, 2);
	ck_assert(!c.overrides[0].answer);
	ck_assert(c.overrides[1].answer);
	al_proxy_conf_clear(&c);
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(al_proxy_conf_parse(t2, strlen(t2), &c, &err), -EINVAL);
	ck_assert_str_eq(al_err_msg(&err), "test: only names under .test");
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(al_proxy_conf_parse(t3, strlen(t3), &c, &err), -EINVAL);
	ck_assert_str_eq(al_err_msg(&err),
			 "test.resolve.a.test: want 127.0.0.1:PORT or [::1]:PORT");
	unsetenv(AL_PROXY_TEST_ENV);
}
END_TEST

/* ---- the relay ---- */

struct rig {
	int client[2], upstream[2]; /* [0] the test's end, [1] the relay's */
	struct al_relay r;
	_Atomic uint64_t run_bytes;
	pthread_t t;
	unsigned heads;
};

/* Passes each head on as parsed, with a mark, so the test sees where the relay cut. */
static const char *
mark_head(void *arg, const struct al_egress_request *req, struct al_buf *out)
{
	struct rig *g = arg;

	g->heads++;
	if (req->host[0] && strcmp(req->host, "a.example"))
		return "Host header names another host than the connection's";
	return al_buf_printf(out, "%s %.*s HTTP/1.1\r\nX-Head: %u\r\n\r\n", req->method,
			     (int)req->path_len, req->path, g->heads) < 0
		   ? "request head too long"
		   : NULL;
}

static void *
relay_main(void *arg)
{
	struct rig *g = arg;

	ck_assert_int_eq(al_relay_run(&g->r), 0);
	close(g->client[1]);
	close(g->upstream[1]);
	return NULL;
}

static void
rig_start(struct rig *g, bool check, uint64_t cap)
{
	memset(g, 0, sizeof(*g));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, g->client), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, g->upstream), 0);
	g->r = (struct al_relay){.client = {g->client[1], NULL},
				 .upstream = {g->upstream[1], NULL},
				 .check_requests = check,
				 .where = AL_EGRESS_IN_TUNNEL,
				 .on_head = mark_head,
				 .arg = g,
				 .run_bytes = &g->run_bytes,
				 .cap_bytes = cap ? cap : (uint64_t)1 << 40,
				 .deadline_ms = al_relay_now_ms() + 20000,
				 .idle_ms = 5000};
	ck_assert_int_eq(pthread_create(&g->t, NULL, relay_main, g), 0);
}

static void
send_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t k = send(fd, s, n, MSG_NOSIGNAL);

		if (k < 0 && errno == EAGAIN) {
			usleep(1000);
			continue;
		}
		if (k < 0 && (errno == EPIPE || errno == ECONNRESET))
			return; /* the relay cut the connection */
		ck_assert_int_gt(k, 0);
		s += k, n -= (size_t)k;
	}
}

/* Everything the upstream end receives until the relay closes it. */
static char *
upstream_bytes(struct rig *g, size_t *ret_len)
{
	struct al_buf b;
	char buf[65536];

	al_buf_init(&b, (size_t)64 << 20);
	for (;;) {
		ssize_t k = recv(g->upstream[0], buf, sizeof(buf), 0);

		if (k < 0 && errno == EAGAIN) {
			usleep(1000);
			continue;
		}
		if (k <= 0)
			break;
		ck_assert_int_eq(al_buf_append(&b, buf, (size_t)k), 0);
	}
	*ret_len = b.len;
	return al_buf_steal(&b, NULL);
}

struct sending {
	int fd;
	const char *p;
	size_t n;
};

static void *
sender(void *arg)
{
	struct sending *x = arg;

	send_all(x->fd, x->p, x->n);
	shutdown(x->fd, SHUT_WR);
	return NULL;
}

/* Sends in on the client's end while the upstream's end is read, as a network would. */
static char *
through(struct rig *g, const char *in, size_t n, size_t *ret_len)
{
	struct sending x = {g->client[0], in, n};
	pthread_t t;
	char *out;

	ck_assert_int_eq(pthread_create(&t, NULL, sender, &x), 0);
	out = upstream_bytes(g, ret_len);
	pthread_join(t, NULL);
	pthread_join(g->t, NULL);
	close(g->client[0]);
	close(g->upstream[0]);
	return out;
}

static const struct {
	const char *in, *out, *refused;
	unsigned requests;
} framing[] = {
    /* a body by its length, then the next head is found after it */
    {"POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\n"
     "Host: a.example\r\n\r\n",
     "POST /a HTTP/1.1\r\nX-Head: 1\r\n\r\nhelloGET /b HTTP/1.1\r\nX-Head: 2\r\n\r\n", NULL, 2},
    /* a body that looks like a request is a body */
    {"POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: 36\r\n\r\nGET /x HTTP/1.1\r\n"
     "Host: b.example\r\n\r\n",
     "POST /a HTTP/1.1\r\nX-Head: 1\r\n\r\nGET /x HTTP/1.1\r\nHost: b.example\r\n\r\n", NULL, 1},
    /* chunked, then the next head */
    {"POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
     "A\r\n0123456789\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: a.example\r\n\r\n",
     "POST /a HTTP/1.1\r\nX-Head: 1\r\n\r\n5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n"
     "GET /b HTTP/1.1\r\nX-Head: 2\r\n\r\n",
     NULL, 2},
    /* a request naming another host after an honest one: cut there */
    {"GET /a HTTP/1.1\r\nHost: a.example\r\n\r\nGET /b HTTP/1.1\r\nHost: b.example\r\n\r\n",
     "GET /a HTTP/1.1\r\nX-Head: 1\r\n\r\n", "Host header names another host than the connection's",
     1},
    /* smuggling inside the tunnel */
    {"POST /a HTTP/1.1\r\nHost: a.example\r\nContent-Length: 4\r\nTransfer-Encoding: "
     "chunked\r\n\r\n",
     "", "both Content-Length and Transfer-Encoding", 0},
    {"POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\n",
     "POST /a HTTP/1.1\r\nX-Head: 1\r\n\r\n", "chunk extension", 1},
    {"POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: "
     "1\r\n\r\n",
     "POST /a HTTP/1.1\r\nX-Head: 1\r\n\r\n0\r\n", "trailer fields", 1},
    {"POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX",
     "POST /a HTTP/1.1\r\nX-Head: 1\r\n\r\n5\r\nhello", "chunk data not followed by CRLF", 1},
    {"POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n"
     "11111111111111111\r\n",
     "POST /a HTTP/1.1\r\nX-Head: 1\r\n\r\n", "chunk size too large", 1},
    {"POST /a HTTP/1.1\r\nHost: a.example\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello",
     "POST /a HTTP/1.1\r\nX-Head: 1\r\n\r\n", "bare CR in chunk size line", 1},
    {"GET /a HTTP/1.1\r\nHost: a.example\r\n X-Folded: 1\r\n\r\n", "", "obsolete line folding", 0},
};

START_TEST(requests_are_framed_and_checked)
{
	struct rig g;
	size_t len;
	char *out;

	rig_start(&g, true, 0);
	out = through(&g, framing[_i].in, strlen(framing[_i].in), &len);
	ck_assert_str_eq(out, framing[_i].out);
	ck_assert_uint_eq(g.r.requests, framing[_i].requests);
	if (framing[_i].refused)
		ck_assert_str_eq(g.r.refused ? g.r.refused : "(none)", framing[_i].refused);
	else
		ck_assert_ptr_null(g.r.refused);
	free(out);
}
END_TEST

START_TEST(an_opaque_tunnel_passes_bytes_as_they_are)
{
	static const char junk[] = "\x16\x03\x01 not HTTP at all\r\n\r\nGET / HTTP/1.0\n\n";
	struct rig g;
	size_t len;
	char *out;

	rig_start(&g, false, 0);
	out = through(&g, junk, sizeof(junk) - 1, &len);
	ck_assert_uint_eq(len, sizeof(junk) - 1);
	ck_assert_mem_eq(out, junk, len);
	ck_assert_ptr_null(g.r.refused);
	free(out);
}
END_TEST

START_TEST(the_byte_cap_cuts_the_connection)
{
	size_t n = (size_t)4 << 20, len;
	char *big = malloc(n), *out;
	struct rig g;

	memset(big, 'x', n);
	rig_start(&g, false, (uint64_t)1 << 20);
	out = through(&g, big, n, &len);
	ck_assert_str_eq(g.r.refused ? g.r.refused : "(none)", "byte cap reached");
	ck_assert_uint_lt(len, ((size_t)1 << 20) + AL_RELAY_BUF + 1);
	free(out);
	free(big);
}
END_TEST

static Suite *
relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *c = tcase_create("conf"), *r = tcase_create("relay");

	tcase_add_checked_fixture(c, setup, teardown);
	tcase_add_test(c, a_full_configuration_parses);
	tcase_add_loop_test(c, bad_secrets_are_refused_without_their_value, 0,
			    (int)AL_ARRAY_SIZE(bad_secrets));
	tcase_add_test(c, test_keys_need_the_environment_and_test_names);
	suite_add_tcase(s, c);
	tcase_set_timeout(r, 30);
	tcase_add_loop_test(r, requests_are_framed_and_checked, 0, (int)AL_ARRAY_SIZE(framing));
	tcase_add_test(r, an_opaque_tunnel_passes_bytes_as_they_are);
	tcase_add_test(r, the_byte_cap_cuts_the_connection);
	suite_add_tcase(s, r);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(relay_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
