/* The runner's own confinement. The runner parses untrusted git objects and patches with
 * libgit2; before it reads one of them it enters a user and a mount namespace of its own:
 *
 *   - the user namespace maps the runner's own ids and the sandbox's (65534 as root; the
 *     first subordinate ids of /etc/subuid and /etc/subgid through newuidmap and
 *     newgidmap otherwise), written by a child that stayed outside;
 *   - in the mount namespace every secret the server named (the data directory with the
 *     signing key and the database, the configuration, the TLS key, token and webhook
 *     secret files) is covered: a directory by an empty read-only tmpfs, a file by
 *     /dev/null; the job directory (read-write) and the repository (read-only, its objects
 *     read-write, so no ref can move) are put back on top, cloned before the covering;
 *   - CAP_SYS_ADMIN is then dropped from every set, so the covers cannot be lifted here,
 *     and any namespace the runner could still make copies them locked;
 *   - and the result is checked: a cover that can be unmounted or a file that still reads
 *     fails the job.
 *
 * The server's /proc/PID (root, fd, mem) is closed to the runner although both run as one
 * user: the runner is in a user namespace the server is not in, without CAP_SYS_PTRACE
 * over it, and the server is not dumpable either. */
#include "runner/confine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"

#define SANDBOX_ROOT_ID 65534
#define COVER_OPTS "size=64k,mode=0755"
#define MAX_HIDE 64

static const char *const map_tools[][2] = {
    {"/usr/bin/newuidmap", "/bin/newuidmap"},
    {"/usr/bin/newgidmap", "/bin/newgidmap"},
};

/* The first range of FILE for NAME (or the uid in decimal) whose start is not OWN. */
static int
subid_first(const char *file, const char *name, unsigned long own, unsigned long *ret)
{
	FILE *f = fopen(file, "re");
	char line[256], own_text[24];
	int r = -ENOENT;

	if (!f)
		return -errno;
	snprintf(own_text, sizeof(own_text), "%lu", own);
	while (r == -ENOENT && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':'), *q;
		unsigned long start, count;

		if (!p)
			continue;
		*p++ = '\0';
		if (strcmp(line, name) && strcmp(line, own_text))
			continue;
		errno = 0;
		start = strtoul(p, &q, 10);
		if (errno || q == p || *q != ':')
			continue;
		p = q + 1;
		count = strtoul(p, &q, 10);
		if (errno || q == p || count == 0 || start == 0 || start == own ||
		    start > UINT_MAX - 1)
			continue;
		*ret = start;
		r = 0;
	}
	fclose(f);
	return r;
}

/* The name /etc/passwd gives uid, as newuidmap reads /etc/subuid by it; the decimal uid
 * when there is none (the files may name the uid too). Read directly: `airlock doctor`
 * runs this in a static binary, where NSS is not to be had. */
static void
user_name(uid_t uid, char *buf, size_t size)
{
	FILE *f = fopen("/etc/passwd", "re");
	char line[512];

	snprintf(buf, size, "%u", (unsigned)uid);
	while (f && fgets(line, sizeof(line), f)) {
		char *name = line, *p = strchr(line, ':'), *q;

		if (!p || !(p = strchr(p + 1, ':')))
			continue;
		if (strtoul(p + 1, &q, 10) != uid || *q != ':' || q == p + 1)
			continue;
		*strchr(line, ':') = '\0';
		if (strlen(name) < size)
			memcpy(buf, name, strlen(name) + 1);
		break;
	}
	if (f)
		fclose(f);
}

int
al_confine_ids(uid_t *ret_uid, gid_t *ret_gid, struct al_err *err)
{
	char name[256];
	unsigned long u, g;
	int r;

	if (geteuid() == 0) {
		*ret_uid = SANDBOX_ROOT_ID;
		*ret_gid = SANDBOX_ROOT_ID;
		return 0;
	}
	user_name(geteuid(), name, sizeof(name));
	r = subid_first("/etc/subuid", name, geteuid(), &u);
	if (r < 0)
		return al_err_set(err, r,
				  "/etc/subuid gives %s no subordinate ids, so the sandbox cannot "
				  "run as an id that owns nothing (deploy/user.sh)",
				  name);
	r = subid_first("/etc/subgid", name, getegid(), &g);
	if (r < 0)
		return al_err_set(err, r,
				  "/etc/subgid gives %s no subordinate ids (deploy/user.sh)", name);
	*ret_uid = (uid_t)u;
	*ret_gid = (gid_t)g;
	return 0;
}

