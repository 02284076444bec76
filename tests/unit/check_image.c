/* OCI images: the fixtures come from tests/image/mkimage.sh, built once into a temporary
 * directory; each attack must be refused with its reason and leave nothing behind. */
#include <check.h>
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "image/oci.h"
#include "image/unpack.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/macros.h"

static char fix[PATH_MAX];

static const char *const kinds[] = {
    "good",
    "nested",
    "ambiguous",
    "symlink-escape",
    "symlink-relative",
    "symlink-one-layer",
    "dotdot",
    "absolute",
    "hardlink-dotdot",
    "hardlink-missing",
    "hardlink-symlink",
    "device",
    "setuid",
    "bad-digest",
    "bad-size",
    "missing-blob",
    "manifest-digest",
    "archive",
    "archive-evil",
    "symlink-replace",
    "docker",
    "big-config",
    "many-layers",
    "bad-digest-format",
    "unknown-layer-type",
    "archive-symlink",
    "archive-twice",
    "stale-mode",
    "utf8-name",
};

static int
mkimage(const char *kind)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execlp("bash", "bash", "tests/image/mkimage.sh", fix, kind, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static char *
fixture(const char *name)
{
	char *p = al_path_join(fix, name);

	ck_assert_ptr_nonnull(p);
	return p;
}

static int
open_kind(const char *kind, struct al_image **ret, struct al_err *err)
{
	_cleanup_free_ char *tar = NULL, *path = NULL;
	struct stat st;

	ck_assert_int_ge(asprintf(&tar, "%s/%s.tar", fix, kind), 0);
	path = stat(tar, &st) == 0 ? steal_pointer(&tar) : fixture(kind);
	return al_image_open(path, ret, err);
}

/* Entries of dir whose names start with prefix (all of them for ""). */
static int
count_named(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 &&
		    strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* Nothing escaped, and no copy of an oci-archive outlived its image. */
static void
assert_outside_empty(void)
{
	_cleanup_free_ char *outside = fixture("outside"), *tmp = fixture("tmp");

	ck_assert_int_eq(count_named(outside, ""), 0);
	ck_assert_int_eq(count_named(tmp, ""), 0);
}

static char *
slurp(const char *root, const char *rel)
{
	_cleanup_free_ char *p = al_path_join(root, rel);
	char *data = NULL;
	size_t n;

	if (al_file_read(p, 1 << 20, &data, &n, NULL) < 0)
		return NULL;
	return data;
}

static struct stat
lstat_in(const char *root, const char *rel)
{
	_cleanup_free_ char *p = al_path_join(root, rel);
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (lstat(p, &st) < 0)
		st.st_mode = 0;
	return st;
}

static bool
exists_in(const char *root, const char *rel)
{
	return lstat_in(root, rel).st_mode != 0;
}

static void
assert_content(const char *root, const char *rel, const char *want)
{
	_cleanup_free_ char *got = slurp(root, rel);

	ck_assert_msg(got, "%s missing", rel);
	ck_assert_str_eq(got, want);
}

static void
assert_link(const char *root, const char *rel, const char *want)
{
	_cleanup_free_ char *p = al_path_join(root, rel);
	char buf[PATH_MAX];
	ssize_t n = readlink(p, buf, sizeof(buf) - 1);

	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	ck_assert_str_eq(buf, want);
}

/* Opens and unpacks kind into fix/u-<kind>: the stats, or the error. */
static int
unpack_kind(const char *kind, const struct al_unpack_caps *caps, char **ret_dest,
	    struct al_unpack_stats *st, struct al_err *err)
{
	_cleanup_(al_image_freep) struct al_image *img = NULL;
	int r = open_kind(kind, &img, err);

	ck_assert_msg(r == 0, "%s: %s", kind, al_err_msg(err));
	ck_assert_int_ge(asprintf(ret_dest, "%s/u-%s", fix, kind), 0);
	if (caps)
		return al_image_unpack_capped(img, *ret_dest, caps, st, err);
	return al_image_unpack(img, *ret_dest, st, err);
}

START_TEST(good_image_opens)
{
	_cleanup_(al_image_freep) struct al_image *img = NULL;
	struct al_err err = {0};
	const char *cfg;
	size_t n;

	ck_assert_msg(open_kind("good", &img, &err) == 0, "%s", al_err_msg(&err));
	ck_assert_int_eq(strlen(al_image_digest(img)), 71);
	ck_assert_int_eq(strncmp(al_image_digest(img), "sha256:", 7), 0);
	cfg = al_image_config(img, &n);
	ck_assert_uint_eq(strlen(cfg), n);
	ck_assert_ptr_nonnull(strstr(cfg, "\"WorkingDir\":\"/work\""));
	ck_assert_ptr_nonnull(strstr(cfg, "\"User\":\"1000:1000\""));
	ck_assert_uint_eq(al_image_layer_count(img), 3);
	ck_assert_int_eq(al_image_layer(img, 0)->compression, AL_IMAGE_TAR);
	ck_assert_int_eq(al_image_layer(img, 1)->compression, AL_IMAGE_GZIP);
	ck_assert_int_eq(al_image_layer(img, 2)->compression, AL_IMAGE_ZSTD);
	ck_assert_str_eq(al_image_layer(img, 1)->media_type,
			 "application/vnd.oci.image.layer.v1.tar+gzip");
	ck_assert_uint_gt(al_image_layer(img, 0)->size, 0);
	ck_assert_ptr_null(al_image_layer(img, 3));
}
END_TEST

static void
assert_good_tree(const char *d)
{
	struct stat hello = lstat_in(d, "bin/hello"), hello2 = lstat_in(d, "bin/hello2");

	assert_content(d, "bin/hello", "hello v2");
	ck_assert_int_eq(hello.st_mode & 07777, 0755);
	ck_assert_msg(hello.st_ino == hello2.st_ino && hello.st_nlink == 2, "hardlink kept");
	assert_content(d, "bin/su", "setuid");
	ck_assert_int_eq(lstat_in(d, "bin/su").st_mode & 07777, 0755);
	assert_content(d, "etc/config", "base");
	ck_assert(!exists_in(d, "etc/old")); /* whiteout */
	assert_link(d, "etc/alias", "config");
	assert_link(d, "abs", "/etc/config");
	assert_content(d, "cache/new", "fresh"); /* same layer as the opaque marker */
	ck_assert(!exists_in(d, "cache/a"));
	ck_assert(!exists_in(d, "cache/sub"));
	ck_assert(!exists_in(d, "cache/.wh..wh..opq"));
	ck_assert(!exists_in(d, "etc/.wh.old"));
	ck_assert_int_eq(lstat_in(d, "opt/ro").st_mode & 07777, 0555);
	ck_assert_int_eq(lstat_in(d, "opt/ro/file").st_mode & 07777, 0640);
	assert_content(d, "opt/ro/file", "ro");
	ck_assert(!exists_in(d, "dev")); /* a dropped device makes no parent */
	ck_assert(!exists_in(d, "fifo"));
	ck_assert_int_eq(lstat_in(d, ".").st_mode & 07777, 0755);
	ck_assert_uint_eq(lstat_in(d, "bin/hello").st_uid, getuid());
}

static void
remove_tree(const char *d)
{
	_cleanup_free_ char *ro = al_path_join(d, "opt/ro");

	chmod(ro, 0755); /* so that a user without CAP_DAC_OVERRIDE can remove it */
	ck_assert_int_eq(al_rm_rf(d), 0);
}

START_TEST(good_image_unpacks)
{
	const char *kind = _i ? "archive" : "good";
	_cleanup_free_ char *dest = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_msg(unpack_kind(kind, NULL, &dest, &st, &err) == 0, "%s", al_err_msg(&err));
	assert_good_tree(dest);
	ck_assert_uint_eq(st.entries, 23);
	ck_assert_uint_eq(st.bytes, 48);
	ck_assert_uint_eq(st.whiteouts, 2);
	ck_assert_uint_eq(st.devices_dropped, 2);
	ck_assert_uint_eq(st.setid_dropped, 1);
	ck_assert_uint_eq(st.hardlinks, 1);
	remove_tree(dest);
	ck_assert_int_eq(count_named(fix, strrchr(dest, '/') + 1), 0);
	assert_outside_empty();
}
END_TEST

START_TEST(archive_matches_layout)
{
	_cleanup_(al_image_freep) struct al_image *dir = NULL, *tar = NULL;
	struct al_err err = {0};

	ck_assert_int_eq(open_kind("good", &dir, &err), 0);
	ck_assert_msg(open_kind("archive", &tar, &err) == 0, "%s", al_err_msg(&err));
	ck_assert_str_eq(al_image_digest(dir), al_image_digest(tar));
	al_image_free(steal_pointer(&tar));
	/* Entries outside the layout's names are skipped, never written. */
	ck_assert_msg(open_kind("archive-evil", &tar, &err) == 0, "%s", al_err_msg(&err));
	ck_assert_str_eq(al_image_digest(dir), al_image_digest(tar));
	ck_assert_int_eq(count_named(fix, "archive-blob"), 0);
	al_image_free(steal_pointer(&tar));
	assert_outside_empty();
}
END_TEST

START_TEST(nested_index_picks_amd64)
{
	_cleanup_free_ char *dest = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_msg(unpack_kind("nested", NULL, &dest, &st, &err) == 0, "%s", al_err_msg(&err));
	assert_content(dest, "arch", "amd64");
	ck_assert_int_eq(al_rm_rf(dest), 0);
}
END_TEST

START_TEST(devices_and_setid_dropped)
{
	_cleanup_free_ char *dest = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_msg(unpack_kind("device", NULL, &dest, &st, &err) == 0, "%s", al_err_msg(&err));
	ck_assert_uint_eq(st.devices_dropped, 3);
	ck_assert_uint_eq(st.entries, 4);
	ck_assert_int_eq(count_named(dest, ""), 1);
	assert_content(dest, "kept", "yes");
	ck_assert_int_eq(al_rm_rf(dest), 0);
	free(steal_pointer(&dest));

	ck_assert_msg(unpack_kind("setuid", NULL, &dest, &st, &err) == 0, "%s", al_err_msg(&err));
	ck_assert_uint_eq(st.setid_dropped, 3);
	ck_assert_int_eq(lstat_in(dest, "su").st_mode & 07777, 0755);
	ck_assert_int_eq(lstat_in(dest, "shared").st_mode & 07777, 0775);
	ck_assert_int_eq(lstat_in(dest, "shared/f").st_mode & 07777, 0644);
	ck_assert_int_eq(al_rm_rf(dest), 0);
}
END_TEST

START_TEST(symlink_replaced_not_followed)
{
	_cleanup_free_ char *dest = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_msg(unpack_kind("symlink-replace", NULL, &dest, &st, &err) == 0, "%s",
		      al_err_msg(&err));
	ck_assert(S_ISREG(lstat_in(dest, "a").st_mode));
	assert_content(dest, "a", "replaced");
	assert_outside_empty();
	ck_assert_int_eq(al_rm_rf(dest), 0);
}
END_TEST

START_TEST(docker_manifest_accepted)
{
	_cleanup_free_ char *dest = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_msg(unpack_kind("docker", NULL, &dest, &st, &err) == 0, "%s", al_err_msg(&err));
	assert_content(dest, "file", "docker");
	ck_assert_int_eq(al_rm_rf(dest), 0);
}
END_TEST

START_TEST(removed_directory_mode_forgotten)
{
	_cleanup_free_ char *dest = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_msg(unpack_kind("stale-mode", NULL, &dest, &st, &err) == 0, "%s",
		      al_err_msg(&err));
	ck_assert_int_eq(lstat_in(dest, "p").st_mode & 07777, 0755);
	ck_assert(!exists_in(dest, "p/x"));
	assert_content(dest, "p/y", "y");
	ck_assert_uint_eq(st.whiteouts, 1);
	ck_assert_int_eq(al_rm_rf(dest), 0);
}
END_TEST

static const struct {
	const char *kind;
	bool at_open; /* refused by al_image_open, else by al_image_unpack */
	const char *reason;
} refusals[] = {
    {"symlink-escape", false, "\"a\" is a symlink: nothing is written through it"},
    {"symlink-relative", false, "\"d/a\" is a symlink"},
    {"symlink-one-layer", false, "\"a\" is a symlink"},
    {"dotdot", false, "\"..\" component refused"},
    {"absolute", false, "absolute path"},
    {"hardlink-dotdot", false, "is outside the tree"},
    {"hardlink-missing", false, "\"not-there\" is not a file already in the tree"},
    {"hardlink-symlink", false, "\"a\" is a symlink"},
    {"bad-digest", false, "digest mismatch"},
    {"bad-size", true, "declared"},
    {"missing-blob", true, "missing"},
    {"manifest-digest", true, "digest mismatch"},
    {"ambiguous", true, "none for linux/amd64"},
    {"big-config", true, "5000000 bytes, over the 4194304-byte cap"},
    {"many-layers", true, "129 layers, over the cap of 128"},
    {"bad-digest-format", true, "is not sha256:<64 hex>"},
    {"unknown-layer-type", true, "is not a tar, tar+gzip or tar+zstd layer"},
    {"archive-symlink", true, "archive entry index.json: not a regular file"},
    {"archive-twice", true, "archive entry index.json: appears twice"},
};

START_TEST(attack_refused)
{
	const char *kind = refusals[_i].kind;
	_cleanup_(al_image_freep) struct al_image *img = NULL;
	_cleanup_free_ char *dest = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};
	char prefix[64];
	int r;

	if (refusals[_i].at_open) {
		ck_assert_int_lt(open_kind(kind, &img, &err), 0);
		ck_assert_ptr_null(img);
	} else {
		r = unpack_kind(kind, NULL, &dest, &st, &err);
		ck_assert_int_lt(r, 0);
		ck_assert_int_eq(access(dest, F_OK), -1);
	}
	ck_assert_msg(strstr(al_err_msg(&err), refusals[_i].reason), "%s: %s", kind,
		      al_err_msg(&err));
	/* No dest and no temporary tree beside it. */
	snprintf(prefix, sizeof(prefix), "u-%s", kind);
	ck_assert_int_eq(count_named(fix, prefix), 0);
	assert_outside_empty();
}
END_TEST

START_TEST(caps_and_dest_refused)
{
	struct al_unpack_caps few_entries = {.entries = 5, .bytes = 1 << 20};
	struct al_unpack_caps few_bytes = {.entries = 100, .bytes = 10};
	_cleanup_free_ char *dest = NULL, *inside = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_int_eq(unpack_kind("good", &few_entries, &dest, &st, &err), -E2BIG);
	ck_assert_ptr_nonnull(strstr(al_err_msg(&err), "over 5 entries"));
	free(steal_pointer(&dest));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(unpack_kind("good", &few_bytes, &dest, &st, &err), -EFBIG);
	ck_assert_ptr_nonnull(strstr(al_err_msg(&err), "over 10 bytes"));
	ck_assert_int_eq(count_named(fix, "u-good"), 0);

	/* A destination that holds anything is refused and kept as it is. */
	inside = al_path_join(dest, "keep");
	ck_assert_int_eq(mkdir(dest, 0755), 0);
	ck_assert_int_eq(mkdir(inside, 0755), 0);
	free(steal_pointer(&dest));
	memset(&err, 0, sizeof(err));
	ck_assert_int_eq(unpack_kind("good", NULL, &dest, &st, &err), -ENOTEMPTY);
	ck_assert_int_eq(access(inside, F_OK), 0);
	ck_assert_int_eq(count_named(fix, "u-good"), 1);
	ck_assert_int_eq(al_rm_rf(dest), 0);
}
END_TEST

/* Names in pax headers are UTF-8 (Debian's images have some that are not ASCII): they
 * reach the tree byte for byte, whatever the process's locale. */
START_TEST(utf8_names_kept)
{
	_cleanup_free_ char *dest = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_msg(unpack_kind("utf8-name", NULL, &dest, &st, &err) == 0, "%s",
		      al_err_msg(&err));
	assert_content(dest, "caf\xc3\xa9/na\xc3\xafve.txt", "\xc3\xbc");
	assert_link(dest, "lien", "caf\xc3\xa9/na\xc3\xafve.txt");
	ck_assert_int_eq(al_rm_rf(dest), 0);
}
END_TEST

/* al_err_prefix returns 0 when err is NULL: a refusal must not turn into success for a
 * caller that did not ask why. */
START_TEST(refused_without_err)
{
	_cleanup_(al_image_freep) struct al_image *img = NULL;
	_cleanup_free_ char *dest = NULL;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_int_lt(open_kind("bad-size", &img, NULL), 0);
	ck_assert_ptr_null(img);
	ck_assert_int_lt(open_kind("archive-twice", &img, NULL), 0);
	ck_assert_ptr_null(img);
	ck_assert_int_eq(open_kind("dotdot", &img, &err), 0);
	ck_assert_int_ge(asprintf(&dest, "%s/u-dotdot-noerr", fix), 0);
	ck_assert_int_lt(al_image_unpack(img, dest, &st, NULL), 0);
	ck_assert_int_eq(access(dest, F_OK), -1);
	ck_assert_int_eq(count_named(fix, "u-dotdot-noerr"), 0);
	assert_outside_empty();
}
END_TEST

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"
#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_CONFIG "application/vnd.oci.image.config.v1+json"

static const struct al_image_desc manifest_desc = {
    .digest = "sha256:" H1, .size = 100, .media_type = MT_MANIFEST};

START_TEST(parsers_read_bytes)
{
	static const char multi[] =
	    "{\"manifests\":[{\"mediaType\":\"" MT_MANIFEST "\",\"digest\":\"sha256:" H1
	    "\",\"size\":5,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
	    "{\"mediaType\":\"" MT_MANIFEST "\",\"digest\":\"sha256:" H2
	    "\",\"size\":7,\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
	static const char manifest[] =
	    "{\"config\":{\"mediaType\":\"" MT_CONFIG "\",\"digest\":\"sha256:" H2
	    "\",\"size\":3},\"layers\":[{\"mediaType\":"
	    "\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:" H1
	    "\",\"size\":9}]}";
	struct al_image_manifest m;
	struct al_image_desc d;
	struct al_err err = {0};

	ck_assert_int_eq(al_image_index_parse(multi, strlen(multi), "index.json", &d, &err), 0);
	ck_assert_str_eq(d.digest, "sha256:" H2);
	ck_assert_uint_eq(d.size, 7);
	ck_assert_str_eq(d.media_type, MT_MANIFEST);
	ck_assert_int_eq(
	    al_image_manifest_parse(manifest, strlen(manifest), &manifest_desc, &m, &err), 0);
	ck_assert_str_eq(m.config.digest, "sha256:" H2);
	ck_assert_uint_eq(m.n_layers, 1);
	ck_assert_int_eq(m.layers[0].compression, AL_IMAGE_GZIP);
	ck_assert_uint_eq(m.layers[0].size, 9);
	ck_assert_int_eq(al_image_config_check("[]", 2, "config", &err), -EINVAL);
	ck_assert_str_eq(al_err_msg(&err), "config: not a JSON object: ");
}
END_TEST

/* What an image's documents say is quoted in errors, which end up in one-line logs and
 * API replies: a control character in it is never copied. */
static const struct {
	bool index;
	const char *doc;
	const char *reason;
} unprintable[] = {
    {true, "{\"manifests\":[{\"digest\":\"sha256:\\n\",\"size\":1}]}",
     "index.json: manifest: digest \"(unprintable)\" is not"},
    {false, "{\"mediaType\":\"x\\u001b[2J\",\"layers\":[]}",
     "says media type \"(unprintable)\", index says \"" MT_MANIFEST "\""},
    {false,
     "{\"layers\":[],\"config\":{\"mediaType\":\"a\\rb\",\"digest\":\"sha256:" H1 "\",\"size\":1}}",
     "media type \"(unprintable)\" is not an image config"},
    {false,
     "{\"config\":{\"mediaType\":\"" MT_CONFIG "\",\"digest\":\"sha256:" H1
     "\",\"size\":1},\"layers\":[{\"mediaType\":\"tar\\n\",\"digest\":\"sha256:" H2
     "\",\"size\":1}]}",
     "media type \"(unprintable)\" is not a tar"},
};

START_TEST(errors_quote_no_control_characters)
{
	const char *doc = unprintable[_i].doc;
	struct al_image_manifest m;
	struct al_image_desc d;
	struct al_err err = {0};
	int r;

	if (unprintable[_i].index)
		r = al_image_index_parse(doc, strlen(doc), "index.json", &d, &err);
	else
		r = al_image_manifest_parse(doc, strlen(doc), &manifest_desc, &m, &err);
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_msg(strstr(al_err_msg(&err), unprintable[_i].reason), "%s", al_err_msg(&err));
	for (const char *p = al_err_msg(&err); *p; p++)
		ck_assert_int_ge((unsigned char)*p, 0x20);
}
END_TEST

/* A path as the image's own loader would resolve it, inside root. */
static int
open_in_root(int root_fd, const char *path)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};

	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

