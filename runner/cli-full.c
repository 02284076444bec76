/* What `airlock sandbox` needs beyond the lean front, all of it JSON: --egress and
 * --allow-host (the proxy's configuration and record) and --record; and `airlock doctor`.
 * The front hands any command line asking for these to airlock-core, which runs it here. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/cli.h"
#include "runner/record.h"
#include "runner/runner.h"

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
write_record(const struct sandbox_cli *c, const struct al_run_record *rec)
{
	const char *path = c->record, *egress = c->egress_record;
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

static void
extras_clear(struct sandbox_cli *c)
{
	al_egress_proc_clear(&c->egress);
	free(c->egress_record);
}

static const struct al_cli_extras extras = {
    .begin = egress_begin, .end = egress_end, .record = write_record, .clear = extras_clear};

int
al_cli_sandbox(int argc, char **argv)
{
	return al_cli_sandbox_with(argc, argv, &extras);
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
		return AL_CLI_EXIT_USAGE;
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
