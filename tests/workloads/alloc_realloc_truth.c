/*
 * alloc_realloc_truth — realloc, reallocarray, calloc and the aligned allocators, with
 * counts, bytes, leaks and peak known by construction.
 *
 *   alloc_realloc_truth [N]    N scales the iteration counts (default 1000)
 *
 * The convention held to (heaptrack's, tcmalloc's): every realloc or reallocarray that
 * returns a block is ONE allocation of the NEW size at its call site, plus a free of the old
 * block, whatever the sizes (growing, shrinking, the same); realloc(NULL, n) is an allocation
 * of n; realloc(p, 0) frees p (glibc returns NULL) and is no allocation; a call that fails
 * (returns NULL, the old block untouched) is no allocation. calloc(n, m) is one allocation
 * of n*m bytes; aligned_alloc, posix_memalign and memalign allocate the size asked.
 *
 * Each pattern is a noinline, noclone function whose name the test looks for. The program
 * counts what it did itself and prints, after all the work, machine-readable lines:
 *
 *   site FUNCTION VIA count N bytes B       allocations made from FUNCTION through VIA
 *   sizes FUNCTION VIA SIZE:N,SIZE:N,...    the same allocations by size (for sampling's
 *                                           variance)
 *   leak FUNCTION VIA bytes B               still allocated at exit (never freed)
 *   peak FUNCTION bytes X transient T       X bytes of FUNCTION's blocks were live at once
 *                                           (a realloc may add up to T while it copies)
 *   failed realloc E reallocarray E calloc E   errno of calls that must fail (ENOMEM = 12)
 *
 * Nothing of the bookkeeping allocates; every block that is not a leak by design is freed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* reallocarray, memalign */
#endif
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline, noclone))

/* NULL and a size the compiler cannot see: GCC folds realloc(NULL, n) into malloc(n). */
static void *volatile opaque_null;
static volatile size_t huge_size = SIZE_MAX / 2;
static volatile uintptr_t sink;
static void *volatile keep[64];

static void touch(void *p, size_t n)
{
    if (p && n)
        ((volatile char *)p)[n - 1] = 1;
    sink += (uintptr_t)p;
}

static void *opaque(void)
{
    return opaque_null;
}

static void die(const char *what)
{
    fprintf(stderr, "alloc_realloc_truth: %s failed\n", what);
    exit(3);
}

/* ---- the program's own account, in static tables ---- */

#define MAX_SITES 32
#define MAX_SIZES 32

struct site {
    const char *function, *via;
    unsigned long long count, bytes, leaked;
    int nsizes;
    size_t size[MAX_SIZES];
    unsigned long long at_size[MAX_SIZES];
};

static struct site sites[MAX_SITES];
static int nsites;

static struct site *site_of(const char *function, const char *via)
{
    for (int i = 0; i < nsites; i++)
        if (strcmp(sites[i].function, function) == 0 && strcmp(sites[i].via, via) == 0)
            return &sites[i];
    if (nsites == MAX_SITES)
        die("site table");
    struct site *s = &sites[nsites++];
    s->function = function;
    s->via = via;
    return s;
}

/* One allocation of `size` bytes made by `function` through `via`. */
static void count(const char *function, const char *via, size_t size)
{
    struct site *s = site_of(function, via);
    s->count++;
    s->bytes += size;
    for (int i = 0; i < s->nsizes; i++)
        if (s->size[i] == size) {
            s->at_size[i]++;
            return;
        }
    if (s->nsizes == MAX_SIZES)
        die("size table");
    s->size[s->nsizes] = size;
    s->at_size[s->nsizes++] = 1;
}

/* A site that must show no allocation at all (printed with count 0). */
static void none(const char *function, const char *via)
{
    site_of(function, via);
}

static void leaked(const char *function, const char *via, size_t size)
{
    site_of(function, via)->leaked += size;
}

/* ---- the patterns ---- */

/* (a) realloc chains growing NULL -> 16 -> 32 -> ... -> 2048, then free: n chains. */
NOINLINE void grow_chains(long n)
{
    for (long i = 0; i < n; i++) {
        char *p = opaque();
        for (size_t s = 16; s <= 2048; s *= 2) {
            char *q = realloc(p, s);
            if (!q)
                die("realloc");
            touch(q, s);
            count(__func__, "realloc", s);
            p = q;
        }
        free(p);
    }
}

/* (b) realloc chains shrinking NULL -> 4096 -> 2048 -> ... -> 16, then free: n chains. */
NOINLINE void shrink_chains(long n)
{
    for (long i = 0; i < n; i++) {
        char *p = opaque();
        for (size_t s = 4096; s >= 16; s /= 2) {
            char *q = realloc(p, s);
            if (!q)
                die("realloc");
            touch(q, s);
            count(__func__, "realloc", s);
            p = q;
        }
        free(p);
    }
}

