/*
 * render_text_io — the I/O and Locks sections of the text report.
 *
 * I/O keeps calls that reached the kernel (io_*) apart from stdio calls served from a
 * FILE's buffer (stdio_*): a site with a million buffered fwrite calls and ten flushes is
 * cheap, one with a million write calls is not, and the kind column says which. Rows are by
 * call site (the function that called read, write, fwrite...) and by resource (the file,
 * socket or pipe), with calls, bytes, time and the average size per call; the sizes of
 * single calls at the top sites come from their histograms.
 *
 * Locks: lock_wait (time blocked on a contended mutex, rwlock or spinlock) by call site and
 * by lock, the lock named with where it was created. cond_wait is idle time in
 * pthread_cond_wait — a thread waiting for work — and is shown apart, never added to
 * contention.
 */
#include "render_text_internal.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

#define SIZE_SITES 5 /* top call sites whose call sizes are shown */

static uint64_t weight_of(const struct ns_model *m, uint32_t e)
{
    return e != NS_NONE ? m->events[e].weight : 0;
}

static void put_io_totals(struct ns_buf *b, const struct ns_model *m, const struct ns_io_events *e)
{
    static const char *const labels[2] = {"kernel", "stdio"};
    static const char *const what[2] = {"calls that reached the kernel (io_*)",
                                        "stdio calls served from the FILE's buffer (stdio_*)"};
    for (int k = 0; k < 2; k++) {
        if (e->time[k] == NS_NONE && e->bytes[k] == NS_NONE && e->calls[k] == NS_NONE)
            continue;
        /* Only the measures that were recorded (--event may keep one of them). */
        char v[32];
        const char *sep = "";
        nsr_label(b, labels[k]);
        if (e->calls[k] != NS_NONE) {
            ns_fmt_count(v, sizeof(v), weight_of(m, e->calls[k]));
            ns_buf_printf(b, "%s calls", v);
            sep = ", ";
        }
        if (e->bytes[k] != NS_NONE) {
            ns_fmt_weight(v, sizeof(v), weight_of(m, e->bytes[k]), "bytes");
            ns_buf_printf(b, "%s%s", sep, v);
            sep = ", ";
        }
        if (e->time[k] != NS_NONE) {
            ns_fmt_duration(v, sizeof(v), weight_of(m, e->time[k]));
            ns_buf_printf(b, "%s%s", sep, v);
        }
        ns_buf_printf(b, " in %s\n", what[k]);
    }
}

/* A measure whose event was not recorded shows "-", not a zero. */
static void io_cells(struct ns_table *t, const struct ns_io_events *e, const struct ns_io_row *r,
                     uint64_t total_time)
{
    char num[32];
    int k = r->stdio;
    if (e->time[k] != NS_NONE)
        nsr_share_cells(t, r->time, total_time, "ns");
    else {
        ns_table_cell(t, "-");
        ns_table_cell(t, "-");
    }
    ns_fmt_count(num, sizeof(num), r->calls);
    ns_table_cell(t, e->calls[k] != NS_NONE ? num : "-");
    ns_fmt_weight(num, sizeof(num), r->bytes, "bytes");
    ns_table_cell(t, e->bytes[k] != NS_NONE ? num : "-");
    int avg = r->calls && e->bytes[k] != NS_NONE;
    if (avg)
        ns_fmt_weight(num, sizeof(num), r->bytes / r->calls, "bytes");
    ns_table_cell(t, avg ? num : "-");
    ns_table_cell(t, r->stdio ? "stdio" : "kernel");
}

static void put_io_table(struct ns_buf *b, const struct ns_model *m, const struct ns_io_events *e,
                         int by_resource, const struct ns_render_options *o)
{
    static const char *const site_spec[] = {"rtime%", "rtime",  "rcalls",    "rbytes",
                                            "ravg",   "lkind",  "lfunction", "llocation",
                                            "lvia",   "lmodule"};
    static const char *const res_spec[] = {"rtime%", "rtime", "rcalls", "rbytes",
                                           "ravg",   "lkind", "ltype",  "lresource"};
    struct ns_io_row *rows;
    size_t n;
    if (ns_io_rows(m, e, by_resource, &rows, &n) < 0) {
        b->oom = 1;
        return;
    }
    size_t shown = nsr_shown(n, o);
    nsr_section_title(b, o, by_resource ? "I/O by file, socket or pipe" : "I/O by call site", NULL,
                      shown, n);
    uint64_t t0 = weight_of(m, e->time[0]), t1 = weight_of(m, e->time[1]);
    uint64_t total = t0 + t1 < t0 ? UINT64_MAX : t0 + t1;
    struct ns_table t;
    ns_table_init(&t, by_resource ? 8 : 10, by_resource ? res_spec : site_spec);
    for (size_t i = 0; i < shown; i++) {
        io_cells(&t, e, &rows[i], total);
        if (by_resource)
            nsr_resource_cells(&t, m, rows[i].key, 1);
        else
            nsr_site_cells(&t, m, rows[i].key, 1);
    }
    if (shown)
        ns_table_render(&t, b, 2, o->color);
    else
        ns_buf_puts(b, "  no I/O calls recorded\n");
    ns_table_free(&t);
    free(rows);
}

