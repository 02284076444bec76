/* The policy's approvals and tiers sections, for the key table and the canonical form in
 * gates/policy.c. */
#pragma once

#include <jansson.h>

#include "gates/internal.h"
#include "lib/err.h"

/* "approvals": {"required", "reviewers"}; ctx is the struct al_policy being filled. */
int al_tiers_parse_approvals(void *ctx, const json_t *v, const char *path, struct al_err *err);
/* "tiers": {"1": tier, "2": tier}, each {"authority", "refs", "lifetime_s"}; ctx as above. */
int al_tiers_parse(void *ctx, const json_t *v, const char *path, struct al_err *err);
/* One tier as the canonical policy spells it; NULL when out of memory. */
json_t *al_tiers_json(const struct al_tier *t);
