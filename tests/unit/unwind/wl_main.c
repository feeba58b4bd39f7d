/* The executable half of the workload (see wl.h): built without frame pointers. */
#include "wl.h"

__attribute__((noinline)) static void wl_sink(void *p)
{
    __asm__ volatile("" : : "r"(p) : "memory");
}

__attribute__((noinline)) static int wl_spin(struct wl_ctx *ctx)
{
    atomic_store_explicit(&ctx->spinning, 1, memory_order_release);
    while (!atomic_load_explicit(&ctx->stop, memory_order_acquire))
        ;
    return 1;
}

__attribute__((noinline)) static int wl_compute(struct wl_ctx *ctx)
{
    unsigned x = ctx->acc;
    for (int i = 0; i < 64; i++)
        x = x * 2654435761u + (unsigned)i;
    ctx->acc = x;
    return 1;
}

static int wl_leaf(struct wl_ctx *ctx)
{
    switch (ctx->leaf) {
    case WL_LEAF_SPIN:
        return wl_spin(ctx);
    case WL_LEAF_LIB_SPIN:
        return wlib_spin(ctx);
    default:
        return wl_compute(ctx);
    }
}

/* A 64-byte aligned buffer next to a variable-length array, with arguments passed on the
 * stack: gcc realigns the stack through a DRAP register and describes the CFA as
 * *(rbp - 16) (DW_CFA_def_cfa_expression DW_OP_breg6; DW_OP_deref). */
__attribute__((noipa)) static int wl_realign_drap(struct wl_ctx *ctx, int depth, int a, int b,
                                                  int c, int d, int e, int f)
{
    char vla[(depth & 7) + 1];
    char buf[64] __attribute__((aligned(64)));
    buf[0] = (char)e;
    buf[1] = (char)f;
    vla[0] = (char)a;
    wl_sink(buf);
    wl_sink(vla);
    int r = wl_run(ctx, depth);
    __asm__ volatile("" ::: "memory");
    return r + buf[0] - (char)e + vla[0] - (char)a + b + c + d - (b + c + d);
}

/* Realignment without DRAP: rbp becomes the CFA base (CFA = rbp + 16). */
__attribute__((noipa)) static int wl_realign_fp(struct wl_ctx *ctx, int depth)
{
    double buf[4] __attribute__((aligned(64)));
    buf[0] = depth;
    wl_sink(buf);
    int r = wl_run(ctx, depth);
    __asm__ volatile("" ::: "memory");
    return r + (int)buf[0] - depth;
}

int wl_run(struct wl_ctx *ctx, int depth)
{
    if (depth <= 0)
        return wl_leaf(ctx);
    int r;
    switch (depth % 4) {
    case 0:
        r = wlib_frame(ctx, depth - 1, wl_run); /* through the PLT, back via a pointer */
        break;
    case 1:
        r = ctx->no_drap ? wl_run(ctx, depth - 1)
                         : wl_realign_drap(ctx, depth - 1, 1, 2, 3, 4, 5, 6);
        break;
    case 2:
        r = wl_realign_fp(ctx, depth - 1);
        break;
    default:
        r = wl_run(ctx, depth - 1);
        break;
    }
    __asm__ volatile("" ::: "memory"); /* no tail call, no accumulator recursion */
    return r + 1;
}
