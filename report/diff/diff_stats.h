/*
 * diff_stats — the statistics of `nsprof diff`'s noise verdicts (docs/DIFF.md says which
 * applies to which event and number of runs).
 *
 * Contract: pure functions of their arguments; p-values are two-sided, in [0, 1].
 */
#ifndef NS_REPORT_DIFF_STATS_H
#define NS_REPORT_DIFF_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Regularized incomplete beta function I_x(a, b). */
double ns_stat_incomplete_beta(double a, double b, double x);

/* Two-sided p-value of Student's t with df degrees of freedom. */
double ns_stat_t_two_sided_p(double t, double df);

/* Welch's t-test of two samples of run values (each side at least 2 runs, else 1.0). With
 * no spread on either side, 1.0 when the means are equal and 0.0 when they are not. */
double ns_stat_welch_p(const double *a, size_t na, const double *b, size_t nb);

/* Did a function's share of the samples change between two single runs? c1 of n1 samples
 * before, c2 of n2 after; under "no change in share" c2 given c1 + c2 is binomial with
 * probability n2 / (n1 + n2). A function that only moved with the whole run's total is
 * not a change. Exact for small counts, normal with continuity correction otherwise. */
double ns_stat_share_p(uint64_t c1, uint64_t n1, uint64_t c2, uint64_t n2);

/* Benjamini–Hochberg at false discovery rate q: significant[i] = 1 for the discoveries
 * among the n p-values (NaN counts as 1). 0, or -1 when memory runs out. */
int ns_stat_benjamini_hochberg(const double *p, size_t n, double q, int *significant);

#endif
