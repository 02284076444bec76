/* The sandbox's mount plan and the init's building of the new root from it: one table
 * of operations (al_mounts_plan), applied in order by one loop here and spelled out by
 * profile.c, so the mounts and the profile digested into every grant cannot drift apart.
 * Everything here runs in the sandbox init between clone and exec: no allocation. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/macros.h"
#include "runner/sandbox-int.h"

static const char *const op_names[] = {
    [AL_MOUNT_RO_BIND] = "ro-bind",
    [AL_MOUNT_DEV_BIND] = "dev-bind",
    [AL_MOUNT_HOST_LINK] = "host-link",
    [AL_MOUNT_DISK] = "disk",
    [AL_MOUNT_WORKSPACE] = "workspace",
    [AL_MOUNT_DISK_DIR] = "disk-dir",
    [AL_MOUNT_DISK_HIDE] = "disk-hide",
    [AL_MOUNT_TMPFS] = "tmpfs",
    [AL_MOUNT_PROC] = "proc",
    [AL_MOUNT_SYMLINK] = "symlink",
    [AL_MOUNT_FILE] = "file",
    [AL_MOUNT_BINDS] = "binds",
    [AL_MOUNT_REMOUNT_RO] = "remount-ro",
};

const char *
al_mounts_op_name(enum al_mount_op op)
{
	return op_names[op];
}

static const char passwd_text[] = "root:x:0:0:sandbox:/tmp:/bin/sh\n"
				  "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char group_text[] = "root:x:0:\nnogroup:x:65534:\n";

const struct al_mount_step al_mounts_plan[] = {
    {AL_MOUNT_RO_BIND, "/usr", "/usr", AL_MOUNT_SYSTEM},
    {AL_MOUNT_HOST_LINK, "/bin", "/bin", AL_MOUNT_OPTIONAL | AL_MOUNT_SYSTEM},
    {AL_MOUNT_HOST_LINK, "/sbin", "/sbin", AL_MOUNT_OPTIONAL | AL_MOUNT_SYSTEM},
    {AL_MOUNT_HOST_LINK, "/lib", "/lib", AL_MOUNT_OPTIONAL | AL_MOUNT_SYSTEM},
    {AL_MOUNT_HOST_LINK, "/lib32", "/lib32", AL_MOUNT_OPTIONAL | AL_MOUNT_SYSTEM},
    {AL_MOUNT_HOST_LINK, "/lib64", "/lib64", AL_MOUNT_OPTIONAL | AL_MOUNT_SYSTEM},
    {AL_MOUNT_HOST_LINK, "/libx32", "/libx32", AL_MOUNT_OPTIONAL | AL_MOUNT_SYSTEM},
    {AL_MOUNT_FILE, passwd_text, "/etc/passwd", 0},
    {AL_MOUNT_FILE, group_text, "/etc/group", 0},
    {AL_MOUNT_RO_BIND, "/etc/ld.so.cache", "/etc/ld.so.cache", AL_MOUNT_OPTIONAL | AL_MOUNT_SYSTEM},
    {AL_MOUNT_RO_BIND, "/etc/alternatives", "/etc/alternatives",
     AL_MOUNT_OPTIONAL | AL_MOUNT_SYSTEM},
    /* everything the run may write lives in its disk: one cap, gone with the namespace */
    {AL_MOUNT_DISK, "mode=0755", AL_SANDBOX_DISK, 0},
    {AL_MOUNT_WORKSPACE, NULL, "/work", 0},
    {AL_MOUNT_DISK_DIR, "tmp", "/tmp", AL_MOUNT_STICKY},
    {AL_MOUNT_DISK_DIR, "report", AL_SANDBOX_REPORT_DIR, 0},
    {AL_MOUNT_TMPFS, "size=64k,mode=0755", "/dev", 0},
    {AL_MOUNT_DEV_BIND, "/dev/null", "/dev/null", 0},
    {AL_MOUNT_DEV_BIND, "/dev/zero", "/dev/zero", 0},
    {AL_MOUNT_DEV_BIND, "/dev/full", "/dev/full", 0},
    {AL_MOUNT_DEV_BIND, "/dev/random", "/dev/random", 0},
    {AL_MOUNT_DEV_BIND, "/dev/urandom", "/dev/urandom", 0},
    {AL_MOUNT_SYMLINK, "/proc/self/fd", "/dev/fd", 0},
    {AL_MOUNT_SYMLINK, "/proc/self/fd/0", "/dev/stdin", 0},
    {AL_MOUNT_SYMLINK, "/proc/self/fd/1", "/dev/stdout", 0},
    {AL_MOUNT_SYMLINK, "/proc/self/fd/2", "/dev/stderr", 0},
    /* proc can only be mounted while the host's proc is still visible: before pivot */
    {AL_MOUNT_PROC, NULL, "/proc", 0},
    /* the first unmount: al_mounts_build_root stops before it (see netns.c) */
    {AL_MOUNT_DISK_HIDE, NULL, AL_SANDBOX_DISK, 0},
    /* the run's own binds may land below /dev */
    {AL_MOUNT_BINDS, NULL, NULL, 0},
    {AL_MOUNT_REMOUNT_RO, NULL, "/dev", 0},
};

