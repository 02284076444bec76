/* airlock: one binary, git-style subcommands; `serve` runs the server.
 *
 * The server's files, each a part with its own header or a section of server.h:
 *   main.c      subcommands, start-up and shutdown order
 *   http.c      the only microhttpd code: requests in, replies out (http.h)
 *   api.c       the router: routes, the proposal intake, the read views
 *   reply.c     JSON replies and refusals; handlers elsewhere return an outcome or a
 *               refusal and the router writes it
 *   auth.c      bearer tokens, sessions, CSRF and same-origin checks
 *   admit.c     body caps, queue cap, submission rate, draining
 *   pause.c     the kill switch: no job starts, no grant is signed, no ref moves
 *   intake.c    the proposal and webhook parsers (pure)
 *   decide.c    a reviewer's approve or reject          promote.c  a grant's ref move
 *   webhook.c   GitHub deliveries                        github.c   the commit-status poster
 *   sched.c     workers: one `airlock runner` per job, its result judged by gates/judge.c
 *   issue.c     signs a grant (grant.c builds the statement, sign.c and keyring.c the DSSE
 *               envelope and the keyring)
 *   store/      the only SQLite code (store.h)          events.c   live updates (SSE)
 *   live.c      the configuration in force and its reload; bases.c the base check;
 *               views.c cached proposal views; metrics.c /metrics; cli.c and client.c
 *               the command-line client.
 * Calls between these files go one way (make lint checks it): the router calls the
 * handlers, the handlers call the store and gates/, and the store's change hook (set
 * here) wakes the scheduler, the poster and the page. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "egress/proxy.h"
#include "lib/fileio.h"
#include "lib/hex.h"
#include "lib/lockfile.h"
#include "lib/log.h"
#include "lib/macros.h"
#include "runner/cgroup.h"
#include "runner/git.h"
#include "runner/runner.h"
#include "server/cli.h"
#include "server/envcache.h"
#include "server/grant.h"
#include "server/admit.h"
#include "server/pause.h"
#include "server/server.h"

#define BINARY_MAX (512u << 20)
/* A command line that cannot be run (EX_USAGE of sysexits.h). */
#define EXIT_USAGE 64

extern char **environ;

static const char usage[] =
    "usage: airlock <command> [options]\n"
    "  serve [--listen ADDR:PORT] [--data DIR] [--config FILE]\n"
    "  token add --data DIR --name NAME --role agent|reviewer|admin\n"
    "  token list --data DIR\n"
    "  token revoke --data DIR NAME\n"
    "  token release --data DIR NAME\n"
    "  submit --server URL (--token T | --token-file F) --repo NAME --base REF --patch FILE\n"
    "         [--test-patch FILE] [--fail-to-pass ID]... [--title TEXT]\n"
    "         [--agent NAME] [--model NAME] [--prompt-sha256 HEX] [--wait [--out FILE]]\n"
    "  status [--server URL] (--token T | --token-file F) ID\n"
    "  revise [--server URL] (--token T | --token-file F) --patch FILE [--test-patch FILE]\n"
    "         [--fail-to-pass ID]... [--wait [--wait-timeout S] [--out FILE]] ID\n"
    "  approve|reject [--server URL] (--token T | --token-file F) [--comment TEXT]\n"
    "         [--tree TREE_ID] ID\n"
    "  promote [--server URL] (--token T | --token-file F) ID\n"
    "  pause [--server URL] (--token T | --token-file F) --reason TEXT\n"
    "  resume [--server URL] (--token T | --token-file F)\n"
    "  verify (--key FILE | --keys-url URL) --repo R [--ref REF] [--commit SHA]\n"
    "         [--old SHA] GRANT_FILE\n"
    "  keygen --data DIR [--retire-days N]\n"
    "  key list --data DIR\n"
    "  key revoke --data DIR KEYID\n"
    "  audit verify --data DIR\n"
    "  audit show --data DIR ID\n"
    "  cache list [--config FILE] [--data DIR] [--json]\n"
    "  cache gc [--config FILE] [--data DIR] [--max-mb N] [--wait]\n"
    "  sandbox [--timeout S] [--memory BYTES] [--pids N] [--cpu PERCENT] [--disk-size BYTES]\n"
    "         [--ro-bind SRC[:DST]]... [--bind SRC[:DST]]... [--workdir DIR [--overlay]]\n"
    "         [--env NAME=VALUE]... [--record FILE] -- CMD [ARG]...\n"
    "  doctor\n"
    "  help [CMD]\n"
    "exit status: 0 done (submit --wait: granted), 1 failed or rejected, 2 refused by the\n"
    "server, 3 awaiting a human approval, 64 usage, 75 busy (cache gc), 125 the sandbox\n"
    "itself failed\n";

