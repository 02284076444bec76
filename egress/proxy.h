/* The egress proxy: a process of its own, outside the sandbox and outside the runner,
 * that serves listeners made inside sandboxes' network namespaces. Each listener arrives
 * over a control socket (SCM_RIGHTS) and is one run, with its own caps; every connection
 * is decided by the allowlist, resolved once, connected to the address that was checked,
 * and (unless the host is an opaque tunnel) terminated with the run CA so that each request
 * inside is checked too and secrets are added only after the upstream is verified. One
 * JSON line per connection records the decision. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "egress/host.h"
#include "egress/rules.h"
#include "lib/err.h"

/* Where the listener is bound inside the sandbox's network namespace. */
#define AL_PROXY_ADDR "127.0.0.1"
#define AL_PROXY_PORT 3128
#define AL_PROXY_CONF_MAX (64u << 10)
#define AL_PROXY_SECRETS_MAX 16
#define AL_PROXY_TUNNELS_MAX 64
#define AL_PROXY_OVERRIDES_MAX 16
#define AL_PROXY_SECRET_VALUE_MAX 4096
#define AL_PROXY_HEADER_NAME_MAX 64
#define AL_PROXY_NAME_MAX 64
/* The environment variable that lets a configuration carry "test" (a resolve override and
 * an upstream CA); without it such a configuration is refused. */
#define AL_PROXY_TEST_ENV "AIRLOCK_EGRESS_TEST"

#define AL_PROXY_DEFAULT_BYTES ((uint64_t)1 << 30)
#define AL_PROXY_DEFAULT_CONNECTIONS 256u
#define AL_PROXY_DEFAULT_SECONDS 600u

struct al_proxy_secret {
	char name[AL_PROXY_NAME_MAX + 1];  /* what records show */
	char host[AL_EGRESS_HOST_MAX + 1]; /* normalised */
	char header[AL_PROXY_HEADER_NAME_MAX + 1];
	char *value; /* owned: the header's whole value, formatted; lives only in the proxy */
	size_t value_len;
};

struct al_proxy_override {
	char host[AL_EGRESS_HOST_MAX + 1];
	struct sockaddr_storage addr; /* with the port to connect to (0: the request's) */
	socklen_t addr_len;
	bool answer; /* "hosts": stands in for the resolver's answer and is checked like one;
		      * "resolve": the test upstream itself, not checked */
};

struct al_proxy_conf {
	char run[AL_PROXY_NAME_MAX + 1];
	struct al_egress_rules *rules;
	char tunnels[AL_PROXY_TUNNELS_MAX][AL_EGRESS_HOST_MAX + 1]; /* normalised */
	size_t n_tunnels;
	struct al_proxy_secret secrets[AL_PROXY_SECRETS_MAX];
	size_t n_secrets;
	uint64_t cap_bytes; /* per run, both directions */
	unsigned cap_connections;
	unsigned cap_seconds;
	/* test-only (AL_PROXY_TEST_ENV): names under .test resolved to loopback ports, and
	 * the only CA the upstream leg trusts */
	struct al_proxy_override overrides[AL_PROXY_OVERRIDES_MAX];
	size_t n_overrides;
	char *upstream_ca; /* owned; NULL: the host's default roots */
};

/* Parses the configuration (the policy's egress object, see docs/egress.md) and reads each
 * secret's value file. -EINVAL naming the problem; the secret values never appear in err. */
int al_proxy_conf_parse(const char *text, size_t len, struct al_proxy_conf *ret,
			struct al_err *err);
/* Checks the configuration without reading secret files: what policy validation calls. */
int al_proxy_conf_check(const char *text, size_t len, struct al_err *err);
void al_proxy_conf_clear(struct al_proxy_conf *c);

/* The secret rule for host and header name (case-insensitive), or NULL. */
const struct al_proxy_secret *al_proxy_secret_for(const struct al_proxy_conf *c, const char *host,
						  const char *name, size_t name_len);
/* 1 when host (normalised) is listed as an opaque tunnel. */
int al_proxy_is_tunnel(const struct al_proxy_conf *c, const char *host);

/* Serves until ctl_fd reaches EOF and every connection has ended: writes the run CA's
 * certificate (PEM) as the first message on ctl_fd, then takes listeners from it, each
 * with its run's label as the message. One JSON line per connection goes to out.
 * 0, or -errno when the proxy could not start (err says why). */
int al_proxy_serve(const struct al_proxy_conf *c, int ctl_fd, FILE *out, struct al_err *err);

/* `airlock-core egress-proxy`: the configuration on stdin, the control socket on fd 3,
 * decisions on stdout. */
int al_proxy_main(int argc, char **argv);
