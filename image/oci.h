/* An OCI image the operator produced: an image layout directory or an oci-archive tar of
 * one, resolved to one manifest (linux/amd64 when the index offers several), its config
 * and its layers. Every blob read is checked against its digest and declared size. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

/* "sha256:" and 64 lowercase hex digits, NUL-terminated. */
#define AL_IMAGE_DIGEST_MAX 72
/* Caps on what an image may declare. */
#define AL_IMAGE_JSON_MAX (4u << 20)
#define AL_IMAGE_LAYERS_MAX 128

enum al_image_compression {
	AL_IMAGE_TAR,
	AL_IMAGE_GZIP,
	AL_IMAGE_ZSTD,
};

struct al_image_layer {
	char digest[AL_IMAGE_DIGEST_MAX];
	uint64_t size;
	enum al_image_compression compression;
	const char *media_type; /* a static string */
};

/* One descriptor (OCI image spec "Descriptor"): what a digest names and how big it is. */
struct al_image_desc {
	char digest[AL_IMAGE_DIGEST_MAX];
	uint64_t size;
	char media_type[128]; /* "" when absent */
};

/* What an image manifest names: its config and its layers. */
struct al_image_manifest {
	struct al_image_desc config;
	struct al_image_layer layers[AL_IMAGE_LAYERS_MAX];
	size_t n_layers;
};

struct al_image;
struct al_image_blob;

/* The parsers of the layout's JSON documents, from bytes an image supplies (al_image_open
 * reads its files and blobs with them). where names the document in errors; the errors
 * never quote a control character. ret is untouched on failure.
 * al_image_index_parse: an index (index.json or a nested one) to the one manifest it
 * names: its only entry, or its only linux/amd64 one. The media type is not checked.
 * al_image_manifest_parse: an image manifest that md names (its media type must agree with
 * md's) to its config's descriptor and its layers; no blob is looked at.
 * al_image_config_check: an image config, which must be one JSON object. */
int al_image_index_parse(const char *text, size_t len, const char *where, struct al_image_desc *ret,
			 struct al_err *err);
int al_image_manifest_parse(const char *text, size_t len, const struct al_image_desc *md,
			    struct al_image_manifest *ret, struct al_err *err);
int al_image_config_check(const char *text, size_t len, const char *where, struct al_err *err);

/* path is an OCI image layout directory or an oci-archive tar file (whose layout files are
 * copied, by exact name only, into a private temporary directory removed by
 * al_image_free). Reads and checks index.json, the manifest and the config; checks that
 * every layer blob is there with its declared size. */
int al_image_open(const char *path, struct al_image **ret, struct al_err *err);
void al_image_free(struct al_image *img);
static inline void
al_image_freep(struct al_image **img)
{
	al_image_free(*img);
}

/* The image's identity: the manifest's digest, "sha256:<hex>". */
const char *al_image_digest(const struct al_image *img);
/* The config blob (JSON text, NUL-terminated): Env, WorkingDir, User live under "config". */
const char *al_image_config(const struct al_image *img, size_t *ret_len);
size_t al_image_layer_count(const struct al_image *img);
/* Layers in the order they apply, lowest first; NULL past the end. */
const struct al_image_layer *al_image_layer(const struct al_image *img, size_t i);

/* A blob opened for one streaming read: every byte read is hashed and counted; reading
 * past the declared size fails with -EFBIG. al_image_blob_finish reads what is left and
 * checks size and digest, with an error naming the blob. */
int al_image_blob_open(const struct al_image *img, const char *digest, uint64_t size,
		       struct al_image_blob **ret, struct al_err *err);
ssize_t al_image_blob_read(struct al_image_blob *b, void *buf, size_t n);
int al_image_blob_finish(struct al_image_blob *b, struct al_err *err);
void al_image_blob_free(struct al_image_blob *b);
static inline void
al_image_blob_freep(struct al_image_blob **b)
{
	al_image_blob_free(*b);
}
