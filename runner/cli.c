/* `airlock sandbox` and `airlock doctor`: the sandbox as a tool of its own. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/egress.h"
#include "runner/record.h"
#include "runner/runner.h"
#include "runner/sandbox.h"

#define MAX_BINDS 64
#define MAX_ENV 64
#define MAX_ALLOW 64
#define EXIT_SANDBOX_FAILED 125
#define EXIT_USAGE 64

static const char sandbox_usage[] =
    "usage: airlock sandbox [--timeout S] [--memory BYTES] [--pids N] [--cpu PERCENT]\n"
    "         [--disk-size BYTES] [--ro-bind SRC[:DST]]... [--bind SRC[:DST]]...\n"
    "         [--workdir DIR [--overlay]] [--env NAME=VALUE]... [--record FILE]\n"
    "         [--allow-host HOST]... [--egress FILE] [--root DIR]\n"
    "         [--layer DIR]... [--upper DIR] -- CMD [ARG]...\n";

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

static int
usage_error(const char *what, const char *arg)
{
	fprintf(stderr, "airlock: sandbox: %s%s%s\n%s", what, arg ? ": " : "", arg ? arg : "",
		sandbox_usage);
	return -EINVAL;
}

/* "1048576", "64K", "512M", "2G". */
static int
parse_size(const char *s, size_t *ret)
{
	char *end;
	unsigned long long n;
	unsigned shift = 0;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -EINVAL;
	if (*end == 'K' || *end == 'k')
		shift = 10, end++;
	else if (*end == 'M' || *end == 'm')
		shift = 20, end++;
	else if (*end == 'G' || *end == 'g')
		shift = 30, end++;
	if (*end || n == 0 || n > (1ULL << 50) >> shift)
		return -EINVAL;
	*ret = (size_t)(n << shift);
	return 0;
}

static int
parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *ret)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || n < lo || n > hi)
		return -EINVAL;
	*ret = (unsigned)n;
	return 0;
}

static int
parse_timeout(const char *s, unsigned *ret_ms)
{
	char *end;
	double t;

	errno = 0;
	t = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(t) || t <= 0 || t > 86400)
		return -EINVAL;
	*ret_ms = (unsigned)(t * 1000.0 + 0.5);
	return *ret_ms ? 0 : -EINVAL;
}

static int
add_bind(struct sandbox_cli *c, const char *spec, int writable)
{
	char *copy, *colon;

	if (c->n_binds == MAX_BINDS)
		return usage_error("too many binds", NULL);
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	c->bind_text[c->n_binds] = copy; /* freed by cli_clear whatever happens next */
	c->binds[c->n_binds++] = (struct al_bind){.src = copy, .writable = writable};
	colon = strchr(copy, ':');
	if (colon)
		*colon++ = '\0';
	if (copy[0] != '/' || (colon && colon[0] != '/'))
		return usage_error("bind paths must be absolute", spec);
	c->binds[c->n_binds - 1].dst = colon;
	return 0;
}

