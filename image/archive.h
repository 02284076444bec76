/* libarchive for image/oci.c: an oci-archive's layout files copied out by exact name. */
#pragma once

#include <stdbool.h>

#include "lib/err.h"

/* Copies oci-layout, index.json and blobs/sha256/<64 hex> regular files (nothing else)
 * from the tar at path into a new private directory under $TMPDIR; the caller owns
 * *ret_dir and removes it. */
int al_image_archive_extract(const char *path, char **ret_dir, struct al_err *err);
/* Whether libarchive reads zstd itself (not through an external program). */
bool al_image_zstd_supported(void);
