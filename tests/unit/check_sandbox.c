/* The sandbox, checked from the outside: what a command sees and what the record says.
 * Most cases need user namespaces; as root they also check the mapping to 65534. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/sandbox.h"
#include "runner/seccomp.h"

#define SH(script) ((char *const[]){"sh", "-c", (script), NULL})

static char ws[64];

static void
ws_setup(void)
{
	uid_t uid;
	gid_t gid;

	snprintf(ws, sizeof(ws), "/tmp/al-check-sandbox-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(ws));
	al_sandbox_default_ids(&uid, &gid);
	/* the caller's job in production: the sandbox user owns the workspace */
	ck_assert_int_eq(chown(ws, uid, gid), 0);
}

static void
ws_teardown(void)
{
	al_rm_rf(ws);
}

static void
assert_no_children(void)
{
	/* every process the run made has been reaped */
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);
	ck_assert_int_eq(errno, ECHILD);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void
run_in(const char *workspace, char *const *argv, unsigned timeout_ms, size_t cap,
       char *const *env_extra, struct al_run_record *rec)
{
	struct al_sandbox_opts o = {
	    .workspace = workspace,
	    .argv = argv,
	    .env_extra = env_extra,
	    .timeout_ms = timeout_ms,
	    .output_cap = cap,
	};
	struct al_err e = {0};
	int r, fds = count_fds();

	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	r = al_sandbox_run(&o, rec, &e);
	ck_assert_msg(r == 0, "al_sandbox_run: %d %s", r, al_err_msg(&e));
	assert_no_children();
	ck_assert_int_eq(count_fds(), fds);
}

static void
run(char *const *argv, unsigned timeout_ms, size_t cap, struct al_run_record *rec)
{
	run_in(ws, argv, timeout_ms, cap, NULL, rec);
}

static void
assert_ok(const struct al_run_record *rec)
{
	ck_assert_msg(rec->status == AL_RUN_OK, "status %s exit %d signal %d detail '%s' err '%s'",
		      al_run_status_name(rec->status), rec->exit_code, rec->signal, rec->detail,
		      rec->err);
}

static long
max_rss_kb(void)
{
	struct rusage ru;

	ck_assert_int_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_maxrss;
}

/* ---- outcomes ---- */

