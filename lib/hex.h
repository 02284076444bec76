#pragma once

#include <stddef.h>

/* out must hold 2*n+1 bytes. */
void al_hex_encode(const unsigned char *in, size_t n, char *out);
/* Decodes exactly 2*n hex digits into n bytes; -EINVAL on anything else. */
int al_hex_decode(const char *in, unsigned char *out, size_t n);