static int
die(const char *what, const struct al_err *err)
{
	fprintf(stderr, "airlock: %s: %s\n", what, al_err_msg(err));
	return 1;
}

static int
data_dir_ready(const char *dir, struct al_err *err)
{
	if (al_mkdir_p(dir, 0700) < 0)
		return al_err_set(err, -errno, "%s: %s", dir, strerror(errno));
	return 0;
}

/* One server a data directory: DATA/airlock.lock is held for the server's life, taken
 * before anything in the directory is read or changed. */
static int
data_dir_lock(const char *dir, int *ret_fd, struct al_err *err)
{
	_cleanup_free_ char *path = al_path_join(dir, "airlock.lock");
	long holder = 0;
	int r;

	if (!path)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = data_dir_ready(dir, err);
	if (r == 0)
		r = al_lockfile_take(path, ret_fd, &holder, err);
	if (r == -EBUSY)
		return al_err_reset(err, -EBUSY,
				    "%s is in use by another airlock serve (pid %ld): nothing was "
				    "changed; stop that one first, or give this one its own --data",
				    dir, holder);
	return r;
}

static int
open_store(const char *dir, struct al_store **ret, struct al_err *err)
{
	_cleanup_free_ char *db = al_path_join(dir, "airlock.db");

	if (!db)
		return al_err_set(err, -ENOMEM, "out of memory");
	return al_store_open(db, ret, err);
}

static int
write_pubkey(const char *dir, const struct al_signer *s, struct al_err *err)
{
	unsigned char pub[AL_PUBKEY_BYTES];
	_cleanup_free_ char *pem = NULL, *path = al_path_join(dir, "signing.pub");

	al_signer_pubkey(s, pub);
	pem = al_pubkey_pem(pub);
	if (!pem || !path)
		return al_err_set(err, -ENOMEM, "out of memory");
	return al_file_write_atomic(path, pem, strlen(pem), 0644, err);
}

static int
self_identity(struct al_server *srv, struct al_err *err)
{
	_cleanup_free_ char *bin = NULL;
	struct utsname u;
	ssize_t n = readlink("/proc/self/exe", srv->self_exe, sizeof(srv->self_exe) - 1);
	size_t len;
	int r;

	if (n < 0)
		return al_err_set(err, -errno, "/proc/self/exe: %s", strerror(errno));
	srv->self_exe[n] = '\0';
	r = al_file_read(srv->self_exe, BINARY_MAX, &bin, &len, err);
	if (r < 0)
		return r;
	al_sha256_hex(bin, len, srv->binary_sha256);
	snprintf(srv->kernel, sizeof(srv->kernel), "%s", uname(&u) == 0 ? u.release : "unknown");
	return 0;
}

/* Before anything is spawned: on cgroup v2 this process moves into a leaf of its own so
 * that runners (its children) may be given controllers; groups left by runners killed in
 * an earlier life are removed. What is unusable is the doctor's to report. */
static int
cgroups_settle(struct al_err *err)
{
	const struct al_cgroup_host *h = NULL;
	int r = al_cgroup_host(&h, err);

	if (r == 0)
		al_cgroup_sweep_once();
	return r;
}