START_TEST(echo_captured)
{
	struct al_run_record rec = {0};

	run((char *const[]){"echo", "hello airlock", NULL}, 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_int_eq(rec.exit_code, 0);
	ck_assert_int_eq(rec.killed, 0);
	ck_assert_str_eq(rec.out, "hello airlock\n");
	ck_assert_uint_eq(rec.out_len, 14);
	ck_assert_str_eq(rec.err, "");
	ck_assert_uint_eq(rec.out_dropped, 0);
	ck_assert_int_ge(rec.wall_ms, 0);
	ck_assert_int_gt(rec.max_rss_kb, 0);
	al_run_record_clear(&rec);
	ck_assert_ptr_null(rec.out);
}
END_TEST

static const struct {
	char *const *argv;
	enum al_run_status status;
	int exit_code, signal;
	const char *err_has;
} outcome_cases[] = {
    {(char *const[]){"true", NULL}, AL_RUN_OK, 0, 0, ""},
    {(char *const[]){"false", NULL}, AL_RUN_RE, 1, 0, ""},
    {SH("exit 3"), AL_RUN_RE, 3, 0, ""},
    {SH("kill -SEGV $$"), AL_RUN_SG, -1, SIGSEGV, ""},
    {SH("kill -KILL $$"), AL_RUN_SG, -1, SIGKILL, ""},
    {SH("echo oops >&2; exit 250"), AL_RUN_RE, 250, 0, "oops\n"},
    {(char *const[]){"airlock-no-such-command", NULL}, AL_RUN_RE, 127, 0, "ENOENT"},
    {(char *const[]){"/work/missing", NULL}, AL_RUN_RE, 127, 0, "cannot run /work/missing"},
};

START_TEST(outcomes)
{
	struct al_run_record rec = {0};

	run(outcome_cases[_i].argv, 0, 0, &rec);
	ck_assert_msg(rec.status == outcome_cases[_i].status, "case %d: status %s detail '%s'", _i,
		      al_run_status_name(rec.status), rec.detail);
	ck_assert_int_eq(rec.exit_code, outcome_cases[_i].exit_code);
	ck_assert_int_eq(rec.signal, outcome_cases[_i].signal);
	ck_assert_int_eq(rec.killed, 0);
	ck_assert_str_eq(rec.detail, "");
	ck_assert_msg(strstr(rec.err, outcome_cases[_i].err_has), "case %d: stderr '%s'", _i,
		      rec.err);
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(streams_separate)
{
	struct al_run_record rec = {0};

	run(SH("echo out; echo err >&2; echo out2"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "out\nout2\n");
	ck_assert_str_eq(rec.err, "err\n");
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(timeout_kills)
{
	struct al_run_record rec = {0};

	run((char *const[]){"sleep", "30", NULL}, 300, 0, &rec);
	ck_assert_int_eq(rec.status, AL_RUN_TO);
	ck_assert_int_eq(rec.killed, 1);
	ck_assert_int_ge(rec.wall_ms, 300);
	ck_assert_int_lt(rec.wall_ms, 3000);
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(setup_failure_is_xx)
{
	struct al_run_record rec = {0};

	if (geteuid() != 0)
		return; /* needs a workspace the sandbox user cannot enter */
	/* what a caller that forgot to chown produces: root's 0700 directory */
	ck_assert_int_eq(chown(ws, 0, 0), 0);
	ck_assert_int_eq(chmod(ws, 0700), 0);
	run((char *const[]){"true", NULL}, 0, 0, &rec);
	ck_assert_int_eq(rec.status, AL_RUN_XX);
	ck_assert_int_eq(rec.exit_code, -1);
	ck_assert_msg(strstr(rec.detail, "chdir /work"), "detail '%s'", rec.detail);
	al_run_record_clear(&rec);
}
END_TEST

/* The runner keeps workspaces below its 0700 data dir, which the sandbox user cannot
 * search: the workspace must still be reachable, and only it. */
START_TEST(workspace_below_private_dir)
{
	_cleanup_free_ char *inner = al_path_join(ws, "private/job/candidate");
	_cleanup_free_ char *priv = al_path_join(ws, "private");
	struct al_run_record rec = {0};
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0)
		return; /* needs a directory the sandbox user cannot search */
	al_sandbox_default_ids(&uid, &gid);
	ck_assert_int_eq(al_mkdir_p(inner, 0700), 0);
	ck_assert_int_eq(chown(inner, uid, gid), 0);
	ck_assert_int_eq(chmod(priv, 0700), 0);
	run_in(inner, SH("echo hi > /work/f && cat /work/f && ls /work"), 0, 0, NULL, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "hi\nf\n");
	al_run_record_clear(&rec);
}
END_TEST

/* ---- the whole tree dies at the timeout ---- */

struct bg_run {
	char *const *argv;
	unsigned timeout_ms;
	struct al_run_record rec;
	int rc;
};

static void *
bg_run_main(void *p)
{
	struct bg_run *b = p;
	struct al_sandbox_opts o = {.workspace = ws, .argv = b->argv, .timeout_ms = b->timeout_ms};

	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	b->rc = al_sandbox_run(&o, &b->rec, NULL);
	return NULL;
}

/* Processes anywhere on the host whose command line contains marker. */
static int
count_marker(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char path[300], buf[4096];
		ssize_t len;
		int fd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf));
		close(fd);
		if (len > 0 && memmem(buf, (size_t)len, marker, strlen(marker)))
			n++;
	}
	closedir(d);
	return n;
}

static char *
probes_dir(void)
{
	static char dir[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	snprintf(dir, sizeof(dir), "%s/probes", dirname(exe));
	return dir;
}

static void
copy_probe(const char *name)
{
	_cleanup_free_ char *src = al_path_join(probes_dir(), name);
	_cleanup_free_ char *dst = al_path_join(ws, name);
	_cleanup_free_ char *data = NULL;
	_cleanup_close_ int fd = -1;
	struct al_err e = {0};
	size_t len;

	ck_assert_msg(al_file_read(src, 64 << 20, &data, &len, &e) == 0,
		      "%s (build it with `make probes`)", al_err_msg(&e));
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(al_fd_write_all(fd, data, len), 0);
}

START_TEST(timeout_kills_orphans)
{
	char marker[64];
	struct bg_run b = {.timeout_ms = 1500};
	pthread_t t;
	int seen = 0;

	snprintf(marker, sizeof(marker), "al-orphan-%d-%ld", (int)getpid(), (long)time(NULL));
	b.argv = (char *const[]){"/work/orphan", marker, NULL};
	copy_probe("orphan");
	ck_assert_int_eq(pthread_create(&t, NULL, bg_run_main, &b), 0);
	/* the probe and its setsid'd grandchild must really be running... */
	for (int i = 0; i < 100 && seen < 2; i++) {
		seen = count_marker(marker);
		usleep(10000);
	}
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_ge(seen, 2);
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_eq(b.rec.status, AL_RUN_TO);
	ck_assert_int_eq(b.rec.killed, 1);
	ck_assert_msg(strstr(b.rec.out, "probe=orphan result=spawned"), "out '%s'", b.rec.out);
	/* ...and none of them outlives the run */
	ck_assert_int_eq(count_marker(marker), 0);
	assert_no_children();
	al_run_record_clear(&b.rec);
}
END_TEST

struct par_run {
	pthread_t t;
	char script[32];
	char *argv[4];
	struct bg_run b;
};

START_TEST(parallel_runs)
{
	struct par_run runs[4];

	for (int i = 0; i < 4; i++) {
		snprintf(runs[i].script, sizeof(runs[i].script), "echo run %d", i);
		runs[i].argv[0] = "sh";
		runs[i].argv[1] = "-c";
		runs[i].argv[2] = runs[i].script;
		runs[i].argv[3] = NULL;
		runs[i].b = (struct bg_run){.argv = runs[i].argv, .timeout_ms = 20000};
		ck_assert_int_eq(pthread_create(&runs[i].t, NULL, bg_run_main, &runs[i].b), 0);
	}
	for (int i = 0; i < 4; i++) {
		char want[32];

		ck_assert_int_eq(pthread_join(runs[i].t, NULL), 0);
		snprintf(want, sizeof(want), "run %d\n", i);
		ck_assert_int_eq(runs[i].b.rc, 0);
		assert_ok(&runs[i].b.rec);
		ck_assert_str_eq(runs[i].b.rec.out, want);
		al_run_record_clear(&runs[i].b.rec);
	}
	assert_no_children();
}
END_TEST

/* ---- what the command sees ---- */

START_TEST(network_absent)
{
	struct al_run_record rec = {0};

	run((char *const[]){"bash", "-c", "echo > /dev/tcp/127.0.0.1/80", NULL}, 0, 0, &rec);
	ck_assert_int_eq(rec.status, AL_RUN_RE);
	ck_assert_msg(strstr(rec.err, "Network is unreachable"), "err '%s'", rec.err);
	al_run_record_clear(&rec);
	/* the interfaces of this network namespace: loopback only */
	run(SH("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "lo\n");
	al_run_record_clear(&rec);
}
END_TEST

static const char *const root_entries[] = {
    "bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr", "work",
};

START_TEST(host_fs_hidden)
{
	struct al_run_record rec = {0};
	char *line, *save = NULL;

	run(SH("for p in /root /home /work/main /etc/shadow /old_root /.oldroot /sys /run /var; do "
	       "test -e $p && echo visible $p; done; test -x /usr/bin/env && echo usr-ok; ls -a /"),
	    0, 0, &rec);
	assert_ok(&rec);
	ck_assert_msg(!strstr(rec.out, "visible"), "out '%s'", rec.out);
	ck_assert_msg(strncmp(rec.out, "usr-ok\n", 7) == 0, "out '%s'", rec.out);
	for (line = strtok_r(rec.out + 7, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int known = !strcmp(line, ".") || !strcmp(line, "..");

		for (size_t i = 0; i < AL_ARRAY_SIZE(root_entries); i++)
			known |= !strcmp(line, root_entries[i]);
		ck_assert_msg(known, "unexpected /%s in the sandbox", line);
	}
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(identity_and_privileges)
{
	struct al_run_record rec = {0};
	char want[1024];
	uid_t uid;
	gid_t gid;

	al_sandbox_default_ids(&uid, &gid);
	run(SH("id -u; id -g; echo $$; cut -d' ' -f5,6 /proc/$$/stat; read a b c < "
	       "/proc/self/uid_map; echo $a $b $c; "
	       "read a b c < /proc/self/gid_map; echo $a $b $c; cat /proc/self/setgroups; "
	       "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "
	       "/proc/self/status; hostname"),
	    0, 0, &rec);
	assert_ok(&rec);
	snprintf(want, sizeof(want),
		 "0\n0\n2\n2 2\n0 %u 1\n0 %u 1\ndeny\n"
		 "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
		 "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"
		 "CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nairlock\n",
		 (unsigned)uid, (unsigned)gid);
	ck_assert_str_eq(rec.out, want);
	if (geteuid() == 0)
		ck_assert_uint_eq(uid, 65534);
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(mounts_read_only_where_expected)
{
	struct al_run_record rec = {0};

	run(SH("for p in /x /usr/x /etc/x /dev/x /tmp/x /work/x; do "
	       "if touch $p 2>/dev/null; then echo $p rw; else echo $p ro; fi; done; "
	       "echo hi > /dev/null && echo devnull-ok"),
	    0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "/x ro\n/usr/x ro\n/etc/x ro\n/dev/x ro\n/tmp/x rw\n/work/x rw\n"
				  "devnull-ok\n");
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(tmp_is_capped)
{
	struct al_run_record rec = {0};

	run(SH("head -c 70M /dev/zero > /tmp/big; echo $?; ls -s /tmp/big"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_msg(strncmp(rec.out, "1\n", 2) == 0, "out '%s'", rec.out);
	ck_assert_msg(strstr(rec.err, "No space left"), "err '%s'", rec.err);
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(limits_applied)
{
	struct al_run_record rec = {0};

	/* dash reports -f in 512-byte blocks: 256 MiB */
	run(SH("ulimit -c; ulimit -n; ulimit -f; ulimit -Hn"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "0\n1024\n524288\n1024\n");
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(fds_closed_stdin_null)
{
	struct al_run_record rec = {0};
	int leak = open("/dev/null", O_RDONLY); /* deliberately inheritable */

	ck_assert_int_ge(leak, 3);
	run(SH("ls /proc/self/fd; readlink /proc/self/fd/0; cat"), 0, 0, &rec);
	close(leak);
	assert_ok(&rec);
	/* ls's own directory fd is 3; nothing of ours */
	ck_assert_str_eq(rec.out, "0\n1\n2\n3\n/dev/null\n");
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(workspace_shared)
{
	struct al_run_record rec = {0};
	_cleanup_free_ char *in = al_path_join(ws, "in.txt");
	_cleanup_free_ char *out = al_path_join(ws, "out.txt");
	_cleanup_free_ char *data = NULL;
	struct stat st;
	uid_t uid;
	gid_t gid;
	size_t len;

	ck_assert_int_eq(al_file_write_atomic(in, "from host\n", 10, 0644, NULL), 0);
	run(SH("cat /work/in.txt; pwd; echo from sandbox > out.txt"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "from host\n/work\n");
	ck_assert_int_eq(al_file_read(out, 1024, &data, &len, NULL), 0);
	ck_assert_str_eq(data, "from sandbox\n");
	ck_assert_int_eq(stat(out, &st), 0);
	al_sandbox_default_ids(&uid, &gid);
	ck_assert_uint_eq(st.st_uid, uid);
	ck_assert_uint_eq(st.st_gid, gid);
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(environment_allowlist)
{
	struct al_run_record rec = {0};

	ck_assert_int_eq(setenv("AIRLOCK_CANARY", "leaked", 1), 0);
	ck_assert_ptr_nonnull(getenv("PATH"));
	run_in(ws, (char *const[]){"env", NULL}, 0, 0, (char *const[]){"FOO=bar", "LANG=C", NULL},
	       &rec);
	assert_ok(&rec);
	ck_assert_msg(!strstr(rec.out, "AIRLOCK_CANARY"), "out '%s'", rec.out);
	ck_assert_str_eq(rec.out, "PATH=/usr/local/bin:/usr/bin:/bin\nHOME=/tmp\nTERM=dumb\n"
				  "FOO=bar\nLANG=C\n");
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(signals_default)
{
	struct al_run_record rec = {0};

	/* the kernel's struct sigaction: glibc will not touch its own signal 33 */
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		unsigned long mask;
	} ign = {.handler = SIG_IGN}, dfl = {.handler = SIG_DFL};

	/* a runner that ignores SIGPIPE, or that make left ignoring 33, must not pass that on */
	ck_assert_ptr_ne(signal(SIGPIPE, SIG_IGN), SIG_ERR);
	ck_assert_int_eq(syscall(SYS_rt_sigaction, 33, &ign, NULL, sizeof(ign.mask)), 0);
	run(SH("grep -E '^Sig(Ign|Blk):' /proc/self/status"), 0, 0, &rec);
	signal(SIGPIPE, SIG_DFL);
	syscall(SYS_rt_sigaction, 33, &dfl, NULL, sizeof(dfl.mask));
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	al_run_record_clear(&rec);
}
END_TEST

/* ---- output caps ---- */

static const struct {
	const char *script;
	size_t cap;
	const char *out;
	size_t dropped;
} cap_cases[] = {
    {"printf 0123456789ABCDEFGHIJ", 20, "0123456789ABCDEFGHIJ", 0},
    {"printf 0123456789ABCDEFGHIJ", 10, "01234\n[airlock: 10 bytes dropped]\nFGHIJ", 10},
    {"printf 0123456789ABCDEFGHIJ", 19, "012345678\n[airlock: 1 bytes dropped]\nABCDEFGHIJ", 1},
    {"printf abc", 1, "\n[airlock: 2 bytes dropped]\nc", 2},
    {"true", 10, "", 0},
    /* separate writes, so the tail ring wraps between reads */
    {"for i in 1 2 3 4 5 6 7 8 9; do printf $i; sleep 0.02; done", 4,
     "12\n[airlock: 5 bytes dropped]\n89", 5},
    {"for i in 1 2 3 4 5 6 7; do printf $i$i$i; sleep 0.02; done", 7,
     "111\n[airlock: 14 bytes dropped]\n6777", 14},
};

START_TEST(output_cap_head_tail)
{
	struct al_run_record rec = {0};

	run(SH((char *)cap_cases[_i].script), 0, cap_cases[_i].cap, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, cap_cases[_i].out);
	ck_assert_uint_eq(rec.out_len, strlen(cap_cases[_i].out));
	ck_assert_uint_eq(rec.out_dropped, cap_cases[_i].dropped);
	ck_assert_uint_le(rec.out_len, cap_cases[_i].cap + AL_SANDBOX_MARKER_MAX);
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(flood_to_eof_is_capped)
{
	struct al_run_record rec = {0};
	size_t cap = (size_t)1 << 20, total = (size_t)20 << 20;
	long rss = max_rss_kb();

	run(SH("head -c 20M /dev/zero; head -c 20M /dev/zero >&2"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_uint_eq(rec.out_dropped, total - cap);
	ck_assert_uint_eq(rec.err_dropped, total - cap);
	ck_assert_uint_le(rec.out_len, cap + AL_SANDBOX_MARKER_MAX);
	ck_assert_uint_le(rec.err_len, cap + AL_SANDBOX_MARKER_MAX);
	ck_assert_int_eq(rec.out[0], '\0');
	ck_assert_ptr_nonnull(memmem(rec.out, rec.out_len, "bytes dropped]", 14));
	ck_assert_int_lt(rec.wall_ms, 10000);
	/* the runner kept a bounded amount: two 1 MiB streams, not 40 MiB */
	ck_assert_int_lt(max_rss_kb() - rss, 16 * 1024);
	al_run_record_clear(&rec);
}
END_TEST

START_TEST(endless_flood_times_out)
{
	struct al_run_record rec = {0};
	long rss = max_rss_kb();

	run((char *const[]){"yes", NULL}, 1000, 4096, &rec);
	ck_assert_int_eq(rec.status, AL_RUN_TO);
	ck_assert_int_eq(rec.killed, 1);
	ck_assert_uint_gt(rec.out_dropped, 1 << 20);
	ck_assert_uint_le(rec.out_len, 4096 + AL_SANDBOX_MARKER_MAX);
	ck_assert_int_eq(strncmp(rec.out, "y\ny\n", 4), 0);
	ck_assert_int_lt(rec.wall_ms, 3000);
	ck_assert_int_lt(max_rss_kb() - rss, 16 * 1024);
	al_run_record_clear(&rec);
}
END_TEST

/* ---- probes: one forbidden thing each, run inside ---- */

static const char *const probes[] = {
    "net", "mount", "ptrace", "unshare", "caps", "hostfs", "rofs", "syscalls",
};
/* probes that are not of the blocked/allowed kind; run by their own tests */
static const char *const special_probes[] = {"orphan"};

START_TEST(probe_blocked_inside)
{
	struct al_run_record rec = {0};
	char path[64], want[64];

	copy_probe(probes[_i]);
	snprintf(path, sizeof(path), "/work/%s", probes[_i]);
	snprintf(want, sizeof(want), "probe=%s result=blocked", probes[_i]);
	run((char *const[]){path, NULL}, 10000, 0, &rec);
	ck_assert_msg(rec.status == AL_RUN_OK && strstr(rec.out, want),
		      "%s: status %s exit %d out '%s' err '%s' detail '%s'", probes[_i],
		      al_run_status_name(rec.status), rec.exit_code, rec.out, rec.err, rec.detail);
	al_run_record_clear(&rec);
}
END_TEST

/* The same probe outside the sandbox must see the forbidden thing work, or it proves
 * nothing inside. It runs in a private mount namespace so the mount probe stays there. */
START_TEST(probe_allowed_outside)
{
	_cleanup_free_ char *path = al_path_join(probes_dir(), probes[_i]);
	char out[512] = "", want[64];
	int fds[2], st;
	ssize_t n;
	pid_t pid;

	if (geteuid() != 0)
		return; /* unprivileged, several things are blocked anyway */
	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(90);
		dup2(fds[1], STDOUT_FILENO);
		execl(path, path, (char *)NULL);
		_exit(91);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof(out) - 1);
	close(fds[0]);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	out[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "probe=%s result=allowed", probes[_i]);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1 && strstr(out, want),
		      "%s on the host: status %#x out '%s'", probes[_i], st, out);
}
END_TEST

static int
in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(name, list[i]))
			return 1;
	return 0;
}

START_TEST(every_probe_is_run)
{
	DIR *d = opendir(probes_dir());
	struct dirent *e;
	size_t n = 0;

	ck_assert_msg(d != NULL, "%s missing: make probes", probes_dir());
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		ck_assert_msg(in_list(e->d_name, probes, AL_ARRAY_SIZE(probes)) ||
				  in_list(e->d_name, special_probes, AL_ARRAY_SIZE(special_probes)),
			      "probe %s is not in check_sandbox's tables", e->d_name);
		n++;
	}
	closedir(d);
	ck_assert_uint_eq(n, AL_ARRAY_SIZE(probes) + AL_ARRAY_SIZE(special_probes));
}
END_TEST

/* ---- the filter on its own, in a child that still has every capability ---- */

#define NOPATH "/nonexistent-airlock-check"

static const struct {
	const char *name;
	long nr;
	long a[6];
	int want;
} filtered[] = {
    {"ptrace", SYS_ptrace, {-1}, EPERM},
    {"process_vm_readv", SYS_process_vm_readv, {0}, EPERM},
    {"process_vm_writev", SYS_process_vm_writev, {0}, EPERM},
    {"keyctl", SYS_keyctl, {-1}, EPERM},
    {"add_key", SYS_add_key, {0}, EPERM},
    {"request_key", SYS_request_key, {0}, EPERM},
    {"io_uring_setup", SYS_io_uring_setup, {0}, EPERM},
    {"io_uring_enter", SYS_io_uring_enter, {-1}, EPERM},
    {"io_uring_register", SYS_io_uring_register, {-1}, EPERM},
    {"userfaultfd", SYS_userfaultfd, {-1}, EPERM},
    {"perf_event_open", SYS_perf_event_open, {0, 0, -1, -1, 0}, EPERM},
    {"bpf", SYS_bpf, {-1}, EPERM},
    {"mount", SYS_mount, {0}, EPERM},
    {"umount2", SYS_umount2, {(long)NOPATH}, EPERM},
    {"pivot_root", SYS_pivot_root, {(long)NOPATH, (long)NOPATH}, EPERM},
    {"move_mount", SYS_move_mount, {-1, (long)"", -1, (long)""}, EPERM},
    {"open_tree", SYS_open_tree, {-1, (long)NOPATH}, EPERM},
    {"fsopen", SYS_fsopen, {(long)"nonexistent-airlock-fs"}, EPERM},
    {"fsmount", SYS_fsmount, {-1}, EPERM},
    {"fsconfig", SYS_fsconfig, {-1}, EPERM},
    {"fspick", SYS_fspick, {-1, (long)NOPATH}, EPERM},
    {"mount_setattr", SYS_mount_setattr, {-1, (long)NOPATH}, EPERM},
    {"unshare", SYS_unshare, {0}, EPERM},
    {"setns", SYS_setns, {-1}, EPERM},
    {"kexec_load", SYS_kexec_load, {0, 0, 0, (long)0xdead0000}, EPERM},
    {"kexec_file_load", SYS_kexec_file_load, {-1, -1, 0, 0, (long)0xdead0000}, EPERM},
    {"init_module", SYS_init_module, {0}, EPERM},
    {"finit_module", SYS_finit_module, {-1, (long)""}, EPERM},
    {"delete_module", SYS_delete_module, {(long)"airlock_no_such_module"}, EPERM},
    {"reboot", SYS_reboot, {0}, EPERM}, /* bad magic: the kernel refuses it anyway */
    {"swapon", SYS_swapon, {(long)NOPATH}, EPERM},
    {"swapoff", SYS_swapoff, {(long)NOPATH}, EPERM},
    {"acct", SYS_acct, {(long)NOPATH}, EPERM},
    {"clone3", SYS_clone3, {0}, ENOSYS},
    {"ioctl TIOCSTI", SYS_ioctl, {-1, TIOCSTI}, EPERM},
    {"ioctl TIOCSTI high bits", SYS_ioctl, {-1, (long)(0x100000000L | TIOCSTI)}, EPERM},
    {"clone NEWUSER", SYS_clone, {CLONE_NEWUSER | SIGCHLD}, EPERM},
    {"clone NEWNS", SYS_clone, {CLONE_NEWNS | SIGCHLD}, EPERM},
    {"clone NEWPID", SYS_clone, {CLONE_NEWPID | SIGCHLD}, EPERM},
    {"clone NEWNET", SYS_clone, {CLONE_NEWNET | SIGCHLD}, EPERM},
    {"clone NEWIPC", SYS_clone, {CLONE_NEWIPC | SIGCHLD}, EPERM},
    {"clone NEWUTS", SYS_clone, {CLONE_NEWUTS | SIGCHLD}, EPERM},
    {"clone NEWCGROUP", SYS_clone, {CLONE_NEWCGROUP | SIGCHLD}, EPERM},
};

/* errno of the call, 0 on success; a clone that works is reaped at once */
static int
try_filtered(int i)
{
	long r = syscall(filtered[i].nr, filtered[i].a[0], filtered[i].a[1], filtered[i].a[2],
			 filtered[i].a[3], filtered[i].a[4], filtered[i].a[5]);

	if (r == 0 && filtered[i].nr == SYS_clone)
		_exit(0);
	if (r > 0 && filtered[i].nr == SYS_clone)
		waitpid((pid_t)r, NULL, 0);
	return r < 0 ? errno : 0;
}

START_TEST(seccomp_denies)
{
	int st;
	pid_t pid;

	if (geteuid() != 0)
		return; /* without capabilities the kernel's own EPERM hides the filter's */
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (try_filtered(_i) == filtered[_i].want)
			_exit(10); /* the test could not tell the filter from the kernel */
		if (al_seccomp_load(NULL) < 0)
			_exit(11);
		_exit(try_filtered(_i) == filtered[_i].want ? 0 : 12);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		      "%s: status %#x (10 no control, "
		      "11 load failed, 12 not denied)",
		      filtered[_i].name, st);
}
END_TEST

static void *
thread_main(void *p)
{
	return p;
}

/* What must keep working under the filter: fork, threads (clone3 falls back to clone). */
START_TEST(seccomp_allows_fork_and_threads)
{
	int st;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pthread_t t;
		void *ret = NULL;
		pid_t c;

		if (al_seccomp_load(NULL) < 0)
			_exit(11);
		c = fork();
		if (c == 0)
			_exit(7);
		if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
			_exit(12);
		if (pthread_create(&t, NULL, thread_main, &st) != 0 || pthread_join(t, &ret) != 0)
			_exit(13);
		_exit(ret == &st ? 0 : 14);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status %#x", st);
}
END_TEST

#if defined(__x86_64__)
static long
int80_getpid(void)
{
	long ret;

	/* the i386 syscall gate: getpid is 20 there */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static const int other_arch_cases = 2;

/* Wait status of a child that makes the foreign call, with or without the filter. */
static int
other_arch_call(int which, int filter)
{
	int st;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		/* sanitizers catch SIGSEGV; the test needs the plain death */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGSYS, SIG_DFL);
		if (filter && al_seccomp_load(NULL) < 0)
			_exit(11);
		if (which == 0)
			syscall(0x40000000L | SYS_getpid); /* x32 */
		else
			int80_getpid();
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return st;
}

START_TEST(seccomp_kills_other_arch)
{
	int st = other_arch_call(_i, 0);

	/* a kernel without ia32 emulation faults on int 0x80 before any filter runs */
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)
		return;
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "case %d control: %#x", _i, st);
	st = other_arch_call(_i, 1);
	ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "case %d: status %#x", _i, st);
}
END_TEST
#endif

/* ---- records, names, profile, arguments ---- */

START_TEST(bad_arguments)
{
	struct al_run_record rec = {.status = AL_RUN_OOM, .exit_code = 77};
	struct al_sandbox_opts o = {.workspace = ws, .argv = (char *const[]){"true", NULL}};
	struct al_err e = {0};
	_cleanup_free_ char *file = al_path_join(ws, "file");

	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	o.argv = NULL;
	ck_assert_int_eq(al_sandbox_run(&o, &rec, &e), -EINVAL);
	o.argv = (char *const[]){NULL};
	ck_assert_int_eq(al_sandbox_run(&o, &rec, NULL), -EINVAL);
	o.argv = (char *const[]){"true", NULL};
	o.workspace = "/nonexistent-airlock-ws";
	ck_assert_int_eq(al_sandbox_run(&o, &rec, NULL), -ENOENT);
	ck_assert_int_eq(al_file_write_atomic(file, "x", 1, 0644, NULL), 0);
	o.workspace = file;
	ck_assert_int_eq(al_sandbox_run(&o, &rec, NULL), -ENOTDIR);
	o.workspace = ws;
	o.env_extra = (char *const[]){"NOEQUALS", NULL};
	ck_assert_int_eq(al_sandbox_run(&o, &rec, NULL), -EINVAL);
	o.env_extra = NULL;
	if (geteuid() == 0) {
		o.host_uid = 0;
		ck_assert_int_eq(al_sandbox_run(&o, &rec, NULL), -EINVAL);
	}
	/* failures leave the output alone */
	ck_assert_int_eq(rec.status, AL_RUN_OOM);
	ck_assert_int_eq(rec.exit_code, 77);
	ck_assert_ptr_null(rec.out);
	ck_assert_msg(e.msg[0] != '\0', "no message for a missing command");
	assert_no_children();
}
END_TEST

START_TEST(status_names)
{
	static const char *const names[] = {"OK", "RE", "SG", "TO", "OOM", "XX"};

	for (int s = AL_RUN_OK; s <= AL_RUN_XX; s++)
		ck_assert_str_eq(al_run_status_name((enum al_run_status)s), names[s]);
	ck_assert_str_eq(al_run_status_name((enum al_run_status)42), "??");
	al_run_record_clear(NULL);
}
END_TEST

static const char *const profile_lines[] = {
    "namespaces user pid mount net ipc uts cgroup\n",
    "mount ro-bind /usr from /usr\n",
    "mount rw-bind /work from <workspace>\n",
    "mount tmpfs /tmp from size=64m,mode=1777\n",
    "mount dev-bind /dev/null from /dev/null\n",
    "mount proc /proc\n",
    "env PATH=/usr/local/bin:/usr/bin:/bin\n",
    "env HOME=/tmp\n",
    "rlimit core 0\n",
    "rlimit fsize 268435456\n",
    "rlimit nofile 1024\n",
    "no_new_privs 1\n",
    "seccomp default=allow arch=",
    "seccomp deny ptrace errno=EPERM\n",
    "seccomp deny io_uring_setup errno=EPERM\n",
    "seccomp deny clone3 errno=ENOSYS\n",
    "seccomp deny clone if arg0 has CLONE_NEWUSER errno=EPERM\n",
    "seccomp deny ioctl if arg1 == TIOCSTI errno=EPERM\n",
};

START_TEST(profile_text)
{
	const char *p = al_sandbox_profile();
	const char *f = al_seccomp_profile();
	size_t lp = strlen(p), lf = strlen(f);

	ck_assert_msg(strstr(p, profile_lines[_i]), "profile lacks '%s'", profile_lines[_i]);
	ck_assert_ptr_eq(p, al_sandbox_profile());
	ck_assert_uint_gt(lf, 0);
	ck_assert_uint_gt(lp, lf);
	ck_assert_str_eq(p + lp - lf, f);
}
END_TEST

static Suite *
sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *r = tcase_create("run");
	TCase *p = tcase_create("probes");
	TCase *f = tcase_create("seccomp");
	TCase *m = tcase_create("misc");

	tcase_add_checked_fixture(r, ws_setup, ws_teardown);
	tcase_set_timeout(r, 60);
	tcase_add_test(r, echo_captured);
	tcase_add_loop_test(r, outcomes, 0, (int)AL_ARRAY_SIZE(outcome_cases));
	tcase_add_test(r, streams_separate);
	tcase_add_test(r, timeout_kills);
	tcase_add_test(r, timeout_kills_orphans);
	tcase_add_test(r, parallel_runs);
	tcase_add_test(r, setup_failure_is_xx);
	tcase_add_test(r, workspace_below_private_dir);
	tcase_add_test(r, network_absent);
	tcase_add_test(r, host_fs_hidden);
	tcase_add_test(r, identity_and_privileges);
	tcase_add_test(r, mounts_read_only_where_expected);
	tcase_add_test(r, tmp_is_capped);
	tcase_add_test(r, limits_applied);
	tcase_add_test(r, fds_closed_stdin_null);
	tcase_add_test(r, workspace_shared);
	tcase_add_test(r, environment_allowlist);
	tcase_add_test(r, signals_default);
	tcase_add_loop_test(r, output_cap_head_tail, 0, (int)AL_ARRAY_SIZE(cap_cases));
	tcase_add_test(r, flood_to_eof_is_capped);
	tcase_add_test(r, endless_flood_times_out);
	tcase_add_test(r, bad_arguments);
	suite_add_tcase(s, r);

	tcase_add_checked_fixture(p, ws_setup, ws_teardown);
	tcase_set_timeout(p, 60);
	tcase_add_loop_test(p, probe_blocked_inside, 0, (int)AL_ARRAY_SIZE(probes));
	tcase_add_loop_test(p, probe_allowed_outside, 0, (int)AL_ARRAY_SIZE(probes));
	tcase_add_test(p, every_probe_is_run);
	suite_add_tcase(s, p);

	tcase_add_loop_test(f, seccomp_denies, 0, (int)AL_ARRAY_SIZE(filtered));
	tcase_add_test(f, seccomp_allows_fork_and_threads);
#if defined(__x86_64__)
	tcase_add_loop_test(f, seccomp_kills_other_arch, 0, other_arch_cases);
#endif
	suite_add_tcase(s, f);

	tcase_add_test(m, status_names);
	tcase_add_loop_test(m, profile_text, 0, (int)AL_ARRAY_SIZE(profile_lines));
	suite_add_tcase(s, m);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(sandbox_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
