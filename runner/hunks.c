/* Hunk placement as git apply does it (git's own apply.c: find_pos and match_fragment, with its
 * default of no fuzz), over plain text.
 *
 * A position is tried by comparing a hash of the hunk's old lines with a hash of the file's
 * lines there (polynomial hashes over per-line hashes, modulo 2^61-1, so each try is O(1));
 * only an equal hash is compared byte for byte. Every try and every compared line is paid
 * from a budget, so even a patch made to collide costs a bounded amount. */
#include "runner/hunks.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/macros.h"

#define MOD ((UINT64_C(1) << 61) - 1)
#define BASE UINT64_C(0x0f3d5b79a2c4e687)
#define NO_EOL_MARK "\\ No newline at end of file\n"

static uint64_t
mulmod(uint64_t a, uint64_t b)
{
	unsigned __int128 p = (unsigned __int128)a * b;
	uint64_t r = (uint64_t)(p & MOD) + (uint64_t)(p >> 61);

	return r >= MOD ? r - MOD : r;
}

static uint64_t
powmod(uint64_t b, size_t e)
{
	uint64_t r = 1;

	for (; e; e >>= 1, b = mulmod(b, b))
		if (e & 1)
			r = mulmod(r, b);
	return r;
}

static uint64_t
fnv(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * UINT64_C(0x100000001b3);
	return h;
}

#define FNV_INIT UINT64_C(0xcbf29ce484222325)

/* A line's hash, never 0: the bytes with their newline, if any. */
static uint64_t
line_hash(const char *p, size_t n, int newline)
{
	uint64_t h = fnv(FNV_INIT, p, n);

	if (newline)
		h = fnv(h, "\n", 1);
	return h % (MOD - 1) + 1;
}

/* A text as lines: line i is text[start[i] .. start[i + 1]), its newline included. */
struct image {
	const char *text;
	size_t n;
	size_t *start;	  /* owned; n + 1 entries */
	uint64_t *prefix; /* owned; n + 1 entries, or NULL when not hashed */
};

static void
image_done(struct image *img)
{
	free(img->start);
	free(img->prefix);
	img->start = NULL;
	img->prefix = NULL;
}

static int
image_init(struct image *img, const char *text, size_t len, int hashed)
{
	size_t n = 0, i, k = 0;

	*img = (struct image){.text = text};
	for (i = 0; i < len; i++)
		n += text[i] == '\n';
	if (len && text[len - 1] != '\n')
		n++;
	img->n = n;
	img->start = malloc((n + 1) * sizeof(*img->start));
	if (hashed)
		img->prefix = malloc((n + 1) * sizeof(*img->prefix));
	if (!img->start || (hashed && !img->prefix)) {
		image_done(img);
		return -ENOMEM;
	}
	img->start[0] = 0;
	for (i = 0; i < len; i++)
		if (text[i] == '\n')
			img->start[++k] = i + 1;
	img->start[n] = len;
	if (!hashed)
		return 0;
	img->prefix[0] = 0;
	for (i = 0; i < n; i++) {
		size_t a = img->start[i], b = img->start[i + 1];
		int nl = b > a && text[b - 1] == '\n';

		img->prefix[i + 1] =
		    (mulmod(img->prefix[i], BASE) + line_hash(text + a, b - a - nl, nl)) % MOD;
	}
	return 0;
}

/* The hash of lines [p, p + m). */
static uint64_t
image_window(const struct image *img, size_t p, size_t m, uint64_t base_m)
{
	return (img->prefix[p + m] + MOD - mulmod(img->prefix[p], base_m)) % MOD;
}

/* One hunk's old side: its size, its hash, and the rules git places it by. */
struct preimage {
	size_t m;
	uint64_t hash;
	uint64_t base_m; /* BASE^m */
	int at_top;	 /* stated at line 0 or 1: must match at the top */
	int at_end;	 /* no trailing context: must match at the end */
};

static void
preimage_init(struct preimage *p, const struct al_hunk *h)
{
	size_t trailing = 0;
	int changes = 0;

	*p = (struct preimage){.at_top = h->old_start <= 1};
	for (size_t i = 0; i < h->n_lines; i++) {
		const struct al_hunk_line *l = &h->lines[i];

		if (l->origin == '+') {
			changes = 1;
			trailing = 0;
			continue;
		}
		p->m++;
		p->hash = (mulmod(p->hash, BASE) + line_hash(l->text, l->len, !l->no_eol)) % MOD;
		if (l->origin == '-') {
			changes = 1;
			trailing = 0;
		} else {
			trailing++;
		}
	}
	p->at_end = changes && trailing == 0;
	p->base_m = powmod(BASE, p->m);
}

