/* The environment cache's sizes and eviction (image/cache-gc.h). */
#include "image/cache-gc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fileio.h"
#include "lib/macros.h"

static int
entry_cmp(const void *a, const void *b)
{
	const struct al_cache_entry *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Least recently used first; equal times in a fixed order. */
static int
use_cmp(const void *a, const void *b)
{
	const struct al_cache_entry *x = *(const struct al_cache_entry *const *)a;
	const struct al_cache_entry *y = *(const struct al_cache_entry *const *)b;

	if (x->used != y->used)
		return x->used < y->used ? -1 : 1;
	return entry_cmp(x, y);
}

void
al_cache_usage_clear(struct al_cache_usage *u)
{
	free(u->entries);
	*u = (struct al_cache_usage){0};
}

static int
usage_add(struct al_cache_usage *u, const struct al_cache_entry *e, size_t *alloc)
{
	if (u->n == *alloc) {
		size_t grown = *alloc ? *alloc * 2 : 64;
		struct al_cache_entry *p = realloc(u->entries, grown * sizeof(*p));

		if (!p)
			return -ENOMEM;
		u->entries = p;
		*alloc = grown;
	}
	u->entries[u->n++] = *e;
	u->bytes[e->kind] += e->bytes;
	u->count[e->kind]++;
	u->total += e->bytes;
	return 0;
}

/* An entry's size: known already, or walked now (a walk that meets a moving directory
 * starts over). */
static int
entry_size(const char *path, const struct al_cache_usage *prev, struct al_cache_entry *e)
{
	const struct al_cache_entry *k =
	    prev && prev->n ? bsearch(e, prev->entries, prev->n, sizeof(*e), entry_cmp) : NULL;
	int r = -ESTALE;

	if (k) {
		e->bytes = k->bytes;
		return 0;
	}
	for (int tries = 0; r == -ESTALE && tries < 3; tries++)
		r = al_du(path, &e->bytes);
	return r;
}

static int
scan_kind(const char *root, enum al_cache_kind k, const struct al_cache_usage *prev,
	  struct al_cache_usage *u, size_t *alloc, struct al_err *err)
{
	_cleanup_free_ char *dir = al_path_join(root, al_cache_kind_name(k));
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!dir)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (!(d = opendir(dir)))
		return errno == ENOENT
			   ? 0
			   : al_err_set(err, -errno, "cache: %s: %s", dir, strerror(errno));
	while (r == 0 && (de = readdir(d))) {
		struct al_cache_entry e = {.kind = k};
		_cleanup_free_ char *path = NULL;
		struct stat st;

		if (!al_cache_name_valid(de->d_name))
			continue; /* ".", "..", .tmp-*, the lock: not entries */
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue; /* gone meanwhile, or not one of ours */
		memcpy(e.name, de->d_name, strlen(de->d_name) + 1);
		e.used = st.st_mtime;
		if (!(path = al_path_join(dir, de->d_name)))
			r = al_err_set(err, -ENOMEM, "out of memory");
		else if ((r = entry_size(path, prev, &e)) == -ENOENT)
			r = 0; /* evicted meanwhile */
		else if (r < 0)
			al_err_set(err, r, "cache: %s: %s", path, strerror(-r));
		else if ((r = usage_add(u, &e, alloc)) < 0)
			al_err_set(err, r, "out of memory");
	}
	closedir(d);
	return r;
}

int
al_cache_scan(const char *root, const struct al_cache_usage *prev, struct al_cache_usage *ret,
	      struct al_err *err)
{
	struct al_cache_usage u = {0};
	size_t alloc = 0;
	int r = 0;

	for (size_t k = 0; r == 0 && k < AL_CACHE_KINDS; k++)
		r = scan_kind(root, (enum al_cache_kind)k, prev, &u, &alloc, err);
	if (r < 0) {
		al_cache_usage_clear(&u);
		return r;
	}
	if (u.n)
		qsort(u.entries, u.n, sizeof(*u.entries), entry_cmp);
	*ret = u;
	return 0;
}

static int
remove_dir(const struct al_cache_gc_opts *o, const char *path)
{
	return o->remove ? o->remove(path, o->ctx) : al_rm_rf(path);
}

