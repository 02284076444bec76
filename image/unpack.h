/* Applies an image's layers, in order, into a new root directory tree. */
#pragma once

#include <stdint.h>

#include "image/oci.h"
#include "lib/err.h"

#define AL_UNPACK_ENTRIES_MAX 1000000ull
#define AL_UNPACK_BYTES_MAX (64ull << 30)

struct al_unpack_caps {
	uint64_t entries; /* tar entries over all layers */
	uint64_t bytes;	  /* file content written */
};

struct al_unpack_stats {
	uint64_t entries;	  /* tar entries read, whiteouts and dropped ones included */
	uint64_t bytes;		  /* file content written */
	uint64_t whiteouts;	  /* .wh.NAME and opaque markers applied */
	uint64_t devices_dropped; /* character and block devices, FIFOs, sockets */
	uint64_t setid_dropped;	  /* entries whose set-uid or set-gid bit was cleared */
	uint64_t hardlinks;
};

/* dest_dir must be absent or an empty directory. The tree is built in a sibling
 * dest_dir.tmp-XXXXXX and renamed into place only when every layer applied and matched its
 * digest; on any error nothing is left. Refused: absolute paths, ".." components, any
 * write through a symlink, hardlinks to what is not already in the tree, unknown entry
 * types, the caps. Dropped: devices, FIFOs, sockets, set-uid and set-gid bits, ownership. */
int al_image_unpack(const struct al_image *img, const char *dest_dir, struct al_unpack_stats *ret,
		    struct al_err *err);
int al_image_unpack_capped(const struct al_image *img, const char *dest_dir,
			   const struct al_unpack_caps *caps, struct al_unpack_stats *ret,
			   struct al_err *err);