/* Whether the hunk's old lines are the file's lines at pos: 1, 0, or -E2BIG. */
static int
try_at(const struct image *img, const struct al_hunk *h, const struct preimage *p, size_t pos,
       size_t *budget)
{
	size_t i = pos;

	if (*budget < 1)
		return -E2BIG;
	*budget -= 1;
	if (image_window(img, pos, p->m, p->base_m) != p->hash)
		return 0;
	if (*budget < p->m)
		return -E2BIG;
	*budget -= p->m;
	for (size_t j = 0; j < h->n_lines; j++) {
		const struct al_hunk_line *l = &h->lines[j];
		size_t a, len;

		if (l->origin == '+')
			continue;
		a = img->start[i];
		len = img->start[i + 1] - a;
		i++;
		if (len != l->len + !l->no_eol || memcmp(img->text + a, l->text, l->len) ||
		    (!l->no_eol && img->text[a + l->len] != '\n'))
			return 0;
	}
	return 1;
}

long
al_hunks_stated(const struct al_hunk *h)
{
	/* "-5,0" inserts after line 5; "-5,3" starts at line 5 */
	if (h->old_count == 0 || h->old_start <= 0)
		return h->old_start > 0 ? h->old_start : 0;
	return h->old_start - 1;
}

/* The position of one hunk at or after lo: 0, -ESRCH or -E2BIG. */
static int
find(const struct image *img, const struct al_hunk *h, size_t lo, size_t *budget, size_t *ret)
{
	struct preimage p;
	size_t hi, s, stated = (size_t)al_hunks_stated(h);
	int r;

	preimage_init(&p, h);
	if (p.m > img->n || img->n - p.m < lo)
		return -ESRCH;
	hi = img->n - p.m;
	/* where libgit2 alone would put it first, so nothing that applied before stops now */
	if (stated >= lo && stated <= hi) {
		r = try_at(img, h, &p, stated, budget);
		if (r != 0) {
			*ret = stated;
			return r < 0 ? r : 0;
		}
	}
	if (p.at_top || p.at_end) {
		s = p.at_top ? 0 : hi;
		if ((p.at_top && p.at_end && hi != 0) || s < lo || s == stated)
			return -ESRCH;
		r = try_at(img, h, &p, s, budget);
		*ret = s;
		return r < 0 ? r : r ? 0 : -ESRCH;
	}
	s = stated < lo ? lo : stated > hi ? hi : stated;
	/* outward from the stated line, the later line first at equal distance */
	for (size_t d = 0; d <= hi - lo; d++) {
		size_t pos[2] = {s + d, s - d};
		int ok[2] = {d <= hi - s, d > 0 && d <= s - lo};

		for (int k = 0; k < 2; k++) {
			if (!ok[k] || pos[k] == stated)
				continue;
			r = try_at(img, h, &p, pos[k], budget);
			if (r != 0) {
				*ret = pos[k];
				return r < 0 ? r : 0;
			}
		}
	}
	return -ESRCH;
}

int
al_hunks_place(const char *old, size_t old_len, const struct al_hunk *h, size_t n, size_t *budget,
	       long *ret_pos, size_t *ret_failed)
{
	struct image img;
	_cleanup_free_ long *pos = calloc(n ? n : 1, sizeof(*pos));
	size_t lo = 0;
	int r = image_init(&img, old, old_len, 1);

	if (r < 0 || !pos) {
		image_done(&img);
		return -ENOMEM;
	}
	for (size_t k = 0; k < n; k++) {
		size_t at = 0, m = 0;

		r = find(&img, &h[k], lo, budget, &at);
		if (r < 0) {
			*ret_failed = k;
			break;
		}
		for (size_t j = 0; j < h[k].n_lines; j++)
			m += h[k].lines[j].origin != '+';
		pos[k] = (long)at;
		lo = at + m;
	}
	image_done(&img);
	if (r < 0)
		return r;
	memcpy(ret_pos, pos, n * sizeof(*pos));
	return 0;
}

static int
put_line(struct al_buf *out, const struct al_hunk_line *l)
{
	int r = al_buf_append(out, l->text, l->len);

	if (r == 0 && !l->no_eol)
		r = al_buf_append(out, "\n", 1);
	return r;
}

int
al_hunks_apply(const char *old, size_t old_len, const struct al_hunk *h, size_t n, const long *pos,
	       struct al_buf *out)
{
	struct image img;
	size_t done = 0; /* lines of old already passed */
	int r = image_init(&img, old, old_len, 0);

