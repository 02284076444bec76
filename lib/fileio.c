#include "fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "compat.h"
#include "macros.h"

int
al_fd_read_all(int fd, size_t cap, char **ret_data, size_t *ret_len)
{
	struct al_buf b;
	char chunk[65536];
	int r;

	al_buf_init(&b, cap);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			goto fail;
		}
		if (n == 0)
			break;
		r = al_buf_append(&b, chunk, (size_t)n);
		if (r < 0) {
			if (r == -E2BIG)
				r = -EFBIG;
			goto fail;
		}
	}
	*ret_data = al_buf_steal(&b, ret_len);
	return *ret_data ? 0 : -ENOMEM;
fail:
	al_buf_free(&b);
	return r;
}

int
al_file_read(const char *path, size_t cap, char **ret_data, size_t *ret_len, struct al_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int r;

	if (fd < 0)
		return al_err_set(err, -errno, "%s: %s", path, strerror(errno));
	r = al_fd_read_all(fd, cap, ret_data, ret_len);
	if (r == -EFBIG)
		return al_err_set(err, r, "%s: larger than %zu bytes", path, cap);
	if (r < 0)
		return al_err_set(err, r, "%s: %s", path, strerror(-r));
	return 0;
}

int
al_fd_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
al_file_write_atomic(const char *path, const void *p, size_t n, mode_t mode, struct al_err *err)
{
	_cleanup_free_ char *tmp = NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (asprintf(&tmp, "%s.tmp.%d", path, (int)getpid()) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return al_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
	r = al_fd_write_all(fd, p, n);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return al_err_set(err, r, "%s: %s", path, strerror(-r));
	}
	return 0;
}

