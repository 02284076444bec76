/* The egress proxy's per-run certificate authority, made in memory: its certificate goes
 * into the sandbox's trust bundle, its private key never leaves this process. It issues
 * one leaf per host name the proxy terminates TLS for. */
#pragma once

#include <stddef.h>

#include <openssl/types.h>

#include "lib/err.h"

#define AL_CA_HOST_MAX 253 /* a DNS name without its trailing dot */
#define AL_CA_RUN_MAX 48   /* the run name in the CA's subject */
#define AL_CA_CACHE 256	   /* leaves kept per run; the oldest goes first */
#define AL_CA_PERMIT_MAX 64
#define AL_CA_LIFETIME (24 * 3600)

struct al_ca;

/* Sets err to what, then OpenSSL's first queued error if any (the queue is cleared);
 * returns code. */
int al_ossl_err(struct al_err *err, int code, const char *what);

/* 0 when host is a DNS name the CA may issue for: lower-case letters, digits and hyphens,
 * labels of 1..63 characters that neither start nor end with a hyphen, at most 253
 * characters, no trailing dot, a last label that does not start with a digit (so no IP
 * literal in any spelling) and no wildcard. -EINVAL otherwise. */
int al_ca_host_check(const char *host);

/* A fresh CA for the run named run (letters, digits, '.', '_', '-'). When n_permit > 0 the
 * CA carries critical name constraints permitting only those names ("host" or
 * "*.suffix") and refuses to issue a leaf for any other; IP names are excluded. */
int al_ca_new(const char *run, const char *const *permit, size_t n_permit, struct al_ca **ret,
	      struct al_err *err);
void al_ca_free(struct al_ca *ca);

/* The CA certificate as PEM, NUL-terminated; borrowed, lives as long as ca. */
const char *al_ca_pem(const struct al_ca *ca);

/* The CA certificate; borrowed. */
X509 *al_ca_cert(const struct al_ca *ca);

/* The leaf for host (al_ca_host_check, and permitted): SAN DNS:host only, EKU serverAuth,
 * valid within the CA's validity. ret_cert and ret_key are new references the caller
 * frees (X509_free, EVP_PKEY_free). Safe to call from several threads. */
int al_ca_leaf(struct al_ca *ca, const char *host, X509 **ret_cert, EVP_PKEY **ret_key,
	       struct al_err *err);

static inline void
al_ca_freep(struct al_ca **ca)
{
	al_ca_free(*ca);
}
