/*
 * model_sites — what format 1.1 adds to the model: call sites of interposed calls,
 * resources, histograms and series (model.h).
 *
 * A call site answers "which line of the program made this call". The stack of an
 * interposed call ends in a named frame (malloc, fwrite, pthread_mutex_lock); above it
 * there are often frames the user did not write and cannot change: the C library
 * (fprintf calling write), the C++ runtime (operator new, std::basic_filebuf), templates of
 * the standard library inlined into the program (std::vector<T>::_M_realloc_insert,
 * std::mutex::lock) and, for allocations, the usual allocation wrappers (strdup, asprintf,
 * xmalloc, g_malloc). The site is the first frame from the leaf that is none of these, at
 * the line of its call. A stack made only of such frames falls back to the first frame
 * above the named ones, so every entry has a site. Sites are interned: (function, file,
 * line, callee) is one site, whatever the stacks leading to it.
 *
 * Histograms are summed per (event, site, resource): views show distributions per site or
 * per resource, and a HISTOGRAM of one (thread, stack) is never a row of its own.
 */
#include "model_internal.h"

#include <stdlib.h>
#include <string.h>

enum ns_event_family ns_model_event_family(const char *name)
{
    static const char *const alloc[] = {"alloc_bytes", "alloc_count", "leak_bytes", "peak_bytes"};
    for (size_t i = 0; i < sizeof(alloc) / sizeof(alloc[0]); i++)
        if (strcmp(name, alloc[i]) == 0)
            return NS_FAMILY_ALLOC;
    if (strncmp(name, "io_", 3) == 0 || strncmp(name, "stdio_", 6) == 0)
        return NS_FAMILY_IO;
    if (strcmp(name, "lock_wait") == 0 || strcmp(name, "cond_wait") == 0 ||
        strcmp(name, "lock_calls") == 0 || strcmp(name, "lock_contended") == 0)
        return NS_FAMILY_LOCK;
    if (strncmp(name, "db_", 3) == 0)
        return NS_FAMILY_DB;
    return NS_FAMILY_NONE;
}

int ns_event_is_aggregate(const struct ns_event *ev)
{
    return (ev->flags & NSP_EVENT_AGGREGATE) != 0;
}

int ns_event_has_sites(const struct ns_event *ev)
{
    return ns_event_is_aggregate(ev) || ns_model_event_family(ev->name) != NS_FAMILY_NONE;
}

const char *ns_resource_kind_name(uint32_t kind)
{
    static const char *const names[] = {"?",     "file",    "socket",   "pipe", "lock",
                                        "other", "unknown", "database", "query"};
    return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "?";
}

/* ---- call sites ---- */

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int any_prefix(const char *s, const char *const *prefixes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (has_prefix(s, prefixes[i]))
            return 1;
    return 0;
}

/* The C and C++ runtime: its frames are never the place a user can change. */
static int is_runtime(const struct ns_func *f)
{
    static const char *const modules[] = {"libc.so", "libc-", "libstdc++.so", "libpthread.so",
                                          "libpthread-"};
    static const char *const names[] = {"std::", "__gnu_cxx::", "__cxxabiv1::", "__gthread",
                                        "__gthrw_"};
    return any_prefix(f->module, modules, sizeof(modules) / sizeof(modules[0])) ||
           any_prefix(f->name, names, sizeof(names) / sizeof(names[0]));
}

/* Functions whose only job is to allocate for their caller. */
static int is_alloc_wrapper(const struct ns_func *f)
{
    static const char *const exact[] = {
        "strdup",        "strndup",        "__strdup",    "__strndup", "asprintf",
        "vasprintf",     "__asprintf",     "__vasprintf", "xmalloc",   "xcalloc",
        "xrealloc",      "xstrdup",        "g_malloc",    "g_malloc0", "g_realloc",
        "g_try_malloc",  "g_try_realloc",  "g_strdup",    "g_strndup", "g_strdup_printf",
        "g_slice_alloc", "g_slice_alloc0",
    };
    if (has_prefix(f->name, "operator new"))
        return 1;
    for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
        if (strcmp(f->name, exact[i]) == 0)
            return 1;
    return 0;
}

static int skipped(const struct ns_func *f, enum ns_event_family fam)
{
    return is_runtime(f) || (fam == NS_FAMILY_ALLOC && is_alloc_wrapper(f));
}

static int site_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_site *a = &((const struct ns_model *)ctx)->sites[value];
    const struct ns_site *k = key;
    return a->func == k->func && a->line == k->line && a->file == k->file && a->callee == k->callee;
}

static int intern_site(struct ns_build *b, const struct ns_site *k, uint32_t *out)
{
    struct ns_model *m = b->m;
    uint64_t h = ns_mix64(((uint64_t)k->func << 32 | k->line) ^
                          ns_mix64((uintptr_t)k->file ^ ns_mix64(k->callee)));
    uint32_t idx = ns_itab_get(&b->site_tab, h, site_eq, m, k);
    if (idx == NS_NONE) {
        if (m->nsites >= NS_NONE - 1 ||
            ns_grow((void **)&m->sites, &b->sites_cap, m->nsites + 1, sizeof(*m->sites)))
            return -1;
        idx = (uint32_t)m->nsites;
        m->sites[idx] = *k;
        if (ns_itab_put(&b->site_tab, h, idx) < 0)
            return -1;
        m->nsites++;
    }
    *out = idx;
    return 0;
}

