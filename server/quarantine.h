/* Automatic quarantine (server/quarantine.c): a token whose jobs behave like an attack
 * (policy limits over a window) is quarantined by name: its new proposals get 403
 * "quarantined: REASON", its queued ones wait, until an admin releases it. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "gates/quarantine.h"
#include "lib/err.h"

struct al_server;
struct al_policy;
struct al_http_resp;

/* A job of proposal by proposer ended in state: counted against proposer, and proposer
 * quarantined when its window's counts reach the policy's limits.  1 with why in reason
 * when this job tipped it, 0 when not, <0 when the store failed (err). */
int al_quarantine_observe(struct al_server *srv, const struct al_policy *policy,
			  const char *proposer, const char *proposal, const json_t *result,
			  const json_t *verdict, const char *state,
			  char reason[AL_QUARANTINE_REASON_MAX], struct al_err *err);
/* 0 when name is not quarantined; -EPERM with 403 "quarantined: REASON" written when it
 * is; -EIO with 500 written when that cannot be read (fail closed). */
int al_quarantine_refuse(struct al_server *srv, const char *name, struct al_http_resp *resp);
/* An admin (by) lifts name's quarantine, audited and counted; by may not be name itself:
 * -EPERM.  -EALREADY when it is not quarantined, -ENOENT when there is no such name. */
int al_quarantine_release(struct al_server *srv, const char *name, const char *by,
			  struct al_err *err);
/* The quarantined names ([{"name","reason","at","by"}]): every one for reviewers and
 * admins, the caller's own for anyone else; NULL when out of memory or unreadable. */
json_t *al_quarantine_json(struct al_server *srv, const char *name, const char *role);
