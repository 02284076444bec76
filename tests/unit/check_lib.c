#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/compat.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/hex.h"
#include "lib/lockfile.h"
#include "lib/macros.h"
#include "lib/proc.h"
#include "lib/runrec.h"
#include "lib/utf8.h"

START_TEST(buf_respects_cap)
{
	struct al_buf b;

	al_buf_init(&b, 8);
	ck_assert_int_eq(al_buf_append(&b, "abcd", 4), 0);
	ck_assert_int_eq(al_buf_printf(&b, "%d", 1234), 0);
	ck_assert_str_eq(b.data, "abcd1234");
	ck_assert_int_eq(al_buf_append(&b, "x", 1), -E2BIG);
	ck_assert_int_eq(al_buf_printf(&b, "y"), -E2BIG);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_str_eq(b.data, "abcd1234");
	al_buf_free(&b);
}
END_TEST

START_TEST(buf_steal_empty)
{
	struct al_buf b;
	size_t n = 99;
	char *p;

	al_buf_init(&b, 16);
	p = al_buf_steal(&b, &n);
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "");
	ck_assert_uint_eq(n, 0);
	free(p);
}
END_TEST

static const struct {
	const char *hex;
	size_t n;
	int ok;
} hex_cases[] = {
    {"00ff10", 3, 1}, {"ABcd", 2, 1}, {"0g", 1, 0}, {"abc", 2, 0}, {"abcd", 1, 0}, {"", 0, 1},
};

START_TEST(hex_roundtrip)
{
	unsigned char bin[8];
	char back[17];
	int r = al_hex_decode(hex_cases[_i].hex, bin, hex_cases[_i].n);

	ck_assert_int_eq(r == 0, hex_cases[_i].ok);
	if (r == 0) {
		al_hex_encode(bin, hex_cases[_i].n, back);
		ck_assert_int_eq(strcasecmp(back, hex_cases[_i].hex), 0);
	}
}
END_TEST

