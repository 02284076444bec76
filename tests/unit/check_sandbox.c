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
#include <linux/personality.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/cgroup-int.h"
#include "runner/cgroup.h"
#include "runner/gen/filter.h"
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

/* Groups this process's runs made that still exist, in every hierarchy in use. */
static int
groups_left(void)
{
	const struct al_cgroup_host *h;
	char prefix[32];
	int n = 0;

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	ck_assert_int_ne(h->version, 0);
	snprintf(prefix, sizeof(prefix), "airlock-run-%d-", (int)getpid());
	for (int c = 0; c < AL_CG_NCTRL; c++) {
		const char *parent = h->base[c];
		DIR *d;
		struct dirent *e;

		if ((c > 0 && !strcmp(h->base[c], h->base[0])) ||
		    (c > 1 && !strcmp(h->base[c], h->base[1])))
			continue; /* one hierarchy holding several controllers */
		d = opendir(parent);
		ck_assert_ptr_nonnull(d);
		while ((e = readdir(d)))
			n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
		closedir(d);
	}
	return n;
}

/* Entries of a host directory, . and .. aside. */
static int
count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

/* Every run, whatever its outcome: nothing of it survives, no process, fd or group. */
static void
run_with(struct al_sandbox_opts *o, struct al_run_record *rec)
{
	struct al_err e = {0};
	int r, fds = count_fds();

	if (!o->workspace)
		o->workspace = ws;
	al_sandbox_default_ids(&o->host_uid, &o->host_gid);
	r = al_sandbox_run(o, rec, &e);
	ck_assert_msg(r == 0, "al_sandbox_run: %d %s", r, al_err_msg(&e));
	assert_no_children();
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(groups_left(), 0);
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

	run_with(&o, rec);
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
		      al_runrec_status_name(rec->status), rec->exit_code, rec->signal, rec->detail,
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
	/* the set-up to the exec was timed (the filter's listener came) */
	ck_assert_int_gt(rec.spawn_us, 0);
	ck_assert_int_lt(rec.spawn_us, 10 * 1000 * 1000);
	ck_assert_int_gt(rec.max_rss_kb, 0);
	al_sandbox_record_clear(&rec);
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
		      al_runrec_status_name(rec.status), rec.detail);
	ck_assert_int_eq(rec.exit_code, outcome_cases[_i].exit_code);
	ck_assert_int_eq(rec.signal, outcome_cases[_i].signal);
	ck_assert_int_eq(rec.killed, 0);
	ck_assert_str_eq(rec.detail, "");
	ck_assert_msg(strstr(rec.err, outcome_cases[_i].err_has), "case %d: stderr '%s'", _i,
		      rec.err);
	al_sandbox_record_clear(&rec);
}
END_TEST

