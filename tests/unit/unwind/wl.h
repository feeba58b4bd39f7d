/*
 * wl — workloads for the unwinder tests: a recursion that mixes frame shapes the way real
 * Debian code does, compiled -O2 -fomit-frame-pointer (CMakeLists.txt), half of it in a
 * shared library reached through the PLT (libns_unwind_wl.so).
 *
 * Frame shapes: plain frames, calls into the library through the PLT that call back through a
 * function pointer, gcc's stack realignment with a DRAP register (CFA = *(rbp - 16)), stack
 * realignment with rbp as the CFA base, and a leaf that uses no stack at all.
 */
#ifndef NS_UNWIND_TEST_WL_H
#define NS_UNWIND_TEST_WL_H

#include <stdatomic.h>

enum wl_leaf {
    WL_LEAF_SPIN,     /* spin in the executable until ctx->stop */
    WL_LEAF_LIB_SPIN, /* spin in the shared library until ctx->stop */
    WL_LEAF_COMPUTE,  /* a little arithmetic, then return */
};

struct wl_ctx {
    atomic_int spinning; /* set by a spinning leaf once it spins */
    atomic_int stop;     /* makes a spinning leaf return */
    int leaf;            /* enum wl_leaf */
    int no_drap;         /* leave out the DRAP frames: their epilogue CFI is imprecise (gcc
                            describes rbp as saved for two instructions after it is popped), so
                            a sample landing there unwinds wrongly with any CFI unwinder */
    volatile unsigned acc;
};

/* Recurses `depth` frames deep (shapes chosen by depth), then runs the leaf. */
int wl_run(struct wl_ctx *ctx, int depth);

/* The library side. */
int wlib_frame(struct wl_ctx *ctx, int depth, int (*next)(struct wl_ctx *, int));
int wlib_spin(struct wl_ctx *ctx);

#endif