/* "save (app.c:12, write)" for the sizes list. */
static void put_site_name(struct ns_buf *b, const struct ns_model *m, uint32_t site)
{
    if (site >= m->nsites) {
        ns_buf_puts(b, "[no stack]");
        return;
    }
    const struct ns_site *s = &m->sites[site];
    ns_buf_put_term(b, m->funcs[s->func].name, NSR_NAME_COLS);
    ns_buf_puts(b, " (");
    if (s->line && s->file[0]) {
        ns_buf_put_term(b, nsr_basename(s->file), 40);
        ns_buf_printf(b, ":%u, ", s->line);
    }
    ns_buf_put_term(b, s->callee != NS_NONE ? m->funcs[s->callee].name : "?", 32);
    ns_buf_puts(b, ")");
}

static void put_io_sizes(struct ns_buf *b, const struct ns_model *m, const struct ns_io_events *e,
                         const struct ns_render_options *o)
{
    struct ns_io_row *rows;
    size_t n, listed = 0;
    if (ns_io_rows(m, e, 0, &rows, &n) < 0) {
        b->oom = 1;
        return;
    }
    size_t limit = nsr_shown(SIZE_SITES, o);
    for (size_t i = 0; i < n && listed < limit; i++) {
        uint32_t ev = e->bytes[rows[i].stdio];
        struct ns_hist h;
        if (ev == NS_NONE)
            continue;
        ns_rank_histogram(m, ev, 0, rows[i].key, &h);
        if (!h.total)
            continue;
        if (!listed++)
            nsr_heading(b, o->color,
                        "I/O call sizes at the top call sites (sizes rounded down to "
                        "a power of two)");
        char calls[32];
        ns_fmt_count(calls, sizeof(calls), h.total);
        ns_buf_puts(b, "  ");
        put_site_name(b, m, rows[i].key);
        ns_buf_printf(b, " %s: ", rows[i].stdio ? "stdio" : "kernel");
        nsr_put_quantiles(b, &h, "bytes");
        ns_buf_printf(b, " over %s calls\n", calls);
    }
    free(rows);
}

void nsr_text_io(struct ns_buf *b, const struct ns_model *m, const struct ns_render_options *o)
{
    struct ns_io_events e;
    ns_sections_events(m, NULL, &e, NULL);
    if (!ns_io_present(&e))
        return;
    nsr_section_heading(b, o->color, "I/O");
    put_io_totals(b, m, &e);
    put_io_table(b, m, &e, 0, o);
    put_io_table(b, m, &e, 1, o);
    put_io_sizes(b, m, &e, o);
}

/* ---- locks ---- */

static void put_wait_sites(struct ns_buf *b, const struct ns_model *m, uint32_t event,
                           const char *title, const struct ns_render_options *o)
{
    static const char *const spec[] = {"rwait%",    "rwait", "lfunction",
                                       "llocation", "lvia",  "lmodule"};
    struct ns_site_row *rows;
    size_t n;
    if (ns_rank_site_rows(m, &event, 1, 0, &rows, &n) < 0) {
        b->oom = 1;
        return;
    }
    size_t shown = nsr_shown(n, o);
    nsr_section_title(b, o, title, NULL, shown, n);
    struct ns_table t;
    ns_table_init(&t, 6, spec);
    for (size_t i = 0; i < shown; i++) {
        nsr_share_cells(&t, rows[i].w[0], m->events[event].weight, "ns");
        nsr_site_cells(&t, m, rows[i].key, 1);
    }
    ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
    free(rows);
}

static void put_locks_by_lock(struct ns_buf *b, const struct ns_model *m, uint32_t event,
                              const struct ns_render_options *o)
{
    static const char *const spec[] = {"rwait%",      "rwait",     "llock",
                                       "lcreated by", "llocation", "lmodule"};
    struct ns_site_row *rows;
    size_t n;
    if (ns_rank_site_rows(m, &event, 1, 1, &rows, &n) < 0) {
        b->oom = 1;
        return;
    }
    size_t shown = nsr_shown(n, o);
    nsr_section_title(b, o, "Lock waits by lock", NULL, shown, n);
    struct ns_table t;
    ns_table_init(&t, 6, spec);
    for (size_t i = 0; i < shown; i++) {
        nsr_share_cells(&t, rows[i].w[0], m->events[event].weight, "ns");
        uint32_t r = rows[i].key;
        nsr_resource_cells(&t, m, r, 0);
        /* Where the lock was created or first used. */
        nsr_site_cells(&t, m, r < m->nresources ? m->resources[r].site : NS_NONE, 0);
    }
    ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
    free(rows);
}

/* Contended calls per second of run time, for a table cell. */
static void rate_cell(struct ns_table *t, uint64_t count, uint64_t duration_ns)
{
    char s[32];
    if (!duration_ns) {
        ns_table_cell(t, "-");
        return;
    }
    ns_fmt_count(s, sizeof(s), (uint64_t)((double)count * 1e9 / (double)duration_ns + 0.5));
    ns_table_cell(t, s);
}

