/* The egress proxy process: its CA and TLS contexts, the control socket that brings each
 * run's listener, and the accept loop. The control protocol (SOCK_SEQPACKET):
 *   proxy -> runner, once:  "ca\n" PEM, or "error\n" the reason it cannot serve
 *   runner -> proxy:        a run's label, with its listener (SCM_RIGHTS)
 *   runner closes its end:  no more runs; the proxy ends once its connections have. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "egress/ca.h"
#include "egress/proxy-int.h"
#include "egress/relay.h"
#include "egress/tls.h"
#include "lib/fdpass.h"
#include "lib/fileio.h"
#include "lib/macros.h"

#define RUNS_MAX 64
#define DRAIN_MS 10000
#define CTL_FD 3

static int
ctl_send(int ctl, const char *kind, const char *text)
{
	char msg[8192];
	int n = snprintf(msg, sizeof(msg), "%s\n%s", kind, text);

	if (n < 0 || (size_t)n >= sizeof(msg))
		return -E2BIG;
	return send(ctl, msg, (size_t)n, MSG_NOSIGNAL) == n ? 0 : -EIO;
}

/* A run's label and listener; 0 at EOF (no more runs), 1 with a run, -errno. */
static int
ctl_recv(int ctl, struct al_proxy_run *run)
{
	size_t n = 0;
	int r;

	memset(run->label, 0, sizeof(run->label));
	r = al_fd_recv(ctl, run->label, sizeof(run->label) - 1, 0, &n, &run->listener);
	if (r == -EPIPE)
		return 0;
	if (r < 0)
		return r;
	for (char *p = run->label; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || *p == '"')
			*p = '?';
	return 1;
}

static int
proxy_open(struct al_proxy *px, const struct al_proxy_conf *c, FILE *out, struct al_err *err)
{
	const char *permit[AL_CA_PERMIT_MAX];
	size_t n = al_egress_rules_allowed(c->rules, 0, &permit[0]), np = 0;
	int r;

	memset(px, 0, sizeof(*px));
	px->conf = c;
	px->out = out;
	pthread_mutex_init(&px->out_lock, NULL);
	/* name constraints when they fit; past that the proxy's own checks still hold */
	for (size_t i = 0; n <= AL_CA_PERMIT_MAX && i < n; i++)
		al_egress_rules_allowed(c->rules, i, &permit[np++]);
	r = al_ca_new(c->run, permit, np, &px->ca, err);
	if (r == 0)
		r = al_tls_server_ctx_new(px->ca, &px->server_ctx, err);
	if (r == 0)
		r = al_tls_client_ctx_new(c->upstream_ca, &px->client_ctx, err);
	return r;
}

static void
proxy_close(struct al_proxy *px)
{
	long long until = al_relay_now_ms() + DRAIN_MS;

	while (atomic_load(&px->active) > 0 && al_relay_now_ms() < until)
		nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
	if (atomic_load(&px->active) > 0)
		return; /* threads still hold these; the process is about to end */
	SSL_CTX_free(px->server_ctx);
	SSL_CTX_free(px->client_ctx);
	al_ca_free(px->ca);
}

static void
accept_one(struct al_proxy *px, struct al_proxy_run *run)
{
	int fd = accept4(run->listener, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (al_proxy_conn_start(px, run, fd) < 0)
		close(fd);
}

static void
serve_loop(struct al_proxy *px, int ctl, struct al_proxy_run *runs)
{
	size_t n_runs = 0;

	for (;;) {
		struct pollfd pfd[RUNS_MAX + 1] = {{.fd = ctl, .events = POLLIN}};
		int n;

		for (size_t i = 0; i < n_runs; i++)
			pfd[i + 1] = (struct pollfd){.fd = runs[i].listener, .events = POLLIN};
		n = poll(pfd, n_runs + 1, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return;
		for (size_t i = 0; i < n_runs; i++)
			if (pfd[i + 1].revents & POLLIN)
				accept_one(px, &runs[i]);
		if (!pfd[0].revents)
			continue;
		if (n_runs == RUNS_MAX || ctl_recv(ctl, &runs[n_runs]) <= 0)
			return; /* no more runs */
		runs[n_runs].deadline_ms =
		    al_relay_now_ms() + (long long)px->conf->cap_seconds * 1000;
		n_runs++;
	}
}

int
al_proxy_serve(const struct al_proxy_conf *c, int ctl, FILE *out, struct al_err *err)
{
	/* connections' threads may outlive a drain that timed out */
	static struct al_proxy_run runs[RUNS_MAX];
	static struct al_proxy px;
	int r = proxy_open(&px, c, out, err);

	if (r < 0) {
		ctl_send(ctl, "error", al_err_msg(err));
		proxy_close(&px);
		return r;
	}
	if ((r = ctl_send(ctl, "ca", al_ca_pem(px.ca))) < 0) {
		proxy_close(&px);
		return al_err_set(err, r, "control socket: %s", strerror(-r));
	}
	serve_loop(&px, ctl, runs);
	for (size_t i = 0; i < RUNS_MAX; i++)
		if (runs[i].listener > 0)
			close(runs[i].listener);
	proxy_close(&px);
	return 0;
}

int
al_proxy_main(int argc, char **argv)
{
	static struct al_proxy_conf conf; /* connections' threads may outlive a drain */
	struct al_err err = {0};
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: airlock-core egress-proxy <CONF 3<>CONTROL\n");
		return 64;
	}
	signal(SIGPIPE, SIG_IGN);
	r = al_fd_read_all(STDIN_FILENO, AL_PROXY_CONF_MAX, &text, &len);
	if (r < 0) {
		al_err_set(&err, r, "reading the configuration: %s", strerror(-r));
		ctl_send(CTL_FD, "error", al_err_msg(&err));
		fprintf(stderr, "airlock: egress-proxy: %s\n", al_err_msg(&err));
		return 1;
	}
	if (al_proxy_conf_parse(text, len, &conf, &err) < 0) {
		ctl_send(CTL_FD, "error", al_err_msg(&err));
		fprintf(stderr, "airlock: egress-proxy: %s\n", al_err_msg(&err));
		return 1;
	}
	r = al_proxy_serve(&conf, CTL_FD, stdout, &err);
	if (r < 0)
		fprintf(stderr, "airlock: egress-proxy: %s\n", al_err_msg(&err));
	return r < 0 ? 1 : 0;
}
