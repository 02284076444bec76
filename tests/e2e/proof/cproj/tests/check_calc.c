#include <check.h>
#include <stdlib.h>

#include "calc.h"

START_TEST(add)
{
	ck_assert_int_eq(calc_add(2, 3), 5);
}
END_TEST

START_TEST(add_negative)
{
	ck_assert_int_eq(calc_add(-2, -3), -5);
}
END_TEST

START_TEST(clamp_low)
{
	ck_assert_int_eq(calc_clamp(-5, 0, 10), 0);
}
END_TEST

static Suite *
calc_suite(void)
{
	Suite *s = suite_create("calc");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, add);
	tcase_add_test(tc, add_negative);
	tcase_add_test(tc, clamp_low);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(calc_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
