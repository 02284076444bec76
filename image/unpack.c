/* Layers applied with libarchive reading each blob through its digest check. Every name is
 * reached by walking from the root one component at a time with O_NOFOLLOW, so nothing is
 * ever written through a symlink, whatever earlier entries or layers put in the tree. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/pathset.h"
#include "image/unpack.h"
#include "lib/fileio.h"
#include "lib/macros.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
/* Set-uid and set-gid never survive; the sticky bit and permissions do. */
#define MODE_KEPT (07777 & ~(S_ISUID | S_ISGID))

struct unpack {
	const struct al_image *img;
	const struct al_unpack_caps *caps;
	int root_fd;
	struct al_unpack_stats st;
	struct al_pathset layer_paths; /* written by the current layer, with their parents */
	struct al_pathset dir_modes;   /* every directory's declared mode, the last one wins */
};

struct layer_src {
	struct al_image_blob *blob;
	unsigned char buf[65536];
};

/* ---- names ---- */

/* Copies name without "." and empty components; refuses absolute paths and "..". "" is
 * the root. */
static int
clean_path(const char *name, char *out, size_t size)
{
	size_t o = 0, n;
	const char *c;

	if (!name || name[0] == '/')
		return -EINVAL;
	for (c = name; *c; c += n) {
		while (*c == '/')
			c++;
		n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.')
			return -EINVAL;
		if (o + (o > 0) + n + 1 > size)
			return -ENAMETOOLONG;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* Marks path and every directory above it as this layer's. */
static int
mark_written(struct unpack *u, const char *path)
{
	char buf[PATH_MAX];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	do {
		if (al_pathset_put(&u->layer_paths, buf, 0) < 0)
			return -ENOMEM;
		slash = strrchr(buf, '/');
		if (slash)
			*slash = '\0';
	} while (slash);
	return 0;
}

/* ---- the tree ---- */

/* A directory no entry declared: 0755, also over the mode of one a whiteout removed. */
static int
make_parent(struct unpack *u, int dir_fd, const char *name, const char *path, size_t len)
{
	char prefix[PATH_MAX];

	if (mkdirat(dir_fd, name, 0755) < 0)
		return -1;
	snprintf(prefix, sizeof(prefix), "%.*s", (int)len, path);
	if (al_pathset_put(&u->dir_modes, prefix, 0755) < 0) {
		errno = ENOMEM;
		return -1;
	}
	return 0;
}

/* Opens the directory that holds path, walking from the root without following a
 * symlink; missing directories are made (mode 0755) when create is set. *ret_base points
 * into path at its last component. */
static int
open_parent(struct unpack *u, const char *path, bool create, int *ret_fd, const char **ret_base,
	    struct al_err *err)
{
	_cleanup_close_ int cur = openat(u->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char comp[NAME_MAX + 1];
	const char *c = path, *slash;
	struct stat st;
	int next;

	while (cur >= 0 && (slash = strchr(c, '/'))) {
		if ((size_t)(slash - c) > NAME_MAX)
			return al_err_set(err, -ENAMETOOLONG, "a component is too long");
		memcpy(comp, c, (size_t)(slash - c));
		comp[slash - c] = '\0';
		next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (make_parent(u, cur, comp, path, (size_t)(slash - path)) < 0)
				return al_err_set(err, -errno, "making \"%.*s\": %s",
						  (int)(slash - path), path, strerror(errno));
			next = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (next < 0 && errno == ENOENT)
			return -ENOENT; /* the caller says what was missing */
		if (next < 0 && fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0)
			return al_err_set(err, -ELOOP,
					  "\"%.*s\" is a %s: nothing is written through it",
					  (int)(slash - path), path,
					  S_ISLNK(st.st_mode) ? "symlink" : "non-directory");
		if (next < 0)
			return al_err_set(err, -errno, "\"%.*s\": %s", (int)(slash - path), path,
					  strerror(errno));
		close(cur);
		cur = next;
		c = slash + 1;
	}
	if (cur < 0)
		return al_err_set(err, -errno, "the root: %s", strerror(errno));
	*ret_fd = steal_fd(&cur);
	*ret_base = c;
	return 0;
}

/* Removes name under dir_fd, a whole directory tree without following links. */
static int
remove_at(int dir_fd, const char *name)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dir_fd, name, 0) < 0 ? -errno : 0;
	fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = remove_at(dirfd(d), de->d_name);
	}
	closedir(d);
	if (r == 0 && unlinkat(dir_fd, name, AT_REMOVEDIR) < 0)
		r = -errno;
	return r;
}

