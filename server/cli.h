/* Command-line subcommands that talk to a server or check grants. */
#pragma once

int al_cli_submit(int argc, char **argv);
int al_cli_verify(int argc, char **argv);
int al_cli_status(int argc, char **argv);
/* decision: "approve" or "reject" */
int al_cli_decide(int argc, char **argv, const char *decision);