int nsb_site(struct ns_build *b, enum ns_event_family fam, uint32_t *site)
{
    const struct ns_func *funcs = b->m->funcs;
    size_t i = 0;
    uint32_t callee = NS_NONE;
    *site = NS_NONE;
    if (!b->npath)
        return 0;
    for (; i < b->npath && funcs[b->path[i].func].named; i++)
        if (callee == NS_NONE)
            callee = b->path[i].func;
    size_t above = i;
    while (i < b->npath && skipped(&funcs[b->path[i].func], fam))
        i++;
    if (i == b->npath)
        i = above;
    struct ns_site k;
    if (i < b->npath)
        k = (struct ns_site){b->path[i].func, b->path[i].line, b->path[i].file, callee};
    else /* nothing but named frames: the call is its own site */
        k = (struct ns_site){callee, 0, b->path[0].file, NS_NONE};
    return intern_site(b, &k, site);
}

/* ---- resources ---- */

static const char *profile_text(struct ns_build *b, uint32_t id)
{
    const struct ns_profile *p = b->prof;
    const struct ns_str *s = id < p->nstrings ? &p->strings[id] : NULL;
    if (!s || !s->s)
        return ns_pool_str(&b->m->pool, "");
    return ns_pool_intern(&b->m->pool, s->s, strnlen(s->s, s->len));
}

uint32_t nsb_resource(const struct ns_build *b, uint32_t id)
{
    return id == 0 || id >= b->prof->nresources ? NS_NONE : b->res_base + id - 1;
}

int nsb_add_resources(struct ns_build *b)
{
    const struct ns_profile *p = b->prof;
    struct ns_model *m = b->m;
    size_t n = p->nresources > 1 ? p->nresources - 1 : 0;
    b->res_base = (uint32_t)m->nresources;
    if (n >= NS_NONE - m->nresources || ns_grow((void **)&m->resources, &b->resources_cap,
                                                m->nresources + n + 1, sizeof(*m->resources)))
        return -1;
    for (size_t id = 1; id <= n; id++) {
        const struct ns_prof_resource *pr = &p->resources[id];
        struct ns_resource r = {
            .process = b->process, .kind = pr->kind, .site = NS_NONE, .database = NS_NONE};
        if (!(r.name = profile_text(b, pr->name)))
            return -1;
        if (pr->has_query) {
            r.database = nsb_resource(b, pr->database);
            r.verb = pr->verb;
            r.flags = pr->flags;
            if (pr->example && !(r.example = profile_text(b, pr->example)))
                return -1;
        }
        enum ns_event_family fam = pr->kind == NSP_RES_LOCK ? NS_FAMILY_LOCK : NS_FAMILY_IO;
        if (pr->stack && (nsb_resolve_stack(b, pr->stack) < 0 || nsb_site(b, fam, &r.site) < 0))
            return -1;
        m->resources[m->nresources++] = r;
    }
    return 0;
}

/* ---- histograms ---- */

struct hist_key {
    uint32_t event, site, resource;
};

static int hist_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_histogram *h = &((const struct ns_model *)ctx)->histograms[value];
    const struct hist_key *k = key;
    return h->event == k->event && h->site == k->site && h->resource == k->resource;
}

static int merge_histogram(struct ns_build *b, const struct hist_key *k, const uint64_t *buckets,
                           uint32_t n)
{
    struct ns_model *m = b->m;
    uint64_t h = ns_mix64(((uint64_t)k->event << 32 | k->site) ^ ns_mix64(k->resource));
    uint32_t idx = ns_itab_get(&b->hist_tab, h, hist_eq, m, k);
    if (idx == NS_NONE) {
        if (m->nhistograms >= NS_NONE - 1 || ns_grow((void **)&m->histograms, &b->histograms_cap,
                                                     m->nhistograms + 1, sizeof(*m->histograms)))
            return -1;
        idx = (uint32_t)m->nhistograms;
        m->histograms[idx] = (struct ns_histogram){k->event, k->site, k->resource, 0, NULL};
        if (ns_itab_put(&b->hist_tab, h, idx) < 0)
            return -1;
        m->nhistograms++;
    }
    struct ns_histogram *hist = &m->histograms[idx];
    if (n > hist->nbuckets) {
        uint64_t *nb = realloc(hist->buckets, n * sizeof(*nb));
        if (!nb)
            return -1;
        memset(nb + hist->nbuckets, 0, (n - hist->nbuckets) * sizeof(*nb));
        hist->buckets = nb;
        hist->nbuckets = n;
    }
    for (uint32_t i = 0; i < n; i++)
        hist->buckets[i] = nsb_sat_add(hist->buckets[i], buckets[i]);
    return 0;
}