/* An amd64 ELF executable inside root whose program interpreter is there too. */
static void
assert_runnable(int root_fd, const char *path)
{
	_cleanup_close_ int fd = open_in_root(root_fd, path), ld = -1;
	char interp[PATH_MAX] = "";
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	unsigned char magic[4];

	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_int_eq(pread(fd, &eh, sizeof(eh), 0), sizeof(eh));
	ck_assert_msg(memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_machine == EM_X86_64,
		      "%s: not an amd64 ELF file", path);
	for (int i = 0; i < eh.e_phnum; i++) {
		off_t at = (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize);

		ck_assert_int_eq(pread(fd, &ph, sizeof(ph), at), sizeof(ph));
		if (ph.p_type == PT_INTERP && ph.p_filesz < sizeof(interp))
			ck_assert_int_eq(pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset),
					 (ssize_t)ph.p_filesz);
	}
	ck_assert_msg(interp[0] == '/', "%s: no program interpreter", path);
	ld = open_in_root(root_fd, interp);
	ck_assert_msg(ld >= 0, "%s: its interpreter %s is missing", path, interp);
	ck_assert_int_eq(pread(ld, magic, 4, 0), 4);
	ck_assert_int_eq(memcmp(magic, ELFMAG, SELFMAG), 0);
}

