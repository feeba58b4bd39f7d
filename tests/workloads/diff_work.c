/*
 * diff_work — two builds of one program for `nsprof diff`, with the answer known by
 * construction:
 *   - count_pairs: quadratic (every pair compared) in the plain build, linear (one pass
 *     over a table) with -DNS_DIFF_OPTIMIZED: its cost goes to almost nothing;
 *   - untouched: the same fixed work in both builds;
 *   - keep_blocks: allocates 1,000 blocks of 8 KiB; the plain build leaks them all (8,000
 *     KiB at exit), -DNS_DIFF_OPTIMIZED frees each before the next (no leak, peak 8 KiB);
 *   - -DNS_DIFF_PADDED moves every function's address (a padding function first) without
 *     changing what runs: a rebuilt binary.
 *
 *   diff_work SCALE     (SCALE 1: about 0.3 s of CPU in the plain build)
 * Prints a checksum that is the same for every build.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef NS_DIFF_PADDED
__attribute__((noinline, used)) int padding_function(int x)
{
    volatile char pad[64];
    for (int i = 0; i < 64; i++)
        pad[i] = (char)(x + i);
    return pad[x & 63];
}
#endif

/* The values fit in the L1 cache: the quadratic loop is compute-bound, so its time does not
 * swing with what other tenants of the machine do to the caches. */
enum { VALUES = 6000, RANGE = 997, REPEATS = 16 };

static unsigned next_value(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) % RANGE;
}

/* How many pairs (i < j) hold equal values. */
__attribute__((noinline)) static uint64_t count_pairs(const unsigned *v, size_t n)
{
    uint64_t pairs = 0;
    for (int rep = 0; rep < REPEATS; rep++) {
#ifdef NS_DIFF_OPTIMIZED
        uint64_t seen[RANGE] = {0};
        for (size_t i = 0; i < n; i++)
            pairs += seen[v[i]]++;
#else
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                pairs += v[i] == v[j];
#endif
    }
    return pairs;
}

/* Fixed work, the same in every build. */
__attribute__((noinline)) static uint64_t untouched(uint64_t rounds)
{
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; i < rounds; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

__attribute__((noinline)) static size_t keep_blocks(void)
{
    size_t sum = 0;
    void *prev = NULL;
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(8192);
        if (!p)
            exit(1);
        memset(p, i, 8192);
        sum += (unsigned char)p[i];
#ifdef NS_DIFF_OPTIMIZED
        free(prev);
        prev = p;
#else
        (void)prev; /* leaked: kept by nothing */
        __asm__ volatile("" : : "r"(p) : "memory");
#endif
    }
    free(prev);
    return sum;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 1;
    if (scale < 1)
        scale = 1;
    unsigned *v = malloc(VALUES * sizeof(*v)), state = 1;
    if (!v)
        return 1;
    for (size_t i = 0; i < VALUES; i++)
        v[i] = next_value(&state);
    uint64_t sum = keep_blocks();
    for (int s = 0; s < scale; s++) {
        /* Arguments that change each round: a pure function called twice with the same
         * ones may be called once. */
        sum += count_pairs(v, VALUES - (size_t)(s & 1));
        sum += untouched(150000000 + (uint64_t)s);
    }
    free(v);
    printf("%llu\n", (unsigned long long)(sum & 0xffffffffu));
    return 0;
}
