/*
 * flame_tree — the call trees and time lines of the flame-graph data (flame_data.h).
 */
#include <stdlib.h>

#include "flame_data.h"
#include "flame_data_internal.h"
#include "flame_jsonw.h"
#include "nsp_format.h"

/* The pre-order walk of the tree under root, following the model's sibling order (heaviest
 * first). */
static void number_tree(struct fd_ctx *c, uint32_t root, uint32_t *pos)
{
    const struct ns_node *nodes = c->m->nodes;
    uint32_t id = 0, proc = NS_NONE;
    for (uint32_t n = root; n != NS_NONE; n = ns_model_next_preorder(c->m, root, n)) {
        if (nodes[n].depth == 1)
            proc = c->m->funcs[nodes[n].func].process;
        c->flame_id[n] = id++;
        c->process[n] = nodes[n].depth ? proc : NS_NONE;
        c->order[(*pos)++] = n;
    }
}

int fd_number_nodes(struct fd_ctx *c)
{
    const struct ns_model *m = c->m;
    size_t nn = m->nnodes ? m->nnodes : 1;
    c->flame_id = malloc(nn * sizeof(*c->flame_id));
    c->order = malloc(nn * sizeof(*c->order));
    c->process = malloc(nn * sizeof(*c->process));
    c->first = malloc((m->nevents + 1) * sizeof(*c->first));
    if (!c->flame_id || !c->order || !c->process || !c->first)
        return -1;
    uint32_t pos = 0;
    for (uint32_t e = 0; e < m->nevents; e++) {
        c->first[e] = pos;
        number_tree(c, m->events[e].root, &pos);
    }
    c->first[m->nevents] = pos;
    return 0;
}

/* The latest time of process p on its own axis: its end, last sample or last point. */
static uint64_t process_last_ns(const struct ns_model *m, uint32_t p)
{
    const struct ns_process *proc = &m->processes[p];
    uint64_t last = proc->has_end ? proc->end_mono_ns : 0;
    if (proc->last_sample_ns > 0 && (uint64_t)proc->last_sample_ns > last)
        last = (uint64_t)proc->last_sample_ns;
    for (size_t s = 0; s < m->nseries; s++) {
        const struct ns_series *ser = &m->series[s];
        if (ser->process == p && ser->n && ser->points[ser->n - 1].time_ns > 0 &&
            (uint64_t)ser->points[ser->n - 1].time_ns > last)
            last = (uint64_t)ser->points[ser->n - 1].time_ns;
    }
    return last;
}

int fd_time_axis(struct fd_ctx *c)
{
    const struct ns_model *m = c->m;
    c->offset_ns = calloc(m->nprocesses ? m->nprocesses : 1, sizeof(*c->offset_ns));
    if (!c->offset_ns)
        return -1;
    /* A file without a PROCESS record has no start time (0): it stays at offset 0 rather
     * than making every other process start decades later. */
    uint64_t first_start = UINT64_MAX;
    for (size_t p = 0; p < m->nprocesses; p++)
        if (m->processes[p].start_mono_ns && m->processes[p].start_mono_ns < first_start)
            first_start = m->processes[p].start_mono_ns;
    c->duration_ns = 0;
    for (uint32_t p = 0; p < m->nprocesses; p++) {
        /* A later process starts later on the page's axis; the cap keeps the sum in range
         * whatever a damaged file says. */
        uint64_t start = m->processes[p].start_mono_ns;
        uint64_t off = start ? start - first_start : 0;
        c->offset_ns[p] = off > INT64_MAX / 2 ? INT64_MAX / 2 : (int64_t)off;
        uint64_t last = process_last_ns(m, p);
        if (last > INT64_MAX / 2)
            last = INT64_MAX / 2;
        if ((uint64_t)c->offset_ns[p] + last > c->duration_ns)
            c->duration_ns = (uint64_t)c->offset_ns[p] + last;
    }
    c->bucket_ns = c->duration_ns / NS_FLAME_MAX_BUCKETS;
    if (c->bucket_ns * NS_FLAME_MAX_BUCKETS < c->duration_ns || c->bucket_ns == 0)
        c->bucket_ns++;
    c->nbuckets = (uint32_t)((c->duration_ns + c->bucket_ns - 1) / c->bucket_ns);
    if (c->nbuckets == 0)
        c->nbuckets = 1;
    return 0;
}

