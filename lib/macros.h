/* Small language helpers shared by every module: cleanup attributes and ownership moves. */
#pragma once

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#define AL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define AL_UNUSED __attribute__((unused))
#define AL_STRINGIFY_(x) #x
#define AL_STRINGIFY(x) AL_STRINGIFY_(x)

static inline void
al_freep(void *p)
{
	free(*(void **)p);
}

static inline void
al_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(al_freep)
#define _cleanup_close_ _cleanup_(al_closep)

/* Hand ownership out of a cleanup-managed local. */
#define steal_pointer(pp)                     \
	({                                    \
		__typeof__(*(pp)) _p = *(pp); \
		*(pp) = NULL;                 \
		_p;                           \
	})

#define steal_fd(fdp)             \
	({                        \
		int _fd = *(fdp); \
		*(fdp) = -1;      \
		_fd;              \
	})