START_TEST(streams_separate)
{
	struct al_run_record rec = {0};

	run(SH("echo out; echo err >&2; echo out2"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "out\nout2\n");
	ck_assert_str_eq(rec.err, "err\n");
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&b.rec);
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
		al_sandbox_record_clear(&runs[i].b.rec);
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
	al_sandbox_record_clear(&rec);
	/* the interfaces of this network namespace: loopback only */
	run(SH("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "lo\n");
	al_sandbox_record_clear(&rec);
}
END_TEST

static const char *const root_entries[] = {
    "airlock-report", "bin",  "dev",  "etc", "lib", "lib32", "lib64",
    "libx32",	      "proc", "sbin", "tmp", "usr", "work",
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
	al_sandbox_record_clear(&rec);
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
	/* the command is pid 3, its own session and group: pid 2 was the helper that made
	 * the network namespace, gone before the command started */
	snprintf(want, sizeof(want),
		 "0\n0\n3\n3 3\n0 %u 1\n0 %u 1\ndeny\n"
		 "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\n"
		 "CapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n"
		 "CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nairlock\n",
		 (unsigned)uid, (unsigned)gid);
	ck_assert_str_eq(rec.out, want);
	if (geteuid() == 0)
		ck_assert_uint_eq(uid, 65534);
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
}
END_TEST

START_TEST(tmp_is_capped)
{
	struct al_sandbox_opts o = {
	    .argv = SH("head -c 70M /dev/zero > /tmp/big; echo $?; ls -s /tmp/big"),
	    .disk_bytes = (size_t)64 << 20,
	};
	struct al_run_record rec = {0};

	run_with(&o, &rec);
	assert_ok(&rec);
	ck_assert_msg(strncmp(rec.out, "1\n", 2) == 0, "out '%s'", rec.out);
	ck_assert_msg(strstr(rec.err, "No space left"), "err '%s'", rec.err);
	al_sandbox_record_clear(&rec);
}
END_TEST

START_TEST(limits_applied)
{
	struct al_run_record rec = {0};

	/* dash reports -f in 512-byte blocks: 256 MiB; -s in KiB: 8 MiB */
	run(SH("ulimit -c; ulimit -n; ulimit -f; ulimit -Hn; ulimit -s; ulimit -Hs"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "0\n1024\n524288\n1024\n8192\n8192\n");
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
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
	al_sandbox_record_clear(&rec);
}
END_TEST

/* ---- probes: one forbidden thing each, run inside ---- */

static const char *const probes[] = {
    "net",	   "mount",	     "ptrace",	 "unshare",  "caps",	 "hostfs",   "rofs",
    "syscalls",	   "readhost",	     "udp",	 "dns",	     "netlink",	 "packet",   "rawsock",
    "vsock",	   "ptrace_sibling", "hostpids", "killhost", "keyctl",	 "io_uring", "bpf",
    "perf",	   "tiocsti",	     "usrwrite", "setuid",   "blockdev", "devmem",   "procsys",
    "sethostname", "settime",	     "chroot",	 "kcore",    "mknod",	 "rootuid",  "priority",
};
/* The probe suite (tests/probes/run.sh) runs every probe; these also run here, where
 * their counterpart outside the sandbox can be checked too. */

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
		      al_runrec_status_name(rec.status), rec.exit_code, rec.out, rec.err,
		      rec.detail);
	al_sandbox_record_clear(&rec);
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
    {"settimeofday", SYS_settimeofday, {0, 0}, EPERM}, /* both NULL: a no-op otherwise */
    {"clock_settime", SYS_clock_settime, {-1, 0}, EPERM},
    {"clock_adjtime", SYS_clock_adjtime, {-1, 0}, EPERM},
    {"adjtimex", SYS_adjtimex, {0}, EPERM},
    {"personality PER_BSD", SYS_personality, {PER_BSD}, EPERM},
    {"personality PER_LINUX32", SYS_personality, {PER_LINUX32}, EPERM},
    {"personality ADDR_NO_RANDOMIZE", SYS_personality, {ADDR_NO_RANDOMIZE}, EPERM},
    {"personality 0xfffffffe", SYS_personality, {0xfffffffeL}, EPERM},
    /* the kernel reads these arguments as 32 bits, and so does the filter */
    {"personality PER_BSD, high bits", SYS_personality, {0x100000000L | PER_BSD}, EPERM},
    {"socket AF_UNSPEC", SYS_socket, {AF_UNSPEC, SOCK_STREAM, 0}, EPERM},
    {"socket AF_NETLINK", SYS_socket, {AF_NETLINK, SOCK_RAW, 0}, EPERM},
    {"socket AF_PACKET", SYS_socket, {AF_PACKET, SOCK_RAW, 0}, EPERM},
    {"socket AF_VSOCK", SYS_socket, {AF_VSOCK, SOCK_STREAM, 0}, EPERM},
    {"socket AF_AX25", SYS_socket, {AF_AX25, SOCK_SEQPACKET, 0}, EPERM},
    {"socket AF_IPX", SYS_socket, {AF_IPX, SOCK_DGRAM, 0}, EPERM},
    {"socket AF_BRIDGE", SYS_socket, {AF_BRIDGE, SOCK_DGRAM, 0}, EPERM},
    {"socket AF_KEY", SYS_socket, {AF_KEY, SOCK_RAW, 2}, EPERM},
    {"socket AF_ALG", SYS_socket, {AF_ALG, SOCK_SEQPACKET, 0}, EPERM},
    {"socket AF_BLUETOOTH", SYS_socket, {AF_BLUETOOTH, SOCK_RAW, 0}, EPERM},
    {"socket -1", SYS_socket, {-1, SOCK_STREAM, 0}, EPERM},
    {"socket AF_NETLINK, high bits", SYS_socket, {0x100000000L | AF_NETLINK, SOCK_RAW, 0}, EPERM},
    {"socketpair AF_NETLINK", SYS_socketpair, {AF_NETLINK, SOCK_RAW, 0, 0}, EPERM},
    {"socketpair AF_PACKET", SYS_socketpair, {AF_PACKET, SOCK_RAW, 0, 0}, EPERM},
    {"socketpair AF_VSOCK", SYS_socketpair, {AF_VSOCK, SOCK_STREAM, 0, 0}, EPERM},
};

/* What the new rules must keep allowing: they are not blanket denials. */
static const struct {
	const char *name;
	long nr;
	long a[6];
} allowed[] = {
    {"socket AF_UNIX", SYS_socket, {AF_UNIX, SOCK_STREAM, 0}},
    {"socket AF_INET", SYS_socket, {AF_INET, SOCK_DGRAM, 0}},
    {"socket AF_INET6", SYS_socket, {AF_INET6, SOCK_STREAM, 0}},
    {"socketpair AF_UNIX", SYS_socketpair, {AF_UNIX, SOCK_STREAM, 0, 0}},
    {"socketpair AF_INET", SYS_socketpair, {AF_INET, SOCK_STREAM, 0, 0}}, /* EOPNOTSUPP */
    {"personality query", SYS_personality, {0xffffffffL}},
    {"personality PER_LINUX", SYS_personality, {PER_LINUX}},
    {"personality PER_LINUX, high bits", SYS_personality, {0x100000000L}},
    {"socket AF_INET, high bits", SYS_socket, {0x100000000L | AF_INET, SOCK_DGRAM, 0}},
    {"clock_gettime", SYS_clock_gettime, {CLOCK_REALTIME, 0}},
    {"ioctl FIONREAD", SYS_ioctl, {-1, FIONREAD, 0}},
    {"clone plain", SYS_clone, {SIGCHLD}},
};

/* errno of the call, 0 on success; a clone that works is reaped at once. socketpair is given
 * a real array for its fourth argument. */
static int
try_call(long nr, const long *a)
{
	int sv[2];
	long r = syscall(nr, a[0], a[1], a[2], nr == SYS_socketpair ? (long)sv : a[3], a[4], a[5]);

	if (r == 0 && nr == SYS_clone)
		_exit(0);
	if (r > 0 && nr == SYS_clone)
		waitpid((pid_t)r, NULL, 0);
	return r < 0 ? errno : 0;
}

static int
try_filtered(int i)
{
	return try_call(filtered[i].nr, filtered[i].a);
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

START_TEST(seccomp_allows)
{
	int st;
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (al_seccomp_load(NULL) < 0)
			_exit(11);
		_exit(try_call(allowed[_i].nr, allowed[_i].a) == EPERM ? 12 : 0);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: status %#x (12: denied)",
		      allowed[_i].name, st);
}
END_TEST

/* The counting variant on its own: a child installs it and hands over the listener; we
 * answer (or, second case, drop the listener: the call must still fail). */
static int
counted_child(int sock)
{
	const struct al_seccomp_prog *prog;
	int listener = -1;

	if (al_seccomp_prepare(&prog, NULL) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    al_seccomp_install_counted(prog, &listener) < 0 || listener < 0 ||
	    al_seccomp_send_listener(sock, listener) < 0)
		return 11;
	close(listener);
	if (syscall(SYS_keyctl, -1L, 0L, 0L, 0L, 0L) != -1)
		return 12;
	return errno == EPERM ? 20 : errno == ENOSYS ? 21 : 13;
}

START_TEST(seccomp_counted_variant)
{
	const struct al_seccomp_prog *prog;
	const char *name = NULL;
	int sv[2], listener = -1, st;
	struct pollfd pfd;
	pid_t pid;

	ck_assert_int_eq(al_seccomp_prepare(&prog, NULL), 0);
	ck_assert_ptr_null(al_seccomp_uncounted_reason(prog));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(counted_child(sv[1]));
	close(sv[1]);
	pfd = (struct pollfd){.fd = sv[0], .events = POLLIN};
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(al_seccomp_recv_listener(sv[0], &listener), 0);
	ck_assert_int_eq(fcntl(listener, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	if (_i == 0) {
		pfd = (struct pollfd){.fd = listener, .events = POLLIN};
		ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
		ck_assert_int_eq(al_seccomp_answer(listener, &name), 1);
		ck_assert_str_eq(name, "keyctl");
	}
	close(listener);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == (_i == 0 ? 20 : 21), "status %#x", st);
	ck_assert_int_eq(al_seccomp_recv_listener(sv[0], &listener), -EPIPE);
	close(sv[0]);
}
END_TEST

/* What the runner loads is what libseccomp builds from the same rule table, byte for
 * byte: the stored programs are not stale, and nothing rewrote them on the way in. */
START_TEST(seccomp_programs_are_libseccomps)
{
	const struct al_seccomp_prog *prog;
	const struct sock_filter *loaded;
	struct sock_filter *built = NULL;
	struct al_err err = {0};
	size_t n_loaded, n_built;

	ck_assert_int_eq(al_seccomp_prepare(&prog, NULL), 0);
	ck_assert_ptr_null(al_seccomp_uncounted_reason(prog));
	al_seccomp_program(prog, (enum al_seccomp_variant)_i, &loaded, &n_loaded);
	ck_assert_msg(al_filter_build((enum al_seccomp_variant)_i, &built, &n_built, &err) == 0,
		      "%s", al_err_msg(&err));
	ck_assert_uint_gt(n_built, 8);
	ck_assert_uint_eq(n_loaded, n_built);
	ck_assert_int_eq(memcmp(loaded, built, n_built * sizeof(*built)), 0);
	/* the variants differ exactly where an EPERM became a notification */
	if (_i == AL_SECCOMP_COUNTED) {
		size_t notify = 0;

		ck_assert_uint_eq(al_seccomp_bpf_plain_len, n_built);
		for (size_t i = 0; i < n_built; i++) {
			if (!memcmp(&built[i], &al_seccomp_bpf_plain[i], sizeof(built[i])))
				continue;
			ck_assert_uint_eq(built[i].k, SECCOMP_RET_USER_NOTIF);
			ck_assert_uint_eq(al_seccomp_bpf_plain[i].k, SECCOMP_RET_ERRNO | EPERM);
			notify++;
		}
		ck_assert_uint_gt(notify, 0);
	}
	free(built);
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

/* ---- cgroups: memory, pids and CPU caps ---- */

static void
run_capped(char *const *argv, size_t memory, unsigned pids, unsigned cpu, unsigned timeout_ms,
	   struct al_run_record *rec)
{
	struct al_sandbox_opts o = {
	    .argv = argv,
	    .memory_bytes = memory,
	    .pids_max = pids,
	    .cpu_percent = cpu,
	    .timeout_ms = timeout_ms,
	};

	run_with(&o, rec);
}

#define PERL(script) ((char *const[]){"perl", "-e", (script), NULL})

START_TEST(memory_cap_is_oom)
{
	struct al_run_record rec = {0};

	/* 200 MB touched against a 64 MiB cap */
	run_capped(PERL("$x = 'a' x (200 << 20); print length $x"), (size_t)64 << 20, 0, 0, 20000,
		   &rec);
	ck_assert_msg(rec.status == AL_RUN_OOM, "status %s exit %d signal %d err '%s'",
		      al_runrec_status_name(rec.status), rec.exit_code, rec.signal, rec.err);
	ck_assert_str_eq(al_runrec_status_name(rec.status), "OOM");
	ck_assert_int_eq(rec.signal, SIGKILL);
	ck_assert_int_eq(rec.exit_code, -1);
	ck_assert_int_eq(rec.killed, 0);
	ck_assert_str_eq(rec.out, "");
	/* rusage also counts mapped pages the group was not charged for */
	ck_assert_int_le(rec.max_rss_kb, 96 * 1024);
	al_sandbox_record_clear(&rec);
}
END_TEST

/* A shell passing on its child's death by the cap is OOM too; one that copes is not. */
START_TEST(memory_cap_child_killed)
{
	struct al_run_record rec = {0};

	run_capped(SH("perl -e '$x = \"a\" x (200 << 20)'; exit $?"), (size_t)64 << 20, 0, 0, 20000,
		   &rec);
	ck_assert_msg(rec.status == AL_RUN_OOM, "status %s", al_runrec_status_name(rec.status));
	ck_assert_int_eq(rec.exit_code, 137);
	al_sandbox_record_clear(&rec);
	run_capped(SH("perl -e '$x = \"a\" x (200 << 20)'; echo coped $?"), (size_t)64 << 20, 0, 0,
		   20000, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "coped 137\n");
	al_sandbox_record_clear(&rec);
}
END_TEST

START_TEST(memory_within_cap)
{
	struct al_run_record rec = {0};

	run_capped(PERL("$x = 'a' x (24 << 20); print length $x"), (size_t)64 << 20, 0, 0, 20000,
		   &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "25165824");
	/* the group's peak: the string and perl itself */
	ck_assert_int_ge(rec.max_rss_kb, 24 * 1024);
	ck_assert_int_le(rec.max_rss_kb, 64 * 1024);
	al_sandbox_record_clear(&rec);
}
END_TEST

START_TEST(pids_cap_stops_fork_bomb)
{
	struct al_run_record rec = {0};
	char script[256], marker[32];
	const char *last;
	long n;

	/* each child sleeps long; the shell counts the forks that worked, then fails */
	snprintf(marker, sizeof(marker), "7.%d%ld", (int)getpid() % 1000, (long)time(NULL) % 1000);
	snprintf(script, sizeof(script),
		 "n=0; while [ $n -lt 200 ]; do sleep %s & n=$((n+1)); echo $n; done", marker);
	run_capped(SH(script), 0, 32, 0, 10000, &rec);
	ck_assert_msg(rec.status == AL_RUN_RE, "status %s err '%s'",
		      al_runrec_status_name(rec.status), rec.err);
	ck_assert_msg(strstr(rec.err, "fork"), "err '%s'", rec.err);
	last = strrchr(rec.out, '\n');
	while (last && last > rec.out && last[-1] != '\n')
		last--;
	n = last ? strtol(last, NULL, 10) : 0;
	/* 32 = the init, the shell and 30 sleepers at most */
	ck_assert_msg(n >= 20 && n <= 30, "forks that worked: %ld", n);
	ck_assert_int_lt(rec.wall_ms, 10000);
	ck_assert_int_eq(count_marker(marker), 0);
	al_sandbox_record_clear(&rec);
}
END_TEST

#define BUSY_1S "use Time::HiRes 'time'; my $e = time + 1; 1 while time < $e"

START_TEST(cpu_quota)
{
	struct al_run_record slow = {0}, full = {0};

	run_capped(PERL(BUSY_1S), 0, 0, 20, 20000, &slow);
	assert_ok(&slow);
	ck_assert_int_ge(slow.wall_ms, 1000);
	ck_assert_msg(slow.cpu_ms * 10 <= slow.wall_ms * 4, "20%%: cpu %ld ms in %ld ms",
		      slow.cpu_ms, slow.wall_ms);
	/* the control: without the quota the same loop burns far more.  A loaded machine can
	 * starve one try of the control (never the capped run: load only lowers its share), so
	 * it has three. */
	for (int i = 0; i < 3; i++) {
		al_sandbox_record_clear(&full);
		run_capped(PERL(BUSY_1S), 0, 0, 100, 20000, &full);
		assert_ok(&full);
		if (full.cpu_ms >= 2 * slow.cpu_ms)
			break;
	}
	ck_assert_msg(full.cpu_ms >= 2 * slow.cpu_ms, "100%%: cpu %ld ms, 20%%: %ld ms",
		      full.cpu_ms, slow.cpu_ms);
	al_sandbox_record_clear(&slow);
	al_sandbox_record_clear(&full);
}
END_TEST

/* While a run is on, its command sits in airlock-run-<pid>-<n> below the runner's group
 * in each hierarchy, with the caps written; the cgroup namespace hides where. */
struct group_seen {
	char path[PATH_MAX];
	char memory[32], pids[32], cpu[32];
};

static void
read_group(const char *marker, struct group_seen *g)
{
	const struct al_cgroup_host *h;
	DIR *d = opendir("/proc");
	struct dirent *e;

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) && !g->path[0]) {
		char path[300], buf[4096];
		_cleanup_free_ char *cg = NULL;
		size_t len;
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n <= 0 || !memmem(buf, (size_t)n, marker, strlen(marker)))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cgroup", e->d_name);
		if (al_file_read(path, 1 << 16, &cg, &len, NULL) == 0 && h->version == 1) {
			char *m = strstr(cg, ":memory:");

			ck_assert_ptr_nonnull(m);
			*strchrnul(m, '\n') = '\0';
			snprintf(g->path, sizeof(g->path), "%s", m + 8);
		}
	}
	closedir(d);
}

static void
read_limit(const char *base, const char *group, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX * 2];
	_cleanup_free_ char *text = NULL;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s/%s", base, group, file);
	ck_assert_msg(al_file_read(path, 256, &text, &len, NULL) == 0, "%s", path);
	snprintf(buf, size, "%s", text);
}

