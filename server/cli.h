/* Command-line subcommands that talk to a server or check grants. */
#pragma once

#include <stdbool.h>

int al_cli_submit(int argc, char **argv);
int al_cli_verify(int argc, char **argv);
int al_cli_status(int argc, char **argv);
/* decision: "approve" or "reject" */
int al_cli_decide(int argc, char **argv, const char *decision);
/* pause (true) or resume (false) the server: the kill switch. */
int al_cli_pause(int argc, char **argv, bool pause);
