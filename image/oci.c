/* OCI image layouts: index.json -> manifest -> config and layers, each blob checked against
 * its digest and size as it is read. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/archive.h"
#include "image/oci.h"
#include "lib/utf8.h"
#include "lib/fileio.h"
#include "lib/hex.h"
#include "lib/macros.h"

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

struct al_image {
	int root_fd;
	char *tmpdir; /* owned: an oci-archive's copy, removed on free */
	char digest[AL_IMAGE_DIGEST_MAX];
	char *config; /* owned */
	size_t config_len;
	struct al_image_manifest manifest;
};

struct al_image_blob {
	int fd;
	char digest[AL_IMAGE_DIGEST_MAX];
	uint64_t size, got;
	crypto_hash_sha256_state st;
};

static const struct {
	const char *media_type;
	enum al_image_compression compression;
} layer_types[] = {
    {"application/vnd.oci.image.layer.v1.tar", AL_IMAGE_TAR},
    {"application/vnd.oci.image.layer.v1.tar+gzip", AL_IMAGE_GZIP},
    {"application/vnd.oci.image.layer.v1.tar+zstd", AL_IMAGE_ZSTD},
    {"application/vnd.docker.image.rootfs.diff.tar.gzip", AL_IMAGE_GZIP},
};

static bool
digest_valid(const char *d)
{
	if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return false;
	for (d += 7; *d; d++)
		if (!((*d >= '0' && *d <= '9') || (*d >= 'a' && *d <= 'f')))
			return false;
	return true;
}

/* ---- blobs ---- */

int
al_image_blob_open(const struct al_image *img, const char *digest, uint64_t size,
		   struct al_image_blob **ret, struct al_err *err)
{
	_cleanup_free_ char *rel = NULL;
	_cleanup_close_ int fd = -1;
	struct al_image_blob *b;
	struct stat st;

