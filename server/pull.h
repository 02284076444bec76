/* A pull request fetched and diffed in a confined child (server/pull.c). */
#pragma once

#include <jansson.h>
#include <stddef.h>

#include "lib/err.h"

/* How long the child may take: a fetch of a large repository included. */
#define AL_PULL_TIMEOUT_S 600

/* Runs `self_exe runner --pull-request` with request (runner/pull.c has its fields) and
 * returns its answer, an object of at most cap bytes: the fetched commits and the files,
 * or the stage that failed and why. A negative errno when there is no answer. */
int al_pull_fetch(const char *self_exe, const json_t *request, size_t cap, json_t **ret,
		  struct al_err *err);
