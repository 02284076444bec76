int calc_add(int a, int b);
int calc_clamp(int x, int lo, int hi);