static ino_t
group_ino(const char *base, const char *group)
{
	char path[PATH_MAX * 2];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", base, group);
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

struct capped_bg {
	char *const *argv;
	struct al_run_record rec;
	int rc;
};

static void *
capped_bg_main(void *p)
{
	struct capped_bg *b = p;
	struct al_sandbox_opts o = {
	    .workspace = ws,
	    .argv = b->argv,
	    .memory_bytes = (size_t)96 << 20,
	    .pids_max = 40,
	    .cpu_percent = 150,
	    .timeout_ms = 20000,
	};

	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	b->rc = al_sandbox_run(&o, &b->rec, NULL);
	return NULL;
}

START_TEST(run_group_has_the_caps)
{
	const struct al_cgroup_host *h;
	struct group_seen g = {0};
	char marker[48], script[96], prefix[64];
	struct capped_bg b = {0};
	const char *name;
	pthread_t t;

	struct al_run_record first = {0};
	ino_t spare_pids, spare_cpu;

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	if (h->version != 1)
		return; /* the paths below are v1's; this host has v1 */
	/* a run with other caps first: its pids and cpu groups become the spares the next run
	 * takes, and none of its caps may stay */
	run_capped((char *const[]){"true", NULL}, (size_t)64 << 20, 8, 20, 0, &first);
	assert_ok(&first);
	al_sandbox_record_clear(&first);
	spare_pids = group_ino(h->base[AL_CG_PIDS], "airlock-spare-0");
	spare_cpu = group_ino(h->base[AL_CG_CPU], "airlock-spare-0");
	ck_assert(spare_pids && spare_cpu);
	snprintf(marker, sizeof(marker), "2.%d%ld", (int)getpid() % 1000, (long)time(NULL) % 1000);
	snprintf(script, sizeof(script), "cat /proc/self/cgroup; sleep %s", marker);
	b.argv = SH(script);
	ck_assert_int_eq(pthread_create(&t, NULL, capped_bg_main, &b), 0);
	for (int i = 0; i < 200 && !g.path[0]; i++) {
		usleep(10000);
		read_group(marker, &g);
	}
	ck_assert_msg(g.path[0], "the command was not found");
	name = strrchr(g.path, '/') + 1;
	snprintf(prefix, sizeof(prefix), "airlock-run-%d-", (int)getpid());
	ck_assert_msg(strncmp(name, prefix, strlen(prefix)) == 0, "group %s", g.path);
	/* this host: memory, pids and cpu in three hierarchies */
	ck_assert_int_eq(groups_left(), 3);
	read_limit(h->base[AL_CG_MEMORY], name, "memory.limit_in_bytes", g.memory,
		   sizeof(g.memory));
	read_limit(h->base[AL_CG_PIDS], name, "pids.max", g.pids, sizeof(g.pids));
	read_limit(h->base[AL_CG_CPU], name, "cpu.cfs_quota_us", g.cpu, sizeof(g.cpu));
	/* the earlier run's groups, renamed: the same directories, this run's caps */
	ck_assert(group_ino(h->base[AL_CG_PIDS], name) == spare_pids);
	ck_assert(group_ino(h->base[AL_CG_CPU], name) == spare_cpu);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_str_eq(g.memory, "100663296\n");
	ck_assert_str_eq(g.pids, "40\n");
	ck_assert_str_eq(g.cpu, "150000\n");
	ck_assert_int_eq(b.rc, 0);
	assert_ok(&b.rec);
	/* inside, the cgroup namespace is rooted at the run's group */
	for (char *l = b.rec.out; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
		ck_assert_msg(strncmp(strchrnul(l, '\n') - 2, ":/", 2) == 0, "out '%s'", b.rec.out);
	ck_assert_int_eq(groups_left(), 0);
	al_sandbox_record_clear(&b.rec);
}
END_TEST

/* A group that refuses the sandbox init fails the run closed: a setup error naming the
 * group, and the command never ran. The kernel refuses a real-time task a v1 cpu group
 * with no real-time runtime (a fresh group's), so a runner thread at SCHED_FIFO makes
 * every cpu group refuse its init, the way a full cpuset or a removed group would. */
struct fifo_run {
	struct al_run_record rec;
	char marker[PATH_MAX];
};

static void *
fifo_run_main(void *p)
{
	struct fifo_run *f = p;

	run_capped(SH("touch /work/ran; echo ran"), 0, 0, 0, 10000, &f->rec);
	return NULL;
}

START_TEST(cgroup_refusal_fails_closed)
{
	const struct al_cgroup_host *h;
	struct sched_param sp = {.sched_priority = 1};
	struct fifo_run f = {0};
	pthread_attr_t attr;
	pthread_t t;
	char rt[PATH_MAX + 32];

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	snprintf(rt, sizeof(rt), "%s/cpu.rt_runtime_us", h->base[AL_CG_CPU]);
	if (h->version != 1 || geteuid() != 0 || access(rt, F_OK) < 0)
		return; /* needs SCHED_FIFO and real-time group scheduling; this host has both */
	snprintf(f.marker, sizeof(f.marker), "%s/ran", ws);
	ck_assert_int_eq(pthread_attr_init(&attr), 0);
	ck_assert_int_eq(pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED), 0);
	ck_assert_int_eq(pthread_attr_setschedpolicy(&attr, SCHED_FIFO), 0);
	ck_assert_int_eq(pthread_attr_setschedparam(&attr, &sp), 0);
	ck_assert_int_eq(pthread_create(&t, &attr, fifo_run_main, &f), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	pthread_attr_destroy(&attr);
	ck_assert_msg(f.rec.status == AL_RUN_XX, "status %s detail '%s'",
		      al_runrec_status_name(f.rec.status), f.rec.detail);
	ck_assert_msg(strstr(f.rec.detail, "sandbox setup: joining cgroup ") &&
			  strstr(f.rec.detail, h->base[AL_CG_CPU]) &&
			  strstr(f.rec.detail, "Invalid argument"),
		      "detail '%s'", f.rec.detail);
	ck_assert_str_eq(f.rec.out, "");
	ck_assert_int_eq(access(f.marker, F_OK), -1);
	al_sandbox_record_clear(&f.rec);
	/* the control: the same run from an ordinary thread */
	run_capped(SH("touch /work/ran; echo ran"), 0, 0, 0, 10000, &f.rec);
	assert_ok(&f.rec);
	ck_assert_str_eq(f.rec.out, "ran\n");
	ck_assert_int_eq(access(f.marker, F_OK), 0);
	al_sandbox_record_clear(&f.rec);
}
END_TEST

/* A network namespace that cannot be made fails the run closed. The runner's process
 * carries a filter that refuses unshare(CLONE_NEWNET) (the sandbox inherits it), so the
 * init's helper fails: a setup error naming the network namespace, and the command never
 * ran. In a child, since a filter cannot be taken back. Exit 0 when all of that held. */
static int
run_without_netns(const char *marker)
{
	struct sock_filter f[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 0, 3),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) +
						   (__BYTE_ORDER == __LITTLE_ENDIAN ? 0 : 4)),
	    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWNET, 0, 1),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = AL_ARRAY_SIZE(f), .filter = f};
	struct al_sandbox_opts o = {
	    .workspace = ws, .argv = SH("touch /work/ran; echo ran"), .timeout_ms = 10000};
	struct al_run_record rec = {0};
	struct al_err e = {0};
	int r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return 10;
	/* the filter works: the runner itself cannot make one either */
	if (unshare(CLONE_NEWNET) == 0 || errno != EPERM)
		return 11;
	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	if (al_sandbox_run(&o, &rec, &e) < 0) {
		fprintf(stderr, "al_sandbox_run: %s\n", al_err_msg(&e));
		return 12;
	}
	r = rec.status != AL_RUN_XX							       ? 13
	    : !strstr(rec.detail, "sandbox setup: network namespace: Operation not permitted") ? 14
	    : rec.out_len || access(marker, F_OK) == 0					       ? 15
											       : 0;
	if (r)
		fprintf(stderr, "status %s detail '%s' out '%.*s'\n",
			al_runrec_status_name(rec.status), rec.detail, (int)rec.out_len,
			rec.out ? rec.out : "");
	al_sandbox_record_clear(&rec);
	return r;
}

START_TEST(netns_refusal_fails_closed)
{
	struct al_run_record rec = {0};
	char marker[PATH_MAX];
	int st;
	pid_t p;

	snprintf(marker, sizeof(marker), "%s/ran", ws);
	unlink(marker);
	p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0)
		_exit(run_without_netns(marker));
	ck_assert_int_eq(waitpid(p, &st, 0), p);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	ck_assert_int_eq(access(marker, F_OK), -1);
	ck_assert_int_eq(groups_left(), 0);
	/* the control: the same run from this process, which has no such filter */
	run(SH("touch /work/ran; echo ran"), 10000, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "ran\n");
	ck_assert_int_eq(access(marker, F_OK), 0);
	al_sandbox_record_clear(&rec);
}
END_TEST

/* v1: a run takes a spare group instead of making one (a rename keeps the group's inode);
 * while its command runs the runner makes memory spares again, and its pids and cpu groups
 * become spares again when it is over. The spares' limits are never
 * the run's: limits_applied reads a taken spare's once any run has been before it. */
static ino_t
spare_ino(const char *base, int k)
{
	char p[PATH_MAX];
	struct stat st;

	snprintf(p, sizeof(p), "%s/airlock-spare-%d", base, k);
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

START_TEST(spares_taken_and_made_again)
{
	const struct al_cgroup_host *h;
	const struct al_seccomp_prog *prog;
	struct al_run_record rec = {0};
	ino_t before[AL_CG_NCTRL][2];

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	ck_assert_int_eq(al_seccomp_prepare(&prog, NULL), 0);
	if (h->version != 1 || al_seccomp_uncounted_reason(prog))
		return; /* cgroup2 cannot rename a group; without a listener nothing says when */
	/* pids and cpu spares are recycled run groups (a refill makes memory spares only),
	 * so a second one exists only where runs overlapped: made here if none did yet */
	for (int c = 0; c < AL_CG_NCTRL; c++)
		for (int k = 0; k < 2 && c != AL_CG_MEMORY; k++) {
			char p[PATH_MAX];

			snprintf(p, sizeof(p), "%s/airlock-spare-%d", h->base[c], k);
			ck_assert_msg(mkdir(p, 0755) == 0 || errno == EEXIST, "%s: %s", p,
				      strerror(errno));
		}
	run(SH("true"), 10000, 0, &rec); /* leaves both spares made */
	assert_ok(&rec);
	al_sandbox_record_clear(&rec);
	for (int c = 0; c < AL_CG_NCTRL; c++)
		for (int k = 0; k < 2; k++) {
			before[c][k] = spare_ino(h->base[c], k);
			ck_assert_msg(before[c][k] != 0, "%s: no spare %d", h->base[c], k);
		}
	run(SH("true"), 10000, 0, &rec);
	assert_ok(&rec);
	al_sandbox_record_clear(&rec);
	for (int c = 0; c < AL_CG_NCTRL; c++) {
		ino_t a0 = spare_ino(h->base[c], 0), a1 = spare_ino(h->base[c], 1);
		int memory = strcmp(h->base[c], h->base[AL_CG_MEMORY]) == 0;

		ck_assert_msg(a0 && a1, "%s: spares not made again", h->base[c]);
		/* exactly one was taken, the first that was there: a memory group is made anew
		 * (a fresh inode), a pids or cpu group is the run's own, renamed back */
		ck_assert_msg(
		    (memory ? a0 != before[c][0] : a0 == before[c][0]) && a1 == before[c][1],
		    "%s: spares %lu %lu, were %lu %lu", h->base[c], (unsigned long)a0,
		    (unsigned long)a1, (unsigned long)before[c][0], (unsigned long)before[c][1]);
	}
	ck_assert_int_eq(groups_left(), 0);
}
END_TEST

/* Limits that cannot be written stop the run before its command: the runner writes them
 * while the init builds the root, and the init forks the command only on the runner's
 * second go. v1 with swap accounting: spares whose memsw cap is below the run's memory
 * cap make the memory.limit_in_bytes write fail (v1 keeps memory <= memsw). */
static void
poison_spare(const char *base, int k)
{
	char p[PATH_MAX + 32];

	snprintf(p, sizeof(p), "%s/airlock-spare-%d", base, k);
	ck_assert(mkdir(p, 0755) == 0 || errno == EEXIST);
	ck_assert_int_eq(al_cgroup_write_text(p, "memory.limit_in_bytes", "16777216"), 0);
	ck_assert_int_eq(al_cgroup_write_text(p, "memory.memsw.limit_in_bytes", "16777216"), 0);
}

START_TEST(unwritable_limits_stop_the_command)
{
	const struct al_cgroup_host *h;
	struct al_sandbox_opts o = {
	    .workspace = ws, .argv = SH("touch /work/ran"), .timeout_ms = 10000};
	struct al_run_record rec = {0};
	struct al_err e = {0};
	char marker[PATH_MAX], p[PATH_MAX + 32];

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	if (h->version != 1 || !h->memsw)
		return;
	snprintf(marker, sizeof(marker), "%s/ran", ws);
	unlink(marker);
	for (int k = 0; k < 2; k++)
		poison_spare(h->base[AL_CG_MEMORY], k);
	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	ck_assert_int_lt(al_sandbox_run(&o, &rec, &e), 0);
	ck_assert_msg(strstr(al_err_msg(&e), "memory.limit_in_bytes"), "error '%s'",
		      al_err_msg(&e));
	ck_assert_int_eq(access(marker, F_OK), -1);
	ck_assert_int_eq(groups_left(), 0);
	/* the spare the run did not take goes too: the next runs make clean ones */
	snprintf(p, sizeof(p), "%s/airlock-spare-1", h->base[AL_CG_MEMORY]);
	ck_assert_int_eq(rmdir(p), 0);
	snprintf(p, sizeof(p), "%s/airlock-spare-0", h->base[AL_CG_MEMORY]);
	ck_assert_int_eq(access(p, F_OK), -1);
	/* the control: clean spares, the same run goes through */
	run(SH("touch /work/ran"), 10000, 0, &rec);
	assert_ok(&rec);
	ck_assert_int_eq(access(marker, F_OK), 0);
	al_sandbox_record_clear(&rec);
}
END_TEST

/* OK, TO, OOM and XX: run_with checks that no group survives each. */
START_TEST(no_group_left_behind)
{
	struct al_run_record rec = {0};

	ck_assert_int_eq(groups_left(), 0);
	run_capped((char *const[]){"true", NULL}, 0, 0, 0, 0, &rec);
	assert_ok(&rec);
	al_sandbox_record_clear(&rec);
	run_capped(SH("sleep 30 & sleep 31"), 0, 0, 0, 300, &rec);
	ck_assert_int_eq(rec.status, AL_RUN_TO);
	al_sandbox_record_clear(&rec);
	run_capped(PERL("$x = 'a' x (200 << 20)"), (size_t)32 << 20, 0, 0, 20000, &rec);
	ck_assert_int_eq(rec.status, AL_RUN_OOM);
	al_sandbox_record_clear(&rec);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(ws, 0, 0), 0);
		ck_assert_int_eq(chmod(ws, 0700), 0);
		run_capped((char *const[]){"true", NULL}, 0, 0, 0, 0, &rec);
		ck_assert_int_eq(rec.status, AL_RUN_XX);
		al_sandbox_record_clear(&rec);
	}
}
END_TEST

