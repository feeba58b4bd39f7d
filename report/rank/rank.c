/*
 * rank — functions, lines, threads and processes ranked for one event (see rank.h).
 *
 * Self comes from the nodes' self fields. Total needs care under recursion: a node counts
 * toward its function's total only when no ancestor has the same function, so one depth-
 * first walk keeps, per function, how many times it is on the current path.
 */
#include "rank.h"

#include <stdlib.h>
#include <string.h>

double ns_pct(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

/* Visits every node below root; enter/leave bracket each node's subtree. */
static void walk_totals(const struct ns_model *m, uint32_t root, struct ns_func_stat *by_func,
                        uint32_t *on_path)
{
    uint32_t n = m->nodes[root].first_child;
    while (n != NS_NONE) {
        const struct ns_node *node = &m->nodes[n];
        struct ns_func_stat *fs = &by_func[node->func];
        if (on_path[node->func]++ == 0) {
            fs->total_count = sat_add(fs->total_count, node->total_count);
            fs->total_weight = sat_add(fs->total_weight, node->total_weight);
        }
        fs->self_count = sat_add(fs->self_count, node->self_count);
        fs->self_weight = sat_add(fs->self_weight, node->self_weight);
        if (node->first_child != NS_NONE) {
            n = node->first_child;
            continue;
        }
        /* Leave n and every ancestor whose children are all done. */
        for (;;) {
            on_path[m->nodes[n].func]--;
            if (m->nodes[n].next_sibling != NS_NONE) {
                n = m->nodes[n].next_sibling;
                break;
            }
            n = m->nodes[n].parent;
            if (n == root) {
                n = NS_NONE;
                break;
            }
        }
    }
}

static void fill_hot_lines(const struct ns_model *m, uint32_t event, struct ns_func_stat *by_func)
{
    uint64_t *best = calloc(m->nfuncs ? m->nfuncs : 1, sizeof(*best));
    if (!best)
        return; /* hot lines are a hint; without memory they are left out */
    for (size_t i = 0; i < m->nlines; i++) {
        const struct ns_line *l = &m->lines[i];
        if (l->event != event)
            continue;
        struct ns_func_stat *fs = &by_func[l->func];
        int better =
            l->weight > best[l->func] ||
            (l->weight == best[l->func] && (!fs->hot_file || strcmp(l->file, fs->hot_file) < 0 ||
                                            (l->file == fs->hot_file && l->line < fs->hot_line)));
        if (better) {
            best[l->func] = l->weight;
            fs->hot_line = l->line;
            fs->hot_file = l->file;
        }
    }
    free(best);
}

int ns_rank_functions(const struct ns_model *m, uint32_t event, struct ns_func_stat **out,
                      size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t nf = m->nfuncs ? m->nfuncs : 1;
    struct ns_func_stat *by_func = calloc(nf, sizeof(*by_func));
    uint32_t *on_path = calloc(nf, sizeof(*on_path));
    if (!by_func || !on_path) {
        free(by_func);
        free(on_path);
        return -1;
    }
    if (event < m->nevents)
        walk_totals(m, m->events[event].root, by_func, on_path);
    fill_hot_lines(m, event, by_func);
    free(on_path);
    size_t k = 0;
    for (size_t f = 0; f < m->nfuncs; f++) {
        if (m->funcs[f].kind != NS_FUNC_FRAME || by_func[f].total_count == 0)
            continue;
        by_func[k] = by_func[f];
        by_func[k++].func = (uint32_t)f;
    }
    ns_rank_sort_by_self(m, by_func, k);
    *out = by_func;
    *n = k;
    return 0;
}

static int cmp_u64_desc(uint64_t a, uint64_t b)
{
    return a > b ? -1 : a < b;
}

static int cmp_func_name(const struct ns_model *m, uint32_t a, uint32_t b)
{
    int c = strcmp(m->funcs[a].name, m->funcs[b].name);
    return c ? c : (a > b) - (a < b);
}

static int by_self(const void *pa, const void *pb, void *ctx)
{
    const struct ns_func_stat *a = pa, *b = pb;
    int c = cmp_u64_desc(a->self_weight, b->self_weight);
    if (!c)
        c = cmp_u64_desc(a->self_count, b->self_count);
    if (!c)
        c = cmp_u64_desc(a->total_weight, b->total_weight);
    return c ? c : cmp_func_name(ctx, a->func, b->func);
}

static int by_total(const void *pa, const void *pb, void *ctx)
{
    const struct ns_func_stat *a = pa, *b = pb;
    int c = cmp_u64_desc(a->total_weight, b->total_weight);
    if (!c)
        c = cmp_u64_desc(a->total_count, b->total_count);
    if (!c)
        c = cmp_u64_desc(a->self_weight, b->self_weight);
    return c ? c : cmp_func_name(ctx, a->func, b->func);
}

void ns_rank_sort_by_self(const struct ns_model *m, struct ns_func_stat *s, size_t n)
{
    if (n)
        qsort_r(s, n, sizeof(*s), by_self, (void *)m);
}

void ns_rank_sort_by_total(const struct ns_model *m, struct ns_func_stat *s, size_t n)
{
    if (n)
        qsort_r(s, n, sizeof(*s), by_total, (void *)m);
}

static int line_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct ns_model *m = ctx;
    const struct ns_line *a = *(const struct ns_line *const *)pa;
    const struct ns_line *b = *(const struct ns_line *const *)pb;
    int c = cmp_u64_desc(a->weight, b->weight);
    if (!c)
        c = cmp_u64_desc(a->count, b->count);
    if (!c)
        c = strcmp(a->file, b->file);
    if (!c)
        c = (a->line > b->line) - (a->line < b->line);
    return c ? c : cmp_func_name(m, a->func, b->func);
}

