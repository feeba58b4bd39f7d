/*
 * diff_flame — see diff_flame.h. Per event, every run's tree is walked in pre-order and each
 * node mapped to the union node of (its parent's union node, its frame's identity); the
 * run's self weights and counts are kept per union node (and per union line). The union is
 * written in pre-order, children by the after side's weight, then the before side's.
 */
#include "diff_flame.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "facts.h"
#include "flame_jsonw.h"
#include "intern.h"

/* A frame of the union: one matching identity (diff.h). */
struct dframe {
    char *key;
    const char *name, *module, *file; /* as the after side names it (else the before side) */
    uint32_t kind;                    /* enum ns_flame_kind */
    uint32_t line;                    /* hottest line, after side first (FLAME_DATA.md) */
    uint64_t line_count;
    int line_after;
};

/* A run's self weight and count at one node (or line) of the union. */
struct entry {
    uint32_t id;
    uint64_t weight, count;
};

struct entries {
    struct entry *v;
    size_t n, cap;
    size_t *start; /* [nruns + 1]: each run's entries begin here */
};

/* A node of the union tree: its parent and its frame (the root: NS_NONE, NS_NONE). */
struct node_key {
    uint32_t parent, frame;
};

/* A line of the union: its frame, its file (a string id) and its number. */
struct line_key {
    uint32_t frame, file, line;
};

/* One event: the union tree (node 0 the root) and the union of its lines. */
struct utree {
    struct node_key *node;
    size_t n, cap;
    struct ns_itab tab;
    struct line_key *line;
    size_t nl, lcap;
    struct ns_itab ltab;
    struct entries nodes, lines;
    double *aself, *bself, *atotal, *btotal; /* normalized means per node */
    double *aline;                           /* normalized after mean per line */
    uint32_t *order, *newid;                 /* pre-order: order[k] = node, newid[node] = k */
};

struct builder {
    const struct ns_model **runs; /* before, then after */
    size_t nb, na, nruns;
    const struct ns_diff_options *o;
    struct ns_jw_strtab st;
    struct dframe *frames;
    size_t nframes, fcap;
    struct ns_itab ftab;
    uint32_t **func_frame; /* per run: per model function, its union frame */
    char ***keys;          /* ns_diff_func_keys of the runs */
    uint32_t *map;         /* scratch: per model node, its union node */
    size_t map_cap;
    struct ns_buf *out;
};

static int frame_eq(const void *ctx, uint32_t v, const void *key)
{
    return strcmp(((const struct builder *)ctx)->frames[v].key, key) == 0;
}

/* The union frame of function f of run r; NS_NONE when out of memory. */
static uint32_t frame_of(struct builder *b, size_t r, uint32_t f)
{
    const struct ns_model *m = b->runs[r];
    char *key = strdup(b->keys[r][f]);
    if (!key)
        return NS_NONE;
    uint64_t h = ns_hash_bytes(key, strlen(key));
    uint32_t id = ns_itab_get(&b->ftab, h, frame_eq, b, key);
    if (id == NS_NONE) {
        if (ns_grow((void **)&b->frames, &b->fcap, b->nframes + 1, sizeof(*b->frames)) < 0 ||
            ns_itab_put(&b->ftab, h, (uint32_t)b->nframes) < 0) {
            free(key);
            return NS_NONE;
        }
        id = (uint32_t)b->nframes++;
        b->frames[id] = (struct dframe){.key = key};
        key = NULL;
    }
    free(key);
    struct dframe *d = &b->frames[id];
    if (!d->name || r >= b->nb) { /* the after side names a frame when it has it */
        d->name = m->funcs[f].name;
        d->module = m->funcs[f].module;
        d->file = m->funcs[f].file;
        d->kind = (uint32_t)ns_flame_func_kind(m, f);
    }
    return id;
}

static int map_functions(struct builder *b)
{
    b->func_frame = calloc(b->nruns, sizeof(*b->func_frame));
    b->keys = ns_diff_func_keys(b->runs, b->nruns);
    if (!b->func_frame || !b->keys)
        return -1;
    /* After runs first, so that the frames are numbered (and named) by the after side. */
    for (size_t k = 0; k < b->nruns; k++) {
        size_t r = (b->nb + k) % b->nruns;
        const struct ns_model *m = b->runs[r];
        b->func_frame[r] = malloc((m->nfuncs ? m->nfuncs : 1) * sizeof(uint32_t));
        if (!b->func_frame[r])
            return -1;
        for (uint32_t f = 0; f < m->nfuncs; f++)
            if ((b->func_frame[r][f] = frame_of(b, r, f)) == NS_NONE)
                return -1;
    }
    return 0;
}

