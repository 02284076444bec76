#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/macros.h"
#include "server/conn.h"

/* Whether the server end of the pair was shut down: the client end reads EOF at once. */
static int
client_sees_eof(int client, int wait_ms)
{
	struct pollfd p = {.fd = client, .events = POLLIN};
	char c;

	return poll(&p, 1, wait_ms) == 1 && recv(client, &c, 1, MSG_DONTWAIT) == 0;
}

/* A connection started at 100 s with a 10 s deadline, swept at `now`. */
static const struct {
	const char *name;
	int headers_in;	 /* the access handler saw its headers */
	double rearm_at; /* 0: never; else a request ended then */
	double now;
	int cut;
} cases[] = {
    {"within the deadline", 0, 0, 109.9, 0},
    {"past the deadline without headers", 0, 0, 110, 1},
    {"long past it", 0, 0, 500, 1},
    {"headers in: a slow body or a long answer is not cut", 1, 0, 500, 0},
    {"a request ended: the next one's headers have the deadline again", 1, 105, 114.9, 0},
    {"and are cut past it", 1, 105, 115, 1},
};

START_TEST(the_deadline_cuts_what_has_no_headers)
{
	struct al_conn_watch *w = NULL;
	struct al_conn *c;
	int sv[2], waiting;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	ck_assert_int_eq(al_conn_watch_new(10, NULL, &w), 0);
	c = al_conn_watch_add(w, sv[0], 100);
	ck_assert_ptr_nonnull(c);
	if (cases[_i].headers_in)
		al_conn_watch_headers_in(w, c);
	if (cases[_i].rearm_at)
		al_conn_watch_rearm(w, c, cases[_i].rearm_at);
	ck_assert_msg(al_conn_watch_sweep(w, cases[_i].now) == (unsigned)cases[_i].cut, "%s",
		      cases[_i].name);
	ck_assert_msg(client_sees_eof(sv[1], 0) == cases[_i].cut, "%s", cases[_i].name);
	/* a cut connection is cut once, not counted again while it closes; one still waiting
	 * for headers is cut later */
	waiting = !cases[_i].headers_in || cases[_i].rearm_at;
	ck_assert_uint_eq(al_conn_watch_sweep(w, cases[_i].now + 1000),
			  (cases[_i].cut || !waiting) ? 0 : 1);
	al_conn_watch_remove(w, c);
	al_conn_watch_free(w);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(a_removed_connection_is_let_go)
{
	struct al_conn_watch *w = NULL;
	struct al_conn *a, *b, *c;
	int sa[2], sb[2], sc[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sa), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sb), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sc), 0);
	ck_assert_int_eq(al_conn_watch_new(1, NULL, &w), 0);
	a = al_conn_watch_add(w, sa[0], 0);
	b = al_conn_watch_add(w, sb[0], 0);
	c = al_conn_watch_add(w, sc[0], 0);
	/* the listener closes b: its descriptor may be another connection's by the sweep */
	al_conn_watch_remove(w, b);
	ck_assert_uint_eq(al_conn_watch_sweep(w, 5), 2);
	ck_assert(client_sees_eof(sa[1], 0));
	ck_assert(!client_sees_eof(sb[1], 0));
	ck_assert(client_sees_eof(sc[1], 0));
	al_conn_watch_remove(w, a);
	al_conn_watch_remove(w, c);
	al_conn_watch_free(w);
	for (int i = 0; i < 2; i++) {
		close(sa[i]);
		close(sb[i]);
		close(sc[i]);
	}
}
END_TEST

static atomic_uint cut_total;

static void
count_cut(unsigned n)
{
	atomic_fetch_add(&cut_total, n);
}

START_TEST(the_reaper_cuts_on_its_own_and_counts)
{
	struct al_conn_watch *w = NULL;
	struct al_conn *slow, *done;
	int s1[2], s2[2];

	ck_assert_int_eq(al_conn_watch_new(0, NULL, &w), -EINVAL);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s1), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s2), 0);
	ck_assert_int_eq(al_conn_watch_new(0.2, count_cut, &w), 0);
	ck_assert_int_eq(al_conn_watch_start(w), 0);
	slow = al_conn_watch_add(w, s1[0], al_conn_watch_now());
	done = al_conn_watch_add(w, s2[0], al_conn_watch_now());
	al_conn_watch_headers_in(w, done);
	/* ten seconds for a 0.2 s deadline: room for a loaded machine */
	ck_assert(client_sees_eof(s1[1], 10000));
	ck_assert(!client_sees_eof(s2[1], 500));
	ck_assert_uint_eq(atomic_load(&cut_total), 1);
	/* freed with connections still in it (a listener stopped first): nothing leaks */
	(void)slow;
	al_conn_watch_free(w);
	for (int i = 0; i < 2; i++) {
		close(s1[i]);
		close(s2[i]);
	}
}
END_TEST

static Suite *
conn_suite(void)
{
	Suite *s = suite_create("conn");
	TCase *t = tcase_create("header deadline");

	tcase_add_loop_test(t, the_deadline_cuts_what_has_no_headers, 0, (int)AL_ARRAY_SIZE(cases));
	tcase_add_test(t, a_removed_connection_is_let_go);
	tcase_add_test(t, the_reaper_cuts_on_its_own_and_counts);
	tcase_set_timeout(t, 30);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *r = srunner_create(conn_suite());
	int failed;

	srunner_run_all(r, CK_NORMAL);
	failed = srunner_ntests_failed(r);
	srunner_free(r);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
