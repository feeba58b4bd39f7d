/*
 * render_text_facts — the top of the text report: what was profiled (header, processes)
 * and how well (the "Sampling" section: mechanism, requested and achieved rate, stack
 * quality, drops, kernel exclusion, completeness, notes, symbol problems).
 *
 * The sampling section is a product requirement: a profile that silently sampled at a
 * quarter of the requested rate, lost its stacks' roots or missed its last second misleads
 * more than no profile, so every such fact is stated, warnings in yellow.
 */
#include "facts.h"
#include "rank.h"
#include "render_text_internal.h"
#include "table.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define YELLOW "1;33"

static void put_heading(struct ns_buf *b, int color, const char *sgr, const char *title)
{
    ns_buf_puts(b, "\n");
    nsr_style(b, color, sgr);
    ns_buf_puts(b, title);
    nsr_unstyle(b, color);
    ns_buf_puts(b, "\n");
}

void nsr_heading(struct ns_buf *b, int color, const char *title)
{
    put_heading(b, color, "1", title);
}

void nsr_section_heading(struct ns_buf *b, int color, const char *name)
{
    put_heading(b, color, "1;4", name);
}

void nsr_label(struct ns_buf *b, const char *label)
{
    ns_buf_printf(b, "  %-12s ", label);
}

void nsr_process_name(struct ns_buf *b, const struct ns_process *p)
{
    ns_buf_printf(b, "pid %llu (", (unsigned long long)p->pid);
    ns_buf_put_term(b, p->name, NSR_NAME_COLS);
    ns_buf_puts(b, ")");
}

static void put_command(struct ns_buf *b, const struct ns_process *p)
{
    size_t budget = 200;
    for (size_t i = 0; i < p->argc && budget > 3; i++) {
        if (i)
            ns_buf_puts(b, " ");
        size_t w = ns_buf_put_term(b, p->argv[i], budget);
        budget = w + 1 < budget ? budget - w - 1 : 0;
    }
    ns_buf_puts(b, "\n");
}