/* Runs `airlock doctor` in its own process (no sandbox setup in the process that holds
 * the key) and refuses to serve gates when the host cannot isolate them. */
static int
isolation_ready(const char *self_exe, struct al_err *err)
{
	char *argv[] = {"airlock", "doctor", NULL};
	posix_spawn_file_actions_t fa;
	_cleanup_free_ char *out = NULL;
	int pipefd[2], status = 0, r;
	size_t len = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return al_err_set(err, -errno, "doctor: %s", strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
	r = posix_spawn(&pid, self_exe, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (r == 0 && al_fd_read_all(pipefd[0], 1u << 16, &out, &len) < 0)
		out = NULL;
	close(pipefd[0]);
	if (r != 0)
		return al_err_set(err, -r, "doctor: cannot start: %s", strerror(r));
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	fprintf(stderr, "%s", out ? out : "");
	return al_err_set(err, -ENOTSUP,
			  "refusing to run gates: this host cannot isolate them (see above; "
			  "`airlock doctor` says the same)");
}

static void
server_free(struct al_server *srv)
{
	/* drain: intake refused, reads and decisions still served while the jobs finish */
	pthread_mutex_lock(&srv->mu);
	srv->draining = 1;
	pthread_mutex_unlock(&srv->mu);
	if (srv->sched)
		al_sched_stop(srv);
	al_events_shutdown(srv->events);
	al_http_stop(srv->http);
	al_github_stop(srv);
	al_events_free(srv->events);
	al_signer_free(srv->signer);
	al_keyring_free(srv->keyring);
	al_store_close(srv->store);
	if (srv->cfg)
		al_live_config_put(srv, srv->cfg);
	al_views_free(&srv->views);
	pthread_mutex_destroy(&srv->mu);
	pthread_mutex_destroy(&srv->decide_mu);
	al_sched_free(srv->sched);
	al_github_free(srv->github);
	al_admit_rate_free(srv->rate);
	al_pause_free(srv->pause);
}

static void
print_banner(const struct al_server *srv)
{
	printf("airlock %s listening on %s://%s/ (the reviewers' page is there too)\n", AL_VERSION,
	       srv->cfg->tls_cert ? "https" : "http", al_http_listen(srv->http));
	printf("  data: %s  keyid: %s\n", srv->cfg->data, al_signer_keyid(srv->signer));
	for (size_t i = 0; i < srv->cfg->n_repos; i++)
		printf("  repo %s: %s\n", srv->cfg->repos[i].name, srv->cfg->repos[i].path);
	if (al_config_repo(srv->cfg, "example"))
		printf("submit the example (in another terminal):\n"
		       "  ./airlock submit --server http://%s --token-file "
		       "airlock-data/example-agent.token --repo example --base main "
		       "--test-patch examples/calc/test.patch --patch examples/calc/fix.patch "
		       "--fail-to-pass clamp_above --wait\n",
		       al_http_listen(srv->http));
	fflush(stdout);
}

static void
on_store_change(void *ctx, const char *id, const char *state)
{
	struct al_server *srv = ctx;

	al_events_publish(srv->events, id, state);
	if (!strcmp(state, "queued"))
		al_sched_kick(srv);
	if (!strcmp(state, "superseded") || !strcmp(state, "cancelled"))
		al_sched_cancel(srv, id);
	al_github_on_change(srv, id, state);
}

/* The HTTP listener, over TLS when the configuration names a certificate and key. */
static int
http_start(struct al_server *srv, struct al_err *err)
{
	_cleanup_free_ char *cert = NULL, *key = NULL;
	struct al_http_opts o = {.listen = srv->cfg->listen,
				 .max_body = srv->cfg->max_body,
				 .webhook_path = "/v1/webhooks/github",
				 .webhook_max_body = AL_WEBHOOK_MAX_BODY,
				 .conn_timeout_s = (unsigned)srv->cfg->limits.conn_timeout_s,
				 .header_timeout_s = (unsigned)srv->cfg->limits.header_timeout_s,
				 .max_connections = (unsigned)srv->cfg->limits.max_connections,
				 .max_per_address = (unsigned)srv->cfg->limits.max_per_address,
				 .max_header_bytes = (size_t)srv->cfg->limits.max_header_bytes};
	size_t len;
	int r;

	if (srv->cfg->tls_cert) {
		if ((r = al_file_read(srv->cfg->tls_cert, 1u << 20, &cert, &len, err)) < 0 ||
		    (r = al_file_read(srv->cfg->tls_key, 1u << 20, &key, &len, err)) < 0)
			return al_err_prefix(err, "tls");
		o.tls_cert_pem = cert;
		o.tls_key_pem = key;
	}
	r = al_http_start(&o, al_api_handle, srv, &srv->http, err);
	if (key)
		explicit_bzero(key, strlen(key));
	return r;
}

/* What a reload put in force: the file and each repository's policy digest. */
static void
reload_detail(struct al_server *srv, char *out, size_t n)
{
	struct al_config *c = al_live_config(srv);
	size_t len;

	snprintf(out, n, "%s", srv->config_path ? srv->config_path : "(defaults)");
	for (size_t i = 0; i < c->n_repos && (len = strlen(out)) < n; i++)
		snprintf(out + len, n - len, "; %s policy %.16s", c->repos[i].name,
			 c->repos[i].policy_digest);
	al_live_config_put(srv, c);
}

static int
serve_run(struct al_server *srv, struct al_err *err)
{
	sigset_t set;
	int sig = 0, r;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((r = al_pause_load(srv->pause, srv->cfg->data, err)) < 0 ||
	    (r = open_store(srv->cfg->data, &srv->store, err)) < 0 ||
	    (r = al_events_new(&srv->events, err)) < 0 ||
	    (r = al_live_keys_open(srv->cfg->data, &srv->signer, &srv->keyring, err)) < 0 ||
	    (r = write_pubkey(srv->cfg->data, srv->signer, err)) < 0 ||
	    (r = self_identity(srv, err)) < 0 || (r = cgroups_settle(err)) < 0 ||
	    (r = isolation_ready(srv->self_exe, err)) < 0)
		return r;
	al_store_set_notify(srv->store, on_store_change, srv);
	/* the port before any recovery: a server that cannot serve changes nothing */
	if ((r = http_start(srv, err)) < 0 || (r = al_sched_start(srv, err)) < 0)
		return r;
	al_envcache_start(srv->cfg->cache_dir);
	/* before the poster starts: a move a crash kept from its pull request is told now */
	(void)al_github_reconcile(srv);
	if ((r = al_github_start(srv, err)) < 0)
		return r;
	al_log("info", "serve.started", "listen=%s data=%s", al_log_q(al_http_listen(srv->http)),
	       al_log_q(srv->cfg->data));
	print_banner(srv);
	while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
		struct al_err rerr = {0};

		char detail[600];

		/* a bad file is refused whole: the policy in force stays */
		if (al_live_reload(srv, &rerr) < 0) {
			al_log("error", "config.reload_refused", "error=%s",
			       al_log_q(al_err_msg(&rerr)));
			snprintf(detail, sizeof(detail), "refused: %s", al_err_msg(&rerr));
		} else {
			al_log("info", "config.reloaded", "path=%s",
			       al_log_q(srv->config_path ? srv->config_path : "(defaults)"));
			reload_detail(srv, detail, sizeof(detail));
		}
		al_store_audit_note(srv->store, "SIGHUP", "config.reload", NULL, detail, NULL);
	}
	al_log("info", "serve.stopping", "signal=%d", sig);
	return 0;
}

static int
cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {{"listen", required_argument, NULL, 'l'},
					     {"data", required_argument, NULL, 'd'},
					     {"config", required_argument, NULL, 'c'},
					     {NULL, 0, NULL, 0}};
	const char *listen = NULL, *data = NULL, *config = NULL;
	struct al_server srv = {0};
	struct al_err err = {0};
	int c, r, lock_fd = -1;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'l')
			listen = optarg;
		else if (c == 'd')
			data = optarg;
		else if (c == 'c')
			config = optarg;
		else
			return fputs(usage, stderr), EXIT_USAGE;
	}
	if (optind != argc)
		return fputs(usage, stderr), EXIT_USAGE;
	/* The runners run as this user too: not dumpable, our /proc/PID (root, fd, mem) is
	 * closed to them (runner/confine.c). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return die("serve", &(struct al_err){.msg = "cannot make the server undumpable"});
	if (al_sign_init() < 0)
		return die("serve", &(struct al_err){.msg = "libsodium failed to start"});
	/* libgit2 held open for the server's life: its caches outlive each request */
	if (al_git_init() < 0)
		return die("serve", &(struct al_err){.msg = "libgit2 failed to start"});
	r = al_config_load(config, listen, data, &srv.cfg, &err);
	if (r < 0)
		return die("config", &err);
	srv.cfg->refs = 1;
	srv.config_path = config;
	srv.listen_override = listen;
	srv.data_override = data;
	al_live_digest_policies(srv.cfg);
	pthread_mutex_init(&srv.mu, NULL);
	pthread_mutex_init(&srv.decide_mu, NULL);
	al_views_init(&srv.views);
	/* before any thread: the store's change hook wakes both, the start-up reconcile kicks
	 * the poster before it runs */
	if (al_sched_new(&srv.sched) < 0 || al_github_new(&srv.github) < 0 ||
	    al_admit_rate_new(&srv.rate) < 0 || al_pause_new(&srv.pause) < 0)
		r = al_err_set(&err, -ENOMEM, "out of memory");
	else if ((r = data_dir_lock(srv.cfg->data, &lock_fd, &err)) == 0)
		r = serve_run(&srv, &err);
	server_free(&srv);
	if (lock_fd >= 0)
		close(lock_fd); /* after the last job and write: the next server may start */
	al_git_shutdown();
	return r < 0 ? die("serve", &err) : 0;
}