static int
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int
run_tool(const char *const path[2], char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(path[0], argv);
		execv(path[1], argv);
		fprintf(stderr, "airlock runner: %s: %s (install the uidmap package)\n", path[0],
			strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* In the child that stayed outside: once the runner has its namespace, map in it the
 * runner's own ids and the sandbox's. Root writes the maps; anyone else has the
 * setuid tools check /etc/subuid and /etc/subgid. */
static int
map_ids(pid_t target, int ready, const struct al_confine *c)
{
	char t[16], u[16], g[16], su[16], sg[16], path[64], text[96];
	char x;

	if (read(ready, &x, 1) != 1)
		return 1;
	snprintf(t, sizeof(t), "%d", (int)target);
	snprintf(u, sizeof(u), "%u", (unsigned)geteuid());
	snprintf(g, sizeof(g), "%u", (unsigned)getegid());
	snprintf(su, sizeof(su), "%u", (unsigned)c->sandbox_uid);
	snprintf(sg, sizeof(sg), "%u", (unsigned)c->sandbox_gid);
	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "/proc/%s/uid_map", t);
		snprintf(text, sizeof(text), "%s %s 1\n%s %s 1\n", u, u, su, su);
		if (write_file(path, text) < 0)
			return 1;
		snprintf(path, sizeof(path), "/proc/%s/gid_map", t);
		snprintf(text, sizeof(text), "%s %s 1\n%s %s 1\n", g, g, sg, sg);
		return write_file(path, text) < 0;
	}
	char *uargv[] = {"newuidmap", t, u, u, "1", su, su, "1", NULL};
	char *gargv[] = {"newgidmap", t, g, g, "1", sg, sg, "1", NULL};

	return run_tool(map_tools[0], uargv) < 0 || run_tool(map_tools[1], gargv) < 0;
}

static int
enter_namespaces(const struct al_confine *c, struct al_err *err)
{
	int ready[2], st, r = 0;
	pid_t self = getpid(), pid;

	if (pipe2(ready, O_CLOEXEC) < 0)
		return al_err_set(err, -errno, "confine: pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(ready[0]);
		close(ready[1]);
		return al_err_set(err, r, "confine: fork: %s", strerror(-r));
	}
	if (pid == 0) {
		/* it dies with the runner, whatever the runner is doing */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != self)
			_exit(1);
		close(ready[1]);
		_exit(map_ids(self, ready[0], c));
	}
	close(ready[0]);
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0)
		r = al_err_set(err, -errno, "confine: unshare: %s", strerror(errno));
	else if (write(ready[1], "x", 1) != 1)
		r = al_err_set(err, -EIO, "confine: cannot reach the id mapper");
	close(ready[1]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return al_err_set(err, -errno, "confine: wait: %s", strerror(errno));
	if (r == 0 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		r = al_err_set(err, -EPERM,
			       "confine: the runner's ids could not be mapped (uid %u and %u; see "
			       "airlock doctor)",
			       (unsigned)geteuid(), (unsigned)c->sandbox_uid);
	return r;
}

struct keep {
	const char *path;
	int fd;
	int readonly;
};

static int
keep_clone(struct keep *k, struct al_err *err)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};

	k->fd = open_tree(AT_FDCWD, k->path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (k->fd < 0)
		return al_err_set(err, -errno, "confine: %s: %s", k->path, strerror(errno));
	if (k->readonly && mount_setattr(k->fd, "", AT_EMPTY_PATH, &a, sizeof(a)) < 0)
		return al_err_set(err, -errno, "confine: %s: read-only: %s", k->path,
				  strerror(errno));
	return 0;
}

/* Where a kept tree goes back: made while the covers are still writable. */
static int
keep_mountpoint(const struct keep *k, struct al_err *err)
{
	int r = al_mkdir_p(k->path, 0755);

	if (r < 0)
		return al_err_set(err, r, "confine: %s: %s", k->path, strerror(-r));
	return 0;
}

