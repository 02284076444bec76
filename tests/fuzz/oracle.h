/* What the fuzz targets assert with, shared by them (never by the code under test). */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property that must hold: a finding when it does not (the file names the target). */
#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond)) {                                                     \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                   \
		}                                                                  \
	} while (0)

/* Printable: no C0 control character, no DEL; max bytes at most, at least one. */
static inline int
printable(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}
