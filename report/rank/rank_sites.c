/*
 * rank_sites — tables of call sites and resources, histograms, series and the facts of the
 * Memory, I/O and Locks sections (see rank_sites.h).
 *
 * Rows are gathered in one pass over the model's samples into an array indexed by site or
 * resource (both are dense indices), then compacted and sorted: no hashing, linear time.
 */
#include "rank_sites.h"

#include "facts.h"

#include <stdlib.h>
#include <string.h>

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
    return a > b ? -1 : a < b;
}

/* ---- rows ---- */

static int row_cmp_from(const struct ns_site_row *a, const struct ns_site_row *b, size_t first)
{
    int c = cmp_u64_desc(a->w[first], b->w[first]);
    for (size_t i = 0; !c && i < NS_ROW_EVENTS; i++)
        if (i != first)
            c = cmp_u64_desc(a->w[i], b->w[i]);
    return c ? c : (a->key > b->key) - (a->key < b->key);
}

static int row_cmp(const void *a, const void *b, void *ctx)
{
    return row_cmp_from(a, b, *(const size_t *)ctx);
}

void ns_rank_sort_rows(struct ns_site_row *rows, size_t n, size_t first)
{
    if (n)
        qsort_r(rows, n, sizeof(*rows), row_cmp, &first);
}

/* Which of events[0..n) the event e is, or -1. */
static int event_slot(const uint32_t *events, size_t n, uint32_t e)
{
    for (size_t i = 0; i < n; i++)
        if (events[i] == e)
            return (int)i;
    return -1;
}

int ns_rank_site_rows(const struct ns_model *m, const uint32_t *events, size_t n, int by_resource,
                      struct ns_site_row **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (n > NS_ROW_EVENTS)
        n = NS_ROW_EVENTS;
    size_t nkeys = by_resource ? m->nresources : m->nsites;
    /* One more slot, last, for the entries without a site or resource. */
    struct ns_site_row *rows = calloc(nkeys + 1, sizeof(*rows));
    if (!rows)
        return -1;
    for (size_t i = 0; i < m->nsamples; i++) {
        const struct ns_sample *s = &m->samples[i];
        int slot = event_slot(events, n, m->nodes[s->node].event);
        if (slot < 0)
            continue;
        uint32_t key = by_resource ? s->resource : s->site;
        struct ns_site_row *r = &rows[key < nkeys ? key : nkeys];
        r->w[slot] = sat_add(r->w[slot], s->weight);
    }
    size_t k = 0;
    for (size_t i = 0; i <= nkeys; i++) {
        if (!rows[i].w[0] && !rows[i].w[1] && !rows[i].w[2])
            continue;
        rows[k] = rows[i];
        rows[k++].key = i < nkeys ? (uint32_t)i : NS_NONE;
    }
    ns_rank_sort_rows(rows, k, 0);
    *out = rows;
    *nout = k;
    return 0;
}

/* ---- stacks ---- */

static int stack_row_cmp(const void *pa, const void *pb)
{
    const struct ns_stack_row *a = pa, *b = pb;
    int c = cmp_u64_desc(a->weight, b->weight);
    return c ? c : (a->node > b->node) - (a->node < b->node);
}

int ns_rank_stack_rows(const struct ns_model *m, uint32_t event, struct ns_stack_row **out,
                       size_t *n)
{
    *out = NULL;
    *n = 0;
    struct ns_stack_row *rows = calloc(m->nnodes ? m->nnodes : 1, sizeof(*rows));
    if (!rows)
        return -1;
    for (size_t i = 0; i < m->nsamples; i++) {
        const struct ns_sample *s = &m->samples[i];
        if (m->nodes[s->node].event != event)
            continue;
        struct ns_stack_row *r = &rows[s->node];
        r->weight = sat_add(r->weight, s->weight);
        r->site = s->site; /* every sample of one key has the key's site */
    }
    size_t k = 0;
    for (size_t i = 0; i < m->nnodes; i++)
        if (rows[i].weight) {
            rows[k] = rows[i];
            rows[k++].node = (uint32_t)i;
        }
    if (k)
        qsort(rows, k, sizeof(*rows), stack_row_cmp);
    *out = rows;
    *n = k;
    return 0;
}

