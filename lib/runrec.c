/* The run record's statuses and its check on reading (see lib/runrec.h). */
#include "lib/runrec.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "lib/macros.h"

#define AL_RUN_STATUS_NAME_(s, meaning) [AL_RUN_##s] = #s,
static const char *const status_names[] = {AL_RUN_STATUSES(AL_RUN_STATUS_NAME_)};
#undef AL_RUN_STATUS_NAME_

enum kind { K_STRING, K_INTEGER, K_BOOLEAN, K_ARRAY };

static const char *const kind_names[] = {
    [K_STRING] = "a string",
    [K_INTEGER] = "an integer",
    [K_BOOLEAN] = "a boolean",
    [K_ARRAY] = "an array",
};

static const struct {
	const char *key;
	enum kind kind;
	int required;
} fields[] = {
    {AL_RUNREC_STATUS, K_STRING, 1},	      {AL_RUNREC_EXIT_CODE, K_INTEGER, 1},
    {AL_RUNREC_SIGNAL, K_INTEGER, 1},	      {AL_RUNREC_KILLED, K_BOOLEAN, 1},
    {AL_RUNREC_WALL_MS, K_INTEGER, 1},	      {AL_RUNREC_CPU_MS, K_INTEGER, 1},
    {AL_RUNREC_MAX_RSS_KB, K_INTEGER, 1},     {AL_RUNREC_STDOUT_BYTES, K_INTEGER, 1},
    {AL_RUNREC_STDOUT_DROPPED, K_INTEGER, 1}, {AL_RUNREC_STDERR_BYTES, K_INTEGER, 1},
    {AL_RUNREC_STDERR_DROPPED, K_INTEGER, 1}, {AL_RUNREC_DENIED, K_ARRAY, 1},
    {AL_RUNREC_SPAWN_US, K_INTEGER, 0},	      {AL_RUNREC_DETAIL, K_STRING, 0},
    {AL_RUNREC_STDOUT, K_STRING, 0},	      {AL_RUNREC_STDERR, K_STRING, 0},
    {AL_RUNREC_DISK_BYTES, K_INTEGER, 0},
};

const char *
al_runrec_status_name(enum al_run_status s)
{
	if ((unsigned)s >= AL_ARRAY_SIZE(status_names))
		return "??";
	return status_names[s];
}

int
al_runrec_status_parse(const char *name)
{
	for (size_t i = 0; name && i < AL_ARRAY_SIZE(status_names); i++)
		if (strcmp(name, status_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

static int
of_kind(const json_t *v, enum kind k)
{
	switch (k) {
	case K_STRING:
		return json_is_string(v);
	case K_INTEGER:
		return json_is_integer(v);
	case K_BOOLEAN:
		return json_is_boolean(v);
	case K_ARRAY:
		return json_is_array(v);
	}
	return 0;
}

static int
check_denied(const json_t *denied, struct al_err *err)
{
	size_t i;
	json_t *d;

	json_array_foreach (denied, i, d)
		if (!json_is_object(d) ||
		    !json_is_string(json_object_get(d, AL_RUNREC_DENIED_SYSCALL)) ||
		    !json_is_integer(json_object_get(d, AL_RUNREC_DENIED_COUNT)))
			return al_err_set(err, -EBADMSG,
					  "run record: " AL_RUNREC_DENIED "[%zu]: expected an "
					  "object with string " AL_RUNREC_DENIED_SYSCALL
					  " and integer " AL_RUNREC_DENIED_COUNT,
					  i);
	return 0;
}

int
al_runrec_check(const json_t *rec, struct al_err *err)
{
	const json_t *status = json_object_get(rec, AL_RUNREC_STATUS);
	const char *name;

	if (!json_is_object(rec))
		return al_err_set(err, -EBADMSG, "run record: expected an object");
	for (size_t i = 0; i < AL_ARRAY_SIZE(fields); i++) {
		const json_t *v = json_object_get(rec, fields[i].key);

		if (!v && fields[i].required)
			return al_err_set(err, -EBADMSG, "run record: %s missing", fields[i].key);
		if (v && !of_kind(v, fields[i].kind))
			return al_err_set(err, -EBADMSG, "run record: %s: expected %s",
					  fields[i].key, kind_names[fields[i].kind]);
	}
	/* a NUL inside would compare equal to a name up to it */
	name = json_string_value(status);
	if (al_runrec_status_parse(name) < 0 || strlen(name) != json_string_length(status))
		return al_err_set(err, -EBADMSG, "run record: status '%s' is not a run status",
				  name);
	return check_denied(json_object_get(rec, AL_RUNREC_DENIED), err);
}
