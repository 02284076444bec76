/* The static rules over untrusted bytes, given as the patch and as the test patch at once,
 * under a policy that turns every rule on. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates/gates.h"
#include "tests/fuzz/oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_json[] =
    "{\"reproduce\":{\"command\":[\"t\"]},\"test_paths\":[\"tests/**\",\"**/test_*.c\"],"
    "\"executable_paths\":[\"bin/**\"],\"limits\":{\"max_patch_bytes\":4096,\"max_files\":8}}";

static const char *const known[] = {
    "SATISFIED",
    "UNSATISFIED",
    "ERROR",
    "NOT_APPLICABLE",
};

static struct al_policy *
fuzz_policy(void)
{
	static struct al_policy *p;
	json_t *j;

	if (p)
		return p;
	j = json_loads(policy_json, 0, NULL);
	CHECK(j && al_policy_parse(j, "fuzz", &p, NULL) == 0);
	json_decref(j);
	return p;
}

/* Every rule has a known result and a printable one-line reason. */
static void
check_rules(const json_t *rules)
{
	size_t i, k, ok;
	json_t *r;

	CHECK(json_array_size(rules) == 12);
	json_array_foreach (rules, i, r) {
		const char *res = json_string_value(json_object_get(r, "result"));
		const char *why = json_string_value(json_object_get(r, "reason"));

		CHECK(res && why && !strchr(why, '\n'));
		for (k = 0, ok = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok |= strcmp(res, known[k]) == 0;
		CHECK(ok);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct al_err err = {0};
	json_t *rules = NULL;
	int r;

	r = al_gates_static(fuzz_policy(), text, size, text, size, &rules, &err);
	CHECK(r == 0 || r == -ENOMEM);
	if (r == 0)
		check_rules(rules);
	json_decref(rules);

	r = al_gates_static(fuzz_policy(), text, size, NULL, 0, &rules, &err);
	CHECK(r == 0 || r == -ENOMEM);
	if (r == 0)
		check_rules(rules);
	json_decref(rules);
	return 0;
}
