/*
 * The statistics behind the diff's verdicts, against values known independently: Student's
 * t tables, exact binomial sums done by hand, and the Benjamini–Hochberg example of their
 * 1995 paper.
 */
#include <criterion/criterion.h>
#include <math.h>

#include "diff_stats.h"

Test(diff_stats, t_distribution_matches_the_tables)
{
    /* Two-sided critical values: t(0.975; 1) = 12.706, t(0.975; 10) = 2.228,
     * t(0.995; 5) = 4.032, t(0.975; 1000) ~ 1.962. */
    cr_assert_float_eq(ns_stat_t_two_sided_p(12.706, 1), 0.05, 1e-4);
    cr_assert_float_eq(ns_stat_t_two_sided_p(2.228, 10), 0.05, 1e-4);
    cr_assert_float_eq(ns_stat_t_two_sided_p(4.032, 5), 0.01, 1e-4);
    cr_assert_float_eq(ns_stat_t_two_sided_p(-1.962, 1000), 0.05, 1e-3);
    cr_assert_float_eq(ns_stat_t_two_sided_p(0, 7), 1.0, 1e-12);
}

Test(diff_stats, welch_on_samples_done_by_hand)
{
    /* a: mean 2, var 1; b: mean 5, var 1; 3 each: t = 3 / sqrt(2/3) = 3.674, df = 4:
     * p = 0.0213 (R: t.test(c(1,2,3), c(4,5,6))). */
    double a[] = {1, 2, 3}, b[] = {4, 5, 6};
    cr_assert_float_eq(ns_stat_welch_p(a, 3, b, 3), 0.02131, 1e-4);
    /* Identical values without spread: noise; different ones: not. */
    double c[] = {7, 7}, d[] = {7, 7}, e[] = {9, 9};
    cr_assert_eq(ns_stat_welch_p(c, 2, d, 2), 1.0);
    cr_assert_eq(ns_stat_welch_p(c, 2, e, 2), 0.0);
    cr_assert_eq(ns_stat_welch_p(a, 1, b, 3), 1.0, "one run is not a sample");
}

Test(diff_stats, share_test_exact_and_normal)
{
    /* 5 of 5 on the after side with equal exposure: P = 2 * 0.5^5 = 0.0625. */
    cr_assert_float_eq(ns_stat_share_p(0, 1, 5, 1), 0.0625, 1e-9);
    /* 3 vs 2 at p0 = 0.5: the observed outcome is the likeliest (10/32), so every outcome
     * counts: P = 1. */
    cr_assert_float_eq(ns_stat_share_p(2, 1, 3, 1), 1.0, 1e-9);
    /* Large counts, no change in share: p near 1; a clear change: p tiny. */
    cr_assert_gt(ns_stat_share_p(1000, 10000, 1010, 10000), 0.8);
    cr_assert_lt(ns_stat_share_p(1000, 10000, 1300, 10000), 1e-6);
    /* The whole run doubled and so did the function: no change in its share. */
    cr_assert_gt(ns_stat_share_p(500, 10000, 1000, 20000), 0.9);
    cr_assert_eq(ns_stat_share_p(0, 10, 0, 10), 1.0);
}

Test(diff_stats, benjamini_hochberg_paper_example)
{
    /* Benjamini & Hochberg (1995), 15 p-values, q = 0.05: the 4 smallest are rejected. */
    double p[] = {0.0201, 0.7590, 0.0001, 0.0004, 0.0019, 0.0095, 0.0278, 0.0298,
                  0.0344, 0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 1.0000};
    int sig[15];
    cr_assert_eq(ns_stat_benjamini_hochberg(p, 15, 0.05, sig), 0);
    int expected[15] = {0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 15; i++)
        cr_assert_eq(sig[i], expected[i], "p[%d] = %g", i, p[i]);
    double nan_p[] = {NAN, 0.001};
    cr_assert_eq(ns_stat_benjamini_hochberg(nan_p, 2, 0.05, sig), 0);
    cr_assert_eq(sig[0], 0);
    cr_assert_eq(sig[1], 1);
}