	if (!digest_valid(digest))
		return al_err_set(err, -EINVAL, "blob digest \"%.80s\" is not sha256:<64 hex>",
				  digest);
	if (asprintf(&rel, "blobs/sha256/%s", digest + 7) < 0)
		return al_err_set(err, -ENOMEM, "out of memory");
	fd = openat(img->root_fd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return al_err_set(err, -errno, "blob %s: %s", digest,
				  errno == ENOENT ? "missing" : strerror(errno));
	if (fstat(fd, &st) < 0)
		return al_err_set(err, -errno, "blob %s: %s", digest, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return al_err_set(err, -EINVAL, "blob %s: not a regular file", digest);
	if ((uint64_t)st.st_size != size)
		return al_err_set(err, -EINVAL, "blob %s: size %lld, declared %llu", digest,
				  (long long)st.st_size, (unsigned long long)size);
	b = calloc(1, sizeof(*b));
	if (!b)
		return al_err_set(err, -ENOMEM, "out of memory");
	b->fd = steal_fd(&fd);
	snprintf(b->digest, sizeof(b->digest), "%s", digest);
	b->size = size;
	crypto_hash_sha256_init(&b->st);
	*ret = b;
	return 0;
}

ssize_t
al_image_blob_read(struct al_image_blob *b, void *buf, size_t n)
{
	ssize_t k;

	do
		k = read(b->fd, buf, n);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	b->got += (uint64_t)k;
	if (b->got > b->size)
		return -EFBIG;
	crypto_hash_sha256_update(&b->st, buf, (size_t)k);
	return k;
}

int
al_image_blob_finish(struct al_image_blob *b, struct al_err *err)
{
	unsigned char buf[16384], sum[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	ssize_t k;

	while ((k = al_image_blob_read(b, buf, sizeof(buf))) > 0)
		;
	if (k == -EFBIG || b->got != b->size)
		return al_err_set(err, -EINVAL, "blob %s: size does not match the declared %llu",
				  b->digest, (unsigned long long)b->size);
	if (k < 0)
		return al_err_set(err, (int)k, "blob %s: %s", b->digest, strerror((int)-k));
	crypto_hash_sha256_final(&b->st, sum);
	al_hex_encode(sum, sizeof(sum), hex);
	if (strcmp(hex, b->digest + 7) != 0)
		return al_err_set(err, -EINVAL, "blob %s: digest mismatch (content is sha256:%s)",
				  b->digest, hex);
	return 0;
}

void
al_image_blob_free(struct al_image_blob *b)
{
	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	free(b);
}

/* Reads a whole JSON blob (at most AL_IMAGE_JSON_MAX), checked against its digest and
 * size, NUL-terminated. */
static int
blob_text(const struct al_image *img, const struct al_image_desc *d, char **ret, size_t *ret_len,
	  struct al_err *err)
{
	_cleanup_(al_image_blob_freep) struct al_image_blob *b = NULL;
	_cleanup_free_ char *text = NULL;
	size_t off = 0;
	ssize_t k;
	int r;

	if (d->size > AL_IMAGE_JSON_MAX)
		return al_err_set(err, -EFBIG, "blob %s: %llu bytes, over the %u-byte cap",
				  d->digest, (unsigned long long)d->size, AL_IMAGE_JSON_MAX);
	r = al_image_blob_open(img, d->digest, d->size, &b, err);
	if (r < 0)
		return r;
	text = malloc(d->size + 1);
	if (!text)
		return al_err_set(err, -ENOMEM, "out of memory");
	while (off < d->size && (k = al_image_blob_read(b, text + off, d->size - off)) > 0)
		off += (size_t)k;
	text[off] = '\0';
	r = al_image_blob_finish(b, err);
	if (r < 0)
		return r;
	*ret = steal_pointer(&text);
	*ret_len = off;
	return 0;
}

static int
object_parse(const char *text, size_t len, json_t **ret, struct al_err *err)
{
	json_error_t je;
	json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (!j || !json_is_object(j)) {
		json_decref(j);
		return al_err_set(err, -EINVAL, "not a JSON object: %s", al_text_shown(je.text));
	}
	*ret = j;
	return 0;
}

/* ---- descriptors, index, manifest ---- */

static int
desc_parse(json_t *j, const char *what, struct al_image_desc *ret, struct al_err *err)
{
	const char *digest = json_string_value(json_object_get(j, "digest"));
	json_t *size = json_object_get(j, "size");

	if (!json_is_object(j))
		return al_err_set(err, -EINVAL, "%s: not a descriptor object", what);
	if (!digest || !digest_valid(digest))
		return al_err_set(err, -EINVAL, "%s: digest \"%.80s\" is not sha256:<64 hex>", what,
				  digest ? al_text_shown(digest) : "");
	if (!json_is_integer(size) || json_integer_value(size) < 0)
		return al_err_set(err, -EINVAL, "%s %s: size is not a non-negative integer", what,
				  digest);
	snprintf(ret->digest, sizeof(ret->digest), "%s", digest);
	ret->size = (uint64_t)json_integer_value(size);
	snprintf(ret->media_type, sizeof(ret->media_type), "%s",
		 json_string_value(json_object_get(j, "mediaType")) ?: "");
	return 0;
}

static bool
is_linux_amd64(json_t *m)
{
	json_t *p = json_object_get(m, "platform");
	const char *os = json_string_value(json_object_get(p, "os"));
	const char *arch = json_string_value(json_object_get(p, "architecture"));

	return os && arch && strcmp(os, "linux") == 0 && strcmp(arch, "amd64") == 0;
}

/* The one manifest an index names: the only one, or the only one for linux/amd64. */
static int
index_pick(json_t *index, struct al_image_desc *ret, struct al_err *err)
{
	json_t *ms = json_object_get(index, "manifests"), *m, *pick = NULL;
	size_t i, n = 0;

	if (!json_is_array(ms) || json_array_size(ms) == 0)
		return al_err_set(err, -EINVAL, "no manifests");
	if (json_array_size(ms) == 1)
		return desc_parse(json_array_get(ms, 0), "manifest", ret, err);
	json_array_foreach (ms, i, m) {
		if (is_linux_amd64(m)) {
			pick = m;
			n++;
		}
	}
	if (n != 1)
		return al_err_set(err, -EINVAL,
				  "%zu manifests and %s for linux/amd64: name one image",
				  json_array_size(ms), n == 0 ? "none" : "several");
	return desc_parse(pick, "manifest", ret, err);
}

int
al_image_index_parse(const char *text, size_t len, const char *where, struct al_image_desc *ret,
		     struct al_err *err)
{
	struct al_image_desc d;
	json_t *index = NULL;
	int r = object_parse(text, len, &index, err);

	if (r == 0)
		r = index_pick(index, &d, err);
	json_decref(index);
	if (r < 0) {
		al_err_prefix(err, "%s", where);
		return r;
	}
	*ret = d;
	return 0;
}

static bool
is_index_type(const char *mt)
{
	return strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0;
}

static bool
is_manifest_type(const char *mt)
{
	return strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0;
}

/* index.json's text -> manifest descriptor, following one nested index. */
static int
resolve_manifest(struct al_image *img, const char *index, size_t len, struct al_image_desc *ret,
		 struct al_err *err)
{
	struct al_image_desc d;
	int r = al_image_index_parse(index, len, "index.json", &d, err);

	if (r < 0)
		return r;
	if (is_index_type(d.media_type)) {
		_cleanup_free_ char *nested = NULL;
		char where[16 + AL_IMAGE_DIGEST_MAX];
		size_t n;

		snprintf(where, sizeof(where), "index %s", d.digest);
		r = blob_text(img, &d, &nested, &n, err);
		if (r == 0)
			r = al_image_index_parse(nested, n, where, &d, err);
		if (r == 0 && is_index_type(d.media_type))
			r = al_err_set(err, -EINVAL, "%s: names another index (one level only)",
				       where);
		if (r < 0)
			return r;
	}
	if (!is_manifest_type(d.media_type))
		return al_err_set(err, -EINVAL,
				  "manifest %s: media type \"%.100s\" is not an image manifest",
				  d.digest, al_text_shown(d.media_type));
	*ret = d;
	return 0;
}

static int
layer_parse(json_t *j, size_t i, struct al_image_layer *ret, struct al_err *err)
{
	char what[32];
	struct al_image_desc d;
	size_t k;
	int r;

	snprintf(what, sizeof(what), "layer %zu", i + 1);
	r = desc_parse(j, what, &d, err);
	if (r < 0)
		return r;
	for (k = 0; k < AL_ARRAY_SIZE(layer_types); k++)
		if (strcmp(d.media_type, layer_types[k].media_type) == 0)
			break;
	if (k == AL_ARRAY_SIZE(layer_types))
		return al_err_set(err, -EINVAL,
				  "layer %zu (%s): media type \"%.100s\" is not a tar, tar+gzip or "
				  "tar+zstd layer",
				  i + 1, d.digest, al_text_shown(d.media_type));
	if (layer_types[k].compression == AL_IMAGE_ZSTD && !al_image_zstd_supported())
		return al_err_set(err, -ENOTSUP,
				  "layer %zu (%s): tar+zstd, which this build of libarchive cannot "
				  "read",
				  i + 1, d.digest);
	snprintf(ret->digest, sizeof(ret->digest), "%s", d.digest);
	ret->size = d.size;
	ret->compression = layer_types[k].compression;
	ret->media_type = layer_types[k].media_type;
	return 0;
}

static int
config_desc_parse(json_t *j, struct al_image_desc *ret, struct al_err *err)
{
	int r = desc_parse(j, "config", ret, err);

	if (r < 0)
		return r;
	if (strcmp(ret->media_type, MT_OCI_CONFIG) != 0 &&
	    strcmp(ret->media_type, MT_DOCKER_CONFIG) != 0)
		return al_err_set(err, -EINVAL,
				  "config %s: media type \"%.100s\" is not an image config",
				  ret->digest, al_text_shown(ret->media_type));
	return 0;
}

/* The manifest's own checks, its config's descriptor and its layers, into m. */
static int
manifest_fill(json_t *j, const struct al_image_desc *md, struct al_image_manifest *m,
	      struct al_err *err)
{
	const char *mt = json_string_value(json_object_get(j, "mediaType"));
	json_t *layers = json_object_get(j, "layers"), *l;
	size_t i;
	int r;

	if (mt && strcmp(mt, md->media_type) != 0)
		return al_err_set(err, -EINVAL, "says media type \"%.100s\", index says \"%.100s\"",
				  al_text_shown(mt), al_text_shown(md->media_type));
	if (!json_is_array(layers))
		return al_err_set(err, -EINVAL, "no layers array");
	if (json_array_size(layers) > AL_IMAGE_LAYERS_MAX)
		return al_err_set(err, -E2BIG, "%zu layers, over the cap of %d",
				  json_array_size(layers), AL_IMAGE_LAYERS_MAX);
	r = config_desc_parse(json_object_get(j, "config"), &m->config, err);
	json_array_foreach (layers, i, l) {
		if (r < 0)
			break;
		r = layer_parse(l, i, &m->layers[i], err);
		m->n_layers = i + 1;
	}
	return r;
}

int
al_image_manifest_parse(const char *text, size_t len, const struct al_image_desc *md,
			struct al_image_manifest *ret, struct al_err *err)
{
	_cleanup_free_ struct al_image_manifest *m = calloc(1, sizeof(*m));
	json_t *j = NULL;
	int r;

	if (!m)
		return al_err_set(err, -ENOMEM, "out of memory");
	r = object_parse(text, len, &j, err);
	if (r == 0)
		r = manifest_fill(j, md, m, err);
	json_decref(j);
	if (r < 0) {
		al_err_prefix(err, "manifest %s", md->digest);
		return r;
	}
	*ret = *m;
	return 0;
}

int
al_image_config_check(const char *text, size_t len, const char *where, struct al_err *err)
{
	json_t *j = NULL;
	int r = object_parse(text, len, &j, err);

	json_decref(j);
	if (r < 0)
		al_err_prefix(err, "%s", where);
	return r;
}

static int
config_load(struct al_image *img, const struct al_image_desc *d, struct al_err *err)
{
	_cleanup_free_ char *text = NULL;
	char where[16 + AL_IMAGE_DIGEST_MAX];
	size_t n;
	int r = blob_text(img, d, &text, &n, err);

	snprintf(where, sizeof(where), "config %s", d->digest);
	if (r == 0)
		r = al_image_config_check(text, n, where, err);
	if (r < 0)
		return r;
	img->config_len = strlen(text);
	img->config = steal_pointer(&text);
	return 0;
}

static int
manifest_load(struct al_image *img, const struct al_image_desc *md, struct al_err *err)
{
	_cleanup_(al_image_blob_freep) struct al_image_blob *b = NULL;
	_cleanup_free_ char *text = NULL;
	const struct al_image_manifest *m = &img->manifest;
	size_t i, n;
	int r = blob_text(img, md, &text, &n, err);

	if (r < 0) {
		al_err_prefix(err, "manifest");
		return r;
	}
	r = al_image_manifest_parse(text, n, md, &img->manifest, err);
	if (r < 0)
		return r;
	r = config_load(img, &m->config, err);
	/* Each layer blob must be there with its declared size; its digest is checked as the
	 * layer is unpacked. */
	for (i = 0; r == 0 && i < m->n_layers; i++) {
		r = al_image_blob_open(img, m->layers[i].digest, m->layers[i].size, &b, err);
		al_image_blob_free(steal_pointer(&b));
	}
	if (r < 0)
		al_err_prefix(err, "manifest %s", md->digest);
	return r;
}

/* oci-layout must say imageLayoutVersion 1.0.0. */
static int
layout_check(int root_fd, struct al_err *err)
{
	_cleanup_close_ int fd = openat(root_fd, "oci-layout", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ char *text = NULL;
	const char *v;
	json_t *j;
	size_t n;
	int r;

	if (fd < 0)
		return al_err_set(err, -errno, "oci-layout: %s", strerror(errno));
	r = al_fd_read_all(fd, 4096, &text, &n);
	if (r < 0)
		return al_err_set(err, r, "oci-layout: %s", strerror(-r));
	j = json_loadb(text, n, JSON_REJECT_DUPLICATES, NULL);
	v = json_string_value(json_object_get(j, "imageLayoutVersion"));
	r = v && strcmp(v, "1.0.0") == 0 ? 0 : -EINVAL;
	json_decref(j);
	if (r < 0)
		return al_err_set(err, r, "oci-layout: imageLayoutVersion is not \"1.0.0\"");
	return 0;
}

static int
index_read(int root_fd, char **ret, size_t *ret_len, struct al_err *err)
{
	_cleanup_close_ int fd = openat(root_fd, "index.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int r;

	if (fd < 0)
		return al_err_set(err, -errno, "index.json: %s", strerror(errno));
	r = al_fd_read_all(fd, AL_IMAGE_JSON_MAX, ret, ret_len);
	if (r < 0)
		return al_err_set(err, r, "index.json: %s",
				  r == -EFBIG ? "over the 4 MiB cap" : strerror(-r));
	return 0;
}

static int
image_load(struct al_image *img, struct al_err *err)
{
	_cleanup_free_ char *index = NULL;
	struct al_image_desc md;
	size_t n;
	int r = layout_check(img->root_fd, err);

	if (r == 0)
		r = index_read(img->root_fd, &index, &n, err);
	if (r == 0)
		r = resolve_manifest(img, index, n, &md, err);
	if (r == 0)
		r = manifest_load(img, &md, err);
	if (r < 0)
		return r;
	snprintf(img->digest, sizeof(img->digest), "%s", md.digest);
	return 0;
}

int
al_image_open(const char *path, struct al_image **ret, struct al_err *err)
{
	_cleanup_(al_image_freep) struct al_image *img = calloc(1, sizeof(*img));
	struct stat st;
	int r;

	if (!img)
		return al_err_set(err, -ENOMEM, "out of memory");
	img->root_fd = -1;
	if (stat(path, &st) < 0)
		return al_err_set(err, -errno, "image %s: %s", path, strerror(errno));
	if (S_ISREG(st.st_mode)) {
		r = al_image_archive_extract(path, &img->tmpdir, err);
		if (r < 0)
			goto fail;
	}
	img->root_fd = open(img->tmpdir ? img->tmpdir : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (img->root_fd < 0)
		return al_err_set(err, -errno, "image %s: %s", path,
				  errno == ENOTDIR ? "neither a layout directory nor an oci-archive"
						   : strerror(errno));
	r = image_load(img, err);
	if (r < 0)
		goto fail;
	*ret = steal_pointer(&img);
	return 0;
fail:
	/* r, not what al_err_prefix returns: that is 0 when err is NULL */
	al_err_prefix(err, "image %s", path);
	return r;
}

void
al_image_free(struct al_image *img)
{
	if (!img)
		return;
	if (img->root_fd >= 0)
		close(img->root_fd);
	if (img->tmpdir)
		al_rm_rf(img->tmpdir);
	free(img->tmpdir);
	free(img->config);
	free(img);
}

const char *
al_image_digest(const struct al_image *img)
{
	return img->digest;
}

const char *
al_image_config(const struct al_image *img, size_t *ret_len)
{
	if (ret_len)
		*ret_len = img->config_len;
	return img->config;
}

size_t
al_image_layer_count(const struct al_image *img)
{
	return img->manifest.n_layers;
}

const struct al_image_layer *
al_image_layer(const struct al_image *img, size_t i)
{
	return i < img->manifest.n_layers ? &img->manifest.layers[i] : NULL;
}
