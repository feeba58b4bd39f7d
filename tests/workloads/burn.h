/*
 * burn — CPU work of a known cost for ground-truth workloads. Each BURN_FUNCTION expands to
 * a function that does `n` rounds of the same arithmetic; two such functions cost the same
 * per round, so calling them n and 3n times splits CPU time 1:3 by construction.
 * noipa keeps gcc from merging or inlining them (identical code folding would give both
 * names one address), and the constant makes each body distinct.
 */
#ifndef NS_TEST_BURN_H
#define NS_TEST_BURN_H

#include <stdint.h>
#include <time.h>

#define BURN_FUNCTION(name, salt)                                                                  \
    __attribute__((noipa)) uint64_t name(uint64_t n)                                               \
    {                                                                                              \
        uint64_t x = (salt);                                                                       \
        for (uint64_t i = 0; i < n; i++) {                                                         \
            x ^= x << 13;                                                                          \
            x ^= x >> 7;                                                                           \
            x ^= x << 17;                                                                          \
        }                                                                                          \
        return x;                                                                                  \
    }

static inline double now_seconds(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
