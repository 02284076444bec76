/* Trees written into a fresh directory, and the attributes check that makes writing them
 * byte for byte the same as a checkout.
 *
 * git_checkout_tree applies the host worktree's .gitattributes (ident, eol) even with
 * target_directory, so the bytes on disk would differ from the tree a grant names. Trees
 * are written here instead, byte for byte, with *at() calls relative to directory fds
 * opened O_NOFOLLOW, so no symlink is ever followed; a tree whose own .gitattributes would
 * make `git checkout` write other bytes is refused. */
#include "runner/tree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"
#include "runner/libgit.h"

#define AL_TREE_DEPTH_MAX 256
#define AL_SYMLINK_TARGET_MAX 4095

/* ---- writing trees ---- */

struct writer {
	git_repository *repo;
	struct al_err *err;
};

/* The same directory of a tree already written: an entry with the same id and mode is
 * linked from there instead of read and written again. */
struct from {
	const git_tree *tree; /* NULL: none */
	int fd;		      /* its directory; -1: none */
};

static int write_tree_at(struct writer *w, const git_tree *tree, int dirfd, const char *prefix,
			 unsigned depth, struct from base);

static int
write_blob_at(struct writer *w, const git_tree_entry *e, int dirfd, const char *path, mode_t mode)
{
	_cleanup_(al_libgit_blob_freep) git_blob *blob = NULL;
	_cleanup_close_ int fd = -1;
	int r = git_blob_lookup(&blob, w->repo, git_tree_entry_id(e));

	if (r < 0)
		return al_libgit_fail(w->err, r, path);
	fd = openat(dirfd, git_tree_entry_name(e),
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0)
		return al_err_set(w->err, -errno, "%s: %s", path, strerror(errno));
	r = al_fd_write_all(fd, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r < 0)
		return al_err_set(w->err, r, "%s: %s", path, strerror(-r));
	return 0;
}