/* Each frame's hottest line: the after side's when it has one (ties: the lower line). */
static void hottest_lines(struct builder *b)
{
    for (size_t k = 0; k < b->nruns; k++) {
        size_t r = (b->nb + k) % b->nruns;
        const struct ns_model *m = b->runs[r];
        for (size_t i = 0; i < m->nlines; i++) {
            const struct ns_line *l = &m->lines[i];
            if (l->func >= m->nfuncs || !l->line)
                continue;
            struct dframe *d = &b->frames[b->func_frame[r][l->func]];
            if (d->line_after && r < b->nb)
                continue;
            if (l->count > d->line_count ||
                (l->count == d->line_count && (!d->line || l->line < d->line))) {
                d->line_count = l->count;
                d->line = l->line;
                d->line_after = r >= b->nb;
            }
        }
    }
}

static int node_eq(const void *ctx, uint32_t v, const void *key)
{
    const struct utree *t = ctx;
    const struct node_key *k = key;
    return t->node[v].parent == k->parent && t->node[v].frame == k->frame;
}

static uint32_t node_of(struct utree *t, uint32_t parent, uint32_t frame)
{
    struct node_key k = {parent, frame};
    uint64_t h = ns_hash_bytes(&k, sizeof(k));
    uint32_t id = ns_itab_get(&t->tab, h, node_eq, t, &k);
    if (id != NS_NONE)
        return id;
    if (ns_grow((void **)&t->node, &t->cap, t->n + 1, sizeof(*t->node)) < 0 ||
        ns_itab_put(&t->tab, h, (uint32_t)t->n) < 0)
        return NS_NONE;
    t->node[t->n] = k;
    return (uint32_t)t->n++;
}

static int line_eq(const void *ctx, uint32_t v, const void *key)
{
    const struct utree *t = ctx;
    const struct line_key *k = key;
    const struct line_key *l = &t->line[v];
    return l->frame == k->frame && l->file == k->file && l->line == k->line;
}

static uint32_t line_of(struct utree *t, const struct line_key *k)
{
    uint64_t h = ns_hash_bytes(k, sizeof(*k));
    uint32_t id = ns_itab_get(&t->ltab, h, line_eq, t, k);
    if (id != NS_NONE)
        return id;
    if (ns_grow((void **)&t->line, &t->lcap, t->nl + 1, sizeof(*t->line)) < 0 ||
        ns_itab_put(&t->ltab, h, (uint32_t)t->nl) < 0)
        return NS_NONE;
    t->line[t->nl] = *k;
    return (uint32_t)t->nl++;
}

static int add_entry(struct entries *e, uint32_t id, uint64_t weight, uint64_t count)
{
    if (ns_grow((void **)&e->v, &e->cap, e->n + 1, sizeof(*e->v)) < 0)
        return -1;
    e->v[e->n++] = (struct entry){id, weight, count};
    return 0;
}

/* Run r's tree of event e mapped into t, its self weights kept. */
static int read_tree(struct builder *b, size_t r, uint32_t e, struct utree *t)
{
    const struct ns_model *m = b->runs[r];
    if (ns_grow((void **)&b->map, &b->map_cap, m->nnodes ? m->nnodes : 1, sizeof(uint32_t)) < 0)
        return -1;
    const struct ns_node *nodes = m->nodes;
    uint32_t root = m->events[e].root;
    for (uint32_t n = root; n != NS_NONE; n = ns_model_next_preorder(m, root, n)) {
        uint32_t u = 0;
        if (n != root) {
            u = node_of(t, b->map[nodes[n].parent], b->func_frame[r][nodes[n].func]);
            if (u == NS_NONE)
                return -1;
        }
        b->map[n] = u;
        if ((nodes[n].self_count || nodes[n].self_weight) &&
            add_entry(&t->nodes, u, nodes[n].self_weight, nodes[n].self_count) < 0)
            return -1;
    }
    return 0;
}

