/*
 * render_text — the terminal report of `nsprof report` (see render.h): header and sampling
 * facts (render_text_facts.c), then per sampled event the rankings: functions by self and by
 * total, hottest source lines, threads grouped by name and, with several files, processes;
 * then the sections of interposed calls: Memory (render_text_memory.c), I/O and Locks
 * (render_text_io.c). Events those sections cover get no generic rankings here; another
 * aggregate event (from a newer producer) does, without sample counts or rates, which mean
 * nothing for totals of many calls.
 *
 * Layout choices: numbers first in fixed columns (share, then the weight in the event's
 * unit), names after them, so columns stay aligned whatever the names' lengths; long names
 * are cut with "..." (JSON has them whole); source files are shown by basename.
 */
#include "facts.h"
#include "rank.h"
#include "recommend.h"
#include "render_text_internal.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>

const char *nsr_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

size_t nsr_shown(size_t n, const struct ns_render_options *o)
{
    return o->top && o->top < n ? o->top : n;
}

static void share_cells(struct ns_table *t, const struct ns_event *ev, uint64_t weight)
{
    char pct[16], w[32];
    ns_fmt_pct(pct, sizeof(pct), weight, ev->weight);
    ns_fmt_weight(w, sizeof(w), weight, ev->unit);
    ns_table_cell(t, pct);
    ns_table_cell(t, w);
}

static void func_cells(struct ns_table *t, const struct ns_model *m, uint32_t func,
                       const char *line_file, uint32_t line)
{
    const struct ns_func *f = &m->funcs[func];
    struct ns_buf name = {0};
    ns_buf_put_term(&name, f->name, NSR_NAME_COLS);
    if (f->inlined)
        ns_buf_puts(&name, " [inlined]");
    ns_table_cell(t, name.s ? name.s : "");
    ns_buf_free(&name);
    struct ns_buf loc = {0};
    if (line && line_file) {
        ns_buf_put_term(&loc, nsr_basename(line_file), 40);
        ns_buf_printf(&loc, ":%u", line);
    } else if (f->file[0])
        ns_buf_put_term(&loc, nsr_basename(f->file), 40);
    ns_table_cell(t, loc.s ? loc.s : "");
    ns_buf_free(&loc);
    ns_table_cell_text(t, f->module, 32);
}

void nsr_section_title(struct ns_buf *b, const struct ns_render_options *o, const char *what,
                       const char *name, size_t rows, size_t total)
{
    struct ns_buf title = {0};
    ns_buf_puts(&title, what);
    if (name || rows < total)
        ns_buf_puts(&title, " (");
    if (name)
        ns_buf_put_term(&title, name, NSR_NAME_COLS);
    if (rows < total)
        ns_buf_printf(&title, "%stop %zu of %zu)", name ? "; " : "", rows, total);
    else if (name)
        ns_buf_puts(&title, ")");
    nsr_heading(b, o->color, title.s ? title.s : what);
    ns_buf_free(&title);
}

static void section_title(struct ns_buf *b, const struct ns_render_options *o, const char *what,
                          const struct ns_event *ev, size_t rows, size_t total)
{
    nsr_section_title(b, o, what, ev->name, rows, total);
}

static void put_functions(struct ns_buf *b, const struct ns_model *m, uint32_t e,
                          struct ns_func_stat *fs, size_t n, int by_total,
                          const struct ns_render_options *o)
{
    static const char *const self_spec[] = {"rself%",    "rself",     "rtotal%", "rtotal",
                                            "lfunction", "llocation", "lmodule"};
    static const char *const total_spec[] = {"rtotal%",   "rtotal",    "rself%", "rself",
                                             "lfunction", "llocation", "lmodule"};
    const struct ns_event *ev = &m->events[e];
    if (by_total)
        ns_rank_sort_by_total(m, fs, n);
    else
        ns_rank_sort_by_self(m, fs, n);
    /* By self, functions without self samples are noise; by total, every one counts. */
    size_t avail = n;
    if (!by_total)
        while (avail && fs[avail - 1].self_count == 0)
            avail--;
    size_t rows = nsr_shown(avail, o);
    section_title(b, o, by_total ? "Functions by total" : "Functions by self", ev, rows, avail);
    struct ns_table t;
    ns_table_init(&t, 7, by_total ? total_spec : self_spec);
    for (size_t i = 0; i < rows; i++) {
        share_cells(&t, ev, by_total ? fs[i].total_weight : fs[i].self_weight);
        share_cells(&t, ev, by_total ? fs[i].self_weight : fs[i].total_weight);
        func_cells(&t, m, fs[i].func, fs[i].hot_file, fs[i].hot_line);
    }
    ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
}