static void put_recorded(struct ns_buf *b, const struct ns_process *p)
{
    if (p->start_realtime_ns) {
        time_t t = (time_t)(p->start_realtime_ns / 1000000000ull);
        struct tm tm;
        char when[64];
        if (gmtime_r(&t, &tm) && strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
            ns_buf_puts(b, when);
    }
    if (p->hostname[0]) {
        ns_buf_puts(b, " on ");
        ns_buf_put_term(b, p->hostname, NSR_NAME_COLS);
    }
    if (p->kernel[0]) {
        ns_buf_puts(b, ", kernel ");
        ns_buf_put_term(b, p->kernel, NSR_NAME_COLS);
    }
    if (p->producer[0]) {
        ns_buf_puts(b, ", by ");
        ns_buf_put_term(b, p->producer, NSR_NAME_COLS);
    }
    ns_buf_puts(b, "\n");
}

static int any_sampled(const struct ns_model *m);

static void put_filters(struct ns_buf *b, const struct ns_model *m)
{
    const struct ns_filter_stats *f = &m->filter;
    if (!f->thread && !f->function && !f->event && !f->has_pid && !f->has_from && !f->has_to)
        return;
    nsr_label(b, "filters");
    const char *sep = "";
    if (f->has_pid)
        ns_buf_printf(b, "%s--pid %llu", sep, (unsigned long long)f->pid), sep = ", ";
    if (f->event) {
        ns_buf_printf(b, "%s--event ", sep), sep = ", ";
        ns_buf_put_term(b, f->event, NSR_NAME_COLS);
    }
    if (f->thread) {
        ns_buf_printf(b, "%s--thread ", sep), sep = ", ";
        ns_buf_put_term(b, f->thread, NSR_NAME_COLS);
    }
    if (f->has_from)
        ns_buf_printf(b, "%s--from %g s", sep, f->from_s), sep = ", ";
    if (f->has_to)
        ns_buf_printf(b, "%s--to %g s", sep, f->to_s), sep = ", ";
    if (f->function) {
        ns_buf_printf(b, "%s--function %s", sep, f->function_regex ? "(regex) " : "");
        ns_buf_put_term(b, f->function, NSR_NAME_COLS);
    }
    char kept[32], all[32];
    ns_fmt_count(kept, sizeof(kept), f->after_function);
    ns_fmt_count(all, sizeof(all), f->in_files);
    ns_buf_printf(b, ": kept %s of %s %s\n", kept, all, any_sampled(m) ? "samples" : "entries");
}

/* Events of interposed calls are totals: their entry counts are not shown. Many events
 * wrap onto lines of their own, aligned under the first. */
static void put_events(struct ns_buf *b, const struct ns_model *m)
{
    nsr_label(b, "events");
    size_t col = 0;
    for (size_t e = 0; e < m->nevents; e++) {
        const struct ns_event *ev = &m->events[e];
        char count[32], weight[32];
        ns_fmt_count(count, sizeof(count), ev->count);
        ns_fmt_weight(weight, sizeof(weight), ev->weight, ev->unit);
        struct ns_buf one = {0};
        ns_buf_put_term(&one, ev->name, NSR_NAME_COLS);
        if (ns_event_is_aggregate(ev))
            ns_buf_printf(&one, ": %s", weight);
        else
            ns_buf_printf(&one, ": %s samples, %s", count, weight);
        size_t w = one.s ? ns_text_width(one.s) : 0;
        if (e && col + 2 + w > 84) {
            ns_buf_puts(b, ";\n");
            nsr_label(b, "");
            col = 0;
        } else if (e) {
            ns_buf_puts(b, "; ");
            col += 2;
        }
        ns_buf_puts(b, one.s ? one.s : "");
        b->oom |= one.oom;
        col += w;
        ns_buf_free(&one);
    }
    ns_buf_puts(b, m->nevents ? "\n" : "none\n");
}

/* 1 if some process samples (cpu, wall): only then do a mechanism and a rate apply. */
static int any_sampled(const struct ns_model *m)
{
    for (size_t i = 0; i < m->nprocesses; i++)
        if (m->processes[i].has_sampled_event)
            return 1;
    return 0;
}

static void end_short(const struct ns_process *p, char *buf, size_t len)
{
    const char *trunc = p->truncated ? ", truncated" : "";
    if (!p->has_end)
        snprintf(buf, len, "no END (killed?)%s", trunc);
    else if (p->end_reason == NSP_EXIT_NORMAL || p->end_reason == NSP_EXIT_SIGNAL)
        snprintf(buf, len, "%s %llu%s", ns_end_reason_name(p->end_reason),
                 (unsigned long long)p->end_status, trunc);
    else
        snprintf(buf, len, "%s%s", ns_end_reason_name(p->end_reason), trunc);
}

static void put_process_table(struct ns_buf *b, const struct ns_model *m, int color)
{
    static const char *const spec[] = {"rpid",      "rppid", "rexec", "lprogram",
                                       "rduration", "lend",  "lfile"};
    struct ns_table t;
    ns_table_init(&t, 7, spec);
    for (size_t i = 0; i < m->nprocesses; i++) {
        const struct ns_process *p = &m->processes[i];
        char num[32];
        snprintf(num, sizeof(num), "%llu", (unsigned long long)p->pid);
        ns_table_cell(&t, num);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)p->ppid);
        ns_table_cell(&t, num);
        snprintf(num, sizeof(num), "%llu", (unsigned long long)p->exec_index);
        ns_table_cell(&t, num);
        ns_table_cell_text(&t, p->name, 32);
        ns_fmt_duration(num, sizeof(num), ns_facts_duration_ns(p));
        ns_table_cell(&t, num);
        end_short(p, num, sizeof(num));
        ns_table_cell(&t, num);
        ns_table_cell_text(&t, p->path, NSR_PATH_COLS);
    }
    nsr_heading(b, color, "Processes");
    ns_table_render(&t, b, 2, color);
    ns_table_free(&t);
}