static int read_lines(struct builder *b, size_t r, uint32_t e, struct utree *t)
{
    const struct ns_model *m = b->runs[r];
    for (size_t i = 0; i < m->nlines; i++) {
        const struct ns_line *l = &m->lines[i];
        if (l->event != e || l->func >= m->nfuncs)
            continue;
        struct line_key k = {b->func_frame[r][l->func], ns_jw_str_id(&b->st, l->file), l->line};
        uint32_t id = k.file == NS_NONE ? NS_NONE : line_of(t, &k);
        if (id == NS_NONE || add_entry(&t->lines, id, l->weight, l->count) < 0)
            return -1;
    }
    return 0;
}

/* What one unit of run r's weight of event e counts for under the normalisation. */
static double run_factor(const struct builder *b, size_t r, const char *event)
{
    const struct ns_model *m = b->runs[r];
    switch (b->o->normalize) {
    case NS_DIFF_PER_SECOND: {
        double s = ns_diff_run_seconds(m);
        return s > 0 ? 1.0 / s : 0.0;
    }
    case NS_DIFF_SHARE: {
        uint64_t w = m->events[ns_model_event_index(m, event)].weight;
        return w ? 100.0 / (double)w : 0.0;
    }
    case NS_DIFF_PER_RUN:
    default:
        return 1.0;
    }
}

/* Each side's normalized mean per node and per line. */
static int side_means(const struct builder *b, struct utree *t, const char *event)
{
    size_t n = t->n ? t->n : 1, nl = t->nl ? t->nl : 1;
    t->aself = calloc(n, sizeof(double));
    t->bself = calloc(n, sizeof(double));
    t->atotal = calloc(n, sizeof(double));
    t->btotal = calloc(n, sizeof(double));
    t->aline = calloc(nl, sizeof(double));
    if (!t->aself || !t->bself || !t->atotal || !t->btotal || !t->aline)
        return -1;
    for (size_t r = 0; r < b->nruns; r++) {
        int after = r >= b->nb;
        double f = run_factor(b, r, event) / (double)(after ? b->na : b->nb);
        double *self = after ? t->aself : t->bself;
        for (size_t i = t->nodes.start[r]; i < t->nodes.start[r + 1]; i++)
            self[t->nodes.v[i].id] += f * (double)t->nodes.v[i].weight;
        for (size_t i = t->lines.start[r]; after && i < t->lines.start[r + 1]; i++)
            t->aline[t->lines.v[i].id] += f * (double)t->lines.v[i].weight;
    }
    memcpy(t->atotal, t->aself, t->n * sizeof(double));
    memcpy(t->btotal, t->bself, t->n * sizeof(double));
    /* A node is made after its parent: children have the higher indices. */
    for (size_t u = t->n; u-- > 1;) {
        t->atotal[t->node[u].parent] += t->atotal[u];
        t->btotal[t->node[u].parent] += t->btotal[u];
    }
    return 0;
}

/* Children heaviest first on the after side, then the before side, then by frame. */
static int by_weight(const void *x, const void *y, void *ctx)
{
    const struct utree *t = ctx;
    uint32_t a = *(const uint32_t *)x, c = *(const uint32_t *)y;
    if (t->atotal[a] != t->atotal[c])
        return t->atotal[a] > t->atotal[c] ? -1 : 1;
    if (t->btotal[a] != t->btotal[c])
        return t->btotal[a] > t->btotal[c] ? -1 : 1;
    return t->node[a].frame < t->node[c].frame ? -1 : t->node[a].frame > t->node[c].frame;
}

static int pre_order(struct utree *t)
{
    size_t n = t->n;
    uint32_t *first = calloc(n + 1, sizeof(uint32_t)), *kids = malloc(n * sizeof(uint32_t)),
             *fill = malloc(n * sizeof(uint32_t)), *stack = malloc(n * sizeof(uint32_t));
    t->order = malloc(n * sizeof(uint32_t));
    t->newid = malloc(n * sizeof(uint32_t));
    int rc = -1;
    if (!first || !kids || !fill || !stack || !t->order || !t->newid)
        goto out;
    for (size_t u = 1; u < n; u++)
        first[t->node[u].parent + 1]++;
    for (size_t u = 0; u < n; u++)
        first[u + 1] += first[u];
    memcpy(fill, first, n * sizeof(uint32_t));
    for (size_t u = 1; u < n; u++)
        kids[fill[t->node[u].parent]++] = (uint32_t)u;
    for (size_t u = 0; u < n; u++)
        qsort_r(kids + first[u], first[u + 1] - first[u], sizeof(uint32_t), by_weight, t);
    size_t top = 0, k = 0;
    stack[top++] = 0;
    while (top) {
        uint32_t u = stack[--top];
        t->newid[u] = (uint32_t)k;
        t->order[k++] = u;
        for (uint32_t c = first[u + 1]; c-- > first[u];)
            stack[top++] = kids[c];
    }
    rc = 0;
out:
    free(first), free(kids), free(fill), free(stack);
    return rc;
}

