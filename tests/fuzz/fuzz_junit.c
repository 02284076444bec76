/* JUnit XML reports, written by the code under test: whatever the bytes, a list of
 * distinct printable ids with known outcomes, or a one-line refusal and nothing. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner/report.h"
#include "tests/fuzz/oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const outcomes[] = {"passed", "failed", "error", "skipped"};

/* Shared with fuzz_tap.c's copy by shape only: each target stays one file. */
static void
check_tests(const json_t *tests)
{
	json_t *seen = json_object();
	const json_t *t;
	size_t i;

	CHECK(seen && json_is_array(tests) && json_array_size(tests) <= AL_REPORT_MAX_TESTS);
	json_array_foreach (tests, i, t) {
		const char *id = json_string_value(json_object_get(t, "id"));
		const char *o = json_string_value(json_object_get(t, "outcome"));
		int known = 0;

		CHECK(json_object_size(t) == 2 && id && o);
		CHECK(printable(id, AL_REPORT_MAX_ID));
		for (size_t k = 0; k < sizeof(outcomes) / sizeof(outcomes[0]); k++)
			known |= strcmp(o, outcomes[k]) == 0;
		CHECK(known);
		CHECK(!json_object_get(seen, id));
		CHECK(json_object_set_new(seen, id, json_true()) == 0);
		CHECK(al_report_id_match(id, id));
	}
	json_decref(seen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct al_err err = {0};
	json_t *tests = NULL;
	int r = al_report_parse(AL_REPORT_JUNIT, (const char *)data, size, &tests, &err);

	if (r == 0) {
		check_tests(tests);
	} else {
		CHECK(r == -EBADMSG && !tests);
		CHECK(printable(err.msg, AL_ERR_MSG_MAX));
	}
	json_decref(tests);
	return 0;
}
