/* oci-archive: a tar of an OCI image layout. Only the layout's own files are written, by
 * exact name, into a private directory; every other entry is skipped unread. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive.h"
#include "lib/fileio.h"
#include "lib/macros.h"

/* The layout files together: the blobs an image may carry (as its unpacked layers do). */
#define ARCHIVE_BYTES_MAX (64ull << 30)

bool
al_image_zstd_supported(void)
{
	struct archive *a = archive_read_new();
	bool ok = a && archive_read_support_filter_zstd(a) == ARCHIVE_OK;

	archive_read_free(a);
	return ok;
}

static bool
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return s[64] == '\0';
}

/* The name a layout file has in the copy, or NULL for an entry that is skipped. */
static const char *
layout_name(const char *name)
{
	while (name[0] == '.' && name[1] == '/')
		name += 2;
	if (strcmp(name, "oci-layout") == 0 || strcmp(name, "index.json") == 0)
		return name;
	if (strncmp(name, "blobs/sha256/", 13) == 0 && is_hex64(name + 13))
		return name;
	return NULL;
}

static int
copy_entry(struct archive *a, int dir_fd, const char *name, unsigned long long *total,
	   struct al_err *err)
{
	_cleanup_close_ int fd =
	    openat(dir_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	char buf[65536];
	la_ssize_t k;

	if (fd < 0)
		return al_err_set(err, -errno, "archive entry %s: %s", name,
				  errno == EEXIST ? "appears twice" : strerror(errno));
	while ((k = archive_read_data(a, buf, sizeof(buf))) > 0) {
		*total += (unsigned long long)k;
		if (*total > ARCHIVE_BYTES_MAX)
			return al_err_set(err, -EFBIG, "archive: layout files over %llu bytes",
					  ARCHIVE_BYTES_MAX);
		if (al_fd_write_all(fd, buf, (size_t)k) < 0)
			return al_err_set(err, -errno, "archive entry %s: %s", name,
					  strerror(errno));
	}
	if (k < 0)
		return al_err_set(err, -EIO, "archive entry %s: %s", name, archive_error_string(a));
	return 0;
}

static int
copy_layout(struct archive *a, int dir_fd, struct al_err *err)
{
	unsigned long long total = 0;
	struct archive_entry *e;
	const char *name;
	int r;

	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		name = layout_name(archive_entry_pathname(e));
		if (!name)
			continue;
		if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
			return al_err_set(err, -EINVAL, "archive entry %s: not a regular file",
					  name);
		r = copy_entry(a, dir_fd, name, &total, err);
		if (r < 0)
			return r;
	}
	if (r != ARCHIVE_EOF)
		return al_err_set(err, -EIO, "archive: %s", archive_error_string(a));
	return 0;
}

int
al_image_archive_extract(const char *path, char **ret_dir, struct al_err *err)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *dir = NULL;
	_cleanup_close_ int dir_fd = -1;
	struct archive *a;
	int r;

	if (asprintf(&dir, "%s/airlock-image-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	if (!mkdtemp(dir))
		return al_err_set(err, -errno, "temporary directory: %s", strerror(errno));
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0 || mkdirat(dir_fd, "blobs", 0700) < 0 ||
	    mkdirat(dir_fd, "blobs/sha256", 0700) < 0) {
		r = al_err_set(err, -errno, "temporary directory: %s", strerror(errno));
		al_rm_rf(dir);
		return r;
	}
	a = archive_read_new();
	if (!a)
		return al_err_set(err, -ENOMEM, "out of memory");
	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK)
		r = al_err_set(err, -EINVAL, "archive: %s", archive_error_string(a));
	else
		r = copy_layout(a, dir_fd, err);
	archive_read_free(a);
	if (r < 0) {
		al_rm_rf(dir);
		return r;
	}
	*ret_dir = steal_pointer(&dir);
	return 0;
}
