/* Where overlay is not available in a user namespace (airlock doctor says so): each run
 * is handed a copy of its tree and layers, and setup's additions are found by comparing its copy
 * with the tree. Slower, never weaker: the same seal rules hold. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/copy.h"

/* ---- copying ---- */

static struct {
	size_t src_len;
	const char *dst;
	int error;
} cp;

static int
copy_file(const char *src, const char *dst, const struct stat *st)
{
	_cleanup_close_ int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_close_ int out = -1;
	off_t left = st->st_size;

	if (in < 0)
		return -errno;
	unlink(dst); /* a layer's file replaces the tree's */
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 0777);
	if (out < 0)
		return -errno;
	while (left > 0) {
		ssize_t n = sendfile(out, in, NULL, (size_t)left);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		left -= n;
	}
	return fchmod(out, st->st_mode & 0777) < 0 ? -errno : 0;
}

static int
copy_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	_cleanup_free_ char *to = NULL;
	char link[4096];
	ssize_t n;
	int r = 0;

	(void)ftw;
	if (asprintf(&to, "%s%s", cp.dst, path + cp.src_len) < 0)
		return cp.error = -ENOMEM, 1;
	if (flag == FTW_NS || flag == FTW_DNR)
		r = -EACCES;
	else if (S_ISDIR(st->st_mode))
		r = mkdir(to, st->st_mode & 0777) < 0 && errno != EEXIST ? -errno : 0;
	else if (S_ISREG(st->st_mode))
		r = copy_file(path, to, st);
	else if (S_ISLNK(st->st_mode)) {
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			r = -errno;
		else {
			link[n] = '\0';
			unlink(to);
			r = symlink(link, to) < 0 ? -errno : 0;
		}
	}
	/* anything else (a device) is not copied: trees and layers hold none */
	if (r < 0)
		cp.error = r;
	return r < 0;
}

int
al_copy_tree(const char *src, const char *dst, struct al_err *err)
{
	cp.src_len = strlen(src);
	cp.dst = dst;
	cp.error = 0;
	if (mkdir(dst, 0755) < 0 && errno != EEXIST)
		return al_err_set(err, -errno, "copy: %s: %s", dst, strerror(errno));
	if (nftw(src, copy_one, 32, FTW_PHYS) != 0)
		return al_err_set(err, cp.error ? cp.error : -errno, "copy: %s: %s", src,
				  strerror(cp.error ? -cp.error : errno));
	return 0;
}

/* ---- setup's additions, by comparison ---- */

static struct {
	size_t copy_len;
	const char *tree, *layer;
	char why[512];
} df;

static int
same_file(const char *a, const char *b, const struct stat *sa, const struct stat *sb)
{
	_cleanup_free_ char *da = NULL, *db = NULL;
	char la[4096], lb[4096];
	size_t na, nb;
	ssize_t ka, kb;
	struct al_err e = {0};

	if ((sa->st_mode & S_IFMT) != (sb->st_mode & S_IFMT) ||
	    (sa->st_mode & 0111) != (sb->st_mode & 0111))
		return 0;
	if (S_ISLNK(sa->st_mode)) {
		ka = readlink(a, la, sizeof(la));
		kb = readlink(b, lb, sizeof(lb));
		return ka >= 0 && ka == kb && memcmp(la, lb, (size_t)ka) == 0;
	}
	if (!S_ISREG(sa->st_mode) || sa->st_size != sb->st_size)
		return 0;
	if (al_file_read(a, (size_t)sa->st_size + 1, &da, &na, &e) < 0 ||
	    al_file_read(b, (size_t)sb->st_size + 1, &db, &nb, &e) < 0)
		return 0;
	return na == nb && memcmp(da, db, na) == 0;
}

static int
diff_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + df.copy_len;
	_cleanup_free_ char *in_tree = NULL, *to = NULL;
	struct stat tst;

	(void)ftw;
	if (!*rel)
		return 0;
	if (flag == FTW_NS || flag == FTW_DNR)
		return snprintf(df.why, sizeof(df.why), "cannot read %s", rel + 1), 1;
	if (asprintf(&in_tree, "%s%s", df.tree, rel) < 0 ||
	    asprintf(&to, "%s%s", df.layer, rel) < 0)
		return snprintf(df.why, sizeof(df.why), "out of memory"), 1;
	if (lstat(in_tree, &tst) == 0) {
		if (S_ISDIR(st->st_mode) && S_ISDIR(tst.st_mode))
			return 0;
		if (!same_file(path, in_tree, st, &tst))
			return snprintf(df.why, sizeof(df.why),
					"setup changed %s, which the tree has", rel + 1),
			       1;
		return 0;
	}
	if (!S_ISDIR(st->st_mode) && !S_ISREG(st->st_mode) && !S_ISLNK(st->st_mode))
		return snprintf(df.why, sizeof(df.why),
				"setup left %s, which is not a file, link or directory", rel + 1),
		       1;
	if (S_ISDIR(st->st_mode))
		return al_mkdir_p(to, st->st_mode & 0777) < 0
			   ? (snprintf(df.why, sizeof(df.why), "%s: %s", rel + 1, strerror(errno)),
			      1)
			   : 0;
	*strrchr(to, '/') = '\0';
	if (al_mkdir_p(to, 0755) < 0)
		return snprintf(df.why, sizeof(df.why), "%s: %s", rel + 1, strerror(errno)), 1;
	to[strlen(to)] = '/';
	return rename(path, to) < 0
		   ? (snprintf(df.why, sizeof(df.why), "%s: %s", rel + 1, strerror(errno)), 1)
		   : 0;
}

static size_t tree_len;
static const char *tree_copy;

static int
still_there(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	_cleanup_free_ char *in_copy = NULL;
	struct stat cst;

	(void)st;
	(void)flag;
	(void)ftw;
	if (!path[tree_len])
		return 0;
	if (asprintf(&in_copy, "%s%s", tree_copy, path + tree_len) < 0)
		return snprintf(df.why, sizeof(df.why), "out of memory"), 1;
	if (lstat(in_copy, &cst) < 0)
		return snprintf(df.why, sizeof(df.why), "setup removed %s from the tree",
				path + tree_len + 1),
		       1;
	return 0;
}

int
al_copy_additions(const char *copy, const char *tree, const char *layer, struct al_err *err)
{
	df.copy_len = strlen(copy);
	df.tree = tree;
	df.layer = layer;
	df.why[0] = '\0';
	tree_len = strlen(tree);
	tree_copy = copy;
	if (mkdir(layer, 0755) < 0 && errno != EEXIST)
		return al_err_set(err, -errno, "%s: %s", layer, strerror(errno));
	if (nftw(tree, still_there, 32, FTW_PHYS) != 0 || nftw(copy, diff_one, 32, FTW_PHYS) != 0)
		return al_err_set(err, -EPERM, "%s", df.why[0] ? df.why : strerror(errno));
	return 0;
}