uint32_t ns_site_node(const struct ns_model *m, uint32_t leaf, uint32_t site)
{
    if (site >= m->nsites)
        return leaf;
    for (uint32_t n = leaf; n != NS_NONE && m->nodes[n].depth >= 2; n = m->nodes[n].parent)
        if (m->nodes[n].func == m->sites[site].func)
            return n;
    return leaf;
}

/* ---- histograms ---- */

void ns_rank_histogram(const struct ns_model *m, uint32_t event, int by_resource, uint32_t key,
                       struct ns_hist *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < m->nhistograms; i++) {
        const struct ns_histogram *h = &m->histograms[i];
        if (h->event != event || (by_resource ? h->resource : h->site) != key)
            continue;
        uint32_t nb =
            h->nbuckets < NSP_MAX_HISTOGRAM_BUCKETS ? h->nbuckets : NSP_MAX_HISTOGRAM_BUCKETS;
        for (uint32_t b = 0; b < nb; b++) {
            out->buckets[b] = sat_add(out->buckets[b], h->buckets[b]);
            out->total = sat_add(out->total, h->buckets[b]);
            if (h->buckets[b] && b + 1 > out->nbuckets)
                out->nbuckets = b + 1;
        }
    }
}

int ns_hist_quantile(const struct ns_hist *h, double q)
{
    if (!h->total)
        return -1;
    /* The rank of the quantile, at least 1: computed in floating point, since a total near
     * 2^64 times q does not fit an integer product. */
    double rank = q * (double)h->total;
    uint64_t seen = 0;
    for (uint32_t b = 0; b < h->nbuckets; b++) {
        seen = sat_add(seen, h->buckets[b]);
        if (seen && (double)seen >= rank)
            return (int)b;
    }
    return (int)h->nbuckets - 1;
}

uint64_t ns_hist_lo(unsigned i)
{
    return i == 0 ? 0 : i > 64 ? UINT64_MAX : 1ull << (i - 1);
}

uint64_t ns_hist_hi(unsigned i)
{
    return i == 0 ? 0 : i >= 64 ? UINT64_MAX : (1ull << i) - 1;
}

/* ---- series ---- */

void ns_series_stats(const struct ns_series *s, struct ns_series_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!s->n)
        return;
    st->valid = 1;
    st->min = st->max = s->points[0].value;
    st->max_time_ns = st->first_ns = s->points[0].time_ns;
    st->last_ns = s->points[s->n - 1].time_ns;
    for (size_t i = 1; i < s->n; i++) {
        uint64_t v = s->points[i].value;
        if (v < st->min)
            st->min = v;
        if (v > st->max) {
            st->max = v;
            st->max_time_ns = s->points[i].time_ns;
        }
    }
}

void ns_series_columns(const struct ns_series *s, uint64_t *cols, size_t ncols)
{
    memset(cols, 0, ncols * sizeof(*cols));
    if (!s->n || !ncols)
        return;
    /* Spans in unsigned arithmetic: last - first may exceed INT64_MAX for hostile times. */
    uint64_t t0 = (uint64_t)s->points[0].time_ns;
    uint64_t span = (uint64_t)s->points[s->n - 1].time_ns - t0;
    size_t i = 0;
    uint64_t in_force = s->points[0].value;
    for (size_t j = 0; j < ncols; j++) {
        /* End of column j (exclusive); the last column takes the last point too. */
        unsigned __int128 end = (unsigned __int128)span * (j + 1) / ncols;
        uint64_t best = in_force;
        while (i < s->n && ((uint64_t)s->points[i].time_ns - t0 < end || j + 1 == ncols)) {
            in_force = s->points[i++].value;
            best = in_force > best ? in_force : best;
        }
        cols[j] = best;
    }
}

/* ---- sections ---- */

