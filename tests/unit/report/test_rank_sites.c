/*
 * rank_sites: quantiles of log2 histograms, bucket bounds, series statistics and columns,
 * I/O rows (kernel apart from stdio, averages), row ordering.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "helpers.h"
#include "rank_sites.h"

static struct ns_hist hist(const uint64_t *b, uint32_t n)
{
    struct ns_hist h;
    memset(&h, 0, sizeof(h));
    for (uint32_t i = 0; i < n; i++) {
        h.buckets[i] = b[i];
        h.total += b[i];
        if (b[i])
            h.nbuckets = i + 1;
    }
    return h;
}

Test(rank_sites, bucket_bounds)
{
    cr_assert_eq(ns_hist_lo(0), 0);
    cr_assert_eq(ns_hist_hi(0), 0);
    cr_assert_eq(ns_hist_lo(1), 1);
    cr_assert_eq(ns_hist_hi(1), 1);
    cr_assert_eq(ns_hist_lo(7), 64);
    cr_assert_eq(ns_hist_hi(7), 127);
    cr_assert_eq(ns_hist_lo(64), 1ull << 63);
    cr_assert_eq(ns_hist_hi(64), UINT64_MAX);
}

Test(rank_sites, quantiles)
{
    /* 50 values of 0, 40 in [64,128), 9 in [4096,8192), 1 in [2^20, 2^21). */
    uint64_t b[22] = {[0] = 50, [7] = 40, [13] = 9, [21] = 1};
    struct ns_hist h = hist(b, 22);
    cr_assert_eq(ns_hist_quantile(&h, 0.5), 0);
    cr_assert_eq(ns_hist_quantile(&h, 0.51), 7);
    cr_assert_eq(ns_hist_quantile(&h, 0.9), 7);
    cr_assert_eq(ns_hist_quantile(&h, 0.95), 13);
    cr_assert_eq(ns_hist_quantile(&h, 0.99), 13);
    cr_assert_eq(ns_hist_quantile(&h, 1.0), 21);
    struct ns_hist empty = hist(b, 0);
    cr_assert_eq(ns_hist_quantile(&empty, 0.5), -1);
    uint64_t huge[2] = {UINT64_MAX, UINT64_MAX}; /* totals saturate, quantiles still work */
    struct ns_hist big = hist(huge, 2);
    cr_assert_eq(ns_hist_quantile(&big, 0.5), 0);
}

static struct ns_series series_of(struct ns_point *pts, size_t n)
{
    return (struct ns_series){.name = "heap_live_bytes", .unit = "bytes", .points = pts, .n = n};
}

Test(rank_sites, series_stats_and_columns)
{
    struct ns_point pts[] = {{0, 10}, {100, 50}, {250, 30}, {400, 50}, {1000, 5}};
    struct ns_series s = series_of(pts, 5);
    struct ns_series_stats st;
    ns_series_stats(&s, &st);
    cr_assert(st.valid);
    cr_assert_eq(st.min, 5);
    cr_assert_eq(st.max, 50);
    cr_assert_eq(st.max_time_ns, 100, "the first time the maximum is reached");
    cr_assert_eq(st.first_ns, 0);
    cr_assert_eq(st.last_ns, 1000);
    uint64_t cols[10];
    ns_series_columns(&s, cols, 10);
    /* Column j spans [100 j, 100 j + 100): the value in force at its start and any point in
     * it; the last column also takes the final point. */
    const uint64_t want[10] = {10, 50, 50, 30, 50, 50, 50, 50, 50, 50};
    for (int j = 0; j < 10; j++)
        cr_assert_eq(cols[j], want[j], "column %d", j);
    struct ns_series none = series_of(pts, 0);
    ns_series_stats(&none, &st);
    cr_assert_not(st.valid);
    ns_series_columns(&none, cols, 10);
    cr_assert_eq(cols[0], 0);
}

Test(rank_sites, a_series_at_one_instant)
{
    struct ns_point pts[] = {{5, 7}, {5, 9}};
    struct ns_series s = series_of(pts, 2);
    uint64_t cols[4];
    ns_series_columns(&s, cols, 4);
    cr_assert_eq(cols[3], 9);
}

Test(rank_sites, io_rows_keep_kernel_and_stdio_apart)
{
    struct ns_profile *p = ip_profile("ip.nsp", 1, "full");
    struct ns_resolver r = ip_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    struct ns_io_events e;
    ns_sections_events(m, NULL, &e, NULL);
    struct ns_io_row *rows;
    size_t n;
    cr_assert_eq(ns_io_rows(m, &e, 0, &rows, &n), 0);
    cr_assert_eq(n, 4);
    cr_assert_eq(rows[0].time, 20000000);
    cr_assert_eq(rows[0].calls, 10);
    cr_assert_eq(rows[0].bytes, 640);
    cr_assert_not(rows[0].stdio);
    /* save has one kernel and one stdio row at the same site. */
    cr_assert_eq(rows[1].key, rows[2].key);
    cr_assert_not(rows[1].stdio);
    cr_assert(rows[2].stdio);
    cr_assert_eq(rows[2].calls, 100);
    free(rows);
    cr_assert_eq(ns_io_rows(m, &e, 1, &rows, &n), 0);
    cr_assert_eq(n, 4, "the log file has a kernel and a stdio row");
    free(rows);
    ns_model_free(m);
    tp_free(p);
}

Test(rank_sites, site_rows_join_events_and_sort_by_any)
{
    struct ns_profile *p = ip_profile("ip.nsp", 1, "full");
    struct ns_resolver r = ip_resolver();
    struct ns_model_options o = {.resolver = &r};
    struct ns_model *m = build1(p, &o);
    struct ns_mem_events e;
    ns_sections_events(m, &e, NULL, NULL);
    uint32_t ev[2] = {e.bytes, e.count};
    struct ns_site_row *rows;
    size_t n;
    cr_assert_eq(ns_rank_site_rows(m, ev, 2, 0, &rows, &n), 0);
    cr_assert_eq(n, 3);
    cr_assert_eq(rows[0].w[0], 8000);
    cr_assert_eq(rows[0].w[1], 8);
    ns_rank_sort_rows(rows, n, 1);
    cr_assert_eq(rows[0].w[1], 40);
    cr_assert_eq(rows[0].w[0], 800);
    free(rows);
    ns_model_free(m);
    tp_free(p);
}