	for (size_t k = 0; r == 0 && k < n; k++) {
		size_t at = (size_t)pos[k];

		if (pos[k] < 0 || at < done || at > img.n) {
			r = -EINVAL;
			break;
		}
		r = al_buf_append(out, old + img.start[done], img.start[at] - img.start[done]);
		done = at;
		for (size_t j = 0; r == 0 && j < h[k].n_lines; j++) {
			if (h[k].lines[j].origin != '-')
				r = put_line(out, &h[k].lines[j]);
			if (h[k].lines[j].origin != '+' && ++done > img.n)
				r = -EINVAL;
		}
	}
	if (r == 0)
		r = al_buf_append(out, old + img.start[done], old_len - img.start[done]);
	image_done(&img);
	return r;
}

static int
emit_line(struct al_buf *out, char origin, const char *text, size_t len, int no_eol)
{
	int r = al_buf_append(out, &origin, 1);

	if (r == 0)
		r = al_buf_append(out, text, len);
	if (r == 0)
		r = al_buf_append(out, "\n", 1);
	if (r == 0 && no_eol)
		r = al_buf_puts(out, NO_EOL_MARK);
	return r;
}

int
al_hunks_emit(struct al_buf *out, const struct al_hunk *h, size_t n, const long *pos)
{
	long shift = 0; /* lines the earlier hunks added, less those they removed */
	int r = 0;

	for (size_t k = 0; r == 0 && k < n; k++) {
		long m = 0, a = 0;

		for (size_t j = 0; j < h[k].n_lines; j++) {
			m += h[k].lines[j].origin != '+';
			a += h[k].lines[j].origin != '-';
		}
		/* libgit2 places a hunk at its new start less one, in the file as patched so far */
		r = al_buf_printf(out, "@@ -%ld,%ld +%ld,%ld @@\n", m ? pos[k] + 1 : pos[k], m,
				  pos[k] + shift + 1, a);
		for (size_t j = 0; r == 0 && j < h[k].n_lines; j++) {
			const struct al_hunk_line *l = &h[k].lines[j];

			r = emit_line(out, l->origin, l->text, l->len, l->no_eol);
		}
		shift += a - m;
	}
	return r;
}

static int
emit_all(struct al_buf *out, const struct image *img, char origin)
{
	int r = 0;

	for (size_t i = 0; r == 0 && i < img->n; i++) {
		size_t a = img->start[i], b = img->start[i + 1];
		int nl = img->text[b - 1] == '\n';

		r = emit_line(out, origin, img->text + a, b - a - nl, !nl);
	}
	return r;
}

int
al_hunks_emit_replace(struct al_buf *out, const char *old, size_t old_len, const char *new,
		      size_t new_len)
{
	struct image a, b;
	int same = old_len == new_len && (old_len == 0 || !memcmp(old, new, old_len));
	int r = image_init(&a, old, old_len, 0);

	if (r < 0)
		return r;
	r = image_init(&b, new, new_len, 0);
	if (r < 0) {
		image_done(&a);
		return r;
	}
	if (a.n || b.n)
		r = al_buf_printf(out, "@@ -%d,%zu +%d,%zu @@\n", a.n ? 1 : 0, a.n, b.n ? 1 : 0,
				  same ? a.n : b.n);
	/* nothing to change: the lines as context, so the file still has a hunk */
	if (r == 0)
		r = emit_all(out, &a, same ? ' ' : '-');
	if (r == 0 && !same)
		r = emit_all(out, &b, '+');
	image_done(&a);
	image_done(&b);
	return r;
}

static int
starts_with(const char *p, size_t n, const char *s)
{
	size_t k = strlen(s);

	return n >= k && !memcmp(p, s, k);
}

int
al_hunks_sections(const char *text, size_t len, struct al_patch_section **ret, size_t *ret_n)
{
	struct al_patch_section *v = NULL;
	size_t n = 0, alloc = 0;

	for (size_t i = 0; i < len;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t next = nl ? (size_t)(nl - text) + 1 : len;

		if (starts_with(text + i, len - i, "diff --git ")) {
			if (n == alloc) {
				size_t na = alloc ? 2 * alloc : 8;
				struct al_patch_section *nv = realloc(v, na * sizeof(*v));

				if (!nv) {
					free(v);
					return -ENOMEM;
				}
				v = nv;
				alloc = na;
			}
			if (n)
				v[n - 1].end = i;
			v[n++] = (struct al_patch_section){.start = i, .hunks = len, .end = len};
		} else if (n && v[n - 1].hunks == len && starts_with(text + i, len - i, "@@ -")) {
			v[n - 1].hunks = i;
		}
		i = next;
	}
	for (size_t k = 0; k < n; k++)
		if (v[k].hunks > v[k].end)
			v[k].hunks = v[k].end;
	*ret = v;
	*ret_n = n;
	return 0;
}
