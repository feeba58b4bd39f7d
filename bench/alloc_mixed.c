/*
 * alloc_mixed — the allocation benchmark's mixed workload (issue 11): buffers grown by
 * realloc chains beside ordinary malloc/free and calloc/free loops, the patterns string
 * builders, vectors and parsers have.
 *
 *   chains:  NULL -> 16 -> 32 -> ... -> 2048 bytes (8 realloc calls), then free
 *   malloc:  malloc(32) / free
 *   calloc:  calloc(1, 200) / free
 *
 * usage: alloc_mixed [mixed|realloc|malloc|calloc] [scale]
 *   mixed (default): 125,000 chains x scale (1,000,000 realloc calls), 1,000,000 x scale
 *   malloc/free and calloc/free pairs; the others run one pattern alone, 1,000,000 x scale
 *   calls of its allocating function (realloc: 125,000 chains).
 * Prints "alloc_mixed: wall=S cpu=S calls=N" (its own wall and process CPU time, and the
 * number of allocator calls it made, frees included).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static volatile uintptr_t sink;

__attribute__((noinline)) static void *grow(void *p, size_t size)
{
    char *q = realloc(p, size);
    if (q)
        q[size - 1] = 1;
    return q;
}

__attribute__((noinline)) static long chains(long n)
{
    for (long i = 0; i < n; i++) {
        void *p = NULL;
        for (size_t size = 16; size <= 2048; size *= 2)
            p = grow(p, size);
        sink += (uintptr_t)p;
        free(p);
    }
    return n * 9;
}

__attribute__((noinline)) static long pairs_malloc(long n)
{
    for (long i = 0; i < n; i++) {
        char *p = malloc(32);
        if (p)
            p[0] = 1;
        sink += (uintptr_t)p;
        free(p);
    }
    return n * 2;
}

__attribute__((noinline)) static long pairs_calloc(long n)
{
    for (long i = 0; i < n; i++) {
        char *p = calloc(1, 200);
        sink += (uintptr_t)p + (p ? (uintptr_t)p[100] : 0);
        free(p);
    }
    return n * 2;
}

static double seconds(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "mixed";
    long scale = argc > 2 ? atol(argv[2]) : 1;
    if (scale < 1 || (strcmp(what, "mixed") && strcmp(what, "realloc") && strcmp(what, "malloc") &&
                      strcmp(what, "calloc"))) {
        fprintf(stderr, "usage: alloc_mixed [mixed|realloc|malloc|calloc] [scale]\n");
        return 2;
    }
    int all = strcmp(what, "mixed") == 0;
    long calls = 0;
    double t0 = seconds(CLOCK_MONOTONIC);
    if (all || strcmp(what, "realloc") == 0)
        calls += chains(125000 * scale);
    if (all || strcmp(what, "malloc") == 0)
        calls += pairs_malloc(1000000 * scale);
    if (all || strcmp(what, "calloc") == 0)
        calls += pairs_calloc(1000000 * scale);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    printf("alloc_mixed: wall=%.4f cpu=%.4f calls=%ld\n", seconds(CLOCK_MONOTONIC) - t0, cpu,
           calls);
    return 0;
}