/* Makes room for a new entry: whatever is at name goes, except a directory when the new
 * entry is one too (its contents stay, as a layer's directory entry merges). */
static int
clear_slot(int dir_fd, const char *name, bool keep_dir, bool *ret_is_dir)
{
	struct stat st;

	*ret_is_dir = false;
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISDIR(st.st_mode) && keep_dir) {
		*ret_is_dir = true;
		return 0;
	}
	return remove_at(dir_fd, name);
}

/* Removes, under the directory dir_fd (the tree's dir_path), everything no entry of this
 * layer wrote: an opaque directory keeps only what its own layer put there. */
static int
remove_lower(struct unpack *u, int dir_fd, const char *dir_path)
{
	char child[PATH_MAX];
	struct dirent *de;
	struct stat st;
	int fd = dup(dir_fd), sub, r = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	rewinddir(d);
	while (r == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(child, sizeof(child), "%s%s%s", dir_path, *dir_path ? "/" : "",
			 de->d_name);
		if (!al_pathset_get(&u->layer_paths, child, NULL)) {
			r = remove_at(dir_fd, de->d_name);
			continue;
		}
		if (fstatat(dir_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		sub = openat(dir_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		r = sub < 0 ? -errno : remove_lower(u, sub, child);
		if (sub >= 0)
			close(sub);
	}
	closedir(d);
	return r;
}

/* ---- entries ---- */

static int
whiteout(struct unpack *u, int dir_fd, const char *path, const char *base, struct al_err *err)
{
	char target[PATH_MAX];
	size_t dir_len = (size_t)(base - path);
	const char *name = base + strlen(WH_PREFIX);
	int r;

	u->st.whiteouts++;
	/* dir_len counts the slash before base; "" is the root. */
	snprintf(target, sizeof(target), "%.*s", dir_len ? (int)dir_len - 1 : 0, path);
	if (strcmp(base, WH_OPAQUE) == 0)
		return remove_lower(u, dir_fd, target);
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return al_err_set(err, -EINVAL, "a whiteout names no file");
	snprintf(target + strlen(target), sizeof(target) - strlen(target), "%s%s",
		 *target ? "/" : "", name);
	/* A whiteout hides what lower layers hold, never its own layer's files. */
	if (al_pathset_get(&u->layer_paths, target, NULL))
		return 0;
	r = remove_at(dir_fd, name);
	return r < 0 ? al_err_set(err, r, "removing \"%s\": %s", target, strerror(-r)) : 0;
}

static int
write_file(struct unpack *u, struct archive *a, struct archive_entry *e, int dir_fd,
	   const char *base, struct al_err *err)
{
	_cleanup_close_ int fd = -1;
	const void *buf;
	size_t size;
	la_int64_t off;
	bool is_dir;
	int r;

	r = clear_slot(dir_fd, base, false, &is_dir);
	if (r < 0)
		return al_err_set(err, r, "replacing: %s", strerror(-r));
	fd = openat(dir_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return al_err_set(err, -errno, "creating: %s", strerror(errno));
	while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		u->st.bytes += size;
		if (u->st.bytes > u->caps->bytes)
			return al_err_set(err, -EFBIG, "the image is over %llu bytes of files",
					  (unsigned long long)u->caps->bytes);
		if (lseek(fd, off, SEEK_SET) < 0 || al_fd_write_all(fd, buf, size) < 0)
			return al_err_set(err, -errno, "writing: %s", strerror(errno));
	}
	if (r != ARCHIVE_EOF)
		return al_err_set(err, -EIO, "reading: %s", archive_error_string(a));
	if (ftruncate(fd, archive_entry_size(e)) < 0 ||
	    fchmod(fd, archive_entry_perm(e) & MODE_KEPT) < 0)
		return al_err_set(err, -errno, "finishing: %s", strerror(errno));
	return 0;
}

/* A directory stays writable by its owner while layers apply; modes without that are
 * set once every layer is in (set_dir_modes). */
static int
make_dir(struct unpack *u, struct archive_entry *e, int dir_fd, const char *path, const char *base,
	 struct al_err *err)
{
	mode_t mode = archive_entry_perm(e) & MODE_KEPT;
	_cleanup_close_ int fd = -1;
	bool is_dir;
	int r = clear_slot(dir_fd, base, true, &is_dir);

	if (r < 0)
		return al_err_set(err, r, "replacing: %s", strerror(-r));
	if (!is_dir && mkdirat(dir_fd, base, 0700) < 0)
		return al_err_set(err, -errno, "creating: %s", strerror(errno));
	fd = openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, mode | S_IRWXU) < 0)
		return al_err_set(err, -errno, "creating: %s", strerror(errno));
	if (al_pathset_put(&u->dir_modes, path, mode) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	return 0;
}

static int
make_symlink(struct archive_entry *e, int dir_fd, const char *base, struct al_err *err)
{
	const char *target = archive_entry_symlink(e);
	bool is_dir;
	int r;

	if (!target || !*target)
		return al_err_set(err, -EINVAL, "a symlink without a target");
	r = clear_slot(dir_fd, base, false, &is_dir);
	if (r < 0)
		return al_err_set(err, r, "replacing: %s", strerror(-r));
	if (symlinkat(target, dir_fd, base) < 0)
		return al_err_set(err, -errno, "creating: %s", strerror(errno));
	return 0;
}

/* The target must already be in the tree (this layer or a lower one), reached without a
 * symlink, and not be a directory. */
static int
make_hardlink(struct unpack *u, const char *link, int dir_fd, const char *path, const char *base,
	      struct al_err *err)
{
	_cleanup_close_ int tfd = -1;
	char target[PATH_MAX];
	const char *tbase;
	struct stat st;
	bool is_dir;
	int r;

	if (clean_path(link, target, sizeof(target)) < 0 || !*target)
		return al_err_set(err, -EINVAL, "hardlink target \"%.200s\" is outside the tree",
				  link);
	if (strcmp(target, path) == 0)
		return al_err_set(err, -EINVAL, "hardlink to itself");
	r = open_parent(u, target, false, &tfd, &tbase, err);
	if (r == 0 && fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = -errno;
	if (r == 0 && S_ISDIR(st.st_mode))
		r = -EISDIR;
	if (r < 0)
		return al_err_set(
		    err, r, "hardlink target \"%s\" is not a file already in the tree", target);
	r = clear_slot(dir_fd, base, false, &is_dir);
	if (r < 0)
		return al_err_set(err, r, "replacing: %s", strerror(-r));
	if (linkat(tfd, tbase, dir_fd, base, 0) < 0)
		return al_err_set(err, -errno, "linking: %s", strerror(errno));
	u->st.hardlinks++;
	return 0;
}

static bool
is_special(unsigned type)
{
	return type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO || type == AE_IFSOCK;
}

static int
apply_typed(struct unpack *u, struct archive *a, struct archive_entry *e, int dir_fd,
	    const char *path, const char *base, struct al_err *err)
{
	const char *link = archive_entry_hardlink(e);

	if (link)
		return make_hardlink(u, link, dir_fd, path, base, err);
	switch (archive_entry_filetype(e)) {
	case AE_IFREG:
		return write_file(u, a, e, dir_fd, base, err);
	case AE_IFDIR:
		return make_dir(u, e, dir_fd, path, base, err);
	case AE_IFLNK:
		return make_symlink(e, dir_fd, base, err);
	default:
		return al_err_set(err, -EINVAL, "unknown entry type 0%o",
				  (unsigned)archive_entry_filetype(e));
	}
}

static int
apply_entry(struct unpack *u, struct archive *a, struct archive_entry *e, struct al_err *err)
{
	_cleanup_close_ int dir_fd = -1;
	char path[PATH_MAX];
	const char *base;
	bool is_whiteout;
	int r = clean_path(archive_entry_pathname(e), path, sizeof(path));

	if (r < 0)
		return al_err_set(err, r, "%s",
				  r == -ENAMETOOLONG ? "path too long"
						     : "absolute path or \"..\" component refused");
	if (++u->st.entries > u->caps->entries)
		return al_err_set(err, -E2BIG, "over %llu entries",
				  (unsigned long long)u->caps->entries);
	if (!*path)
		return 0; /* the root itself keeps its own mode */
	if (!archive_entry_hardlink(e) && is_special(archive_entry_filetype(e))) {
		u->st.devices_dropped++;
		return 0;
	}
	base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	is_whiteout = strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0;
	/* A whiteout makes no directory: with its parent missing there is nothing to hide. */
	r = open_parent(u, path, !is_whiteout, &dir_fd, &base, err);
	if (r == -ENOENT && is_whiteout)
		return 0;
	if (r == -ENOENT)
		r = al_err_set(err, r, "a parent directory vanished");
	if (r < 0)
		return r;
	if (is_whiteout)
		return whiteout(u, dir_fd, path, base, err);
	r = apply_typed(u, a, e, dir_fd, path, base, err);
	if (r == 0 && !archive_entry_hardlink(e) && (archive_entry_mode(e) & (S_ISUID | S_ISGID)))
		u->st.setid_dropped++;
	if (r == 0 && mark_written(u, path) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	return r;
}

/* ---- layers ---- */

static la_ssize_t
layer_read(struct archive *a, void *data, const void **ret_buf)
{
	struct layer_src *src = data;
	ssize_t k = al_image_blob_read(src->blob, src->buf, sizeof(src->buf));

	if (k < 0) {
		archive_set_error(a, (int)-k, "%s",
				  k == -EFBIG ? "the blob is larger than its declared size"
					      : strerror((int)-k));
		return -1;
	}
	*ret_buf = src->buf;
	return k;
}

static int
layer_entries(struct unpack *u, struct archive *a, struct al_err *err)
{
	struct archive_entry *e;
	int r;

	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		r = apply_entry(u, a, e, err);
		if (r < 0) {
			/* r, not what al_err_prefix returns: that is 0 when err is NULL */
			al_err_prefix(err, "entry \"%.300s\"",
				      archive_entry_pathname(e) ?: "(no name)");
			return r;
		}
	}
	if (r != ARCHIVE_EOF)
		return al_err_set(err, -EIO, "%s", archive_error_string(a));
	return 0;
}

static int
unpack_layer(struct unpack *u, const struct al_image_layer *l, struct al_err *err)
{
	_cleanup_free_ struct layer_src *src = calloc(1, sizeof(*src));
	struct al_err ferr = {0};
	struct archive *a;
	int r, f;

	if (!src)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = al_image_blob_open(u->img, l->digest, l->size, &src->blob, err);
	if (r < 0)
		return r;
	a = archive_read_new();
	if (!a) {
		al_image_blob_free(src->blob);
		return al_err_set(err, -ENOMEM, "out of memory");
	}
	archive_read_support_format_tar(a);
	if (l->compression == AL_IMAGE_GZIP)
		archive_read_support_filter_gzip(a);
	if (l->compression == AL_IMAGE_ZSTD)
		archive_read_support_filter_zstd(a);
	if (archive_read_open(a, src, NULL, layer_read, NULL) != ARCHIVE_OK)
		r = al_err_set(err, -EIO, "%s", archive_error_string(a));
	else
		r = layer_entries(u, a, err);
	archive_read_free(a);
	/* The digest decides, also over an error the tar reader saw in altered bytes. */
	f = al_image_blob_finish(src->blob, &ferr);
	if (f < 0)
		r = al_err_reset(err, f, "%s", al_err_msg(&ferr));
	al_image_blob_free(src->blob);
	al_pathset_clear(&u->layer_paths);
	return r;
}

/* ---- the whole tree ---- */

static int
depth_desc(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	size_t dx = 0, dy = 0;

	for (; *x; x++)
		dx += *x == '/';
	for (; *y; y++)
		dy += *y == '/';
	return dx < dy ? 1 : dx > dy ? -1 : 0;
}

/* Directories whose declared mode keeps their owner out get it now, deepest first. */
static int
set_dir_modes(struct unpack *u, struct al_err *err)
{
	_cleanup_free_ char **paths = calloc(u->dir_modes.n + 1, sizeof(*paths));
	size_t i, n = 0;
	mode_t mode;
	int fd;

	if (!paths)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < u->dir_modes.cap; i++)
		if (u->dir_modes.keys[i] && (u->dir_modes.vals[i] & S_IRWXU) != S_IRWXU)
			paths[n++] = u->dir_modes.keys[i];
	qsort(paths, n, sizeof(*paths), depth_desc);
	for (i = 0; i < n; i++) {
		_cleanup_close_ int dir_fd = -1;
		const char *base;

		al_pathset_get(&u->dir_modes, paths[i], &mode);
		/* A directory a later layer removed or replaced is skipped. */
		if (open_parent(u, paths[i], false, &dir_fd, &base, NULL) < 0)
			continue;
		fd = openat(dir_fd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fchmod(fd, mode) < 0) {
			close(fd);
			return al_err_set(err, -errno, "mode of \"%s\": %s", paths[i],
					  strerror(errno));
		}
		close(fd);
	}
	return 0;
}

/* dest must be absent or an empty directory (rename replaces one). */
static int
dest_check(const char *dest, struct al_err *err)
{
	struct dirent *de;
	DIR *d = opendir(dest);
	int r = 0;

	if (!d && errno == ENOENT)
		return 0;
	if (!d)
		return al_err_set(err, -errno, "%s: %s", dest, strerror(errno));
	while (r == 0 && (de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			r = al_err_set(err, -ENOTEMPTY, "%s: not empty", dest);
	closedir(d);
	return r;
}

/* pax headers carry names as UTF-8, which libarchive converts to the locale's charset:
 * under the C locale any non-ASCII name (Debian ships some) would be refused. The layers
 * are read under C.UTF-8, in this thread only, so names reach the tree byte for byte. */
static int
unpack_layers(struct unpack *u, struct al_err *err)
{
	locale_t utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0), old;
	const struct al_image_layer *l;
	size_t i;
	int r = 0;

	if (utf8 == (locale_t)0)
		return al_err_set(err, -errno, "the C.UTF-8 locale: %s", strerror(errno));
	old = uselocale(utf8);
	for (i = 0; r == 0 && (l = al_image_layer(u->img, i)); i++) {
		r = unpack_layer(u, l, err);
		if (r < 0)
			al_err_prefix(err, "layer %zu (%s)", i + 1, l->digest);
	}
	uselocale(old);
	freelocale(utf8);
	return r;
}

static int
unpack_all(struct unpack *u, const char *tmp, const char *dest, struct al_err *err)
{
	int r;

	u->root_fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->root_fd < 0)
		return al_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
	r = unpack_layers(u, err);
	if (r == 0 && fchmod(u->root_fd, 0755) < 0)
		r = al_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
	if (r == 0)
		r = set_dir_modes(u, err);
	if (r == 0 && rename(tmp, dest) < 0)
		r = al_err_set(err, -errno, "renaming into %s: %s", dest, strerror(errno));
	close(u->root_fd);
	return r;
}

int
al_image_unpack_capped(const struct al_image *img, const char *dest_dir,
		       const struct al_unpack_caps *caps, struct al_unpack_stats *ret,
		       struct al_err *err)
{
	struct unpack u = {.img = img, .caps = caps, .root_fd = -1};
	_cleanup_free_ char *dest = strdup(dest_dir), *tmp = NULL;
	size_t n;
	int r;

	if (!dest)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (n = strlen(dest); n > 1 && dest[n - 1] == '/'; n--)
		dest[n - 1] = '\0';
	r = dest_check(dest, err);
	if (r < 0)
		return r;
	if (asprintf(&tmp, "%s.tmp-XXXXXX", dest) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (!mkdtemp(tmp))
		return al_err_set(err, -errno, "%s: %s", tmp, strerror(errno));
	r = unpack_all(&u, tmp, dest, err);
	al_pathset_clear(&u.layer_paths);
	al_pathset_clear(&u.dir_modes);
	if (r < 0) {
		al_rm_rf(tmp);
		al_err_prefix(err, "image %s", al_image_digest(img));
		return r;
	}
	*ret = u.st;
	return 0;
}

int
al_image_unpack(const struct al_image *img, const char *dest_dir, struct al_unpack_stats *ret,
		struct al_err *err)
{
	static const struct al_unpack_caps caps = {
	    .entries = AL_UNPACK_ENTRIES_MAX,
	    .bytes = AL_UNPACK_BYTES_MAX,
	};

	return al_image_unpack_capped(img, dest_dir, &caps, ret, err);
}