static int
name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 64 &&
	       strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-") == n;
}

static void
print_tokens(const json_t *list)
{
	const json_t *t;
	char when[32];
	size_t i;

	json_array_foreach (list, i, t) {
		time_t at = (time_t)json_integer_value(json_object_get(t, "created"));
		struct tm tm;
		const char *q = json_string_value(json_object_get(t, "quarantined"));

		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&at, &tm));
		printf("%-24s %-8s %s  %s%s%s\n", json_string_value(json_object_get(t, "name")),
		       json_string_value(json_object_get(t, "role")),
		       json_string_value(json_object_get(t, "id")), when,
		       q ? "  quarantined: " : "", q ? q : "");
	}
}

/* `token list --data DIR`: each token's name, role, short id and creation (never the
 * secret) and its quarantine; `token revoke --data DIR NAME`: every token of that name
 * goes, with the sessions opened with them, at once for a running server too; `token
 * release --data DIR NAME`: the name's quarantine lifted (its queued proposals run). */
static int
cmd_token_use(int argc, char **argv, const char *verb)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {NULL, 0, NULL, 0}};
	int revoke = !strcmp(verb, "revoke"), release = !strcmp(verb, "release");
	int named = revoke || release;
	const char *data = NULL;
	char what[32];
	struct al_store *store = NULL;
	struct al_err err = {0};
	json_t *list = NULL;
	int c, r, n = 0;

	snprintf(what, sizeof(what), "token %s", verb);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return fputs(usage, stderr), EXIT_USAGE;
		data = optarg;
	}
	if (!data)
		return fprintf(stderr, "airlock: %s: missing --data DIR\n", what), EXIT_USAGE;
	if (optind != argc - named)
		return fprintf(stderr, "airlock: %s: %s\n", what,
			       named ? "expected one token NAME" : "unexpected arguments"),
		       EXIT_USAGE;
	if (open_store(data, &store, &err) < 0)
		return die(what, &err);
	/* the operator, at the machine: "cli" in the audit log, as for revoke */
	r = revoke    ? al_store_token_revoke(store, argv[optind], &n, &err)
	    : release ? al_store_quarantine_release(store, argv[optind], "cli", &err)
		      : al_store_token_list(store, &list, &err);
	al_store_close(store);
	if (r < 0)
		return die(what, &err);
	if (revoke)
		printf("revoked %d token%s named %s\n", n, n == 1 ? "" : "s", argv[optind]);
	else if (release)
		printf("released %s: its queued proposals run again\n", argv[optind]);
	else
		print_tokens(list);
	json_decref(list);
	return 0;
}