int
al_mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(p, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Opens the directory name below at, making it searchable first when it is not (a tree a
 * sandboxed test chmod-ed); -errno. */
static int
open_dir_at(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == EACCES && fchmodat(at, name, 0700, 0) == 0)
		fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Gives the owner write access to the directory open as fd (a read-only one: an image's
 * /proc, a tree a test chmod-ed); 0 when it had it already or now has it. */
static int
make_writable(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((st.st_mode & 0700) == 0700)
		return 0;
	return fchmod(fd, (st.st_mode & 07777) | 0700) < 0 ? -errno : 0;
}

/* The same for the directory name below at, never through a symlink. */
static int
make_writable_at(int at, const char *name)
{
	int fd = open_dir_at(at, name), r;

	if (fd < 0)
		return fd;
	r = make_writable(fd);
	close(fd);
	return r;
}

/* Moves the directory name below from up into top under a name of its own (a directory
 * changing parents must be writable itself, for its ".."). */
static int
hoist(int from, const char *name, int top, unsigned long *serial)
{
	char fresh[48];
	int fixed = 0;

	for (;;) {
		snprintf(fresh, sizeof(fresh), ".airlock-rm-%lu", (*serial)++);
		if (al_renameat2(from, name, top, fresh, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno == EACCES && !fixed++ && make_writable(from) == 0 &&
		    make_writable_at(from, name) == 0)
			continue;
		if (errno != EEXIST)
			return -errno;
	}
}

/* Empties the directory name below top: its files go, its directories move up into top
 * (so no walk ever goes deeper than one level), then it goes. */
static int
flatten(int top, const char *name, unsigned long *serial)
{
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (unlinkat(top, name, AT_REMOVEDIR) == 0)
		return 0;
	if (errno != ENOTEMPTY && errno != EEXIST && errno != EACCES)
		return -errno;
	fd = open_dir_at(top, name);
	if (fd < 0)
		return fd;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while (r >= 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		if (errno == EACCES && make_writable(dirfd(d)) == 0 &&
		    unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		r = errno == EISDIR || errno == EPERM ? hoist(dirfd(d), de->d_name, top, serial)
						      : -errno;
	}
	closedir(d);
	if (r < 0)
		return r;
	return unlinkat(top, name, AT_REMOVEDIR) < 0 ? -errno : 0;
}

/* Empties the directory open as top (taken), pass after pass until a pass finds nothing: a
 * tree of any depth goes while two descriptors at most are open. */
static int
empty_dir(int top)
{
	unsigned long serial = 0;
	DIR *d = fdopendir(top);
	struct dirent *de;
	int r = 0, seen;

	if (!d) {
		r = -errno;
		close(top);
		return r;
	}
	do {
		seen = 0;
		rewinddir(d);
		while (r >= 0 && (de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			seen = 1;
			if (unlinkat(top, de->d_name, 0) == 0)
				continue;
			if (errno == EACCES && make_writable(top) == 0 &&
			    unlinkat(top, de->d_name, 0) == 0)
				continue;
			r = errno == EISDIR || errno == EPERM ? flatten(top, de->d_name, &serial)
							      : -errno;
		}
	} while (r >= 0 && seen);
	closedir(d);
	return r;
}

int
al_rm_rf(const char *path)
{
	struct stat st;
	int fd, r;

	if (fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? -errno : 0;
	fd = open_dir_at(AT_FDCWD, path);
	if (fd < 0)
		return fd;
	r = empty_dir(fd);
	if (r == 0 && rmdir(path) < 0)
		r = -errno;
	return r;
}

char *
al_path_join(const char *a, const char *b)
{
	char *out;
	size_t la = strlen(a);

	while (la > 0 && a[la - 1] == '/')
		la--; /* "/" joins as "" + "/" + b */
	while (*b == '/')
		b++;
	if (asprintf(&out, "%.*s/%s", (int)la, a, b) < 0)
		return NULL;
	return out;
}

/* One directory the walk went down through: where its listing stood, and who it is, so
 * that climbing back by ".." can tell it arrived where it came from. */
struct du_level {
	long pos;
	dev_t dev;
	ino_t ino;
};

/* Goes back up from d to the level below it; the old stream is closed either way. */
static int
du_up(DIR **d, const struct du_level *lv)
{
	int fd = openat(dirfd(*d), "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	closedir(*d);
	*d = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || st.st_dev != lv->dev || st.st_ino != lv->ino) {
		close(fd);
		return -ESTALE; /* moved while we were below it */
	}
	if (!(*d = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	seekdir(*d, lv->pos);
	return 0;
}

/* Goes down into name below d; -ENOENT and -EACCES leave d as it was (nothing counted). */
static int
du_down(DIR **d, const char *name, struct du_level **stack, size_t *n, size_t *alloc)
{
	int fd = openat(dirfd(*d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	DIR *sub;

	if (fd < 0)
		return errno == ENOENT || errno == EACCES || errno == ENOTDIR ? 0 : -errno;
	if (*n == *alloc) {
		size_t grown = *alloc ? *alloc * 2 : 64;
		struct du_level *p = realloc(*stack, grown * sizeof(**stack));

		if (!p) {
			close(fd);
			return -ENOMEM;
		}
		*stack = p;
		*alloc = grown;
	}
	if (fstat(dirfd(*d), &st) < 0 || !(sub = fdopendir(fd))) {
		close(fd);
		return -errno;
	}
	(*stack)[(*n)++] =
	    (struct du_level){.pos = telldir(*d), .dev = st.st_dev, .ino = st.st_ino};
	closedir(*d);
	*d = sub;
	return 0;
}

int
al_du(const char *path, unsigned long long *ret_bytes)
{
	_cleanup_free_ struct du_level *stack = NULL;
	size_t n = 0, alloc = 0;
	unsigned long long bytes = 0;
	struct dirent *de;
	struct stat st;
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r = 0;
	DIR *d;

	if (fd < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -ENOMEM;
	}
	while (r == 0) {
		if (!(de = readdir(d))) {
			if (n == 0)
				break;
			r = du_up(&d, &stack[--n]);
			continue;
		}
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* gone meanwhile */
		bytes += (unsigned long long)st.st_blocks * 512;
		if (S_ISDIR(st.st_mode))
			r = du_down(&d, de->d_name, &stack, &n, &alloc);
	}
	if (d)
		closedir(d);
	if (r == 0)
		*ret_bytes = bytes;
	return r;
}
