/*
 * model_tree — the call trees of the model: node creation, insertion of one resolved stack
 * (with its summed samples) under its process, the per-line table, the --function test and
 * the final ordering of siblings.
 *
 * Children are found through one hash table keyed by (parent, func) rather than by walking
 * sibling lists: a hot node (main, a thread entry point) can have thousands of children.
 */
#include "model_internal.h"

#include <stdlib.h>
#include <string.h>

static uint32_t new_node(struct ns_build *b, uint32_t parent, uint32_t func, uint32_t event)
{
    struct ns_model *m = b->m;
    if (m->nnodes >= NS_NONE - 1 ||
        ns_grow((void **)&m->nodes, &b->nodes_cap, m->nnodes + 1, sizeof(*m->nodes)))
        return NS_NONE;
    uint32_t idx = (uint32_t)m->nnodes++;
    struct ns_node *n = &m->nodes[idx];
    memset(n, 0, sizeof(*n));
    n->parent = parent;
    n->func = func;
    n->event = event;
    n->first_child = n->next_sibling = NS_NONE;
    if (parent != NS_NONE) {
        struct ns_node *p = &m->nodes[parent];
        n->depth = p->depth + 1;
        n->next_sibling = p->first_child;
        p->first_child = idx;
    }
    return idx;
}

uint32_t nsb_new_root(struct ns_build *b, uint32_t event)
{
    return new_node(b, NS_NONE, NS_NONE, event);
}

struct child_key {
    uint32_t parent, func;
};

static int child_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_node *n = &((const struct ns_model *)ctx)->nodes[value];
    const struct child_key *k = key;
    return n->parent == k->parent && n->func == k->func;
}

uint32_t nsb_child(struct ns_build *b, uint32_t parent, uint32_t func)
{
    struct child_key k = {parent, func};
    uint64_t h = ns_mix64((uint64_t)parent << 32 | func);
    uint32_t idx = ns_itab_get(&b->child_tab, h, child_eq, b->m, &k);
    if (idx != NS_NONE)
        return idx;
    idx = new_node(b, parent, func, b->m->nodes[parent].event);
    if (idx == NS_NONE || ns_itab_put(&b->child_tab, h, idx) < 0)
        return NS_NONE;
    return idx;
}

struct line_key {
    uint32_t event, func, line;
    const char *file;
};

static int line_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_line *l = &((const struct ns_model *)ctx)->lines[value];
    const struct line_key *k = key;
    return l->event == k->event && l->func == k->func && l->line == k->line && l->file == k->file;
}

static int add_line(struct ns_build *b, const struct nsb_key *key, const struct nsb_frame *leaf)
{
    struct ns_model *m = b->m;
    struct line_key k = {key->event, leaf->func, leaf->line, leaf->file};
    uint64_t h = ns_mix64(((uint64_t)k.func << 32 | k.line) ^ ns_mix64(k.event) ^
                          ns_mix64((uintptr_t)k.file));
    uint32_t idx = ns_itab_get(&b->line_tab, h, line_eq, m, &k);
    if (idx == NS_NONE) {
        if (ns_grow((void **)&m->lines, &b->lines_cap, m->nlines + 1, sizeof(*m->lines)))
            return -1;
        idx = (uint32_t)m->nlines;
        m->lines[idx] =
            (struct ns_line){.file = k.file, .event = k.event, .func = k.func, .line = k.line};
        if (ns_itab_put(&b->line_tab, h, idx) < 0)
            return -1;
        m->nlines++;
    }
    m->lines[idx].count = nsb_sat_add(m->lines[idx].count, key->count);
    m->lines[idx].weight = nsb_sat_add(m->lines[idx].weight, key->weight);
    return 0;
}

static void add_total(struct ns_node *n, const struct nsb_key *key)
{
    n->total_count = nsb_sat_add(n->total_count, key->count);
    n->total_weight = nsb_sat_add(n->total_weight, key->weight);
}

/* A frame a user sees as module+0xADDR: not named by symbols, and not a pseudo frame. */
static int unnamed_frame(const struct ns_model *m, const struct ns_func *f)
{
    if (f->kind != NS_FUNC_FRAME || f->symbolized || f->named)
        return 0;
    return f->module_index == NS_NONE || !(m->modules[f->module_index].flags & NSP_MAP_PSEUDO);
}

/* Counts the stack's unnamed frames: per event (leaf, any) and per module (each module once
 * per stack, however many unnamed frames of it the stack has). */
static int account_unnamed(struct ns_build *b, const struct nsb_key *key)
{
    struct ns_model *m = b->m;
    struct ns_event *ev = &m->events[key->event];
    size_t had = b->module_mark_cap;
    if (ns_grow((void **)&b->module_mark, &b->module_mark_cap, m->nmodules ? m->nmodules : 1,
                sizeof(*b->module_mark)))
        return -1;
    memset(b->module_mark + had, 0, (b->module_mark_cap - had) * sizeof(*b->module_mark));
    if (++b->mark_gen == 0) { /* wrapped: old marks could look current */
        memset(b->module_mark, 0, b->module_mark_cap * sizeof(*b->module_mark));
        b->mark_gen = 1;
    }
    int any = 0;
    for (size_t i = 0; i < b->npath; i++) {
        const struct ns_func *f = &m->funcs[b->path[i].func];
        if (!unnamed_frame(m, f))
            continue;
        if (i == 0) {
            ev->unnamed_leaf_count = nsb_sat_add(ev->unnamed_leaf_count, key->count);
            ev->unnamed_leaf_weight = nsb_sat_add(ev->unnamed_leaf_weight, key->weight);
            if (f->module_index != NS_NONE) {
                struct ns_module *mod = &m->modules[f->module_index];
                mod->unnamed_leaf_samples = nsb_sat_add(mod->unnamed_leaf_samples, key->count);
            }
        }
        any = 1;
        if (f->module_index != NS_NONE && b->module_mark[f->module_index] != b->mark_gen) {
            struct ns_module *mod = &m->modules[f->module_index];
            b->module_mark[f->module_index] = b->mark_gen;
            mod->unnamed_samples = nsb_sat_add(mod->unnamed_samples, key->count);
        }
    }
    if (any) {
        ev->unnamed_any_count = nsb_sat_add(ev->unnamed_any_count, key->count);
        ev->unnamed_any_weight = nsb_sat_add(ev->unnamed_any_weight, key->weight);
    }
    return 0;
}