static int
cmd_token_add(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {"name", required_argument, NULL, 'n'},
					     {"role", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	const char *data = NULL, *name = NULL, *role = NULL;
	struct al_store *store = NULL;
	struct al_err err = {0};
	char raw[65], token[70], hash[65];
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			data = optarg;
		else if (c == 'n')
			name = optarg;
		else if (c == 'r')
			role = optarg;
		else
			return fputs(usage, stderr), EXIT_USAGE;
	}
	if (!data || !name || !role || optind != argc)
		return fputs(usage, stderr), EXIT_USAGE;
	if (!name_valid(name))
		return fprintf(stderr,
			       "airlock: token add: invalid --name (letters, digits, _.@-)\n"),
		       2;
	if (strcmp(role, "agent") && strcmp(role, "reviewer") && strcmp(role, "admin"))
		return fprintf(stderr,
			       "airlock: token add: --role must be agent, reviewer or admin\n"),
		       2;
	if (al_sign_init() < 0 || data_dir_ready(data, &err) < 0 ||
	    open_store(data, &store, &err) < 0)
		return die("token add", &err);
	al_random_hex(32, raw);
	snprintf(token, sizeof(token), "alk_%s", raw);
	al_sha256_hex(token, strlen(token), hash);
	r = al_store_token_add(store, name, role, hash, &err);
	al_store_close(store);
	if (r < 0)
		return die("token add", &err);
	printf("%s\n", token);
	explicit_bzero(token, sizeof(token));
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

/* The first key, or a rotation: a new active key, the old one retired. */
static int
cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {"retire-days", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	_cleanup_free_ char *key = NULL;
	const char *data = NULL;
	struct al_signer *s = NULL;
	struct al_keyring *kr = NULL;
	struct al_err err = {0};
	char keyid[AL_KEYID_HEX], *end;
	long days = 30;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd') {
			data = optarg;
		} else if (c == 'r') {
			errno = 0;
			days = strtol(optarg, &end, 10);
			if (errno || *end || days < 1 || days > 3650)
				return fprintf(stderr,
					       "airlock: keygen: --retire-days: 1 to 3650\n"),
				       2;
		} else {
			return fputs(usage, stderr), EXIT_USAGE;
		}
	}
	if (!data || optind != argc)
		return fputs(usage, stderr), EXIT_USAGE;
	if (al_sign_init() < 0 || data_dir_ready(data, &err) < 0 ||
	    !(key = al_path_join(data, "signing.key")))
		return die("keygen", &err);
	if (access(key, F_OK) == 0) {
		r = al_keys_rotate(data, days * 86400L, keyid, &err);
		if (r < 0)
			return die("keygen", &err);
		printf("rotated: keyid %s is active; the previous key verifies for %ld more days\n",
		       keyid, days);
	}
	r = al_live_keys_open(data, &s, &kr, &err);
	if (r == 0)
		r = write_pubkey(data, s, &err);
	if (r == 0)
		printf("keyid %s\npublic key %s/signing.pub\n", al_signer_keyid(s), data);
	al_signer_free(s);
	al_keyring_free(kr);
	return r < 0 ? die("keygen", &err) : 0;
}

