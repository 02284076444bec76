/* Entry points of the runner's subcommands. */
#pragma once

#include <jansson.h>

/* `airlock runner --pull-request`: a pull request fetched and diffed, confined
 * (runner/pull.c). */
int al_runner_pull(void);
/* Its work once confined: the fetch, the merge base and the diff (runner/pull.c). */
json_t *al_pull_answer(const json_t *req);
/* `airlock runner --job DIR`: one job, executed by the server in a fresh process. */
int al_runner_main(int argc, char **argv);
/* `airlock sandbox [options] -- CMD [ARG]...`: one command in the sandbox. */
int al_cli_sandbox(int argc, char **argv);
/* `airlock doctor`: what this host supports for isolation. */
int al_cli_doctor(int argc, char **argv);
