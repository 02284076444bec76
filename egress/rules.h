/* The egress allowlist: which host names and ports a run may reach. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* Caps on what an operator's rules may hold. */
#define AL_EGRESS_RULES_TEXT_MAX (64u << 10)
#define AL_EGRESS_RULES_PATTERNS_MAX 256
#define AL_EGRESS_RULES_PORTS_MAX 16
#define AL_EGRESS_RULES_BUNDLES_MAX 64
#define AL_EGRESS_BUNDLE_NAME_MAX 64
#define AL_EGRESS_REASON_MAX 384

struct al_egress_rules;

/* {"allow": [...], "deny": [...], "ports": [...], "bundles": {"name": [...]}}, every key
 * optional (no allow: nothing is reachable; no ports: [443]).  A pattern is a host name,
 * "*.suffix" (subdomains of a suffix of two labels or more), or "@bundle".  Unknown keys,
 * bad patterns and unknown bundles are -EINVAL naming the problem. */
int al_egress_rules_parse(const char *text, size_t len, struct al_egress_rules **ret,
			  struct al_err *err);
void al_egress_rules_free(struct al_egress_rules *r);
static inline void
al_egress_rules_freep(struct al_egress_rules **r)
{
	al_egress_rules_free(*r);
}

/* The allow patterns, normalised ("host" or "*.suffix", bundles expanded): the run CA's
 * name constraints: how many there are; *ret is the i-th (borrowed) when i is below. */
size_t al_egress_rules_allowed(const struct al_egress_rules *r, size_t i, const char **ret);

struct al_egress_verdict {
	bool allow;
	/* "allowed by rule X", "denied by rule X", "not listed", "port not allowed", or why
	 * the host itself is refused */
	char reason[AL_EGRESS_REASON_MAX];
};

/* Decides a host (normalised here, so any spelling a request carries) and port.  Deny
 * rules win over allow rules; the port is checked once a rule allows the host. */
void al_egress_rules_match(const struct al_egress_rules *r, const char *host, size_t host_len,
			   uint16_t port, struct al_egress_verdict *ret);