/* tests/image/mkdebian.sh's image (run it and set AL_DEBIAN_IMAGE to the path it prints):
 * a real root tree for the environments unpacks with what a test run needs. */
START_TEST(debian_image_unpacks)
{
	_cleanup_(al_image_freep) struct al_image *img = NULL;
	_cleanup_free_ char *dest = NULL;
	_cleanup_close_ int root_fd = -1;
	struct al_unpack_stats st;
	struct al_err err = {0};

	ck_assert_msg(al_image_open(getenv("AL_DEBIAN_IMAGE"), &img, &err) == 0, "%s",
		      al_err_msg(&err));
	ck_assert_uint_eq(al_image_layer_count(img), 1);
	ck_assert_ptr_nonnull(strstr(al_image_config(img, NULL), "\"architecture\":\"amd64\""));
	ck_assert_int_ge(asprintf(&dest, "%s/u-debian", fix), 0);
	ck_assert_msg(al_image_unpack(img, dest, &st, &err) == 0, "%s", al_err_msg(&err));
	ck_assert_uint_gt(st.entries, 10000);
	root_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(root_fd, 0);
	assert_runnable(root_fd, "/usr/bin/python3");
	assert_runnable(root_fd, "/usr/bin/node");
	assert_runnable(root_fd, "/bin/sh");
	ck_assert(exists_in(dest, "usr/lib/python3/dist-packages/pytest/__init__.py"));
	ck_assert(exists_in(dest, "usr/bin/npm"));
	ck_assert(!exists_in(dest, "usr/share/doc/python3"));
	ck_assert(!exists_in(dest, "usr/share/man/man1"));
	ck_assert_int_eq(al_rm_rf(dest), 0);
}
END_TEST

