/* The runner's side of the path out: see egress.h. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fdpass.h"
#include "lib/fileio.h"
#include "lib/compat.h"
#include "lib/macros.h"
#include "runner/egress.h"

#define START_TIMEOUT_MS 10000
#define EXIT_TIMEOUT_MS 20000
#define HOST_BUNDLE "/etc/ssl/certs/ca-certificates.crt"
#define HOST_BUNDLE_MAX ((size_t)8 << 20)
#define PROXY_URL "http://127.0.0.1:3128"

static const char *const proxy_vars[] = {"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"};
static const char *const no_proxy_vars[] = {"NO_PROXY", "no_proxy"};
static const char *const ca_vars[] = {
    "SSL_CERT_FILE",  "REQUESTS_CA_BUNDLE",  "PIP_CERT",	 "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO", "NODE_EXTRA_CA_CERTS", "npm_config_cafile"};

static _Noreturn void
proxy_child(const char *core, int conf_rd, int record_fd, int ctl)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || dup2(conf_rd, 0) < 0 ||
	    dup2(record_fd, 1) < 0 || dup2(ctl, 3) < 0 || al_close_range(4, ~0U, 0) < 0)
		_exit(127);
	execl(core, "airlock-core", "egress-proxy", (char *)NULL);
	_exit(127);
}

/* The proxy's first word: its CA, or why it will not serve. */
static int
first_word(struct al_egress_proc *p, struct al_err *err)
{
	struct pollfd pfd = {.fd = p->ctl, .events = POLLIN};
	char msg[8192];
	ssize_t n;

	if (poll(&pfd, 1, START_TIMEOUT_MS) != 1)
		return al_err_set(err, -ETIMEDOUT, "egress: the proxy did not start in time");
	n = recv(p->ctl, msg, sizeof(msg) - 1, 0);
	if (n <= 0)
		return al_err_set(err, -EIO, "egress: the proxy ended before it started");
	msg[n] = '\0';
	if (strncmp(msg, "error\n", 6) == 0)
		return al_err_set(err, -EINVAL, "egress: %s", msg + 6);
	if (strncmp(msg, "ca\n-----BEGIN CERTIFICATE-----", 30) != 0)
		return al_err_set(err, -EPROTO, "egress: the proxy said something else");
	p->ca_pem = strdup(msg + 3);
	return p->ca_pem ? 0 : al_err_set(err, -ENOMEM, "out of memory");
}

static int
spawn(const char *core, const char *conf, size_t len, struct al_egress_proc *p, struct al_err *err)
{
	int sv[2], cp[2], r;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return al_err_set(err, -errno, "egress: socketpair: %s", strerror(errno));
	if (pipe2(cp, O_CLOEXEC) < 0) {
		close(sv[0]), close(sv[1]);
		return al_err_set(err, -errno, "egress: pipe: %s", strerror(errno));
	}
	p->ctl = sv[0];
	p->pid = fork();
	if (p->pid == 0)
		proxy_child(core, cp[0], p->record_fd, sv[1]);
	r = p->pid < 0 ? -errno : 0;
	close(sv[1]);
	close(cp[0]);
	if (r == 0)
		r = al_fd_write_all(cp[1], conf, len);
	close(cp[1]);
	if (p->pid < 0)
		p->pid = 0;
	if (r < 0)
		return al_err_set(err, r, "egress: starting the proxy: %s", strerror(-r));
	return first_word(p, err);
}

/* Only the run's CA, unless some host is an opaque tunnel, whose real certificate the
 * client checks: then the host's roots too (a client reads them all for every connection,
 * which costs curl ~50 ms each). */
static bool
has_tunnels(const char *conf, size_t len)
{
	json_t *j = json_loadb(conf, len, 0, NULL);
	bool any = json_array_size(json_object_get(j, "tunnel")) > 0;

	json_decref(j);
	return any;
}

static int
write_bundle(struct al_egress_proc *p, bool host_roots, struct al_err *err)
{
	_cleanup_free_ char *host = NULL;
	struct al_buf b;
	size_t len = 0;
	int r;

	snprintf(p->dir, sizeof(p->dir), "/tmp/airlock-egress-XXXXXX");
	if (!mkdtemp(p->dir)) {
		p->dir[0] = '\0';
		return al_err_set(err, -errno, "egress: mkdtemp: %s", strerror(errno));
	}
	if (chmod(p->dir, 0755) < 0)
		return al_err_set(err, -errno, "egress: chmod: %s", strerror(errno));
	snprintf(p->bundle, sizeof(p->bundle), "%s/ca-certificates.crt", p->dir);
	if (!host_roots || al_file_read(HOST_BUNDLE, HOST_BUNDLE_MAX, &host, &len, NULL) < 0)
		len = 0; /* only the run's CA */
	al_buf_init(&b, HOST_BUNDLE_MAX + 16384);
	r = al_buf_append(&b, host ? host : "", len);
	if (r == 0)
		r = al_buf_printf(&b, "%s%s", len && host[len - 1] != '\n' ? "\n" : "", p->ca_pem);
	if (r == 0)
		r = al_file_write_atomic(p->bundle, b.data, b.len, 0644, err);
	al_buf_free(&b);
	return r < 0 ? al_err_set(err, r, "egress: writing the trust bundle") : 0;
}

