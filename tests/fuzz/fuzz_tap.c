/* TAP reports, written by the code under test (see report_oracle.h), and the test id
 * matcher on the same bytes. */
#include "tests/fuzz/report_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The first line as a user's id, the rest as a reported one: equal strings always match;
 * a match is never a mere prefix. */
static void
check_match(const uint8_t *data, size_t size)
{
	char *want = strndup((const char *)data, size), *id;
	bool m;

	CHECK(want);
	id = strchr(want, '\n');
	if (id) {
		*id++ = '\0';
		m = al_gates_test_id_match(want, id);
		CHECK(al_gates_test_id_match(id, id) == (*id != '\0'));
		if (m && strlen(id) < strlen(want))
			CHECK(strpbrk(want, "./:") != NULL);
	}
	free(want);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_report(AL_REPORT_TAP, data, size);
	check_match(data, size);
	return 0;
}
