/* The runner's side of the path out: starting the egress proxy (`airlock-core
 * egress-proxy`, egress/proxy.h) as a process of its own, handing it each sandbox's
 * listener, giving the sandbox the proxy's CA and the usual variables, and collecting
 * the proxy's record of every connection. No TLS here: the proxy holds the CA key. */
#pragma once

#include <stddef.h>
#include <sys/types.h>

#include "lib/err.h"
#include "runner/sandbox.h"

/* The trust bundle inside the sandbox: the run's CA (and the host's roots when some host is
 * an opaque tunnel). */
#define AL_EGRESS_BUNDLE_PATH "/etc/ssl/certs/ca-certificates.crt"
#define AL_EGRESS_ENV_MAX 16
#define AL_EGRESS_RECORD_MAX ((size_t)32 << 20)

struct al_egress_proc {
	pid_t pid;     /* 0 when none was started */
	int ctl;       /* our end of the control socket; -1 once closed */
	int record_fd; /* memfd the proxy writes its JSON lines to */
	char *ca_pem;  /* owned */
	char dir[64];  /* a private directory holding the bundle; "" when none */
	char bundle[96];
	char *env[AL_EGRESS_ENV_MAX + 1]; /* owned "K=V" strings, NULL-terminated */
};

/* Starts the proxy beside this binary (core: the airlock-core path) with conf (its JSON),
 * waits for its CA and writes the sandbox's trust bundle. -errno with err naming why;
 * the proxy's own refusal of conf is quoted. */
int al_egress_start(const char *core, const char *conf, size_t conf_len, struct al_egress_proc *ret,
		    struct al_err *err);

/* The runner's view of a proxy the server started: its control socket at fd (which ret
 * then owns) and the bundle the server wrote. -EBADF when fd is not a socket. */
int al_egress_attach(int fd, const char *bundle, struct al_egress_proc *ret);

/* Points a sandbox's options at the proxy: the listener handoff, the bundle bind (added
 * to binds, which must have room for one more), the variables (added to env, a
 * NULL-terminated array with room for AL_EGRESS_ENV_MAX more). */
void al_egress_sandbox(struct al_egress_proc *p, struct al_sandbox_opts *o, const char *label,
		       struct al_bind *binds, size_t *n_binds, char **env, size_t *n_env);

/* No more runs: closes the control socket, waits for the proxy, and returns its record
 * (one JSON line per connection; owned, NUL-terminated). The process and the bundle are
 * gone after, whatever is returned. */
int al_egress_finish(struct al_egress_proc *p, char **ret_record, size_t *ret_len,
		     struct al_err *err);
void al_egress_proc_clear(struct al_egress_proc *p);
