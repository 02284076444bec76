/* Authentication (server/auth.c): the caller of a request, and the session routes. */
#pragma once

#include <stdbool.h>

#include "server/http.h"

struct al_server;

struct al_caller {
	char *name; /* owned */
	char *role; /* owned */
	bool session;
	char session_hash[65];
	char csrf[65];
	long long expires;
};

void al_auth_caller_clear(struct al_caller *c);
/* 0 and the caller, or an error reply already written.  A bearer token wins over a
 * cookie. */
int al_auth_caller(struct al_server *srv, const struct al_http_req *req, struct al_http_resp *resp,
		   struct al_caller *c);
/* 0 when the caller has role (or is an admin), or a 403 written. */
int al_auth_require_role(const struct al_caller *c, const char *role, struct al_http_resp *resp);
/* /v1/session: POST signs in with a token, GET tells who is signed in, DELETE signs out. */
void al_auth_session(struct al_server *srv, const struct al_http_req *req,
		     struct al_http_resp *resp);