/* `depth` rather than `parent`: with the pre-order it says the same, and small repeating
 * numbers compress to a third of the size of node ids (docs/FLAME_DATA.md). */
static void write_depth_column(struct fd_ctx *c, uint32_t e)
{
    struct ns_buf *b = c->out;
    ns_jw_key(b, "depth");
    ns_buf_put(b, "[", 1);
    for (uint32_t i = c->first[e]; i < c->first[e + 1]; i++) {
        if (i > c->first[e])
            ns_buf_put(b, ",", 1);
        ns_jw_u64(b, c->m->nodes[c->order[i]].depth);
    }
    ns_buf_put(b, "]", 1);
}

static void write_frame_column(struct fd_ctx *c, uint32_t e)
{
    struct ns_buf *b = c->out;
    ns_jw_key(b, "frame");
    ns_buf_put(b, "[", 1);
    for (uint32_t i = c->first[e]; i < c->first[e + 1]; i++) {
        uint32_t f = c->m->nodes[c->order[i]].func;
        if (i > c->first[e])
            ns_buf_put(b, ",", 1);
        if (f == NS_NONE)
            ns_buf_put(b, "-1", 2);
        else
            ns_jw_u64(b, f);
    }
    ns_buf_put(b, "]", 1);
}

static void write_weight_column(struct fd_ctx *c, const char *key, uint32_t e, int total)
{
    struct ns_buf *b = c->out;
    ns_jw_key(b, key);
    ns_buf_put(b, "[", 1);
    for (uint32_t i = c->first[e]; i < c->first[e + 1]; i++) {
        const struct ns_node *n = &c->m->nodes[c->order[i]];
        if (i > c->first[e])
            ns_buf_put(b, ",", 1);
        ns_jw_u64(b, total ? n->total_weight : n->self_weight);
    }
    ns_buf_put(b, "]", 1);
}

/* One (bucket, node) pair's self weight; key = bucket << 32 | node id. */
struct cell {
    uint64_t key, weight;
};

static int cell_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct cell *)a)->key, y = ((const struct cell *)b)->key;
    return (x > y) - (x < y);
}

static uint32_t bucket_of(const struct fd_ctx *c, const struct ns_sample *s)
{
    uint32_t p = c->process[s->node];
    int64_t t = s->time_ns;
    if (p != NS_NONE && t < INT64_MAX / 2 && t > INT64_MIN / 2)
        t += c->offset_ns[p];
    if (t <= 0)
        return 0;
    uint64_t b = (uint64_t)t / c->bucket_ns;
    return b >= c->nbuckets ? c->nbuckets - 1 : (uint32_t)b;
}

/* The cells of event e, sorted by bucket then node, equal keys merged. */
static struct cell *collect_cells(const struct fd_ctx *c, uint32_t e, size_t *ncells)
{
    const struct ns_model *m = c->m;
    size_t n = 0;
    for (size_t i = 0; i < m->nsamples; i++)
        n += m->nodes[m->samples[i].node].event == e;
    struct cell *cells = malloc((n ? n : 1) * sizeof(*cells));
    if (!cells)
        return NULL;
    n = 0;
    for (size_t i = 0; i < m->nsamples; i++) {
        const struct ns_sample *s = &m->samples[i];
        if (m->nodes[s->node].event != e)
            continue;
        cells[n].key = (uint64_t)bucket_of(c, s) << 32 | c->flame_id[s->node];
        cells[n++].weight = s->weight;
    }
    qsort(cells, n, sizeof(*cells), cell_cmp);
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out && cells[out - 1].key == cells[i].key) {
            uint64_t w = cells[out - 1].weight + cells[i].weight;
            cells[out - 1].weight = w < cells[i].weight ? UINT64_MAX : w;
        } else {
            cells[out++] = cells[i];
        }
    }
    *ncells = out;
    return cells;
}

enum cell_column { CELL_BUCKET, CELL_NODE_DELTA, CELL_WEIGHT };

/* The node column is delta-coded within a bucket (ids ascend there): small numbers
 * compress far better than ids up to the tree's size. */
