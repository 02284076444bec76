/* The policy's reproduce and contract sections: the commands airlock runs on both sides of
 * a patch, how often, and the report each writes. */
#include "gates/contracts.h"

#include <errno.h>
#include <string.h>

#include "gates/internal.h"
#include "gates/schema.h"
#include "lib/macros.h"

int
al_contracts_parse_command(const json_t *v, const char *path, json_t **ret, struct al_err *err)
{
	char sub[AL_SCHEMA_PATH_MAX];
	size_t i;
	json_t *e;
	int r;

	if (json_array_size(v) == 0)
		return al_err_set(err, -EINVAL, "%s: expected a non-empty array", path);
	if (json_array_size(v) > AL_POLICY_MAX_ARGV)
		return al_err_set(err, -EINVAL, "%s: more than %d elements", path,
				  AL_POLICY_MAX_ARGV);
	json_array_foreach (v, i, e) {
		al_schema_path_index(sub, path, i);
		r = al_schema_string(e, AL_POLICY_MAX_ARG_LEN, sub, err);
		if (r < 0)
			return r;
	}
	*ret = json_deep_copy(v);
	return *ret ? 0 : al_err_set(err, -ENOMEM, "%s: out of memory", path);
}

static int
reproduce_command(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return al_contracts_parse_command(v, path, &p->reproduce, err);
}

static int
reproduce_repeat(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;
	size_t n = 1;
	int r;

	r = al_schema_int_in(v, AL_POLICY_REPEAT_MAX, path, &n, err);
	if (r < 0)
		return r;
	p->repeat = (unsigned)n;
	return 0;
}

/* A report format name, as the runner knows it; the static copy outlives the policy json. */
static int
report_format(const json_t *v, const char *path, const char **ret, struct al_err *err)
{
	static const char *const formats[] = {"junit", "tap"};

	for (size_t i = 0; i < AL_ARRAY_SIZE(formats); i++)
		if (!strcmp(json_string_value(v), formats[i])) {
			*ret = formats[i];
			return 0;
		}
	return al_err_set(err, -EINVAL, "%s: expected \"junit\" or \"tap\"", path);
}

static int
reproduce_report(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct al_policy *p = ctx;

	return report_format(v, path, &p->report, err);
}

static const struct al_schema_key reproduce_keys[] = {
    {"command", AL_SCHEMA_ARRAY, true, reproduce_command},
    {"repeat", AL_SCHEMA_INTEGER, false, reproduce_repeat},
    {"report", AL_SCHEMA_STRING, false, reproduce_report},
};

int
al_contracts_parse_reproduce(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	return al_schema_walk(v, reproduce_keys, AL_ARRAY_SIZE(reproduce_keys), ctx, path, err);
}

struct contract_entry {
	const char *name;   /* borrowed from the policy json */
	json_t *command;    /* owned */
	const char *report; /* static; NULL when the command writes none */
	bool exit_code;	    /* judged by exit codes alone, even when base fails */
};

static int
contract_name(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry *c = ctx;

	if (!al_schema_name_ok(json_string_value(v), json_string_length(v)))
		return al_err_set(err, -EINVAL,
				  "%s: expected 1 to %d characters from [A-Za-z0-9_.-]", path,
				  AL_POLICY_MAX_NAME);
	c->name = json_string_value(v);
	return 0;
}

static int
contract_command(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry *c = ctx;

	return al_contracts_parse_command(v, path, &c->command, err);
}

static int
contract_report(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry *c = ctx;

	return report_format(v, path, &c->report, err);
}

static int
contract_judge(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry *c = ctx;

	if (!strcmp(json_string_value(v), "tests"))
		c->exit_code = false;
	else if (!strcmp(json_string_value(v), "exit_code"))
		c->exit_code = true;
	else
		return al_err_set(err, -EINVAL, "%s: expected \"tests\" or \"exit_code\"", path);
	return 0;
}

static const struct al_schema_key contract_keys[] = {
    {"name", AL_SCHEMA_STRING, true, contract_name},
    {"command", AL_SCHEMA_ARRAY, true, contract_command},
    {"report", AL_SCHEMA_STRING, false, contract_report},
    {"judge", AL_SCHEMA_STRING, false, contract_judge},
};

static int
contract_add(struct al_policy *p, const json_t *v, const char *path, struct al_err *err)
{
	struct contract_entry c = {0};
	size_t i;
	json_t *e;
	int r;

	r = al_schema_walk(v, contract_keys, AL_ARRAY_SIZE(contract_keys), &c, path, err);
	if (r < 0) {
		json_decref(c.command);
		return r;
	}
	json_array_foreach (p->contracts, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "name")), c.name) == 0) {
			json_decref(c.command);
			return al_err_set(err, -EINVAL, "%s.name: duplicate contract name \"%s\"",
					  path, c.name);
		}
	}
	/* report and judge only when set, so that older policies keep their digest */
	e = json_pack("{s:s, s:o, s:s*, s:s*}", "name", c.name, "command", c.command, "report",
		      c.report, "judge", c.exit_code ? "exit_code" : NULL);
	if (!e || json_array_append_new(p->contracts, e) < 0)
		return al_err_set(err, -ENOMEM, "%s: out of memory", path);
	return 0;
}

int
al_contracts_parse(void *ctx, const json_t *v, const char *path, struct al_err *err)
{
	char sub[AL_SCHEMA_PATH_MAX];
	size_t i;
	json_t *e;
	int r;

	if (json_array_size(v) > AL_POLICY_MAX_CONTRACTS)
		return al_err_set(err, -EINVAL, "%s: more than %d contracts", path,
				  AL_POLICY_MAX_CONTRACTS);
	json_array_foreach (v, i, e) {
		al_schema_path_index(sub, path, i);
		r = contract_add(ctx, e, sub, err);
		if (r < 0)
			return r;
	}
	return 0;
}
