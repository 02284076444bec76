#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server/views.h"

static const char id_a[] = "0123456789abcdef0123456789abcdef";
static const char id_b[] = "fedcba9876543210fedcba9876543210";

static struct al_view_stamp
stamp(long long own, long long others, unsigned long config)
{
	return (struct al_view_stamp){.store = {.own = own, .others = others}, .config = config};
}

START_TEST(a_view_is_served_only_under_its_stamp)
{
	struct al_views v;
	struct al_view_stamp s = stamp(7, 1, 0);
	char *body = NULL;
	size_t len = 0;
	unsigned long long hits, misses;

	al_views_init(&v);
	ck_assert_int_eq(al_views_get(&v, id_a, &s, &body, &len), -ENOENT);
	al_views_put(&v, id_a, &s, "{\"state\":\"queued\"}", 18);
	ck_assert_int_eq(al_views_get(&v, id_a, &s, &body, &len), 0);
	ck_assert_uint_eq(len, 18);
	ck_assert_str_eq(body, "{\"state\":\"queued\"}");
	free(body);
	/* a write through the server, another process's commit, a reload: not served */
	s = stamp(8, 1, 0);
	ck_assert_int_eq(al_views_get(&v, id_a, &s, &body, &len), -ENOENT);
	s = stamp(7, 2, 0);
	ck_assert_int_eq(al_views_get(&v, id_a, &s, &body, &len), -ENOENT);
	s = stamp(7, 1, 1);
	ck_assert_int_eq(al_views_get(&v, id_a, &s, &body, &len), -ENOENT);
	/* no other proposal is served this one's view */
	s = stamp(7, 1, 0);
	ck_assert_int_eq(al_views_get(&v, id_b, &s, &body, &len), -ENOENT);
	al_views_counts(&v, &hits, &misses);
	ck_assert_uint_eq(hits, 1);
	ck_assert_uint_eq(misses, 5);
	al_views_free(&v);
}
END_TEST

START_TEST(a_view_ages_out_and_large_ones_are_not_kept)
{
	struct al_views v;
	struct al_view_stamp s = stamp(1, 1, 0);
	char *body = NULL, *big;
	size_t len = 0;

	al_views_init(&v);
	al_views_put(&v, id_a, &s, "{}", 2);
	ck_assert_int_eq(al_views_get(&v, id_a, &s, &body, &len), 0);
	free(body);
	/* the clock moves what a view shows (a grant expires): it is kept a second at most */
	usleep((AL_VIEW_TTL_MS + 100) * 1000);
	ck_assert_int_eq(al_views_get(&v, id_a, &s, &body, &len), -ENOENT);
	big = malloc(AL_VIEW_MAX_BYTES + 2);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', AL_VIEW_MAX_BYTES + 1);
	big[AL_VIEW_MAX_BYTES + 1] = '\0';
	al_views_put(&v, id_b, &s, big, AL_VIEW_MAX_BYTES + 1);
	ck_assert_int_eq(al_views_get(&v, id_b, &s, &body, &len), -ENOENT);
	free(big);
	al_views_free(&v);
}
END_TEST

static Suite *
views_suite(void)
{
	Suite *s = suite_create("views");
	TCase *t = tcase_create("cache");

	tcase_add_test(t, a_view_is_served_only_under_its_stamp);
	tcase_add_test(t, a_view_ages_out_and_large_ones_are_not_kept);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(views_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
