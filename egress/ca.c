/* The per-run CA (see ca.h). One P-256 key signs everything; leaves share a second
 * P-256 key made with the CA, so issuing a leaf costs one signature. */
#include "ca.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/macros.h"

struct leaf {
	char host[AL_CA_HOST_MAX + 1];
	X509 *cert; /* owned; NULL when the slot is free */
};

struct al_ca {
	EVP_PKEY *key;	    /* owned; never exported */
	EVP_PKEY *leaf_key; /* owned; shared by the run's leaves */
	X509 *cert;	    /* owned */
	char *pem;	    /* owned */
	char **permit;	    /* owned: "host" or "*.suffix" */
	size_t n_permit;
	pthread_mutex_t mu; /* guards leaves and next */
	struct leaf leaves[AL_CA_CACHE];
	size_t next;
};

int
al_ossl_err(struct al_err *err, int code, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return al_err_set(err, code, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

static int
label_check(const char *l, size_t n)
{
	if (n == 0 || n > 63 || l[0] == '-' || l[n - 1] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = l[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return -EINVAL;
	}
	return 0;
}

int
al_ca_host_check(const char *host)
{
	const char *l = host, *dot;
	size_t len;

	if (!host)
		return -EINVAL;
	len = strnlen(host, AL_CA_HOST_MAX + 1);
	if (len == 0 || len > AL_CA_HOST_MAX)
		return -EINVAL;
	while ((dot = strchr(l, '.'))) {
		if (label_check(l, (size_t)(dot - l)) < 0)
			return -EINVAL;
		l = dot + 1;
	}
	if (label_check(l, strlen(l)) < 0)
		return -EINVAL;
	/* No top-level name starts with a digit: this refuses 127.0.0.1, 0x7f.1, 2130706433. */
	if (l[0] >= '0' && l[0] <= '9')
		return -EINVAL;
	return 0;
}

static int
permit_check(const char *p)
{
	return al_ca_host_check(strncmp(p, "*.", 2) == 0 ? p + 2 : p);
}

static int
permitted(const struct al_ca *ca, const char *host)
{
	size_t hl = strlen(host);

	if (ca->n_permit == 0)
		return 1;
	for (size_t i = 0; i < ca->n_permit; i++) {
		const char *p = ca->permit[i];
		size_t pl;

		if (strncmp(p, "*.", 2) != 0) {
			if (strcmp(p, host) == 0)
				return 1;
			continue;
		}
		pl = strlen(p + 1); /* ".suffix" */
		if (hl > pl && strcmp(host + hl - pl, p + 1) == 0)
			return 1;
	}
	return 0;
}

static int
serial_set(X509 *x)
{
	unsigned char b[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return 0;
	b[0] &= 0x7f; /* positive */
	b[0] |= 0x40; /* and a full 127 bits, never a short encoding */
	bn = BN_bin2bn(b, sizeof(b), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok;
}

static int
ext_add(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return 0;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int
name_add(X509_NAME *n, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8, (const unsigned char *)value, -1,
					  -1, 0);
}

/* "critical,permitted;DNS:a,permitted;DNS:.b,excluded;IP:..." for the CA. */
static char *
constraints_text(const struct al_ca *ca)
{
	static const char ip_none[] = "excluded;IP:0.0.0.0/0.0.0.0,"
				      "excluded;IP:0:0:0:0:0:0:0:0/0:0:0:0:0:0:0:0";
	size_t cap = sizeof("critical,") + sizeof(ip_none), off;
	char *s;

	for (size_t i = 0; i < ca->n_permit; i++)
		cap += strlen("permitted;DNS:,") + strlen(ca->permit[i]);
	s = malloc(cap);
	if (!s)
		return NULL;
	off = (size_t)snprintf(s, cap, "critical,");
	for (size_t i = 0; i < ca->n_permit; i++) {
		const char *p = ca->permit[i];
		/* A leading dot constrains to names below the suffix, not the suffix itself. */
		off += (size_t)snprintf(s + off, cap - off, "permitted;DNS:%s,",
					strncmp(p, "*.", 2) == 0 ? p + 1 : p);
	}
	snprintf(s + off, cap - off, "%s", ip_none);
	return s;
}

static int
ca_extensions(struct al_ca *ca)
{
	_cleanup_free_ char *nc = NULL;

	if (!ext_add(ca->cert, ca->cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !ext_add(ca->cert, ca->cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !ext_add(ca->cert, ca->cert, NID_subject_key_identifier, "hash"))
		return 0;
	if (ca->n_permit == 0)
		return 1;
	nc = constraints_text(ca);
	return nc && ext_add(ca->cert, ca->cert, NID_name_constraints, nc);
}

static int
ca_cert_make(struct al_ca *ca, const char *run, struct al_err *err)
{
	char cn[64];
	X509_NAME *name;

	ca->cert = X509_new();
	if (!ca->cert)
		return al_err_set(err, -ENOMEM, "out of memory");
	snprintf(cn, sizeof(cn), "airlock egress %s", run);
	name = X509_get_subject_name(ca->cert);
	if (!X509_set_version(ca->cert, 2) || !serial_set(ca->cert) ||
	    !name_add(name, "O", "airlock") || !name_add(name, "CN", cn) ||
	    !X509_set_issuer_name(ca->cert, name) ||
	    !X509_gmtime_adj(X509_getm_notBefore(ca->cert), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(ca->cert), AL_CA_LIFETIME) ||
	    !X509_set_pubkey(ca->cert, ca->key) || !ca_extensions(ca) ||
	    !X509_sign(ca->cert, ca->key, EVP_sha256()))
		return al_ossl_err(err, -EIO, "making the CA certificate failed");
	return 0;
}

static int
pem_make(struct al_ca *ca, struct al_err *err)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data;
	long n;

	if (!b || !PEM_write_bio_X509(b, ca->cert)) {
		BIO_free(b);
		return al_ossl_err(err, -EIO, "writing the CA certificate failed");
	}
	n = BIO_get_mem_data(b, &data);
	ca->pem = n > 0 ? strndup(data, (size_t)n) : NULL;
	BIO_free(b);
	return ca->pem ? 0 : al_err_set(err, -ENOMEM, "out of memory");
}

static int
run_check(const char *run)
{
	size_t n = run ? strnlen(run, AL_CA_RUN_MAX + 1) : 0;

	if (n == 0 || n > AL_CA_RUN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = run[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return -EINVAL;
	}
	return 0;
}

static int
permit_copy(struct al_ca *ca, const char *const *permit, size_t n, struct al_err *err)
{
	if (n > AL_CA_PERMIT_MAX)
		return al_err_set(err, -E2BIG, "more than %d permitted names", AL_CA_PERMIT_MAX);
	ca->permit = calloc(n ? n : 1, sizeof(*ca->permit));
	if (!ca->permit)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (permit_check(permit[i]) < 0)
			return al_err_set(err, -EINVAL, "permitted name \"%.*s\" is not a DNS name",
					  AL_CA_HOST_MAX, permit[i] ? permit[i] : "");
		ca->permit[i] = strdup(permit[i]);
		if (!ca->permit[i])
			return al_err_set(err, -ENOMEM, "out of memory");
		ca->n_permit = i + 1;
	}
	return 0;
}

int
al_ca_new(const char *run, const char *const *permit, size_t n_permit, struct al_ca **ret,
	  struct al_err *err)
{
	_cleanup_(al_ca_freep) struct al_ca *ca = NULL;
	int r;

	if (run_check(run) < 0)
		return al_err_set(err, -EINVAL, "run name must be 1..%d of [A-Za-z0-9._-]",
				  AL_CA_RUN_MAX);
	ca = calloc(1, sizeof(*ca));
	if (!ca)
		return al_err_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&ca->mu, NULL);
	r = permit_copy(ca, permit, n_permit, err);
	if (r < 0)
		return r;
	ca->key = EVP_EC_gen("P-256");
	ca->leaf_key = EVP_EC_gen("P-256");
	if (!ca->key || !ca->leaf_key)
		return al_ossl_err(err, -EIO, "making a P-256 key failed");
	r = ca_cert_make(ca, run, err);
	if (r < 0)
		return r;
	r = pem_make(ca, err);
	if (r < 0)
		return r;
	*ret = steal_pointer(&ca);
	return 0;
}

void
al_ca_free(struct al_ca *ca)
{
	if (!ca)
		return;
	for (size_t i = 0; i < AL_CA_CACHE; i++)
		X509_free(ca->leaves[i].cert);
	for (size_t i = 0; i < ca->n_permit; i++)
		free(ca->permit[i]);
	free(ca->permit);
	free(ca->pem);
	X509_free(ca->cert);
	EVP_PKEY_free(ca->leaf_key);
	EVP_PKEY_free(ca->key); /* clears the private scalar */
	pthread_mutex_destroy(&ca->mu);
	free(ca);
}

const char *
al_ca_pem(const struct al_ca *ca)
{
	return ca->pem;
}

X509 *
al_ca_cert(const struct al_ca *ca)
{
	return ca->cert;
}

static X509 *
leaf_make(struct al_ca *ca, const char *host)
{
	X509 *x = X509_new();
	X509_NAME *name;
	char san[AL_CA_HOST_MAX + 8];

	if (!x)
		return NULL;
	snprintf(san, sizeof(san), "DNS:%s", host);
	name = X509_get_subject_name(x);
	/* A CN holds at most 64 characters; the SAN is what clients check. */
	if (!X509_set_version(x, 2) || !serial_set(x) ||
	    !name_add(name, "CN", strlen(host) <= 64 ? host : "airlock egress leaf") ||
	    !X509_set_issuer_name(x, X509_get_subject_name(ca->cert)) ||
	    !X509_set1_notBefore(x, X509_get0_notBefore(ca->cert)) ||
	    !X509_set1_notAfter(x, X509_get0_notAfter(ca->cert)) ||
	    !X509_set_pubkey(x, ca->leaf_key) ||
	    !ext_add(x, ca->cert, NID_basic_constraints, "critical,CA:FALSE") ||
	    !ext_add(x, ca->cert, NID_key_usage, "critical,digitalSignature") ||
	    !ext_add(x, ca->cert, NID_ext_key_usage, "serverAuth") ||
	    !ext_add(x, ca->cert, NID_subject_alt_name, san) ||
	    !ext_add(x, ca->cert, NID_authority_key_identifier, "keyid:always") ||
	    !X509_sign(x, ca->key, EVP_sha256())) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Under ca->mu: the cached leaf for host, or a new one put in the oldest slot. */
static X509 *
leaf_get_locked(struct al_ca *ca, const char *host)
{
	struct leaf *slot;
	X509 *x;

	for (size_t i = 0; i < AL_CA_CACHE; i++) {
		if (ca->leaves[i].cert && strcmp(ca->leaves[i].host, host) == 0)
			return ca->leaves[i].cert;
	}
	x = leaf_make(ca, host);
	if (!x)
		return NULL;
	slot = &ca->leaves[ca->next];
	ca->next = (ca->next + 1) % AL_CA_CACHE;
	X509_free(slot->cert);
	snprintf(slot->host, sizeof(slot->host), "%s", host);
	slot->cert = x;
	return x;
}

int
al_ca_leaf(struct al_ca *ca, const char *host, X509 **ret_cert, EVP_PKEY **ret_key,
	   struct al_err *err)
{
	X509 *x;

	if (al_ca_host_check(host) < 0)
		return al_err_set(err, -EINVAL, "no certificate for \"%.*s\": not a DNS name",
				  AL_CA_HOST_MAX, host ? host : "");
	if (!permitted(ca, host))
		return al_err_set(err, -EPERM, "no certificate for \"%s\": not a permitted name",
				  host);
	pthread_mutex_lock(&ca->mu);
	x = leaf_get_locked(ca, host);
	if (x)
		X509_up_ref(x);
	pthread_mutex_unlock(&ca->mu);
	if (!x)
		return al_ossl_err(err, -EIO, "making a leaf certificate failed");
	EVP_PKEY_up_ref(ca->leaf_key);
	*ret_cert = x;
	*ret_key = ca->leaf_key;
	return 0;
}
