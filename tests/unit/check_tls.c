/* egress/ca.c and egress/tls.c: the run's CA and its leaves, and real handshakes of both
 * legs over socketpairs, the peer in a thread. The upstream servers use certificates made
 * here in memory by a test root; nothing leaves the process. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "egress/ca.h"
#include "egress/tls.h"
#include "lib/macros.h"

/* ---- helpers ---- */

static X509 *
pem_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);

	BIO_free(b);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* 0 when leaf chains to the CA in pem and names host. */
static int
verify_leaf(const char *pem, X509 *leaf, const char *host)
{
	X509_STORE *st = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509 *root = pem_cert(pem);
	int ok;

	X509_STORE_add_cert(st, root);
	X509_STORE_CTX_init(ctx, st, leaf, NULL);
	X509_VERIFY_PARAM_set1_host(X509_STORE_CTX_get0_param(ctx), host, 0);
	X509_VERIFY_PARAM_set_purpose(X509_STORE_CTX_get0_param(ctx), X509_PURPOSE_SSL_SERVER);
	ok = X509_verify_cert(ctx) == 1 ? 0 : X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(st);
	X509_free(root);
	return ok;
}

static void
ext_set(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v;
	X509_EXTENSION *e;

	X509V3_set_ctx(&v, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &v, nid, value);
	ck_assert_ptr_nonnull(e);
	X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
}

/* A certificate for name valid from now+from to now+to seconds, signed by issuer (or by
 * itself when issuer is NULL); a CA when ca. */
static X509 *
make_cert(const char *name, X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, long from, long to,
	  int ca)
{
	X509 *x = X509_new();
	char san[300];
	static long serial = 1;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_UTF8,
				   (const unsigned char *)name, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
	X509_gmtime_adj(X509_getm_notBefore(x), from);
	X509_gmtime_adj(X509_getm_notAfter(x), to);
	X509_set_pubkey(x, key);
	if (ca) {
		ext_set(x, issuer ? issuer : x, NID_basic_constraints, "critical,CA:TRUE");
		ext_set(x, issuer ? issuer : x, NID_key_usage, "critical,keyCertSign");
	} else {
		snprintf(san, sizeof(san), "DNS:%s", name);
		ext_set(x, issuer ? issuer : x, NID_subject_alt_name, san);
		ext_set(x, issuer ? issuer : x, NID_ext_key_usage, "serverAuth");
	}
	ck_assert_int_gt(X509_sign(x, issuer ? issuer_key : key, EVP_sha256()), 0);
	return x;
}

static char *
write_pem_file(const char *pem)
{
	char *path = strdup("/tmp/airlock-tls-XXXXXX");
	int fd = mkostemp(path, O_CLOEXEC);
	size_t n = strlen(pem);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, pem, n), (ssize_t)n);
	close(fd);
	return path;
}

static char *
cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;
	char *s;

	PEM_write_bio_X509(b, x);
	n = BIO_get_mem_data(b, &data);
	s = strndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

/* One side of a handshake, run in a thread: the proxy's client leg (al_tls_server_accept)
 * or, with cert set, a plain upstream server. Success trades "ping" for "pong". */
struct peer {
	SSL_CTX *ctx;
	int fd;
	const char *expect;
	int r;
	struct al_err err;
};

static void *
peer_main(void *arg)
{
	struct peer *p = arg;
	SSL *ssl = NULL;
	char buf[4];

	if (p->expect) {
		p->r = al_tls_server_accept(p->ctx, p->fd, p->expect, &ssl, &p->err);
	} else {
		ssl = SSL_new(p->ctx);
		SSL_set_fd(ssl, p->fd);
		p->r = SSL_accept(ssl) == 1 ? 0 : -EPROTO;
	}
	if (p->r == 0 && (SSL_read(ssl, buf, 4) != 4 || memcmp(buf, "ping", 4) != 0 ||
			  SSL_write(ssl, "pong", 4) != 4))
		p->r = -EIO;
	if (ssl)
		SSL_shutdown(ssl);
	SSL_free(ssl);
	ERR_clear_error();
	close(p->fd);
	return NULL;
}

