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
 *
 * These files do no I/O: they decide, the proxy acts. */
#pragma once