static const struct {
	const char *in;
	size_t n;
	const char *out;
} utf8_cases[] = {
    {"plain", 5, "plain"},
    {"caf\xc3\xa9", 5, "caf\xc3\xa9"},
    {"a\xff"
     "b",
     3,
     "a\xef\xbf\xbd"
     "b"},
    {"nul\0x", 5, "nul\xef\xbf\xbdx"},
    {"\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd"},		 /* overlong '/' */
    {"\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
    {"\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd"},		 /* truncated */
    {"\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80"},
};

START_TEST(utf8_sanitize)
{
	size_t n;
	char *out = al_utf8_sanitize(utf8_cases[_i].in, utf8_cases[_i].n, &n);

	ck_assert_ptr_nonnull(out);
	ck_assert_str_eq(out, utf8_cases[_i].out);
	ck_assert_uint_eq(n, strlen(utf8_cases[_i].out));
	free(out);
}
END_TEST

START_TEST(err_keeps_first_and_prefixes)
{
	struct al_err e = {0};

	ck_assert_int_eq(al_err_set(&e, -ENOENT, "first %d", 1), -ENOENT);
	al_err_set(&e, -EINVAL, "second");
	ck_assert_str_eq(e.msg, "first 1");
	al_err_prefix(&e, "ctx");
	ck_assert_str_eq(e.msg, "ctx: first 1");
	ck_assert_int_eq(e.code, -ENOENT);
	ck_assert_str_eq(al_err_msg(NULL), "unknown error");
	ck_assert_int_eq(al_err_set(NULL, -EIO, "x"), -EIO);
}
END_TEST

START_TEST(path_join)
{
	char *p = al_path_join("/a/b/", "/c");

	ck_assert_str_eq(p, "/a/b/c");
	free(p);
	p = al_path_join("/", "x");
	ck_assert_str_eq(p, "/x");
	free(p);
}
END_TEST

START_TEST(files_capped_atomic_and_rm_rf)
{
	char dir[] = "/tmp/check_lib.XXXXXX", *data = NULL;
	_cleanup_free_ char *f = NULL, *sub = NULL, *link = NULL, *outside = NULL;
	struct al_err e = {0};
	struct stat st;
	size_t n;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	f = al_path_join(dir, "f");
	ck_assert_int_eq(al_file_write_atomic(f, "hello", 5, 0600, &e), 0);
	ck_assert_int_eq(stat(f, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(al_file_read(f, 5, &data, &n, &e), 0);
	ck_assert_str_eq(data, "hello");
	free(data);
	ck_assert_int_eq(al_file_read(f, 4, &data, &n, &e), -EFBIG);
	ck_assert_ptr_nonnull(strstr(e.msg, "larger than 4 bytes"));
	/* rm_rf removes a tree but never what a symlink in it points to */
	outside = al_path_join(dir, "keep");
	ck_assert_int_eq(al_mkdir_p(outside, 0700), 0);
	sub = al_path_join(dir, "t/u/v");
	ck_assert_int_eq(al_mkdir_p(sub, 0700), 0);
	free(link);
	link = al_path_join(dir, "t/u/escape");
	ck_assert_int_eq(symlink(outside, link), 0);
	free(sub);
	sub = al_path_join(dir, "t");
	ck_assert_int_eq(al_rm_rf(sub), 0);
	ck_assert_int_eq(stat(sub, &st), -1);
	ck_assert_int_eq(stat(outside, &st), 0);
	ck_assert_int_eq(al_rm_rf(dir), 0);
	ck_assert_int_eq(al_rm_rf(dir), 0);
}
END_TEST

/* The deadline holds with a pidfd (_i 0) and without one (_i 1): a child that outlives it
 * is killed and reported so; one that ends first keeps its own status. */
START_TEST(proc_wait_deadline)
{
	struct timespec t0, t1;
	int status = 0, pfd;
	long ms;
	pid_t pid;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		sleep(30);
		_exit(0);
	}
	pfd = _i ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_int_eq(al_proc_wait_deadline(pid, pfd, 200, &status), 1);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	ck_assert_msg(ms >= 200 && ms < 10000, "waited %ld ms", ms);
	if (pfd >= 0)
		close(pfd);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(3);
	pfd = _i ? -1 : (int)syscall(SYS_pidfd_open, pid, 0);
	ck_assert_int_eq(al_proc_wait_deadline(pid, pfd, 30000, &status), 0);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 3);
	if (pfd >= 0)
		close(pfd);
	/* not a child of ours: an error, not a hang */
	ck_assert_int_eq(al_proc_wait_deadline(pid, -1, 100, &status), -ECHILD);
}
END_TEST

/* A record as runner/record.c writes it. */
#define REC_FIELDS                                                                        \
	"\"status\":\"RE\",\"exit_code\":1,\"signal\":0,\"killed\":false,\"wall_ms\":12," \
	"\"cpu_ms\":3,\"max_rss_kb\":900,\"stdout_bytes\":4,\"stdout_dropped\":0,"        \
	"\"stderr_bytes\":0,\"stderr_dropped\":0,\"denied\":[{\"syscall\":\"ptrace\","    \
	"\"count\":2}]"

static const struct {
	const char *drop; /* a field removed from REC_FIELDS */
	const char *set;  /* merged in */
	const char *msg;  /* NULL: accepted */
} runrec_cases[] = {
    {NULL, NULL, NULL},
    {NULL, "{\"spawn_us\":700,\"detail\":\"x\",\"stdout\":\"out\",\"stderr\":\"\"}", NULL},
    {NULL, "{\"status\":\"OOM\",\"tests\":[],\"id\":\"r\"}", NULL}, /* other keys: the caller's */
    {NULL, "{\"denied\":[]}", NULL},
    {"status", NULL, "run record: status missing"},
    {"exit_code", NULL, "run record: exit_code missing"},
    {"signal", NULL, "run record: signal missing"},
    {"killed", NULL, "run record: killed missing"},
    {"wall_ms", NULL, "run record: wall_ms missing"},
    {"cpu_ms", NULL, "run record: cpu_ms missing"},
    {"max_rss_kb", NULL, "run record: max_rss_kb missing"},
    {"stdout_bytes", NULL, "run record: stdout_bytes missing"},
    {"stdout_dropped", NULL, "run record: stdout_dropped missing"},
    {"stderr_bytes", NULL, "run record: stderr_bytes missing"},
    {"stderr_dropped", NULL, "run record: stderr_dropped missing"},
    {"denied", NULL, "run record: denied missing"},
    {NULL, "{\"status\":7}", "run record: status: expected a string"},
    {NULL, "{\"status\":null}", "run record: status: expected a string"},
    {NULL, "{\"exit_code\":\"1\"}", "run record: exit_code: expected an integer"},
    {NULL, "{\"exit_code\":1.0}", "run record: exit_code: expected an integer"},
    {NULL, "{\"killed\":0}", "run record: killed: expected a boolean"},
    {NULL, "{\"denied\":{}}", "run record: denied: expected an array"},
    {NULL, "{\"spawn_us\":\"fast\"}", "run record: spawn_us: expected an integer"},
    {NULL, "{\"detail\":[]}", "run record: detail: expected a string"},
    {NULL, "{\"stdout\":1}", "run record: stdout: expected a string"},
    {NULL, "{\"status\":\"ok\"}", "run record: status 'ok' is not a run status"},
    {NULL, "{\"status\":\"XXX\"}", "run record: status 'XXX' is not a run status"},
    {NULL, "{\"status\":\"OK\\u0000\"}", "run record: status 'OK' is not a run status"},
    {NULL, "{\"status\":\"\"}", "run record: status '' is not a run status"},
    {NULL, "{\"denied\":[1]}",
     "run record: denied[0]: expected an object with string syscall and integer count"},
    {NULL, "{\"denied\":[{\"syscall\":\"bpf\",\"count\":1},{\"syscall\":\"bpf\"}]}",
     "run record: denied[1]: expected an object with string syscall and integer count"},
    {NULL, "{\"denied\":[{\"syscall\":1,\"count\":1}]}",
     "run record: denied[0]: expected an object with string syscall and integer count"},
};

START_TEST(runrec_check)
{
	json_t *rec = json_loads("{" REC_FIELDS "}", 0, NULL);
	struct al_err err = {0};
	int r;

	ck_assert_ptr_nonnull(rec);
	if (runrec_cases[_i].drop)
		ck_assert_int_eq(json_object_del(rec, runrec_cases[_i].drop), 0);
	if (runrec_cases[_i].set) {
		json_t *set = json_loads(runrec_cases[_i].set, JSON_ALLOW_NUL, NULL);

		ck_assert_ptr_nonnull(set);
		json_object_update(rec, set);
		json_decref(set);
	}
	r = al_runrec_check(rec, &err);
	if (!runrec_cases[_i].msg) {
		ck_assert_msg(r == 0, "rejected: %s", al_err_msg(&err));
	} else {
		ck_assert_int_eq(r, -EBADMSG);
		ck_assert_str_eq(al_err_msg(&err), runrec_cases[_i].msg);
	}
	json_decref(rec);
}
END_TEST

START_TEST(runrec_not_an_object)
{
	struct al_err err = {0};
	json_t *a = json_array();

	ck_assert_int_eq(al_runrec_check(NULL, NULL), -EBADMSG);
	ck_assert_int_eq(al_runrec_check(a, &err), -EBADMSG);
	ck_assert_str_eq(al_err_msg(&err), "run record: expected an object");
	json_decref(a);
}
END_TEST

/* The names are the record's wire format: they must not move. */
START_TEST(runrec_status_names)
{
	static const char *const names[] = {"OK", "RE", "SG", "TO", "OOM", "DISK", "XX"};

	for (int s = AL_RUN_OK; s <= AL_RUN_XX; s++) {
		ck_assert_str_eq(al_runrec_status_name((enum al_run_status)s), names[s]);
		ck_assert_int_eq(al_runrec_status_parse(names[s]), s);
	}
	ck_assert_int_eq(AL_RUN_XX, (int)AL_ARRAY_SIZE(names) - 1);
	ck_assert_str_eq(al_runrec_status_name((enum al_run_status)42), "??");
	ck_assert_str_eq(al_runrec_status_name((enum al_run_status)AL_ARRAY_SIZE(names)), "??");
	ck_assert_int_eq(al_runrec_status_parse("??"), -EINVAL);
	ck_assert_int_eq(al_runrec_status_parse("oom"), -EINVAL);
	ck_assert_int_eq(al_runrec_status_parse(NULL), -EINVAL);
}
END_TEST

/* A tree far deeper than the open-file limit, with a directory its owner made unreadable
 * and a link out of it, goes whole; what the link points at stays. */
START_TEST(rm_rf_any_depth)
{
	char dir[] = "/tmp/airlock-deep.XXXXXX", root[64], outside[64], path[96];
	struct rlimit few = {64, 64};
	struct stat st;
	int fd, next;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/tree", dir);
	snprintf(outside, sizeof(outside), "%s/outside", dir);
	ck_assert_int_eq(mkdir(outside, 0700), 0);
	snprintf(path, sizeof(path), "%s/keep", outside);
	ck_assert_int_eq(al_file_write_atomic(path, "x", 1, 0600, NULL), 0);
	ck_assert_int_eq(mkdir(root, 0700), 0);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < 3000; i++) {
		ck_assert_int_eq(mkdirat(fd, "d", 0700), 0);
		if (i % 500 == 0) {
			ck_assert_int_eq(symlinkat(outside, fd, "out"), 0);
			close(openat(fd, "f", O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
		}
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(next, 0);
		if (i == 1500)
			ck_assert_int_eq(fchmodat(fd, "d", 0, 0), 0);
		close(fd);
		fd = next;
	}
	close(fd);
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &few), 0);
	ck_assert_int_eq(al_rm_rf(root), 0);
	ck_assert_int_eq(lstat(root, &st), -1);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(al_rm_rf(dir), 0);
}
END_TEST

