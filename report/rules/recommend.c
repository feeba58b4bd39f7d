/*
 * recommend — the engine: the rule table, running it, ordering the findings, and their JSON
 * form (see recommend.h). The rules themselves live in rules_*.c, one family per file.
 */
#include "recommend_internal.h"

#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "rank_sites.h"
#include "textfmt.h"

/* Every rule, in no particular order: the findings are sorted afterwards. The database
 * rules (n_plus_one, reprepare, ...) will be added here as rules_db.c. */
static const ns_rule_fn rules[] = {
    ns_rule_hot_function,    ns_rule_alloc_churn, /* before alloc_cpu: the site form wins */
    ns_rule_alloc_cpu,       ns_rule_leak,
    ns_rule_small_io,        ns_rule_io_bound,
    ns_rule_lock_contention, ns_rule_waiting_for_cpu,
    ns_rule_off_cpu,         ns_rule_unnamed_code,
    ns_rule_database,
};

int ns_finding_add(struct ns_findings *out, const struct ns_finding *f, const char *evidence,
                   const char *suggestion)
{
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        struct ns_finding *v = realloc(out->v, cap * sizeof(*v));
        if (!v)
            return -1;
        out->v = v;
        out->cap = cap;
    }
    struct ns_finding *d = &out->v[out->n];
    *d = *f;
    d->evidence = strdup(evidence ? evidence : "");
    d->suggestion = strdup(suggestion ? suggestion : "");
    if (!d->evidence || !d->suggestion) {
        free(d->evidence);
        free(d->suggestion);
        return -1;
    }
    out->n++;
    return 0;
}

int ns_severity_of(double share, double low, double medium, double high)
{
    if (share >= high)
        return NS_SEV_HIGH;
    if (share >= medium)
        return NS_SEV_MEDIUM;
    return share >= low ? NS_SEV_LOW : -1;
}

uint64_t ns_run_thread_time(const struct ns_model *m)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < m->nprocesses; i++) {
        uint64_t d = ns_facts_duration_ns(&m->processes[i]);
        sum = sum + d < sum ? UINT64_MAX : sum + d;
    }
    /* Wall samples cover every thread, but a thread blocked in a long system call may be
     * sampled rarely: never count less than the processes' own durations. */
    uint32_t wall = ns_model_event_index(m, "wall");
    if (wall != NS_NONE && m->events[wall].weight > sum)
        return m->events[wall].weight;
    return sum;
}

static int cmp_finding(const void *pa, const void *pb)
{
    const struct ns_finding *a = pa, *b = pb;
    if (a->severity != b->severity)
        return a->severity > b->severity ? -1 : 1;
    if (a->share != b->share)
        return a->share > b->share ? -1 : 1;
    int c = strcmp(a->rule, b->rule);
    if (c)
        return c;
    if (a->func != b->func)
        return a->func < b->func ? -1 : 1;
    return (a->line > b->line) - (a->line < b->line);
}

int ns_recommend(const struct ns_model *m, struct ns_findings *out)
{
    memset(out, 0, sizeof(*out));
    for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i](m, out) < 0) {
            ns_findings_free(out);
            return -1;
        }
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), cmp_finding);
    return 0;
}

void ns_findings_free(struct ns_findings *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].evidence);
        free(f->v[i].suggestion);
    }
    free(f->v);
    memset(f, 0, sizeof(*f));
}

const char *ns_severity_name(enum ns_severity s)
{
    switch (s) {
    case NS_SEV_HIGH:
        return "high";
    case NS_SEV_MEDIUM:
        return "medium";
    case NS_SEV_LOW:
        return "low";
    default:
        return "info";
    }
}

uint64_t ns_site_weight(const struct ns_model *m, uint32_t event, uint32_t site)
{
    uint64_t w = 0;
    for (size_t i = 0; event != NS_NONE && i < m->nsamples; i++) {
        const struct ns_sample *s = &m->samples[i];
        if (s->site == site && m->nodes[s->node].event == event)
            w = w + s->weight < w ? UINT64_MAX : w + s->weight;
    }
    return w;
}

static const char *site_file(const struct ns_model *m, uint32_t site)
{
    const char *f = m->sites[site].file;
    if (!*f)
        f = m->funcs[m->sites[site].func].file;
    return *f ? f : NULL;
}

struct ns_finding ns_site_finding(const struct ns_model *m, const char *rule, int sev,
                                  uint32_t event, uint32_t site, double share)
{
    struct ns_finding f = {
        .rule = rule,
        .severity = (enum ns_severity)sev,
        .event = event,
        .node = ns_site_heaviest_node(m, event, site),
        .func = m->sites[site].func,
        .file = site_file(m, site),
        .line = m->sites[site].line,
        .share = share,
    };
    return f;
}

uint32_t ns_site_heaviest_node(const struct ns_model *m, uint32_t event, uint32_t site)
{
    uint32_t leaf = NS_NONE;
    uint64_t best = 0;
    for (size_t i = 0; i < m->nsamples; i++) {
        const struct ns_sample *s = &m->samples[i];
        if (s->site == site && m->nodes[s->node].event == event &&
            (leaf == NS_NONE || s->weight > best)) {
            leaf = s->node;
            best = s->weight;
        }
    }
    return leaf == NS_NONE ? NS_NONE : ns_site_node(m, leaf, site);
}

/* ---- JSON ---- */

/* Profile strings are arbitrary bytes; jansson accepts only valid UTF-8. */
static json_t *str_or_null(const char *s, int *failed)
{
    if (!s)
        return json_null();
    char *valid = ns_utf8_valid(s);
    json_t *j = valid ? json_string(valid) : NULL;
    free(valid);
    if (!j)
        *failed = 1;
    return j;
}

static void set(json_t *o, const char *key, json_t *v, int *failed)
{
    if (!v || json_object_set_new(o, key, v) < 0)
        *failed = 1;
}

static json_t *finding_json(const struct ns_model *m, const struct ns_finding *f, int *failed)
{
    json_t *o = json_object();
    if (!o) {
        *failed = 1;
        return NULL;
    }
    const struct ns_func *fn = f->func < m->nfuncs ? &m->funcs[f->func] : NULL;
    const char *file = f->file && *f->file ? f->file : NULL;
    set(o, "rule", json_string(f->rule), failed);
    set(o, "severity", json_string(ns_severity_name(f->severity)), failed);
    set(o, "function", str_or_null(fn ? fn->name : NULL, failed), failed);
    set(o, "module", str_or_null(fn ? fn->module : NULL, failed), failed);
    set(o, "file", str_or_null(file, failed), failed);
    set(o, "line", f->line ? json_integer(f->line) : json_null(), failed);
    set(o, "event", str_or_null(f->event < m->nevents ? m->events[f->event].name : NULL, failed),
        failed);
    set(o, "share", json_real(f->share), failed);
    set(o, "evidence", str_or_null(f->evidence, failed), failed);
    set(o, "suggestion", str_or_null(f->suggestion, failed), failed);
    return o;
}

json_t *ns_findings_json(const struct ns_model *m, const struct ns_findings *f)
{
    int failed = 0;
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < f->n && !failed; i++) {
        json_t *o = finding_json(m, &f->v[i], &failed);
        if (!o || json_array_append_new(arr, o) < 0)
            failed = 1;
    }
    if (failed) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}
