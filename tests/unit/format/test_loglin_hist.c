/*
 * The log-linear histogram (sampler/format/loglin_hist.h): every bucket's bounds agree with
 * the bucket a value lands in, no bucket is wider than 1/8 of its lower bound, and the
 * p50/p95/p99 it estimates for distributions of latencies (exponential, log-normal, two
 * modes, small integers) are within 6.25% of the exact ones computed by sorting.
 */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>

#include "loglin_hist.h"

Test(loglin_hist, bounds_agree_with_the_buckets)
{
    cr_assert_eq(ns_llh_bucket(0), 0);
    cr_assert_eq(ns_llh_bucket(15), 15);
    cr_assert_eq(ns_llh_bucket(16), 16);
    cr_assert_eq(ns_llh_bucket(UINT64_MAX), NS_LLH_BUCKETS - 1);
    for (unsigned i = 0; i + 1 < NS_LLH_BUCKETS; i++) {
        uint64_t lo = ns_llh_lower(i), next = ns_llh_lower(i + 1);
        cr_assert_lt(lo, next, "bucket %u", i);
        cr_assert_eq(ns_llh_bucket(lo), i, "lower bound of %u", i);
        cr_assert_eq(ns_llh_bucket(next - 1), i, "upper bound of %u", i);
        if (i >= NS_LLH_LINEAR)
            cr_assert_leq((double)(next - lo), (double)lo / 8.0, "bucket %u is too wide", i);
    }
}

/* xorshift64*: the same values on every machine. */
static uint64_t state = 88172645463325252ull;
static double uniform(void)
{
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return (double)((state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static double normal(void)
{
    double u = uniform(), v = uniform();
    return sqrt(-2.0 * log(u > 0 ? u : 1e-300)) * cos(2 * M_PI * v);
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* The histogram's p50, p95 and p99 of values[0..n) against the exact ones. */
static void check_quantiles(uint64_t *values, size_t n, const char *what)
{
    uint64_t counts[NS_LLH_BUCKETS] = {0};
    for (size_t i = 0; i < n; i++)
        counts[ns_llh_bucket(values[i])]++;
    qsort(values, n, sizeof(*values), by_value);
    const double qs[] = {0.5, 0.95, 0.99};
    for (size_t k = 0; k < 3; k++) {
        size_t rank = (size_t)ceil(qs[k] * (double)n);
        double exact = (double)values[rank ? rank - 1 : 0];
        double est = ns_llh_quantile(counts, NS_LLH_BUCKETS, qs[k]);
        cr_assert_leq(fabs(est - exact), 0.0625 * exact + 0.5, "%s p%g: %.0f, exactly %.0f", what,
                      100 * qs[k], est, exact);
    }
}

Test(loglin_hist, quantiles_of_latency_distributions)
{
    enum { N = 100000 };
    static uint64_t v[N];
    for (size_t i = 0; i < N; i++) /* exponential, mean 1 ms */
        v[i] = (uint64_t)(-log(1.0 - uniform()) * 1e6);
    check_quantiles(v, N, "exponential");
    for (size_t i = 0; i < N; i++) /* log-normal around 200 us */
        v[i] = (uint64_t)exp(log(200e3) + 0.8 * normal());
    check_quantiles(v, N, "log-normal");
    for (size_t i = 0; i < N; i++) /* 90% fast (~100 us), 10% slow (~50 ms): p95 is a slow one */
        v[i] = uniform() < 0.9 ? (uint64_t)(100e3 * (0.8 + 0.4 * uniform()))
                               : (uint64_t)(50e6 * (0.8 + 0.4 * uniform()));
    check_quantiles(v, N, "two modes");
    for (size_t i = 0; i < N; i++) /* rows per execution: small integers, exact */
        v[i] = (uint64_t)(uniform() * 12);
    check_quantiles(v, N, "small integers");
}

Test(loglin_hist, edges)
{
    uint64_t counts[NS_LLH_BUCKETS] = {0};
    cr_assert_eq(ns_llh_quantile(counts, NS_LLH_BUCKETS, 0.95), 0.0, "nothing counted");
    counts[ns_llh_bucket(1000)] = 1;
    double one = ns_llh_quantile(counts, NS_LLH_BUCKETS, 0.95);
    cr_assert(one >= 960 && one < 1024, "one value of 1000 in [960, 1024): %.1f", one);
    cr_assert_eq(ns_llh_quantile(counts, NS_LLH_BUCKETS, 2.0),
                 ns_llh_quantile(counts, NS_LLH_BUCKETS, 1.0), "q is clamped");
    counts[NS_LLH_BUCKETS - 1] = 1;
    cr_assert_leq(ns_llh_quantile(counts, NS_LLH_BUCKETS, 1.0), 18446744073709551616.0);
}