static int
keep_place(const struct keep *k, struct al_err *err)
{
	if (move_mount(k->fd, "", AT_FDCWD, k->path, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return al_err_set(err, -errno, "confine: %s: %s", k->path, strerror(errno));
	return 0;
}

/* Covers one secret; *covered is 0 for a path that does not exist. */
static int
cover(const char *path, int *covered, struct al_err *err)
{
	struct stat st;

	*covered = 0;
	if (lstat(path, &st) < 0)
		return errno == ENOENT
			   ? 0
			   : al_err_set(err, -errno, "confine: %s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (mount("airlock-cover", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  COVER_OPTS) < 0)
			return al_err_set(err, -errno, "confine: cover %s: %s", path,
					  strerror(errno));
	} else if (mount("/dev/null", path, NULL, MS_BIND, NULL) < 0) {
		return al_err_set(err, -errno, "confine: cover %s: %s", path, strerror(errno));
	}
	*covered = 1;
	return 0;
}

static int
seal(const char *path, struct al_err *err)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};

	if (mount_setattr(AT_FDCWD, path, 0, &a, sizeof(a)) < 0)
		return al_err_set(err, -errno, "confine: %s: read-only: %s", path, strerror(errno));
	return 0;
}

static int
drop_sys_admin(struct al_err *err)
{
	struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct d[2];
	const unsigned bit = 1u << (CAP_SYS_ADMIN % 32);
	const int i = CAP_SYS_ADMIN / 32;

	if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) < 0 || syscall(SYS_capget, &h, d) < 0)
		return al_err_set(err, -errno, "confine: capabilities: %s", strerror(errno));
	d[i].effective &= ~bit;
	d[i].permitted &= ~bit;
	d[i].inheritable &= ~bit;
	if (syscall(SYS_capset, &h, d) < 0 ||
	    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return al_err_set(err, -errno, "confine: capabilities: %s", strerror(errno));
	return 0;
}

/* What the runner could try against its covers, tried here: none may work. */
static int
check_cover(const char *path, struct al_err *err)
{
	struct stat st;
	char byte;
	int fd;

	if (stat(path, &st) < 0)
		return al_err_set(err, -errno, "confine: %s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode)) {
		if (umount2(path, MNT_DETACH) == 0 || errno != EPERM)
			return al_err_set(err, -EPERM, "confine: the cover of %s can be lifted",
					  path);
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0 && read(fd, &byte, 1) != 0) {
		close(fd);
		return al_err_set(err, -EPERM, "confine: %s can still be read", path);
	}
	if (fd >= 0)
		close(fd);
	return 0;
}

static int
resolve(const char *path, char **ret, struct al_err *err)
{
	*ret = realpath(path, NULL);
	if (*ret || errno == ENOENT)
		return 0;
	return al_err_set(err, -errno, "confine: %s: %s", path, strerror(errno));
}

static int
cover_all(char **hide, size_t n, int *covered, struct al_err *err)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < n; i++)
		if (hide[i])
			r = cover(hide[i], &covered[i], err);
	return r;
}

static int
confine_mounts(const struct al_confine *c, char **hide, struct keep *keeps, size_t n_keeps,
	       struct al_err *err)
{
	int covered[MAX_HIDE] = {0}, r;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return al_err_set(err, -errno, "confine: private mounts: %s", strerror(errno));
	for (size_t i = 0; i < n_keeps; i++)
		if ((r = keep_clone(&keeps[i], err)) < 0)
			return r;
	if ((r = cover_all(hide, c->n_hide, covered, err)) < 0)
		return r;
	for (size_t i = 0; i < n_keeps; i++)
		if ((r = keep_mountpoint(&keeps[i], err)) < 0)
			return r;
	/* sealed before the kept trees go on top, which would otherwise be what is sealed */
	for (size_t i = 0; i < c->n_hide; i++) {
		struct stat st;

		if (covered[i] && stat(hide[i], &st) == 0 && S_ISDIR(st.st_mode) &&
		    (r = seal(hide[i], err)) < 0)
			return r;
	}
	for (size_t i = 0; i < n_keeps; i++)
		if ((r = keep_place(&keeps[i], err)) < 0)
			return r;
	if ((r = drop_sys_admin(err)) < 0)
		return r;
	for (size_t i = 0; i < c->n_hide; i++)
		if (covered[i] && (r = check_cover(hide[i], err)) < 0)
			return r;
	return 0;
}