void nsr_text_header(struct ns_buf *b, const struct ns_model *m, const struct ns_render_options *o)
{
    if (m->nprocesses == 0)
        return;
    const struct ns_process *p = &m->processes[0];
    nsr_style(b, o->color, "1");
    ns_buf_puts(b, "nsprof report: ");
    if (m->nprocesses == 1) {
        ns_buf_put_term(b, p->name, NSR_NAME_COLS);
        ns_buf_printf(b, ", pid %llu", (unsigned long long)p->pid);
        if (p->exec_index)
            ns_buf_printf(b, " (exec %llu)", (unsigned long long)p->exec_index);
    } else {
        /* Sessions are interned strings: pointer comparison finds the distinct ones. */
        size_t sessions = 0;
        for (size_t i = 0; i < m->nprocesses; i++) {
            size_t j = 0;
            while (j < i && m->processes[j].session != m->processes[i].session)
                j++;
            sessions += j == i;
        }
        if (sessions == 1) {
            ns_buf_printf(b, "%zu processes of session ", m->nprocesses);
            ns_buf_put_term(b, p->session, NSR_NAME_COLS);
        } else
            ns_buf_printf(b, "%zu processes of %zu different sessions", m->nprocesses, sessions);
    }
    nsr_unstyle(b, o->color);
    ns_buf_puts(b, "\n");
    if (m->nprocesses == 1) {
        char size[32];
        nsr_label(b, "file");
        ns_buf_put_term(b, p->path, 0);
        ns_fmt_weight(size, sizeof(size), p->file_bytes, "bytes");
        ns_buf_printf(b, " (%s)\n", size);
        nsr_label(b, "command");
        put_command(b, p);
        if (p->exe[0]) {
            nsr_label(b, "executable");
            ns_buf_put_term(b, p->exe, 0);
            const char *slash = strrchr(p->exe, '/');
            if (strcmp(slash ? slash + 1 : p->exe, p->name) != 0) {
                ns_buf_puts(b, " (the process is called ");
                ns_buf_put_term(b, p->name, NSR_NAME_COLS);
                ns_buf_puts(b, " everywhere: its main thread's name, as ps and perf show it)");
            }
            ns_buf_puts(b, "\n");
        }
        nsr_label(b, "duration");
        ns_fmt_duration(size, sizeof(size), ns_facts_duration_ns(p));
        ns_buf_printf(b, "%s\n", size);
    }
    nsr_label(b, "recorded");
    put_recorded(b, p);
    put_events(b, m);
    put_filters(b, m);
    if (m->nprocesses > 1)
        put_process_table(b, m, o->color);
}

/* "pid 1, pid 2 (a), ..." for a group of processes, capped. */
static void put_process_list(struct ns_buf *b, const struct ns_model *m, const uint32_t *procs,
                             size_t n)
{
    for (size_t i = 0; i < n && i < 5; i++) {
        ns_buf_puts(b, i ? ", " : "");
        nsr_process_name(b, &m->processes[procs[i]]);
    }
    if (n > 5)
        ns_buf_printf(b, " and %zu more", n - 5);
}

static void put_mechanism(struct ns_buf *b, const struct ns_model *m)
{
    struct ns_setting_group *g;
    size_t ng;
    if (!any_sampled(m)) {
        nsr_label(b, "mechanism");
        ns_buf_puts(b, "no sampling (event=none): only interposed calls were recorded\n");
        return;
    }
    if (ns_facts_setting_groups(m, "mechanism_used", &g, &ng) < 0)
        return;
    for (size_t i = 0; i < ng; i++) {
        nsr_label(b, i ? "" : "mechanism");
        const char *desc = ns_mechanism_description(g[i].value);
        if (!g[i].value)
            ns_buf_puts(b, "not recorded");
        else {
            ns_buf_puts(b, desc ? desc : "");
            ns_buf_puts(b, desc ? " (" : "");
            ns_buf_put_term(b, g[i].value, NSR_NAME_COLS);
            ns_buf_puts(b, desc ? ")" : "");
        }
        const char *why = ns_model_setting(&m->processes[g[i].processes[0]], "mechanism_reason");
        if (why && why[0]) {
            ns_buf_puts(b, ": ");
            ns_buf_put_term(b, why, 0);
        }
        if (ng > 1) {
            ns_buf_puts(b, " -- ");
            put_process_list(b, m, g[i].processes, g[i].n);
        }
        ns_buf_puts(b, "\n");
    }
    ns_facts_setting_groups_free(g, ng);
}

