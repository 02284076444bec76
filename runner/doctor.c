/* The doctor: what this host can do for the sandbox (user namespaces, pivot_root,
 * cgroups, seccomp and its user notification, one real run), and what to change where
 * something is missing. `airlock doctor` prints it. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/cgroup.h"
#include "runner/confine.h"
#include "runner/sandbox-int.h"

static void __attribute__((format(printf, 3, 4)))
problem(struct al_host_support *h, size_t *len, const char *fmt, ...)
{
	size_t room = sizeof(h->problems) - *len;
	va_list ap;
	int n;

	if (room <= 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(h->problems + *len, room, fmt, ap);
	va_end(ap);
	*len += n < 0 ? 0 : (size_t)n < room ? (size_t)n : room - 1;
}

static long
read_sysctl(const char *path)
{
	char buf[32] = "";
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

enum { PROBE_OK, PROBE_UNMAPPED = 2, PROBE_MOUNT, PROBE_PIVOT };

/* In a user and mount namespace of its own, once mapped: a tmpfs root entered with
 * pivot_root, as the sandbox does. */
static _Noreturn void
probe_child(int sync_fd)
{
	char byte;

	if (read(sync_fd, &byte, 1) != 1)
		_exit(1);
	if (syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0)
		_exit(PROBE_UNMAPPED);
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0 ||
	    mount("tmpfs", AL_SANDBOX_NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV,
		  AL_SANDBOX_NEWROOT_OPTS) < 0)
		_exit(PROBE_MOUNT);
	if (chdir(AL_SANDBOX_NEWROOT) < 0 || mkdir(AL_SANDBOX_OLDROOT, 0700) < 0 ||
	    syscall(SYS_pivot_root, ".", AL_SANDBOX_OLDROOT) < 0)
		_exit(PROBE_PIVOT);
	_exit(PROBE_OK);
}

static void
doctor_namespaces(struct al_host_support *h, size_t *len)
{
	uid_t uid;
	gid_t gid;
	int p[2], st = 0;
	struct al_err e = {0};
	pid_t pid;

	if (read_sysctl("/proc/sys/user/max_user_namespaces") == 0)
		problem(h, len,
			"user namespaces: user.max_user_namespaces is 0; set it (sysctl "
			"-w user.max_user_namespaces=15000)\n");
	if (geteuid() != 0 && read_sysctl("/proc/sys/kernel/unprivileged_userns_clone") == 0)
		problem(h, len,
			"user namespaces: unprivileged ones are off; run airlock as root "
			"or sysctl -w kernel.unprivileged_userns_clone=1\n");
	al_sandbox_default_ids(&uid, &gid);
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = al_sandbox_raw_clone(CLONE_NEWUSER | CLONE_NEWNS);
	if (pid == 0)
		probe_child(p[0]);
	close(p[0]);
	if (pid > 0 && al_sandbox_write_id_maps(pid, uid, gid, &e) == 0 && write(p[1], "x", 1) == 1)
		h->user_namespaces = 1;
	close(p[1]);
	if (pid > 0)
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	if (pid < 0 || !h->user_namespaces ||
	    (WIFEXITED(st) && WEXITSTATUS(st) == PROBE_UNMAPPED)) {
		h->user_namespaces = 0;
		problem(h, len,
			"user namespaces: cannot make one with an id map (%s); check "
			"user.max_user_namespaces, and AppArmor's or SELinux's userns rules\n",
			pid < 0	   ? strerror(errno)
			: e.msg[0] ? e.msg
				   : "the id map did not apply");
		return;
	}
	h->pivot_root = WIFEXITED(st) && WEXITSTATUS(st) == PROBE_OK;
	if (!h->pivot_root)
		problem(h, len,
			"pivot_root: %s failed in a user and mount namespace; a container "
			"runtime's seccomp or LSM profile may forbid it\n",
			WIFEXITED(st) && WEXITSTATUS(st) == PROBE_MOUNT ? "mounting a tmpfs"
									: "pivot_root");
}

static void
doctor_cgroups(struct al_host_support *h, size_t *len)
{
	const struct al_cgroup_host *host;
	struct al_err e = {0};

	if (al_cgroup_host(&host, &e) < 0) {
		problem(h, len, "%s\n", al_err_msg(&e));
		return;
	}
	h->cgroup_version = host->version;
	snprintf(h->cgroup_controllers, sizeof(h->cgroup_controllers), "%s", host->controllers);
	if (!host->version)
		problem(h, len, "%s", host->problems);
}

static void
doctor_seccomp(struct al_host_support *h, size_t *len)
{
	char why[256] = "";

	al_seccomp_probe(&h->seccomp, &h->seccomp_notify, why, sizeof(why));
	if (!h->seccomp)
		problem(h, len, "seccomp: %s; the kernel needs CONFIG_SECCOMP_FILTER\n", why);
	else if (!h->seccomp_notify)
		problem(h, len,
			"seccomp: denied calls are not counted (%s); Linux 5.0 or later "
			"counts them (optional)\n",
			why);
}

/* In a user and mount namespace of its own: two lower layers, an upper and a work
 * directory on a tmpfs, mounted as the sandbox mounts a workspace. */
static int
write_file_text(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);

	return fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
}

