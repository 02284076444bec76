/* The runner's confinement (runner/confine.c), tried from inside the way a runner taken
 * over through a libgit2 bug would try it: the signing key, the database and a secret
 * file outside the data directory must not open or read, the covers must not lift (not
 * here, not from a new namespace), the server's /proc must stay closed, no ref may move;
 * the job directory and the objects stay writable. Each probe runs in a child, which
 * reports the errno of every attempt back through a pipe. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/confine.h"

enum probe {
	P_ENTER,	/* al_confine_enter's result */
	P_KEY,		/* open DATA/signing.key */
	P_DB,		/* open DATA/airlock.db */
	P_SECRET_READ,	/* bytes read from the secret file outside DATA */
	P_UMOUNT,	/* umount2(DATA) */
	P_PROC_ROOT,	/* open /proc/PARENT/root/DATA/signing.key */
	P_REF_WRITE,	/* open REPO/refs/heads/main for writing */
	P_OBJ_WRITE,	/* create REPO/objects/probe */
	P_JOB_WRITE,	/* create JOB/probe */
	P_REPO_READ,	/* open REPO/HEAD */
	P_NEWNS_UMOUNT, /* umount2(DATA) from a new user and mount namespace */
	P_SANDBOX_UID,	/* the sandbox id differs from ours (1) */
	P_CACHE_WRITE,	/* create DATA/cache/probe: the cache is kept over the data dir's cover */
	P_N
};

static char root[64];
static char data[128], job[192], repo[192], secret[128], cache[192];

static void
put(const char *dir, const char *name, const char *text)
{
	char p[512];
	struct al_err err = {0};

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	ck_assert_msg(al_file_write_atomic(p, text, strlen(text), 0600, &err) == 0, "%s", err.msg);
}

static void
setup(void)
{
	char p[512];

	snprintf(root, sizeof(root), "/tmp/airlock-confine-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	chmod(root, 0755);
	snprintf(data, sizeof(data), "%s/data", root);
	snprintf(job, sizeof(job), "%s/jobs/7", data);
	snprintf(repo, sizeof(repo), "%s/repos/r.git", data);
	snprintf(secret, sizeof(secret), "%s/webhook.secret", root);
	snprintf(cache, sizeof(cache), "%s/cache", data);
	ck_assert_int_eq(mkdir(data, 0700), 0);
	snprintf(p, sizeof(p), "%s/jobs", data);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(mkdir(job, 0700), 0);
	ck_assert_int_eq(mkdir(cache, 0700), 0);
	snprintf(p, sizeof(p), "%s/repos", data);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(mkdir(repo, 0700), 0);
	snprintf(p, sizeof(p), "%s/objects", repo);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/refs", repo);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/refs/heads", repo);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	put(repo, "HEAD", "ref: refs/heads/main\n");
	put(repo, "refs/heads/main", "0123456789012345678901234567890123456789\n");
	put(data, "signing.key", "SECRET KEY BYTES");
	put(data, "airlock.db", "SQLite format 3");
	put(root, "webhook.secret", "whsec");
}

static void
teardown(void)
{
	al_rm_rf(root);
}

static int
try_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int
bytes_of(const char *path)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return (int)n;
}

static int
newns_umount(void)
{
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		return -errno;
	return umount2(data, MNT_DETACH) == 0 ? 0 : errno;
}

static void
probe(pid_t parent, int out)
{
	const char *hide[] = {data, secret};
	struct al_confine c = {
	    .hide = hide, .n_hide = 2, .job_dir = job, .repo = repo, .cache = cache};
	struct al_err err = {0};
	int res[P_N] = {0};
	char p[512];

	res[P_ENTER] = al_confine_enter(&c, &err);
	if (res[P_ENTER] < 0)
		fprintf(stderr, "confine: %s\n", err.msg);
	snprintf(p, sizeof(p), "%s/signing.key", data);
	res[P_KEY] = try_open(p, O_RDONLY);
	snprintf(p, sizeof(p), "%s/airlock.db", data);
	res[P_DB] = try_open(p, O_RDWR);
	res[P_SECRET_READ] = bytes_of(secret);
	res[P_UMOUNT] = umount2(data, MNT_DETACH) == 0 ? 0 : errno;
	snprintf(p, sizeof(p), "/proc/%d/root%s/signing.key", (int)parent, data);
	res[P_PROC_ROOT] = try_open(p, O_RDONLY);
	snprintf(p, sizeof(p), "%s/refs/heads/main", repo);
	res[P_REF_WRITE] = try_open(p, O_WRONLY | O_TRUNC);
	snprintf(p, sizeof(p), "%s/objects/probe", repo);
	res[P_OBJ_WRITE] = try_open(p, O_WRONLY | O_CREAT);
	snprintf(p, sizeof(p), "%s/probe", job);
	res[P_JOB_WRITE] = try_open(p, O_WRONLY | O_CREAT);
	snprintf(p, sizeof(p), "%s/HEAD", repo);
	res[P_REPO_READ] = try_open(p, O_RDONLY);
	res[P_SANDBOX_UID] = c.sandbox_uid != geteuid() && c.sandbox_uid != 0;
	snprintf(p, sizeof(p), "%s/probe", cache);
	res[P_CACHE_WRITE] = try_open(p, O_WRONLY | O_CREAT);
	res[P_NEWNS_UMOUNT] = newns_umount(); /* last: it leaves this namespace */
	if (write(out, res, sizeof(res)) != (ssize_t)sizeof(res))
		_exit(2);
	_exit(0);
}

