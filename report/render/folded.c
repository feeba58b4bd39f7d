/*
 * folded — folded stacks of one event of the model (see folded.h).
 *
 * One depth-first walk of the event's tree keeps the current path as text (each level
 * remembers where its frame starts) and records "path count" for every node with self
 * samples (self weight, for an aggregate event). Recorded stacks are then sorted to merge the ones
 * escaping made equal, formatted as lines, and the lines sorted bytewise.
 */
#include "folded.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void ns_folded_escape(struct ns_buf *b, const char *name)
{
    size_t start = b->len;
    ns_buf_puts(b, name);
    if (b->oom)
        return;
    for (size_t i = start; i < b->len; i++) {
        unsigned char c = (unsigned char)b->s[i];
        if (c == ';')
            b->s[i] = ':';
        else if (c < 0x20 || c == 0x7f)
            b->s[i] = '?';
    }
}

struct folded_stack {
    char *text;
    uint64_t count;
};

struct folded_list {
    struct folded_stack *v;
    size_t n, cap;
    int oom;
};

static void record(struct folded_list *l, const struct ns_buf *path, uint64_t count)
{
    if (l->oom || !path->s)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct folded_stack *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            l->oom = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    char *text = strdup(path->s);
    if (!text) {
        l->oom = 1;
        return;
    }
    l->v[l->n++] = (struct folded_stack){text, count};
}

static void enter(const struct ns_model *m, uint32_t n, struct ns_buf *path, size_t *starts)
{
    const struct ns_node *node = &m->nodes[n];
    const struct ns_func *f = &m->funcs[node->func];
    starts[node->depth] = path->len;
    if (node->depth > 1)
        ns_buf_puts(path, ";");
    ns_folded_escape(path, f->name);
    if (f->inlined)
        ns_buf_puts(path, "_[i]");
}

static void leave(const struct ns_model *m, uint32_t n, struct ns_buf *path, const size_t *starts)
{
    path->len = starts[m->nodes[n].depth];
    if (path->s)
        path->s[path->len] = '\0';
}

/* by_weight: record each stack's self weight instead of its sample count. */
static int collect(const struct ns_model *m, uint32_t root, int by_weight, struct folded_list *l)
{
    uint32_t max_depth = 0;
    for (size_t i = 0; i < m->nnodes; i++)
        if (m->nodes[i].depth > max_depth)
            max_depth = m->nodes[i].depth;
    size_t *starts = calloc((size_t)max_depth + 1, sizeof(*starts));
    struct ns_buf path = {0};
    if (!starts)
        return -1;
    uint32_t n = m->nodes[root].first_child;
    while (n != NS_NONE) {
        enter(m, n, &path, starts);
        uint64_t v = by_weight ? m->nodes[n].self_weight : m->nodes[n].self_count;
        if (v)
            record(l, &path, v);
        if (m->nodes[n].first_child != NS_NONE) {
            n = m->nodes[n].first_child;
            continue;
        }
        for (;;) {
            leave(m, n, &path, starts);
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
    int rc = path.oom || l->oom ? -1 : 0;
    ns_buf_free(&path);
    free(starts);
    return rc;
}

static int stack_cmp(const void *a, const void *b)
{
    return strcmp(((const struct folded_stack *)a)->text, ((const struct folded_stack *)b)->text);
}

static int line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Merges equal stacks, then sorts the formatted lines bytewise. */
static int format_lines(struct folded_list *l, struct ns_buf *out)
{
    if (l->n)
        qsort(l->v, l->n, sizeof(*l->v), stack_cmp);
    size_t k = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (k && strcmp(l->v[k - 1].text, l->v[i].text) == 0) {
            uint64_t sum = l->v[k - 1].count + l->v[i].count;
            l->v[k - 1].count = sum < l->v[i].count ? UINT64_MAX : sum;
            free(l->v[i].text);
            continue;
        }
        l->v[k++] = l->v[i];
    }
    l->n = k;
    char **lines = calloc(k ? k : 1, sizeof(*lines));
    if (!lines)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < k && !rc; i++)
        if (asprintf(&lines[i], "%s %llu\n", l->v[i].text, (unsigned long long)l->v[i].count) < 0) {
            lines[i] = NULL;
            rc = -1;
        }
    if (!rc) {
        qsort(lines, k, sizeof(*lines), line_cmp);
        for (size_t i = 0; i < k; i++)
            ns_buf_puts(out, lines[i]);
    }
    for (size_t i = 0; i < k; i++)
        free(lines[i]);
    free(lines);
    return rc || out->oom ? -1 : 0;
}

int ns_folded_render(const struct ns_model *m, uint32_t event, struct ns_buf *out)
{
    if (event >= m->nevents)
        return 0;
    struct folded_list l = {0};
    int rc = collect(m, m->events[event].root, ns_event_is_aggregate(&m->events[event]), &l);
    if (!rc)
        rc = format_lines(&l, out);
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].text);
    free(l.v);
    return rc;
}

int ns_folded_write(FILE *f, const struct ns_model *m, uint32_t event)
{
    struct ns_buf b = {0};
    if (ns_folded_render(m, event, &b) < 0) {
        ns_buf_free(&b);
        errno = ENOMEM;
        return -1;
    }
    int rc = 0;
    if (b.len && fwrite(b.s, 1, b.len, f) != b.len)
        rc = -1;
    if (fflush(f) != 0)
        rc = -1;
    ns_buf_free(&b);
    return rc;
}
