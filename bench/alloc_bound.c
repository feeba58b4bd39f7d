/*
 * alloc_bound — the allocation benchmark's workload: nothing but small malloc/free pairs
 * (the worst case for an allocation profiler: about 20 ns of work per pair), from a few call
 * sites a few frames deep, like a real program's hot loop.
 *
 * usage: alloc_bound [pairs]   (default 10,000,000)
 * Prints "alloc_bound: wall=S cpu=S" (its own wall and process CPU time).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static volatile uintptr_t sink;

__attribute__((noinline)) static void *make_node(size_t size)
{
    char *p = malloc(size);
    if (p)
        p[0] = 1;
    return p;
}

__attribute__((noinline)) static void churn(long pairs)
{
    for (long i = 0; i < pairs; i++) {
        void *p = make_node(16 + (size_t)(i & 3) * 16);
        sink += (uintptr_t)p;
        free(p);
    }
}

static double seconds(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    long pairs = argc > 1 ? atol(argv[1]) : 10000000;
    double t0 = seconds(CLOCK_MONOTONIC);
    churn(pairs);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    printf("alloc_bound: wall=%.4f cpu=%.4f pairs=%ld\n", seconds(CLOCK_MONOTONIC) - t0, cpu,
           pairs);
    return 0;
}