/* (c) malloc(256), then 8 reallocs to the same 256 bytes, then free: n times. */
NOINLINE void same_size(long n)
{
    for (long i = 0; i < n; i++) {
        char *p = malloc(256);
        if (!p)
            die("malloc");
        touch(p, 256);
        count(__func__, "malloc", 256);
        for (int j = 0; j < 8; j++) {
            char *q = realloc(p, 256);
            if (!q)
                die("realloc");
            touch(q, 256);
            count(__func__, "realloc", 256);
            p = q;
        }
        free(p);
    }
}

/* (d) malloc(100) then realloc(p, 0), which frees it (glibc returns NULL): n times. */
NOINLINE void realloc_to_zero(long n)
{
    none(__func__, "realloc");
    for (long i = 0; i < n; i++) {
        char *p = malloc(100);
        if (!p)
            die("malloc");
        touch(p, 100);
        count(__func__, "malloc", 100);
        char *q = realloc(p, 0);
        if (q) { /* not glibc: a block of 0 bytes, an allocation */
            count(__func__, "realloc", 0);
            free(q);
        }
    }
}

/* Calls that must fail with ENOMEM and leave the block as it was: no allocation, no free.
 * malloc(64), then realloc and reallocarray of it to an impossible size, calloc of one, then
 * free of the block: n times. */
static int failed_errno[3];

NOINLINE void failing_calls(long n)
{
    none(__func__, "realloc");
    none(__func__, "reallocarray");
    none(__func__, "calloc");
    for (long i = 0; i < n; i++) {
        char *p = malloc(64);
        if (!p)
            die("malloc");
        touch(p, 64);
        count(__func__, "malloc", 64);
        errno = 0;
        char *q = realloc(p, huge_size);
        failed_errno[0] = q ? -1 : errno;
        if (q) {
            count(__func__, "realloc", huge_size);
            p = q;
        }
        errno = 0;
        q = reallocarray(p, huge_size, 4); /* overflows size_t */
        failed_errno[1] = q ? -1 : errno;
        if (q) {
            count(__func__, "reallocarray", huge_size * 4);
            p = q;
        }
        errno = 0;
        q = calloc(huge_size, 4);
        failed_errno[2] = q ? -1 : errno;
        if (q) {
            count(__func__, "calloc", huge_size * 4);
            free(q);
        }
        touch(p, 64);
        free(p);
    }
}

/* (e) reallocarray(NULL, 4, 8) -> (16, 8) -> (64, 8) -> (8, 8), then free: n times. */
NOINLINE void reallocarray_chains(long n)
{
    static const size_t nmemb[] = {4, 16, 64, 8};
    for (long i = 0; i < n; i++) {
        char *p = opaque();
        for (int j = 0; j < 4; j++) {
            char *q = reallocarray(p, nmemb[j], 8);
            if (!q)
                die("reallocarray");
            touch(q, nmemb[j] * 8);
            count(__func__, "reallocarray", nmemb[j] * 8);
            p = q;
        }
        free(p);
    }
}

/* (f) calloc(10, 12) then free: n times. */
NOINLINE void calloc_small(long n)
{
    for (long i = 0; i < n; i++) {
        char *p = calloc(10, 12);
        if (!p)
            die("calloc");
        touch(p, 120);
        count(__func__, "calloc", 120);
        free(p);
    }
}

/* (f) calloc(3, 512 KiB) = 1.5 MiB, above glibc's mmap threshold, then free: n times. */
NOINLINE void calloc_large(long n)
{
    for (long i = 0; i < n; i++) {
        char *p = calloc(3, 512 << 10);
        if (!p)
            die("calloc");
        touch(p, 3 * (512 << 10));
        count(__func__, "calloc", 3 * (512 << 10));
        free(p);
    }
}

/* (g) aligned_alloc, posix_memalign and memalign, with frees in between: n times. */
NOINLINE void aligned_mix(long n)
{
    for (long i = 0; i < n; i++) {
        char *a = aligned_alloc(64, 192);
        if (!a)
            die("aligned_alloc");
        touch(a, 192);
        count(__func__, "aligned_alloc", 192);
        void *b = NULL;
        if (posix_memalign(&b, 256, 1000) != 0)
            die("posix_memalign");
        touch(b, 1000);
        count(__func__, "posix_memalign", 1000);
        free(a);
        char *c = memalign(32, 48);
        if (!c)
            die("memalign");
        touch(c, 48);
        count(__func__, "memalign", 48);
        char *d = aligned_alloc(4096, 8192);
        if (!d)
            die("aligned_alloc");
        touch(d, 8192);
        count(__func__, "aligned_alloc", 8192);
        free(b);
        free(c);
        free(d);
    }
}

