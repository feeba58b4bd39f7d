/*
 * render_text_memory — the Memory section of the text report: how allocations were
 * tracked (exact or estimated), totals, the heap's peak, the live heap over time as a
 * sparkline, leaks, the allocation sites by bytes, by count and leaked, and the stacks live
 * at the peak (rank_sites.h computes them; JSON shows the same from render_json_sections.c).
 *
 * An allocation site is the function that asked for the memory (rank_sites.h: the first
 * frame above malloc & co that is not an allocator wrapper), with the line of the call.
 */
#include "render_text_internal.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

#define SPARK_COLS 60

static void put_mode(struct ns_buf *b, const struct ns_model *m)
{
    const char *interval;
    const char *mode = ns_alloc_mode(m, &interval);
    nsr_label(b, "mode");
    if (!mode)
        ns_buf_puts(b, "allocation mode not recorded\n");
    else if (strcmp(mode, "full") == 0 && ns_alloc_inexact(m))
        ns_buf_puts(b, "alloc=full, but the live-allocation table could not grow (out of "
                       "memory): allocations and bytes are counted exactly; live, peak and "
                       "leak figures are LOWER BOUNDS\n");
    else if (strcmp(mode, "full") == 0)
        ns_buf_puts(b, "alloc=full: every allocation and free was tracked; the numbers are "
                       "exact\n");
    else if (strcmp(mode, "sample") == 0) {
        ns_buf_puts(b, "alloc=sample: the numbers are unbiased estimates from one sampled "
                       "allocation per alloc_interval (");
        ns_buf_put_term(b, interval ? interval : "?", 20);
        ns_buf_puts(b, ") bytes allocated, on average\n");
    } else if (strcmp(mode, "mixed") == 0)
        ns_buf_puts(b, "alloc differs between processes: exact in some (full), estimated in "
                       "others (sample)\n");
    else {
        ns_buf_puts(b, "alloc=");
        ns_buf_put_term(b, mode, 20);
        ns_buf_puts(b, "\n");
    }
}

static void put_totals(struct ns_buf *b, const struct ns_model *m, const struct ns_mem_events *e)
{
    if (e->bytes == NS_NONE && e->count == NS_NONE)
        return;
    uint64_t bytes = e->bytes != NS_NONE ? m->events[e->bytes].weight : 0;
    uint64_t count = e->count != NS_NONE ? m->events[e->count].weight : 0;
    char w[32], c[32];
    nsr_label(b, "allocated");
    ns_fmt_weight(w, sizeof(w), bytes, "bytes");
    ns_fmt_count(c, sizeof(c), count);
    if (e->bytes != NS_NONE && e->count != NS_NONE && count) {
        char avg[32];
        ns_fmt_weight(avg, sizeof(avg), bytes / count, "bytes");
        ns_buf_printf(b, "%s in %s allocations (average %s)\n", w, c, avg);
    } else if (e->bytes != NS_NONE)
        ns_buf_printf(b, "%s\n", w);
    else
        ns_buf_printf(b, "%s allocations\n", c);
}

static void put_peak(struct ns_buf *b, const struct ns_model *m, const struct ns_mem_events *e)
{
    char w[32];
    enum ns_state_status st = ns_peak_status(m, e->peak);
    if (st == NS_STATE_FILTERED && e->peak == NS_NONE)
        return; /* --event chose another event */
    nsr_label(b, "peak");
    switch (st) {
    case NS_STATE_FOUND:
        ns_fmt_weight(w, sizeof(w), m->events[e->peak].weight, "bytes");
        ns_buf_printf(b, "%s live at the heap's peak\n", w);
        break;
    case NS_STATE_NONE:
        ns_buf_puts(b, "no allocation was live at any time\n");
        break;
    case NS_STATE_NOT_TRACKED:
        ns_buf_puts(b, "not tracked: alloc=sample estimates what was allocated, not what was "
                       "live (record with --alloc full)\n");
        break;
    case NS_STATE_FILTERED:
        ns_buf_puts(b, "none left after the filters\n");
        break;
    default:
        ns_buf_puts(b, "not recorded\n");
    }
}

