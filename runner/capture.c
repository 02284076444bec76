/* The runner's capture of the command's stdout and stderr: each stream keeps its first
 * and last bytes within the run's cap, and says how many it dropped in between. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/macros.h"
#include "runner/sandbox-int.h"

void
al_capture_init(struct al_capture *c, int fd, size_t cap)
{
	c->fd = fd;
	c->head_cap = cap / 2;
	c->tail_cap = cap - c->head_cap;
	al_buf_init(&c->head, c->head_cap);
	c->tail = NULL;
	c->tail_pos = c->tail_len = 0;
	c->total = 0;
}

void
al_capture_free(struct al_capture *c)
{
	al_closep(&c->fd);
	c->fd = -1;
	al_buf_free(&c->head);
	free(c->tail);
	c->tail = NULL;
}

static void
ring_put(struct al_capture *c, const char *p, size_t n)
{
	size_t first;

	if (n >= c->tail_cap) {
		memcpy(c->tail, p + n - c->tail_cap, c->tail_cap);
		c->tail_pos = 0;
		c->tail_len = c->tail_cap;
		return;
	}
	first = c->tail_cap - c->tail_pos;
	if (first > n)
		first = n;
	memcpy(c->tail + c->tail_pos, p, first);
	memcpy(c->tail, p + first, n - first);
	c->tail_pos = (c->tail_pos + n) % c->tail_cap;
	c->tail_len = c->tail_len + n > c->tail_cap ? c->tail_cap : c->tail_len + n;
}

/* Keeps the first head_cap bytes and the last tail_cap; memory never grows past that.
 * Bytes that cannot be stored (allocation failure) are counted as dropped. */
static void
capture_feed(struct al_capture *c, const char *p, size_t n)
{
	size_t room = c->head_cap - c->head.len;
	size_t h = n < room ? n : room;

	c->total += n;
	if (h && al_buf_append(&c->head, p, h) < 0)
		c->head_cap = c->head.len;
	p += h;
	n -= h;
	if (n == 0 || c->tail_cap == 0)
		return;
	if (!c->tail) {
		c->tail = malloc(c->tail_cap);
		if (!c->tail) {
			c->tail_cap = 0;
			return;
		}
	}
	ring_put(c, p, n);
}

/* Reads what is there now; a bounded number of chunks so one stream cannot starve the
 * other or the clock. */
void
al_capture_read(struct al_capture *c)
{
	char chunk[65536];

	for (int i = 0; i < 16 && c->fd >= 0; i++) {
		ssize_t n = read(c->fd, chunk, sizeof(chunk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(c->fd);
			c->fd = -1;
			return;
		}
		capture_feed(c, chunk, (size_t)n);
	}
}

int
al_capture_finish(struct al_capture *c, char **ret_data, size_t *ret_len, size_t *ret_dropped)
{
	size_t dropped = c->total - c->head.len - c->tail_len;
	size_t start = c->tail_len == c->tail_cap ? c->tail_pos : 0;
	size_t first = c->tail_len < c->tail_cap - start ? c->tail_len : c->tail_cap - start;
	struct al_buf out;
	int r;

	al_buf_init(&out, c->head.len + c->tail_len + AL_SANDBOX_MARKER_MAX);
	r = al_buf_append(&out, c->head.data ? c->head.data : "", c->head.len);
	if (r == 0 && dropped)
		r = al_buf_printf(&out, "\n[airlock: %zu bytes dropped]\n", dropped);
	if (r == 0 && c->tail_len) {
		r = al_buf_append(&out, c->tail + start, first);
		if (r == 0)
			r = al_buf_append(&out, c->tail, c->tail_len - first);
	}
	if (r == 0) {
		*ret_data = al_buf_steal(&out, ret_len);
		r = *ret_data ? 0 : -ENOMEM;
	}
	al_buf_free(&out);
	if (r == 0)
		*ret_dropped = dropped;
	return r;
}
