/* A growable byte buffer with a hard cap fixed when it is made. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct al_buf {
	char *data; /* owned, always NUL-terminated when non-NULL */
	size_t len;
	size_t alloc;
	size_t cap; /* len never exceeds this */
};

void al_buf_init(struct al_buf *b, size_t cap);
void al_buf_free(struct al_buf *b);
/* -E2BIG when the cap would be passed (buffer unchanged), -ENOMEM on allocation failure. */
int al_buf_append(struct al_buf *b, const void *p, size_t n);
int al_buf_puts(struct al_buf *b, const char *s);
int al_buf_printf(struct al_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Give the bytes to the caller (NUL-terminated, never NULL on success). */
char *al_buf_steal(struct al_buf *b, size_t *ret_len);

/* Appends to a fixed buffer that is filled from fixed tables: overflowing it is a bug, not
 * an input, so it aborts. */
void al_fixed_printf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
