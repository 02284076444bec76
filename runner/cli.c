/* `airlock sandbox`: the sandbox as a tool of its own. This part has no JSON, so the lean
 * front (runner/front.c) runs it; runner/cli-full.c adds what needs JSON. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/cli.h"

static const char sandbox_usage[] =
    "usage: airlock sandbox [--timeout S] [--memory BYTES] [--pids N] [--cpu PERCENT]\n"
    "         [--disk-size BYTES] [--ro-bind SRC[:DST]]... [--bind SRC[:DST]]...\n"
    "         [--workdir DIR [--overlay]] [--env NAME=VALUE]... [--record FILE]\n"
    "         [--allow-host HOST]... [--egress FILE] [--root DIR]\n"
    "         [--layer DIR]... [--upper DIR] -- CMD [ARG]...\n";

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

/* Every option takes a value but --overlay. */
static const struct option sandbox_opts[] = {{"timeout", required_argument, NULL, 't'},
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

static int
sandbox_parse(int argc, char **argv, struct sandbox_cli *c)
{
	int ch, r = 0;

	/* the messages are ours, the same whichever libc this was built with */
	opterr = 0;
	while (r == 0 && (ch = getopt_long(argc, argv, "+:", sandbox_opts, NULL)) != -1) {
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
		else if (ch == ':')
			r = usage_error("missing value for", argv[optind - 1]);
		else
			r = usage_error("unknown option", argv[optind - 1]);
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
	return AL_CLI_EXIT_FAILED;
}

static void
cli_clear(struct sandbox_cli *c, const struct al_cli_extras *x)
{
	for (size_t i = 0; i < c->n_binds && c->bind_text[i]; i++)
		free(c->bind_text[i]);
	if (x)
		x->clear(c);
}

int
al_cli_sandbox_with(int argc, char **argv, const struct al_cli_extras *x)
{
	struct sandbox_cli c = {.egress = {.ctl = -1, .record_fd = -1}};
	struct al_run_record rec = {0};
	struct al_err err = {0};
	int r, status;

	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return fputs(sandbox_usage, stdout), 0;
	al_sandbox_default_ids(&c.o.host_uid, &c.o.host_gid);
	if (sandbox_parse(argc, argv, &c) < 0) {
		cli_clear(&c, x);
		return AL_CLI_EXIT_USAGE;
	}
	if (!x && (c.record || c.egress_file || c.n_allow)) {
		cli_clear(&c, x);
		return AL_CLI_TO_CORE;
	}
	/* Without --workdir, /work is an empty tmpfs that goes away with the sandbox. */
	c.o.workspace = c.workdir;
	/* we exit right after: the init's own teardown need not be waited for, except for
	 * the CPU time and memory a record reports */
	c.o.no_reap = c.record == NULL;
	if (x && x->begin(&c) < 0) {
		cli_clear(&c, x);
		return AL_CLI_EXIT_FAILED;
	}
	r = al_sandbox_run(&c.o, &rec, &err);
	if (r < 0) {
		cli_clear(&c, x);
		fprintf(stderr, "airlock: sandbox: %s\n", al_err_msg(&err));
		return AL_CLI_EXIT_FAILED;
	}
	fwrite(rec.out ? rec.out : "", 1, rec.out_len, stdout);
	fflush(stdout);
	fwrite(rec.err ? rec.err : "", 1, rec.err_len, stderr);
	if (rec.status == AL_RUN_XX)
		fprintf(stderr, "airlock: sandbox: %s\n", rec.detail);
	status = exit_status(&rec);
	if (x && x->end(&c) < 0)
		status = AL_CLI_EXIT_FAILED;
	if (x && c.record && x->record(&c, &rec) < 0)
		status = AL_CLI_EXIT_FAILED;
	cli_clear(&c, x);
	al_sandbox_record_clear(&rec);
	return status;
}