/* `airlock VERB --data DIR [ARG]`: the options after the verb (argv[1]); optind is then
 * at its first argument. */
static int
verb_data(int argc, char **argv, const char **data)
{
	static const struct option opts[] = {{"data", required_argument, NULL, 'd'},
					     {NULL, 0, NULL, 0}};
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'd')
			return -EINVAL;
		*data = optarg;
	}
	return 0;
}

static void
print_entry(const json_t *e)
{
	char at[32] = "";
	const char *detail = json_string_value(json_object_get(e, "detail"));

	al_grant_time_format((time_t)json_integer_value(json_object_get(e, "at")), at);
	printf("%6lld  %s  %-12s %-24s %s\n",
	       (long long)json_integer_value(json_object_get(e, "seq")), at,
	       json_string_value(json_object_get(e, "actor")),
	       json_string_value(json_object_get(e, "action")), detail ? detail : "");
}

/* `airlock audit verify|show`: walk the hash chain; one proposal's trace. */
static int
cmd_audit(int argc, char **argv)
{
	const char *data = NULL, *verb = argc > 1 ? argv[1] : "";
	_cleanup_(al_proposal_freep) struct al_proposal *p = NULL;
	_cleanup_(al_json_decrefp) json_t *list = NULL;
	struct al_store *store = NULL;
	struct al_audit_report rep;
	struct al_err err = {0};
	size_t i;
	json_t *e;
	int r;

	if (verb_data(argc, argv, &data) < 0)
		return fputs(usage, stderr), EXIT_USAGE;
	if (!data || ((strcmp(verb, "verify") || optind != argc) &&
		      (strcmp(verb, "show") || optind != argc - 1)))
		return fputs(usage, stderr), EXIT_USAGE;
	if (access(data, F_OK) < 0)
		return fprintf(stderr, "airlock: audit: %s: %s\n", data, strerror(errno)), 1;
	if (al_sign_init() < 0 || open_store(data, &store, &err) < 0)
		return die("audit", &err);
	if (!strcmp(verb, "verify")) {
		r = al_store_audit_verify(store, &rep, &err);
		al_store_close(store);
		if (r < 0)
			return die("audit verify", &err);
		if (rep.broken) {
			printf("audit: entry %lld was %s (%lld entries read)\n", rep.seq, rep.what,
			       rep.entries);
			return 1;
		}
		printf("audit: %lld entries, the chain is intact; head %s\n", rep.entries,
		       rep.head);
		return 0;
	}
	r = al_store_audit_list(store, argv[optind], 100000, &list, &err);
	if (r == 0 && al_store_proposal_get(store, argv[optind], &p, &err) < 0 &&
	    json_array_size(list) == 0)
		r = al_err_set(&err, -ENOENT, "no proposal %s", argv[optind]);
	al_store_close(store);
	if (r < 0)
		return die("audit show", &err);
	if (p)
		printf("proposal %s: %s, repository %s, proposer %s, revision %lld%s%s\n", p->id,
		       p->state, p->repo, p->proposer, p->revision, p->title ? ": " : "",
		       p->title ? p->title : "");
	json_array_foreach (list, i, e)
		print_entry(e);
	return 0;
}

