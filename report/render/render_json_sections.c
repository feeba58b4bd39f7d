/*
 * render_json_sections — the `memory`, `io` and `locks` objects of the JSON report
 * (docs/JSON.md), from the same tables as the text report (rank_sites.h), so the two never
 * disagree. Each is null when the profile holds none of its events.
 *
 * Weights of aggregate events are totals: no field here counts entries. A call site is
 * {function, module, file, line, via}; a resource {type, name, process, pid}; a
 * distribution {count, p50, p90, p99, max, buckets} with values rounded down to a power of
 * two (the format's buckets).
 */
#include "rank_sites.h"
#include "render_json_internal.h"

#include <stdlib.h>
#include <string.h>

static json_t *opt_u64(uint32_t event, uint64_t v)
{
    return event != NS_NONE ? nsj_u64(v) : json_null();
}

static uint64_t weight_of(const struct ns_model *m, uint32_t e)
{
    return e != NS_NONE ? m->events[e].weight : 0;
}

/* Fields of a call site added to o; a missing site has every field null. */
void nsj_site_fields(struct jctx *c, json_t *o, uint32_t site)
{
    const struct ns_model *m = c->m;
    if (site >= m->nsites) {
        static const char *const keys[] = {"function", "module", "file", "line", "via"};
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            nsj_set(c, o, keys[i], json_null());
        nsj_set(c, o, "inlined", json_false());
        return;
    }
    const struct ns_site *s = &m->sites[site];
    const struct ns_func *f = &m->funcs[s->func];
    int has_line = s->line && s->file[0];
    nsj_set(c, o, "function", nsj_str(c, f->name));
    nsj_set(c, o, "module", nsj_str(c, f->module));
    nsj_set(c, o, "file", nsj_str(c, has_line ? s->file : f->file));
    nsj_set(c, o, "line", has_line ? nsj_u64(s->line) : json_null());
    nsj_set(c, o, "via", s->callee != NS_NONE ? nsj_str(c, m->funcs[s->callee].name) : json_null());
    nsj_set(c, o, "inlined", json_boolean(f->inlined));
}

static json_t *site_json(struct jctx *c, uint32_t site)
{
    if (site >= c->m->nsites)
        return json_null();
    json_t *o = json_object();
    nsj_site_fields(c, o, site);
    return o;
}

static json_t *resource_json(struct jctx *c, uint32_t resource)
{
    const struct ns_model *m = c->m;
    if (resource >= m->nresources)
        return json_null();
    const struct ns_resource *r = &m->resources[resource];
    json_t *o = json_object();
    nsj_set(c, o, "type", nsj_str(c, ns_resource_kind_name(r->kind)));
    nsj_set(c, o, "name", nsj_str(c, r->name));
    nsj_set(c, o, "process", nsj_u64(r->process));
    nsj_set(c, o, "pid", nsj_u64(m->processes[r->process].pid));
    return o;
}