/* A tree far deeper than the open-file limit is measured whole, as du measures it (less
 * the top directory's own blocks), without following a link out of it. */
START_TEST(du_any_depth)
{
	char dir[] = "/tmp/airlock-du.XXXXXX", root[64], cmd[128], big[4096];
	struct rlimit few = {64, 64};
	unsigned long long got = 0, want = 0;
	struct stat st;
	FILE *p;
	int fd, next;

	memset(big, 'x', sizeof(big));
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(root, sizeof(root), "%s/tree", dir);
	ck_assert_int_eq(mkdir(root, 0700), 0);
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (int i = 0; i < 3000; i++) {
		ck_assert_int_eq(mkdirat(fd, "d", 0700), 0);
		if (i % 500 == 0) {
			int f = openat(fd, "f", O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

			ck_assert_int_eq(write(f, big, sizeof(big)), sizeof(big));
			ck_assert_int_eq(fsync(f), 0);
			close(f);
			ck_assert_int_eq(symlinkat("/usr", fd, "out"), 0);
		}
		next = openat(fd, "d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ck_assert_int_ge(next, 0);
		close(fd);
		fd = next;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "du -s -B1 %s", root);
	p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(fscanf(p, "%llu", &want), 1);
	pclose(p);
	ck_assert_int_eq(stat(root, &st), 0);
	want -= (unsigned long long)st.st_blocks * 512;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &few), 0);
	ck_assert_int_eq(al_du(root, &got), 0);
	ck_assert_uint_eq(got, want);
	ck_assert_uint_ge(got, 6 * sizeof(big));
	ck_assert_int_eq(al_du("/nonexistent-airlock-du", &got), -ENOENT);
	ck_assert_int_eq(al_rm_rf(dir), 0);
}
END_TEST