static void put_series(struct ns_buf *b, const struct ns_model *m)
{
    size_t shown = 0;
    for (size_t i = 0; i < m->nseries; i++) {
        const struct ns_series *s = &m->series[i];
        if (strcmp(s->name, "heap_live_bytes") != 0)
            continue;
        struct ns_series_stats st;
        ns_series_stats(s, &st);
        nsr_label(b, shown++ ? "" : "live heap");
        if (m->nprocesses > 1) {
            nsr_process_name(b, &m->processes[s->process]);
            ns_buf_puts(b, ": ");
        }
        if (!st.valid) {
            ns_buf_puts(b, "no points in the time range\n");
            continue;
        }
        char lo[32], hi[32], at[32], t0[32], t1[32];
        ns_fmt_weight(lo, sizeof(lo), st.min, "bytes");
        ns_fmt_weight(hi, sizeof(hi), st.max, "bytes");
        ns_fmt_duration(at, sizeof(at), (uint64_t)st.max_time_ns);
        ns_buf_printf(b, "min %s, max %s at %s (%zu points)\n", lo, hi, at, s->n);
        nsr_label(b, "");
        nsr_put_sparkline(b, s, SPARK_COLS);
        ns_fmt_duration(t0, sizeof(t0), (uint64_t)st.first_ns);
        ns_fmt_duration(t1, sizeof(t1), (uint64_t)st.last_ns);
        ns_buf_printf(b, " %s to %s\n", t0, t1);
    }
}

static size_t count_sites(const struct ns_model *m, uint32_t event)
{
    struct ns_site_row *rows;
    size_t n = 0;
    if (ns_rank_site_rows(m, &event, 1, 0, &rows, &n) < 0)
        return 0;
    free(rows);
    return n;
}

static void put_leaks(struct ns_buf *b, const struct ns_model *m, const struct ns_mem_events *e)
{
    const char *interval;
    const char *mode = ns_alloc_mode(m, &interval);
    char w[32];
    enum ns_state_status st = ns_leak_status(m, e->leak);
    if (st == NS_STATE_FILTERED && e->leak == NS_NONE)
        return; /* --event chose another event */
    nsr_label(b, "leaks");
    switch (st) {
    case NS_STATE_FOUND:
        ns_fmt_weight(w, sizeof(w), m->events[e->leak].weight, "bytes");
        size_t sites = count_sites(m, e->leak);
        ns_buf_printf(b, "%s still allocated at exit, from %zu call site%s%s\n", w, sites,
                      sites == 1 ? "" : "s", mode && strcmp(mode, "full") ? " (estimated)" : "");
        break;
    case NS_STATE_NONE:
        ns_buf_puts(b, "no leaks: everything allocated was freed before exit\n");
        break;
    case NS_STATE_NOT_TRACKED:
        ns_buf_puts(b, "not tracked: alloc=sample only estimates allocations (record with "
                       "--alloc full to find leaks)\n");
        break;
    case NS_STATE_FILTERED:
        ns_buf_puts(b, "none left after the filters\n");
        break;
    default:
        ns_buf_puts(b, "not known: a process did not exit normally, so what it still held at "
                       "the end was never written\n");
    }
}

