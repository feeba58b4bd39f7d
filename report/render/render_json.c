/*
 * render_json — the JSON form of `nsprof report` (schema "nsprof-report/1", every field
 * documented in docs/JSON.md). Built with jansson, which escapes every string; strings from
 * a profile are first made valid UTF-8 (invalid bytes become U+FFFD) because jansson
 * refuses anything else. The sections of interposed calls (memory, io, locks) are built by
 * render_json_sections.c.
 *
 * Integers above 2^63-1 (only a hostile file has them) are clamped to 2^63-1: jansson's
 * integers are signed 64-bit.
 *
 * Allocation failures anywhere mark the build failed; the whole document is then dropped
 * rather than emitted with holes.
 */
#include "facts.h"
#include "rank.h"
#include "recommend.h"
#include "render_json_internal.h"
#include "textfmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

json_t *nsj_str(struct jctx *c, const char *s)
{
    if (!s)
        return json_null();
    char *valid = ns_utf8_valid(s);
    json_t *j = valid ? json_string(valid) : NULL;
    free(valid);
    if (!j)
        c->failed = 1;
    return j;
}

json_t *nsj_u64(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Both take ownership of value, as jansson's *_new functions do, even on failure. */
void nsj_set(struct jctx *c, json_t *obj, const char *key, json_t *value)
{
    if (!obj) {
        json_decref(value);
        c->failed = 1;
    } else if (!value || json_object_set_new(obj, key, value) < 0)
        c->failed = 1;
}

void nsj_append(struct jctx *c, json_t *arr, json_t *value)
{
    if (!arr) {
        json_decref(value);
        c->failed = 1;
    } else if (!value || json_array_append_new(arr, value) < 0)
        c->failed = 1;
}

json_t *nsj_pct(uint64_t part, uint64_t whole)
{
    return json_real(ns_pct(part, whole));
}

static json_t *rate_json(struct jctx *c, struct ns_rate r)
{
    if (!r.valid)
        return json_null();
    json_t *o = json_object();
    nsj_set(c, o, "samples", nsj_u64(r.samples));
    nsj_set(c, o, "cpu_ns", nsj_u64(r.cpu_ns));
    nsj_set(c, o, "hz", json_real(r.hz));
    return o;
}

static json_t *process_end_json(struct jctx *c, const struct ns_process *p)
{
    if (!p->has_end)
        return json_null();
    json_t *o = json_object();
    nsj_set(c, o, "reason", nsj_str(c, ns_end_reason_name(p->end_reason)));
    nsj_set(c, o, "status", nsj_u64(p->end_status));
    nsj_set(c, o, "time_ns", nsj_u64(p->end_mono_ns));
    return o;
}

static json_t *process_facts_json(struct jctx *c, const struct ns_process *p)
{
    json_t *settings = json_object(), *counters = json_object(), *notes = json_array();
    for (size_t i = 0; i < p->nsettings; i++) {
        char *key = ns_utf8_valid(p->settings[i].key);
        nsj_set(c, settings, key ? key : "", nsj_str(c, p->settings[i].value));
        c->failed |= !key;
        free(key);
    }
    for (size_t i = 0; i < p->ncounters; i++) {
        char *key = ns_utf8_valid(p->counters[i].name);
        nsj_set(c, counters, key ? key : "", nsj_u64(p->counters[i].value));
        c->failed |= !key;
        free(key);
    }
    for (size_t i = 0; i < p->nnotes; i++) {
        json_t *n = json_object();
        nsj_set(c, n, "level",
                nsj_str(c, p->notes[i].level == NSP_NOTE_WARNING ? "warning" : "info"));
        nsj_set(c, n, "code", nsj_str(c, p->notes[i].code));
        nsj_set(c, n, "text", nsj_str(c, p->notes[i].text));
        nsj_append(c, notes, n);
    }
    json_t *o = json_object();
    nsj_set(c, o, "settings", settings);
    nsj_set(c, o, "counters", counters);
    nsj_set(c, o, "notes", notes);
    return o;
}

static json_t *process_json(struct jctx *c, uint32_t idx)
{
    const struct ns_process *p = &c->m->processes[idx];
    json_t *o = json_object(), *argv = json_array();
    for (size_t i = 0; i < p->argc; i++)
        nsj_append(c, argv, nsj_str(c, p->argv[i]));
    nsj_set(c, o, "index", nsj_u64(idx));
    nsj_set(c, o, "file", nsj_str(c, p->path));
    nsj_set(c, o, "file_bytes", nsj_u64(p->file_bytes));
    nsj_set(c, o, "pid", nsj_u64(p->pid));
    nsj_set(c, o, "ppid", nsj_u64(p->ppid));
    nsj_set(c, o, "exec_index", nsj_u64(p->exec_index));
    nsj_set(c, o, "exe", nsj_str(c, p->exe));
    nsj_set(c, o, "name", nsj_str(c, p->name));
    nsj_set(c, o, "argv", argv);
    nsj_set(c, o, "session", nsj_str(c, p->session));
    nsj_set(c, o, "hostname", nsj_str(c, p->hostname));
    nsj_set(c, o, "kernel", nsj_str(c, p->kernel));
    nsj_set(c, o, "producer", nsj_str(c, p->producer));
    nsj_set(c, o, "start_realtime_ns", nsj_u64(p->start_realtime_ns));
    nsj_set(c, o, "duration_ns", nsj_u64(ns_facts_duration_ns(p)));
    nsj_set(c, o, "end", process_end_json(c, p));
    nsj_set(c, o, "complete", json_boolean(ns_facts_complete(p)));
    nsj_set(c, o, "truncated_at", p->truncated ? nsj_u64(p->truncated_at) : json_null());
    char sentence[512];
    ns_facts_end_sentence(p, sentence, sizeof(sentence));
    nsj_set(c, o, "end_description", nsj_str(c, sentence));
    nsj_set(c, o, "rate", p->has_cpu_event ? rate_json(c, ns_facts_rate(c->m, idx)) : json_null());
    json_t *facts = process_facts_json(c, p);
    json_object_update(o, facts);
    json_decref(facts);
    return o;
}

static json_t *opt_str(struct jctx *c, const char *s)
{
    return s ? nsj_str(c, s) : json_null();
}

static json_t *filters_json(struct jctx *c)
{
    const struct ns_filter_stats *f = &c->m->filter;
    json_t *o = json_object(), *kept = json_object();
    nsj_set(c, o, "pid", f->has_pid ? nsj_u64(f->pid) : json_null());
    nsj_set(c, o, "event", opt_str(c, f->event));
    nsj_set(c, o, "thread", opt_str(c, f->thread));
    nsj_set(c, o, "function", opt_str(c, f->function));
    nsj_set(c, o, "function_regex", json_boolean(f->function_regex));
    nsj_set(c, o, "from_s", f->has_from ? json_real(f->from_s) : json_null());
    nsj_set(c, o, "to_s", f->has_to ? json_real(f->to_s) : json_null());
    nsj_set(c, kept, "in_files", nsj_u64(f->in_files));
    nsj_set(c, kept, "after_pid", nsj_u64(f->after_pid));
    nsj_set(c, kept, "after_event", nsj_u64(f->after_event));
    nsj_set(c, kept, "after_thread", nsj_u64(f->after_thread));
    nsj_set(c, kept, "after_time", nsj_u64(f->after_time));
    nsj_set(c, kept, "after_function", nsj_u64(f->after_function));
    nsj_set(c, o, "samples", kept);
    return o;
}

static json_t *mechanisms_json(struct jctx *c)
{
    struct ns_setting_group *g;
    size_t ng;
    json_t *arr = json_array();
    if (ns_facts_setting_groups(c->m, "mechanism_used", &g, &ng) < 0) {
        c->failed = 1;
        return arr;
    }
    for (size_t i = 0; i < ng; i++) {
        /* Processes that do not sample (event=none) have no mechanism to describe. */
        int sampled = 0;
        for (size_t j = 0; j < g[i].n; j++)
            sampled |= c->m->processes[g[i].processes[j]].has_sampled_event;
        if (!sampled)
            continue;
        json_t *o = json_object(), *procs = json_array();
        const struct ns_process *first = &c->m->processes[g[i].processes[0]];
        nsj_set(c, o, "mechanism", opt_str(c, g[i].value));
        nsj_set(c, o, "description", opt_str(c, ns_mechanism_description(g[i].value)));
        nsj_set(c, o, "reason", opt_str(c, ns_model_setting(first, "mechanism_reason")));
        for (size_t j = 0; j < g[i].n; j++)
            nsj_append(c, procs, nsj_u64(g[i].processes[j]));
        nsj_set(c, o, "processes", procs);
        nsj_append(c, arr, o);
    }
    ns_facts_setting_groups_free(g, ng);
    return arr;
}

static json_t *requested_json(struct jctx *c)
{
    struct ns_setting_group *g;
    size_t ng;
    json_t *arr = json_array();
    if (ns_facts_setting_groups(c->m, "freq", &g, &ng) < 0) {
        c->failed = 1;
        return arr;
    }
    /* A freq setting means nothing in processes that do not sample (event=none). */
    for (size_t i = 0; i < ng; i++) {
        double hz = g[i].value ? strtod(g[i].value, NULL) : 0;
        int sampled = 0;
        for (size_t j = 0; j < g[i].n; j++)
            sampled |= c->m->processes[g[i].processes[j]].has_sampled_event;
        if (sampled && isfinite(hz) && hz > 0)
            nsj_append(c, arr, json_real(hz));
    }
    ns_facts_setting_groups_free(g, ng);
    return arr;
}

static json_t *drops_json(struct jctx *c)
{
    struct ns_counter *d;
    size_t nd;
    uint64_t total, taken;
    json_t *o = json_object(), *counters = json_object();
    if (ns_facts_drops(c->m, &d, &nd, &total, &taken) < 0) {
        c->failed = 1;
        return o;
    }
    for (size_t i = 0; i < nd; i++) {
        char *key = ns_utf8_valid(d[i].name);
        nsj_set(c, counters, key ? key : "", nsj_u64(d[i].value));
        c->failed |= !key;
        free(key);
    }
    free(d);
    nsj_set(c, o, "total", nsj_u64(total));
    nsj_set(c, o, "share", nsj_pct(total, c->m->filter.after_pid + total));
    nsj_set(c, o, "counters", counters);
    return o;
}

static json_t *symbol_problems_json(struct jctx *c)
{
    uint32_t *probs;
    size_t n;
    json_t *arr = json_array();
    if (ns_facts_symbol_problems(c->m, &probs, &n) < 0) {
        c->failed = 1;
        return arr;
    }
    for (size_t i = 0; i < n; i++) {
        const struct ns_module *mod = &c->m->modules[probs[i]];
        json_t *o = json_object();
        nsj_set(c, o, "module", nsj_str(c, mod->base));
        nsj_set(c, o, "path", nsj_str(c, mod->path));
        nsj_set(c, o, "build_id", nsj_str(c, mod->build_id));
        nsj_set(c, o, "status", nsj_str(c, ns_sym_status_name(mod->status)));
        nsj_set(c, o, "description", nsj_str(c, ns_sym_status_sentence(mod->status)));
        char fix[512];
        nsj_set(c, o, "hint", opt_str(c, ns_facts_symbol_fix(mod, fix, sizeof(fix))));
        nsj_set(c, o, "detail", nsj_str(c, mod->detail));
        nsj_set(c, o, "package", opt_str(c, mod->package[0] ? mod->package : NULL));
        nsj_set(c, o, "leaf_samples", nsj_u64(mod->leaf_samples));
        nsj_set(c, o, "unnamed_leaf_samples", nsj_u64(mod->unnamed_leaf_samples));
        nsj_set(c, o, "unnamed_samples", nsj_u64(mod->unnamed_samples));
        nsj_append(c, arr, o);
    }
    free(probs);
    return arr;
}

static json_t *sampling_json(struct jctx *c)
{
    json_t *o = json_object();
    int some;
    int all = ns_facts_kernel_excluded(c->m, &some);
    int complete = 1;
    for (size_t i = 0; i < c->m->nprocesses; i++)
        complete &= ns_facts_complete(&c->m->processes[i]);
    int sampled = 0;
    for (size_t i = 0; i < c->m->nprocesses; i++)
        sampled |= c->m->processes[i].has_sampled_event;
    nsj_set(c, o, "sampled", json_boolean(sampled));
    nsj_set(c, o, "mechanisms", mechanisms_json(c));
    nsj_set(c, o, "requested_hz", requested_json(c));
    nsj_set(c, o, "achieved", rate_json(c, ns_facts_rate(c->m, NS_NONE)));
    nsj_set(c, o, "drops", drops_json(c));
    nsj_set(c, o, "kernel_excluded", nsj_str(c, all ? "all" : some ? "some" : "none"));
    double lost = ns_facts_unsampled_kernel_share(c->m);
    nsj_set(c, o, "kernel_unsampled_pct", lost >= 0 ? json_real(lost) : json_null());
    nsj_set(c, o, "complete", json_boolean(complete));
    nsj_set(c, o, "symbol_problems", symbol_problems_json(c));
    return o;
}

static json_t *stacks_json(struct jctx *c, const struct ns_event *ev)
{
    struct ns_stack_quality q;
    ns_facts_stack_quality(ev, &q);
    json_t *o = json_object(), *by_end = json_object();
    nsj_set(c, o, "root", nsj_u64(q.root));
    nsj_set(c, o, "truncated", nsj_u64(q.truncated));
    nsj_set(c, o, "unknown_frames", nsj_u64(q.unknown));
    nsj_set(c, o, "no_stack", nsj_u64(q.no_stack));
    nsj_set(c, o, "unnamed_leaf", nsj_u64(ev->unnamed_leaf_count));
    nsj_set(c, o, "unnamed_frames", nsj_u64(ev->unnamed_any_count));
    for (unsigned e = 0; e < NS_END_BUCKETS; e++)
        nsj_set(c, by_end, ns_stack_end_name(e), nsj_u64(ev->end_count[e]));
    nsj_set(c, o, "by_end", by_end);
    ns_facts_stack_quality_by_weight(ev, &q);
    json_t *w = json_object();
    nsj_set(c, w, "root", nsj_u64(q.root));
    nsj_set(c, w, "truncated", nsj_u64(q.truncated));
    nsj_set(c, w, "unknown_frames", nsj_u64(q.unknown));
    nsj_set(c, w, "no_stack", nsj_u64(q.no_stack));
    nsj_set(c, w, "unnamed_leaf", nsj_u64(ev->unnamed_leaf_weight));
    nsj_set(c, w, "unnamed_frames", nsj_u64(ev->unnamed_any_weight));
    nsj_set(c, o, "weight", w);
    return o;
}

size_t nsj_shown(const struct jctx *c, size_t n)
{
    return c->o->top && c->o->top < n ? c->o->top : n;
}

static void func_fields(struct jctx *c, json_t *o, uint32_t func)
{
    const struct ns_func *f = &c->m->funcs[func];
    nsj_set(c, o, "name", nsj_str(c, f->name));
    nsj_set(c, o, "module", nsj_str(c, f->module));
    nsj_set(c, o, "file", nsj_str(c, f->file));
    nsj_set(c, o, "inlined", json_boolean(f->inlined));
    nsj_set(c, o, "symbolized", json_boolean(f->symbolized));
    nsj_set(c, o, "named", json_boolean(f->named));
}

static json_t *functions_json(struct jctx *c, const struct ns_event *ev, struct ns_func_stat *fs,
                              size_t n, int by_total)
{
    json_t *arr = json_array();
    if (by_total)
        ns_rank_sort_by_total(c->m, fs, n);
    else
        ns_rank_sort_by_self(c->m, fs, n);
    size_t avail = n;
    if (!by_total)
        while (avail && fs[avail - 1].self_count == 0)
            avail--;
    for (size_t i = 0; i < nsj_shown(c, avail); i++) {
        json_t *o = json_object();
        func_fields(c, o, fs[i].func);
        nsj_set(c, o, "hot_file", fs[i].hot_line ? nsj_str(c, fs[i].hot_file) : json_null());
        nsj_set(c, o, "hot_line", fs[i].hot_line ? nsj_u64(fs[i].hot_line) : json_null());
        nsj_set(c, o, "self_samples", nsj_u64(fs[i].self_count));
        nsj_set(c, o, "self_weight", nsj_u64(fs[i].self_weight));
        nsj_set(c, o, "self_pct", nsj_pct(fs[i].self_weight, ev->weight));
        nsj_set(c, o, "total_samples", nsj_u64(fs[i].total_count));
        nsj_set(c, o, "total_weight", nsj_u64(fs[i].total_weight));
        nsj_set(c, o, "total_pct", nsj_pct(fs[i].total_weight, ev->weight));
        nsj_append(c, arr, o);
    }
    return arr;
}

static json_t *lines_json(struct jctx *c, uint32_t e)
{
    const struct ns_event *ev = &c->m->events[e];
    const struct ns_line **lines;
    size_t n;
    json_t *arr = json_array();
    if (ns_rank_lines(c->m, e, &lines, &n) < 0) {
        c->failed = 1;
        return arr;
    }
    for (size_t i = 0; i < nsj_shown(c, n); i++) {
        json_t *o = json_object();
        const struct ns_func *f = &c->m->funcs[lines[i]->func];
        nsj_set(c, o, "file", nsj_str(c, lines[i]->file));
        nsj_set(c, o, "line", nsj_u64(lines[i]->line));
        nsj_set(c, o, "function", nsj_str(c, f->name));
        nsj_set(c, o, "module", nsj_str(c, f->module));
        nsj_set(c, o, "inlined", json_boolean(f->inlined));
        nsj_set(c, o, "samples", nsj_u64(lines[i]->count));
        nsj_set(c, o, "weight", nsj_u64(lines[i]->weight));
        nsj_set(c, o, "pct", nsj_pct(lines[i]->weight, ev->weight));
        nsj_append(c, arr, o);
    }
    free(lines);
    return arr;
}

static json_t *threads_json(struct jctx *c, uint32_t e)
{
    const struct ns_event *ev = &c->m->events[e];
    struct ns_thread_group *g;
    size_t n;
    json_t *arr = json_array();
    if (ns_rank_thread_groups(c->m, e, &g, &n) < 0) {
        c->failed = 1;
        return arr;
    }
    int cpu = strcmp(ev->name, "cpu") == 0;
    for (size_t i = 0; i < nsj_shown(c, n); i++) {
        json_t *o = json_object(), *tids = json_array();
        for (size_t t = 0; t < g[i].ntids; t++)
            nsj_append(c, tids, nsj_u64(g[i].tids[t]));
        nsj_set(c, o, "name", nsj_str(c, g[i].name));
        nsj_set(c, o, "tids", tids);
        nsj_set(c, o, "samples", nsj_u64(g[i].count));
        nsj_set(c, o, "weight", nsj_u64(g[i].weight));
        nsj_set(c, o, "pct", nsj_pct(g[i].weight, ev->weight));
        nsj_set(c, o, "cpu_ns", g[i].has_stats ? nsj_u64(g[i].cpu_ns) : json_null());
        nsj_set(c, o, "stat_samples", g[i].has_stats ? nsj_u64(g[i].stat_samples) : json_null());
        nsj_set(c, o, "blocked_ns", g[i].has_times ? nsj_u64(g[i].blocked_ns) : json_null());
        nsj_set(c, o, "runnable_ns", g[i].has_times ? nsj_u64(g[i].runnable_ns) : json_null());
        nsj_set(c, o, "off_cpu_unknown_ns",
                g[i].has_times ? nsj_u64(g[i].off_unknown_ns) : json_null());
        struct ns_rate r = ns_facts_rate_of(g[i].stat_samples, g[i].cpu_ns);
        nsj_set(c, o, "achieved_hz",
                cpu && g[i].has_stats && ns_facts_thread_rate_shown(g[i].stat_samples, g[i].cpu_ns)
                    ? json_real(r.hz)
                    : json_null());
        nsj_append(c, arr, o);
    }
    ns_rank_thread_groups_free(g, n);
    return arr;
}

static json_t *processes_json(struct jctx *c, uint32_t e)
{
    struct ns_process_stat *ps;
    size_t n;
    json_t *arr = json_array();
    if (ns_rank_processes(c->m, e, &ps, &n) < 0) {
        c->failed = 1;
        return arr;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        nsj_set(c, o, "process", nsj_u64(ps[i].process));
        nsj_set(c, o, "pid", nsj_u64(c->m->processes[ps[i].process].pid));
        nsj_set(c, o, "samples", nsj_u64(ps[i].count));
        nsj_set(c, o, "weight", nsj_u64(ps[i].weight));
        nsj_set(c, o, "pct", nsj_pct(ps[i].weight, c->m->events[e].weight));
        nsj_append(c, arr, o);
    }
    free(ps);
    return arr;
}

static json_t *event_json(struct jctx *c, uint32_t e)
{
    const struct ns_event *ev = &c->m->events[e];
    json_t *o = json_object();
    nsj_set(c, o, "name", nsj_str(c, ev->name));
    nsj_set(c, o, "unit", nsj_str(c, ev->unit));
    nsj_set(c, o, "period", nsj_u64(ev->period));
    nsj_set(c, o, "aggregate", json_boolean(ns_event_is_aggregate(ev)));
    nsj_set(c, o, "snapshot", json_boolean((ev->flags & NSP_EVENT_SNAPSHOT) != 0));
    nsj_set(c, o, "samples", nsj_u64(ev->count));
    nsj_set(c, o, "weight", nsj_u64(ev->weight));
    nsj_set(c, o, "stacks", stacks_json(c, ev));
    nsj_set(c, o, "samples_without_line", nsj_u64(ev->no_line_count));
    struct ns_func_stat *fs;
    size_t n;
    if (ns_rank_functions(c->m, e, &fs, &n) < 0) {
        c->failed = 1;
        return o;
    }
    nsj_set(c, o, "functions_by_self", functions_json(c, ev, fs, n, 0));
    nsj_set(c, o, "functions_by_total", functions_json(c, ev, fs, n, 1));
    free(fs);
    nsj_set(c, o, "lines", lines_json(c, e));
    nsj_set(c, o, "threads", threads_json(c, e));
    nsj_set(c, o, "processes", processes_json(c, e));
    return o;
}

json_t *ns_report_json(const struct ns_model *m, const struct ns_render_options *o)
{
    struct jctx c = {.m = m, .o = o};
    json_t *root = json_object(), *procs = json_array(), *events = json_array();
    nsj_set(&c, root, "schema", json_string("nsprof-report/1"));
    nsj_set(&c, root, "top", nsj_u64(o->top));
    nsj_set(&c, root, "inline_expanded", json_boolean(!m->no_inline));
    for (uint32_t i = 0; i < m->nprocesses; i++)
        nsj_append(&c, procs, process_json(&c, i));
    nsj_set(&c, root, "processes", procs);
    nsj_set(&c, root, "filters", filters_json(&c));
    nsj_set(&c, root, "sampling", sampling_json(&c));
    for (uint32_t e = 0; e < m->nevents; e++)
        nsj_append(&c, events, event_json(&c, e));
    nsj_set(&c, root, "events", events);
    nsj_set(&c, root, "memory", nsj_memory(&c));
    nsj_set(&c, root, "io", nsj_io(&c));
    nsj_set(&c, root, "locks", nsj_locks(&c));
    nsj_set(&c, root, "database", nsj_database(&c));
    struct ns_findings findings;
    if (ns_recommend(m, &findings) < 0)
        c.failed = 1;
    else
        nsj_set(&c, root, "recommendations", ns_findings_json(m, &findings));
    ns_findings_free(&findings);
    if (c.failed) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int ns_render_json(FILE *out, const struct ns_model *m, const struct ns_render_options *o)
{
    json_t *doc = ns_report_json(m, o);
    if (!doc)
        return -1;
    int rc = json_dumpf(doc, out, JSON_INDENT(2)) < 0 ? -1 : 0;
    if (!rc && fputc('\n', out) == EOF)
        rc = -1;
    if (fflush(out) != 0)
        rc = -1;
    json_decref(doc);
    return rc;
}