static void put_lines(struct ns_buf *b, const struct ns_model *m, uint32_t e,
                      const struct ns_render_options *o)
{
    static const char *const spec[] = {"rself%", "rself", "lline", "lfunction", "lmodule"};
    const struct ns_event *ev = &m->events[e];
    const struct ns_line **lines;
    size_t n;
    if (ns_rank_lines(m, e, &lines, &n) < 0)
        return;
    size_t rows = nsr_shown(n, o);
    section_title(b, o, "Hottest source lines", ev, rows, n);
    if (ev->no_line_count && ns_event_is_aggregate(ev)) {
        char pct[16];
        ns_fmt_pct(pct, sizeof(pct), ev->no_line_weight, ev->weight);
        ns_buf_printf(b, "  (%s of the weight ends in a frame without line information)\n", pct);
    } else if (ev->no_line_count) {
        char pct[16];
        ns_fmt_pct(pct, sizeof(pct), ev->no_line_count, ev->count);
        ns_buf_printf(b, "  (%s of samples end in a frame without line information)\n", pct);
    }
    struct ns_table t;
    ns_table_init(&t, 5, spec);
    for (size_t i = 0; i < rows; i++) {
        const struct ns_func *f = &m->funcs[lines[i]->func];
        share_cells(&t, ev, lines[i]->weight);
        struct ns_buf loc = {0};
        ns_buf_put_term(&loc, nsr_basename(lines[i]->file), 40);
        ns_buf_printf(&loc, ":%u", lines[i]->line);
        ns_table_cell(&t, loc.s ? loc.s : "");
        ns_buf_free(&loc);
        struct ns_buf name = {0};
        ns_buf_put_term(&name, f->name, NSR_NAME_COLS);
        if (f->inlined)
            ns_buf_puts(&name, " [inlined]");
        ns_table_cell(&t, name.s ? name.s : "");
        ns_buf_free(&name);
        ns_table_cell_text(&t, f->module, 32);
    }
    if (rows)
        ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
    free(lines);
}

/* "101-103, 200, 7001 (+12 more)" */
static void put_tids(struct ns_buf *b, const uint32_t *tids, size_t n)
{
    size_t runs = 0, i = 0;
    while (i < n && runs < 6) {
        size_t j = i;
        while (j + 1 < n && tids[j + 1] == tids[j] + 1)
            j++;
        ns_buf_printf(b, "%s%u", runs ? ", " : "", tids[i]);
        if (j > i)
            ns_buf_printf(b, "-%u", tids[j]);
        runs++;
        i = j + 1;
    }
    if (i < n)
        ns_buf_printf(b, " (+%zu more)", n - i);
}

/* The header of a weight column: what the event's unit measures. */
static const char *weight_header(const struct ns_event *ev)
{
    if (strcmp(ev->unit, "ns") == 0)
        return "rtime";
    if (strcmp(ev->unit, "bytes") == 0)
        return "rbytes";
    return "rweight";
}

static void put_threads(struct ns_buf *b, const struct ns_model *m, uint32_t e,
                        const struct ns_render_options *o)
{
    const struct ns_event *ev = &m->events[e];
    int agg = ns_event_is_aggregate(ev);
    struct ns_thread_group *g;
    size_t n;
    if (ns_rank_thread_groups(m, e, &g, &n) < 0)
        return;
    /* Off-CPU times come with the agent's perf mechanism (the kernel's switch records). */
    int times = 0;
    for (size_t i = 0; i < n; i++)
        times |= g[i].has_times;
    const char *cols[9];
    size_t ncols = 0;
    cols[ncols++] = "r%";
    cols[ncols++] = weight_header(ev);
    if (!agg)
        cols[ncols++] = "rsamples";
    cols[ncols++] = "rthreads";
    if (!agg)
        cols[ncols++] = "rrate";
    if (times) {
        cols[ncols++] = "rblocked";
        cols[ncols++] = "rwaiting for CPU";
    }
    cols[ncols++] = "lthread";
    cols[ncols++] = "ltids";
    int cpu = strcmp(ev->name, "cpu") == 0;
    size_t rows = nsr_shown(n, o);
    section_title(b, o, "Threads by name", ev, rows, n);
    struct ns_table t;
    ns_table_init(&t, ncols, cols);
    for (size_t i = 0; i < rows; i++) {
        char num[32];
        share_cells(&t, ev, g[i].weight);
        ns_fmt_count(num, sizeof(num), g[i].count);
        if (!agg)
            ns_table_cell(&t, num);
        snprintf(num, sizeof(num), "%zu", g[i].ntids);
        ns_table_cell(&t, num);
        struct ns_rate r = ns_facts_rate_of(g[i].stat_samples, g[i].cpu_ns);
        if (cpu && g[i].has_stats && ns_facts_thread_rate_shown(g[i].stat_samples, g[i].cpu_ns))
            snprintf(num, sizeof(num), "%.0f Hz", r.hz);
        else
            snprintf(num, sizeof(num), "-");
        if (!agg)
            ns_table_cell(&t, num);
        if (times) {
            char blocked[32] = "-", waiting[32] = "-";
            if (g[i].has_times) {
                ns_fmt_duration(blocked, sizeof(blocked), g[i].blocked_ns);
                ns_fmt_duration(waiting, sizeof(waiting), g[i].runnable_ns);
            }
            ns_table_cell(&t, blocked);
            ns_table_cell(&t, waiting);
        }
        ns_table_cell_text(&t, g[i].name[0] ? g[i].name : "(unnamed)", 32);
        struct ns_buf tids = {0};
        put_tids(&tids, g[i].tids, g[i].ntids);
        ns_table_cell(&t, tids.s ? tids.s : "");
        ns_buf_free(&tids);
    }
    ns_table_render(&t, b, 2, o->color);
    if (cpu)
        ns_buf_puts(b, "  (rate: samples per second of the threads' CPU time, from their "
                       "statistics)\n");
    if (times)
        ns_buf_puts(b, "  (blocked: off the CPU waiting for something; waiting for CPU: "
                       "runnable but preempted or not yet run; from the kernel's context "
                       "switches)\n");
    ns_table_free(&t);
    ns_rank_thread_groups_free(g, n);
}

