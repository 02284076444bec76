/* calc's tests. Each case has an id; `test_calc ID...` runs those, `test_calc` runs all.
 * Exit status: 0 all passed, 1 a case failed, 2 an unknown id. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "calc.h"

#define EXPECT_EQ(got, want)                                                                      \
	do {                                                                                      \
		long got_ = (got), want_ = (want);                                                \
		if (got_ != want_) {                                                              \
			fprintf(stderr, "%s:%d: %s is %ld, want %ld\n", __FILE__, __LINE__, #got, \
				got_, want_);                                                     \
			return 1;                                                                 \
		}                                                                                 \
	} while (0)

static int
clamp_inside(void)
{
	EXPECT_EQ(calc_clamp(5, 0, 10), 5);
	EXPECT_EQ(calc_clamp(-2, -5, 5), -2);
	return 0;
}

static int
clamp_below(void)
{
	EXPECT_EQ(calc_clamp(-3, 0, 10), 0);
	EXPECT_EQ(calc_clamp(INT_MIN, -5, 5), -5);
	return 0;
}

static int
clamp_at_bounds(void)
{
	EXPECT_EQ(calc_clamp(0, 0, 10), 0);
	EXPECT_EQ(calc_clamp(10, 0, 10), 10);
	EXPECT_EQ(calc_clamp(7, 7, 7), 7);
	return 0;
}

static int
sum_empty(void)
{
	EXPECT_EQ(calc_sum(NULL, 0), 0);
	return 0;
}

static int
sum_basic(void)
{
	int v[] = {1, 2, 3, -4};

	EXPECT_EQ(calc_sum(v, 4), 2);
	return 0;
}

static int
sum_large(void)
{
	int v[] = {INT_MAX, INT_MAX};

	EXPECT_EQ(calc_sum(v, 2), 2L * INT_MAX);
	return 0;
}

static int
max_basic(void)
{
	int v[] = {3, 9, -1, 9, 4};

	EXPECT_EQ(calc_max(v, 5), 9);
	return 0;
}

static int
max_negative(void)
{
	int v[] = {-7, -3, -12};

	EXPECT_EQ(calc_max(v, 3), -3);
	return 0;
}

/* clang-format off */
static const struct {
	const char *id;
	int (*run)(void);
} cases[] = {
	{ "clamp_inside", clamp_inside },
	{ "clamp_below", clamp_below },
	{ "clamp_at_bounds", clamp_at_bounds },
	{ "sum_empty", sum_empty },
	{ "sum_basic", sum_basic },
	{ "sum_large", sum_large },
	{ "max_basic", max_basic },
	{ "max_negative", max_negative },
};
/* clang-format on */

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

static int
run_one(const char *id)
{
	for (size_t i = 0; i < N_CASES; i++) {
		if (strcmp(cases[i].id, id))
			continue;
		if (cases[i].run()) {
			printf("FAIL %s\n", id);
			return 1;
		}
		printf("ok   %s\n", id);
		return 0;
	}
	fprintf(stderr, "unknown test id '%s'\n", id);
	return 2;
}

int
main(int argc, char **argv)
{
	int status = 0;

	if (argc < 2) {
		for (size_t i = 0; i < N_CASES; i++)
			if (run_one(cases[i].id) && !status)
				status = 1;
		return status;
	}
	for (int i = 1; i < argc; i++) {
		int r = run_one(argv[i]);

		if (r == 2)
			return 2;
		if (r && !status)
			status = r;
	}
	return status;
}
