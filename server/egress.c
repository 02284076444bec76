/* A job's path out: see egress.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "server/egress.h"
#include "server/metrics.h"

#define DENIED_SHOWN 64

int
al_job_egress_start(const char *core, const struct al_policy *policy, const char *phase,
		    const char *job_id, struct al_job_egress *e, struct al_err *err)
{
	const json_t *gate = al_policy_egress(policy, phase);
	json_t *conf;
	char *text;
	int r;

	memset(e, 0, sizeof(*e));
	e->proc.ctl = e->proc.record_fd = -1;
	e->started = true;
	e->fd = strcmp(phase, "setup") ? AL_JOB_EGRESS_FD : AL_JOB_SETUP_EGRESS_FD;
	if (!gate)
		return 0;
	conf = json_deep_copy(gate);
	if (conf)
		json_object_set_new(conf, "run", json_stringn(job_id, strnlen(job_id, 16)));
	text = conf ? json_dumps(conf, JSON_COMPACT) : NULL;
	json_decref(conf);
	if (!text)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_egress_start(core, text, strlen(text), &e->proc, err);
	free(text);
	if (r < 0)
		return r;
	e->on = true;
	/* dup2 onto itself would leave it close-on-exec in the runner, and onto the other
	 * proxy's fd would close that one: above both */
	if (e->proc.ctl <= AL_JOB_SETUP_EGRESS_FD) {
		int fd = fcntl(e->proc.ctl, F_DUPFD_CLOEXEC, AL_JOB_SETUP_EGRESS_FD + 1);

		if (fd < 0)
			return al_err_set(err, -errno, "egress: fcntl: %s", strerror(errno));
		close(e->proc.ctl);
		e->proc.ctl = fd;
	}
	return 0;
}

json_t *
al_job_egress_spec(const struct al_job_egress *e)
{
	if (!e->on)
		return NULL;
	return json_pack("{s:i, s:s}", "fd", e->fd, "bundle", e->proc.bundle);
}

int
al_job_egress_fd(const struct al_job_egress *e)
{
	return e->on ? e->proc.ctl : -1;
}

void
al_job_egress_handed(struct al_job_egress *e)
{
	if (e->on && e->proc.ctl >= 0) {
		close(e->proc.ctl);
		e->proc.ctl = -1;
	}
}

static json_t *
parse_lines(const char *text)
{
	json_t *a = json_array();

	while (a && text && *text) {
		const char *nl = strchr(text, '\n');
		size_t n = nl ? (size_t)(nl - text) : strlen(text);
		json_t *j = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);

		if (json_is_object(j)) {
			al_metrics_egress(json_string_value(json_object_get(j, "host")),
					  json_string_value(json_object_get(j, "decision")));
			json_array_append_new(a, j);
		} else {
			json_decref(j);
		}
		text = nl ? nl + 1 : NULL;
	}
	return a;
}

int
al_job_egress_finish(struct al_job_egress *e, json_t **ret, struct al_err *err)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*ret = NULL;
	if (!e->on) {
		*ret = json_array();
		return *ret ? 0 : al_err_set(err, -ENOMEM, "out of memory");
	}
	r = al_egress_finish(&e->proc, &text, &len, err);
	e->on = false;
	if (r < 0)
		return r;
	*ret = parse_lines(text);
	free(text);
	return *ret ? 0 : al_err_set(err, -ENOMEM, "out of memory");
}

json_t *
al_job_egress_summary(const json_t *connections)
{
	json_t *denied = json_array(), *c;
	size_t i, n = 0;

	json_array_foreach (connections, i, c) {
		const char *d = json_string_value(json_object_get(c, "decision"));
		char line[600];

		if (!d || strcmp(d, "denied") || ++n > DENIED_SHOWN)
			continue;
		snprintf(line, sizeof(line), "%s:%lld: %s",
			 json_string_value(json_object_get(c, "host")) ?: "-",
			 (long long)json_integer_value(json_object_get(c, "port")),
			 json_string_value(json_object_get(c, "reason")) ?: "");
		json_array_append_new(denied, json_string(line));
	}
	return json_pack("{s:I, s:I, s:o}", "connections", (json_int_t)json_array_size(connections),
			 "denied_count", (json_int_t)n, "denied", denied);
}

void
al_job_egress_clear(struct al_job_egress *e)
{
	/* a job that ended before its runs never started one: its zeroed fds are not ours */
	if (e->started)
		al_egress_proc_clear(&e->proc);
	e->on = e->started = false;
}

void
al_job_egress_secret_files(const struct al_policy *policy, json_t *paths)
{
	static const char *const phases[] = {"gate", "setup"};
	json_t *s;
	size_t i;

	for (size_t ph = 0; ph < 2; ph++)
		json_array_foreach (
		    json_object_get(al_policy_egress(policy, phases[ph]), "secrets"), i, s) {
			const char *f = json_string_value(json_object_get(s, "file"));

			if (f)
				json_array_append_new(paths, json_string(f));
		}
}