static void put_processes(struct ns_buf *b, const struct ns_model *m, uint32_t e,
                          const struct ns_render_options *o)
{
    const char *const sampled[] = {
        "r%", weight_header(&m->events[e]), "rsamples", "rpid", "rexec", "lprogram"};
    const char *const aggregate[] = {"r%", weight_header(&m->events[e]), "rpid", "rexec",
                                     "lprogram"};
    int agg = ns_event_is_aggregate(&m->events[e]);
    struct ns_process_stat *ps;
    size_t n;
    if (ns_rank_processes(m, e, &ps, &n) < 0)
        return;
    size_t rows = nsr_shown(n, o);
    section_title(b, o, "Processes", &m->events[e], rows, n);
    struct ns_table t;
    ns_table_init(&t, agg ? 5 : 6, agg ? aggregate : sampled);
    for (size_t i = 0; i < rows; i++) {
        const struct ns_process *p = &m->processes[ps[i].process];
        char num[32];
        share_cells(&t, &m->events[e], ps[i].weight);
        ns_fmt_count(num, sizeof(num), ps[i].count);
        if (!agg)
            ns_table_cell(&t, num);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)p->pid);
        ns_table_cell(&t, num);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)p->exec_index);
        ns_table_cell(&t, num);
        ns_table_cell_text(&t, p->name, 32);
    }
    ns_table_render(&t, b, 2, o->color);
    ns_table_free(&t);
    free(ps);
}

static void put_event(struct ns_buf *b, const struct ns_model *m, uint32_t e,
                      const struct ns_render_options *o)
{
    const struct ns_event *ev = &m->events[e];
    char count[32], weight[32];
    ns_fmt_count(count, sizeof(count), ev->count);
    ns_fmt_weight(weight, sizeof(weight), ev->weight, ev->unit);
    ns_buf_puts(b, "\n");
    nsr_style(b, o->color, "1;4");
    ns_buf_puts(b, "Event ");
    ns_buf_put_term(b, ev->name, NSR_NAME_COLS);
    if (ns_event_is_aggregate(ev))
        ns_buf_printf(b, ": %s in total (aggregate: each entry adds up many calls)", weight);
    else
        ns_buf_printf(b, ": %s samples, %s", count, weight);
    nsr_unstyle(b, o->color);
    ns_buf_puts(b, "\n");
    if (!ev->count) {
        ns_buf_printf(b, "  no %s left after the filters\n",
                      ns_event_is_aggregate(ev) ? "entries" : "samples");
        return;
    }
    struct ns_func_stat *fs;
    size_t n;
    if (ns_rank_functions(m, e, &fs, &n) < 0) {
        b->oom = 1;
        return;
    }
    put_functions(b, m, e, fs, n, 0, o);
    put_functions(b, m, e, fs, n, 1, o);
    free(fs);
    put_lines(b, m, e, o);
    put_threads(b, m, e, o);
    if (m->nprocesses > 1)
        put_processes(b, m, e, o);
}

int ns_render_text(FILE *out, const struct ns_model *m, const struct ns_render_options *o)
{
    struct ns_buf b = {0};
    nsr_text_header(&b, m, o);
    nsr_text_sampling(&b, m, o);
    for (uint32_t e = 0; e < m->nevents; e++)
        if (ns_model_event_family(m->events[e].name) == NS_FAMILY_NONE)
            put_event(&b, m, e, o);
    nsr_text_memory(&b, m, o);
    nsr_text_io(&b, m, o);
    nsr_text_locks(&b, m, o);
    nsr_text_database(&b, m, o);
    struct ns_findings findings;
    if (ns_recommend(m, &findings) < 0)
        b.oom = 1;
    else
        ns_findings_text(&b, m, &findings, o->color);
    ns_findings_free(&findings);
    int rc = b.oom ? -1 : 0;
    if (!rc && b.len && fwrite(b.s, 1, b.len, out) != b.len)
        rc = -1;
    if (fflush(out) != 0)
        rc = -1;
    ns_buf_free(&b);
    return rc;
}