/* (h) 8 long-lived blocks, each malloc(64) then realloc'd m times through a cycle of sizes
 * that grows and shrinks, then freed. */
#define LONG_LIVED 8
static const size_t cycle[] = {24, 100, 640, 3000, 128, 8000, 48, 1500, 16, 500};
#define CYCLE (sizeof(cycle) / sizeof(cycle[0]))

NOINLINE void long_lived(long m)
{
    char *blocks[LONG_LIVED];
    for (int j = 0; j < LONG_LIVED; j++) {
        blocks[j] = malloc(64);
        if (!blocks[j])
            die("malloc");
        touch(blocks[j], 64);
        count(__func__, "malloc", 64);
    }
    for (long r = 0; r < m; r++)
        for (int j = 0; j < LONG_LIVED; j++) {
            size_t s = cycle[(r + 3 * j) % CYCLE];
            char *q = realloc(blocks[j], s);
            if (!q)
                die("realloc");
            touch(q, s);
            count(__func__, "realloc", s);
            blocks[j] = q;
        }
    for (int j = 0; j < LONG_LIVED; j++)
        free(blocks[j]);
}

/* (i) leaks of known sizes: 5 x malloc(1000), 3 x calloc(2, 50), malloc(10) grown by realloc
 * to 777 (the 10 bytes are freed by the realloc, the 777 leak), realloc(NULL, 55). */
NOINLINE void leak_known(void)
{
    int k = 0;
    for (int i = 0; i < 5; i++) {
        keep[k] = malloc(1000);
        touch(keep[k++], 1000);
        count(__func__, "malloc", 1000);
        leaked(__func__, "malloc", 1000);
    }
    for (int i = 0; i < 3; i++) {
        keep[k] = calloc(2, 50);
        touch(keep[k++], 100);
        count(__func__, "calloc", 100);
        leaked(__func__, "calloc", 100);
    }
    char *p = malloc(10);
    touch(p, 10);
    count(__func__, "malloc", 10);
    p = realloc(p, 777);
    if (!p)
        die("realloc");
    touch(p, 777);
    count(__func__, "realloc", 777);
    leaked(__func__, "realloc", 777);
    keep[k++] = p;
    p = realloc(opaque(), 55);
    if (!p)
        die("realloc");
    touch(p, 55);
    count(__func__, "realloc", 55);
    leaked(__func__, "realloc", 55);
    keep[k++] = p;
}

/* (j) a known peak: 64 x malloc(256 KiB), each then realloc'd to 512 KiB, so that 32 MiB are
 * live at once (the old blocks freed by the reallocs), then all freed. */
#define PEAK_BLOCKS 64
#define PEAK_FROM   (256u << 10)
#define PEAK_TO     (512u << 10)

NOINLINE void hold_peak(void)
{
    char *blocks[PEAK_BLOCKS];
    for (int i = 0; i < PEAK_BLOCKS; i++) {
        blocks[i] = malloc(PEAK_FROM);
        if (!blocks[i])
            die("malloc");
        touch(blocks[i], PEAK_FROM);
        count(__func__, "malloc", PEAK_FROM);
    }
    for (int i = 0; i < PEAK_BLOCKS; i++) {
        char *q = realloc(blocks[i], PEAK_TO);
        if (!q)
            die("realloc");
        touch(q, PEAK_TO);
        count(__func__, "realloc", PEAK_TO);
        blocks[i] = q;
    }
    for (int i = 0; i < PEAK_BLOCKS; i++)
        free(blocks[i]);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    if (n < 1) {
        fprintf(stderr, "usage: alloc_realloc_truth [N]\n");
        return 2;
    }
    hold_peak(); /* first: nothing else is live yet, so the heap's peak is its own */
    grow_chains(n);
    shrink_chains(n);
    same_size(n);
    realloc_to_zero(n);
    failing_calls(n);
    reallocarray_chains(n);
    calloc_small(n);
    calloc_large(n / 100 + 1);
    aligned_mix(n);
    long_lived(n);
    leak_known();

    for (int i = 0; i < nsites; i++) {
        struct site *s = &sites[i];
        printf("site %s %s count %llu bytes %llu\n", s->function, s->via, s->count, s->bytes);
        if (s->nsizes) {
            printf("sizes %s %s ", s->function, s->via);
            for (int j = 0; j < s->nsizes; j++)
                printf("%s%zu:%llu", j ? "," : "", s->size[j], s->at_size[j]);
            printf("\n");
        }
        if (s->leaked)
            printf("leak %s %s bytes %llu\n", s->function, s->via, s->leaked);
    }
    printf("peak hold_peak bytes %u transient %u\n", PEAK_BLOCKS * PEAK_TO, PEAK_FROM);
    printf("failed realloc %d reallocarray %d calloc %d\n", failed_errno[0], failed_errno[1],
           failed_errno[2]);
    return 0;
}