/* A distribution, or null when there is no histogram. */
static json_t *hist_json(struct jctx *c, uint32_t event, int by_resource, uint32_t key)
{
    struct ns_hist h;
    if (event == NS_NONE)
        return json_null();
    ns_rank_histogram(c->m, event, by_resource, key, &h);
    if (!h.total)
        return json_null();
    json_t *o = json_object(), *buckets = json_array();
    static const struct {
        const char *name;
        double q;
    } qs[] = {{"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}};
    nsj_set(c, o, "count", nsj_u64(h.total));
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++)
        nsj_set(c, o, qs[i].name, nsj_u64(ns_hist_lo((unsigned)ns_hist_quantile(&h, qs[i].q))));
    nsj_set(c, o, "max", nsj_u64(ns_hist_lo(h.nbuckets - 1)));
    for (uint32_t b = 0; b < h.nbuckets; b++) {
        if (!h.buckets[b])
            continue;
        json_t *one = json_object();
        nsj_set(c, one, "lo", nsj_u64(ns_hist_lo(b)));
        nsj_set(c, one, "hi", nsj_u64(ns_hist_hi(b)));
        nsj_set(c, one, "count", nsj_u64(h.buckets[b]));
        nsj_append(c, buckets, one);
    }
    nsj_set(c, o, "buckets", buckets);
    return o;
}

/* ---- memory ---- */

static json_t *alloc_sites_json(struct jctx *c, const struct ns_mem_events *e, int by_count)
{
    json_t *arr = json_array();
    uint32_t ev[2] = {e->bytes, e->count};
    struct ns_site_row *rows;
    size_t n;
    if ((by_count ? e->count : e->bytes) == NS_NONE)
        return arr;
    if (ns_rank_site_rows(c->m, ev, 2, 0, &rows, &n) < 0) {
        c->failed = 1;
        return arr;
    }
    ns_rank_sort_rows(rows, n, by_count ? 1 : 0);
    while (n && rows[n - 1].w[by_count ? 1 : 0] == 0)
        n--;
    uint64_t bytes = weight_of(c->m, e->bytes), count = weight_of(c->m, e->count);
    for (size_t i = 0; i < nsj_shown(c, n); i++) {
        const struct ns_site_row *r = &rows[i];
        json_t *o = json_object();
        nsj_site_fields(c, o, r->key);
        nsj_set(c, o, "bytes", opt_u64(e->bytes, r->w[0]));
        nsj_set(c, o, "count", opt_u64(e->count, r->w[1]));
        nsj_set(c, o, "avg_bytes",
                e->bytes != NS_NONE && r->w[1] ? nsj_u64(r->w[0] / r->w[1]) : json_null());
        nsj_set(c, o, "bytes_pct", e->bytes != NS_NONE ? nsj_pct(r->w[0], bytes) : json_null());
        nsj_set(c, o, "count_pct", e->count != NS_NONE ? nsj_pct(r->w[1], count) : json_null());
        nsj_append(c, arr, o);
    }
    free(rows);
    return arr;
}

static json_t *state_sites_json(struct jctx *c, uint32_t event)
{
    json_t *arr = json_array();
    struct ns_site_row *rows;
    size_t n;
    if (event == NS_NONE)
        return arr;
    if (ns_rank_site_rows(c->m, &event, 1, 0, &rows, &n) < 0) {
        c->failed = 1;
        return arr;
    }
    for (size_t i = 0; i < nsj_shown(c, n); i++) {
        json_t *o = json_object();
        nsj_site_fields(c, o, rows[i].key);
        nsj_set(c, o, "bytes", nsj_u64(rows[i].w[0]));
        nsj_set(c, o, "pct", nsj_pct(rows[i].w[0], c->m->events[event].weight));
        nsj_append(c, arr, o);
    }
    free(rows);
    return arr;
}

/* The frames of a stack from the outermost to the leaf (the process node left out). */
static json_t *frames_json(struct jctx *c, uint32_t leaf)
{
    const struct ns_model *m = c->m;
    json_t *arr = json_array();
    size_t depth = m->nodes[leaf].depth;
    for (size_t i = 2; i <= depth; i++) {
        uint32_t n = leaf;
        while (m->nodes[n].depth > i)
            n = m->nodes[n].parent;
        nsj_append(c, arr, nsj_str(c, m->funcs[m->nodes[n].func].name));
    }
    return arr;
}

static json_t *state_stacks_json(struct jctx *c, uint32_t event)
{
    json_t *arr = json_array();
    struct ns_stack_row *rows;
    size_t n;
    if (event == NS_NONE)
        return arr;
    if (ns_rank_stack_rows(c->m, event, &rows, &n) < 0) {
        c->failed = 1;
        return arr;
    }
    for (size_t i = 0; i < nsj_shown(c, n); i++) {
        json_t *o = json_object();
        nsj_site_fields(c, o, rows[i].site);
        nsj_set(c, o, "bytes", nsj_u64(rows[i].weight));
        nsj_set(c, o, "pct", nsj_pct(rows[i].weight, c->m->events[event].weight));
        nsj_set(c, o, "frames", frames_json(c, rows[i].node));
        nsj_append(c, arr, o);
    }
    free(rows);
    return arr;
}

static json_t *state_json(struct jctx *c, uint32_t event, enum ns_state_status status,
                          int estimated)
{
    json_t *o = json_object();
    nsj_set(c, o, "status", nsj_str(c, ns_state_status_name(status)));
    nsj_set(c, o, "bytes", opt_u64(event, weight_of(c->m, event)));
    nsj_set(c, o, "estimated", json_boolean(estimated && status == NS_STATE_FOUND));
    nsj_set(c, o, "sites", state_sites_json(c, event));
    nsj_set(c, o, "stacks", state_stacks_json(c, event));
    return o;
}

static json_t *series_json(struct jctx *c)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < c->m->nseries; i++) {
        const struct ns_series *s = &c->m->series[i];
        if (strncmp(s->name, "heap_", 5) != 0)
            continue;
        struct ns_series_stats st;
        ns_series_stats(s, &st);
        json_t *o = json_object(), *points = json_array();
        nsj_set(c, o, "process", nsj_u64(s->process));
        nsj_set(c, o, "pid", nsj_u64(c->m->processes[s->process].pid));
        nsj_set(c, o, "name", nsj_str(c, s->name));
        nsj_set(c, o, "unit", nsj_str(c, s->unit));
        nsj_set(c, o, "min", st.valid ? nsj_u64(st.min) : json_null());
        nsj_set(c, o, "max", st.valid ? nsj_u64(st.max) : json_null());
        nsj_set(c, o, "max_time_ns", st.valid ? json_integer(st.max_time_ns) : json_null());
        for (size_t p = 0; p < s->n; p++) {
            json_t *pt = json_array();
            nsj_append(c, pt, json_integer(s->points[p].time_ns));
            nsj_append(c, pt, nsj_u64(s->points[p].value));
            nsj_append(c, points, pt);
        }
        nsj_set(c, o, "points", points);
        nsj_append(c, arr, o);
    }
    return arr;
}