START_TEST(bad_limits)
{
	struct al_sandbox_opts o = {.workspace = ws, .argv = (char *const[]){"true", NULL}};
	struct al_run_record rec = {0};

	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	o.memory_bytes = 4096;
	ck_assert_int_eq(al_sandbox_run(&o, &rec, NULL), -EINVAL);
	o.memory_bytes = 0;
	o.pids_max = 1;
	ck_assert_int_eq(al_sandbox_run(&o, &rec, NULL), -EINVAL);
	o.pids_max = 0;
	o.cpu_percent = 1000000;
	ck_assert_int_eq(al_sandbox_run(&o, &rec, NULL), -EINVAL);
	assert_no_children();
	ck_assert_int_eq(groups_left(), 0);
}
END_TEST

/* ---- the run's disk and extra binds ---- */

START_TEST(disk_bytes_cap)
{
	struct al_sandbox_opts o = {
	    .argv = SH("head -c 600K /dev/zero > /tmp/a && echo small-ok; "
		       "head -c 2M /dev/zero > /tmp/b; echo $?; df -k /tmp | tail -1"),
	    .disk_bytes = (size_t)1 << 20,
	};
	struct al_run_record rec = {0};

	run_with(&o, &rec);
	assert_ok(&rec);
	ck_assert_msg(strncmp(rec.out, "small-ok\n1\n", 11) == 0, "out '%s'", rec.out);
	ck_assert_msg(strstr(rec.out, " 1024 "), "df: '%s'", rec.out);
	ck_assert_msg(strstr(rec.err, "No space left"), "err '%s'", rec.err);
	al_sandbox_record_clear(&rec);
}
END_TEST

/* The runner's way: the checkout stays as written, whatever the command does to /work. */
START_TEST(overlay_keeps_the_workspace)
{
	_cleanup_free_ char *f = al_path_join(ws, "f"), *g = al_path_join(ws, "g");
	_cleanup_free_ char *data = NULL;
	struct al_sandbox_opts o = {
	    .argv = SH("cat f; echo changed > f; rm g; echo new > h; mkdir d; ls; "
		       "grep ' /work ' /proc/self/mounts | cut -d' ' -f3; "
		       "test -e /.disk && echo disk-visible; cat f"),
	    .workspace_overlay = 1,
	};
	struct al_run_record rec = {0};
	uid_t uid;
	gid_t gid;
	size_t len;

	ck_assert_int_eq(al_file_write_atomic(f, "orig\n", 5, 0644, NULL), 0);
	ck_assert_int_eq(al_file_write_atomic(g, "gone\n", 5, 0644, NULL), 0);
	al_sandbox_default_ids(&uid, &gid);
	ck_assert_int_eq(chown(f, uid, gid), 0);
	run_with(&o, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "orig\nd\nf\nh\noverlay\nchanged\n");
	ck_assert_int_eq(al_file_read(f, 64, &data, &len, NULL), 0);
	ck_assert_str_eq(data, "orig\n");
	ck_assert_int_eq(access(g, F_OK), 0);
	ck_assert_int_eq(count_entries(ws), 2);
	al_sandbox_record_clear(&rec);
}
END_TEST

/* /work's changes and /tmp share one cap. */
START_TEST(overlay_counts_against_the_disk)
{
	struct al_sandbox_opts o = {
	    .argv = SH("head -c 1M /dev/zero > /tmp/a && echo tmp-ok; "
		       "head -c 1M /dev/zero > /work/b; echo $?; df -k /work | tail -1"),
	    .workspace_overlay = 1,
	    .disk_bytes = (size_t)3 << 19,
	};
	struct al_run_record rec = {0};

	run_with(&o, &rec);
	ck_assert_int_eq(rec.status, AL_RUN_OK);
	ck_assert_msg(strncmp(rec.out, "tmp-ok\n1\n", 9) == 0, "out '%s'", rec.out);
	ck_assert_msg(strstr(rec.err, "No space left"), "err '%s'", rec.err);
	ck_assert_int_eq(count_entries(ws), 0);
	al_sandbox_record_clear(&rec);
}
END_TEST

/* A command that fails on a full disk is DISK; the record says how much it held. */
START_TEST(disk_full_is_disk)
{
	struct al_sandbox_opts o = {
	    .argv = SH("head -c 3M /dev/zero > /work/big"),
	    .workspace_overlay = 1,
	    .disk_bytes = (size_t)2 << 20,
	};
	struct al_run_record rec = {0};

	run_with(&o, &rec);
	ck_assert_int_eq(rec.status, AL_RUN_DISK);
	ck_assert_int_eq(rec.exit_code, 1);
	ck_assert_int_eq(rec.disk_full, 1);
	ck_assert_int_ge(rec.disk_bytes, (long long)(2 << 20) - (64 << 10));
	ck_assert_msg(strstr(rec.err, "No space left"), "err '%s'", rec.err);
	al_sandbox_record_clear(&rec);
	/* one that still has room is not, whatever its exit */
	o.argv = SH("head -c 100K /dev/zero > /work/small; exit 3");
	run_with(&o, &rec);
	ck_assert_int_eq(rec.status, AL_RUN_RE);
	ck_assert_int_eq(rec.disk_full, 0);
	ck_assert_int_ge(rec.disk_bytes, 100 << 10);
	ck_assert_int_lt(rec.disk_bytes, 1 << 20);
	al_sandbox_record_clear(&rec);
}
END_TEST

/* The disk is tmpfs: its pages are the run's memory, so a disk larger than the memory cap
 * ends at the memory cap (docs/operations.md, Disk caps). */
START_TEST(disk_counts_against_memory)
{
	struct al_sandbox_opts o = {
	    .argv = SH("head -c 48M /dev/zero > /tmp/f"),
	    .memory_bytes = (size_t)32 << 20,
	    .disk_bytes = (size_t)64 << 20,
	};
	struct al_run_record rec = {0};

	run_with(&o, &rec);
	ck_assert_msg(rec.status == AL_RUN_OOM, "status %s", al_runrec_status_name(rec.status));
	al_sandbox_record_clear(&rec);
}
END_TEST

static const struct {
	const char *script;
	int error;
	const char *data;
} report_cases[] = {
    {"printf 'a\\nb' > /airlock-report/r", 0, "a\nb"},
    {": > /airlock-report/r", 0, ""},
    {"true", -ENOENT, NULL},
    {"ln -s /etc/passwd /airlock-report/r", -ELOOP, NULL},
    {"mkfifo /airlock-report/r", -EINVAL, NULL},
    {"mkdir /airlock-report/r", -EINVAL, NULL},
    {"head -c 5000 /dev/zero > /airlock-report/r", -EFBIG, NULL},
    /* what a process left running writes after the command ends is not waited for */
    {"echo early > /airlock-report/r; (sleep 1; echo late >> /airlock-report/r) &", 0, "early\n"},
};

/* The report is copied out of the disk before it goes: never through a link or a FIFO,
 * never past its cap. */
START_TEST(report_copied_out)
{
	struct al_sandbox_opts o = {
	    .argv = SH((char *)report_cases[_i].script),
	    .workspace_overlay = 1,
	    .report_name = "r",
	    .report_max = 4096,
	};
	struct al_run_record rec = {0};

	run_with(&o, &rec);
	assert_ok(&rec);
	ck_assert_int_eq(rec.report_error, report_cases[_i].error);
	if (report_cases[_i].data) {
		ck_assert_uint_eq(rec.report_len, strlen(report_cases[_i].data));
		ck_assert_mem_eq(rec.report, report_cases[_i].data, rec.report_len);
	} else {
		ck_assert_ptr_null(rec.report);
	}
	ck_assert_int_eq(count_entries(ws), 0);
	al_sandbox_record_clear(&rec);
}
END_TEST

