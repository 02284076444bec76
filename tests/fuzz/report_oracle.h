/* What every report parser must give, whatever the bytes: a list of distinct printable ids
 * with known outcomes, each naming itself, or a one-line refusal and nothing.  Shared by
 * fuzz_junit.c and fuzz_tap.c. */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gates/internal.h"
#include "runner/report.h"
#include "tests/fuzz/oracle.h"

static void
check_tests(const json_t *tests)
{
	static const char *const outcomes[] = {"passed", "failed", "error", "skipped"};
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
		CHECK(al_gates_test_id_match(id, id));
	}
	json_decref(seen);
}

static void
check_report(enum al_report_format f, const uint8_t *data, size_t size)
{
	struct al_err err = {0};
	json_t *tests = NULL;
	int r = al_report_parse(f, (const char *)data, size, &tests, &err);

	if (r == 0) {
		check_tests(tests);
	} else {
		CHECK(r == -EBADMSG && !tests);
		CHECK(printable(err.msg, AL_ERR_MSG_MAX));
	}
	json_decref(tests);
}
