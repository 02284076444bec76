/* The environment cache's upkeep (image/cache-gc.c): entries sized and listed, the least
 * recently used evicted first until the rest fit, old leftovers removed, read-only trees
 * removed whole, a symlink inside an entry never followed out of it, and no eviction while
 * a runner holds the cache. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "image/cache-gc.h"
#include "image/cache.h"
#include "lib/fileio.h"
#include "lib/macros.h"

#define NOBODY 65534

static char top[64], root[128], outside[128];

static void
setup(void)
{
	snprintf(top, sizeof(top), "/tmp/airlock-cache-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(top));
	snprintf(root, sizeof(root), "%s/cache", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
}

static void
teardown(void)
{
	al_rm_rf(top);
}

static void
put(const char *path, size_t bytes)
{
	char *buf = calloc(1, bytes + 1);
	struct al_err err = {0};

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'x', bytes);
	ck_assert_msg(al_file_write_atomic(path, buf, bytes, 0644, &err) == 0, "%s", err.msg);
	free(buf);
}

static void
set_age(const char *path, time_t age_s)
{
	struct timespec t[2] = {{.tv_sec = time(NULL) - age_s}, {.tv_sec = time(NULL) - age_s}};

	ck_assert_int_eq(utimensat(AT_FDCWD, path, t, AT_SYMLINK_NOFOLLOW), 0);
}

/* KIND/NAME holding one file of kib KiB, last used age_s ago. */
static void
entry(enum al_cache_kind k, const char *name, size_t kib, time_t age_s)
{
	char p[512];

	snprintf(p, sizeof(p), "%s/%s", root, al_cache_kind_name(k));
	ck_assert_int_eq(al_mkdir_p(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/%s/%s", root, al_cache_kind_name(k), name);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/%s/%s/data", root, al_cache_kind_name(k), name);
	put(p, kib * 1024);
	snprintf(p, sizeof(p), "%s/%s/%s", root, al_cache_kind_name(k), name);
	set_age(p, age_s);
}

static int
exists(enum al_cache_kind k, const char *name)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s/%s", root, al_cache_kind_name(k), name);
	return lstat(p, &st) == 0;
}

static void
scan(struct al_cache_usage *u)
{
	struct al_err err = {0};

	ck_assert_msg(al_cache_scan(root, NULL, u, &err) == 0, "%s", err.msg);
}

static int
gc(unsigned long long max, struct al_cache_gc_report *rep)
{
	struct al_cache_gc_opts o = {.max_bytes = max};
	struct al_err err = {0};
	int r = al_cache_gc(root, &o, rep, &err);

	if (r < 0 && r != -EBUSY)
		fprintf(stderr, "gc: %s\n", err.msg);
	return r;
}

START_TEST(absent_cache_is_empty)
{
	struct al_cache_usage u;

	scan(&u);
	ck_assert_uint_eq(u.n, 0);
	ck_assert_uint_eq(u.total, 0);
	al_cache_usage_clear(&u);
}
END_TEST

START_TEST(scan_sizes_and_kinds)
{
	struct al_cache_usage u;

	entry(AL_CACHE_IMAGE, "aa", 64, 10);
	entry(AL_CACHE_TREE, "bb", 32, 20);
	entry(AL_CACHE_TREE, "cc", 32, 30);
	entry(AL_CACHE_SETUP, "dd", 16, 40);
	scan(&u);
	ck_assert_uint_eq(u.n, 4);
	ck_assert_uint_eq(u.count[AL_CACHE_TREE], 2);
	ck_assert_uint_ge(u.bytes[AL_CACHE_IMAGE], 64 * 1024);
	ck_assert_uint_ge(u.bytes[AL_CACHE_TREE], 64 * 1024);
	ck_assert_uint_eq(u.total, u.bytes[0] + u.bytes[1] + u.bytes[2]);
	ck_assert_str_eq(u.entries[1].name, "bb");
	ck_assert(u.entries[1].used <= time(NULL) - 20);
	al_cache_usage_clear(&u);
}
END_TEST