void ns_sections_events(const struct ns_model *m, struct ns_mem_events *mem,
                        struct ns_io_events *io, struct ns_lock_events *lock)
{
    if (mem) {
        mem->bytes = ns_model_event_index(m, "alloc_bytes");
        mem->count = ns_model_event_index(m, "alloc_count");
        mem->leak = ns_model_event_index(m, "leak_bytes");
        mem->peak = ns_model_event_index(m, "peak_bytes");
    }
    if (io) {
        static const char *const names[3][2] = {
            {"io_time", "stdio_time"}, {"io_bytes", "stdio_bytes"}, {"io_calls", "stdio_calls"}};
        for (int k = 0; k < 2; k++) {
            io->time[k] = ns_model_event_index(m, names[0][k]);
            io->bytes[k] = ns_model_event_index(m, names[1][k]);
            io->calls[k] = ns_model_event_index(m, names[2][k]);
        }
    }
    if (lock) {
        lock->wait = ns_model_event_index(m, "lock_wait");
        lock->cond = ns_model_event_index(m, "cond_wait");
        lock->calls = ns_model_event_index(m, "lock_calls");
        lock->contended = ns_model_event_index(m, "lock_contended");
    }
}

int ns_model_has_series(const struct ns_model *m, const char *name)
{
    for (size_t i = 0; i < m->nseries; i++)
        if (strcmp(m->series[i].name, name) == 0)
            return 1;
    return 0;
}

int ns_memory_present(const struct ns_model *m, const struct ns_mem_events *e)
{
    return e->bytes != NS_NONE || e->count != NS_NONE || e->leak != NS_NONE || e->peak != NS_NONE ||
           ns_model_has_series(m, "heap_live_bytes");
}

int ns_io_present(const struct ns_io_events *e)
{
    for (int k = 0; k < 2; k++)
        if (e->time[k] != NS_NONE || e->bytes[k] != NS_NONE || e->calls[k] != NS_NONE)
            return 1;
    return 0;
}

int ns_locks_present(const struct ns_lock_events *e)
{
    return e->wait != NS_NONE || e->cond != NS_NONE || e->calls != NS_NONE;
}

int ns_lock_rows(const struct ns_model *m, const struct ns_lock_events *e, int by_resource,
                 struct ns_site_row **out, size_t *n)
{
    uint32_t ev[3] = {e->wait, e->contended, e->calls};
    if (ns_rank_site_rows(m, ev, 3, by_resource, out, n) < 0)
        return -1;
    /* A site or lock that never waited nor found the lock taken is no contention: its calls
     * count in the totals only. */
    size_t k = 0;
    for (size_t i = 0; i < *n; i++)
        if ((*out)[i].w[0] || (*out)[i].w[1])
            (*out)[k++] = (*out)[i];
    *n = k;
    return 0;
}

uint64_t ns_run_duration_ns(const struct ns_model *m)
{
    uint64_t d = 0;
    for (size_t i = 0; i < m->nprocesses; i++)
        d += ns_facts_duration_ns(&m->processes[i]);
    return d;
}

const char *ns_alloc_mode(const struct ns_model *m, const char **interval)
{
    const char *mode = NULL;
    *interval = NULL;
    for (size_t i = 0; i < m->nprocesses; i++) {
        const char *v = ns_model_setting(&m->processes[i], "alloc");
        if (!v || strcmp(v, "off") == 0)
            continue;
        if (!*interval && strcmp(v, "sample") == 0)
            *interval = ns_model_setting(&m->processes[i], "alloc_interval");
        /* Setting values are interned: equal strings are equal pointers. */
        mode = !mode || mode == v ? v : "mixed";
    }
    return mode;
}

int ns_alloc_inexact(const struct ns_model *m)
{
    for (size_t i = 0; i < m->nprocesses; i++) {
        const struct ns_process *p = &m->processes[i];
        for (size_t k = 0; k < p->nnotes; k++)
            if (strcmp(p->notes[k].code, "alloc_inexact") == 0)
                return 1;
    }
    return 0;
}

