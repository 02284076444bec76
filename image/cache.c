/* The environment cache's entries: found, built under a temporary name, renamed into place
 * (image/cache.h). */
#include "image/cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"

static const char *const kind_names[AL_CACHE_KINDS] = {
    [AL_CACHE_IMAGE] = "images",
    [AL_CACHE_TREE] = "trees",
    [AL_CACHE_SETUP] = "setup",
};

const char *
al_cache_kind_name(enum al_cache_kind k)
{
	return (unsigned)k < AL_CACHE_KINDS ? kind_names[k] : "?";
}

int
al_cache_open(const char *root, bool exclusive, bool wait, struct al_cache *c, struct al_err *err)
{
	_cleanup_free_ char *lock = NULL;
	int r;

	*c = (struct al_cache){.lock_fd = -1};
	if (!root || root[0] != '/')
		return al_err_set(err, -EINVAL, "cache: '%s' is not an absolute path",
				  root ? root : "");
	if ((r = al_mkdir_p(root, 0700)) < 0)
		return al_err_set(err, r, "cache: %s: %s", root, strerror(-r));
	for (size_t k = 0; k < AL_CACHE_KINDS; k++) {
		_cleanup_free_ char *d = al_path_join(root, kind_names[k]);

		if (!d)
			return al_err_set(err, -ENOMEM, "out of memory");
		if (mkdir(d, 0700) < 0 && errno != EEXIST)
			return al_err_set(err, -errno, "cache: %s: %s", d, strerror(errno));
	}
	lock = al_path_join(root, AL_CACHE_LOCK);
	c->root = strdup(root);
	if (!lock || !c->root)
		return al_err_set(err, -ENOMEM, "out of memory");
	c->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (c->lock_fd < 0)
		return al_err_set(err, -errno, "cache: %s: %s", lock, strerror(errno));
	if (flock(c->lock_fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		return al_err_set(err, r, "cache: %s: %s", root,
				  r == -EBUSY ? "in use" : strerror(-r));
	}
	return 0;
}

void
al_cache_close(struct al_cache *c)
{
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	free(c->root);
	*c = (struct al_cache){.lock_fd = -1};
}

bool
al_cache_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > AL_CACHE_NAME_MAX)
		return false;
	return strspn(name, "0123456789abcdef") == n;
}

static char *
entry_path(const struct al_cache *c, enum al_cache_kind k, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s/%s", c->root, kind_names[k], name) < 0)
		return NULL;
	return p;
}

int
al_cache_find(const struct al_cache *c, enum al_cache_kind k, const char *name, char **ret_path,
	      struct al_err *err)
{
	_cleanup_free_ char *p = NULL;
	struct stat st;

	if ((unsigned)k >= AL_CACHE_KINDS || !al_cache_name_valid(name))
		return al_err_set(err, -EINVAL, "cache: bad entry name '%s'", name ? name : "");
	if (!(p = entry_path(c, k, name)))
		return al_err_set(err, -ENOMEM, "out of memory");
	if (lstat(p, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		return al_err_set(err, -errno, "cache: %s: %s", p, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return al_err_set(err, -ENOTDIR, "cache: %s: not a directory", p);
	/* the use time eviction goes by; a failure to mark it only makes it look older */
	(void)utimensat(AT_FDCWD, p, NULL, AT_SYMLINK_NOFOLLOW);
	*ret_path = steal_pointer(&p);
	return 1;
}

int
al_cache_begin(const struct al_cache *c, enum al_cache_kind k, char **ret_tmp, struct al_err *err)
{
	char *p = NULL;

	if ((unsigned)k >= AL_CACHE_KINDS)
		return al_err_set(err, -EINVAL, "cache: bad kind");
	if (asprintf(&p, "%s/%s/" AL_CACHE_TMP_PREFIX "XXXXXX", c->root, kind_names[k]) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	/* readable by the service's user even once the sandbox user owns it: the cache's
	 * own directory (0700) is what keeps others out */
	if (!mkdtemp(p) || chmod(p, 0755) < 0) {
		int e = errno;

		rmdir(p);
		free(p);
		return al_err_set(err, -e, "cache: %s: %s", kind_names[k], strerror(e));
	}
	*ret_tmp = p;
	return 0;
}

void
al_cache_abandon(const char *tmp)
{
	if (tmp)
		al_rm_rf(tmp);
}

int
al_cache_commit(const struct al_cache *c, enum al_cache_kind k, const char *tmp, const char *name,
		char **ret_path, struct al_err *err)
{
	_cleanup_free_ char *p = NULL;

	if ((unsigned)k >= AL_CACHE_KINDS || !al_cache_name_valid(name)) {
		al_cache_abandon(tmp);
		return al_err_set(err, -EINVAL, "cache: bad entry name '%s'", name ? name : "");
	}
	if (!(p = entry_path(c, k, name))) {
		al_cache_abandon(tmp);
		return al_err_set(err, -ENOMEM, "out of memory");
	}
	/* RENAME_NOREPLACE: an entry once in place is never swapped under a reader */
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, p, RENAME_NOREPLACE) < 0) {
		int e = errno;

		al_cache_abandon(tmp);
		if (e != EEXIST && e != ENOTEMPTY)
			return al_err_set(err, -e, "cache: %s: %s", p, strerror(e));
	}
	*ret_path = steal_pointer(&p);
	return 0;
}
