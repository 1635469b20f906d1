#include <stdio.h>
#include "util.h"

/* A point. */
struct point { int x; int y; };
typedef struct point point_t;

/* Clamps. */
static int clamp(int v, int lo, int hi) {
    if (v < lo || v > hi) return v < lo ? lo : hi;
    switch (v) { case 1: break; default: break; }
    while (v--) { printf("%d", v); }
    return v;
}