static _Noreturn void
overlay_probe(void)
{
	static const char *const dirs[] = {"/tmp/l1", "/tmp/l2", "/tmp/u", "/tmp/w", "/tmp/m"};

	char map[64];
	uid_t uid = geteuid();
	gid_t gid = getegid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		_exit(2);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if (write_file_text("/proc/self/uid_map", map) < 0 ||
	    write_file_text("/proc/self/setgroups", "deny") < 0)
		_exit(2);
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if (write_file_text("/proc/self/gid_map", map) < 0 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", "/tmp", "tmpfs", 0, "size=64k") < 0)
		_exit(2);
	for (size_t i = 0; i < AL_ARRAY_SIZE(dirs); i++)
		if (mkdir(dirs[i], 0755) < 0)
			_exit(2);
	_exit(mount("overlay", "/tmp/m", "overlay", 0,
		    "lowerdir=/tmp/l1:/tmp/l2,upperdir=/tmp/u,workdir=/tmp/w,userxattr") < 0);
}

bool
al_overlay_supported(void)
{
	static int known = -1;
	const char *force = getenv("AIRLOCK_OVERLAY");
	int st = 0;
	pid_t pid;

	if (force && !strcmp(force, "off"))
		return false;
	if (known >= 0)
		return known;
	pid = fork();
	if (pid == 0)
		overlay_probe();
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	known = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
	return known;
}

/* /bin/true with every feature: caps, a bind, a small /tmp, the filter. */
static void
doctor_run(struct al_host_support *h, size_t *len)
{
	char ws[] = "/tmp/airlock-doctor-XXXXXX";
	const struct al_bind bind = {.src = "/usr", .dst = "/opt/airlock-doctor"};
	struct al_sandbox_opts o = {
	    .workspace = ws,
	    .argv = (char *const[]){"/bin/true", NULL},
	    .timeout_ms = 10000,
	    .memory_bytes = (size_t)256 << 20,
	    .pids_max = 64,
	    .cpu_percent = 100,
	    .disk_bytes = (size_t)16 << 20,
	    .workspace_overlay = al_overlay_supported(),
	    .binds = &bind,
	    .n_binds = 1,
	};
	struct al_run_record rec = {0};
	struct al_err e = {0};
	int r;

	if (!mkdtemp(ws)) {
		problem(h, len, "sandbox: cannot make a workspace in /tmp: %s\n", strerror(errno));
		return;
	}
	al_sandbox_default_ids(&o.host_uid, &o.host_gid);
	if (chown(ws, o.host_uid, o.host_gid) < 0) {
		problem(h, len, "sandbox: chown %s: %s\n", ws, strerror(errno));
		rmdir(ws);
		return;
	}
	r = al_sandbox_run(&o, &rec, &e);
	h->sandbox_ran = r == 0 && rec.status == AL_RUN_OK;
	if (r < 0)
		problem(h, len, "sandbox: /bin/true could not start: %s\n", al_err_msg(&e));
	else if (!h->sandbox_ran)
		problem(h, len, "sandbox: /bin/true ended %s %s\n",
			al_runrec_status_name(rec.status), rec.detail);
	al_sandbox_record_clear(&rec);
	al_rm_rf(ws);
}

/* The runner's confinement, tried whole in a child: its ids mapped (newuidmap and
 * /etc/subuid when not root), a secret covered that then cannot be read. */
static void
doctor_confine(struct al_host_support *h, size_t *len)
{
	char dir[] = "/tmp/airlock-doctor-XXXXXX", secret[64], job[64], msg[256] = "";
	int fds[2], st;
	pid_t pid;

	if (!mkdtemp(dir) || pipe2(fds, O_CLOEXEC) < 0) {
		problem(h, len, "runner: cannot try its confinement: %s\n", strerror(errno));
		return;
	}
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(job, sizeof(job), "%s/job", dir);
	if (mkdir(secret, 0700) < 0 || mkdir(job, 0700) < 0 || (pid = fork()) < 0) {
		problem(h, len, "runner: cannot try its confinement: %s\n", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		al_rm_rf(dir);
		return;
	}
	if (pid == 0) {
		const char *hide[] = {secret};
		struct al_confine c = {.hide = hide, .n_hide = 1, .job_dir = job};
		struct al_err e = {0};
		int r = al_confine_enter(&c, &e);

		if (r < 0 && write(fds[1], al_err_msg(&e), strlen(al_err_msg(&e))) < 0)
			_exit(2);
		_exit(r < 0);
	}
	close(fds[1]);
	if (read(fds[0], msg, sizeof(msg) - 1) < 0)
		msg[0] = '\0';
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	h->runner_confined = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	if (!h->runner_confined)
		problem(h, len, "runner: %s\n", msg[0] ? msg : "its confinement failed");
	al_rm_rf(dir);
}

int
al_doctor_run(struct al_host_support *ret)
{
	struct al_host_support h = {0};
	size_t len = 0;

	doctor_namespaces(&h, &len);
	doctor_cgroups(&h, &len);
	doctor_seccomp(&h, &len);
	h.overlay = al_overlay_supported();
	if (!h.overlay)
		problem(&h, &len,
			"overlay: no layered overlay in a user namespace (Linux 5.11 or later has "
			"it%s): each run is handed a copy of its tree instead, slower for large "
			"repositories (optional)\n",
			getenv("AIRLOCK_OVERLAY") ? "; AIRLOCK_OVERLAY=off is set" : "");
	doctor_run(&h, &len);
	doctor_confine(&h, &len);
	*ret = h;
	return h.user_namespaces && h.cgroup_version && h.seccomp && h.pivot_root &&
		       h.sandbox_ran && h.runner_confined
		   ? 0
		   : -ENOTSUP;
}
