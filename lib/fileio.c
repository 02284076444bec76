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

static int
rm_at(int at, const char *name)
{
	struct stat st;
	int r = 0;

	if (fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode)) {
		int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		DIR *d;
		struct dirent *de;

		if (fd < 0)
			return -errno;
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			return -errno;
		}
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			int q = rm_at(dirfd(d), de->d_name);
			if (q < 0 && r == 0)
				r = q;
		}
		closedir(d);
		if (unlinkat(at, name, AT_REMOVEDIR) < 0 && r == 0)
			r = -errno;
		return r;
	}
	if (unlinkat(at, name, 0) < 0)
		return -errno;
	return 0;
}

int
al_rm_rf(const char *path)
{
	return rm_at(AT_FDCWD, path);
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