START_TEST(binds_ro_and_rw)
{
	_cleanup_free_ char *ro = al_path_join(ws, "ro"), *rw = al_path_join(ws, "rw");
	_cleanup_free_ char *rof = al_path_join(ws, "ro/f"), *rwf = al_path_join(ws, "rw/new");
	_cleanup_free_ char *rog = al_path_join(ws, "ro/g");
	_cleanup_free_ char *data = NULL;
	const struct al_bind binds[] = {
	    {.src = ro, .dst = "/data/ro"},
	    {.src = rw, .dst = "/tmp/deep/rw", .writable = 1},
	    {.src = rof, .dst = "/etc/airlock-file"},
	    {.src = "/usr/share"}, /* dst defaults to src */
	};
	struct al_sandbox_opts o = {
	    .argv = SH("cat /data/ro/f /etc/airlock-file; "
		       "touch /data/ro/g 2>/dev/null && echo ro-writable || echo ro-refused; "
		       "echo made > /tmp/deep/rw/new && echo rw-ok; test -d /usr/share && echo "
		       "share; grep -E ' /(data/ro|tmp/deep/rw) ' /proc/self/mounts | cut -d' ' "
		       "-f2,4 | cut -d, -f1"),
	    .binds = binds,
	    .n_binds = AL_ARRAY_SIZE(binds),
	};
	struct al_run_record rec = {0};
	uid_t uid;
	gid_t gid;
	size_t len;

	al_sandbox_default_ids(&uid, &gid);
	ck_assert_int_eq(mkdir(ro, 0755), 0);
	ck_assert_int_eq(mkdir(rw, 0755), 0);
	ck_assert_int_eq(chown(rw, uid, gid), 0);
	ck_assert_int_eq(chown(ro, uid, gid), 0); /* writable but for the bind */
	ck_assert_int_eq(al_file_write_atomic(rof, "data\n", 5, 0644, NULL), 0);
	run_with(&o, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "data\ndata\nro-refused\nrw-ok\nshare\n/data/ro ro\n"
				  "/tmp/deep/rw rw\n");
	ck_assert_int_eq(access(rog, F_OK), -1);
	ck_assert_int_eq(al_file_read(rwf, 64, &data, &len, NULL), 0);
	ck_assert_str_eq(data, "made\n");
	al_sandbox_record_clear(&rec);
}
END_TEST

static const struct {
	struct al_bind bind;
	int want;
} bad_binds[] = {
    {{.src = "usr", .dst = "/x"}, -EINVAL},
    {{.src = NULL, .dst = "/x"}, -EINVAL},
    {{.src = "/usr", .dst = "x"}, -EINVAL},
    {{.src = "/usr", .dst = ""}, -EINVAL},
    {{.src = "/usr", .dst = "/"}, -EINVAL},
    {{.src = "/usr", .dst = "//"}, -EINVAL},
    {{.src = "/usr", .dst = "/proc"}, -EINVAL},
    {{.src = "/usr", .dst = "/proc/"}, -EINVAL},
    {{.src = "/usr", .dst = "//proc/sys"}, -EINVAL},
    {{.src = "/usr", .dst = "/proc/self/root"}, -EINVAL},
    {{.src = "/usr", .dst = "/a/../proc"}, -EINVAL},
    {{.src = "/usr", .dst = "/a/.."}, -EINVAL},
    {{.src = "/usr", .dst = "/../x"}, -EINVAL},
    {{.src = "/usr", .dst = "/./proc"}, -EINVAL},
    {{.src = "/proc"}, -EINVAL}, /* dst defaults to src */
    {{.src = "/nonexistent-airlock-bind", .dst = "/x"}, -ENOENT},
};

START_TEST(binds_refused)
{
	struct al_sandbox_opts o = {
	    .workspace = ws,
	    .argv = SH("touch /work/ran"),
	    .binds = &bad_binds[_i].bind,
	    .n_binds = 1,
	};
	_cleanup_free_ char *ran = al_path_join(ws, "ran");
	struct al_run_record rec = {.status = AL_RUN_OOM};
	struct al_err e = {0};

	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	ck_assert_int_eq(al_sandbox_run(&o, &rec, &e), bad_binds[_i].want);
	ck_assert_msg(e.msg[0], "no message");
	ck_assert_int_eq(rec.status, AL_RUN_OOM);
	ck_assert_int_eq(access(ran, F_OK), -1);
	assert_no_children();
	ck_assert_int_eq(groups_left(), 0);
}
END_TEST

START_TEST(too_many_binds)
{
	struct al_bind binds[17];
	struct al_sandbox_opts o = {
	    .workspace = ws,
	    .argv = (char *const[]){"true", NULL},
	    .binds = binds,
	    .n_binds = AL_ARRAY_SIZE(binds),
	};

	for (size_t i = 0; i < AL_ARRAY_SIZE(binds); i++)
		binds[i] = (struct al_bind){.src = "/usr"};
	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	ck_assert_int_eq(al_sandbox_run(&o, &(struct al_run_record){0}, NULL), -E2BIG);
	o.binds = NULL;
	o.n_binds = 1;
	ck_assert_int_eq(al_sandbox_run(&o, &(struct al_run_record){0}, NULL), -EINVAL);
}
END_TEST

/* No workspace: /work is an empty directory of the run's disk that the sandbox user owns. */
START_TEST(workspace_none_is_tmpfs)
{
	struct al_sandbox_opts o = {
	    .argv = SH("ls -A /work; echo hi > /work/f && cat /work/f; stat -c '%u %a' /work; "
		       "grep ' /work ' /proc/self/mounts | cut -d' ' -f1,3; df -k /work | tail -1"),
	    .disk_bytes = (size_t)2 << 20,
	};
	struct al_run_record rec = {0};
	struct al_err e = {0};
	int fds = count_fds();

	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	ck_assert_int_eq(al_sandbox_run(&o, &rec, &e), 0);
	assert_ok(&rec);
	ck_assert_msg(strncmp(rec.out, "hi\n0 755\ntmpfs tmpfs\ntmpfs ", 27) == 0, "out '%s'",
		      rec.out);
	ck_assert_msg(strstr(rec.out, " 2048 "), "df: '%s'", rec.out);
	assert_no_children();
	ck_assert_int_eq(count_fds(), fds);
	ck_assert_int_eq(groups_left(), 0);
	al_sandbox_record_clear(&rec);
}
END_TEST

START_TEST(sandbox_user_named)
{
	struct al_run_record rec = {0};

	run(SH("id -un; id -gn; getent passwd 0 | cut -d: -f1,6"), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "root\nroot\nroot:/tmp\n");
	al_sandbox_record_clear(&rec);
}
END_TEST

/* ---- the environment: an image as the OS, layers over the workspace ---- */

/* dir/rel made (parents too), then a copy of the host file src in it. */
static void
put_file(const char *dir, const char *rel, const char *src)
{
	_cleanup_free_ char *dst = al_path_join(dir, rel), *data = NULL;
	char *slash;
	size_t len;
	struct stat st;

	ck_assert_ptr_nonnull(dst);
	slash = strrchr(dst, '/');
	*slash = '\0';
	ck_assert_int_eq(al_mkdir_p(dst, 0755), 0);
	*slash = '/';
	ck_assert_int_eq(stat(src, &st), 0);
	ck_assert_int_eq(al_file_read(src, (size_t)st.st_size + 1, &data, &len, NULL), 0);
	ck_assert_int_eq(al_file_write_atomic(dst, data, len, 0755, NULL), 0);
}

/* A tiny image: the host's dash and cat with their C library, usrmerged, and an
 * /etc/alternatives that is a link, absolute, to a host directory holding a marker. */
static void
tiny_image(const char *img, const char *alternatives_link)
{
	char lib[256];
	ssize_t n = readlink("/lib64/ld-linux-x86-64.so.2", lib, sizeof(lib) - 1);

	(void)n;
	put_file(img, "usr/bin/sh", "/bin/dash");
	put_file(img, "usr/bin/cat", "/bin/cat");
	put_file(img, "usr/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6");
	put_file(img, "usr/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2");
	put_file(img, "usr/share/image-mark", "/etc/hostname");
	for (size_t i = 0; i < 3; i++) {
		static const char *const links[][2] = {
		    {"usr/bin", "bin"}, {"usr/lib", "lib"}, {"usr/lib64", "lib64"}};
		_cleanup_free_ char *p = al_path_join(img, links[i][1]);

		ck_assert_int_eq(symlink(links[i][0], p), 0);
	}
	{
		_cleanup_free_ char *etc = al_path_join(img, "etc"), *alt = NULL;

		ck_assert_int_eq(mkdir(etc, 0755), 0);
		alt = al_path_join(etc, "alternatives");
		ck_assert_int_eq(symlink(alternatives_link, alt), 0);
	}
}

/* The image's /usr is what the command sees; a link in the image never reaches the
 * host: an absolute link names the image's own path, a ".." stays at the image's root. */