static int by_id(const void *x, const void *y)
{
    const struct entry *a = x, *c = y;
    return a->id < c->id ? -1 : a->id > c->id;
}

/* `"node":[...],"weight":[...],"count":[...]` of one run's entries, ids renumbered by
 * newid (NULL: kept), sorted, merged and delta-coded. */
static void write_entries(struct ns_buf *o, const char *idkey, struct entry *v, size_t n,
                          const uint32_t *newid)
{
    for (size_t i = 0; i < n; i++)
        v[i].id = newid ? newid[v[i].id] : v[i].id;
    qsort(v, n, sizeof(*v), by_id);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && v[m - 1].id == v[i].id) {
            v[m - 1].weight += v[i].weight;
            v[m - 1].count += v[i].count;
        } else {
            v[m++] = v[i];
        }
    }
    ns_jw_key(o, idkey);
    ns_buf_put(o, "[", 1);
    for (size_t i = 0; i < m; i++) {
        ns_buf_puts(o, i ? "," : "");
        ns_jw_u64(o, i ? v[i].id - v[i - 1].id : v[i].id);
    }
    ns_buf_puts(o, "],\"weight\":[");
    for (size_t i = 0; i < m; i++) {
        ns_buf_puts(o, i ? "," : "");
        ns_jw_u64(o, v[i].weight);
    }
    ns_buf_puts(o, "],\"count\":[");
    for (size_t i = 0; i < m; i++) {
        ns_buf_puts(o, i ? "," : "");
        ns_jw_u64(o, v[i].count);
    }
    ns_buf_put(o, "]", 1);
}

static void write_nodes(struct builder *b, const struct utree *t)
{
    struct ns_buf *o = b->out;
    uint32_t *depth = malloc((t->n ? t->n : 1) * sizeof(uint32_t));
    if (!depth) {
        o->oom = 1;
        return;
    }
    for (size_t k = 0; k < t->n; k++) {
        uint32_t u = t->order[k];
        depth[k] = u ? depth[t->newid[t->node[u].parent]] + 1 : 0;
    }
    ns_buf_puts(o, "\"nodes\":{");
    ns_jw_column_u32(o, "depth", depth, t->n);
    ns_buf_puts(o, ",\"frame\":[");
    for (size_t k = 0; k < t->n; k++) {
        ns_buf_puts(o, k ? "," : "");
        uint32_t u = t->order[k];
        if (u)
            ns_jw_u64(o, t->node[u].frame);
        else
            ns_buf_puts(o, "-1");
    }
    ns_buf_puts(o, "],\"self\":[");
    for (size_t k = 0; k < t->n; k++) {
        ns_buf_puts(o, k ? "," : "");
        ns_jw_double(o, t->aself[t->order[k]]);
    }
    ns_buf_puts(o, "],\"total\":[");
    for (size_t k = 0; k < t->n; k++) {
        ns_buf_puts(o, k ? "," : "");
        ns_jw_double(o, t->atotal[t->order[k]]);
    }
    ns_buf_puts(o, "]}");
    free(depth);
}

static void write_lines(struct builder *b, const struct utree *t)
{
    struct ns_buf *o = b->out;
    static const char *const keys[] = {"frame", "file", "line"};
    ns_buf_puts(o, ",\"lines\":{");
    for (size_t c = 0; c < 3; c++) {
        ns_jw_key(o, keys[c]);
        ns_buf_put(o, "[", 1);
        for (size_t i = 0; i < t->nl; i++) {
            const struct line_key *l = &t->line[i];
            ns_buf_puts(o, i ? "," : "");
            ns_jw_u64(o, c == 0 ? l->frame : c == 1 ? l->file : l->line);
        }
        ns_buf_puts(o, "],");
    }
    ns_buf_puts(o, "\"self\":[");
    for (size_t i = 0; i < t->nl; i++) {
        ns_buf_puts(o, i ? "," : "");
        ns_jw_double(o, t->aline[i]);
    }
    ns_buf_puts(o, "]}");
}