static double requested_hz(const struct ns_model *m, int *mixed)
{
    struct ns_setting_group *g;
    size_t ng;
    double hz = 0;
    *mixed = 0;
    if (ns_facts_setting_groups(m, "freq", &g, &ng) < 0)
        return 0;
    if (ng >= 1 && g[0].value)
        hz = strtod(g[0].value, NULL);
    *mixed = ng > 1;
    ns_facts_setting_groups_free(g, ng);
    return hz;
}

static void put_rate(struct ns_buf *b, const struct ns_model *m, int color)
{
    int mixed;
    double req = requested_hz(m, &mixed);
    struct ns_rate r = ns_facts_rate(m, NS_NONE);
    if ((req <= 0 && !r.valid) || !any_sampled(m))
        return;
    nsr_label(b, "rate");
    if (req > 0)
        ns_buf_printf(b, "requested %g Hz%s", req, mixed ? " (differs between processes)" : "");
    else
        ns_buf_puts(b, "requested rate not recorded");
    if (!r.valid) {
        ns_buf_puts(b, "\n");
        return;
    }
    char samples[32], cpu[32];
    ns_fmt_count(samples, sizeof(samples), r.samples);
    ns_fmt_duration(cpu, sizeof(cpu), r.cpu_ns);
    int low = req > 0 && r.hz < 0.8 * req;
    /* More samples than CPU time allows: each sample stands for a period of the sampling
     * clock, so the clock ran ahead of the CPU time the kernel accounted to the threads. */
    int high = req > 0 && r.hz > 1.03 * req;
    ns_buf_puts(b, ", achieved ");
    nsr_style(b, color && (low || high), YELLOW);
    ns_buf_printf(b, "%.0f Hz", r.hz);
    nsr_unstyle(b, color && (low || high));
    ns_buf_printf(b, " per thread CPU second (%s samples in %s of thread CPU time)%s\n", samples,
                  cpu, low ? ": below the requested rate" : "");
    if (high) {
        nsr_label(b, "");
        ns_buf_printf(b,
                      "above the requested rate, which sampling cannot exceed: the sampling "
                      "clock counted %.0f%% more time than the kernel accounted to the "
                      "threads (seen when the host is overloaded and the virtual CPU is "
                      "descheduled); shares are right, times from sample counts read that "
                      "much high\n",
                      100.0 * (r.hz / req - 1));
    }
}

/* The threads' time on and off the CPU, where the agent measured it from the kernel's context
 * switches (the perf mechanism). */
static void put_thread_times(struct ns_buf *b, const struct ns_model *m)
{
    uint64_t cpu = 0, blocked = 0, runnable = 0, unknown = 0;
    size_t n = 0;
    for (size_t i = 0; i < m->nthreads; i++) {
        const struct ns_thread *t = &m->threads[i];
        if (!t->matched || !t->has_times)
            continue;
        n++;
        cpu += t->cpu_ns;
        blocked += t->blocked_ns;
        runnable += t->runnable_ns;
        unknown += t->off_unknown_ns;
    }
    if (!n)
        return;
    char c[32], bl[32], r[32], u[32];
    ns_fmt_duration(c, sizeof(c), cpu);
    ns_fmt_duration(bl, sizeof(bl), blocked);
    ns_fmt_duration(r, sizeof(r), runnable);
    nsr_label(b, "threads");
    ns_buf_printf(b, "%zu thread%s ran %s, were blocked %s and waited %s for a CPU", n,
                  n == 1 ? "" : "s", c, bl, r);
    if (unknown) {
        ns_fmt_duration(u, sizeof(u), unknown);
        ns_buf_printf(b, " (%s off the CPU around lost records)", u);
    }
    ns_buf_puts(b, " (from the kernel's context switches)\n");
}

