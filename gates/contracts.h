/* The policy's reproduce and contract sections, for the key table in gates/policy.c. */
#pragma once

#include <jansson.h>

#include "lib/err.h"

/* A command: a non-empty argv array of strings, copied into *ret. */
int al_contracts_parse_command(const json_t *v, const char *path, json_t **ret, struct al_err *err);
/* "reproduce": {"command", "repeat", "report"}; ctx is the struct al_policy being filled. */
int al_contracts_parse_reproduce(void *ctx, const json_t *v, const char *path, struct al_err *err);
/* "contract": [{"name", "command", "report", "judge"}, ...], names unique; ctx as above. */
int al_contracts_parse(void *ctx, const json_t *v, const char *path, struct al_err *err);
