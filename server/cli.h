/* Command-line subcommands that talk to a server or check grants. */
#pragma once

#include <stdbool.h>

#include "lib/err.h"

int al_cli_submit(int argc, char **argv);
int al_cli_verify(int argc, char **argv);
int al_cli_status(int argc, char **argv);
/* decision: "approve" or "reject" */
int al_cli_decide(int argc, char **argv, const char *decision);
/* pause (true) or resume (false) the server: the kill switch. */
int al_cli_pause(int argc, char **argv, bool pause);
/* promote and revise (cli-change.c). */
int al_cli_promote(int argc, char **argv);
int al_cli_revise(int argc, char **argv);
/* `cache list` and `cache gc`: the environment cache (cli-cache.c). */
int al_cli_cache(int argc, char **argv);

/* Shared by the commands (cli.c): the token from --token, --token-file or AIRLOCK_TOKEN
 * (owned by the caller; NULL with err set); the server's refusal printed as one line,
 * returning the exit status 2; the wait for a verdict, as `submit --wait` does it. */
char *al_cli_token(const char *token, const char *token_file, struct al_err *err);
int al_cli_refused(long status, const char *body);
int al_cli_wait(const char *server, const char *out, long timeout_s, const char *id,
		const char *token);