/* `airlock key list|revoke`: the keyring, and ending trust in a retired key. */
static int
cmd_key(int argc, char **argv)
{
	const char *data = NULL, *verb = argc > 1 ? argv[1] : "";
	struct al_signer *s = NULL;
	struct al_keyring *kr = NULL;
	struct al_err err = {0};
	int r;

	if (verb_data(argc, argv, &data) < 0)
		return fputs(usage, stderr), EXIT_USAGE;
	if (!data || al_sign_init() < 0)
		return fputs(usage, stderr), EXIT_USAGE;
	if (!strcmp(verb, "revoke") && optind == argc - 1) {
		r = al_keys_revoke(data, argv[optind], &err);
		if (r < 0)
			return die("key revoke", &err);
		printf("revoked %s\n", argv[optind]);
		return 0;
	}
	if (strcmp(verb, "list") || optind != argc)
		return fputs(usage, stderr), EXIT_USAGE;
	r = al_live_keys_open(data, &s, &kr, &err);
	for (size_t i = 0; r == 0 && i < kr->n; i++) {
		char until[32] = "";

		if (kr->keys[i].verify_until)
			al_grant_time_format(kr->keys[i].verify_until, until);
		printf("%s %-8s %s\n", kr->keys[i].keyid, kr->keys[i].status, until);
	}
	al_signer_free(s);
	al_keyring_free(kr);
	return r < 0 ? die("key list", &err) : 0;
}

