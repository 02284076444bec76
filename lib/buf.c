#include "buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
al_buf_init(struct al_buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
}

void
al_buf_free(struct al_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->alloc = 0;
}

static int
reserve(struct al_buf *b, size_t n)
{
	size_t want, sz;
	char *p;

	if (n > b->cap - b->len)
		return -E2BIG;
	want = b->len + n + 1;
	if (want <= b->alloc)
		return 0;
	sz = b->alloc ? b->alloc : 256;
	while (sz < want)
		sz = sz > ((size_t)-1) / 2 ? want : sz * 2;
	p = realloc(b->data, sz);
	if (!p)
		return -ENOMEM;
	b->data = p;
	b->alloc = sz;
	return 0;
}

int
al_buf_append(struct al_buf *b, const void *p, size_t n)
{
	int r = reserve(b, n);

	if (r < 0)
		return r;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
al_buf_puts(struct al_buf *b, const char *s)
{
	return al_buf_append(b, s, strlen(s));
}

int
al_buf_printf(struct al_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	r = reserve(b, (size_t)n);
	if (r < 0)
		return r;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *
al_buf_steal(struct al_buf *b, size_t *ret_len)
{
	char *p;

	if (!b->data && al_buf_append(b, "", 0) < 0)
		return NULL;
	p = b->data;
	if (ret_len)
		*ret_len = b->len;
	b->data = NULL;
	b->len = b->alloc = 0;
	return p;
}

void
al_fixed_printf(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len)
		abort();
	*len += (size_t)n;
}
