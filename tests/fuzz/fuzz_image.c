/* The OCI image documents an operator's image supplies: the same bytes go to the index,
 * manifest and config parsers that al_image_open reads index.json and the blobs with. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/oci.h"
#include "tests/fuzz/oracle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char manifest_digest[] =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

static int
is_digest(const char *d)
{
	if (strlen(d) != 71 || strncmp(d, "sha256:", 7) != 0)
		return 0;
	return strspn(d + 7, "0123456789abcdef") == 64;
}

/* A failure says why on one printable line, leaves ret as it was, and does not depend on
 * whether the caller asked for the message. */
static void
check_failure(int r, int r_quiet, const struct al_err *err, const void *ret, const void *before,
	      size_t n)
{
	CHECK(r < 0 && r_quiet == r);
	CHECK(printable(al_err_msg(err), AL_ERR_MSG_MAX));
	CHECK(memcmp(ret, before, n) == 0);
}

static void
check_index(const char *d, size_t size)
{
	struct al_image_desc got, before;
	struct al_err err = {0};
	int r, quiet;

	memset(&got, 0x5a, sizeof(got));
	before = got;
	r = al_image_index_parse(d, size, "index.json", &got, &err);
	quiet = al_image_index_parse(d, size, "index.json", &got, NULL);
	if (r < 0) {
		check_failure(r, quiet, &err, &got, &before, sizeof(got));
		CHECK(strncmp(al_err_msg(&err), "index.json: ", 12) == 0);
		return;
	}
	CHECK(quiet == 0 && is_digest(got.digest));
	CHECK(memchr(got.media_type, '\0', sizeof(got.media_type)));
}

static void
check_manifest(const char *d, size_t size, const char *media_type)
{
	static struct al_image_manifest got, before;
	struct al_image_desc md = {.size = size};
	struct al_err err = {0};
	size_t i;
	int r, quiet;

	snprintf(md.digest, sizeof(md.digest), "%s", manifest_digest);
	snprintf(md.media_type, sizeof(md.media_type), "%s", media_type);
	memset(&got, 0x5a, sizeof(got));
	before = got;
	r = al_image_manifest_parse(d, size, &md, &got, &err);
	quiet = al_image_manifest_parse(d, size, &md, &got, NULL);
	if (r < 0) {
		check_failure(r, quiet, &err, &got, &before, sizeof(got));
		CHECK(strncmp(al_err_msg(&err), "manifest sha256:", 16) == 0);
		return;
	}
	CHECK(quiet == 0 && is_digest(got.config.digest));
	CHECK(got.n_layers <= AL_IMAGE_LAYERS_MAX);
	for (i = 0; i < got.n_layers; i++) {
		const struct al_image_layer *l = &got.layers[i];

		CHECK(is_digest(l->digest) && l->media_type);
		CHECK(strstr(l->media_type, "tar") != NULL);
		CHECK((l->compression == AL_IMAGE_GZIP) == (strstr(l->media_type, "gzip") != NULL));
		CHECK((l->compression == AL_IMAGE_ZSTD) == (strstr(l->media_type, "zstd") != NULL));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *d = (const char *)data;
	struct al_err err = {0};
	int r;

	check_index(d, size);
	check_manifest(d, size, "application/vnd.oci.image.manifest.v1+json");
	check_manifest(d, size, "application/vnd.docker.distribution.manifest.v2+json");
	r = al_image_config_check(d, size, "config", &err);
	CHECK(r == al_image_config_check(d, size, "config", NULL));
	CHECK(r == 0 || printable(al_err_msg(&err), AL_ERR_MSG_MAX));
	return 0;
}