/* `"diff":{...}` of one event: the before side's total and each run's entries. */
static void write_event_diff(struct builder *b, struct utree *t, const char *event)
{
    struct ns_buf *o = b->out;
    const struct ns_model *m0 = b->runs[0];
    enum ns_diff_kind kind = ns_diff_event_kind(m0, ns_model_event_index(m0, event));
    ns_buf_puts(o, ",\"diff\":{\"kind\":");
    ns_jw_str(o, ns_diff_kind_name(kind));
    ns_buf_puts(o, ",\"method\":");
    ns_jw_str(o, ns_diff_method_sentence(b->nb, b->na, kind));
    ns_buf_puts(o, ",\"before_total\":");
    ns_jw_double(o, t->btotal[0]);
    ns_buf_puts(o, ",\"runs\":[");
    for (size_t r = 0; r < b->nruns; r++) {
        const struct ns_model *m = b->runs[r];
        const struct ns_event *ev = &m->events[ns_model_event_index(m, event)];
        ns_buf_puts(o, r ? ",{\"factor\":" : "{\"factor\":");
        ns_jw_double(o, run_factor(b, r, event));
        ns_buf_puts(o, ",\"weight\":");
        ns_jw_u64(o, ev->weight);
        ns_buf_puts(o, ",\"count\":");
        ns_jw_u64(o, ev->count);
        ns_buf_puts(o, ",\"nodes\":{");
        size_t s = t->nodes.start[r];
        write_entries(o, "node", t->nodes.v + s, t->nodes.start[r + 1] - s, t->newid);
        ns_buf_puts(o, "},\"lines\":{");
        s = t->lines.start[r];
        write_entries(o, "line", t->lines.v + s, t->lines.start[r + 1] - s, NULL);
        ns_buf_puts(o, "}}");
    }
    ns_buf_puts(o, "]}");
}

static void utree_free(struct utree *t)
{
    free(t->node), free(t->line);
    ns_itab_free(&t->tab);
    ns_itab_free(&t->ltab);
    free(t->nodes.v), free(t->nodes.start), free(t->lines.v), free(t->lines.start);
    free(t->aself), free(t->bself), free(t->atotal), free(t->btotal), free(t->aline);
    free(t->order), free(t->newid);
}

static int build_event(struct builder *b, const char *event, struct utree *t)
{
    t->nodes.start = calloc(b->nruns + 1, sizeof(size_t));
    t->lines.start = calloc(b->nruns + 1, sizeof(size_t));
    if (!t->nodes.start || !t->lines.start || node_of(t, NS_NONE, NS_NONE) != 0)
        return -1;
    for (size_t r = 0; r < b->nruns; r++) {
        uint32_t e = ns_model_event_index(b->runs[r], event);
        t->nodes.start[r] = t->nodes.n;
        t->lines.start[r] = t->lines.n;
        if (read_tree(b, r, e, t) < 0 || read_lines(b, r, e, t) < 0)
            return -1;
    }
    t->nodes.start[b->nruns] = t->nodes.n;
    t->lines.start[b->nruns] = t->lines.n;
    return side_means(b, t, event) < 0 || pre_order(t) < 0 ? -1 : 0;
}

static int write_event(struct builder *b, const char *event)
{
    struct utree t = {0};
    struct ns_buf *o = b->out;
    if (build_event(b, event, &t) < 0) {
        utree_free(&t);
        return -1;
    }
    const struct ns_model *a0 = b->runs[b->nb];
    const struct ns_event *ev = &a0->events[ns_model_event_index(a0, event)];
    uint64_t samples = 0;
    for (size_t r = b->nb; r < b->nruns; r++)
        samples += b->runs[r]->events[ns_model_event_index(b->runs[r], event)].count;
    ns_buf_puts(o, "{\"name\":");
    ns_jw_str(o, event);
    ns_buf_puts(o, ",\"unit\":");
    ns_jw_str(o, b->o->normalize == NS_DIFF_SHARE ? "%" : ev->unit);
    ns_buf_puts(o, ",\"total\":");
    ns_jw_double(o, t.atotal[0]);
    ns_buf_puts(o, ",\"samples\":");
    ns_jw_u64(o, samples);
    ns_buf_puts(o, ns_event_is_aggregate(ev) ? ",\"aggregate\":true," : ",\"aggregate\":false,");
    write_nodes(b, &t);
    write_lines(b, &t);
    ns_buf_puts(o, ",\"timeline\":null");
    write_event_diff(b, &t, event);
    ns_buf_put(o, "}", 1);
    utree_free(&t);
    return 0;
}

