/* The egress proxy's TLS legs (see tls.h). */
#include "tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static const unsigned char alpn_h1[] = "\x08http/1.1";

/* What the client leg knows about one connection, kept in the SSL's ex_data. */
struct conn {
	char expect[AL_CA_HOST_MAX + 1];
	char reason[AL_ERR_MSG_MAX];
};

static int conn_idx = -1;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void
conn_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	free(ptr);
}

static void
conn_idx_init(void)
{
	conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, conn_free);
}

static int
refuse(SSL *ssl, struct conn *c, int *alert, int code, const char *reason)
{
	(void)ssl;
	snprintf(c->reason, sizeof(c->reason), "%s", reason);
	*alert = code;
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static int
servername_cb(SSL *ssl, int *alert, void *arg)
{
	struct al_ca *ca = arg;
	struct conn *c = conn_idx >= 0 ? SSL_get_ex_data(ssl, conn_idx) : NULL;
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct al_err err = {0};
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	int ok;

	if (!c) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	if (!sni || !sni[0])
		return refuse(ssl, c, alert, SSL_AD_UNRECOGNIZED_NAME, "client sent no SNI");
	if (strcasecmp(sni, c->expect) != 0)
		return refuse(ssl, c, alert, SSL_AD_UNRECOGNIZED_NAME,
			      "SNI differs from the CONNECT host");
	if (al_ca_leaf(ca, c->expect, &cert, &key, &err) < 0)
		return refuse(ssl, c, alert, SSL_AD_INTERNAL_ERROR, err.msg);
	ok = SSL_use_certificate(ssl, cert) == 1 && SSL_use_PrivateKey(ssl, key) == 1;
	X509_free(cert);
	EVP_PKEY_free(key);
	if (!ok)
		return refuse(ssl, c, alert, SSL_AD_INTERNAL_ERROR, "leaf not usable");
	return SSL_TLSEXT_ERR_OK;
}

static int
alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
	unsigned int inlen, void *arg)
{
	struct conn *c = conn_idx >= 0 ? SSL_get_ex_data(ssl, conn_idx) : NULL;
	unsigned char *sel = NULL;

	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, alpn_h1, sizeof(alpn_h1) - 1, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED) {
		if (c)
			snprintf(c->reason, sizeof(c->reason),
				 "client offered ALPN without http/1.1");
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* Both legs prefer AES-128-GCM: as strong as a run needs, and the proxy decrypts and
 * encrypts every byte twice, so its cipher is most of its CPU on a download. */
#define TLS13_SUITES "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"

/* No resumption: every handshake goes through the SNI check. */
static int
server_ctx_setup(SSL_CTX *ctx, struct al_ca *ca)
{
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
				     SSL_OP_NO_COMPRESSION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
	SSL_CTX_set_tlsext_servername_arg(ctx, ca);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	       SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) == 1 &&
	       SSL_CTX_set_num_tickets(ctx, 0) == 1;
}

int
al_tls_server_ctx_new(struct al_ca *ca, SSL_CTX **ret, struct al_err *err)
{
	SSL_CTX *ctx;

	pthread_once(&conn_once, conn_idx_init);
	if (conn_idx < 0)
		return al_ossl_err(err, -ENOMEM, "no SSL ex_data index");
	ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx)
		return al_ossl_err(err, -ENOMEM, "making the client leg's TLS context");
	if (!server_ctx_setup(ctx, ca)) {
		SSL_CTX_free(ctx);
		return al_ossl_err(err, -EIO, "setting up the client leg's TLS context");
	}
	*ret = ctx;
	return 0;
}

int
al_tls_server_ssl(SSL_CTX *ctx, const char *expect, SSL **ret, struct al_err *err)
{
	struct conn *c;
	SSL *ssl;

	if (al_ca_host_check(expect) < 0)
		return al_err_set(err, -EINVAL, "CONNECT host is not a DNS name");
	c = calloc(1, sizeof(*c));
	if (!c)
		return al_err_set(err, -ENOMEM, "out of memory");
	snprintf(c->expect, sizeof(c->expect), "%s", expect);
	ssl = SSL_new(ctx);
	if (!ssl || !SSL_set_ex_data(ssl, conn_idx, c)) {
		free(c);
		SSL_free(ssl);
		return al_ossl_err(err, -ENOMEM, "making a TLS connection");
	}
	*ret = ssl;
	return 0;
}