static void
peer_start(struct peer *p, pthread_t *t, int *client_fd)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	p->fd = sv[0];
	*client_fd = sv[1];
	ck_assert_int_eq(pthread_create(t, NULL, peer_main, p), 0);
}

/* The client's side after its handshake: 0 when "ping" got "pong". */
static int
exchange(SSL *ssl)
{
	char buf[4];

	if (SSL_write(ssl, "ping", 4) != 4 || SSL_read(ssl, buf, 4) != 4)
		return -EIO;
	return memcmp(buf, "pong", 4) == 0 ? 0 : -EIO;
}

struct proxy {
	struct al_ca *ca;
	SSL_CTX *server;
	SSL_CTX *client;
	char *ca_file;
};

static void
proxy_up(struct proxy *px)
{
	struct al_err err = {0};

	ck_assert_msg(al_ca_new("run-1", NULL, 0, &px->ca, &err) == 0, "%s", err.msg);
	ck_assert_msg(al_tls_server_ctx_new(px->ca, &px->server, &err) == 0, "%s", err.msg);
	px->ca_file = write_pem_file(al_ca_pem(px->ca));
	ck_assert_msg(al_tls_client_ctx_new(px->ca_file, &px->client, &err) == 0, "%s", err.msg);
}

static void
proxy_down(struct proxy *px)
{
	SSL_CTX_free(px->client);
	SSL_CTX_free(px->server);
	al_ca_free(px->ca);
	unlink(px->ca_file);
	free(px->ca_file);
}

/* ---- the CA ---- */