/* How the wall event's off-CPU time was measured, and so what it cannot see. */
static void put_off_cpu_source(struct ns_buf *b, const struct ns_model *m)
{
    struct ns_setting_group *g;
    size_t ng;
    if (ns_facts_setting_groups(m, "off_cpu_measured_by", &g, &ng) < 0)
        return;
    size_t shown = 0;
    for (size_t i = 0; i < ng; i++) {
        if (!g[i].value)
            continue;
        nsr_label(b, shown++ ? "" : "off-CPU");
        if (strcmp(g[i].value, "kernel") == 0)
            ns_buf_puts(b, "measured from the kernel's context switches: every wait counts; a "
                           "wait in a call nsprof does not interpose is shown as "
                           "[off-CPU: other] at the thread's last sampled stack");
        else if (strcmp(g[i].value, "interposers") == 0)
            ns_buf_puts(b, "measured by the blocking calls nsprof interposes, with their own "
                           "clocks (no perf): waits elsewhere (raw system calls, libc's "
                           "internal waits) and time waiting for a CPU are not counted");
        else
            ns_buf_put_term(b, g[i].value, NSR_NAME_COLS);
        if (ng > 1) {
            ns_buf_puts(b, " -- ");
            put_process_list(b, m, g[i].processes, g[i].n);
        }
        ns_buf_puts(b, "\n");
    }
    ns_facts_setting_groups_free(g, ng);
}

static void put_quality_detail(struct ns_buf *b, const struct ns_event *ev, unsigned lo,
                               unsigned hi)
{
    const char *sep = " (";
    if (ns_event_is_aggregate(ev))
        return; /* entry counts per end reason mean nothing for totals */
    for (unsigned e = lo; e <= hi; e++) {
        if (!ev->end_count[e])
            continue;
        char c[32];
        ns_fmt_count(c, sizeof(c), ev->end_count[e]);
        ns_buf_printf(b, "%s%s %s", sep, ns_stack_end_name(e), c);
        sep = ", ";
    }
    if (sep[0] == ',')
        ns_buf_puts(b, ")");
}

/* One event's stack quality as a sentence (without the event's name). */
static void quality_sentence(struct ns_buf *b, const struct ns_event *ev, int color)
{
    struct ns_stack_quality q;
    int agg = ns_event_is_aggregate(ev);
    /* Entries of an aggregate event are totals: their shares are shares of weight. */
    if (agg)
        ns_facts_stack_quality_by_weight(ev, &q);
    else
        ns_facts_stack_quality(ev, &q);
    char pct[16];
    if (!q.total) {
        ns_buf_puts(b, "no samples");
        return;
    }
    ns_fmt_pct(pct, sizeof(pct), q.root, q.total);
    ns_buf_printf(b, "%s%s reached the thread's root", pct, agg ? " of the weight" : "");
    int bad = q.truncated * 10 > q.total || q.unknown * 10 > q.total;
    nsr_style(b, color && bad, YELLOW);
    ns_fmt_pct(pct, sizeof(pct), q.truncated, q.total);
    ns_buf_printf(b, ", %s truncated", pct);
    put_quality_detail(b, ev, NSP_END_DEPTH, NSP_END_STACK_END);
    ns_fmt_pct(pct, sizeof(pct), q.unknown, q.total);
    ns_buf_printf(b, ", %s cut short by an unwinding error", pct);
    put_quality_detail(b, ev, NSP_END_NO_MODULE, NSP_END_BAD_FRAME);
    if (q.no_stack) {
        ns_fmt_pct(pct, sizeof(pct), q.no_stack, q.total);
        ns_buf_printf(b, ", %s without a stack", pct);
    }
    nsr_unstyle(b, color && bad);
    /* Frames without a name count as unknown too: a profile of module+0xADDR frames names
     * nothing, however well its stacks were unwound. */
    uint64_t leaf = agg ? ev->unnamed_leaf_weight : ev->unnamed_leaf_count;
    uint64_t any = agg ? ev->unnamed_any_weight : ev->unnamed_any_count;
    int unnamed_bad = leaf * 10 > q.total;
    nsr_style(b, color && unnamed_bad, YELLOW);
    ns_fmt_pct(pct, sizeof(pct), leaf, q.total);
    ns_buf_printf(b, "; unnamed frames (module+0xADDR): %s at the leaf", pct);
    ns_fmt_pct(pct, sizeof(pct), any, q.total);
    ns_buf_printf(b, ", %s anywhere", pct);
    nsr_unstyle(b, color && unnamed_bad);
}

