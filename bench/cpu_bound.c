/*
 * cpu_bound — the benchmark workload for sampling overhead: a fixed amount of CPU work
 * (not a fixed time, so a slowdown shows as a longer run) with realistic shapes: a parser
 * loop, a hash table, recursion a dozen frames deep, calls into libc (qsort, memcpy).
 * Built -O2 without frame pointers, like Debian's binaries.
 *
 * usage: cpu_bound [work-units]   (default 30, about 3 s here)
 * Prints "cpu_bound: wall=S cpu=S" (its own wall time and process CPU time, every thread
 * included — so nsprof's writer thread counts against nsprof).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static uint64_t table[1 << 16];

__attribute__((noinline)) static uint64_t mix(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ull;
    x ^= x >> 27;
    return x;
}

__attribute__((noinline)) static uint64_t tokenize(const char *s, size_t n)
{
    uint64_t h = 0, words = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ')
            words++, table[h & 0xffff]++, h = 0;
        else
            h = h * 31 + (unsigned char)s[i];
    }
    return words;
}

__attribute__((noinline)) static uint64_t walk(int depth, uint64_t x)
{
    if (depth == 0) {
        for (int i = 0; i < 200; i++)
            x = mix(x + (uint64_t)i);
        return x;
    }
    return walk(depth - 1, x * 3 + 1) ^ (uint64_t)depth;
}

static int cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double seconds(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    int units = argc > 1 ? atoi(argv[1]) : 30;
    static char text[1 << 16];
    static uint64_t arr[1 << 14];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (i % 7 == 0) ? ' ' : (char)('a' + i % 26);
    double t0 = seconds(CLOCK_MONOTONIC);
    uint64_t acc = 0;
    for (int u = 0; u < units; u++) {
        for (int r = 0; r < 400; r++)
            acc += tokenize(text, sizeof(text));
        for (int r = 0; r < 3000; r++)
            acc += walk(12, acc + (uint64_t)r);
        for (int r = 0; r < 6; r++) {
            for (size_t i = 0; i < sizeof(arr) / sizeof(arr[0]); i++)
                arr[i] = mix(acc + i);
            qsort(arr, sizeof(arr) / sizeof(arr[0]), sizeof(arr[0]), cmp);
            acc += arr[r];
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    printf("cpu_bound: wall=%.4f cpu=%.4f result=%llx\n", seconds(CLOCK_MONOTONIC) - t0, cpu,
           (unsigned long long)acc);
    return 0;
}
