/*
 * unwind_bench — cost of ns_unwind per frame, on a copy of the stack (the writer thread's
 * case: perf's PERF_SAMPLE_STACK_USER) and on the live stack (the signal handler's case), for
 * recursions of realistic depths, plus the one-off cost of building the CFI tables.
 *
 * Build with the project's Release flags (-O2, no frame pointers): the recursion is then
 * unwindable only through CFI, as Debian's binaries are. Usage: unwind_bench [seconds]
 */
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unwind.h"

#define MAX_MODULES 256
#define MAX_FRAMES  1024
#define COPY_MAX    (256 * 1024)

static struct ns_unwind_module g_mods[MAX_MODULES];
static struct ns_unwind_modules g_view = {g_mods, 0};
static size_t g_rows;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void add_module(struct ns_unwind_module m)
{
    size_t i = g_view.n++;
    while (i > 0 && g_mods[i - 1].lo > m.lo) {
        g_mods[i] = g_mods[i - 1];
        i--;
    }
    g_mods[i] = m;
}

static int on_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    (void)arg;
    struct ns_cfi_segment segs[32];
    size_t nsegs = 0;
    uintptr_t hdr = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && nsegs < 32)
            segs[nsegs++] = (struct ns_cfi_segment){info->dlpi_addr + ph->p_vaddr, ph->p_memsz};
        if (ph->p_type == PT_GNU_EH_FRAME)
            hdr = info->dlpi_addr + ph->p_vaddr;
    }
    double t0 = now_s();
    struct ns_cfi_table *cfi =
        hdr ? ns_cfi_build_from_memory(info->dlpi_addr, hdr, segs, nsegs) : NULL;
    double ms = (now_s() - t0) * 1e3;
    const char *name = info->dlpi_name[0] ? info->dlpi_name : "[exe]";
    printf("  %-44s %7zu rows %7.2f ms\n", name, cfi ? cfi->nrows : 0, ms);
    g_rows += cfi ? cfi->nrows : 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && g_view.n < MAX_MODULES)
            add_module((struct ns_unwind_module){lo, lo + ph->p_memsz, info->dlpi_addr,
                                                 (uint32_t)g_view.n + 1, cfi, NULL});
    }
    return 0;
}

static uintptr_t stack_top(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    uintptr_t here = (uintptr_t)&line, lo, hi, top = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && here >= lo && here < hi)
            top = hi;
    if (f)
        fclose(f);
    return top;
}

struct bench {
    int depth;
    double seconds;
    uintptr_t top;
};

static uint8_t g_copy[COPY_MAX];

static void report(const char *what, const struct ns_regs *regs, const struct ns_stack_mem *mem,
                   double seconds)
{
    static struct ns_frame frames[MAX_FRAMES];
    unsigned end = 0;
    int n = 0;
    long iters = 0;
    double t0 = now_s(), t1;
    do {
        for (int i = 0; i < 64; i++)
            n = ns_unwind(&g_view, regs, mem, frames, MAX_FRAMES, &end);
        iters += 64;
        t1 = now_s();
    } while (t1 - t0 < seconds);
    double ns = (t1 - t0) * 1e9 / (double)iters;
    printf("    %-18s %4d frames (end %u) %9.0f ns/unwind %6.1f ns/frame\n", what, n, end, ns,
           ns / n);
}

/* The leaf: the stack above it is the benchmark's subject. */
__attribute__((noinline)) static int leaf(struct bench *b)
{
    struct ns_regs regs;
    __asm__ volatile("lea 0(%%rip), %0\n\tmov %%rsp, %1\n\tmov %%rbp, %2"
                     : "=r"(regs.ip), "=r"(regs.sp), "=r"(regs.bp));
    size_t len = b->top - regs.sp < COPY_MAX ? b->top - regs.sp : COPY_MAX;
    memcpy(g_copy, (const void *)regs.sp, len);
    struct ns_stack_mem copy = {.lo = regs.sp, .hi = regs.sp + len, .copy = g_copy};
    struct ns_stack_mem live = {.lo = regs.sp, .hi = b->top, .copy = NULL};
    printf("  depth %d (stack in use %zu bytes):\n", b->depth, len);
    report("copied stack", &regs, &copy, b->seconds);
    report("live stack", &regs, &live, b->seconds);
    struct ns_stack_mem perf8k = {
        .lo = regs.sp, .hi = regs.sp + (len < 8192 ? len : 8192), .copy = g_copy};
    report("8 KB copy (perf)", &regs, &perf8k, b->seconds);
    return 1;
}

static int recurse_b(struct bench *b, int d);

__attribute__((noinline)) static int recurse_a(struct bench *b, int d)
{
    volatile char pad[24];
    pad[d % 24] = (char)d;
    int r = d > 1 ? recurse_b(b, d - 1) : leaf(b);
    __asm__ volatile("" ::: "memory");
    return r + pad[d % 24] - (char)d;
}

__attribute__((noinline)) static int recurse_b(struct bench *b, int d)
{
    volatile long pad[9];
    pad[d % 9] = d;
    int r = d > 1 ? recurse_a(b, d - 1) : leaf(b);
    __asm__ volatile("" ::: "memory");
    return r + (int)(pad[d % 9] - d);
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 0.3;
    printf("CFI tables built from memory:\n");
    double t0 = now_s();
    dl_iterate_phdr(on_object, NULL);
    printf("  total %zu rows in %.2f ms\n", g_rows, (now_s() - t0) * 1e3);
    printf("unwinds (ns_unwind, %d modules):\n", (int)g_view.n);
    int depths[] = {30, 300};
    for (int i = 0; i < 2; i++) {
        struct bench b = {depths[i], seconds, stack_top()};
        recurse_a(&b, b.depth);
    }
    return 0;
}