/* One holder at a time: a second taker is told who holds it, and takes it once it is
 * let go; a link planted at the path is not followed. */
START_TEST(lockfile_one_holder)
{
	char dir[] = "/tmp/airlock-lock.XXXXXX", path[64], link_path[64];
	struct al_err err = {0};
	int fd = -1, fd2 = -1;
	long holder = -1;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/airlock.lock", dir);
	ck_assert_int_eq(al_lockfile_take(path, &fd, &holder, &err), 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(al_lockfile_take(path, &fd2, &holder, &err), -EBUSY);
	ck_assert_int_eq(fd2, -1);
	ck_assert_int_eq(holder, (long)getpid());
	ck_assert_msg(strstr(al_err_msg(&err), "held by process"), "%s", al_err_msg(&err));
	close(fd);
	ck_assert_int_eq(al_lockfile_take(path, &fd2, &holder, &err), 0);
	close(fd2);
	snprintf(link_path, sizeof(link_path), "%s/planted.lock", dir);
	ck_assert_int_eq(symlink(path, link_path), 0);
	ck_assert_int_eq(al_lockfile_take(link_path, &fd, &holder, &err), -ELOOP);
	ck_assert_int_eq(al_rm_rf(dir), 0);
}
END_TEST

/* The lean front's errno names (musl has no strerrorname_np) are glibc's, number for
 * number, and the renameat2 and close_range calls do what glibc's do. */
START_TEST(compat_matches_glibc)
{
	char dir[] = "/tmp/check-compat-XXXXXX", a[64], b[64];
	int named = 0, fd;

	ck_assert_ptr_null(al_errno_name(0));
	ck_assert_ptr_null(al_errno_name(-1));
	for (int e = 1; e < 300; e++) {
		const char *want = strerrorname_np(e), *got = al_errno_name(e);

		if (!want) {
			ck_assert_msg(!got, "%d: %s where glibc has no name", e, got);
			continue;
		}
		ck_assert_msg(got && !strcmp(got, want), "%d: %s, glibc says %s", e, got ?: "NULL",
			      want);
		named++;
	}
	ck_assert_int_ge(named, 130);

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	ck_assert_int_eq(mkdir(a, 0700), 0);
	ck_assert_int_eq(mkdir(b, 0700), 0);
	errno = 0;
	ck_assert_int_eq(al_renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE), -1);
	ck_assert_int_eq(errno, EEXIST);
	ck_assert_int_eq(rmdir(b), 0);
	ck_assert_int_eq(al_renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_NOREPLACE), 0);
	ck_assert_int_eq(rmdir(b), 0);
	ck_assert_int_eq(rmdir(dir), 0);

	fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(al_close_range((unsigned)fd, (unsigned)fd, 0), 0);
	ck_assert_int_eq(fcntl(fd, F_GETFD), -1);
	ck_assert_int_eq(errno, EBADF);
}
END_TEST

static Suite *
lib_suite(void)
{
	Suite *s = suite_create("lib");
	TCase *t = tcase_create("core");

	tcase_add_test(t, buf_respects_cap);
	tcase_add_test(t, buf_steal_empty);
	tcase_add_loop_test(t, hex_roundtrip, 0, (int)AL_ARRAY_SIZE(hex_cases));
	tcase_add_loop_test(t, utf8_sanitize, 0, (int)AL_ARRAY_SIZE(utf8_cases));
	tcase_add_test(t, err_keeps_first_and_prefixes);
	tcase_add_loop_test(t, proc_wait_deadline, 0, 2);
	tcase_add_test(t, lockfile_one_holder);
	tcase_add_test(t, rm_rf_any_depth);
	tcase_add_test(t, path_join);
	tcase_add_test(t, files_capped_atomic_and_rm_rf);
	tcase_add_loop_test(t, runrec_check, 0, (int)AL_ARRAY_SIZE(runrec_cases));
	tcase_add_test(t, runrec_not_an_object);
	tcase_add_test(t, runrec_status_names);
	tcase_add_test(t, du_any_depth);
	tcase_add_test(t, compat_matches_glibc);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(lib_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