/* 1 if the histogram passes --event, --thread and --function (b->path then holds its
 * stack), 0 if not, -1 if out of memory. */
static int histogram_kept(struct ns_build *b, const struct ns_prof_histogram *h, uint32_t *event)
{
    const struct ns_profile *p = b->prof;
    uint32_t pos = nsb_event_position(p, h->event);
    *event = pos == NS_NONE ? NS_NONE : b->event_map[pos];
    if (*event == NS_NONE)
        return 0;
    uint32_t thread = nsb_thread_index(b, h->tid);
    if (thread == NS_NONE)
        return -1;
    if (!b->m->threads[thread].matched)
        return 0;
    if (nsb_resolve_stack(b, h->stack) < 0)
        return -1;
    return nsb_path_matches(b);
}

int nsb_add_histograms(struct ns_build *b)
{
    const struct ns_profile *p = b->prof;
    for (size_t i = 0; i < p->nhistograms; i++) {
        const struct ns_prof_histogram *h = &p->histograms[i];
        /* The reader guarantees these; a profile assembled by hand might not. */
        if (h->nbuckets > NSP_MAX_HISTOGRAM_BUCKETS || h->first > p->nhist_buckets ||
            h->nbuckets > p->nhist_buckets - h->first)
            continue;
        struct hist_key k;
        int kept = histogram_kept(b, h, &k.event);
        if (kept <= 0) {
            if (kept < 0)
                return -1;
            continue;
        }
        const struct ns_event *ev = &b->m->events[k.event];
        k.site = NS_NONE;
        if (ns_event_has_sites(ev) && nsb_site(b, ns_model_event_family(ev->name), &k.site) < 0)
            return -1;
        k.resource = nsb_resource(b, h->resource);
        if (merge_histogram(b, &k, p->hist_buckets + h->first, h->nbuckets) < 0)
            return -1;
    }
    return 0;
}

/* ---- series ---- */

static int point_cmp(const void *pa, const void *pb)
{
    const struct ns_point *a = pa, *b = pb;
    if (a->time_ns != b->time_ns)
        return a->time_ns < b->time_ns ? -1 : 1;
    return (a->value > b->value) - (a->value < b->value);
}

static int add_one_series(struct ns_build *b, const struct ns_prof_series *ps, int64_t from,
                          int64_t to)
{
    const struct ns_profile *p = b->prof;
    struct ns_model *m = b->m;
    if (ps->first > p->npoints || ps->n > p->npoints - ps->first)
        return 0; /* the reader guarantees this; a profile assembled by hand might not */
    struct ns_series s = {.process = b->process};
    s.name = ns_pool_intern(&m->pool, ps->name.s ? ps->name.s : "",
                            ps->name.s ? strnlen(ps->name.s, ps->name.len) : 0);
    s.unit = ns_pool_intern(&m->pool, ps->unit.s ? ps->unit.s : "",
                            ps->unit.s ? strnlen(ps->unit.s, ps->unit.len) : 0);
    s.points = malloc((ps->n ? ps->n : 1) * sizeof(*s.points));
    if (!s.name || !s.unit || !s.points ||
        ns_grow((void **)&m->series, &b->series_cap, m->nseries + 1, sizeof(*m->series))) {
        free(s.points);
        return -1;
    }
    for (size_t i = 0; i < ps->n; i++) {
        const struct ns_prof_point *pt = &p->points[ps->first + i];
        if (pt->time_ns >= from && pt->time_ns < to)
            s.points[s.n++] = (struct ns_point){pt->time_ns, pt->value};
    }
    /* Sorted by (time, value): a total order, so equal inputs give equal outputs. */
    qsort(s.points, s.n, sizeof(*s.points), point_cmp);
    m->series[m->nseries++] = s;
    return 0;
}

int nsb_add_series(struct ns_build *b)
{
    const struct ns_model_options *o = b->opt;
    /* The series nsprof writes are about the heap: --event of another family drops them. */
    if (o->event && ns_model_event_family(o->event) != NS_FAMILY_ALLOC)
        return 0;
    int64_t from = o->has_from ? nsb_seconds_to_ns(o->from_s) : INT64_MIN;
    int64_t to = o->has_to ? nsb_seconds_to_ns(o->to_s) : INT64_MAX;
    for (size_t i = 0; i < b->prof->nseries; i++)
        if (add_one_series(b, &b->prof->series[i], from, to) < 0)
            return -1;
    return 0;
}

void nsb_free_extras(struct ns_model *m)
{
    for (size_t i = 0; i < m->nhistograms; i++)
        free(m->histograms[i].buckets);
    for (size_t i = 0; i < m->nseries; i++)
        free(m->series[i].points);
    free(m->sites);
    free(m->resources);
    free(m->histograms);
    free(m->series);
    for (size_t i = 0; i < m->ndb_stats; i++)
        free(m->db_stats[i].hist);
    free(m->db_stats);
    for (size_t i = 0; m->db_plans && i < m->nresources; i++)
        if (m->db_plans[i]) {
            free(m->db_plans[i]->text);
            free(m->db_plans[i]);
        }
    free(m->db_plans);
}
