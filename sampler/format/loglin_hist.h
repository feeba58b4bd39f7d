/*
 * loglin_hist — a log-linear histogram of durations (or any unsigned values), fine enough for
 * a p95 within a few percent: the database calls' latency percentiles (issue 14) need more
 * than HISTOGRAM's power-of-two buckets, whose p95 can be off by a factor of two.
 *
 * Buckets: values 0..15 one each; above, every power of two [2^k, 2^(k+1)) is cut into 8
 * equal sub-buckets, so a bucket is at most 1/8 of its lower bound wide: a quantile placed
 * anywhere in its bucket is within 12.5% of the truth, and ns_llh_quantile, which
 * interpolates inside the bucket, does far better on real distributions (within 6.25% in
 * the tests, a few % typically). 496 buckets cover every uint64_t.
 *
 * Contract: header-only, pure, async-signal-safe (recording is one index computation); the
 * producer (the interposers) and the analyzer agree on the bucket scheme through this file.
 */
#ifndef NS_LOGLIN_HIST_H
#define NS_LOGLIN_HIST_H

#include <stddef.h>
#include <stdint.h>

#define NS_LLH_SUB_BITS 3 /* 8 sub-buckets per power of two */
#define NS_LLH_LINEAR   16
#define NS_LLH_BUCKETS  (NS_LLH_LINEAR + (64 - 4) * (1 << NS_LLH_SUB_BITS)) /* 496 */

/* The bucket of value v. */
static inline unsigned ns_llh_bucket(uint64_t v)
{
    if (v < NS_LLH_LINEAR)
        return (unsigned)v;
    unsigned k = 63u - (unsigned)__builtin_clzll(v); /* 2^k <= v < 2^(k+1), k >= 4 */
    unsigned sub = (unsigned)(v >> (k - NS_LLH_SUB_BITS)) & ((1u << NS_LLH_SUB_BITS) - 1);
    return NS_LLH_LINEAR + (k - 4) * (1u << NS_LLH_SUB_BITS) + sub;
}

/* The smallest value of bucket i (i < NS_LLH_BUCKETS). */
static inline uint64_t ns_llh_lower(unsigned i)
{
    if (i < NS_LLH_LINEAR)
        return i;
    unsigned k = 4 + (i - NS_LLH_LINEAR) / (1u << NS_LLH_SUB_BITS);
    uint64_t sub = (i - NS_LLH_LINEAR) % (1u << NS_LLH_SUB_BITS);
    return (1ull << k) + (sub << (k - NS_LLH_SUB_BITS));
}

/* One past the largest value of bucket i, as a double (the last bucket ends at 2^64). */
static inline double ns_llh_upper(unsigned i)
{
    return i + 1 < NS_LLH_BUCKETS ? (double)ns_llh_lower(i + 1) : 18446744073709551616.0;
}

/* The q-quantile (0 <= q <= 1) of the values counted in counts[0..n), n <= NS_LLH_BUCKETS:
 * the value below which a fraction q of them lie, interpolated linearly inside its bucket.
 * 0 when nothing was counted. */
static inline double ns_llh_quantile(const uint64_t *counts, size_t n, double q)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += counts[i];
    if (!total)
        return 0.0;
    q = q < 0.0 ? 0.0 : q > 1.0 ? 1.0 : q;
    double rank = q * (double)total, seen = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!counts[i])
            continue;
        double c = (double)counts[i];
        if (seen + c >= rank) {
            double lo = (double)ns_llh_lower((unsigned)i), hi = ns_llh_upper((unsigned)i);
            if (i < NS_LLH_LINEAR) /* one value per bucket: exact */
                return lo;
            return lo + (hi - lo) * ((rank - seen) / c);
        }
        seen += c;
    }
    return (double)ns_llh_lower((unsigned)(n - 1));
}

#endif
