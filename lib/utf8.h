#pragma once

#include <stddef.h>

/* Copy of p with every byte that is not part of valid UTF-8 (and every NUL) replaced by
 * U+FFFD, so untrusted output can be stored as a JSON string.  Caller frees. */
char *al_utf8_sanitize(const char *p, size_t n, size_t *ret_len);

/* s as a message may quote text from outside (an image, a policy): itself when it has no
 * control character, else "(unprintable)", so that a message stays one line. */
const char *al_text_shown(const char *s);