static int any_process_with_alloc(const struct ns_model *m, const char *mode)
{
    for (size_t i = 0; i < m->nprocesses; i++) {
        const char *v = ns_model_setting(&m->processes[i], "alloc");
        if (v && strcmp(v, mode) == 0)
            return 1;
    }
    return 0;
}

/* Every process that tracked allocations exactly ended with an END(exit). */
static int full_processes_exited(const struct ns_model *m)
{
    for (size_t i = 0; i < m->nprocesses; i++) {
        const struct ns_process *p = &m->processes[i];
        const char *v = ns_model_setting(p, "alloc");
        if (v && strcmp(v, "full") == 0 && (!p->has_end || p->end_reason != NSP_EXIT_NORMAL))
            return 0;
    }
    return 1;
}

/* Filters that can remove every entry of an event. */
static int filtered(const struct ns_model *m, uint32_t event)
{
    const struct ns_filter_stats *f = &m->filter;
    return (event == NS_NONE && f->event) || f->thread || f->function || f->has_from || f->has_to;
}

enum ns_state_status ns_leak_status(const struct ns_model *m, uint32_t event)
{
    if (event != NS_NONE && m->events[event].weight)
        return NS_STATE_FOUND;
    if (filtered(m, event))
        return NS_STATE_FILTERED;
    if (!any_process_with_alloc(m, "full"))
        return NS_STATE_NOT_TRACKED;
    /* Leaks are written at exit: without an exit nothing says there were none. */
    return event != NS_NONE && full_processes_exited(m) ? NS_STATE_NONE : NS_STATE_UNKNOWN;
}

enum ns_state_status ns_peak_status(const struct ns_model *m, uint32_t event)
{
    if (event != NS_NONE && m->events[event].weight)
        return NS_STATE_FOUND;
    if (filtered(m, event))
        return NS_STATE_FILTERED;
    if (!any_process_with_alloc(m, "full"))
        return NS_STATE_NOT_TRACKED;
    return event != NS_NONE ? NS_STATE_NONE : NS_STATE_UNKNOWN;
}

const char *ns_state_status_name(enum ns_state_status s)
{
    switch (s) {
    case NS_STATE_FOUND:
        return "found";
    case NS_STATE_NONE:
        return "none";
    case NS_STATE_NOT_TRACKED:
        return "not_tracked";
    case NS_STATE_FILTERED:
        return "filtered";
    default:
        return "unknown";
    }
}

/* ---- I/O rows ---- */

static int io_row_cmp(const void *pa, const void *pb)
{
    const struct ns_io_row *a = pa, *b = pb;
    int c = cmp_u64_desc(a->time, b->time);
    if (!c)
        c = cmp_u64_desc(a->bytes, b->bytes);
    if (!c)
        c = cmp_u64_desc(a->calls, b->calls);
    if (!c)
        c = (a->stdio > b->stdio) - (a->stdio < b->stdio);
    return c ? c : (a->key > b->key) - (a->key < b->key);
}

int ns_io_rows(const struct ns_model *m, const struct ns_io_events *e, int by_resource,
               struct ns_io_row **out, size_t *n)
{
    struct ns_site_row *rows[2] = {NULL, NULL};
    size_t nrows[2] = {0, 0};
    *out = NULL;
    *n = 0;
    for (int k = 0; k < 2; k++) {
        uint32_t ev[3] = {e->time[k], e->bytes[k], e->calls[k]};
        if (ns_rank_site_rows(m, ev, 3, by_resource, &rows[k], &nrows[k]) < 0) {
            free(rows[0]);
            return -1;
        }
    }
    struct ns_io_row *v = calloc(nrows[0] + nrows[1] + 1, sizeof(*v));
    if (v) {
        for (int k = 0; k < 2; k++)
            for (size_t i = 0; i < nrows[k]; i++)
                v[(*n)++] = (struct ns_io_row){rows[k][i].key, k, rows[k][i].w[0], rows[k][i].w[1],
                                               rows[k][i].w[2]};
        qsort(v, *n, sizeof(*v), io_row_cmp);
    }
    free(rows[0]);
    free(rows[1]);
    *out = v;
    return v ? 0 : -1;
}