json_t *nsj_memory(struct jctx *c)
{
    const struct ns_model *m = c->m;
    struct ns_mem_events e;
    ns_sections_events(m, &e, NULL, NULL);
    if (!ns_memory_present(m, &e))
        return json_null();
    const char *interval;
    const char *mode = ns_alloc_mode(m, &interval);
    int estimated = !mode || strcmp(mode, "full") != 0;
    json_t *o = json_object();
    nsj_set(c, o, "mode", mode ? nsj_str(c, mode) : json_null());
    nsj_set(c, o, "alloc_interval", interval ? nsj_str(c, interval) : json_null());
    nsj_set(c, o, "exact", json_boolean(mode && strcmp(mode, "full") == 0 && !ns_alloc_inexact(m)));
    nsj_set(c, o, "allocated_bytes", opt_u64(e.bytes, weight_of(m, e.bytes)));
    nsj_set(c, o, "allocations", opt_u64(e.count, weight_of(m, e.count)));
    nsj_set(c, o, "sites_by_bytes", alloc_sites_json(c, &e, 0));
    nsj_set(c, o, "sites_by_count", alloc_sites_json(c, &e, 1));
    nsj_set(c, o, "peak", state_json(c, e.peak, ns_peak_status(m, e.peak), estimated));
    nsj_set(c, o, "leaks", state_json(c, e.leak, ns_leak_status(m, e.leak), estimated));
    nsj_set(c, o, "series", series_json(c));
    return o;
}

/* ---- I/O ---- */

static json_t *io_totals_json(struct jctx *c, const struct ns_io_events *e, int k)
{
    if (e->time[k] == NS_NONE && e->bytes[k] == NS_NONE && e->calls[k] == NS_NONE)
        return json_null();
    json_t *o = json_object();
    nsj_set(c, o, "calls", opt_u64(e->calls[k], weight_of(c->m, e->calls[k])));
    nsj_set(c, o, "bytes", opt_u64(e->bytes[k], weight_of(c->m, e->bytes[k])));
    nsj_set(c, o, "time_ns", opt_u64(e->time[k], weight_of(c->m, e->time[k])));
    return o;
}

static json_t *io_rows_json(struct jctx *c, const struct ns_io_events *e, int by_resource)
{
    json_t *arr = json_array();
    struct ns_io_row *rows;
    size_t n;
    if (ns_io_rows(c->m, e, by_resource, &rows, &n) < 0) {
        c->failed = 1;
        return arr;
    }
    uint64_t t0 = weight_of(c->m, e->time[0]), t1 = weight_of(c->m, e->time[1]);
    uint64_t total = t0 + t1 < t0 ? UINT64_MAX : t0 + t1;
    for (size_t i = 0; i < nsj_shown(c, n); i++) {
        const struct ns_io_row *r = &rows[i];
        json_t *o = json_object();
        if (by_resource)
            nsj_set(c, o, "resource", resource_json(c, r->key));
        else
            nsj_site_fields(c, o, r->key);
        int k = r->stdio;
        nsj_set(c, o, "kind", nsj_str(c, k ? "stdio" : "kernel"));
        nsj_set(c, o, "calls", opt_u64(e->calls[k], r->calls));
        nsj_set(c, o, "bytes", opt_u64(e->bytes[k], r->bytes));
        nsj_set(c, o, "time_ns", opt_u64(e->time[k], r->time));
        nsj_set(c, o, "avg_bytes",
                r->calls && e->bytes[k] != NS_NONE ? nsj_u64(r->bytes / r->calls) : json_null());
        nsj_set(c, o, "time_pct", e->time[k] != NS_NONE ? nsj_pct(r->time, total) : json_null());
        nsj_set(c, o, "sizes", hist_json(c, e->bytes[r->stdio], by_resource, r->key));
        nsj_append(c, arr, o);
    }
    free(rows);
    return arr;
}

