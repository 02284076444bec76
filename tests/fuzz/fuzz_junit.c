/* JUnit XML reports, written by the code under test (see report_oracle.h). */
#include "tests/fuzz/report_oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_report(AL_REPORT_JUNIT, data, size);
	return 0;
}