static void write_cell_column(struct ns_buf *b, const char *key, const struct cell *cells, size_t n,
                              enum cell_column which)
{
    ns_jw_key(b, key);
    ns_buf_put(b, "[", 1);
    for (size_t i = 0; i < n; i++) {
        if (i)
            ns_buf_put(b, ",", 1);
        uint64_t bucket = cells[i].key >> 32, node = cells[i].key & UINT32_MAX, v;
        if (which == CELL_BUCKET)
            v = bucket;
        else if (which == CELL_WEIGHT)
            v = cells[i].weight;
        else if (i && cells[i - 1].key >> 32 == bucket)
            v = node - (cells[i - 1].key & UINT32_MAX);
        else
            v = node;
        ns_jw_u64(b, v);
    }
    ns_buf_put(b, "]", 1);
}

static int write_timeline(struct fd_ctx *c, uint32_t e)
{
    struct ns_buf *b = c->out;
    ns_jw_key(b, "timeline");
    if (c->m->events[e].flags & NSP_EVENT_SNAPSHOT) {
        /* A snapshot is a state at one moment: spreading it over time would mislead. */
        ns_buf_puts(b, "null");
        return 0;
    }
    size_t n = 0;
    struct cell *cells = collect_cells(c, e, &n);
    uint64_t *weights = calloc(c->nbuckets, sizeof(*weights));
    if (!cells || !weights) {
        free(cells);
        free(weights);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t *w = &weights[cells[i].key >> 32];
        *w = *w + cells[i].weight < *w ? UINT64_MAX : *w + cells[i].weight;
    }
    ns_buf_puts(b, "{\"bucket_ns\":");
    ns_jw_u64(b, c->bucket_ns);
    ns_buf_puts(b, ",\"weights\":[");
    for (uint32_t i = 0; i < c->nbuckets; i++) {
        if (i)
            ns_buf_put(b, ",", 1);
        ns_jw_u64(b, weights[i]);
    }
    ns_buf_puts(b, "],\"cells\":{");
    write_cell_column(b, "bucket", cells, n, CELL_BUCKET);
    ns_buf_put(b, ",", 1);
    write_cell_column(b, "node", cells, n, CELL_NODE_DELTA);
    ns_buf_put(b, ",", 1);
    write_cell_column(b, "weight", cells, n, CELL_WEIGHT);
    ns_buf_puts(b, "}}");
    free(cells);
    free(weights);
    return 0;
}

/* The source lines of event e with their self weight, for the page's by-line table. */
static void write_lines(struct fd_ctx *c, uint32_t e)
{
    static const char *const keys[] = {"frame", "file", "line", "self"};
    const struct ns_model *m = c->m;
    struct ns_buf *b = c->out;
    ns_jw_key(b, "lines");
    ns_buf_put(b, "{", 1);
    for (int k = 0; k < 4; k++) {
        ns_buf_puts(b, k ? "," : "");
        ns_jw_key(b, keys[k]);
        ns_buf_put(b, "[", 1);
        int first = 1;
        for (size_t i = 0; i < m->nlines; i++) {
            const struct ns_line *l = &m->lines[i];
            if (l->event != e || l->func >= m->nfuncs || !l->line)
                continue;
            ns_buf_puts(b, first ? "" : ",");
            first = 0;
            ns_jw_u64(b, k == 0   ? l->func
                         : k == 1 ? c->line_file[i]
                         : k == 2 ? l->line
                                  : l->weight);
        }
        ns_buf_put(b, "]", 1);
    }
    ns_buf_puts(b, "},");
}

int fd_write_tree(struct fd_ctx *c, uint32_t e)
{
    struct ns_buf *b = c->out;
    ns_jw_key(b, "nodes");
    ns_buf_put(b, "{", 1);
    write_depth_column(c, e);
    ns_buf_put(b, ",", 1);
    write_frame_column(c, e);
    ns_buf_put(b, ",", 1);
    write_weight_column(c, "self", e, 0);
    ns_buf_put(b, ",", 1);
    write_weight_column(c, "total", e, 1);
    ns_buf_put(b, "},", 2);
    write_lines(c, e);
    return write_timeline(c, e);
}
