/* Host names and addresses an egress request may name or reach. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* A normalised name: at most 253 bytes of [a-z0-9.-], in labels of 1..63. */
#define AL_EGRESS_HOST_MAX 253
/* The longest name taken in before normalising (U-labels are longer than A-labels). */
#define AL_EGRESS_HOST_INPUT_MAX 1024

/* Lower-case, one trailing dot removed, IDNA (UTS #46, non-transitional) to A-labels, then
 * checked: LDH labels of 1..63, at least two labels, not localhost, and never anything a
 * resolver or a browser would read as an IP address.  0 with the name in ret (size
 * AL_EGRESS_HOST_MAX + 1); -EINVAL with a stable reason. */
int al_egress_host_normalize(const char *in, size_t len, char *ret, const char **ret_reason);

/* The reason name (NUL-terminated, ASCII) reads as an IP address in some form, or NULL. */
const char *al_egress_host_ip_literal(const char *name);

/* A port of 1..65535 written in 1..5 digits, no sign, no leading zero. 0 or -EINVAL. */
int al_egress_port_parse(const char *s, size_t len, uint16_t *ret);

/* Why a resolved address must not be connected to, or NULL when it may. */
const char *al_egress_addr4_refused(const struct in_addr *a);
const char *al_egress_addr6_refused(const struct in6_addr *a);
const char *al_egress_sockaddr_refused(const struct sockaddr *sa, socklen_t len);