/* The events every run holds, in the first after run's order. */
static int common_events(struct builder *b, const char ***out, size_t *n)
{
    const struct ns_model *a0 = b->runs[b->nb];
    *out = calloc(a0->nevents ? a0->nevents : 1, sizeof(char *));
    *n = 0;
    if (!*out)
        return -1;
    for (uint32_t e = 0; e < a0->nevents; e++) {
        size_t r = 0;
        while (r < b->nruns && ns_model_event_index(b->runs[r], a0->events[e].name) != NS_NONE)
            r++;
        if (r == b->nruns)
            (*out)[(*n)++] = a0->events[e].name;
    }
    return 0;
}

static const char *title_of(const struct ns_model *m)
{
    return m->nprocesses ? m->processes[0].name : "";
}

/* A run that was killed or truncated holds part of its run: said per process. */
static void write_notes(struct builder *b)
{
    struct ns_buf *o = b->out;
    ns_buf_puts(o, ",\"notes\":[");
    int first = 1;
    for (size_t r = 0; r < b->nruns; r++) {
        const struct ns_model *m = b->runs[r];
        for (size_t i = 0; i < m->nprocesses; i++) {
            const struct ns_process *p = &m->processes[i];
            if (ns_facts_complete(p))
                continue;
            char sentence[512], note[1024];
            ns_facts_end_sentence(p, sentence, sizeof(sentence));
            snprintf(note, sizeof(note), "%s run %zu, %s: %s", r < b->nb ? "before" : "after",
                     (r < b->nb ? r : r - b->nb) + 1, p->path ? p->path : "?", sentence);
            ns_buf_puts(o, first ? "" : ",");
            first = 0;
            ns_jw_str(o, note);
        }
    }
    ns_buf_put(o, "]", 1);
}

static void write_header(struct builder *b, const struct ns_flame_data_options *fo,
                         const char **events, size_t nevents)
{
    struct ns_buf *o = b->out;
    const struct ns_model *a0 = b->runs[b->nb];
    const char *initial = events[0];
    for (size_t i = 0; i < nevents; i++)
        if ((fo && fo->initial_event && strcmp(events[i], fo->initial_event) == 0) ||
            (!(fo && fo->initial_event) && strcmp(events[i], "cpu") == 0))
            initial = events[i];
    double seconds = 0.0;
    for (size_t r = b->nb; r < b->nruns; r++)
        seconds += ns_diff_run_seconds(b->runs[r]) / (double)b->na;
    ns_buf_puts(o, "{\"version\":1,\"title\":");
    ns_jw_str(o, title_of(a0));
    ns_buf_puts(o, ",\"command\":");
    ns_flame_write_command(o, a0);
    ns_buf_puts(o, ",\"producer\":");
    ns_jw_str(o, fo && fo->producer ? fo->producer : "nsprof");
    ns_buf_puts(o, ",\"initial_event\":");
    ns_jw_str(o, initial);
    ns_buf_puts(o, ",\"duration_ns\":");
    ns_jw_double(o, seconds * 1e9);
    write_notes(b);
    ns_buf_puts(o, ",\"series\":[],\"recommendations\":[],\"diff\":{\"normalize\":");
    ns_jw_str(o, ns_diff_normalize_name(b->o->normalize));
    ns_buf_puts(o, ",\"fdr\":");
    ns_jw_double(o, b->o->fdr);
    ns_buf_puts(o, ",\"run_noise\":");
    ns_jw_double(o, b->o->run_noise);
    ns_buf_puts(o, ",\"before_title\":");
    ns_jw_str(o, title_of(b->runs[0]));
    ns_buf_puts(o, ",\"before_command\":");
    ns_flame_write_command(o, b->runs[0]);
    ns_buf_puts(o, ",\"runs\":[");
    for (size_t r = 0; r < b->nruns; r++) {
        ns_buf_puts(o, r ? ",{\"side\":" : "{\"side\":");
        ns_jw_str(o, r < b->nb ? "before" : "after");
        ns_buf_puts(o, ",\"seconds\":");
        ns_jw_double(o, ns_diff_run_seconds(b->runs[r]));
        ns_buf_put(o, "}", 1);
    }
    ns_buf_puts(o, "]},");
}