const char *
al_tls_server_reason(SSL *ssl)
{
	struct conn *c = conn_idx >= 0 ? SSL_get_ex_data(ssl, conn_idx) : NULL;

	return c && c->reason[0] ? c->reason : NULL;
}

int
al_tls_server_accept(SSL_CTX *ctx, int fd, const char *expect, SSL **ret, struct al_err *err)
{
	SSL *ssl = NULL;
	const char *why;
	int r;

	r = al_tls_server_ssl(ctx, expect, &ssl, err);
	if (r < 0)
		return r;
	if (SSL_set_fd(ssl, fd) != 1 || SSL_accept(ssl) != 1) {
		why = al_tls_server_reason(ssl);
		if (why) {
			ERR_clear_error();
			r = al_err_set(err, -EPROTO, "TLS from the sandbox refused: %s", why);
		} else {
			r = al_ossl_err(err, -EPROTO, "TLS from the sandbox failed");
		}
		SSL_free(ssl);
		return r;
	}
	*ret = ssl;
	return 0;
}

int
al_tls_client_ctx_new(const char *ca_file, SSL_CTX **ret, struct al_err *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	int ok;

	if (!ctx)
		return al_ossl_err(err, -ENOMEM, "making the upstream TLS context");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	ok = SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
	     SSL_CTX_set_ciphersuites(ctx, TLS13_SUITES) == 1 &&
	     SSL_CTX_set_alpn_protos(ctx, alpn_h1, sizeof(alpn_h1) - 1) == 0;
	if (ok)
		ok = ca_file ? SSL_CTX_load_verify_file(ctx, ca_file) == 1
			     : SSL_CTX_set_default_verify_paths(ctx) == 1;
	if (!ok) {
		SSL_CTX_free(ctx);
		return al_ossl_err(err, -EIO,
				   ca_file ? "loading the upstream CA file"
					   : "setting up the upstream TLS context");
	}
	*ret = ctx;
	return 0;
}

int
al_tls_client_ssl(SSL_CTX *ctx, const char *host, SSL **ret, struct al_err *err)
{
	SSL *ssl;

	if (al_ca_host_check(host) < 0)
		return al_err_set(err, -EINVAL, "upstream host is not a DNS name");
	ssl = SSL_new(ctx);
	if (!ssl)
		return al_ossl_err(err, -ENOMEM, "making an upstream TLS connection");
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1) {
		SSL_free(ssl);
		return al_ossl_err(err, -EIO, "setting the upstream host name");
	}
	*ret = ssl;
	return 0;
}

int
al_tls_client_connect(SSL_CTX *ctx, int fd, const char *host, SSL **ret, struct al_err *err)
{
	SSL *ssl = NULL;
	long v;
	int r;

	r = al_tls_client_ssl(ctx, host, &ssl, err);
	if (r < 0)
		return r;
	if (SSL_set_fd(ssl, fd) != 1 || SSL_connect(ssl) != 1) {
		v = SSL_get_verify_result(ssl);
		if (v != X509_V_OK) {
			ERR_clear_error();
			r = al_err_set(err, -EPERM, "upstream certificate for %s refused: %s", host,
				       X509_verify_cert_error_string(v));
		} else {
			r = al_ossl_err(err, -EPROTO, "TLS to the upstream failed");
		}
		SSL_free(ssl);
		return r;
	}
	/* Belt and braces: a handshake without a verified peer is never used. */
	if (!SSL_get0_peer_certificate(ssl) || SSL_get_verify_result(ssl) != X509_V_OK) {
		SSL_free(ssl);
		return al_err_set(err, -EPERM, "upstream %s presented no verified certificate",
				  host);
	}
	*ret = ssl;
	return 0;
}
