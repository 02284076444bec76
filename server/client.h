/* A small HTTP client for the command line (the libcurl adapter). */
#pragma once

#include "lib/err.h"

/* Sends one request; body may be NULL.  The response body is capped at 64 MiB. */
int al_client_request(const char *method, const char *url, const char *token, const char *body,
		      long *ret_status, char **ret_body, struct al_err *err);