const size_t al_mounts_plan_len = AL_ARRAY_SIZE(al_mounts_plan);

/* statvfs flags a bind remount must carry over: the kernel refuses to clear the ones it
 * locked when the mount namespace was copied into our user namespace. */
static const struct {
	unsigned long st, ms;
} kept_flags[] = {
    {ST_RDONLY, MS_RDONLY},	{ST_NOSUID, MS_NOSUID},	  {ST_NODEV, MS_NODEV},
    {ST_NOEXEC, MS_NOEXEC},	{ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME},
    {ST_RELATIME, MS_RELATIME},
};

static int
root_path(char *buf, size_t size, const char *dest)
{
	int n = snprintf(buf, size, "%s%s", AL_SANDBOX_NEWROOT, dest);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* mkdir -p of everything above path's last component, below the new root (which
 * exists: every path here is root_path's). */
static int
make_parents(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path), skip = strlen(AL_SANDBOX_NEWROOT);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	if (strncmp(path, AL_SANDBOX_NEWROOT, skip) != 0 || path[skip] != '/')
		skip = 0;
	memcpy(buf, path, len + 1);
	for (char *s = buf + skip + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

static int
make_mountpoint(const char *path, int is_dir)
{
	int fd;

	if (is_dir)
		return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

static unsigned long
flags_to_keep(const char *path)
{
	struct statvfs sv;
	unsigned long ms = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	for (size_t i = 0; i < AL_ARRAY_SIZE(kept_flags); i++)
		if (sv.f_flag & kept_flags[i].st)
			ms |= kept_flags[i].ms;
	return ms;
}

static int
remount(const char *path, unsigned long add)
{
	unsigned long fl = MS_REMOUNT | MS_BIND | add | flags_to_keep(path);

	return mount(NULL, path, NULL, fl, NULL) < 0 ? -errno : 0;
}

static int
bind_path(const char *src, const char *dest, unsigned long add, unsigned step_flags)
{
	struct stat st;
	int r;

	if (stat(src, &st) < 0)
		return errno == ENOENT && (step_flags & AL_MOUNT_OPTIONAL) ? 0 : -errno;
	r = make_mountpoint(dest, S_ISDIR(st.st_mode));
	if (r < 0)
		return r;
	if (mount(src, dest, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -errno;
	return remount(dest, add);
}

/* src: the step's source on the host, or in the image. */
static int
host_link(const struct al_mount_step *s, const char *src, const char *dest)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t n;

	if (lstat(src, &st) < 0)
		return errno == ENOENT && (s->flags & AL_MOUNT_OPTIONAL) ? 0 : -errno;
	if (!S_ISLNK(st.st_mode))
		return bind_path(src, dest, MS_RDONLY | MS_NOSUID | MS_NODEV, s->flags);
	n = readlink(src, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	return symlink(target, dest) < 0 ? -errno : 0;
}

static int
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	size_t len = strlen(text);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	close(fd);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static int
mount_fs(const char *type, const char *dest, unsigned long flags, const char *data)
{
	if (mkdir(dest, 0755) < 0 && errno != EEXIST)
		return -errno;
	return mount(type, dest, type, flags, data) < 0 ? -errno : 0;
}

/* NEWROOT/.disk/name, made with mode. */
static int
disk_path(char *buf, size_t size, const char *name, mode_t mode)
{
	int n = snprintf(buf, size, "%s%s/%s", AL_SANDBOX_NEWROOT, AL_SANDBOX_DISK, name);

	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	/* the umask must not take the sticky /tmp's bits */
	return chmod(buf, mode) < 0 ? -errno : 0;
}

static int
disk_dir(const char *name, const char *dest, unsigned step_flags)
{
	char src[PATH_MAX];
	int r = disk_path(src, sizeof(src), name, step_flags & AL_MOUNT_STICKY ? 01777 : 0755);

	return r < 0 ? r : bind_path(src, dest, MS_NOSUID | MS_NODEV, 0);
}

static int
mount_disk(const struct al_child_ctx *c, const struct al_mount_step *s, const char *dest)
{
	char opts[128];
	int n = snprintf(opts, sizeof(opts), "%s,%s", c->disk_opts, s->src);

	if (n < 0 || (size_t)n >= sizeof(opts))
		return -EINVAL;
	return mount_fs("tmpfs", dest, MS_NOSUID | MS_NODEV, opts);
}

static int
hide_disk(const char *dest)
{
	if (umount2(dest, MNT_DETACH) < 0)
		return -errno;
	return rmdir(dest) < 0 ? -errno : 0;
}

/* Where the overlay's changes go: the disk, or the kept upper directory's "upper" and
 * "work" (made here, as the sandbox's root, so that they are the sandbox user's). */
static int
overlay_upper(const struct al_child_fds *fds, char *upper, char *work, size_t size)
{
	int r;

	if (fds->upper < 0) {
		r = disk_path(upper, size, "upper", 0755);
		return r < 0 ? r : disk_path(work, size, "overlay-work", 0755);
	}
	if ((mkdirat(fds->upper, "upper", 0755) < 0 && errno != EEXIST) ||
	    (mkdirat(fds->upper, "work", 0700) < 0 && errno != EEXIST))
		return -errno;
	snprintf(upper, size, "/proc/self/fd/%d/upper", fds->upper);
	snprintf(work, size, "/proc/self/fd/%d/work", fds->upper);
	return 0;
}

/* The workspace as the lowest layer of an overlay, under the run's layers (top first), its
 * changes in the disk or the kept upper. userxattr: in a user namespace the overlay keeps
 * its own marks in user.* attributes. */
static int
overlay_workspace(const struct al_child_ctx *c, const struct al_child_fds *fds, const char *dest)
{
	char upper[PATH_MAX], work[PATH_MAX], opts[3 * PATH_MAX];
	size_t len = 0;
	int r = overlay_upper(fds, upper, work, sizeof(upper));

	if (r < 0)
		return r;
	al_fixed_printf(opts, sizeof(opts), &len, "lowerdir=");
	for (size_t i = 0; i < c->n_layers; i++)
		al_fixed_printf(opts, sizeof(opts), &len, "/proc/self/fd/%d:", fds->layers[i]);
	al_fixed_printf(opts, sizeof(opts), &len,
			"/proc/self/fd/%d,upperdir=%s,workdir=%s,userxattr", fds->workspace, upper,
			work);
	if (mkdir(dest, 0755) < 0 && errno != EEXIST)
		return -errno;
	return mount("overlay", dest, "overlay", MS_NOSUID | MS_NODEV, opts) < 0 ? -errno : 0;
}

static int
workspace(const struct al_child_ctx *c, const struct al_child_fds *fds, const char *dest)
{
	char src[64];

	if (fds->workspace < 0) /* none given: an empty one of its own */
		return disk_dir("work", dest, 0);
	if (c->workspace_overlay)
		return overlay_workspace(c, fds, dest);
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fds->workspace);
	return bind_path(src, dest, MS_NOSUID | MS_NODEV, 0);
}

/* One of the run's extra binds; its source was opened as fd like the workspace. */
static int
apply_bind(const struct al_bind *b, int fd)
{
	char dest[PATH_MAX], src[64];
	int r = root_path(dest, sizeof(dest), b->dst ? b->dst : b->src);

	if (r == 0)
		r = make_parents(dest);
	if (r < 0)
		return r;
	snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
	return bind_path(src, dest, MS_NOSUID | MS_NODEV | (b->writable ? 0 : MS_RDONLY), 0);
}

static void
apply_binds(const struct al_child_ctx *c, const int *bind_fds)
{
	for (size_t i = 0; i < c->n_binds; i++) {
		const struct al_bind *b = &c->binds[i];
		int r = apply_bind(b, bind_fds[i]);

		if (r < 0)
			al_child_fail(c->report_fd, r, "bind %s", b->dst ? b->dst : b->src);
		close(bind_fds[i]);
	}
}

/* An OS path in the image, resolved as if the image were the root: its links, absolute
 * or with "..", name the image's paths, never the host's. nofollow: a link at the end is
 * itself opened. */
static int
image_open(const struct al_child_fds *fds, const char *path, int nofollow)
{
	struct open_how how = {
	    .flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0),
	    .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, fds->image, path + 1, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* An OS step of a run with an image: the image's path bound (a directory or file), or
 * its link made again inside (usrmerge's /bin -> usr/bin). */
static int
image_step(const struct al_mount_step *s, const struct al_child_fds *fds, const char *dest)
{
	char src[64], target[PATH_MAX];
	int fd = image_open(fds, s->src, s->op == AL_MOUNT_HOST_LINK), r;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return fd == -ENOENT && (s->flags & AL_MOUNT_OPTIONAL) ? 0 : fd;
	if (fstatat(fd, "", &st, AT_EMPTY_PATH) < 0) {
		r = -errno;
	} else if (S_ISLNK(st.st_mode)) {
		n = readlinkat(fd, "", target, sizeof(target) - 1);
		if (n >= 0)
			target[n] = '\0';
		r = n < 0 ? -errno : symlink(target, dest) < 0 ? -errno : 0;
	} else {
		snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
		r = bind_path(src, dest, MS_RDONLY | MS_NOSUID | MS_NODEV, s->flags);
	}
	close(fd);
	return r;
}
/* -errno when a step fails; the run's binds report their own failure, naming the bind. */
static int
apply_step(const struct al_mount_step *s, const struct al_child_ctx *c,
	   const struct al_child_fds *fds)
{
	char dest[PATH_MAX];
	const char *src = s->src;
	int r;

	if (s->op == AL_MOUNT_BINDS) {
		apply_binds(c, fds->binds);
		return 0;
	}
	r = root_path(dest, sizeof(dest), s->dest);
	if (r == 0)
		r = make_parents(dest);
	if (r < 0)
		return r;
	if ((s->flags & AL_MOUNT_SYSTEM) && fds->image >= 0)
		return image_step(s, fds, dest);
	switch (s->op) {
	case AL_MOUNT_RO_BIND:
		return bind_path(src, dest, MS_RDONLY | MS_NOSUID | MS_NODEV, s->flags);
	case AL_MOUNT_DEV_BIND:
		return bind_path(src, dest, MS_NOSUID | MS_NOEXEC, s->flags);
	case AL_MOUNT_HOST_LINK:
		return host_link(s, src, dest);
	case AL_MOUNT_DISK:
		return mount_disk(c, s, dest);
	case AL_MOUNT_WORKSPACE:
		return workspace(c, fds, dest);
	case AL_MOUNT_DISK_DIR:
		return disk_dir(s->src, dest, s->flags);
	case AL_MOUNT_DISK_HIDE:
		return hide_disk(dest);
	case AL_MOUNT_TMPFS:
		return mount_fs("tmpfs", dest, MS_NOSUID | MS_NODEV, s->src);
	case AL_MOUNT_PROC:
		return mount_fs("proc", dest, MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	case AL_MOUNT_SYMLINK:
		return symlink(s->src, dest) < 0 ? -errno : 0;
	case AL_MOUNT_FILE:
		return write_file(dest, s->src);
	case AL_MOUNT_REMOUNT_RO:
		return remount(dest, MS_RDONLY);
	case AL_MOUNT_BINDS:
		break;
	}
	return -EINVAL;
}

static int
enter_root(void)
{
	if (chdir(AL_SANDBOX_NEWROOT) < 0 || mkdir(AL_SANDBOX_OLDROOT, 0700) < 0)
		return -errno;
	if (syscall(SYS_pivot_root, ".", AL_SANDBOX_OLDROOT) < 0 || chdir("/") < 0)
		return -errno;
	if (umount2("/" AL_SANDBOX_OLDROOT, MNT_DETACH) < 0 || rmdir("/" AL_SANDBOX_OLDROOT) < 0)
		return -errno;
	return 0;
}

/* The one loop over the plan, from step `from` up to the first unmount (unmounts: 0) or
 * to the end (1); the index it stopped at. */
static size_t
apply_plan(const struct al_child_ctx *c, const struct al_child_fds *fds, size_t from, int unmounts)
{
	size_t i;

	for (i = from; i < al_mounts_plan_len; i++) {
		const struct al_mount_step *s = &al_mounts_plan[i];
		int r;

		if (!unmounts && s->op == AL_MOUNT_DISK_HIDE)
			break;
		r = apply_step(s, c, fds);
		if (r < 0)
			al_child_fail(c->report_fd, r, "%s %s", op_names[s->op], s->dest);
	}
	return i;
}

static void
close_sources(const struct al_child_ctx *c, const struct al_child_fds *fds)
{
	int all[] = {fds->workspace, fds->image, fds->upper};

	for (size_t i = 0; i < AL_ARRAY_SIZE(all); i++)
		if (all[i] >= 0)
			close(all[i]);
	for (size_t i = 0; i < c->n_layers; i++)
		close(fds->layers[i]);
}

static size_t unmount_step; /* where al_mounts_build_root stopped */

/* fds are the workspace, the binds' sources and the environment's directories, opened in
 * our own mount namespace (a bind source must belong to it) before the new root hides the
 * host's /tmp; see open_sources in child.c. */
void
al_mounts_build_root(const struct al_child_ctx *c, const struct al_child_fds *fds)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
		al_child_fail(c->report_fd, -errno, "make / rslave");
	if (mount("tmpfs", AL_SANDBOX_NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV,
		  AL_SANDBOX_NEWROOT_OPTS) < 0)
		al_child_fail(c->report_fd, -errno, "mount root tmpfs");
	unmount_step = apply_plan(c, fds, 0, 0);
}

void
al_mounts_enter_root(const struct al_child_ctx *c, const struct al_child_fds *fds)
{
	int r;

	apply_plan(c, fds, unmount_step, 1);
	close_sources(c, fds);
	r = enter_root();
	if (r < 0)
		al_child_fail(c->report_fd, r, "pivot_root");
	r = remount("/", MS_RDONLY);
	if (r < 0)
		al_child_fail(c->report_fd, r, "remount / read-only");
}
