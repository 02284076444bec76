/* Automatic quarantine: the anomalies a finished job counts for (escape-class syscalls its
 * sandbox denied, secrets or path rules that rejected it, runs killed at a cap, a
 * rejection), the policy's "quarantine" object, and the decision over a window's counts. */
#include "gates/quarantine.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"
#include "gates/schema.h"
#include "lib/macros.h"
#include "lib/runrec.h"

#define KEY_(id, key, def, what) [AL_ANOMALY_##id] = key,
static const char *const keys[AL_ANOMALY_N] = {AL_ANOMALY_KINDS(KEY_)};
#undef KEY_
#define WHAT_(id, key, def, what) [AL_ANOMALY_##id] = what,
static const char *const whats[AL_ANOMALY_N] = {AL_ANOMALY_KINDS(WHAT_)};
#undef WHAT_
#define DEF_(id, key, def, what) [AL_ANOMALY_##id] = def,
static const unsigned defaults[AL_ANOMALY_N] = {AL_ANOMALY_KINDS(DEF_)};
#undef DEF_

/* Denied, these say a test tried to leave the sandbox or reach the kernel's soft spots.
 * Left out on purpose: calls a runtime probes on its own (io_uring, socket families,
 * personality, ioctl, the clock, syslog), which a clean test suite may trip. */
static const char *const escape_calls[] = {
    /* other processes and their memory */
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    /* the kernel's keyrings, BPF, perf, page-fault handling */
    "keyctl",
    "add_key",
    "request_key",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    /* the mount table */
    "mount",
    "umount2",
    "pivot_root",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsmount",
    "fsconfig",
    "fspick",
    "mount_setattr",
    /* namespaces: made (clone with CLONE_NEW*) or joined */
    "unshare",
    "setns",
    "clone",
    /* the machine itself */
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "open_by_handle_at",
    /* the record names only so many calls and counts the rest under this: filling it with
     * harmless denials first must not hide an escape */
    "(other)",
};

/* Static rules an honest patch has no reason to trip again and again: a secret in an
 * added line; a path into .git/, out of the tree (..) or absolute; a symlink out. */
static const char *const static_rules[] = {"static.secrets", "static.paths", "static.symlinks"};

const char *
al_gates_anomaly_key(enum al_anomaly_kind k)
{
	return (unsigned)k < AL_ANOMALY_N ? keys[k] : "?";
}

const char *
al_gates_anomaly_what(enum al_anomaly_kind k)
{
	return (unsigned)k < AL_ANOMALY_N ? whats[k] : "?";
}

bool
al_gates_escape_syscall(const char *name)
{
	for (size_t i = 0; name && i < AL_ARRAY_SIZE(escape_calls); i++)
		if (!strcmp(name, escape_calls[i]))
			return true;
	return false;
}

/* Adds name to the comma-separated list once; what does not fit is left out. */
static void
add_call(char *list, size_t size, const char *name)
{
	size_t have = strlen(list), n = strlen(name), at = 0;

	while (at < have) {
		size_t len = strcspn(list + at, ",");

		if (len == n && !strncmp(list + at, name, n))
			return;
		at += len + 1;
	}
	if (have + n + 2 <= size)
		snprintf(list + have, size - have, "%s%s", have ? "," : "", name);
}

static void
count_runs(const json_t *runs, struct al_anomaly *a)
{
	size_t i, k;
	json_t *run, *d;

	json_array_foreach (runs, i, run) {
		int st;

		if (al_runrec_check(run, NULL) < 0)
			continue;
		st = al_runrec_status_parse(
		    json_string_value(json_object_get(run, AL_RUNREC_STATUS)));
		if (st == AL_RUN_TO || st == AL_RUN_OOM)
			a->n[AL_ANOMALY_KILL] = 1;
		json_array_foreach (json_object_get(run, AL_RUNREC_DENIED), k, d) {
			const char *name =
			    json_string_value(json_object_get(d, AL_RUNREC_DENIED_SYSCALL));

			if (json_integer_value(json_object_get(d, AL_RUNREC_DENIED_COUNT)) > 0 &&
			    al_gates_escape_syscall(name)) {
				a->n[AL_ANOMALY_ESCAPE] = 1;
				add_call(a->calls, sizeof(a->calls), name);
			}
		}
	}
}