static int
add_env(struct sandbox_cli *c, const char *kv)
{
	const char *eq = strchr(kv, '=');
	size_t n = eq ? (size_t)(eq - kv) : 0;
	static const char first[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_";

	if (!eq || n == 0 || !strchr(first, kv[0]) ||
	    strspn(kv, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != n)
		return usage_error("--env wants NAME=VALUE", kv);
	if (c->n_env == MAX_ENV)
		return usage_error("too many --env", NULL);
	c->env[c->n_env++] = (char *)kv;
	return 0;
}

static int
sandbox_parse(int argc, char **argv, struct sandbox_cli *c)
{
	static const struct option opts[] = {{"timeout", required_argument, NULL, 't'},
					     {"memory", required_argument, NULL, 'm'},
					     {"pids", required_argument, NULL, 'p'},
					     {"cpu", required_argument, NULL, 'c'},
					     {"disk-size", required_argument, NULL, 's'},
					     /* the name it had when the cap was /tmp's alone */
					     {"tmp-size", required_argument, NULL, 's'},
					     {"overlay", no_argument, NULL, 'O'},
					     {"ro-bind", required_argument, NULL, 'r'},
					     {"bind", required_argument, NULL, 'b'},
					     {"workdir", required_argument, NULL, 'w'},
					     {"env", required_argument, NULL, 'e'},
					     {"record", required_argument, NULL, 'R'},
					     {"allow-host", required_argument, NULL, 'A'},
					     {"egress", required_argument, NULL, 'E'},
					     {"root", required_argument, NULL, 'I'},
					     {"layer", required_argument, NULL, 'L'},
					     {"upper", required_argument, NULL, 'U'},
					     {NULL, 0, NULL, 0}};
	int ch, r = 0;

	while (r == 0 && (ch = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (ch == 't')
			r = parse_timeout(optarg, &c->o.timeout_ms)
				? usage_error("bad --timeout", optarg)
				: 0;
		else if (ch == 'm')
			r = parse_size(optarg, &c->o.memory_bytes)
				? usage_error("bad --memory", optarg)
				: 0;
		else if (ch == 'p')
			r = parse_uint(optarg, 1, 1u << 22, &c->o.pids_max)
				? usage_error("bad --pids", optarg)
				: 0;
		else if (ch == 'c')
			r = parse_uint(optarg, 1, 100 * 1024, &c->o.cpu_percent)
				? usage_error("bad --cpu", optarg)
				: 0;
		else if (ch == 's')
			r = parse_size(optarg, &c->o.disk_bytes)
				? usage_error("bad --disk-size", optarg)
				: 0;
		else if (ch == 'O')
			c->o.workspace_overlay = 1;
		else if (ch == 'r' || ch == 'b')
			r = add_bind(c, optarg, ch == 'b');
		else if (ch == 'w')
			c->workdir = optarg;
		else if (ch == 'e')
			r = add_env(c, optarg);
		else if (ch == 'R')
			c->record = optarg;
		else if (ch == 'A' && c->n_allow == MAX_ALLOW)
			r = usage_error("too many --allow-host", NULL);
		else if (ch == 'A')
			c->allow[c->n_allow++] = optarg;
		else if (ch == 'E')
			c->egress_file = optarg;
		else if (ch == 'I')
			c->o.root_image = optarg;
		else if (ch == 'L' && c->o.n_layers == AL_SANDBOX_MAX_LAYERS)
			r = usage_error("too many --layer", NULL);
		else if (ch == 'L')
			c->layers[c->o.n_layers++] = optarg;
		else if (ch == 'U')
			c->o.upper_dir = optarg;
		else
			r = usage_error("unknown option", NULL);
	}
	if (r == 0 && optind >= argc)
		r = usage_error("no command given", NULL);
	if (r < 0)
		return r;
	c->o.argv = argv + optind;
	c->o.env_extra = c->env;
	c->o.binds = c->binds;
	c->o.n_binds = c->n_binds;
	c->o.layers = c->layers;
	return 0;
}

/* --egress FILE (or nothing), with each --allow-host added to its allow list. */
static char *
egress_conf(const struct sandbox_cli *c)
{
	json_error_t je;
	json_t *root = c->egress_file ? json_load_file(c->egress_file, JSON_REJECT_DUPLICATES, &je)
				      : json_object();
	json_t *allow;
	char *text = NULL;

	if (!root) {
		fprintf(stderr, "airlock: sandbox: --egress %s: %s\n", c->egress_file, je.text);
		return NULL;
	}
	allow = json_object_get(root, "allow");
	if (json_is_object(root) && !allow)
		json_object_set_new(root, "allow", allow = json_array());
	if (!json_is_array(allow)) {
		fprintf(stderr,
			"airlock: sandbox: --egress %s: want an object with an allow array\n",
			c->egress_file);
		json_decref(root);
		return NULL;
	}
	for (size_t i = 0; i < c->n_allow; i++)
		json_array_append_new(allow, json_string(c->allow[i]));
	json_object_set_new(root, "run", json_string("sandbox"));
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	return text;
}

/* airlock-core beside this binary (or this binary, when it is airlock-core). */
static int
core_path(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	if (n < 0)
		return -errno;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash || (size_t)(slash - buf) + sizeof("/airlock-core") > size)
		return -ENAMETOOLONG;
	memcpy(slash, "/airlock-core", sizeof("/airlock-core"));
	return 0;
}

/* The proxy, when the command is given a way out. */
static int
egress_begin(struct sandbox_cli *c)
{
	char core[PATH_MAX];
	_cleanup_free_ char *conf = NULL;
	struct al_err err = {0};
	int r;

	if (!c->egress_file && c->n_allow == 0)
		return 0;
	conf = egress_conf(c);
	if (!conf)
		return -EINVAL;
	if ((r = core_path(core, sizeof(core))) < 0) {
		fprintf(stderr, "airlock: sandbox: /proc/self/exe: %s\n", strerror(-r));
		return r;
	}
	if ((r = al_egress_start(core, conf, strlen(conf), &c->egress, &err)) < 0) {
		fprintf(stderr, "airlock: sandbox: %s\n", al_err_msg(&err));
		return r;
	}
	al_egress_sandbox(&c->egress, &c->o, "sandbox", c->binds, &c->n_binds, c->env, &c->n_env);
	c->o.n_binds = c->n_binds;
	return 0;
}

static json_t *
egress_json(const char *record)
{
	json_t *a = json_array();
	const char *p = record;

	while (a && p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		json_t *j = json_loadb(p, n, 0, NULL);

		if (j)
			json_array_append_new(a, j);
		p = nl ? nl + 1 : NULL;
	}
	return a;
}

/* Each refused connection on stderr, so a user sees what to allow. */
static int
egress_end(struct sandbox_cli *c)
{
	struct al_err err = {0};
	size_t len = 0, i;
	json_t *all, *j;

	if (!c->o.egress)
		return 0;
	if (al_egress_finish(&c->egress, &c->egress_record, &len, &err) < 0) {
		fprintf(stderr, "airlock: sandbox: %s\n", al_err_msg(&err));
		return -EIO;
	}
	all = egress_json(c->egress_record);
	json_array_foreach (all, i, j) {
		if (strcmp(json_string_value(json_object_get(j, "decision")) ?: "", "denied") == 0)
			fprintf(stderr, "airlock: egress: denied %s:%lld: %s\n",
				json_string_value(json_object_get(j, "host")),
				(long long)json_integer_value(json_object_get(j, "port")),
				json_string_value(json_object_get(j, "reason")));
	}
	json_decref(all);
	return 0;
}

static int
write_record(const char *path, const struct al_run_record *rec, const char *egress)
{
	json_t *j = al_run_record_json(rec, 0, NULL);
	char *text;

	if (j && egress)
		json_object_set_new(j, "egress", egress_json(egress));
	text = j ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
	struct al_err err = {0};
	int r = text ? al_file_write_atomic(path, text, strlen(text), 0644, &err) : -ENOMEM;

	if (r < 0)
		fprintf(stderr, "airlock: sandbox: --record %s: %s\n", path, al_err_msg(&err));
	free(text);
	json_decref(j);
	return r;
}

/* bubblewrap's convention: a death by signal becomes 128+signal. */
static int
exit_status(const struct al_run_record *rec)
{
	switch (rec->status) {
	case AL_RUN_OK:
	case AL_RUN_RE:
		return rec->exit_code;
	case AL_RUN_DISK: /* the command's own end, with its disk full */
		return rec->exit_code >= 0 ? rec->exit_code : 128 + rec->signal;
	case AL_RUN_SG:
	case AL_RUN_TO:
	case AL_RUN_OOM:
		return 128 + (rec->signal ? rec->signal : 9);
	case AL_RUN_XX:
		break;
	}
	return EXIT_SANDBOX_FAILED;
}

static void
cli_clear(struct sandbox_cli *c)
{
	for (size_t i = 0; i < c->n_binds && c->bind_text[i]; i++)
		free(c->bind_text[i]);
	al_egress_proc_clear(&c->egress);
	free(c->egress_record);
}

int
al_cli_sandbox(int argc, char **argv)
{
	struct sandbox_cli c = {.egress = {.ctl = -1, .record_fd = -1}};
	struct al_run_record rec = {0};
	struct al_err err = {0};
	int r, status;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return fputs(sandbox_usage, stdout), 0;
	al_sandbox_default_ids(&c.o.host_uid, &c.o.host_gid);
	if (sandbox_parse(argc, argv, &c) < 0) {
		cli_clear(&c);
		return EXIT_USAGE;
	}
	/* Without --workdir, /work is an empty tmpfs that goes away with the sandbox. */
	c.o.workspace = c.workdir;
	if (egress_begin(&c) < 0) {
		cli_clear(&c);
		return EXIT_SANDBOX_FAILED;
	}
	r = al_sandbox_run(&c.o, &rec, &err);
	if (r < 0) {
		cli_clear(&c);
		fprintf(stderr, "airlock: sandbox: %s\n", al_err_msg(&err));
		return EXIT_SANDBOX_FAILED;
	}
	fwrite(rec.out ? rec.out : "", 1, rec.out_len, stdout);
	fflush(stdout);
	fwrite(rec.err ? rec.err : "", 1, rec.err_len, stderr);
	if (rec.status == AL_RUN_XX)
		fprintf(stderr, "airlock: sandbox: %s\n", rec.detail);
	status = exit_status(&rec);
	if (egress_end(&c) < 0)
		status = EXIT_SANDBOX_FAILED;
	if (c.record && write_record(c.record, &rec, c.egress_record) < 0)
		status = EXIT_SANDBOX_FAILED;
	cli_clear(&c);
	al_sandbox_record_clear(&rec);
	return status;
}

int
al_cli_doctor(int argc, char **argv)
{
	struct al_host_support h = {0};
	int r;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return fputs("usage: airlock doctor\n", stdout), 0;
	if (argc != 1) {
		fprintf(stderr, "usage: airlock doctor\n");
		return EXIT_USAGE;
	}
	r = al_doctor_run(&h);
	printf("user namespaces: %s\n", h.user_namespaces ? "yes" : "no");
	if (h.cgroup_version)
		printf("cgroups: v%d (%s)\n", h.cgroup_version, h.cgroup_controllers);
	else
		printf("cgroups: none usable\n");
	printf("seccomp: %s (user notification: %s)\n", h.seccomp ? "yes" : "no",
	       h.seccomp_notify ? "yes" : "no");
	printf("pivot_root: %s\n", h.pivot_root ? "yes" : "no");
	printf("overlay: %s\n", h.overlay ? "layered, in a user namespace (warm trees)"
					  : "not available (each run copies its tree)");
	printf("sandbox: %s\n", h.sandbox_ran ? "/bin/true ran isolated" : "could not run");
	printf("runner: %s\n",
	       h.runner_confined ? "confined (secrets covered, ids mapped)" : "cannot be confined");
	if (h.problems[0])
		printf("%s%s", h.problems, h.problems[strlen(h.problems) - 1] == '\n' ? "" : "\n");
	if (r < 0) {
		printf("not ok: this host cannot isolate gate commands\n");
		return 1;
	}
	printf("ok: this host can isolate gate commands\n");
	return 0;
}