static int account_leaf(struct ns_build *b, const struct nsb_key *key, uint8_t stack_end)
{
    struct ns_model *m = b->m;
    struct ns_event *ev = &m->events[key->event];
    ev->count = nsb_sat_add(ev->count, key->count);
    ev->weight = nsb_sat_add(ev->weight, key->weight);
    unsigned bucket = stack_end < NSP_END__COUNT ? stack_end : NSP_END__COUNT;
    ev->end_count[bucket] = nsb_sat_add(ev->end_count[bucket], key->count);
    ev->end_weight[bucket] = nsb_sat_add(ev->end_weight[bucket], key->weight);
    const struct nsb_frame *leaf = b->npath ? &b->path[0] : NULL;
    const struct ns_func *lf = leaf ? &m->funcs[leaf->func] : NULL;
    if (lf && lf->module_index != NS_NONE) {
        struct ns_module *mod = &m->modules[lf->module_index];
        mod->leaf_samples = nsb_sat_add(mod->leaf_samples, key->count);
    }
    if (account_unnamed(b, key) < 0)
        return -1;
    if (!lf || leaf->line == 0 || !leaf->file[0]) {
        ev->no_line_count = nsb_sat_add(ev->no_line_count, key->count);
        ev->no_line_weight = nsb_sat_add(ev->no_line_weight, key->weight);
        return 0;
    }
    return add_line(b, key, leaf);
}

int nsb_insert_path(struct ns_build *b, struct nsb_key *key, uint8_t stack_end)
{
    struct ns_model *m = b->m;
    uint32_t root = m->events[key->event].root;
    uint32_t node = nsb_child(b, root, m->processes[b->process].func);
    if (node == NS_NONE)
        return -1;
    add_total(&m->nodes[root], key);
    add_total(&m->nodes[node], key);
    for (size_t i = b->npath; i-- > 0;) {
        node = nsb_child(b, node, b->path[i].func);
        if (node == NS_NONE)
            return -1;
        add_total(&m->nodes[node], key);
    }
    struct ns_node *leaf = &m->nodes[node];
    leaf->self_count = nsb_sat_add(leaf->self_count, key->count);
    leaf->self_weight = nsb_sat_add(leaf->self_weight, key->weight);
    key->leaf = node;
    return account_leaf(b, key, stack_end);
}

static int func_matches(struct ns_build *b, uint32_t func)
{
    const char *name = b->m->funcs[func].name;
    if (b->has_re)
        return regexec(&b->re, name, 0, NULL, 0) == 0;
    return strstr(name, b->opt->function) != NULL;
}

int nsb_path_matches(struct ns_build *b)
{
    if (!b->opt->function)
        return 1;
    size_t old = b->func_match_cap;
    if (ns_grow((void **)&b->func_match, &b->func_match_cap, b->m->nfuncs, 1))
        return -1;
    memset(b->func_match + old, -1, b->func_match_cap - old);
    for (size_t i = 0; i < b->npath; i++) {
        uint32_t f = b->path[i].func;
        if (b->func_match[f] < 0)
            b->func_match[f] = (int8_t)func_matches(b, f);
        if (b->func_match[f])
            return 1;
    }
    return 0;
}

static int sibling_cmp(const void *pa, const void *pb, void *ctx)
{
    const struct ns_model *m = ctx;
    const struct ns_node *a = &m->nodes[*(const uint32_t *)pa];
    const struct ns_node *b = &m->nodes[*(const uint32_t *)pb];
    if (a->parent != b->parent)
        return a->parent < b->parent ? -1 : 1;
    if (a->total_weight != b->total_weight)
        return a->total_weight > b->total_weight ? -1 : 1;
    if (a->total_count != b->total_count)
        return a->total_count > b->total_count ? -1 : 1;
    int c = strcmp(m->funcs[a->func].name, m->funcs[b->func].name);
    if (c)
        return c;
    return a->func < b->func ? -1 : a->func > b->func;
}

int nsb_sort_children(struct ns_model *m)
{
    uint32_t *order = malloc((m->nnodes ? m->nnodes : 1) * sizeof(*order));
    if (!order)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < m->nnodes; i++) {
        m->nodes[i].first_child = NS_NONE;
        if (m->nodes[i].parent != NS_NONE)
            order[n++] = (uint32_t)i;
    }
    qsort_r(order, n, sizeof(*order), sibling_cmp, m);
    /* Prepending in reverse sorted order leaves each sibling list in sorted order. */
    for (size_t i = n; i-- > 0;) {
        struct ns_node *c = &m->nodes[order[i]];
        c->next_sibling = m->nodes[c->parent].first_child;
        m->nodes[c->parent].first_child = order[i];
    }
    free(order);
    return 0;
}