/* Waits, contended calls and calls per call site or per lock (with lock_calls recorded). */
static void put_lock_rows(struct ns_buf *b, const struct ns_model *m,
                          const struct ns_lock_events *e, int by_resource,
                          const struct ns_render_options *o)
{
    static const char *const site_spec[] = {"rwait%", "rwait",       "rcontended/s", "rcontended",
                                            "rcalls", "rcontended%", "lfunction",    "llocation",
                                            "lvia",   "lmodule"};
    static const char *const lock_spec[] = {
        "rwait%",      "rwait", "rcontended/s", "rcontended", "rcalls",
        "rcontended%", "llock", "lcreated by",  "llocation",  "lmodule"};
    struct ns_site_row *rows;
    size_t n;
    if (ns_lock_rows(m, e, by_resource, &rows, &n) < 0) {
        b->oom = 1;
        return;
    }
    size_t shown = nsr_shown(n, o);
    nsr_section_title(b, o,
                      by_resource ? "Lock contention by lock" : "Lock contention by call site",
                      NULL, shown, n);
    uint64_t duration = ns_run_duration_ns(m);
    struct ns_table t;
    ns_table_init(&t, 10, by_resource ? lock_spec : site_spec);
    for (size_t i = 0; i < shown; i++) {
        const struct ns_site_row *r = &rows[i];
        nsr_share_cells(&t, r->w[0], weight_of(m, e->wait), "ns");
        rate_cell(&t, r->w[1], duration);
        char c[32], pct[16];
        ns_fmt_count(c, sizeof(c), r->w[1]);
        ns_table_cell(&t, c);
        ns_fmt_count(c, sizeof(c), r->w[2]);
        ns_table_cell(&t, c);
        if (r->w[2]) {
            ns_fmt_pct(pct, sizeof(pct), r->w[1], r->w[2]);
            ns_table_cell(&t, pct);
        } else
            ns_table_cell(&t, "-");
        if (by_resource) {
            nsr_resource_cells(&t, m, r->key, 0);
            nsr_site_cells(&t, m, r->key < m->nresources ? m->resources[r->key].site : NS_NONE, 0);
        } else
            nsr_site_cells(&t, m, r->key, 1);
    }
    ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
    free(rows);
}

static void put_lock_calls(struct ns_buf *b, const struct ns_model *m,
                           const struct ns_lock_events *e)
{
    uint64_t calls = weight_of(m, e->calls), contended = weight_of(m, e->contended);
    uint64_t duration = ns_run_duration_ns(m);
    char c[32], k[32], pct[16], rate[32];
    ns_fmt_count(c, sizeof(c), calls);
    ns_fmt_count(k, sizeof(k), contended);
    nsr_label(b, "lock calls");
    if (!calls) {
        ns_buf_puts(b, "no lock call could wait (one thread, or none took a lock)\n");
        return;
    }
    ns_fmt_pct(pct, sizeof(pct), contended, calls);
    ns_fmt_count(rate, sizeof(rate),
                 duration ? (uint64_t)((double)contended * 1e9 / (double)duration + 0.5) : 0);
    ns_buf_printf(b, "%s calls that could wait, %s (%s) found the lock taken: %s a second\n", c, k,
                  pct, rate);
}

void nsr_text_locks(struct ns_buf *b, const struct ns_model *m, const struct ns_render_options *o)
{
    struct ns_lock_events e;
    ns_sections_events(m, NULL, NULL, &e);
    if (!ns_locks_present(&e))
        return;
    nsr_section_heading(b, o->color, "Locks");
    char w[32];
    if (e.wait != NS_NONE) {
        nsr_label(b, "lock_wait");
        ns_fmt_duration(w, sizeof(w), m->events[e.wait].weight);
        if (m->events[e.wait].weight)
            ns_buf_printf(b, "%s waiting for contended locks (mutex, rwlock, spinlock)\n", w);
        else
            ns_buf_puts(b, "no thread waited for a contended lock\n");
    }
    if (e.calls != NS_NONE)
        put_lock_calls(b, m, &e);
    if (e.cond != NS_NONE) {
        nsr_label(b, "cond_wait");
        ns_fmt_duration(w, sizeof(w), m->events[e.cond].weight);
        ns_buf_printf(b,
                      "%s idle in condition-variable waits: threads waiting for work or "
                      "events, not contention\n",
                      w);
    }
    if (e.calls != NS_NONE && weight_of(m, e.contended)) {
        put_lock_rows(b, m, &e, 0, o);
        put_lock_rows(b, m, &e, 1, o);
    } else if (e.calls == NS_NONE && e.wait != NS_NONE && m->events[e.wait].weight) {
        /* a profile from before lock_calls */
        put_wait_sites(b, m, e.wait, "Lock waits by call site", o);
        put_locks_by_lock(b, m, e.wait, o);
    }
    if (e.cond != NS_NONE && m->events[e.cond].weight)
        put_wait_sites(b, m, e.cond,
                       "Condition-variable waits by call site (idle waiting, not contention)", o);
}
