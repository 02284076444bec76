/* The sandbox's command line, shared by the lean front (runner/front.c, which takes the
 * common case itself) and airlock-core (runner/cli-full.c: what needs JSON). */
#ifndef AL_RUNNER_CLI_H
#define AL_RUNNER_CLI_H

#include "runner/egress.h"
#include "runner/sandbox.h"

#define MAX_BINDS 64
#define MAX_ENV 64
#define MAX_ALLOW 64
#define AL_CLI_EXIT_FAILED 125 /* the sandbox, not the command, failed */
#define AL_CLI_EXIT_USAGE 64

struct sandbox_cli {
	struct al_sandbox_opts o;
	struct al_bind binds[MAX_BINDS + 1]; /* and the egress trust bundle */
	char *bind_text[MAX_BINDS];	     /* owned copies split at ':' */
	size_t n_binds;
	char *env[MAX_ENV + AL_EGRESS_ENV_MAX + 1];
	size_t n_env;
	const char *workdir;
	const char *record;
	const char *egress_file; /* the proxy's configuration (docs/egress.md) */
	const char *allow[MAX_ALLOW];
	size_t n_allow;
	const char *layers[AL_SANDBOX_MAX_LAYERS];
	struct al_egress_proc egress;
	char *egress_record; /* the proxy's JSON lines, once it ended */
};

/* What --egress, --allow-host and --record need: the proxy (started before the run,
 * ended after it, its denials on stderr) and the record, all JSON, so only in
 * airlock-core. Each returns 0 or a negative errno, having said why on stderr. */
struct al_cli_extras {
	int (*begin)(struct sandbox_cli *c);
	int (*end)(struct sandbox_cli *c);
	int (*record)(const struct sandbox_cli *c, const struct al_run_record *rec);
	void (*clear)(struct sandbox_cli *c);
};

/* `airlock sandbox` with extras x. With x NULL, a command line that asks for any of them
 * returns AL_CLI_TO_CORE before anything runs: the caller hands it to airlock-core. */
#define AL_CLI_TO_CORE (-1)
int al_cli_sandbox_with(int argc, char **argv, const struct al_cli_extras *x);

#endif