struct quality_line {
    struct ns_buf names, sentence;
    int aggregate;
    size_t nnames;
};

/*
 * One line per event; aggregate events whose sentences are equal share one line (the
 * events of one interposer, alloc_bytes and alloc_count, come from the same stacks). An
 * aggregate event without entries is a capability with nothing to report (no lock was
 * contended): its own section says so.
 */
static void put_stacks(struct ns_buf *b, const struct ns_model *m, int color)
{
    struct quality_line *lines = calloc(m->nevents ? m->nevents : 1, sizeof(*lines));
    size_t n = 0, aggregates = 0;
    for (size_t e = 0; lines && e < m->nevents; e++) {
        const struct ns_event *ev = &m->events[e];
        int agg = ns_event_is_aggregate(ev);
        if (agg && !ev->count)
            continue;
        struct quality_line cur = {.aggregate = agg};
        quality_sentence(&cur.sentence, ev, color);
        size_t j = 0;
        while (agg && j < n &&
               !(lines[j].aggregate && cur.sentence.s && lines[j].sentence.s &&
                 strcmp(lines[j].sentence.s, cur.sentence.s) == 0))
            j++;
        size_t at = n;
        if (agg && j < n) {
            at = j;
            ns_buf_free(&cur.sentence);
            ns_buf_puts(&lines[at].names, ", ");
        } else {
            lines[n++] = cur;
        }
        ns_buf_put_term(&lines[at].names, ev->name, NSR_NAME_COLS);
        lines[at].nnames++;
        aggregates += agg;
    }
    for (size_t i = 0; i < n; i++) {
        nsr_label(b, i ? "" : "stacks");
        if (lines[i].aggregate && lines[i].nnames > 2 && lines[i].nnames == aggregates)
            ns_buf_printf(b, "all %zu events of interposed calls: ", aggregates);
        else if (m->nevents > 1 && lines[i].names.s)
            ns_buf_printf(b, "%s: ", lines[i].names.s);
        ns_buf_puts(b, lines[i].sentence.s ? lines[i].sentence.s : "");
        ns_buf_puts(b, "\n");
        b->oom |= lines[i].names.oom | lines[i].sentence.oom;
        ns_buf_free(&lines[i].names);
        ns_buf_free(&lines[i].sentence);
    }
    b->oom |= !lines;
    free(lines);
    if (m->nprocesses && m->nevents) {
        const char *depth = ns_model_setting(&m->processes[0], "max_depth");
        const char *copy = ns_model_setting(&m->processes[0], "stack_copy");
        if (depth || copy) {
            nsr_label(b, "");
            ns_buf_puts(b, "limits: max_depth=");
            ns_buf_put_term(b, depth ? depth : "?", 20);
            ns_buf_puts(b, ", stack_copy=");
            ns_buf_put_term(b, copy ? copy : "?", 20);
            ns_buf_puts(b, " (raise them when many stacks are truncated)\n");
        }
    }
}

static void put_drops(struct ns_buf *b, const struct ns_model *m, int color)
{
    struct ns_counter *d;
    size_t nd;
    uint64_t total, taken;
    if (ns_facts_drops(m, &d, &nd, &total, &taken) < 0)
        return;
    nsr_label(b, "drops");
    if (!nd)
        ns_buf_puts(b, "none");
    else {
        char count[32], pct[16];
        ns_fmt_count(count, sizeof(count), total);
        ns_fmt_pct(pct, sizeof(pct), total, m->filter.after_pid + total);
        nsr_style(b, color, YELLOW);
        ns_buf_printf(b, "%s samples lost (%s)", count, pct);
        nsr_unstyle(b, color);
        for (size_t i = 0; i < nd; i++) {
            ns_fmt_count(count, sizeof(count), d[i].value);
            ns_buf_puts(b, i ? ", " : ": ");
            ns_buf_put_term(b, d[i].name, NSR_NAME_COLS);
            ns_buf_printf(b, " %s", count);
        }
    }
    ns_buf_puts(b, "\n");
    free(d);
    static const char *const others[] = {"threads_failed", "throttled", "stack_copy_truncated",
                                         "sigprof_forwarded"};
    const char *sep = "";
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        uint64_t v = 0;
        for (size_t p = 0; p < m->nprocesses; p++)
            v += ns_model_counter(&m->processes[p], others[i]);
        if (!v)
            continue;
        if (!*sep)
            nsr_label(b, "counters");
        char count[32];
        ns_fmt_count(count, sizeof(count), v);
        ns_buf_printf(b, "%s%s %s", sep, others[i], count);
        sep = ", ";
    }
    if (*sep)
        ns_buf_puts(b, "\n");
}