START_TEST(image_is_the_system)
{
	static const char *const links[] = {"/tmp/MARKDIR", "../../../../../../tmp/MARKDIR"};
	char img[64], mark[64];
	_cleanup_free_ char *markfile = NULL;
	struct al_sandbox_opts o = {
	    .argv = SH("test -e /usr/share/image-mark && echo image; "
		       "test -e /usr/bin/env || echo no-host-usr; "
		       "cat /etc/alternatives/MARK 2>/dev/null || echo no-host-dir"),
	};
	struct al_run_record rec = {0};

	snprintf(img, sizeof(img), "/tmp/al-check-image-XXXXXX");
	snprintf(mark, sizeof(mark), "/tmp/al-check-mark-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(img));
	ck_assert_ptr_nonnull(mkdtemp(mark));
	markfile = al_path_join(mark, "MARK");
	ck_assert_int_eq(al_file_write_atomic(markfile, "HOST\n", 5, 0644, NULL), 0);
	ck_assert_int_eq(chmod(mark, 0755), 0);
	ck_assert_int_eq(chmod(img, 0755), 0);
	char target[128];

	snprintf(target, sizeof(target), "%s", links[_i]);
	/* point the link at the real marker directory */
	memcpy(strstr(target, "MARKDIR"), mark + 5, strlen(mark + 5) + 1);
	tiny_image(img, target);
	o.root_image = img;
	run_with(&o, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "image\nno-host-usr\nno-host-dir\n");
	al_sandbox_record_clear(&rec);
	al_rm_rf(img);
	al_rm_rf(mark);
}
END_TEST

/* Layers stack over the workspace, top first; a run's writes reach neither, and a kept
 * upper directory takes them instead of the disk. */
START_TEST(layers_over_the_workspace)
{
	char layer[64], upper[64];
	_cleanup_free_ char *a = al_path_join(ws, "a"), *b = NULL, *ub = NULL, *data = NULL;
	const char *layers[1];
	struct al_sandbox_opts o = {
	    .argv = SH("cat a b; echo w > b; echo n > c; cat b"),
	    .workspace_overlay = 1,
	};
	struct al_run_record rec = {0};
	uid_t uid;
	gid_t gid;
	size_t len;

	snprintf(layer, sizeof(layer), "/tmp/al-check-layer-XXXXXX");
	snprintf(upper, sizeof(upper), "/tmp/al-check-upper-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(layer));
	ck_assert_ptr_nonnull(mkdtemp(upper));
	b = al_path_join(layer, "b");
	al_sandbox_default_ids(&uid, &gid);
	ck_assert_int_eq(al_file_write_atomic(a, "tree\n", 5, 0644, NULL), 0);
	ck_assert_int_eq(al_file_write_atomic(b, "layer\n", 6, 0644, NULL), 0);
	ck_assert_int_eq(chmod(layer, 0755), 0);
	ck_assert_int_eq(chown(a, uid, gid) | chown(b, uid, gid) | chown(upper, uid, gid), 0);
	layers[0] = layer;
	o.layers = layers;
	o.n_layers = 1;
	o.upper_dir = upper;
	run_with(&o, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "tree\nlayer\nw\n");
	ck_assert_int_eq(al_file_read(b, 64, &data, &len, NULL), 0);
	ck_assert_str_eq(data, "layer\n");
	ub = al_path_join(upper, "upper/b");
	free(data);
	data = NULL;
	ck_assert_int_eq(al_file_read(ub, 64, &data, &len, NULL), 0);
	ck_assert_str_eq(data, "w\n");
	ck_assert_int_eq(count_entries(ws), 1);
	al_sandbox_record_clear(&rec);
	al_rm_rf(layer);
	al_rm_rf(upper);
}
END_TEST

/* What the environment options cannot be: refused before anything runs. */
START_TEST(environment_refused)
{
	const char *layers[5] = {"/usr", "/usr", "/usr", "/usr", "/usr"};
	const char *missing[1] = {"/nonexistent/layer"};
	struct {
		struct al_sandbox_opts o;
		int want;
	} cases[] = {
	    {{.layers = layers, .n_layers = 1}, -EINVAL},			 /* no overlay */
	    {{.upper_dir = "/tmp"}, -EINVAL},					 /* no overlay */
	    {{.workspace_overlay = 1, .layers = layers, .n_layers = 5}, -E2BIG}, /* too many */
	    {{.workspace_overlay = 1, .layers = missing, .n_layers = 1}, -ENOENT},
	    {{.root_image = "usr"}, -EINVAL},
	    {{.root_image = "/etc/hostname"}, -ENOTDIR},
	    {{.workspace_overlay = 1, .upper_dir = "/etc/hostname"}, -ENOTDIR},
	};
	_cleanup_free_ char *ran = al_path_join(ws, "ran");

	for (size_t i = 0; i < AL_ARRAY_SIZE(cases); i++) {
		struct al_err e = {0};

		cases[i].o.workspace = ws;
		cases[i].o.argv = SH("touch ran");
		al_sandbox_default_ids(&cases[i].o.host_uid, &cases[i].o.host_gid);
		ck_assert_int_eq(al_sandbox_run(&cases[i].o, &(struct al_run_record){0}, &e),
				 cases[i].want);
		ck_assert_msg(e.msg[0], "case %zu: no message", i);
		ck_assert_int_eq(access(ran, F_OK), -1);
	}
	assert_no_children();
}
END_TEST

/* ---- denied calls, counted ---- */

static unsigned
denied_count(const struct al_run_record *rec, const char *name)
{
	for (size_t i = 0; i < rec->n_denied; i++)
		if (!strcmp(rec->denied[i].name, name))
			return rec->denied[i].count;
	return 0;
}

START_TEST(denied_calls_counted)
{
	struct al_run_record rec = {0};
	char script[256];

	/* each call must fail with EPERM, or the script says which did not */
	snprintf(script, sizeof(script),
		 "for (1..3) { syscall(%d, 0, 0, 0) == -1 && $! == %d or die 'keyctl' } "
		 "syscall(%d, 0, 0, 0, 0) == -1 && $! == %d or die 'ptrace'; print 'denied'",
		 (int)SYS_keyctl, EPERM, (int)SYS_ptrace, EPERM);
	run(PERL(script), 0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "denied");
	ck_assert_uint_eq(rec.n_denied, 2);
	ck_assert_uint_eq(denied_count(&rec, "keyctl"), 3);
	ck_assert_uint_eq(denied_count(&rec, "ptrace"), 1);
	ck_assert_uint_eq(rec.denied_other, 0);
	al_sandbox_record_clear(&rec);
}
END_TEST

START_TEST(nothing_denied_nothing_counted)
{
	struct al_run_record rec = {0};

	/* fork (clone3 would be answered ENOSYS, not counted), the sockets that are allowed */
	run(PERL("use Socket; socket(my $s, AF_INET, SOCK_STREAM, 0) or die; "
		 "socket(my $u, AF_UNIX, SOCK_STREAM, 0) or die; my $p = fork // die; "
		 "exit 0 if !$p; waitpid($p, 0); print 'fine'"),
	    0, 0, &rec);
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "fine");
	ck_assert_uint_eq(rec.n_denied, 0);
	ck_assert_uint_eq(rec.denied_other, 0);
	al_sandbox_record_clear(&rec);
}
END_TEST

/* The syscalls probe tries more distinct denied calls than a record lists. */
START_TEST(denied_calls_overflow)
{
	struct al_run_record rec = {0};

	copy_probe("syscalls");
	run((char *const[]){"/work/syscalls", NULL}, 10000, 0, &rec);
	ck_assert_msg(rec.status == AL_RUN_OK && strstr(rec.out, "result=blocked"), "out '%s'",
		      rec.out);
	ck_assert_uint_eq(rec.n_denied, AL_DENIED_MAX);
	ck_assert_uint_gt(rec.denied_other, 0);
	ck_assert_uint_eq(denied_count(&rec, "ptrace"), 1);
	ck_assert_uint_eq(denied_count(&rec, "clone3"), 0);
	for (size_t i = 0; i < rec.n_denied; i++)
		ck_assert_uint_ge(rec.denied[i].count, 1);
	al_sandbox_record_clear(&rec);
}
END_TEST

/* ---- cgroup detection, on fake trees ---- */

struct fake {
	char dir[64];
	char mountinfo[128], self[128];
};

static void
fake_file(const struct fake *f, const char *rel, const char *text)
{
	_cleanup_free_ char *path = al_path_join(f->dir, rel);
	_cleanup_free_ char *parent = strdup(path);

	ck_assert_int_eq(al_mkdir_p(dirname(parent), 0755), 0);
	ck_assert_int_eq(al_file_write_atomic(path, text, strlen(text), 0644, NULL), 0);
}

static void
fake_dir(const struct fake *f, const char *rel)
{
	_cleanup_free_ char *path = al_path_join(f->dir, rel);

	ck_assert_int_eq(al_mkdir_p(path, 0755), 0);
}

static char *
fake_read(const struct fake *f, const char *rel)
{
	_cleanup_free_ char *path = al_path_join(f->dir, rel);
	char *data = NULL;
	size_t len;

	ck_assert_int_eq(al_file_read(path, 4096, &data, &len, NULL), 0);
	return data;
}

/* mountinfo lines name mount points below the fake dir: each %s stands for it. */
static void
fake_setup(struct fake *f, const char *mountinfo_fmt, const char *self_cgroup)
{
	char mi[2048];
	size_t n = 0;

	snprintf(f->dir, sizeof(f->dir), "/tmp/al-check-cgroup-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(f->dir));
	for (const char *p = mountinfo_fmt; *p; p++) {
		if (p[0] == '%' && p[1] == 's') {
			n += (size_t)snprintf(mi + n, sizeof(mi) - n, "%s", f->dir);
			p++;
		} else if (n < sizeof(mi) - 1) {
			mi[n++] = *p;
		}
		ck_assert_uint_lt(n, sizeof(mi));
	}
	mi[n] = '\0';
	fake_file(f, "mountinfo", mi);
	fake_file(f, "cgroup", self_cgroup);
	snprintf(f->mountinfo, sizeof(f->mountinfo), "%s/mountinfo", f->dir);
	snprintf(f->self, sizeof(f->self), "%s/cgroup", f->dir);
}

static void
fake_detect(const struct fake *f, pid_t self, struct al_cgroup_host *h)
{
	struct al_cgroup_probe in = {
	    .mountinfo = f->mountinfo, .self_cgroup = f->self, .self = self};

	ck_assert_int_eq(al_cgroup_detect(&in, h), 0);
}

static void
assert_base(const struct fake *f, const struct al_cgroup_host *h, int c, const char *rel)
{
	char want[PATH_MAX];

	snprintf(want, sizeof(want), "%s%s", f->dir, rel);
	ck_assert_str_eq(h->base[c], want);
}

#define V2_LINE "30 22 0:27 / %s/cg2 rw,relatime shared:4 - cgroup2 cgroup2 rw\n"
#define CTRLS "cpuset cpu io memory hugetlb pids rdma misc\n"

START_TEST(detect_v2_root)
{
	struct al_cgroup_host h;
	struct fake f;
	_cleanup_free_ char *sub = NULL;

	fake_setup(&f, V2_LINE, "0::/\n");
	fake_file(&f, "cg2/cgroup.controllers", CTRLS);
	fake_file(&f, "cg2/cgroup.subtree_control", "");
	fake_detect(&f, 0, &h);
	ck_assert_int_eq(h.version, 2);
	ck_assert_str_eq(h.controllers, "memory pids cpu");
	for (int c = 0; c < AL_CG_NCTRL; c++)
		assert_base(&f, &h, c, "/cg2");
	sub = fake_read(&f, "cg2/cgroup.subtree_control");
	ck_assert_str_eq(sub, "+memory +pids +cpu");
	al_rm_rf(f.dir);
}
END_TEST

/* A process that moved itself into the supervisor leaf uses the leaf's parent. */
START_TEST(detect_v2_supervisor_leaf)
{
	struct al_cgroup_host h;
	struct fake f;

	fake_setup(&f, V2_LINE, "0::/srv.slice/airlock.service/airlock-supervisor\n");
	fake_file(&f, "cg2/srv.slice/airlock.service/airlock-supervisor/cgroup.controllers", CTRLS);
	fake_file(&f, "cg2/srv.slice/airlock.service/airlock-supervisor/cgroup.type", "domain\n");
	fake_detect(&f, 0, &h);
	ck_assert_int_eq(h.version, 2);
	assert_base(&f, &h, AL_CG_MEMORY, "/cg2/srv.slice/airlock.service");
	al_rm_rf(f.dir);
}
END_TEST

/* Alone in a delegated group, the process moves into the leaf and enables controllers. */
START_TEST(detect_v2_moves_alone)
{
	struct al_cgroup_host h;
	struct fake f;
	_cleanup_free_ char *procs = NULL, *sub = NULL;

	fake_setup(&f, V2_LINE, "0::/svc\n");
	fake_file(&f, "cg2/svc/cgroup.controllers", CTRLS);
	fake_file(&f, "cg2/svc/cgroup.type", "domain\n");
	fake_file(&f, "cg2/svc/cgroup.procs", "4242\n");
	fake_file(&f, "cg2/svc/cgroup.subtree_control", "");
	fake_file(&f, "cg2/svc/airlock-supervisor/cgroup.procs", "");
	fake_detect(&f, 4242, &h);
	ck_assert_int_eq(h.version, 2);
	assert_base(&f, &h, AL_CG_CPU, "/cg2/svc");
	procs = fake_read(&f, "cg2/svc/airlock-supervisor/cgroup.procs");
	ck_assert_str_eq(procs, "4242");
	sub = fake_read(&f, "cg2/svc/cgroup.subtree_control");
	ck_assert_str_eq(sub, "+memory +pids +cpu");
	al_rm_rf(f.dir);
}
END_TEST

START_TEST(detect_v2_busy_group)
{
	struct al_cgroup_host h;
	struct fake f;

	fake_setup(&f, V2_LINE, "0::/user.slice/session-1.scope\n");
	fake_file(&f, "cg2/user.slice/session-1.scope/cgroup.controllers", CTRLS);
	fake_file(&f, "cg2/user.slice/session-1.scope/cgroup.type", "domain\n");
	fake_file(&f, "cg2/user.slice/session-1.scope/cgroup.procs", "17\n4242\n");
	fake_detect(&f, 4242, &h);
	ck_assert_int_eq(h.version, 0);
	ck_assert_msg(strstr(h.problems, "holds other processes") &&
			  strstr(h.problems, "Delegate=yes"),
		      "problems '%s'", h.problems);
	al_rm_rf(f.dir);
}
END_TEST

START_TEST(detect_missing_controllers)
{
	struct al_cgroup_host h;
	struct fake f;

	/* v2 offers cpu only, v1 has no hierarchy at all: one line per missing controller */
	fake_setup(&f, V2_LINE, "0::/\n");
	fake_file(&f, "cg2/cgroup.controllers", "cpu io\n");
	fake_detect(&f, 0, &h);
	ck_assert_int_eq(h.version, 0);
	ck_assert_str_eq(h.problems,
			 "cgroups: no memory controller found; mount cgroup v1 memory at "
			 "/sys/fs/cgroup/memory or delegate memory in cgroup v2 (systemd: "
			 "Delegate=yes)\n"
			 "cgroups: no pids controller found; mount cgroup v1 pids at "
			 "/sys/fs/cgroup/pids or delegate pids in cgroup v2 (systemd: "
			 "Delegate=yes)\n");
	al_rm_rf(f.dir);
}
END_TEST

/* This host's kind: a unified mount without controllers, separate v1 hierarchies (one of
 * them co-mounted, one below a non-root mount, one with an escaped name). */
#define V1_LINES                                                                  \
	"29 22 0:26 / %s/unified rw,relatime shared:4 - cgroup2 cgroup2 rw\n"     \
	"31 30 0:28 / %s/memory rw,relatime shared:9 - cgroup cgroup rw,memory\n" \
	"32 30 0:29 /sub %s/my\\040pids rw,relatime - cgroup cgroup rw,pids\n"    \
	"33 30 0:30 / %s/cpu,cpuacct rw,relatime shared:7 - cgroup cgroup rw,cpu,cpuacct\n"
#define V1_SELF "9:name=systemd:/\n8:pids:/sub/job\n4:memory:/a/b\n2:cpu,cpuacct:/\n0::/\n"

START_TEST(detect_v1)
{
	struct al_cgroup_host h;
	struct fake f;

	fake_setup(&f, V1_LINES, V1_SELF);
	fake_file(&f, "unified/cgroup.controllers", "");
	fake_dir(&f, "memory/a/b");
	fake_file(&f, "memory/a/b/memory.memsw.limit_in_bytes", "9223372036854771712\n");
	fake_dir(&f, "my pids/job");
	fake_dir(&f, "cpu,cpuacct");
	fake_detect(&f, getpid(), &h);
	ck_assert_msg(h.version == 1, "problems '%s'", h.problems);
	assert_base(&f, &h, AL_CG_MEMORY, "/memory/a/b");
	assert_base(&f, &h, AL_CG_PIDS, "/my pids/job");
	assert_base(&f, &h, AL_CG_CPU, "/cpu,cpuacct");
	ck_assert_int_eq(h.memsw, 1);
	ck_assert_str_eq(h.controllers, "memory pids cpu");
	al_rm_rf(f.dir);
}
END_TEST

START_TEST(detect_v1_missing_pids)
{
	struct al_cgroup_host h;
	struct fake f;

	fake_setup(&f, V1_LINES, "4:memory:/\n2:cpu,cpuacct:/\n0::/\n");
	fake_file(&f, "unified/cgroup.controllers", "");
	fake_dir(&f, "memory");
	fake_dir(&f, "cpu,cpuacct");
	fake_detect(&f, 0, &h);
	ck_assert_int_eq(h.version, 0);
	ck_assert_msg(strstr(h.problems, "no pids controller found") &&
			  !strstr(h.problems, "no memory") && !strstr(h.problems, "no cpu"),
		      "problems '%s'", h.problems);
	al_rm_rf(f.dir);
}
END_TEST

/* Whatever is still in a run's groups when it is destroyed is killed, and the groups go. */
START_TEST(destroy_kills_leftovers)
{
	const struct al_cgroup_host *h;
	struct al_cgroup_limits l = {.memory_bytes = 64 << 20, .pids_max = 8, .cpu_percent = 50};
	struct al_cgroup_run *r = NULL;
	char path[PATH_MAX];
	int st;
	pid_t pid;

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	if (h->version == 0 || geteuid() != 0)
		return;
	ck_assert_int_eq(al_cgroup_run_create(h, &l, &r, NULL), 0);
	snprintf(path, sizeof(path), "%s", al_cgroup_run_path(r, AL_CG_PIDS));
	ck_assert_int_eq(access(path, F_OK), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	ck_assert_int_eq(al_cgroup_run_attach(r, pid, NULL), 0);
	ck_assert_int_eq(groups_left(), h->version == 1 ? 3 : 1);
	ck_assert_int_eq(al_cgroup_run_destroy(r, NULL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(groups_left(), 0);
}
END_TEST

/* The group of process pid in the v1 hierarchy of ctrl, from /proc/<pid>/cgroup. */
static void
cgroup_of(pid_t pid, const char *ctrl, char *buf, size_t size)
{
	char path[64], key[32];
	_cleanup_free_ char *text = NULL;
	size_t len;
	char *p;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	ck_assert_int_eq(al_file_read(path, 1 << 16, &text, &len, NULL), 0);
	snprintf(key, sizeof(key), ":%s:", ctrl);
	p = strstr(text, key);
	ck_assert_msg(p, "%s in '%s'", ctrl, text);
	p += strlen(key);
	*strchrnul(p, '\n') = '\0';
	snprintf(buf, size, "%s", p);
}

/* A forked child (one thread) joins the run's groups itself through the fds the run
 * opened, and with leave, leaves them again as an init does at its end; its parent stays
 * where it was. It writes "<rc> <refusing group>" to ready_fd, then waits to be killed. */
static pid_t
fork_joiner(const struct al_cgroup_run *r, int ready_fd, int leave)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *path = NULL;
		int rc = al_cgroup_run_join_self(r, &path);
		char msg[PATH_MAX + 16];

		if (rc == 0 && leave)
			rc = al_cgroup_run_leave_self(r);
		snprintf(msg, sizeof(msg), "%d %s", rc, path ? path : "-");
		if (write(ready_fd, msg, strlen(msg)) < 0)
			_exit(2);
		if (rc == 0)
			pause();
		_exit(1);
	}
	return pid;
}

START_TEST(join_self_moves_the_caller)
{
	const struct al_cgroup_host *h;
	struct al_cgroup_limits l = {.memory_bytes = 64 << 20, .pids_max = 8, .cpu_percent = 50};
	struct al_cgroup_run *r = NULL;
	const enum al_cgroup_ctrl ctrls[] = {AL_CG_MEMORY, AL_CG_PIDS, AL_CG_CPU};
	const char *names[] = {"memory", "pids", "cpu"};
	char before[3][PATH_MAX], got[PATH_MAX], msg[PATH_MAX + 16] = {0};
	int p[2], st;
	pid_t pid;

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	if (h->version != 1 || geteuid() != 0)
		return;
	for (int i = 0; i < 3; i++)
		cgroup_of(getpid(), names[i], before[i], sizeof(before[i]));
	ck_assert_int_eq(al_cgroup_run_create(h, &l, &r, NULL), 0);
	ck_assert_int_eq(al_cgroup_run_clone_fd(r), -1); /* v1: no clone into a group */
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork_joiner(r, p[1], 0);
	close(p[1]);
	ck_assert_int_gt(read(p[0], msg, sizeof(msg) - 1), 0);
	close(p[0]);
	ck_assert_str_eq(msg, "0 -");
	for (int i = 0; i < 3; i++) {
		const char *want = al_cgroup_run_path(r, ctrls[i]);

		cgroup_of(pid, names[i], got, sizeof(got));
		ck_assert_msg(strlen(want) > strlen(got) &&
				  !strcmp(want + strlen(want) - strlen(got), got),
			      "%s: in %s, want %s", names[i], got, want);
		cgroup_of(getpid(), names[i], got, sizeof(got));
		ck_assert_str_eq(got, before[i]);
	}
	ck_assert_int_eq(al_cgroup_run_adopt(r, pid, 0, NULL), 0);
	ck_assert_int_eq(al_cgroup_run_destroy(r, NULL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	ck_assert_int_eq(groups_left(), 0);
}
END_TEST

/* v1: the init's way out. A child that joined the run's groups leaves them through the
 * exit fds once its work is done: it is then in airlock-exit in every hierarchy, and the
 * run's groups can be removed while it still lives (no kill: al_cgroup_run_destroy would
 * have to kill a member it found). */
START_TEST(init_leaves_its_groups)
{
	const struct al_cgroup_host *h;
	struct al_cgroup_limits l = {.memory_bytes = 64 << 20, .pids_max = 8, .cpu_percent = 50};
	struct al_cgroup_run *r = NULL;
	const char *names[] = {"memory", "pids", "cpu"};
	char got[PATH_MAX], msg[PATH_MAX + 16] = {0};
	int p[2], fds[AL_CG_NCTRL], st;
	pid_t pid;

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	if (h->version != 1)
		return;
	ck_assert_int_eq(al_cgroup_run_create(h, &l, &r, NULL), 0);
	ck_assert_uint_gt(al_cgroup_run_exit_fds(r, fds, AL_CG_NCTRL), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork_joiner(r, p[1], 1);
	close(p[1]);
	ck_assert_int_gt(read(p[0], msg, sizeof(msg) - 1), 0);
	close(p[0]);
	ck_assert_str_eq(msg, "0 -");
	for (int i = 0; i < 3; i++) {
		cgroup_of(pid, names[i], got, sizeof(got));
		ck_assert_msg(strlen(got) >= strlen("/" AL_CGROUP_EXIT_NAME) &&
				  !strcmp(got + strlen(got) - strlen("/" AL_CGROUP_EXIT_NAME),
					  "/" AL_CGROUP_EXIT_NAME),
			      "%s: in %s, want .../" AL_CGROUP_EXIT_NAME, names[i], got);
	}
	ck_assert_int_eq(al_cgroup_run_adopt(r, pid, 0, NULL), 0);
	ck_assert_int_eq(al_cgroup_run_destroy(r, NULL), 0);
	ck_assert_int_eq(groups_left(), 0);
	/* destroy found the groups empty and killed nothing: the child still lives */
	ck_assert_int_eq(waitpid(pid, &st, WNOHANG), 0);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}
END_TEST

/* When the command's status comes, nothing else of the run is alive: what the command
 * left running (here a subshell that would write /work/late 0.3 s on) was killed and
 * reaped by the init first. With no_reap (`airlock sandbox`) the run returns then, its
 * groups gone on v1, and its init exits on its own; without, it returns once the init
 * is reaped. */
START_TEST(stragglers_die_before_the_status)
{
	const struct al_cgroup_host *h;
	struct al_sandbox_opts o = {
	    .workspace = ws,
	    .argv = SH("(sleep 0.3; echo late > /work/late) & echo started"),
	    .timeout_ms = 10000,
	    .no_reap = _i,
	};
	struct al_run_record rec = {0};
	char late[PATH_MAX];
	int st, reaped = 0;

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	snprintf(late, sizeof(late), "%s/late", ws);
	unlink(late);
	if (!_i) {
		run_with(&o, &rec);
	} else {
		struct al_err e = {0};

		al_sandbox_default_ids(&o.host_uid, &o.host_gid);
		ck_assert_int_eq(al_sandbox_run(&o, &rec, &e), 0);
		if (h->version == 1)
			ck_assert_int_eq(groups_left(), 0);
		for (int i = 0; i < 400 && !reaped; i++)
			if (waitpid(-1, &st, WNOHANG) > 0)
				reaped = 1;
			else
				usleep(5000);
		ck_assert_msg(reaped, "the init did not exit");
		ck_assert_int_eq(groups_left(), 0);
		assert_no_children();
	}
	assert_ok(&rec);
	ck_assert_str_eq(rec.out, "started\n");
	usleep(600000);
	ck_assert_msg(access(late, F_OK) != 0, "what the command left outlived the run");
	al_sandbox_record_clear(&rec);
}
END_TEST

/* A group that cannot be joined (here: removed after its tasks file was opened) is
 * reported by path, and the child is told to stop. */
START_TEST(join_self_refused_names_the_group)
{
	const struct al_cgroup_host *h;
	struct al_cgroup_limits l = {.memory_bytes = 64 << 20, .pids_max = 8, .cpu_percent = 50};
	struct al_cgroup_run *r = NULL;
	char want[PATH_MAX + 16], msg[PATH_MAX + 16] = {0}, cpu[PATH_MAX];
	int p[2], st;
	pid_t pid;

	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	if (h->version != 1 || geteuid() != 0)
		return;
	ck_assert_int_eq(al_cgroup_run_create(h, &l, &r, NULL), 0);
	snprintf(cpu, sizeof(cpu), "%s", al_cgroup_run_path(r, AL_CG_CPU));
	ck_assert_int_eq(rmdir(cpu), 0);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork_joiner(r, p[1], 0);
	close(p[1]);
	ck_assert_int_gt(read(p[0], msg, sizeof(msg) - 1), 0);
	close(p[0]);
	snprintf(want, sizeof(want), "%d %s", -ENODEV, cpu);
	ck_assert_str_eq(msg, want);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	ck_assert_int_eq(al_cgroup_run_destroy(r, NULL), 0);
	ck_assert_int_eq(groups_left(), 0);
}
END_TEST

/* clone3 into a group: refused for what is not a v2 group (the caller then clones
 * plainly); a v2 group, even one without controllers, takes the child from its start. */
START_TEST(clone_into_group)
{
	char dir[64], path[128];
	_cleanup_free_ char *text = NULL;
	size_t len;
	int fd, st;
	pid_t pid;

	errno = 0;
	ck_assert_int_eq(al_cgroup_clone_into(-1, 0), -1);
	ck_assert_int_eq(errno, EBADF);
	fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(al_cgroup_clone_into(fd, 0), -1);
	close(fd);
	assert_no_children();
	snprintf(dir, sizeof(dir), "/sys/fs/cgroup/unified/al-check-%d", (int)getpid());
	if (geteuid() != 0 || mkdir(dir, 0755) < 0)
		return; /* no writable v2 hierarchy here */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	pid = al_cgroup_clone_into(fd, 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	close(fd);
	ck_assert_int_gt(pid, 0);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	ck_assert_int_eq(al_file_read(path, 1 << 16, &text, &len, NULL), 0);
	snprintf(path, sizeof(path), "\n0::/al-check-%d\n", (int)getpid());
	ck_assert_msg(strstr(text, path), "cgroup '%s'", text);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* A runner killed outright leaves its (empty) groups; the next runner removes them, and
 * only them. */
START_TEST(sweep_removes_dead_runners_groups)
{
	const struct al_cgroup_host *h;
	char dead[PATH_MAX + 64], live[PATH_MAX + 64];
	pid_t gone = fork();

	ck_assert_int_ge(gone, 0);
	if (gone == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(gone, NULL, 0), gone);
	ck_assert_int_eq(al_cgroup_host(&h, NULL), 0);
	if (h->version == 0 || geteuid() != 0)
		return;
	snprintf(dead, sizeof(dead), "%s/airlock-run-%d-7", h->base[AL_CG_PIDS], (int)gone);
	snprintf(live, sizeof(live), "%s/airlock-run-%d-9", h->base[AL_CG_PIDS], (int)getppid());
	ck_assert_int_eq(mkdir(dead, 0755), 0);
	ck_assert_int_eq(mkdir(live, 0755), 0);
	al_cgroup_sweep(h);
	ck_assert_int_eq(access(dead, F_OK), -1);
	ck_assert_int_eq(access(live, F_OK), 0);
	ck_assert_int_eq(rmdir(live), 0);
}
END_TEST

START_TEST(no_hierarchy_refused)
{
	struct al_cgroup_host none = {0};
	struct al_cgroup_limits l = {.memory_bytes = 1 << 30, .pids_max = 10, .cpu_percent = 100};
	struct al_cgroup_run *r = NULL;

	ck_assert_int_eq(al_cgroup_run_create(&none, &l, &r, NULL), -ENOTSUP);
	ck_assert_ptr_null(r);
	ck_assert_int_eq(al_cgroup_run_destroy(NULL, NULL), 0);
}
END_TEST

/* ---- the host ---- */

START_TEST(doctor_on_this_host)
{
	struct al_host_support h;
	int r;

	if (geteuid() != 0)
		return; /* v1 hierarchies are root's here */
	r = al_doctor_run(&h);
	ck_assert_msg(r == 0, "doctor: %d problems '%s'", r, h.problems);
	ck_assert_int_eq(h.user_namespaces, 1);
	ck_assert_int_eq(h.cgroup_version, 1);
	ck_assert_str_eq(h.cgroup_controllers, "memory pids cpu");
	ck_assert_int_eq(h.seccomp, 1);
	ck_assert_int_eq(h.seccomp_notify, 1);
	ck_assert_int_eq(h.pivot_root, 1);
	ck_assert_int_eq(h.sandbox_ran, 1);
	ck_assert_str_eq(h.problems, "");
	assert_no_children();
	ck_assert_int_eq(groups_left(), 0);
}
END_TEST

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
	static const char *const names[] = {"OK", "RE", "SG", "TO", "OOM", "DISK", "XX"};

	for (int s = AL_RUN_OK; s <= AL_RUN_XX; s++)
		ck_assert_str_eq(al_runrec_status_name((enum al_run_status)s), names[s]);
	ck_assert_str_eq(al_runrec_status_name((enum al_run_status)42), "??");
	al_sandbox_record_clear(NULL);
}
END_TEST

static const char *const profile_lines[] = {
    "namespaces user pid mount net ipc uts cgroup\n",
    "mount ro-bind /usr from /usr (the image's, when the run has one)\n",
    "mount disk /.disk tmpfs size=<disk_bytes, default 536870912> mode=0755 nosuid nodev; "
    "every write of the run counts against it\n",
    "mount workspace /work overlay lowerdir=<the run's layers, top first (at most 4: a setup "
    "layer)>:<workspace> upperdir,workdir in the disk (a setup run: in its kept upper "
    "directory) userxattr nosuid nodev\n",
    "mount workspace /work rw-bind from <workspace> when not layered\n",
    "mount workspace /work disk-dir work when no workspace\n",
    "mount disk-dir /tmp from the disk's tmp mode=1777 nosuid nodev\n",
    "mount disk-dir /airlock-report from the disk's report mode=0755 nosuid nodev\n",
    "mount disk-hide /.disk\n",
    "mount the run's binds (at most 16), ro or rw, nosuid nodev, at absolute paths outside "
    "/proc\n",
    "rlimit stack 8388608\n",
    "cgroup memory cap memory_bytes, swap 0\n",
    "cgroup defaults memory 1073741824 pids 256 cpu 100%\n",
    "cgroup none usable: the run is refused\n",
    "seccomp deny settimeofday errno=EPERM\n",
    "seccomp deny personality if arg0 not in personas (0 0xffffffff) errno=EPERM\n",
    "seccomp deny socket if arg0 not in socket_families (0x1 0x2 0xa) errno=EPERM\n",
    "seccomp deny socketpair if arg0 not in socket_families (0x1 0x2 0xa) errno=EPERM\n",
    "seccomp errno=EPERM denials are counted",
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
	const char *p = al_profile_text();
	const char *f = al_seccomp_profile();
	size_t lp = strlen(p), lf = strlen(f);

	ck_assert_msg(strstr(p, profile_lines[_i]), "profile lacks '%s'", profile_lines[_i]);
	ck_assert_ptr_eq(p, al_profile_text());
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
	TCase *l = tcase_create("limits");
	TCase *c = tcase_create("cgroup-detect");

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
	tcase_add_test(r, sandbox_user_named);
	tcase_add_test(r, workspace_none_is_tmpfs);
	suite_add_tcase(s, r);

	tcase_add_checked_fixture(l, ws_setup, ws_teardown);
	tcase_set_timeout(l, 60);
	tcase_add_test(l, memory_cap_is_oom);
	tcase_add_test(l, memory_cap_child_killed);
	tcase_add_test(l, memory_within_cap);
	tcase_add_test(l, pids_cap_stops_fork_bomb);
	tcase_add_test(l, cpu_quota);
	tcase_add_test(l, run_group_has_the_caps);
	tcase_add_test(l, no_group_left_behind);
	tcase_add_test(l, cgroup_refusal_fails_closed);
	tcase_add_test(l, netns_refusal_fails_closed);
	tcase_add_test(l, spares_taken_and_made_again);
	tcase_add_test(l, init_leaves_its_groups);
	tcase_add_loop_test(l, stragglers_die_before_the_status, 0, 2);
	tcase_add_test(l, unwritable_limits_stop_the_command);
	tcase_add_test(l, bad_limits);
	tcase_add_test(l, disk_bytes_cap);
	tcase_add_test(l, overlay_keeps_the_workspace);
	tcase_add_test(l, overlay_counts_against_the_disk);
	tcase_add_loop_test(l, image_is_the_system, 0, 2);
	tcase_add_test(l, layers_over_the_workspace);
	tcase_add_test(l, environment_refused);
	tcase_add_test(l, disk_full_is_disk);
	tcase_add_test(l, disk_counts_against_memory);
	tcase_add_loop_test(l, report_copied_out, 0, (int)AL_ARRAY_SIZE(report_cases));
	tcase_add_test(l, binds_ro_and_rw);
	tcase_add_loop_test(l, binds_refused, 0, (int)AL_ARRAY_SIZE(bad_binds));
	tcase_add_test(l, too_many_binds);
	tcase_add_test(l, denied_calls_counted);
	tcase_add_test(l, nothing_denied_nothing_counted);
	tcase_add_test(l, denied_calls_overflow);
	tcase_add_test(l, doctor_on_this_host);
	suite_add_tcase(s, l);

	tcase_add_test(c, detect_v2_root);
	tcase_add_test(c, detect_v2_supervisor_leaf);
	tcase_add_test(c, detect_v2_moves_alone);
	tcase_add_test(c, detect_v2_busy_group);
	tcase_add_test(c, detect_missing_controllers);
	tcase_add_test(c, detect_v1);
	tcase_add_test(c, detect_v1_missing_pids);
	tcase_add_test(c, no_hierarchy_refused);
	tcase_add_test(c, destroy_kills_leftovers);
	tcase_add_test(c, join_self_moves_the_caller);
	tcase_add_test(c, join_self_refused_names_the_group);
	tcase_add_test(c, clone_into_group);
	tcase_add_test(c, sweep_removes_dead_runners_groups);
	suite_add_tcase(s, c);

	tcase_add_checked_fixture(p, ws_setup, ws_teardown);
	tcase_set_timeout(p, 60);
	tcase_add_loop_test(p, probe_blocked_inside, 0, (int)AL_ARRAY_SIZE(probes));
	tcase_add_loop_test(p, probe_allowed_outside, 0, (int)AL_ARRAY_SIZE(probes));
	suite_add_tcase(s, p);

	tcase_add_loop_test(f, seccomp_denies, 0, (int)AL_ARRAY_SIZE(filtered));
	tcase_add_loop_test(f, seccomp_allows, 0, (int)AL_ARRAY_SIZE(allowed));
	tcase_add_loop_test(f, seccomp_counted_variant, 0, 2);
	tcase_add_loop_test(f, seccomp_programs_are_libseccomps, AL_SECCOMP_PLAIN,
			    AL_SECCOMP_COUNTED + 1);
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