/* The leftovers of builds that never finished (or of removals that failed), once old. */
static void
remove_stale_tmp(const char *root, const struct al_cache_gc_opts *o, struct al_cache_gc_report *rep)
{
	time_t now = time(NULL);

	for (size_t k = 0; k < AL_CACHE_KINDS; k++) {
		_cleanup_free_ char *dir = al_path_join(root, al_cache_kind_name(k));
		struct dirent *de;
		DIR *d = dir ? opendir(dir) : NULL;

		while (d && (de = readdir(d))) {
			_cleanup_free_ char *path = NULL;
			struct stat st;

			if (strncmp(de->d_name, AL_CACHE_TMP_PREFIX, strlen(AL_CACHE_TMP_PREFIX)) ||
			    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    now - st.st_mtime < AL_CACHE_TMP_AGE_S)
				continue;
			if ((path = al_path_join(dir, de->d_name)) && remove_dir(o, path) == 0)
				rep->tmp_removed++;
		}
		if (d)
			closedir(d);
	}
}

/* Renames the entry out of its name (no runner finds it from here on), then removes it. */
static int
evict(const char *root, const struct al_cache_entry *e, const struct al_cache_gc_opts *o,
      struct al_err *err)
{
	static unsigned serial;
	_cleanup_free_ char *from = NULL;
	char *to = NULL;
	int r;

	if (asprintf(&from, "%s/%s/%s", root, al_cache_kind_name(e->kind), e->name) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	for (;;) {
		if (asprintf(&to, "%s/%s/" AL_CACHE_TMP_PREFIX "gc-%d-%u", root,
			     al_cache_kind_name(e->kind), (int)getpid(), serial++) < 0)
			return al_err_set(err, -ENOMEM, "out of memory");
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
			break;
		r = -errno;
		free(to);
		if (r == -ENOENT)
			return 0; /* removed by someone else: gone all the same */
		if (r != -EEXIST)
			return al_err_set(err, r, "cache: %s: %s", from, strerror(-r));
	}
	/* what cannot be removed now is an old .tmp-* to a later gc */
	(void)remove_dir(o, to);
	free(to);
	return 0;
}

static int
evict_oldest(const char *root, const struct al_cache_gc_opts *o, struct al_cache_usage *u,
	     struct al_cache_gc_report *rep, struct al_err *err)
{
	_cleanup_free_ struct al_cache_entry **order = calloc(u->n + 1, sizeof(*order));
	_cleanup_free_ bool *gone = calloc(u->n + 1, sizeof(*gone));
	size_t kept = 0;
	int r = 0;

	if (!order || !gone || !(rep->removed = calloc(u->n + 1, sizeof(*rep->removed))))
		return al_err_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < u->n; i++)
		order[i] = &u->entries[i];
	qsort(order, u->n, sizeof(*order), use_cmp);
	for (size_t i = 0; r == 0 && i < u->n && u->total > o->max_bytes; i++) {
		struct al_cache_entry *e = order[i];

		if ((r = evict(root, e, o, err)) < 0)
			break;
		rep->removed[rep->n_removed++] = *e;
		rep->freed += e->bytes;
		u->total -= e->bytes;
		u->bytes[e->kind] -= e->bytes;
		u->count[e->kind]--;
		gone[e - u->entries] = true;
	}
	for (size_t i = 0; i < u->n; i++)
		if (!gone[i])
			u->entries[kept++] = u->entries[i];
	u->n = kept;
	return r;
}

int
al_cache_gc(const char *root, const struct al_cache_gc_opts *o, struct al_cache_gc_report *ret,
	    struct al_err *err)
{
	struct al_cache_gc_report rep = {0};
	struct al_cache c;
	int r = al_cache_open(root, true, o->wait, &c, err);

	if (r < 0) {
		al_cache_close(&c);
		return r;
	}
	remove_stale_tmp(root, o, &rep);
	r = al_cache_scan(root, o->prev, &rep.after, err);
	if (r == 0) {
		rep.before = rep.after.total;
		r = evict_oldest(root, o, &rep.after, &rep, err);
	}
	al_cache_close(&c);
	if (r < 0) {
		al_cache_gc_report_clear(&rep);
		return r;
	}
	*ret = rep;
	return 0;
}

void
al_cache_gc_report_clear(struct al_cache_gc_report *r)
{
	free(r->removed);
	al_cache_usage_clear(&r->after);
	*r = (struct al_cache_gc_report){0};
}
