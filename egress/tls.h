/* The two TLS legs of the egress proxy. The client leg (the sandbox's tool talking to the
 * proxy) is served with leaves from the run's CA, chosen by SNI, which must equal the host
 * the client asked to CONNECT to. The upstream leg verifies the real server's chain and
 * name before anything is sent to it. Both legs speak TLS 1.2 or later and HTTP/1.1 only. */
#pragma once

#include <openssl/types.h>

#include "egress/ca.h"
#include "lib/err.h"

/* The client leg's context. ca is borrowed and must outlive the context. */
int al_tls_server_ctx_new(struct al_ca *ca, SSL_CTX **ret, struct al_err *err);

/* A connection of the client leg that accepts only SNI equal to expect (a DNS name,
 * compared without regard to case) and is served the CA's leaf for expect. */
int al_tls_server_ssl(SSL_CTX *ctx, const char *expect, SSL **ret, struct al_err *err);

/* Why the client leg's handshake on ssl was refused, or NULL. Borrowed. */
const char *al_tls_server_reason(SSL *ssl);

/* al_tls_server_ssl and a blocking handshake on fd; on failure err names the reason. */
int al_tls_server_accept(SSL_CTX *ctx, int fd, const char *expect, SSL **ret, struct al_err *err);

/* The upstream leg's context: chains are verified against OpenSSL's default roots, or only
 * against the PEM file ca_file when it is not NULL (tests). */
int al_tls_client_ctx_new(const char *ca_file, SSL_CTX **ret, struct al_err *err);

/* A connection of the upstream leg to host (a DNS name): SNI host, the certificate must
 * name host (no partial wildcards) and chain to a trusted root. */
int al_tls_client_ssl(SSL_CTX *ctx, const char *host, SSL **ret, struct al_err *err);

/* al_tls_client_ssl and a blocking handshake on fd; any verification failure refuses the
 * connection with its reason in err. */
int al_tls_client_connect(SSL_CTX *ctx, int fd, const char *host, SSL **ret, struct al_err *err);