/* Oldest use goes first, and only as many as the cap needs. */
START_TEST(lru_order_and_cap)
{
	struct al_cache_usage u, after;
	struct al_cache_gc_report rep;

	entry(AL_CACHE_TREE, "01", 64, 100);  /* the newest */
	entry(AL_CACHE_IMAGE, "02", 64, 300); /* the oldest */
	entry(AL_CACHE_SETUP, "03", 64, 200);
	scan(&u);
	/* room for one entry: the two least recently used go, oldest first */
	ck_assert_int_eq(gc(u.total / 3 + 4096, &rep), 0);
	ck_assert_uint_eq(rep.n_removed, 2);
	ck_assert_str_eq(rep.removed[0].name, "02");
	ck_assert_str_eq(rep.removed[1].name, "03");
	ck_assert_uint_eq(rep.before, u.total);
	ck_assert_uint_le(rep.after.total, u.total / 3 + 4096);
	ck_assert(exists(AL_CACHE_TREE, "01"));
	ck_assert(!exists(AL_CACHE_IMAGE, "02"));
	ck_assert(!exists(AL_CACHE_SETUP, "03"));
	scan(&after);
	ck_assert_uint_eq(after.total, rep.after.total);
	ck_assert_uint_eq(after.n, 1);
	al_cache_gc_report_clear(&rep);
	/* under the cap already: nothing goes */
	ck_assert_int_eq(gc(after.total, &rep), 0);
	ck_assert_uint_eq(rep.n_removed, 0);
	ck_assert(exists(AL_CACHE_TREE, "01"));
	al_cache_gc_report_clear(&rep);
	al_cache_usage_clear(&u);
	al_cache_usage_clear(&after);
}
END_TEST

/* A use (al_cache_find) makes an old entry the newest. */
START_TEST(use_refreshes)
{
	struct al_cache_gc_report rep;
	struct al_cache c;
	struct al_err err = {0};
	char *path = NULL;

	entry(AL_CACHE_TREE, "0a", 16, 500);
	entry(AL_CACHE_TREE, "0b", 16, 100);
	ck_assert_int_eq(al_cache_open(root, false, true, &c, &err), 0);
	ck_assert_int_eq(al_cache_find(&c, AL_CACHE_TREE, "0a", &path, &err), 1);
	free(path);
	al_cache_close(&c);
	ck_assert_int_eq(gc(1, &rep), 0);
	ck_assert_uint_eq(rep.n_removed, 2);
	ck_assert_str_eq(rep.removed[0].name, "0b");
	ck_assert_str_eq(rep.removed[1].name, "0a");
	al_cache_gc_report_clear(&rep);
}
END_TEST

START_TEST(old_tmp_removed)
{
	struct al_cache_gc_report rep;
	char old[512], fresh[512];
	struct stat st;

	entry(AL_CACHE_TREE, "0c", 4, 10);
	snprintf(old, sizeof(old), "%s/trees/" AL_CACHE_TMP_PREFIX "old", root);
	snprintf(fresh, sizeof(fresh), "%s/images/" AL_CACHE_TMP_PREFIX "new", root);
	ck_assert_int_eq(mkdir(old, 0700), 0);
	ck_assert_int_eq(al_mkdir_p(fresh, 0700), 0);
	set_age(old, AL_CACHE_TMP_AGE_S + 60);
	ck_assert_int_eq(gc(1ull << 40, &rep), 0);
	ck_assert_uint_eq(rep.tmp_removed, 1);
	ck_assert_uint_eq(rep.n_removed, 0);
	ck_assert_int_eq(lstat(old, &st), -1);
	ck_assert_int_eq(lstat(fresh, &st), 0);
	/* and a .tmp-* is never listed as an entry */
	ck_assert_uint_eq(rep.after.n, 1);
	al_cache_gc_report_clear(&rep);
}
END_TEST

/* An entry of read-only directories (an image's /proc, a sealed layer), removed by its
 * owner: run as nobody when the test runs as root, which could remove it regardless. */
static int
read_only_entry_goes(void)
{
	struct al_cache_gc_report rep;
	char p[512];

	entry(AL_CACHE_IMAGE, "0d", 4, 10);
	snprintf(p, sizeof(p), "%s/images/0d/root", root);
	if (mkdir(p, 0700) < 0)
		return 10;
	snprintf(p, sizeof(p), "%s/images/0d/root/proc", root);
	if (mkdir(p, 0700) < 0)
		return 11;
	snprintf(p, sizeof(p), "%s/images/0d/root/proc/f", root);
	put(p, 10);
	chmod(p, 0444);
	snprintf(p, sizeof(p), "%s/images/0d/root/proc", root);
	chmod(p, 0555);
	snprintf(p, sizeof(p), "%s/images/0d/root", root);
	chmod(p, 0555);
	snprintf(p, sizeof(p), "%s/images/0d", root);
	chmod(p, 0500);
	if (gc(0, &rep) < 0)
		return 12;
	if (rep.n_removed != 1 || exists(AL_CACHE_IMAGE, "0d"))
		return 13;
	al_cache_gc_report_clear(&rep);
	/* nothing left behind under another name either */
	ck_assert_int_eq(gc(0, &rep), 0);
	snprintf(p, sizeof(p), "%s/images", root);
	if (rmdir(p) < 0)
		return 14;
	al_cache_gc_report_clear(&rep);
	return 0;
}