static int
write_link_at(struct writer *w, const git_tree_entry *e, int dirfd, const char *path)
{
	_cleanup_(al_libgit_blob_freep) git_blob *blob = NULL;
	char target[AL_SYMLINK_TARGET_MAX + 1];
	size_t n;
	int r = git_blob_lookup(&blob, w->repo, git_tree_entry_id(e));

	if (r < 0)
		return al_libgit_fail(w->err, r, path);
	n = (size_t)git_blob_rawsize(blob);
	if (n == 0 || n > AL_SYMLINK_TARGET_MAX || memchr(git_blob_rawcontent(blob), 0, n))
		return al_err_set(w->err, -EINVAL, "%s: unusable symlink target", path);
	memcpy(target, git_blob_rawcontent(blob), n);
	target[n] = '\0';
	if (symlinkat(target, dirfd, git_tree_entry_name(e)) < 0)
		return al_err_set(w->err, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

static int
write_dir_at(struct writer *w, const git_tree_entry *e, int dirfd, const char *path, unsigned depth,
	     struct from base)
{
	_cleanup_(al_libgit_tree_freep) git_tree *sub = NULL, *base_sub = NULL;
	_cleanup_close_ int fd = -1, base_fd = -1;
	const char *name = git_tree_entry_name(e);
	const git_tree_entry *be = base.tree ? git_tree_entry_byname(base.tree, name) : NULL;
	int r;

	if (mkdirat(dirfd, name, 0755) < 0)
		return al_err_set(w->err, -errno, "%s: %s", path, strerror(errno));
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0755) < 0)
		return al_err_set(w->err, -errno, "%s: %s", path, strerror(errno));
	if (git_tree_entry_type(e) == GIT_OBJECT_COMMIT)
		return 0; /* a submodule is an empty directory, as git leaves it */
	r = git_tree_lookup(&sub, w->repo, git_tree_entry_id(e));
	if (r < 0)
		return al_libgit_fail(w->err, r, path);
	/* the base's directory of that name, when it is one */
	if (be && git_tree_entry_filemode(be) == GIT_FILEMODE_TREE &&
	    git_tree_lookup(&base_sub, w->repo, git_tree_entry_id(be)) == 0)
		base_fd = openat(base.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return write_tree_at(w, sub, fd, path, depth + 1,
			     (struct from){base_fd >= 0 ? base_sub : NULL, base_fd});
}

/* An unchanged file, linked from the base's copy: no blob read, no bytes written. */
static int
link_from(const git_tree_entry *e, int dirfd, struct from base)
{
	const char *name = git_tree_entry_name(e);
	const git_tree_entry *be = base.tree ? git_tree_entry_byname(base.tree, name) : NULL;
	git_filemode_t m = git_tree_entry_filemode(e);

	if (!be || (m != GIT_FILEMODE_BLOB && m != GIT_FILEMODE_BLOB_EXECUTABLE) ||
	    git_tree_entry_filemode(be) != m ||
	    !git_oid_equal(git_tree_entry_id(be), git_tree_entry_id(e)))
		return -1;
	return linkat(base.fd, name, dirfd, name, 0) == 0 ? 0 : -1;
}

static int
write_entry_at(struct writer *w, const git_tree_entry *e, int dirfd, const char *path,
	       unsigned depth, struct from base)
{
	if (link_from(e, dirfd, base) == 0)
		return 0;
	switch (git_tree_entry_filemode(e)) {
	case GIT_FILEMODE_BLOB:
		return write_blob_at(w, e, dirfd, path, 0644);
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		return write_blob_at(w, e, dirfd, path, 0755);
	case GIT_FILEMODE_LINK:
		return write_link_at(w, e, dirfd, path);
	case GIT_FILEMODE_TREE:
	case GIT_FILEMODE_COMMIT:
		return write_dir_at(w, e, dirfd, path, depth, base);
	default:
		return al_err_set(w->err, -EINVAL, "%s: unknown file mode %o", path,
				  (unsigned)git_tree_entry_filemode(e));
	}
}

static int
write_tree_at(struct writer *w, const git_tree *tree, int dirfd, const char *prefix, unsigned depth,
	      struct from base)
{
	if (depth > AL_TREE_DEPTH_MAX)
		return al_err_set(w->err, -ELOOP, "%s: nested deeper than %d directories", prefix,
				  AL_TREE_DEPTH_MAX);
	for (size_t i = 0; i < git_tree_entrycount(tree); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		_cleanup_free_ char *path = NULL;
		int r;

		if (asprintf(&path, "%s%s%s", prefix, prefix[0] ? "/" : "", name) < 0)
			return al_err_set(w->err, -ENOMEM, "out of memory");
		if (strchr(name, '/') || al_libgit_name_unsafe(name, strlen(name)))
			return al_err_set(w->err, -EINVAL, "unsafe path '%s' in tree", path);
		r = write_entry_at(w, e, dirfd, path, depth, base);
		if (r < 0)
			return r;
	}
	return 0;
}

int
al_tree_write(git_repository *repo, git_tree *tree, const char *dir, int *created,
	      struct al_err *err)
{
	return al_tree_write_from(repo, tree, dir, NULL, NULL, created, err);
}

int
al_tree_write_from(git_repository *repo, git_tree *tree, const char *dir, git_tree *base,
		   const char *base_dir, int *created, struct al_err *err)
{
	struct writer w = {.repo = repo, .err = err};
	_cleanup_free_ char *parent = strdup(dir);
	_cleanup_close_ int fd = -1, base_fd = -1;
	char *slash;

	if (!parent)
		return al_err_set(err, -ENOMEM, "out of memory");
	slash = strrchr(parent, '/');
	if (slash && slash != parent) {
		*slash = '\0';
		int r = al_mkdir_p(parent, 0755);

		if (r < 0)
			return al_err_set(err, r, "%s: %s", parent, strerror(-r));
	}
	if (mkdir(dir, 0755) < 0)
		return al_err_set(err, -errno, "%s: %s", dir, strerror(errno));
	*created = 1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchmod(fd, 0755) < 0)
		return al_err_set(err, -errno, "%s: %s", dir, strerror(errno));
	if (base && base_dir)
		base_fd = open(base_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	return write_tree_at(&w, tree, fd, "", 0,
			     (struct from){base_fd >= 0 ? base : NULL, base_fd});
}

/* ---- attributes that change what a checkout writes ---- */

/* The first attribute of a .gitattributes text that makes `git checkout` write other bytes
 * than the blob's on this host (LF line ends): ident, a filter driver, an encoding, CRLF
 * line ends. Unset ("-x") and unspecified ("!x") ones change nothing. Macro lines count
 * too, so a macro cannot smuggle one in. NULL when there is none. */
static const char *
attribute_problem(const char *text, size_t len, char *buf, size_t bufsz)
{
	static const char *const changing[] = {"ident", "filter", "working-tree-encoding"};
	const char *end = text + len;

	for (const char *line = text; line < end;) {
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		const char *p = line, *le = eol ? eol : end;
		int first = 1;

		line = eol ? eol + 1 : end;
		while (p < le) {
			const char *tok;
			size_t n, name;

			while (p < le && (*p == ' ' || *p == '\t' || *p == '\r'))
				p++;
			tok = p;
			while (p < le && *p != ' ' && *p != '\t' && *p != '\r')
				p++;
			n = (size_t)(p - tok);
			if (n == 0 || (first && tok[0] == '#'))
				break;
			/* the pattern (or "[attr]name") comes first */
			if (first) {
				first = 0;
				continue;
			}
			if (tok[0] == '-' || tok[0] == '!')
				continue;
			name = strcspn(tok, "=");
			if (name > n)
				name = n;
			for (size_t i = 0; i < AL_ARRAY_SIZE(changing); i++)
				if (name == strlen(changing[i]) &&
				    !memcmp(tok, changing[i], name)) {
					snprintf(buf, bufsz, "%s", changing[i]);
					return buf;
				}
			if (n == 8 && !memcmp(tok, "eol=crlf", 8)) {
				snprintf(buf, bufsz, "eol=crlf");
				return buf;
			}
		}
	}
	return NULL;
}

struct attr_walk {
	git_repository *repo;
	struct al_err *err;
	int r;
};

static int
attr_entry(const char *root, const git_tree_entry *e, void *payload)
{
	struct attr_walk *w = payload;
	_cleanup_(al_libgit_blob_freep) git_blob *blob = NULL;
	const char *why;
	char buf[32];
	int g;

	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
	    strcmp(git_tree_entry_name(e), ".gitattributes"))
		return 0;
	if ((g = git_blob_lookup(&blob, w->repo, git_tree_entry_id(e))) < 0) {
		w->r = al_libgit_fail(w->err, g, ".gitattributes");
		return -1;
	}
	if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK)
		return 0;
	why = attribute_problem(git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob), buf,
				sizeof(buf));
	if (!why)
		return 0;
	w->r = al_err_set(w->err, -EMEDIUMTYPE,
			  "%s.gitattributes sets %s: a checkout would write other bytes than the "
			  "ones tested, and airlock refuses to test them",
			  root, why);
	return -1;
}

int
al_tree_check_attributes(git_repository *repo, git_tree *tree, struct al_err *err)
{
	struct attr_walk w = {.repo = repo, .err = err};
	int g = git_tree_walk(tree, GIT_TREEWALK_PRE, attr_entry, &w);

	if (w.r < 0)
		return w.r;
	return g < 0 ? al_libgit_fail(err, g, "tree walk") : 0;
}
