/* The patch header parser and the static rules over untrusted patch bytes. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gates/gates.h"
#include "tests/fuzz/oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char policy_json[] =
    "{\"reproduce\":{\"command\":[\"t\"]},\"test_paths\":[\"tests/**\",\"**/test_*.c\"]}";

/* Made once and kept for the life of the process. */
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

static void
check_files(const json_t *files)
{
	static const char *const statuses = "AMDRC";
	size_t i;
	json_t *f;

	CHECK(json_array_size(files) > 0);
	json_array_foreach (files, i, f) {
		const char *status = json_string_value(json_object_get(f, "status"));

		CHECK(json_string_length(json_object_get(f, "path")) > 0);
		CHECK(json_string_length(json_object_get(f, "old_path")) > 0);
		CHECK(status && strlen(status) == 1 && strchr(statuses, status[0]));
		CHECK(json_is_integer(json_object_get(f, "old_mode")));
		CHECK(json_is_boolean(json_object_get(f, "binary")));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct al_err err = {0};
	json_t *files = NULL, *rules = NULL;
	size_t half = size / 2;
	int r;

	r = al_gates_patch_files(text, size, &files, &err);
	if (r == 0)
		check_files(files);
	else
		CHECK((r == -EBADMSG || r == -ENOMEM) && !files && err.msg[0]);
	json_decref(files);

	/* the two halves as patch and test patch */
	r = al_gates_static(fuzz_policy(), text, half, text + half, size - half, &rules, &err);
	CHECK(r == 0 || r == -ENOMEM);
	if (r == 0)
		CHECK(json_array_size(rules) == 12);
	json_decref(rules);
	return 0;
}