static bool
static_hit(const json_t *rule)
{
	const char *name = json_string_value(json_object_get(rule, "rule"));
	const char *result = json_string_value(json_object_get(rule, "result"));

	if (!name || !result || strcmp(result, AL_RULE_UNSATISFIED))
		return false;
	for (size_t i = 0; i < AL_ARRAY_SIZE(static_rules); i++)
		if (!strcmp(name, static_rules[i]))
			return true;
	return false;
}

void
al_gates_anomaly(const json_t *result, const json_t *verdict, const char *state,
		 struct al_anomaly *ret)
{
	size_t i;
	json_t *rule;

	memset(ret, 0, sizeof(*ret));
	count_runs(json_object_get(result, "runs"), ret);
	json_array_foreach (json_object_get(verdict, "rules"), i, rule)
		if (static_hit(rule))
			ret->n[AL_ANOMALY_STATIC] = 1;
	ret->n[AL_ANOMALY_REJECTED] = state && !strcmp(state, "rejected");
	json_array_foreach (json_object_get(result, "egress"), i, rule) {
		const char *d = json_string_value(json_object_get(rule, "decision"));

		if (d && !strcmp(d, "denied"))
			ret->n[AL_ANOMALY_EGRESS] = 1;
	}
}

void
al_gates_quarantine_defaults(struct al_quarantine_rules *q)
{
	q->window_s = AL_QUARANTINE_WINDOW_DEFAULT_MIN * 60;
	memcpy(q->limit, defaults, sizeof(q->limit));
}

void
al_policy_quarantine(const struct al_policy *p, struct al_quarantine_rules *ret)
{
	if (p)
		*ret = p->quarantine;
	else
		al_gates_quarantine_defaults(ret);
}

static int
kind_of(const char *path)
{
	const char *dot = strrchr(path, '.');

	for (int k = 0; dot && k < AL_ANOMALY_N; k++)
		if (!strcmp(dot + 1, keys[k]))
			return k;
	return -1;
}

static int
q_limit(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	int k = kind_of(path);
	size_t n;
	int r;

	if (k < 0)
		return al_err_set(err, -EINVAL, "%s: unknown key", path);
	r = al_schema_int_range(v, 0, AL_QUARANTINE_LIMIT_MAX, path, &n, err);
	if (r == 0)
		p->quarantine.limit[k] = (unsigned)n;
	return r;
}

static int
q_window(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	size_t n;
	int r = al_schema_int_in(v, AL_QUARANTINE_WINDOW_MAX_MIN, path, &n, err);

	if (r == 0)
		p->quarantine.window_s = (unsigned)n * 60;
	return r;
}

#define ROW_(id, key, def, what) {key, AL_SCHEMA_INTEGER, false, q_limit},
static const struct al_schema_key quarantine_keys[] = {
    {"window_minutes", AL_SCHEMA_INTEGER, false, q_window}, AL_ANOMALY_KINDS(ROW_)};
#undef ROW_

int
al_gates_quarantine_parse(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	return al_schema_walk(v, quarantine_keys, AL_ARRAY_SIZE(quarantine_keys), ctx, path, err);
}

int
al_gates_quarantine_due(const struct al_quarantine_rules *q, const struct al_anomaly *counts,
			char *reason, size_t n)
{
	for (int k = 0; k < AL_ANOMALY_N; k++) {
		if (q->limit[k] == 0 || counts->n[k] < q->limit[k])
			continue;
		snprintf(reason, n, "%u %s in %u min%s%s%s", counts->n[k], whats[k],
			 q->window_s / 60, k == AL_ANOMALY_ESCAPE && counts->calls[0] ? " (" : "",
			 k == AL_ANOMALY_ESCAPE ? counts->calls : "",
			 k == AL_ANOMALY_ESCAPE && counts->calls[0] ? ")" : "");
		return k;
	}
	return -1;
}