int ns_rank_lines(const struct ns_model *m, uint32_t event, const struct ns_line ***out, size_t *n)
{
    const struct ns_line **v = malloc((m->nlines ? m->nlines : 1) * sizeof(*v));
    if (!v)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < m->nlines; i++)
        if (m->lines[i].event == event)
            v[k++] = &m->lines[i];
    qsort_r(v, k, sizeof(*v), line_cmp, (void *)m);
    *out = v;
    *n = k;
    return 0;
}

static int group_cmp(const void *pa, const void *pb)
{
    const struct ns_thread_group *a = pa, *b = pb;
    int c = cmp_u64_desc(a->weight, b->weight);
    if (!c)
        c = cmp_u64_desc(a->count, b->count);
    if (!c)
        c = cmp_u64_desc(a->cpu_ns, b->cpu_ns);
    return c ? c : strcmp(a->name, b->name);
}

static int u32_cmp(const void *pa, const void *pb)
{
    uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;
    return (a > b) - (a < b);
}

static int add_to_group(struct ns_thread_group *g, const struct ns_thread *t,
                        const struct ns_thread_event *te)
{
    uint32_t *nt = realloc(g->tids, (g->ntids + 1) * sizeof(*nt));
    if (!nt)
        return -1;
    g->tids = nt;
    g->tids[g->ntids++] = t->tid;
    g->count = sat_add(g->count, te ? te->count : 0);
    g->weight = sat_add(g->weight, te ? te->weight : 0);
    if (t->has_stats) {
        g->has_stats = 1;
        g->cpu_ns = sat_add(g->cpu_ns, t->cpu_ns);
        g->stat_samples = sat_add(g->stat_samples, t->stat_samples);
    }
    if (t->has_times) {
        g->has_times = 1;
        g->blocked_ns = sat_add(g->blocked_ns, t->blocked_ns);
        g->runnable_ns = sat_add(g->runnable_ns, t->runnable_ns);
        g->off_unknown_ns = sat_add(g->off_unknown_ns, t->off_unknown_ns);
    }
    return 0;
}

int ns_rank_thread_groups(const struct ns_model *m, uint32_t event, struct ns_thread_group **out,
                          size_t *n)
{
    struct ns_thread_group *g = NULL;
    size_t ng = 0;
    for (size_t i = 0; i < m->nthreads; i++) {
        const struct ns_thread *t = &m->threads[i];
        const struct ns_thread_event *te =
            event < m->nevents ? &m->thread_events[i * m->nevents + event] : NULL;
        if (!t->matched || ((!te || te->count == 0) && t->cpu_ns == 0))
            continue;
        /* Names are interned, so one pointer comparison finds the group. Thread counts
         * are small (a linear search per thread is cheaper than a table). */
        size_t j = 0;
        while (j < ng && g[j].name != t->name)
            j++;
        if (j == ng) {
            struct ns_thread_group *ngp = realloc(g, (ng + 1) * sizeof(*g));
            if (!ngp)
                goto fail;
            g = ngp;
            memset(&g[ng++], 0, sizeof(*g));
            g[j].name = t->name;
        }
        if (add_to_group(&g[j], t, te) < 0)
            goto fail;
    }
    for (size_t j = 0; j < ng; j++)
        qsort(g[j].tids, g[j].ntids, sizeof(*g[j].tids), u32_cmp);
    if (ng)
        qsort(g, ng, sizeof(*g), group_cmp);
    *out = g;
    *n = ng;
    return 0;
fail:
    ns_rank_thread_groups_free(g, ng);
    return -1;
}

void ns_rank_thread_groups_free(struct ns_thread_group *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(g[i].tids);
    free(g);
}

static int process_cmp(const void *pa, const void *pb)
{
    const struct ns_process_stat *a = pa, *b = pb;
    int c = cmp_u64_desc(a->weight, b->weight);
    if (!c)
        c = cmp_u64_desc(a->count, b->count);
    return c ? c : (a->process > b->process) - (a->process < b->process);
}

int ns_rank_processes(const struct ns_model *m, uint32_t event, struct ns_process_stat **out,
                      size_t *n)
{
    struct ns_process_stat *v = calloc(m->nprocesses ? m->nprocesses : 1, sizeof(*v));
    if (!v)
        return -1;
    for (size_t i = 0; i < m->nprocesses; i++)
        v[i].process = (uint32_t)i;
    if (event < m->nevents) {
        for (uint32_t c = m->nodes[m->events[event].root].first_child; c != NS_NONE;
             c = m->nodes[c].next_sibling) {
            uint32_t p = m->funcs[m->nodes[c].func].process;
            v[p].count = m->nodes[c].total_count;
            v[p].weight = m->nodes[c].total_weight;
        }
    }
    qsort(v, m->nprocesses, sizeof(*v), process_cmp);
    *out = v;
    *n = m->nprocesses;
    return 0;
}