START_TEST(read_only_dirs_removed)
{
	pid_t pid;
	int st;

	if (geteuid() != 0) {
		ck_assert_int_eq(read_only_entry_goes(), 0);
		return;
	}
	ck_assert_int_eq(chown(top, NOBODY, NOBODY), 0);
	ck_assert_int_eq(chmod(top, 0755), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setresgid(NOBODY, NOBODY, NOBODY) < 0 || setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(2);
		_exit(read_only_entry_goes());
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %d", WEXITSTATUS(st));
}
END_TEST

/* A symlink inside an entry to a directory outside it: the entry goes, the target stays.
 * And a symlink in the place of an entry is neither an entry nor followed. */
START_TEST(symlink_not_followed)
{
	struct al_cache_gc_report rep;
	char p[512], victim[512], link[512];
	struct stat st;

	snprintf(victim, sizeof(victim), "%s/precious", outside);
	put(victim, 4096);
	entry(AL_CACHE_SETUP, "0e", 4, 10);
	snprintf(p, sizeof(p), "%s/setup/0e/escape", root);
	ck_assert_int_eq(symlink(outside, p), 0);
	snprintf(p, sizeof(p), "%s/setup/0e/file", root);
	ck_assert_int_eq(symlink(victim, p), 0);
	snprintf(link, sizeof(link), "%s/trees/0f", root);
	snprintf(p, sizeof(p), "%s/trees", root);
	ck_assert_int_eq(al_mkdir_p(p, 0700), 0);
	ck_assert_int_eq(symlink(outside, link), 0);
	ck_assert_int_eq(gc(0, &rep), 0);
	ck_assert_uint_eq(rep.n_removed, 1);
	ck_assert_str_eq(rep.removed[0].name, "0e");
	ck_assert(!exists(AL_CACHE_SETUP, "0e"));
	ck_assert_int_eq(stat(victim, &st), 0);
	ck_assert_int_eq(st.st_size, 4096);
	ck_assert_int_eq(lstat(link, &st), 0);
	ck_assert(S_ISLNK(st.st_mode));
	al_cache_gc_report_clear(&rep);
}
END_TEST

/* A runner holds the cache: gc does not wait unless told to, and removes nothing. */
START_TEST(busy_lock_refused)
{
	struct al_cache_gc_report rep;
	struct al_cache c;
	struct al_err err = {0};

	entry(AL_CACHE_TREE, "10", 4, 10);
	ck_assert_int_eq(al_cache_open(root, false, true, &c, &err), 0);
	ck_assert_int_eq(gc(0, &rep), -EBUSY);
	ck_assert(exists(AL_CACHE_TREE, "10"));
	al_cache_close(&c);
	ck_assert_int_eq(gc(0, &rep), 0);
	ck_assert(!exists(AL_CACHE_TREE, "10"));
	al_cache_gc_report_clear(&rep);
}
END_TEST

/* Sizes already known are not walked again; entries new since are. */
START_TEST(scan_reuses_known_sizes)
{
	struct al_cache_usage first, second;
	struct al_err err = {0};
	char p[512];

	entry(AL_CACHE_TREE, "11", 16, 10);
	scan(&first);
	/* grown behind the scan's back: the known size is kept (entries never change) */
	snprintf(p, sizeof(p), "%s/trees/11/more", root);
	put(p, 64 * 1024);
	entry(AL_CACHE_TREE, "12", 16, 10);
	ck_assert_int_eq(al_cache_scan(root, &first, &second, &err), 0);
	ck_assert_uint_eq(second.n, 2);
	ck_assert_uint_eq(second.entries[0].bytes, first.entries[0].bytes);
	ck_assert_uint_ge(second.entries[1].bytes, 16 * 1024);
	al_cache_usage_clear(&first);
	al_cache_usage_clear(&second);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cache");
	TCase *tc = tcase_create("cache");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, absent_cache_is_empty);
	tcase_add_test(tc, scan_sizes_and_kinds);
	tcase_add_test(tc, lru_order_and_cap);
	tcase_add_test(tc, use_refreshes);
	tcase_add_test(tc, old_tmp_removed);
	tcase_add_test(tc, read_only_dirs_removed);
	tcase_add_test(tc, symlink_not_followed);
	tcase_add_test(tc, busy_lock_refused);
	tcase_add_test(tc, scan_reuses_known_sizes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