/* An allocation site table: by bytes (sort 0) or by count (sort 1); count may be absent. */
static void put_alloc_sites(struct ns_buf *b, const struct ns_model *m,
                            const struct ns_mem_events *e, int by_count,
                            const struct ns_render_options *o)
{
    static const char *const by_bytes_spec[] = {"rbytes%",   "rbytes",    "rcount", "ravg",
                                                "lfunction", "llocation", "lvia",   "lmodule"};
    static const char *const by_count_spec[] = {"rcount%",   "rcount",    "rbytes", "ravg",
                                                "lfunction", "llocation", "lvia",   "lmodule"};
    uint32_t ev[2] = {e->bytes, e->count};
    struct ns_site_row *rows;
    size_t n;
    if ((by_count ? e->count : e->bytes) == NS_NONE ||
        ns_rank_site_rows(m, ev, 2, 0, &rows, &n) < 0)
        return;
    ns_rank_sort_rows(rows, n, by_count ? 1 : 0);
    size_t avail = n;
    while (avail && rows[avail - 1].w[by_count ? 1 : 0] == 0)
        avail--;
    size_t shown = nsr_shown(avail, o);
    nsr_section_title(b, o, by_count ? "Allocation sites by count" : "Allocation sites by bytes",
                      NULL, shown, avail);
    uint64_t whole = m->events[by_count ? e->count : e->bytes].weight;
    struct ns_table t;
    ns_table_init(&t, 8, by_count ? by_count_spec : by_bytes_spec);
    for (size_t i = 0; i < shown; i++) {
        const struct ns_site_row *r = &rows[i];
        char other[32] = "-", avg[32] = "-";
        if (by_count) {
            nsr_share_cells(&t, r->w[1], whole, "count");
            if (e->bytes != NS_NONE)
                ns_fmt_weight(other, sizeof(other), r->w[0], "bytes");
        } else {
            nsr_share_cells(&t, r->w[0], whole, "bytes");
            if (e->count != NS_NONE)
                ns_fmt_count(other, sizeof(other), r->w[1]);
        }
        ns_table_cell(&t, other);
        if (r->w[1] && e->bytes != NS_NONE)
            ns_fmt_weight(avg, sizeof(avg), r->w[0] / r->w[1], "bytes");
        ns_table_cell(&t, avg);
        nsr_site_cells(&t, m, r->key, 1);
    }
    ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
    free(rows);
}

/* Sites of a snapshot event (peak_bytes, leak_bytes) by bytes. */
static void put_state_sites(struct ns_buf *b, const struct ns_model *m, uint32_t event,
                            const char *title, const char *pct_header,
                            const struct ns_render_options *o)
{
    const char *const spec[] = {pct_header, "rbytes", "lfunction", "llocation", "lvia", "lmodule"};
    struct ns_site_row *rows;
    size_t n;
    if (event == NS_NONE || !m->events[event].weight ||
        ns_rank_site_rows(m, &event, 1, 0, &rows, &n) < 0)
        return;
    size_t shown = nsr_shown(n, o);
    nsr_section_title(b, o, title, NULL, shown, n);
    struct ns_table t;
    ns_table_init(&t, 6, spec);
    for (size_t i = 0; i < shown; i++) {
        nsr_share_cells(&t, rows[i].w[0], m->events[event].weight, "bytes");
        nsr_site_cells(&t, m, rows[i].key, 1);
    }
    ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
    free(rows);
}

/* What was live at the heap's peak, by stack: a site and the callers that led to it. */
static void put_peak_stacks(struct ns_buf *b, const struct ns_model *m, uint32_t event,
                            const struct ns_render_options *o)
{
    static const char *const spec[] = {"rpeak%", "rbytes",  "lfunction",   "llocation",
                                       "lvia",   "lmodule", "lcalled from"};
    struct ns_stack_row *rows;
    size_t n;
    if (event == NS_NONE || !m->events[event].weight || ns_rank_stack_rows(m, event, &rows, &n) < 0)
        return;
    size_t shown = nsr_shown(n, o);
    nsr_section_title(b, o, "Live at the heap's peak, by stack", NULL, shown, n);
    struct ns_table t;
    ns_table_init(&t, 7, spec);
    for (size_t i = 0; i < shown; i++) {
        nsr_share_cells(&t, rows[i].weight, m->events[event].weight, "bytes");
        nsr_site_cells(&t, m, rows[i].site, 1);
        nsr_callers_cell(&t, m, rows[i].node, rows[i].site);
    }
    ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
    free(rows);
}

void nsr_text_memory(struct ns_buf *b, const struct ns_model *m, const struct ns_render_options *o)
{
    struct ns_mem_events e;
    ns_sections_events(m, &e, NULL, NULL);
    if (!ns_memory_present(m, &e))
        return;
    nsr_section_heading(b, o->color, "Memory");
    put_mode(b, m);
    put_totals(b, m, &e);
    put_peak(b, m, &e);
    put_series(b, m);
    put_leaks(b, m, &e);
    put_alloc_sites(b, m, &e, 0, o);
    put_alloc_sites(b, m, &e, 1, o);
    put_peak_stacks(b, m, e.peak, o);
    put_state_sites(b, m, e.leak, "Leaks by allocation site", "rleak%", o);
}