json_t *nsj_io(struct jctx *c)
{
    struct ns_io_events e;
    ns_sections_events(c->m, NULL, &e, NULL);
    if (!ns_io_present(&e))
        return json_null();
    json_t *o = json_object();
    nsj_set(c, o, "kernel", io_totals_json(c, &e, 0));
    nsj_set(c, o, "stdio", io_totals_json(c, &e, 1));
    nsj_set(c, o, "sites", io_rows_json(c, &e, 0));
    nsj_set(c, o, "resources", io_rows_json(c, &e, 1));
    return o;
}

/* ---- locks ---- */

/* A count per second of the run (null when the run's length is unknown). */
static json_t *per_second(struct jctx *c, uint64_t count, uint64_t duration_ns)
{
    (void)c;
    return duration_ns ? nsj_u64((uint64_t)((double)count * 1e9 / (double)duration_ns + 0.5))
                       : json_null();
}

/* Rows of lock waits (event lock_wait) or condition waits; with lock counts (e non-NULL and
 * lock_calls recorded) each row also has calls, contended, contended_pct, contended_per_s. */
static json_t *wait_rows_json(struct jctx *c, uint32_t event, const struct ns_lock_events *e,
                              int by_resource)
{
    json_t *arr = json_array();
    struct ns_site_row *rows;
    size_t n;
    int counts = e && e->calls != NS_NONE;
    if (event == NS_NONE && !counts)
        return arr;
    int rc = counts ? ns_lock_rows(c->m, e, by_resource, &rows, &n)
                    : ns_rank_site_rows(c->m, &event, 1, by_resource, &rows, &n);
    uint64_t duration = ns_run_duration_ns(c->m);
    if (rc < 0) {
        c->failed = 1;
        return arr;
    }
    const struct ns_model *m = c->m;
    for (size_t i = 0; i < nsj_shown(c, n); i++) {
        json_t *o = json_object();
        uint32_t key = rows[i].key;
        if (by_resource) {
            nsj_set(c, o, "name",
                    key < m->nresources ? nsj_str(c, m->resources[key].name) : json_null());
            nsj_set(c, o, "process",
                    key < m->nresources ? nsj_u64(m->resources[key].process) : json_null());
            nsj_set(c, o, "created_at",
                    site_json(c, key < m->nresources ? m->resources[key].site : NS_NONE));
        } else
            nsj_site_fields(c, o, key);
        nsj_set(c, o, "wait_ns", nsj_u64(rows[i].w[0]));
        nsj_set(c, o, "pct",
                event != NS_NONE ? nsj_pct(rows[i].w[0], m->events[event].weight) : json_null());
        nsj_set(c, o, "waits",
                event != NS_NONE ? hist_json(c, event, by_resource, key) : json_null());
        if (counts) {
            nsj_set(c, o, "calls", nsj_u64(rows[i].w[2]));
            nsj_set(c, o, "contended", nsj_u64(rows[i].w[1]));
            nsj_set(c, o, "contended_pct",
                    rows[i].w[2] ? nsj_pct(rows[i].w[1], rows[i].w[2]) : json_null());
            nsj_set(c, o, "contended_per_s", per_second(c, rows[i].w[1], duration));
        }
        nsj_append(c, arr, o);
    }
    free(rows);
    return arr;
}

json_t *nsj_locks(struct jctx *c)
{
    struct ns_lock_events e;
    ns_sections_events(c->m, NULL, NULL, &e);
    if (!ns_locks_present(&e))
        return json_null();
    json_t *o = json_object();
    nsj_set(c, o, "lock_wait_ns", opt_u64(e.wait, weight_of(c->m, e.wait)));
    nsj_set(c, o, "lock_calls", opt_u64(e.calls, weight_of(c->m, e.calls)));
    nsj_set(c, o, "lock_contended", opt_u64(e.contended, weight_of(c->m, e.contended)));
    nsj_set(c, o, "contended_per_s",
            e.contended != NS_NONE
                ? per_second(c, weight_of(c->m, e.contended), ns_run_duration_ns(c->m))
                : json_null());
    nsj_set(c, o, "sites", wait_rows_json(c, e.wait, &e, 0));
    nsj_set(c, o, "locks", wait_rows_json(c, e.wait, &e, 1));
    if (e.cond == NS_NONE) {
        nsj_set(c, o, "cond_wait", json_null());
        return o;
    }
    json_t *cond = json_object();
    nsj_set(c, cond, "wait_ns", nsj_u64(weight_of(c->m, e.cond)));
    nsj_set(c, cond, "idle", json_true());
    nsj_set(c, cond, "sites", wait_rows_json(c, e.cond, NULL, 0));
    nsj_set(c, o, "cond_wait", cond);
    return o;
}