static void put_kernel(struct ns_buf *b, const struct ns_model *m)
{
    int some;
    int all = ns_facts_kernel_excluded(m, &some);
    if (!some)
        return;
    nsr_label(b, "kernel");
    ns_buf_puts(b, "time spent in the kernel is not sampled (exclude_kernel=1): system calls and "
                   "page faults are missing from CPU time");
    if (!all)
        ns_buf_puts(b, " (in some processes)");
    double lost = ns_facts_unsampled_kernel_share(m);
    if (lost >= 0)
        ns_buf_printf(b, "; about %.1f%% of the threads' CPU time went unsampled", lost);
    ns_buf_puts(b, "\n");
}

static void put_end(struct ns_buf *b, const struct ns_model *m, int color)
{
    size_t incomplete = 0;
    for (size_t i = 0; i < m->nprocesses; i++) {
        const struct ns_process *p = &m->processes[i];
        int complete = ns_facts_complete(p);
        if (complete && m->nprocesses > 1)
            continue;
        incomplete += !complete;
        char sentence[512];
        ns_facts_end_sentence(p, sentence, sizeof(sentence));
        nsr_label(b, incomplete > 1 || (complete && i) ? "" : "end");
        nsr_style(b, color && !complete, YELLOW);
        ns_buf_puts(b, complete ? "complete: " : "INCOMPLETE: ");
        nsr_unstyle(b, color && !complete);
        if (m->nprocesses > 1) {
            nsr_process_name(b, p);
            ns_buf_puts(b, ": ");
        }
        ns_buf_printf(b, "%s\n", sentence);
    }
    if (m->nprocesses > 1 && !incomplete) {
        nsr_label(b, "end");
        ns_buf_printf(b, "complete: all %zu files were closed normally\n", m->nprocesses);
    }
}

struct note_group {
    const struct ns_note *note;
    size_t processes; /* how many processes recorded it */
    uint32_t last;    /* the last process counted */
};

static int note_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_note *a = ((const struct note_group *)ctx)[value].note;
    const struct ns_note *b = key;
    return a->level == b->level && a->code == b->code && a->text == b->text;
}

/* The notes of all processes, each distinct (level, code, text) once, in first-seen order:
 * a session of many processes usually repeats the same note in each. */
static struct note_group *group_notes(const struct ns_model *m, size_t *n)
{
    size_t total = 0;
    for (size_t p = 0; p < m->nprocesses; p++)
        total += m->processes[p].nnotes;
    struct note_group *g = calloc(total ? total : 1, sizeof(*g));
    struct ns_itab tab = {0};
    *n = 0;
    for (size_t p = 0; g && p < m->nprocesses; p++) {
        for (size_t i = 0; i < m->processes[p].nnotes; i++) {
            const struct ns_note *note = &m->processes[p].notes[i];
            /* Strings are interned: their pointers identify them. */
            uint64_t h =
                ns_mix64((uintptr_t)note->code ^ ns_mix64((uintptr_t)note->text)) ^ note->level;
            uint32_t idx = ns_itab_get(&tab, h, note_eq, g, note);
            if (idx == NS_NONE) {
                idx = (uint32_t)(*n)++;
                g[idx] = (struct note_group){.note = note, .last = NS_NONE};
                if (ns_itab_put(&tab, h, idx) < 0) {
                    free(g);
                    g = NULL;
                    break;
                }
            }
            if (g[idx].last != p) {
                g[idx].processes++;
                g[idx].last = (uint32_t)p;
            }
        }
    }
    ns_itab_free(&tab);
    return g;
}