static int
make_env(struct al_egress_proc *p)
{
	size_t n = 0;

	for (size_t i = 0; i < AL_ARRAY_SIZE(proxy_vars); i++)
		if (asprintf(&p->env[n++], "%s=%s", proxy_vars[i], PROXY_URL) < 0)
			return p->env[n - 1] = NULL, -ENOMEM;
	for (size_t i = 0; i < AL_ARRAY_SIZE(no_proxy_vars); i++)
		if (asprintf(&p->env[n++], "%s=localhost,127.0.0.1", no_proxy_vars[i]) < 0)
			return p->env[n - 1] = NULL, -ENOMEM;
	for (size_t i = 0; i < AL_ARRAY_SIZE(ca_vars); i++)
		if (asprintf(&p->env[n++], "%s=%s", ca_vars[i], AL_EGRESS_BUNDLE_PATH) < 0)
			return p->env[n - 1] = NULL, -ENOMEM;
	return 0;
}

int
al_egress_start(const char *core, const char *conf, size_t conf_len, struct al_egress_proc *ret,
		struct al_err *err)
{
	struct al_egress_proc p = {.ctl = -1};
	int r;

	_Static_assert(AL_ARRAY_SIZE(proxy_vars) + AL_ARRAY_SIZE(no_proxy_vars) +
			       AL_ARRAY_SIZE(ca_vars) <=
			   AL_EGRESS_ENV_MAX,
		       "room for the variables");
	p.record_fd = memfd_create("airlock-egress", MFD_CLOEXEC);
	if (p.record_fd < 0)
		return al_err_set(err, -errno, "egress: memfd: %s", strerror(errno));
	r = spawn(core, conf, conf_len, &p, err);
	if (r == 0)
		r = write_bundle(&p, has_tunnels(conf, conf_len), err);
	if (r == 0 && make_env(&p) < 0)
		r = al_err_set(err, -ENOMEM, "out of memory");
	if (r < 0) {
		al_egress_proc_clear(&p);
		return r;
	}
	*ret = p;
	return 0;
}

int
al_egress_attach(int fd, const char *bundle, struct al_egress_proc *ret)
{
	struct stat st;

	memset(ret, 0, sizeof(*ret));
	ret->ctl = ret->record_fd = -1;
	if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return -EBADF;
	if (!bundle || bundle[0] != '/' || strlen(bundle) >= sizeof(ret->bundle))
		return -EINVAL;
	memcpy(ret->bundle, bundle, strlen(bundle) + 1);
	if (make_env(ret) < 0) {
		al_egress_proc_clear(ret);
		return -ENOMEM;
	}
	ret->ctl = fd;
	return 0;
}

void
al_egress_sandbox(struct al_egress_proc *p, struct al_sandbox_opts *o, const char *label,
		  struct al_bind *binds, size_t *n_binds, char **env, size_t *n_env)
{
	o->egress = 1;
	o->egress_fd = p->ctl;
	o->egress_label = label;
	binds[(*n_binds)++] = (struct al_bind){.src = p->bundle, .dst = AL_EGRESS_BUNDLE_PATH};
	for (size_t i = 0; p->env[i]; i++)
		env[(*n_env)++] = p->env[i];
	env[*n_env] = NULL;
}

/* The proxy drains its connections once told there are no more runs; one that does not
 * end in time is killed. */
static int
reap(struct al_egress_proc *p)
{
	struct timespec tick = {.tv_nsec = 10 * 1000 * 1000};
	int st = 0;

	for (int waited = 0; p->pid > 0; waited += 10) {
		pid_t w = waitpid(p->pid, &st, WNOHANG);

		if (w == p->pid || (w < 0 && errno != EINTR)) {
			p->pid = 0;
			break;
		}
		if (waited == EXIT_TIMEOUT_MS)
			kill(p->pid, SIGKILL);
		nanosleep(&tick, NULL);
	}
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

int
al_egress_finish(struct al_egress_proc *p, char **ret_record, size_t *ret_len, struct al_err *err)
{
	int r;

	if (p->ctl >= 0)
		close(p->ctl);
	p->ctl = -1;
	r = reap(p);
	if (r < 0)
		al_err_set(err, r, "egress: the proxy did not end cleanly");
	if (r == 0 && lseek(p->record_fd, 0, SEEK_SET) < 0)
		r = al_err_set(err, -errno, "egress: record: %s", strerror(errno));
	if (r == 0 &&
	    (r = al_fd_read_all(p->record_fd, AL_EGRESS_RECORD_MAX, ret_record, ret_len)) < 0)
		al_err_set(err, r, "egress: record: %s", strerror(-r));
	al_egress_proc_clear(p);
	return r;
}

void
al_egress_proc_clear(struct al_egress_proc *p)
{
	if (p->ctl >= 0)
		close(p->ctl);
	p->ctl = -1;
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
	if (p->record_fd >= 0)
		close(p->record_fd);
	p->record_fd = -1;
	for (size_t i = 0; p->env[i]; i++)
		free(p->env[i]);
	memset(p->env, 0, sizeof(p->env));
	free(p->ca_pem);
	p->ca_pem = NULL;
	if (p->dir[0]) { /* ours: attached ones belong to whoever started the proxy */
		unlink(p->bundle);
		rmdir(p->dir);
	}
	p->bundle[0] = p->dir[0] = '\0';
}
