/* Entry points of the runner's subcommands. */
#pragma once

/* `airlock runner --job DIR`: one job, executed by the server in a fresh process. */
int al_runner_main(int argc, char **argv);
/* `airlock sandbox [options] -- CMD [ARG]...`: one command in the sandbox. */
int al_cli_sandbox(int argc, char **argv);
/* `airlock doctor`: what this host supports for isolation. */
int al_cli_doctor(int argc, char **argv);
