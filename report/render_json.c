/*
 * render_json — the JSON form of `nsprof report` (schema "nsprof-report/1", every field
 * documented in docs/JSON.md). Built with jansson, which escapes every string; strings from
 * a profile are first made valid UTF-8 (invalid bytes become U+FFFD) because jansson
 * refuses anything else.
 *
 * Integers above 2^63-1 (only a hostile file has them) are clamped to 2^63-1: jansson's
 * integers are signed 64-bit.
 *
 * Allocation failures anywhere mark the build failed; the whole document is then dropped
 * rather than emitted with holes.
 */
#include "facts.h"
#include "rank.h"
#include "render.h"
#include "textfmt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct jctx {
    const struct ns_model *m;
    const struct ns_render_options *o;
    int failed;
};

static json_t *jstr(struct jctx *c, const char *s)
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

static json_t *ju64(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

/* Both take ownership of value, as jansson's *_new functions do, even on failure. */
static void set(struct jctx *c, json_t *obj, const char *key, json_t *value)
{
    if (!obj) {
        json_decref(value);
        c->failed = 1;
    } else if (!value || json_object_set_new(obj, key, value) < 0)
        c->failed = 1;
}

static void append(struct jctx *c, json_t *arr, json_t *value)
{
    if (!arr) {
        json_decref(value);
        c->failed = 1;
    } else if (!value || json_array_append_new(arr, value) < 0)
        c->failed = 1;
}

static json_t *jpct(uint64_t part, uint64_t whole)
{
    return json_real(ns_pct(part, whole));
}

static json_t *rate_json(struct jctx *c, struct ns_rate r)
{
    if (!r.valid)
        return json_null();
    json_t *o = json_object();
    set(c, o, "samples", ju64(r.samples));
    set(c, o, "cpu_ns", ju64(r.cpu_ns));
    set(c, o, "hz", json_real(r.hz));
    return o;
}

static json_t *process_end_json(struct jctx *c, const struct ns_process *p)
{
    if (!p->has_end)
        return json_null();
    json_t *o = json_object();
    set(c, o, "reason", jstr(c, ns_end_reason_name(p->end_reason)));
    set(c, o, "status", ju64(p->end_status));
    set(c, o, "time_ns", ju64(p->end_mono_ns));
    return o;
}

static json_t *process_facts_json(struct jctx *c, const struct ns_process *p)
{
    json_t *settings = json_object(), *counters = json_object(), *notes = json_array();
    for (size_t i = 0; i < p->nsettings; i++) {
        char *key = ns_utf8_valid(p->settings[i].key);
        set(c, settings, key ? key : "", jstr(c, p->settings[i].value));
        c->failed |= !key;
        free(key);
    }
    for (size_t i = 0; i < p->ncounters; i++) {
        char *key = ns_utf8_valid(p->counters[i].name);
        set(c, counters, key ? key : "", ju64(p->counters[i].value));
        c->failed |= !key;
        free(key);
    }
    for (size_t i = 0; i < p->nnotes; i++) {
        json_t *n = json_object();
        set(c, n, "level", jstr(c, p->notes[i].level == NSP_NOTE_WARNING ? "warning" : "info"));
        set(c, n, "code", jstr(c, p->notes[i].code));
        set(c, n, "text", jstr(c, p->notes[i].text));
        append(c, notes, n);
    }
    json_t *o = json_object();
    set(c, o, "settings", settings);
    set(c, o, "counters", counters);
    set(c, o, "notes", notes);
    return o;
}

static json_t *process_json(struct jctx *c, uint32_t idx)
{
    const struct ns_process *p = &c->m->processes[idx];
    json_t *o = json_object(), *argv = json_array();
    for (size_t i = 0; i < p->argc; i++)
        append(c, argv, jstr(c, p->argv[i]));
    set(c, o, "index", ju64(idx));
    set(c, o, "file", jstr(c, p->path));
    set(c, o, "file_bytes", ju64(p->file_bytes));
    set(c, o, "pid", ju64(p->pid));
    set(c, o, "ppid", ju64(p->ppid));
    set(c, o, "exec_index", ju64(p->exec_index));
    set(c, o, "exe", jstr(c, p->exe));
    set(c, o, "name", jstr(c, p->name));
    set(c, o, "argv", argv);
    set(c, o, "session", jstr(c, p->session));
    set(c, o, "hostname", jstr(c, p->hostname));
    set(c, o, "kernel", jstr(c, p->kernel));
    set(c, o, "producer", jstr(c, p->producer));
    set(c, o, "start_realtime_ns", ju64(p->start_realtime_ns));
    set(c, o, "duration_ns", ju64(ns_facts_duration_ns(p)));
    set(c, o, "end", process_end_json(c, p));
    set(c, o, "complete", json_boolean(ns_facts_complete(p)));
    set(c, o, "truncated_at", p->truncated ? ju64(p->truncated_at) : json_null());
    char sentence[512];
    ns_facts_end_sentence(p, sentence, sizeof(sentence));
    set(c, o, "end_description", jstr(c, sentence));
    set(c, o, "rate", p->has_cpu_event ? rate_json(c, ns_facts_rate(c->m, idx)) : json_null());
    json_t *facts = process_facts_json(c, p);
    json_object_update(o, facts);
    json_decref(facts);
    return o;
}

static json_t *opt_str(struct jctx *c, const char *s)
{
    return s ? jstr(c, s) : json_null();
}

static json_t *filters_json(struct jctx *c)
{
    const struct ns_filter_stats *f = &c->m->filter;
    json_t *o = json_object(), *kept = json_object();
    set(c, o, "pid", f->has_pid ? ju64(f->pid) : json_null());
    set(c, o, "event", opt_str(c, f->event));
    set(c, o, "thread", opt_str(c, f->thread));
    set(c, o, "function", opt_str(c, f->function));
    set(c, o, "function_regex", json_boolean(f->function_regex));
    set(c, o, "from_s", f->has_from ? json_real(f->from_s) : json_null());
    set(c, o, "to_s", f->has_to ? json_real(f->to_s) : json_null());
    set(c, kept, "in_files", ju64(f->in_files));
    set(c, kept, "after_pid", ju64(f->after_pid));
    set(c, kept, "after_event", ju64(f->after_event));
    set(c, kept, "after_thread", ju64(f->after_thread));
    set(c, kept, "after_time", ju64(f->after_time));
    set(c, kept, "after_function", ju64(f->after_function));
    set(c, o, "samples", kept);
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
        json_t *o = json_object(), *procs = json_array();
        const struct ns_process *first = &c->m->processes[g[i].processes[0]];
        set(c, o, "mechanism", opt_str(c, g[i].value));
        set(c, o, "description", opt_str(c, ns_mechanism_description(g[i].value)));
        set(c, o, "reason", opt_str(c, ns_model_setting(first, "mechanism_reason")));
        for (size_t j = 0; j < g[i].n; j++)
            append(c, procs, ju64(g[i].processes[j]));
        set(c, o, "processes", procs);
        append(c, arr, o);
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
    for (size_t i = 0; i < ng; i++) {
        double hz = g[i].value ? strtod(g[i].value, NULL) : 0;
        if (isfinite(hz) && hz > 0)
            append(c, arr, json_real(hz));
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
        set(c, counters, key ? key : "", ju64(d[i].value));
        c->failed |= !key;
        free(key);
    }
    free(d);
    set(c, o, "total", ju64(total));
    set(c, o, "share", jpct(total, c->m->filter.after_pid + total));
    set(c, o, "counters", counters);
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
        set(c, o, "module", jstr(c, mod->base));
        set(c, o, "path", jstr(c, mod->path));
        set(c, o, "build_id", jstr(c, mod->build_id));
        set(c, o, "status", jstr(c, ns_sym_status_name(mod->status)));
        set(c, o, "description", jstr(c, ns_sym_status_sentence(mod->status)));
        set(c, o, "hint", opt_str(c, ns_sym_status_hint(mod->status)));
        set(c, o, "detail", jstr(c, mod->detail));
        set(c, o, "leaf_samples", ju64(mod->leaf_samples));
        append(c, arr, o);
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
    set(c, o, "mechanisms", mechanisms_json(c));
    set(c, o, "requested_hz", requested_json(c));
    set(c, o, "achieved", rate_json(c, ns_facts_rate(c->m, NS_NONE)));
    set(c, o, "drops", drops_json(c));
    set(c, o, "kernel_excluded", jstr(c, all ? "all" : some ? "some" : "none"));
    double lost = ns_facts_unsampled_kernel_share(c->m);
    set(c, o, "kernel_unsampled_pct", lost >= 0 ? json_real(lost) : json_null());
    set(c, o, "complete", json_boolean(complete));
    set(c, o, "symbol_problems", symbol_problems_json(c));
    return o;
}

static json_t *stacks_json(struct jctx *c, const struct ns_event *ev)
{
    struct ns_stack_quality q;
    ns_facts_stack_quality(ev, &q);
    json_t *o = json_object(), *by_end = json_object();
    set(c, o, "root", ju64(q.root));
    set(c, o, "truncated", ju64(q.truncated));
    set(c, o, "unknown_frames", ju64(q.unknown));
    set(c, o, "no_stack", ju64(q.no_stack));
    for (unsigned e = 0; e < NS_END_BUCKETS; e++)
        set(c, by_end, ns_stack_end_name(e), ju64(ev->end_count[e]));
    set(c, o, "by_end", by_end);
    return o;
}

static size_t shown(const struct jctx *c, size_t n)
{
    return c->o->top && c->o->top < n ? c->o->top : n;
}

static void func_fields(struct jctx *c, json_t *o, uint32_t func)
{
    const struct ns_func *f = &c->m->funcs[func];
    set(c, o, "name", jstr(c, f->name));
    set(c, o, "module", jstr(c, f->module));
    set(c, o, "file", jstr(c, f->file));
    set(c, o, "inlined", json_boolean(f->inlined));
    set(c, o, "symbolized", json_boolean(f->symbolized));
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
    for (size_t i = 0; i < shown(c, avail); i++) {
        json_t *o = json_object();
        func_fields(c, o, fs[i].func);
        set(c, o, "hot_file", fs[i].hot_line ? jstr(c, fs[i].hot_file) : json_null());
        set(c, o, "hot_line", fs[i].hot_line ? ju64(fs[i].hot_line) : json_null());
        set(c, o, "self_samples", ju64(fs[i].self_count));
        set(c, o, "self_weight", ju64(fs[i].self_weight));
        set(c, o, "self_pct", jpct(fs[i].self_weight, ev->weight));
        set(c, o, "total_samples", ju64(fs[i].total_count));
        set(c, o, "total_weight", ju64(fs[i].total_weight));
        set(c, o, "total_pct", jpct(fs[i].total_weight, ev->weight));
        append(c, arr, o);
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
    for (size_t i = 0; i < shown(c, n); i++) {
        json_t *o = json_object();
        const struct ns_func *f = &c->m->funcs[lines[i]->func];
        set(c, o, "file", jstr(c, lines[i]->file));
        set(c, o, "line", ju64(lines[i]->line));
        set(c, o, "function", jstr(c, f->name));
        set(c, o, "module", jstr(c, f->module));
        set(c, o, "inlined", json_boolean(f->inlined));
        set(c, o, "samples", ju64(lines[i]->count));
        set(c, o, "weight", ju64(lines[i]->weight));
        set(c, o, "pct", jpct(lines[i]->weight, ev->weight));
        append(c, arr, o);
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
    for (size_t i = 0; i < shown(c, n); i++) {
        json_t *o = json_object(), *tids = json_array();
        for (size_t t = 0; t < g[i].ntids; t++)
            append(c, tids, ju64(g[i].tids[t]));
        set(c, o, "name", jstr(c, g[i].name));
        set(c, o, "tids", tids);
        set(c, o, "samples", ju64(g[i].count));
        set(c, o, "weight", ju64(g[i].weight));
        set(c, o, "pct", jpct(g[i].weight, ev->weight));
        set(c, o, "cpu_ns", g[i].has_stats ? ju64(g[i].cpu_ns) : json_null());
        set(c, o, "stat_samples", g[i].has_stats ? ju64(g[i].stat_samples) : json_null());
        struct ns_rate r = ns_facts_rate_of(g[i].stat_samples, g[i].cpu_ns);
        set(c, o, "achieved_hz", cpu && g[i].has_stats && r.valid ? json_real(r.hz) : json_null());
        append(c, arr, o);
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
        set(c, o, "process", ju64(ps[i].process));
        set(c, o, "pid", ju64(c->m->processes[ps[i].process].pid));
        set(c, o, "samples", ju64(ps[i].count));
        set(c, o, "weight", ju64(ps[i].weight));
        set(c, o, "pct", jpct(ps[i].weight, c->m->events[e].weight));
        append(c, arr, o);
    }
    free(ps);
    return arr;
}

static json_t *event_json(struct jctx *c, uint32_t e)
{
    const struct ns_event *ev = &c->m->events[e];
    json_t *o = json_object();
    set(c, o, "name", jstr(c, ev->name));
    set(c, o, "unit", jstr(c, ev->unit));
    set(c, o, "period", ju64(ev->period));
    set(c, o, "samples", ju64(ev->count));
    set(c, o, "weight", ju64(ev->weight));
    set(c, o, "stacks", stacks_json(c, ev));
    set(c, o, "samples_without_line", ju64(ev->no_line_count));
    struct ns_func_stat *fs;
    size_t n;
    if (ns_rank_functions(c->m, e, &fs, &n) < 0) {
        c->failed = 1;
        return o;
    }
    set(c, o, "functions_by_self", functions_json(c, ev, fs, n, 0));
    set(c, o, "functions_by_total", functions_json(c, ev, fs, n, 1));
    free(fs);
    set(c, o, "lines", lines_json(c, e));
    set(c, o, "threads", threads_json(c, e));
    set(c, o, "processes", processes_json(c, e));
    return o;
}

json_t *ns_report_json(const struct ns_model *m, const struct ns_render_options *o)
{
    struct jctx c = {.m = m, .o = o};
    json_t *root = json_object(), *procs = json_array(), *events = json_array();
    set(&c, root, "schema", json_string("nsprof-report/1"));
    set(&c, root, "top", ju64(o->top));
    set(&c, root, "inline_expanded", json_boolean(!m->no_inline));
    for (uint32_t i = 0; i < m->nprocesses; i++)
        append(&c, procs, process_json(&c, i));
    set(&c, root, "processes", procs);
    set(&c, root, "filters", filters_json(&c));
    set(&c, root, "sampling", sampling_json(&c));
    for (uint32_t e = 0; e < m->nevents; e++)
        append(&c, events, event_json(&c, e));
    set(&c, root, "events", events);
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
