/* The egress proxy's checks, one header per part; this file is only their map.
 *
 *   request.h  request.c  the HTTP/1.1 request head a proxy receives (CONNECT, absolute
 *                         form) or reads inside a terminated tunnel (origin form with Host),
 *                         refusing every ambiguous or smuggling form, each with a reason
 *   host.h     host.c     host names normalised (case, trailing dot, IDNA) and refused when
 *                         they are IP literals in any spelling; ports; resolved addresses
 *                         classified (loopback, private, link-local, metadata, ...)
 *   rules.h    rules.c    the allowlist: hosts, *.suffix patterns, operator bundles, deny
 *                         rules that win, ports; parsed from JSON and matched
 *   conf.c                the configuration: allowlist, tunnels, secrets (read here), caps,
 *                         test-only overrides (proxy.h)
 *
 * Those do no I/O: they decide; the proxy acts:
 *
 *   proxy.h    serve.c    the process: CA, TLS contexts, the control socket, accepts
 *              proxy.c    one connection: decision, one lookup, connect, TLS legs
 *              check.c    each request inside a connection, and the connection's record
 *   relay.h    relay.c    the bytes both ways, requests framed and checked
 *   ca.h       ca.c       the per-run CA and its leaves
 *   tls.h      tls.c      the client and upstream TLS legs */
#pragma once