static void
run_probe(int res[P_N])
{
	int fds[2], go[2], st;
	pid_t pid, parent = getpid();
	char x;

	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(fds[0]);
		close(go[1]);
		if (read(go[0], &x, 1) != 1)
			_exit(3);
		probe(parent, fds[1]);
	}
	close(fds[1]);
	close(go[0]);
	/* the server is not dumpable (server/main.c); this process plays it */
	ck_assert_int_eq(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0), 0);
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	close(go[1]);
	ck_assert_int_eq(read(fds[0], res, sizeof(int) * P_N), (ssize_t)(sizeof(int) * P_N));
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

START_TEST(runner_cannot_reach_secrets)
{
	int res[P_N];

	run_probe(res);
	ck_assert_msg(res[P_ENTER] == 0, "confinement failed: %d", res[P_ENTER]);
	ck_assert_int_eq(res[P_KEY], ENOENT);
	ck_assert_int_eq(res[P_DB], ENOENT);
	ck_assert_int_eq(res[P_SECRET_READ], 0);
	ck_assert_int_eq(res[P_UMOUNT], EPERM);
	ck_assert_int_eq(res[P_PROC_ROOT], EACCES);
	ck_assert_int_eq(res[P_REF_WRITE], EROFS);
	ck_assert_int_eq(res[P_NEWNS_UMOUNT], EINVAL); /* locked: the kernel keeps it */
	ck_assert_int_eq(res[P_SANDBOX_UID], 1);
}
END_TEST

START_TEST(runner_keeps_its_job_and_repo)
{
	int res[P_N];

	run_probe(res);
	ck_assert_int_eq(res[P_ENTER], 0);
	ck_assert_int_eq(res[P_OBJ_WRITE], 0);
	ck_assert_int_eq(res[P_JOB_WRITE], 0);
	ck_assert_int_eq(res[P_REPO_READ], 0);
	/* and what it wrote is where the server will look */
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/probe", job);
	ck_assert_int_eq(stat(p, &st), 0);
	snprintf(p, sizeof(p), "%s/objects/probe", repo);
	ck_assert_int_eq(stat(p, &st), 0);
	ck_assert_int_eq(res[P_CACHE_WRITE], 0);
	snprintf(p, sizeof(p), "%s/probe", cache);
	ck_assert_int_eq(stat(p, &st), 0);
}
END_TEST

/* A cache that holds a hidden path would bring it back over its cover: refused before
 * anything is mounted (the data directory itself, or a parent of it). */
START_TEST(cache_holding_a_secret_refused)
{
	const char *hide[] = {data, secret};
	const char *bad[] = {data, root, "/"};
	struct al_err err = {0};

	for (size_t i = 0; i < AL_ARRAY_SIZE(bad); i++) {
		struct al_confine c = {.hide = hide, .n_hide = 2, .job_dir = job, .cache = bad[i]};

		memset(&err, 0, sizeof(err));
		ck_assert_int_eq(al_confine_enter(&c, &err), -EPERM);
		ck_assert_msg(strstr(err.msg, "must stay hidden"), "%s", err.msg);
	}
}
END_TEST

/* A job without confinement does not start: the runner's caller must name what to hide,
 * and a path list too long is refused rather than cut. */
START_TEST(too_many_paths_refused)
{
	const char *hide[65];
	struct al_confine c = {.hide = hide, .n_hide = 65, .job_dir = job};
	struct al_err err = {0};

	for (size_t i = 0; i < 65; i++)
		hide[i] = data;
	ck_assert_int_eq(al_confine_enter(&c, &err), -E2BIG);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("confine");
	TCase *tc = tcase_create("confine");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, runner_cannot_reach_secrets);
	tcase_add_test(tc, runner_keeps_its_job_and_repo);
	tcase_add_test(tc, too_many_paths_refused);
	tcase_add_test(tc, cache_holding_a_secret_refused);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