/* A bare repository's objects/, or a work tree's .git/objects/. */
static char *
objects_dir(const char *repo)
{
	static const char *const places[] = {"/objects", "/.git/objects"};
	struct stat st;
	char *p;

	for (size_t i = 0; i < AL_ARRAY_SIZE(places); i++) {
		if (asprintf(&p, "%s%s", repo, places[i]) < 0)
			return NULL;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			return p;
		free(p);
	}
	return NULL;
}

static void
free_all(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

/* The cache is put back over the covers: refused when it holds what they cover. */
static int
cache_resolve(const char *cache, char **hide, size_t n_hide, char **ret, struct al_err *err)
{
	size_t n;

	if (!(*ret = realpath(cache, NULL)))
		return al_err_set(err, -errno, "confine: %s: %s", cache, strerror(errno));
	n = strlen(*ret);
	for (size_t i = 0; i < n_hide; i++)
		if (hide[i] && (n == 1 || (!strncmp(*ret, hide[i], n) &&
					   (hide[i][n] == '\0' || hide[i][n] == '/'))))
			return al_err_set(err, -EPERM,
					  "confine: the cache %s holds %s, which must stay hidden",
					  *ret, hide[i]);
	return 0;
}

int
al_confine_enter(struct al_confine *c, struct al_err *err)
{
	char *hide[MAX_HIDE] = {0}, *job = NULL, *repo = NULL, *objects = NULL, *cache = NULL;
	struct keep keeps[4];
	size_t n_keeps = 0;
	int r;

	if (c->n_hide > MAX_HIDE)
		return al_err_set(err, -E2BIG, "confine: more than %d paths to hide", MAX_HIDE);
	r = al_confine_ids(&c->sandbox_uid, &c->sandbox_gid, err);
	for (size_t i = 0; r == 0 && i < c->n_hide; i++)
		r = resolve(c->hide[i], &hide[i], err);
	if (r == 0 && c->job_dir && !(job = realpath(c->job_dir, NULL)))
		r = al_err_set(err, -errno, "confine: %s: %s", c->job_dir, strerror(errno));
	if (r == 0 && c->repo && !(repo = realpath(c->repo, NULL)))
		r = al_err_set(err, -errno, "confine: %s: %s", c->repo, strerror(errno));
	if (r == 0 && repo && !c->repo_writable && !(objects = objects_dir(repo)))
		r = al_err_set(err, -ENOENT, "confine: %s has no objects directory", repo);
	if (r == 0 && c->cache)
		r = cache_resolve(c->cache, hide, c->n_hide, &cache, err);
	if (r == 0) {
		if (repo)
			keeps[n_keeps++] = (struct keep){repo, -1, !c->repo_writable};
		if (objects)
			keeps[n_keeps++] = (struct keep){objects, -1, 0};
		if (job)
			keeps[n_keeps++] = (struct keep){job, -1, 0};
		if (cache)
			keeps[n_keeps++] = (struct keep){cache, -1, 0};
		r = enter_namespaces(c, err);
	}
	if (r == 0)
		r = confine_mounts(c, hide, keeps, n_keeps, err);
	for (size_t i = 0; i < n_keeps; i++)
		if (keeps[i].fd >= 0)
			close(keeps[i].fd);
	free_all(hide, c->n_hide);
	free(job);
	free(cache);
	free(repo);
	free(objects);
	return r;
}

int
al_confine_remove(const char *dir, struct al_err *err)
{
	struct al_confine c = {0};
	int r = al_confine_ids(&c.sandbox_uid, &c.sandbox_gid, err);

	if (r == 0)
		r = enter_namespaces(&c, err);
	if (r == 0 && (r = al_rm_rf(dir)) < 0)
		al_err_set(err, r, "%s: cannot remove: %s", dir, strerror(-r));
	return r;
}
