/*
 * diff_stats — the tests behind the diff's noise verdicts (diff_stats.h): Welch's t over
 * runs, the conditional binomial test of a share between two single runs, and
 * Benjamini–Hochberg over many functions. Written out here (a few dozen lines each) rather
 * than linking a statistics library into the analyzer.
 */
#include "diff_stats.h"

#include <math.h>
#include <stdlib.h>

/* Continued fraction of the regularized incomplete beta function (modified Lentz). */
static double beta_cf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-14;
    double qab = a + b, qap = a + 1.0, qam = a - 1.0;
    double c = 1.0, d = 1.0 - qab * x / qap;
    d = fabs(d) < tiny ? tiny : d;
    d = 1.0 / d;
    double h = d;
    for (int m = 1; m <= 300; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1.0 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        d = fabs(d) < tiny ? tiny : d;
        c = 1.0 + aa / c;
        c = fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1.0) < eps)
            break;
    }
    return h;
}

double ns_stat_incomplete_beta(double a, double b, double x)
{
    if (x <= 0.0)
        return 0.0;
    if (x >= 1.0)
        return 1.0;
    double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
    double bt = exp(lbt);
    if (x < (a + 1.0) / (a + b + 2.0))
        return bt * beta_cf(a, b, x) / a;
    return 1.0 - bt * beta_cf(b, a, 1.0 - x) / b;
}

double ns_stat_t_two_sided_p(double t, double df)
{
    if (!isfinite(t))
        return isnan(t) ? 1.0 : 0.0;
    if (df <= 0.0)
        return 1.0;
    return ns_stat_incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
}

static void mean_var(const double *v, size_t n, double *mean, double *var)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    *mean = s / (double)n;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - *mean) * (v[i] - *mean);
    *var = n > 1 ? ss / (double)(n - 1) : 0.0;
}

double ns_stat_welch_p(const double *a, size_t na, const double *b, size_t nb)
{
    if (na < 2 || nb < 2)
        return 1.0;
    double ma, va, mb, vb;
    mean_var(a, na, &ma, &va);
    mean_var(b, nb, &mb, &vb);
    double sa = va / (double)na, sb = vb / (double)nb, se2 = sa + sb;
    if (se2 <= 0.0) /* no spread on either side: equal is noise, anything else is not */
        return ma == mb ? 1.0 : 0.0;
    double t = (mb - ma) / sqrt(se2);
    /* Welch–Satterthwaite degrees of freedom. */
    double df = se2 * se2 / ((sa * sa) / (double)(na - 1) + (sb * sb) / (double)(nb - 1));
    return ns_stat_t_two_sided_p(t, df);
}

/* log of the binomial probability of k successes in n trials of probability p. */
static double log_binom_pmf(uint64_t k, uint64_t n, double p)
{
    double lk = (double)k, ln = (double)n;
    return lgamma(ln + 1) - lgamma(lk + 1) - lgamma(ln - lk + 1) + lk * log(p) +
           (ln - lk) * log1p(-p);
}

double ns_stat_share_p(uint64_t c1, uint64_t n1, uint64_t c2, uint64_t n2)
{
    uint64_t n = c1 + c2;
    if (n == 0 || n1 == 0 || n2 == 0)
        return 1.0;
    double p0 = (double)n2 / ((double)n1 + (double)n2);
    double mean = (double)n * p0, var = mean * (1.0 - p0);
    if (var >= 25.0) {
        /* Normal approximation with continuity correction. */
        double z = (fabs((double)c2 - mean) - 0.5) / sqrt(var);
        return z <= 0.0 ? 1.0 : erfc(z / sqrt(2.0));
    }
    /* Exact: the probability of every outcome no more likely than the one observed. */
    double lobs = log_binom_pmf(c2, n, p0), p = 0.0;
    for (uint64_t k = 0; k <= n; k++) {
        double lk = log_binom_pmf(k, n, p0);
        if (lk <= lobs + 1e-9)
            p += exp(lk);
    }
    return p > 1.0 ? 1.0 : p;
}

struct ranked {
    double p;
    size_t index;
};

static int by_p(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->p != y->p)
        return x->p < y->p ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

int ns_stat_benjamini_hochberg(const double *p, size_t n, double q, int *significant)
{
    for (size_t i = 0; i < n; i++)
        significant[i] = 0;
    if (n == 0)
        return 0;
    struct ranked *r = malloc(n * sizeof(*r));
    if (!r)
        return -1;
    for (size_t i = 0; i < n; i++)
        r[i] = (struct ranked){isnan(p[i]) ? 1.0 : p[i], i};
    qsort(r, n, sizeof(*r), by_p);
    /* The largest k with p(k) <= k q / n: the k smallest p-values are discoveries. */
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].p <= (double)(i + 1) * q / (double)n)
            k = i + 1;
    for (size_t i = 0; i < k; i++)
        significant[r[i].index] = 1;
    free(r);
    return 0;
}