static void write_frames(struct builder *b, const uint32_t *cols)
{
    struct ns_buf *o = b->out;
    size_t n = b->nframes, nf = n ? n : 1;
    ns_buf_puts(o, ",\"frames\":{");
    ns_jw_column_u32(o, "name", cols, n);
    ns_buf_put(o, ",", 1);
    ns_jw_column_u32(o, "module", cols + nf, n);
    ns_buf_put(o, ",", 1);
    ns_jw_column_u32(o, "file", cols + 2 * nf, n);
    ns_buf_put(o, ",", 1);
    ns_jw_column_u32(o, "line", cols + 3 * nf, n);
    ns_buf_put(o, ",", 1);
    ns_jw_column_u32(o, "kind", cols + 4 * nf, n);
    ns_buf_puts(o, "},");
}

/* The events go to a buffer of their own first: their lines intern file names, and the
 * strings table comes before them in the document. */
static int write_document(struct builder *b, const struct ns_flame_data_options *fo,
                          const char **events, size_t nevents)
{
    struct ns_buf body = {0}, *out = b->out;
    size_t nf = b->nframes ? b->nframes : 1;
    uint32_t *cols = malloc(5 * nf * sizeof(uint32_t));
    int rc = -1;
    if (!cols || ns_jw_str_id(&b->st, "") != 0)
        goto out;
    for (size_t f = 0; f < b->nframes; f++) {
        const struct dframe *d = &b->frames[f];
        cols[f] = ns_jw_str_id(&b->st, d->name);
        cols[nf + f] = ns_jw_str_id(&b->st, d->module);
        cols[2 * nf + f] = ns_jw_str_id(&b->st, d->file);
        cols[3 * nf + f] = d->line;
        cols[4 * nf + f] = d->kind;
        if (cols[f] == NS_NONE || cols[nf + f] == NS_NONE || cols[2 * nf + f] == NS_NONE)
            goto out;
    }
    b->out = &body;
    ns_buf_puts(&body, "\"events\":[");
    for (size_t i = 0; i < nevents; i++) {
        ns_buf_puts(&body, i ? "," : "");
        if (write_event(b, events[i]) < 0)
            goto out;
    }
    ns_buf_puts(&body, "]}");
    b->out = out;
    write_header(b, fo, events, nevents);
    ns_jw_strtab_write(out, &b->st);
    write_frames(b, cols);
    ns_buf_put(out, body.s, body.len);
    rc = out->oom || body.oom ? -1 : 0;
out:
    b->out = out;
    ns_buf_free(&body);
    free(cols);
    return rc;
}

int ns_diff_flame_json(const struct ns_model *const *before, size_t nb,
                       const struct ns_model *const *after, size_t na,
                       const struct ns_diff_options *o, const struct ns_flame_data_options *fo,
                       struct ns_buf *out, char *err, size_t errlen)
{
    if (!nb || !na) {
        snprintf(err, errlen, "a diff needs at least one run on each side");
        return -1;
    }
    struct ns_diff_options opt = *o;
    opt.fdr = opt.fdr > 0 ? opt.fdr : 0.05;
    opt.run_noise = opt.run_noise > 0 ? opt.run_noise : 0.05;
    struct builder b = {.nb = nb, .na = na, .nruns = nb + na, .o = &opt, .out = out};
    const char **events = NULL;
    size_t nevents = 0;
    int rc = -1;
    b.runs = malloc(b.nruns * sizeof(*b.runs));
    if (!b.runs)
        goto oom;
    memcpy(b.runs, before, nb * sizeof(*b.runs));
    memcpy(b.runs + nb, after, na * sizeof(*b.runs));
    if (map_functions(&b) < 0 || common_events(&b, &events, &nevents) < 0)
        goto oom;
    if (!nevents) {
        snprintf(err, errlen, "the runs have no event in common: nothing to compare");
        goto out;
    }
    hottest_lines(&b);
    if (write_document(&b, fo, events, nevents) < 0)
        goto oom;
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory while building the diff page's data");
out:
    for (size_t f = 0; f < b.nframes; f++)
        free(b.frames[f].key);
    free(b.frames);
    ns_itab_free(&b.ftab);
    for (size_t r = 0; b.func_frame && r < b.nruns; r++)
        free(b.func_frame[r]);
    free(b.func_frame);
    ns_diff_keys_free(b.keys, b.runs, b.nruns);
    free(b.map);
    ns_jw_strtab_free(&b.st);
    free(events);
    free(b.runs);
    return rc;
}