START_TEST(leaf_verifies_against_ca_pem)
{
	_cleanup_(al_ca_freep) struct al_ca *ca = NULL;
	struct al_err err = {0};
	X509 *leaf, *again, *ca_cert;
	EVP_PKEY *key, *key2;
	GENERAL_NAMES *san;
	const GENERAL_NAME *gn;

	ck_assert_int_eq(al_ca_new("run-1", NULL, 0, &ca, &err), 0);
	ck_assert_msg(al_ca_leaf(ca, "a.example.test", &leaf, &key, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(verify_leaf(al_ca_pem(ca), leaf, "a.example.test"), 0);
	/* The name is exact: the same leaf is no good for another host. */
	ck_assert_int_eq(verify_leaf(al_ca_pem(ca), leaf, "b.example.test"),
			 X509_V_ERR_HOSTNAME_MISMATCH);
	san = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
	ck_assert_int_eq(sk_GENERAL_NAME_num(san), 1);
	gn = sk_GENERAL_NAME_value(san, 0);
	ck_assert_int_eq(gn->type, GEN_DNS);
	ck_assert_str_eq((const char *)ASN1_STRING_get0_data(gn->d.dNSName), "a.example.test");
	GENERAL_NAMES_free(san);
	ck_assert(X509_get_extended_key_usage(leaf) & XKU_SSL_SERVER);
	ck_assert_int_eq(X509_check_ca(leaf), 0);
	ca_cert = al_ca_cert(ca);
	ck_assert_int_ge(ASN1_TIME_compare(X509_get0_notBefore(leaf), X509_get0_notBefore(ca_cert)),
			 0);
	ck_assert_int_le(ASN1_TIME_compare(X509_get0_notAfter(leaf), X509_get0_notAfter(ca_cert)),
			 0);
	/* Cached: the second request is given the same certificate. */
	ck_assert_int_eq(al_ca_leaf(ca, "a.example.test", &again, &key2, &err), 0);
	ck_assert_ptr_eq(again, leaf);
	X509_free(again);
	EVP_PKEY_free(key2);
	X509_free(leaf);
	EVP_PKEY_free(key);
}
END_TEST

/* The cache is bounded: past AL_CA_CACHE hosts the oldest leaf is dropped and made
 * afresh when asked for again. Leaves never carry the CA's own key. */
START_TEST(leaf_cache_is_bounded)
{
	_cleanup_(al_ca_freep) struct al_ca *ca = NULL;
	struct al_err err = {0};
	X509 *first, *x, *again;
	EVP_PKEY *key;
	char host[32];

	ck_assert_int_eq(al_ca_new("run-1", NULL, 0, &ca, &err), 0);
	ck_assert_int_eq(al_ca_leaf(ca, "h0.test", &first, &key, &err), 0);
	ck_assert_int_ne(EVP_PKEY_eq(key, X509_get0_pubkey(al_ca_cert(ca))), 1);
	EVP_PKEY_free(key);
	for (int i = 1; i <= AL_CA_CACHE; i++) {
		snprintf(host, sizeof(host), "h%d.test", i);
		ck_assert_int_eq(al_ca_leaf(ca, host, &x, &key, &err), 0);
		X509_free(x);
		EVP_PKEY_free(key);
	}
	ck_assert_int_eq(al_ca_leaf(ca, "h0.test", &again, &key, &err), 0);
	ck_assert_ptr_ne(again, first);
	ck_assert_int_eq(verify_leaf(al_ca_pem(ca), again, "h0.test"), 0);
	ck_assert_int_eq(verify_leaf(al_ca_pem(ca), first, "h0.test"), 0);
	X509_free(again);
	X509_free(first);
	EVP_PKEY_free(key);
}
END_TEST

/* Several connections ask for leaves at once while the cache turns over: each caller's
 * reference stays valid after its slot is reused. */
static void *
leaf_worker(void *arg)
{
	struct al_ca *ca = arg;
	struct al_err err = {0};
	X509 *x;
	EVP_PKEY *key;
	char host[32];
	long bad = 0;

	for (int i = 0; i < 2 * AL_CA_CACHE; i++) {
		snprintf(host, sizeof(host), "w%d.test", (i * 7) % (AL_CA_CACHE + 40));
		if (al_ca_leaf(ca, host, &x, &key, &err) < 0) {
			bad++;
			continue;
		}
		if (X509_check_host(x, host, 0, 0, NULL) != 1)
			bad++;
		X509_free(x);
		EVP_PKEY_free(key);
	}
	return (void *)bad;
}

START_TEST(leaves_from_several_threads)
{
	_cleanup_(al_ca_freep) struct al_ca *ca = NULL;
	struct al_err err = {0};
	pthread_t t[4];
	void *bad;

	ck_assert_int_eq(al_ca_new("run-1", NULL, 0, &ca, &err), 0);
	for (size_t i = 0; i < AL_ARRAY_SIZE(t); i++)
		ck_assert_int_eq(pthread_create(&t[i], NULL, leaf_worker, ca), 0);
	for (size_t i = 0; i < AL_ARRAY_SIZE(t); i++) {
		pthread_join(t[i], &bad);
		ck_assert_ptr_null(bad);
	}
}
END_TEST

static int
ext_critical(X509 *x, int nid)
{
	int i = X509_get_ext_by_NID(x, nid, -1);

	ck_assert_int_ge(i, 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

START_TEST(ca_pem_is_a_certificate_only)
{
	_cleanup_(al_ca_freep) struct al_ca *ca = NULL;
	struct al_err err = {0};
	const char *pem, *end;
	X509 *x;
	ASN1_TIME *soon = NULL;
	time_t now = time(NULL);

	ck_assert_int_eq(al_ca_new("run-1", NULL, 0, &ca, &err), 0);
	pem = al_ca_pem(ca);
	ck_assert_ptr_null(strstr(pem, "PRIVATE"));
	ck_assert(strncmp(pem, "-----BEGIN CERTIFICATE-----\n", 28) == 0);
	end = strstr(pem, "-----END CERTIFICATE-----\n");
	ck_assert_ptr_nonnull(end);
	ck_assert_str_eq(end, "-----END CERTIFICATE-----\n"); /* nothing after it */
	ck_assert_ptr_eq(strstr(pem + 1, "-----BEGIN"), NULL);
	x = pem_cert(pem);
	ck_assert_int_eq(X509_cmp(x, al_ca_cert(ca)), 0);
	ck_assert_int_eq(X509_check_ca(x), 1);
	ck_assert_int_eq(X509_get_pathlen(x), 0);
	ck_assert(X509_get_key_usage(x) & KU_KEY_CERT_SIGN);
	ck_assert_int_eq(ext_critical(x, NID_basic_constraints), 1);
	ck_assert_int_eq(ext_critical(x, NID_key_usage), 1);
	/* A day or so, not years; started an hour ago for clocks that lag. */
	ck_assert_int_lt(X509_cmp_time(X509_get0_notBefore(x), &now), 0);
	soon = X509_time_adj_ex(NULL, 1, 60, &now);
	ck_assert_int_lt(ASN1_TIME_compare(X509_get0_notAfter(x), soon), 0);
	ASN1_TIME_free(soon);
	ck_assert_int_eq(X509_check_issued(x, x), X509_V_OK);
	X509_free(x);
}
END_TEST

static const char *const bad_hosts[] = {
    "127.0.0.1",
    "*.example.test",
    "",
    "a..b",
    "0x7f.1",
    "2130706433",
    "::1",
    "[::1]",
    "a.test.",
    ".a.test",
    "-a.test",
    "a-.test",
    "A.test",
    "a_b.test",
    "a b.test",
    "a.*.test",
    "xn--\xc3\xa9.test",
    "1.2.3.4.5",
    /* a 64-character label, and 255 characters in all */
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.test",
};

START_TEST(no_leaf_for_what_is_not_a_dns_name)
{
	_cleanup_(al_ca_freep) struct al_ca *ca = NULL;
	struct al_err err = {0};
	X509 *leaf = NULL;
	EVP_PKEY *key = NULL;

	ck_assert_int_eq(al_ca_new("run-1", NULL, 0, &ca, &err), 0);
	ck_assert_int_eq(al_ca_leaf(ca, bad_hosts[_i], &leaf, &key, &err), -EINVAL);
	ck_assert_ptr_null(leaf);
	ck_assert_ptr_null(key);
	ck_assert_ptr_nonnull(strstr(err.msg, "not a DNS name"));
}
END_TEST

START_TEST(good_names_and_limits)
{
	char longest[AL_CA_HOST_MAX + 1];

	ck_assert_int_eq(al_ca_host_check("pypi.org"), 0);
	ck_assert_int_eq(al_ca_host_check("files.pythonhosted.org"), 0);
	ck_assert_int_eq(al_ca_host_check("a-1.b2.example"), 0);
	ck_assert_int_eq(al_ca_host_check("localhost"), 0);
	ck_assert_int_eq(al_ca_host_check(NULL), -EINVAL);
	/* four labels of 63, 63, 63 and 61 characters: 253 in all */
	memset(longest, 'a', sizeof(longest));
	longest[63] = longest[127] = longest[191] = '.';
	longest[AL_CA_HOST_MAX] = '\0';
	ck_assert_int_eq(al_ca_host_check(longest), 0);
}
END_TEST

/* With permitted names the CA can mint only those, and says so in its constraints, so a
 * stolen copy of it could not vouch for any other host. */
START_TEST(name_constraints_limit_the_ca)
{
	static const char *const permit[] = {"a.test", "*.pkg.test"};
	_cleanup_(al_ca_freep) struct al_ca *ca = NULL;
	struct al_err err = {0};
	X509 *leaf = NULL;
	EVP_PKEY *key = NULL;
	static const char *const bad_permit[] = {"a.test", "127.0.0.1"};
	struct al_ca *bad = NULL;

	ck_assert_int_eq(al_ca_new("run-2", permit, 2, &ca, &err), 0);
	ck_assert_int_eq(ext_critical(al_ca_cert(ca), NID_name_constraints), 1);
	ck_assert_msg(al_ca_leaf(ca, "x.pkg.test", &leaf, &key, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(verify_leaf(al_ca_pem(ca), leaf, "x.pkg.test"), 0);
	X509_free(leaf);
	EVP_PKEY_free(key);
	ck_assert_int_eq(al_ca_leaf(ca, "a.test", &leaf, &key, &err), 0);
	ck_assert_int_eq(verify_leaf(al_ca_pem(ca), leaf, "a.test"), 0);
	X509_free(leaf);
	EVP_PKEY_free(key);
	leaf = NULL;
	ck_assert_int_eq(al_ca_leaf(ca, "pkg.test", &leaf, &key, &err), -EPERM);
	ck_assert_int_eq(al_ca_leaf(ca, "b.test", &leaf, &key, &err), -EPERM);
	ck_assert_int_eq(al_ca_leaf(ca, "xa.test", &leaf, &key, &err), -EPERM);
	ck_assert_ptr_null(leaf);
	ck_assert_int_eq(al_ca_new("run-3", bad_permit, 2, &bad, &err), -EINVAL);
	ck_assert_ptr_null(bad);
	ck_assert_int_eq(al_ca_new("run 3", NULL, 0, &bad, &err), -EINVAL);
}
END_TEST

/* ---- the client leg ---- */

START_TEST(client_leg_handshake_with_expected_sni)
{
	struct proxy px;
	struct peer p = {.expect = "a.test"};
	pthread_t t;
	int fd;
	SSL *ssl = NULL;
	struct al_err err = {0};
	const unsigned char *alpn;
	unsigned int alpn_len;

	proxy_up(&px);
	p.ctx = px.server;
	peer_start(&p, &t, &fd);
	ck_assert_msg(al_tls_client_connect(px.client, fd, "a.test", &ssl, &err) == 0, "%s",
		      err.msg);
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	ck_assert_int_eq(alpn_len, 8);
	ck_assert(memcmp(alpn, "http/1.1", 8) == 0);
	ck_assert_int_ge(SSL_version(ssl), TLS1_2_VERSION);
	ck_assert_int_eq(exchange(ssl), 0);
	SSL_free(ssl);
	close(fd);
	pthread_join(t, NULL);
	ck_assert_msg(p.r == 0, "%s", p.err.msg);
	proxy_down(&px);
}
END_TEST

/* The client leg's refusals: how the client behaves, and the reason the proxy gives. */
enum leg_case { SNI_OTHER, SNI_NONE, ALPN_H2_ONLY, TLS_1_1, SNI_UPPER, ALPN_BOTH };

static const struct {
	enum leg_case c;
	const char *reason; /* NULL: accepted */
} leg_cases[] = {
    {SNI_OTHER, "SNI differs from the CONNECT host"},
    {SNI_NONE, "client sent no SNI"},
    {ALPN_H2_ONLY, "ALPN without http/1.1"},
    {TLS_1_1, "unsupported protocol"},
    {SNI_UPPER, NULL},
    {ALPN_BOTH, NULL},
};

static SSL *
leg_client(struct proxy *px, enum leg_case c)
{
	SSL *ssl = NULL;
	struct al_err err = {0};

	switch (c) {
	case SNI_OTHER:
		ck_assert_int_eq(al_tls_client_ssl(px->client, "b.test", &ssl, &err), 0);
		break;
	case SNI_NONE:
		ssl = SSL_new(px->client); /* no SNI; the certificate is still checked */
		SSL_set1_host(ssl, "a.test");
		break;
	case SNI_UPPER:
		ssl = SSL_new(px->client);
		SSL_set_tlsext_host_name(ssl, "A.Test");
		SSL_set1_host(ssl, "a.test");
		break;
	default:
		ck_assert_int_eq(al_tls_client_ssl(px->client, "a.test", &ssl, &err), 0);
	}
	if (c == ALPN_H2_ONLY)
		SSL_set_alpn_protos(ssl, (const unsigned char *)"\x02h2", 3);
	if (c == ALPN_BOTH)
		SSL_set_alpn_protos(ssl, (const unsigned char *)"\x02h2\x08http/1.1", 12);
	if (c == TLS_1_1) {
		SSL_set_security_level(ssl, 0);
		SSL_set_min_proto_version(ssl, TLS1_VERSION);
		SSL_set_max_proto_version(ssl, TLS1_1_VERSION);
	}
	return ssl;
}

START_TEST(client_leg_refusals)
{
	struct proxy px;
	struct peer p = {.expect = "a.test"};
	pthread_t t;
	int fd, ok;
	SSL *ssl;

	proxy_up(&px);
	p.ctx = px.server;
	peer_start(&p, &t, &fd);
	ssl = leg_client(&px, leg_cases[_i].c);
	SSL_set_fd(ssl, fd);
	ok = SSL_connect(ssl) == 1 && exchange(ssl) == 0;
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	pthread_join(t, NULL);
	if (!leg_cases[_i].reason) {
		ck_assert_msg(ok && p.r == 0, "%s", p.err.msg);
	} else {
		ck_assert(!ok);
		ck_assert_int_eq(p.r, -EPROTO);
		ck_assert_msg(strstr(p.err.msg, leg_cases[_i].reason), "%s", p.err.msg);
	}
	proxy_down(&px);
}
END_TEST

START_TEST(client_leg_expects_a_dns_name)
{
	struct proxy px;
	SSL *ssl = NULL;
	struct al_err err = {0};

	proxy_up(&px);
	ck_assert_int_eq(al_tls_server_ssl(px.server, "127.0.0.1", &ssl, &err), -EINVAL);
	ck_assert_int_eq(al_tls_client_ssl(px.client, "10.0.0.1", &ssl, &err), -EINVAL);
	ck_assert_ptr_null(ssl);
	proxy_down(&px);
}
END_TEST

/* ---- the upstream leg ---- */

enum up_case { UP_OK, UP_OTHER_NAME, UP_SELF_SIGNED, UP_EXPIRED, UP_OTHER_ROOT };

static const struct {
	enum up_case c;
	const char *reason; /* NULL: accepted */
} up_cases[] = {
    {UP_OK, NULL},
    {UP_OTHER_NAME, "hostname mismatch"},
    {UP_SELF_SIGNED, "self-signed certificate"},
    {UP_EXPIRED, "certificate has expired"},
    {UP_OTHER_ROOT, "unable to get local issuer certificate"},
};

/* The upstream server's certificate for the case, from root (or not). */
static X509 *
up_cert(enum up_case c, X509 *root, EVP_PKEY *root_key, EVP_PKEY *key)
{
	EVP_PKEY *other_key;
	X509 *other, *x;

	switch (c) {
	case UP_OTHER_NAME:
		return make_cert("other.test", root, root_key, key, -60, 3600, 0);
	case UP_SELF_SIGNED:
		return make_cert("up.test", NULL, NULL, key, -60, 3600, 0);
	case UP_EXPIRED:
		return make_cert("up.test", root, root_key, key, -7200, -3600, 0);
	case UP_OTHER_ROOT:
		other_key = EVP_EC_gen("P-256");
		other = make_cert("other root", NULL, NULL, other_key, -60, 3600, 1);
		x = make_cert("up.test", other, other_key, key, -60, 3600, 0);
		X509_free(other);
		EVP_PKEY_free(other_key);
		return x;
	default:
		return make_cert("up.test", root, root_key, key, -60, 3600, 0);
	}
}

START_TEST(upstream_leg_verifies)
{
	EVP_PKEY *root_key = EVP_EC_gen("P-256"), *key = EVP_EC_gen("P-256");
	X509 *root = make_cert("test root", NULL, NULL, root_key, -60, 3600, 1);
	X509 *cert = up_cert(up_cases[_i].c, root, root_key, key);
	_cleanup_free_ char *pem = cert_pem(root);
	_cleanup_free_ char *ca_file = write_pem_file(pem);
	struct peer p = {0};
	struct al_err err = {0};
	SSL_CTX *client = NULL;
	SSL *ssl = NULL;
	pthread_t t;
	int fd, r;

	p.ctx = SSL_CTX_new(TLS_server_method());
	ck_assert_int_eq(SSL_CTX_use_certificate(p.ctx, cert), 1);
	ck_assert_int_eq(SSL_CTX_use_PrivateKey(p.ctx, key), 1);
	ck_assert_int_eq(al_tls_client_ctx_new(ca_file, &client, &err), 0);
	peer_start(&p, &t, &fd);
	r = al_tls_client_connect(client, fd, "up.test", &ssl, &err);
	if (r == 0)
		r = exchange(ssl);
	SSL_free(ssl);
	close(fd);
	pthread_join(t, NULL);
	if (!up_cases[_i].reason) {
		ck_assert_msg(r == 0, "%s", err.msg);
		ck_assert_int_eq(p.r, 0);
	} else {
		ck_assert_int_eq(r, -EPERM);
		ck_assert_ptr_null(ssl);
		ck_assert_msg(strstr(err.msg, up_cases[_i].reason), "%s", err.msg);
		ck_assert_int_ne(p.r, 0);
	}
	SSL_CTX_free(client);
	SSL_CTX_free(p.ctx);
	unlink(ca_file);
	X509_free(cert);
	X509_free(root);
	EVP_PKEY_free(key);
	EVP_PKEY_free(root_key);
}
END_TEST

START_TEST(upstream_ca_file_must_load)
{
	SSL_CTX *client = NULL;
	struct al_err err = {0};

	ck_assert_int_eq(al_tls_client_ctx_new("/nonexistent/ca.pem", &client, &err), -EIO);
	ck_assert_ptr_null(client);
	ck_assert_ptr_nonnull(strstr(err.msg, "upstream CA file"));
}
END_TEST

/* ---- timings, printed for the benchmarks (not asserted) ---- */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

#define ROUNDS 7

START_TEST(timings)
{
	double ca_us[ROUNDS], leaf_us[ROUNDS], t0;
	struct al_ca *ca = NULL;
	struct al_err err = {0};
	X509 *leaf;
	EVP_PKEY *key;
	char host[32];

	for (int i = 0; i < ROUNDS; i++) {
		t0 = now_us();
		ck_assert_int_eq(al_ca_new("bench", NULL, 0, &ca, &err), 0);
		ca_us[i] = now_us() - t0;
		snprintf(host, sizeof(host), "h%d.bench.test", i);
		t0 = now_us();
		ck_assert_int_eq(al_ca_leaf(ca, host, &leaf, &key, &err), 0);
		leaf_us[i] = now_us() - t0;
		X509_free(leaf);
		EVP_PKEY_free(key);
		al_ca_free(ca);
	}
	qsort(ca_us, ROUNDS, sizeof(double), cmp_double);
	qsort(leaf_us, ROUNDS, sizeof(double), cmp_double);
	printf("tls: median of %d: make CA %.0f us, issue leaf %.0f us\n", ROUNDS,
	       ca_us[ROUNDS / 2], leaf_us[ROUNDS / 2]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("tls");
	TCase *t = tcase_create("tls");
	SRunner *sr;
	int failed;

	signal(SIGPIPE, SIG_IGN);
	/* leaves_from_several_threads makes 2,048 keys: under the sanitizers on a loaded
	 * two-core machine that took over 20 s */
	tcase_set_timeout(t, 120);
	tcase_add_test(t, leaf_verifies_against_ca_pem);
	tcase_add_test(t, ca_pem_is_a_certificate_only);
	tcase_add_test(t, leaf_cache_is_bounded);
	tcase_add_test(t, leaves_from_several_threads);
	tcase_add_loop_test(t, no_leaf_for_what_is_not_a_dns_name, 0,
			    (int)AL_ARRAY_SIZE(bad_hosts));
	tcase_add_test(t, good_names_and_limits);
	tcase_add_test(t, name_constraints_limit_the_ca);
	tcase_add_test(t, client_leg_handshake_with_expected_sni);
	tcase_add_loop_test(t, client_leg_refusals, 0, (int)AL_ARRAY_SIZE(leg_cases));
	tcase_add_test(t, client_leg_expects_a_dns_name);
	tcase_add_loop_test(t, upstream_leg_verifies, 0, (int)AL_ARRAY_SIZE(up_cases));
	tcase_add_test(t, upstream_ca_file_must_load);
	tcase_add_test(t, timings);
	suite_add_tcase(s, t);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
