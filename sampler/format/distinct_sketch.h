/*
 * distinct_sketch — how many distinct values (a query's parameter sets) were seen, in 64
 * one-byte registers (HyperLogLog, Flajolet et al. 2007): the producer updates them (the
 * database hooks, per execution site), DB_STATS carries them, the analyzer merges them by
 * each register's maximum and estimates. Typical error ±13% (1.04 / sqrt(64)); near exact
 * below ~100 values (linear counting of the empty registers).
 *
 * Contract: header-only; ns_distinct_add is pure and async-signal-safe; the estimate needs
 * libm (the analyzer's side).
 */
#ifndef NS_DISTINCT_SKETCH_H
#define NS_DISTINCT_SKETCH_H

#include <math.h>
#include <stdint.h>

#define NS_DISTINCT_REGS 64
_Static_assert(NS_DISTINCT_REGS == 1 << 6, "the index takes a hash's top 6 bits");

/* The register update for a 64-bit hash of one value. */
static inline void ns_distinct_add(uint8_t regs[NS_DISTINCT_REGS], uint64_t h)
{
    /* a full avalanche (MurmurHash3's finalizer): the values' own hashes (FNV of short
     * texts, small integers) are weak in some bits, and every bit is used below */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    unsigned idx = (unsigned)(h >> 58); /* 6 bits: NS_DISTINCT_REGS */
    uint64_t rest = h & ((1ull << 58) - 1);
    uint8_t rank = (uint8_t)(rest ? __builtin_ctzll(rest) + 1 : 59);
    if (rank > regs[idx])
        regs[idx] = rank;
}

/* The number of distinct values the registers estimate. */
static inline double ns_distinct_estimate(const uint8_t regs[NS_DISTINCT_REGS])
{
    const double m = NS_DISTINCT_REGS, alpha = 0.709; /* alpha_64 */
    double sum = 0;
    unsigned empty = 0;
    for (unsigned i = 0; i < NS_DISTINCT_REGS; i++) {
        sum += ldexp(1.0, -(int)regs[i]);
        empty += regs[i] == 0;
    }
    double e = alpha * m * m / sum;
    if (e <= 2.5 * m && empty)
        e = m * log(m / empty);
    return e;
}

#endif
