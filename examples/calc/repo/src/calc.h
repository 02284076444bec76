/* calc: small integer helpers. */
#ifndef CALC_H
#define CALC_H

#include <stddef.h>

/* v limited to [lo, hi]; lo <= hi. */
int calc_clamp(int v, int lo, int hi);
/* The sum of v[0..n), as a long so that it does not overflow for any int array. */
long calc_sum(const int *v, size_t n);
/* The largest of v[0..n); n > 0. */
int calc_max(const int *v, size_t n);

#endif
