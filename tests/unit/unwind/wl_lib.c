/* The shared-library half of the workload (see wl.h): built without frame pointers. */
#include "wl.h"

int wlib_frame(struct wl_ctx *ctx, int depth, int (*next)(struct wl_ctx *, int))
{
    volatile char pad[48];
    pad[depth % 48] = (char)depth;
    int r = next(ctx, depth);
    __asm__ volatile("" ::: "memory"); /* keeps the call from becoming a tail call */
    return r + pad[depth % 48] - (char)depth;
}

int wlib_spin(struct wl_ctx *ctx)
{
    atomic_store_explicit(&ctx->spinning, 1, memory_order_release);
    while (!atomic_load_explicit(&ctx->stop, memory_order_acquire))
        ;
    return 1;
}
