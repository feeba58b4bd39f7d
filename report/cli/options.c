/*
 * options — shared filter options of the report and export subcommands (see options.h).
 */
#include "options.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "textfmt.h"

static int parse_seconds(const char *opt, const char *arg, double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < 0) {
        snprintf(err, errlen, "%s: '%s' is not a number of seconds (e.g. 1.5)", opt, arg);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_pid(const char *arg, uint64_t *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-' || v == 0 || v > UINT32_MAX) {
        snprintf(err, errlen, "--pid: '%s' is not a process id", arg);
        return -1;
    }
    *out = v;
    return 0;
}

static int add_debug_dir(struct ns_report_args *a, const char *dir, char *err, size_t errlen)
{
    const char **d = realloc(a->debug_dirs, (a->ndebug_dirs + 2) * sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    a->debug_dirs = d;
    d[a->ndebug_dirs++] = dir;
    d[a->ndebug_dirs] = NULL;
    return 0;
}

int ns_report_filter_arg(struct ns_report_args *a, int opt, const char *arg, char *err,
                         size_t errlen)
{
    struct ns_model_options *m = &a->model;
    switch (opt) {
    case NS_OPT_THREAD:
        m->thread = arg;
        return 1;
    case NS_OPT_FUNCTION:
        m->function = arg;
        return 1;
    case NS_OPT_REGEX:
        m->function_regex = 1;
        return 1;
    case NS_OPT_FROM:
        m->has_from = 1;
        return parse_seconds("--from", arg, &m->from_s, err, errlen) < 0 ? -1 : 1;
    case NS_OPT_TO:
        m->has_to = 1;
        return parse_seconds("--to", arg, &m->to_s, err, errlen) < 0 ? -1 : 1;
    case NS_OPT_EVENT:
        m->event = arg;
        return 1;
    case NS_OPT_PID:
        m->has_pid = 1;
        return parse_pid(arg, &m->pid, err, errlen) < 0 ? -1 : 1;
    case NS_OPT_NO_INLINE:
        m->no_inline = 1;
        return 1;
    case NS_OPT_DEBUG_DIR:
        return add_debug_dir(a, arg, err, errlen) < 0 ? -1 : 1;
    default:
        return 0;
    }
}

int ns_report_args_check(const struct ns_report_args *a, char *err, size_t errlen)
{
    const struct ns_model_options *m = &a->model;
    if (m->has_from && m->has_to && m->from_s >= m->to_s) {
        snprintf(err, errlen, "--from %g must be before --to %g", m->from_s, m->to_s);
        return -1;
    }
    if (m->function_regex && !m->function) {
        snprintf(err, errlen, "--regex applies to --function; give --function PATTERN too");
        return -1;
    }
    if (m->thread && !m->thread[0]) {
        snprintf(err, errlen, "--thread needs a thread name or id");
        return -1;
    }
    if (m->function && !m->function[0]) {
        snprintf(err, errlen, "--function needs a function name");
        return -1;
    }
    return 0;
}

void ns_report_args_free(struct ns_report_args *a)
{
    free(a->debug_dirs);
    a->debug_dirs = NULL;
    a->ndebug_dirs = 0;
}

static void list_events(struct ns_buf *b, const struct ns_filter_stats *f)
{
    ns_buf_puts(b, "; events in the files: ");
    for (size_t i = 0; i < f->nevent_names; i++) {
        ns_buf_puts(b, i ? ", " : "");
        ns_buf_put_term(b, f->event_names[i], 40);
    }
    if (!f->nevent_names)
        ns_buf_puts(b, "none");
}

static void list_threads(struct ns_buf *b, const struct ns_model *m)
{
    ns_buf_puts(b, "; threads in the files: ");
    size_t shown = 0;
    for (size_t i = 0; i < m->nthreads && i < 4096 && shown < 12; i++) {
        int dup = 0;
        for (size_t j = 0; j < i && !dup; j++)
            dup = m->threads[j].name == m->threads[i].name && m->threads[i].name[0];
        if (dup)
            continue;
        ns_buf_puts(b, shown++ ? ", " : "");
        ns_buf_put_term(b, m->threads[i].name[0] ? m->threads[i].name : "(unnamed)", 40);
        ns_buf_printf(b, " (tid %u)", m->threads[i].tid);
    }
    if (shown == 12)
        ns_buf_puts(b, ", ...");
    if (!m->nthreads)
        ns_buf_puts(b, "none");
}

static void list_pids(struct ns_buf *b, const struct ns_filter_stats *f)
{
    ns_buf_puts(b, "; pids of the files: ");
    for (size_t i = 0; i < f->npids && i < 20; i++)
        ns_buf_printf(b, "%s%llu", i ? ", " : "", (unsigned long long)f->pids[i]);
}

static int any_sampled(const struct ns_model *m)
{
    for (size_t i = 0; i < m->nprocesses; i++)
        if (m->processes[i].has_sampled_event)
            return 1;
    return 0;
}

static void explain(struct ns_buf *b, const struct ns_model *m)
{
    const struct ns_filter_stats *f = &m->filter;
    if (!f->in_files) {
        const struct ns_process *cut = NULL;
        for (size_t i = 0; i < m->nprocesses && !cut; i++)
            if (m->processes[i].truncated)
                cut = &m->processes[i];
        if (cut) {
            ns_buf_put_term(b, cut->path, 0);
            ns_buf_printf(b,
                          " is cut short at offset %llu, before its first complete chunk "
                          "of samples (the process was killed or crashed early)",
                          (unsigned long long)cut->truncated_at);
        } else if (!any_sampled(m))
            ns_buf_puts(b, "the files hold none: the program made no call of the kinds that "
                           "were recorded (allocations, I/O, lock waits), and nothing was "
                           "sampled (event=none)");
        else
            ns_buf_puts(b, "the files hold none: the program ran too briefly or used too "
                           "little CPU to be sampled (for a program that mostly waits, record "
                           "the wall event)");
    } else if (!f->after_pid) {
        ns_buf_printf(b, "--pid %llu matches none of the files", (unsigned long long)f->pid);
        list_pids(b, f);
    } else if (!f->after_event) {
        if (f->event) {
            int defined = 0;
            for (size_t i = 0; i < f->nevent_names && !defined; i++)
                defined = strcmp(f->event_names[i], f->event) == 0;
            ns_buf_puts(b, "--event ");
            ns_buf_put_term(b, f->event, 40);
            /* Events of interposed calls count calls, not ticks: none means no such call
             * (no lock was contended), not a run too short to sample. */
            int calls = ns_model_event_family(f->event) != NS_FAMILY_NONE;
            ns_buf_puts(b, !defined ? " matches no samples"
                           : calls  ? " was recorded, but the files hold none of its entries: "
                                      "the program made no call that it counts (for lock_wait, "
                                      "no lock was contended; for leak_bytes, nothing leaked)"
                                    : " was recorded, but the files hold none of its samples "
                                      "(too short a run, or too little CPU time, to be "
                                      "sampled)");
        } else
            ns_buf_puts(b, "the samples belong to no event the files define");
        list_events(b, f);
    } else if (!f->after_thread) {
        ns_buf_puts(b, "--thread ");
        ns_buf_put_term(b, f->thread ? f->thread : "", 40);
        ns_buf_puts(b, " matches no thread with samples");
        list_threads(b, m);
    } else if (!f->after_time) {
        int64_t last = 0;
        for (size_t i = 0; i < m->nprocesses; i++)
            if (m->processes[i].last_sample_ns > last)
                last = m->processes[i].last_sample_ns;
        ns_buf_printf(b,
                      "--from/--to keep no samples: the samples span 0 to %.3f s after the "
                      "process start",
                      (double)last / 1e9);
    } else {
        ns_buf_puts(b, "--function ");
        ns_buf_put_term(b, f->function ? f->function : "", 60);
        ns_buf_printf(b,
                      " matches no function in the sampled stacks (%s match; names are "
                      "case-sensitive)",
                      f->function_regex ? "regular expression" : "substring");
    }
}

int ns_report_explain_empty(const struct ns_model *m, char *msg, size_t len)
{
    for (size_t e = 0; e < m->nevents; e++)
        if (m->events[e].count)
            return 0;
    struct ns_buf b = {0};
    ns_buf_puts(&b, "no samples to show: ");
    explain(&b, m);
    snprintf(msg, len, "%s", b.s && !b.oom ? b.s : "no samples to show");
    ns_buf_free(&b);
    return 1;
}