static void put_notes(struct ns_buf *b, const struct ns_model *m, int color)
{
    size_t n;
    struct note_group *g = group_notes(m, &n);
    for (size_t i = 0; g && i < n; i++) {
        const struct ns_note *note = g[i].note;
        nsr_label(b, i ? "" : "notes");
        int warn = note->level == NSP_NOTE_WARNING;
        nsr_style(b, color && warn, YELLOW);
        ns_buf_puts(b, warn ? "warning" : "info");
        nsr_unstyle(b, color && warn);
        ns_buf_puts(b, " [");
        ns_buf_put_term(b, note->code, NSR_NAME_COLS);
        ns_buf_puts(b, "] ");
        ns_buf_put_term(b, note->text, 0);
        if (m->nprocesses > 1)
            ns_buf_printf(b, " (%zu of %zu processes)", g[i].processes, m->nprocesses);
        ns_buf_puts(b, "\n");
    }
    free(g);
}

static void put_symbols(struct ns_buf *b, const struct ns_model *m, int color)
{
    const char *what = any_sampled(m) ? "samples" : "entries";
    uint32_t *probs;
    size_t n;
    if (ns_facts_symbol_problems(m, &probs, &n) < 0)
        return;
    uint64_t kept = 0;
    for (size_t e = 0; e < m->nevents; e++)
        kept += m->events[e].count;
    for (size_t i = 0; i < n; i++) {
        const struct ns_module *mod = &m->modules[probs[i]];
        char fix[512];
        const char *hint = ns_facts_symbol_fix(mod, fix, sizeof(fix));
        char pct[16];
        nsr_label(b, i ? "" : "symbols");
        nsr_style(b, color, YELLOW);
        ns_buf_put_term(b, mod->base, NSR_NAME_COLS);
        nsr_unstyle(b, color);
        ns_fmt_pct(pct, sizeof(pct), mod->leaf_samples, kept);
        const char *sentence =
            mod->status_known ? ns_sym_status_sentence(mod->status) : "symbols not looked up";
        if (mod->status_known && mod->status == NS_SYM_OK)
            sentence = "symbols, but some of its code has none";
        else if (mod->status_known && mod->status == NS_SYM_NO_DEBUG_INFO && mod->unnamed_samples)
            sentence = "names for the functions its symbol table has (not the rest), no source "
                       "lines";
        ns_buf_printf(b, ": %s (%s of %s end there", sentence, pct, what);
        if (mod->unnamed_samples) {
            char any[16];
            ns_fmt_pct(pct, sizeof(pct), mod->unnamed_leaf_samples, kept);
            ns_fmt_pct(any, sizeof(any), mod->unnamed_samples, kept);
            ns_buf_printf(b, ", %s in an unnamed frame of it, %s pass through one", pct, any);
        }
        ns_buf_puts(b, ")\n");
        nsr_label(b, "");
        ns_buf_puts(b, "  ");
        ns_buf_put_term(b, mod->detail[0] ? mod->detail : mod->path, 0);
        ns_buf_puts(b, "\n");
        if (hint) {
            nsr_label(b, "");
            ns_buf_printf(b, "  fix: %s\n", hint);
        }
    }
    if (!n) {
        size_t checked = 0;
        for (size_t i = 0; i < m->nmodules; i++)
            checked += m->modules[i].status_known;
        if (checked) {
            nsr_label(b, "symbols");
            ns_buf_printf(b, "all %zu modules with %s have symbols and lines\n", checked, what);
        }
    }
    free(probs);
}

void nsr_text_sampling(struct ns_buf *b, const struct ns_model *m,
                       const struct ns_render_options *o)
{
    nsr_heading(b, o->color, "Sampling");
    put_mechanism(b, m);
    put_rate(b, m, o->color);
    put_thread_times(b, m);
    put_off_cpu_source(b, m);
    put_stacks(b, m, o->color);
    put_drops(b, m, o->color);
    put_kernel(b, m);
    put_end(b, m, o->color);
    put_notes(b, m, o->color);
    put_symbols(b, m, o->color);
}