static Suite *
image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("image");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, good_image_opens);
	tcase_add_loop_test(tc, good_image_unpacks, 0, 2);
	tcase_add_test(tc, archive_matches_layout);
	tcase_add_test(tc, nested_index_picks_amd64);
	tcase_add_test(tc, devices_and_setid_dropped);
	tcase_add_test(tc, symlink_replaced_not_followed);
	tcase_add_test(tc, docker_manifest_accepted);
	tcase_add_test(tc, removed_directory_mode_forgotten);
	tcase_add_loop_test(tc, attack_refused, 0, (int)AL_ARRAY_SIZE(refusals));
	tcase_add_test(tc, caps_and_dest_refused);
	tcase_add_test(tc, utf8_names_kept);
	tcase_add_test(tc, refused_without_err);
	tcase_add_test(tc, parsers_read_bytes);
	tcase_add_loop_test(tc, errors_quote_no_control_characters, 0,
			    (int)AL_ARRAY_SIZE(unprintable));
	suite_add_tcase(s, tc);
	if (getenv("AL_DEBIAN_IMAGE")) {
		TCase *deb = tcase_create("debian");

		tcase_set_timeout(deb, 600);
		tcase_add_test(deb, debian_image_unpacks);
		suite_add_tcase(s, deb);
	}
	return s;
}

int
main(void)
{
	const char *tmp = getenv("TMPDIR");
	char tmpdir[PATH_MAX + 8];
	SRunner *sr;
	size_t i;
	int failed;

	snprintf(fix, sizeof(fix), "%s/airlock-check-image-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fix))
		return 1;
	for (i = 0; i < AL_ARRAY_SIZE(kinds); i++) {
		if (mkimage(kinds[i]) < 0) {
			fprintf(stderr, "check_image: mkimage.sh %s failed\n", kinds[i]);
			al_rm_rf(fix);
			return 1;
		}
	}
	/* oci-archives are copied under $TMPDIR: the tests look there for leftovers. */
	snprintf(tmpdir, sizeof(tmpdir), "%s/tmp", fix);
	if (mkdir(tmpdir, 0700) < 0 || setenv("TMPDIR", tmpdir, 1) < 0)
		return 1;
	sr = srunner_create(image_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (!getenv("AL_KEEP_TMP"))
		al_rm_rf(fix);
	return failed == 0 ? 0 : 1;
}