/* The usage lines of cmd (an entry of usage whose first word, or one of its |-separated
 * words, is cmd, with its continuation lines). */
static int
help(const char *cmd)
{
	const char *line = usage, *end;
	size_t n = strlen(cmd);
	int in = 0, found = 0;

	for (; *line; line = end + 1) {
		end = strchr(line, '\n');
		if (!end)
			break;
		if (line[0] != ' ' || line[1] != ' ') {
			in = 0; /* not an entry: the heading, the exit statuses */
		} else if (line[2] != ' ') {
			const char *w = line + 2, *we = w + strcspn(w, " \n");

			in = 0;
			while (w < we && !in) {
				const char *bar = memchr(w, '|', (size_t)(we - w));
				const char *e = bar ? bar : we;

				in = (size_t)(e - w) == n && !strncmp(w, cmd, n);
				w = e + 1;
			}
			found |= in;
			if (in) {
				printf("usage: airlock %.*s\n", (int)(end - line - 2), line + 2);
				continue;
			}
		}
		if (in)
			printf("%.*s\n", (int)(end - line), line);
	}
	if (!found)
		return fprintf(stderr, "airlock: help: no command '%s'\n%s", cmd, usage),
		       EXIT_USAGE;
	return 0;
}

/* CMD ... --help (before any "--", after which the words are a sandboxed command's). */
static int
wants_help(int argc, char **argv)
{
	for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return fputs(usage, stderr), EXIT_USAGE;
	if (!strcmp(argv[1], "egress-proxy"))
		return al_proxy_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "runner") && wants_help(argc, argv))
		return help(argv[1]);
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "runner"))
		return al_runner_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "submit"))
		return al_cli_submit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return al_cli_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return al_cli_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "revise"))
		return al_cli_revise(argc - 1, argv + 1);
	if (!strcmp(argv[1], "promote"))
		return al_cli_promote(argc - 1, argv + 1);
	if (!strcmp(argv[1], "approve") || !strcmp(argv[1], "reject"))
		return al_cli_decide(argc - 1, argv + 1, argv[1]);
	if (!strcmp(argv[1], "pause") || !strcmp(argv[1], "resume"))
		return al_cli_pause(argc - 1, argv + 1, !strcmp(argv[1], "pause"));
	if (!strcmp(argv[1], "sandbox"))
		return al_cli_sandbox(argc - 1, argv + 1);
	if (!strcmp(argv[1], "doctor"))
		return al_cli_doctor(argc - 1, argv + 1);
	if (!strcmp(argv[1], "key"))
		return cmd_key(argc - 1, argv + 1);
	if (!strcmp(argv[1], "audit"))
		return cmd_audit(argc - 1, argv + 1);
	if (!strcmp(argv[1], "cache"))
		return al_cli_cache(argc - 1, argv + 1);
	if (!strcmp(argv[1], "keygen"))
		return cmd_keygen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "token") && argc > 2 && !strcmp(argv[2], "add"))
		return cmd_token_add(argc - 2, argv + 2);
	if (!strcmp(argv[1], "token") && argc > 2 &&
	    (!strcmp(argv[2], "list") || !strcmp(argv[2], "revoke") || !strcmp(argv[2], "release")))
		return cmd_token_use(argc - 2, argv + 2, argv[2]);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return argc > 2 ? help(argv[2]) : (fputs(usage, stdout), 0);
	fprintf(stderr, "airlock: unknown command '%s'\n%s", argv[1], usage);
	return EXIT_USAGE;
}
