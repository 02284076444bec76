/* Text helpers: UTF-8 checks, printable one-line reasons, rule records. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gates/internal.h"

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not valid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0], need, cp, min;
	size_t i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3, cp = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < need + 1)
		return 0;
	for (i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

int
al_gates_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, k;

	while (i < n) {
		if (u[i] == 0)
			return 0;
		k = utf8_seq(u + i, n - i);
		if (!k)
			return 0;
		i += k;
	}
	return 1;
}

void
al_gates_printable(char *dst, size_t dstsz, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, k;

	if (dstsz < 4) {
		if (dstsz)
			dst[0] = '\0';
		return;
	}
	while (i < n && u[i]) {
		k = utf8_seq(u + i, n - i);
		if (o + (k ? k : 1) + 4 > dstsz) {
			/* room for "..." and the NUL was kept back */
			memcpy(dst + o, "...", 3);
			o += 3;
			break;
		}
		if (k == 1 && (u[i] < 0x20 || u[i] == 0x7f))
			k = 0;
		if (k) {
			memcpy(dst + o, u + i, k);
			o += k;
			i += k;
		} else {
			dst[o++] = '?';
			i++;
		}
	}
	dst[o] = '\0';
}

static int
rule_vadd(json_t *rules, const char *rule, const char *result, json_t *evidence, const char *fmt,
	  va_list ap)
{
	char raw[AL_REASON_MAX], clean[AL_REASON_MAX];
	json_t *o;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	al_gates_printable(clean, sizeof(clean), raw, strlen(raw));
	if (!evidence)
		evidence = json_object();
	o = json_pack("{s:s, s:s, s:s, s:o}", "rule", rule, "result", result, "reason", clean,
		      "evidence", evidence);
	if (!o)
		return -ENOMEM;
	if (json_array_append_new(rules, o) < 0)
		return -ENOMEM;
	return 0;
}

int
al_gates_rule_add(json_t *rules, const char *rule, const char *result, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = rule_vadd(rules, rule, result, NULL, fmt, ap);
	va_end(ap);
	return r;
}

int
al_gates_rule_add_ev(json_t *rules, const char *rule, const char *result, json_t *evidence,
		     const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = rule_vadd(rules, rule, result, evidence, fmt, ap);
	va_end(ap);
	return r;
}

int
al_gates_rule_failed(const json_t *rule)
{
	const char *r = json_string_value(json_object_get(rule, "result"));

	if (!r)
		return 1;
	return strcmp(r, AL_RULE_SATISFIED) != 0 && strcmp(r, AL_RULE_NOT_APPLICABLE) != 0;
}

int
al_gates_run_id(char *buf, size_t bufsz, const char *rule, const char *name, const char *side)
{
	int n = snprintf(buf, bufsz, "%s:%s:%s", rule, name, side);

	if (n < 0 || (size_t)n >= bufsz)
		return -ENAMETOOLONG;
	return 0;
}
