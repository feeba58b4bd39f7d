/*
 * image_region — what the profile takes from the process's shared region (shm.h): the
 * increase of every thread's call-site counters since the last visit becomes SITE_SAMPLES
 * entries (one per site and event, time = now) and HISTOGRAM records; resources are
 * described the first time a site refers to them; the live heap becomes a SERIES; at the end
 * the stacks still holding memory (leaks) and the ones that held it at the peak are written
 * as snapshot events; the process's notes and counters join the image's own.
 *
 * The region belongs to another program (or is this process's own, in-process): every
 * pointer is translated and bounds-checked through the view, every count is clamped, and a
 * walk that would not end (a cycle in a chunk list) is cut at the most there can be. What
 * the reader writes back is only its own bookkeeping: the `sent_*` fields of a site and the
 * series ring's `drained`.
 */
#include <stdio.h>
#include <string.h>

#include "../preload/settings.h"
#include "alloc.h"
#include "alloc_series.h"
#include "blocking.h"
#include "capture.h"
#include "clock.h"
#include "db_sites.h"
#include "image_internal.h"
#include "mem.h"
#include "nsp_format.h"
#include "resources.h"
#include "shm.h"
#include "sites.h"
#include "stacks.h"
#include "threads.h"

#define SITE_BATCH 1024

static void emit_thread_sites(struct ns_image *im, const struct ns_thread *th);
static void emit_open_call(struct ns_image *im, const struct ns_thread *th, uint64_t end_ns);
static void flush_batches(struct ns_image *im);
#define SERIES_MAX 4096

struct family_events {
    uint32_t calls, bytes, time, hist; /* event ids (0: not written) */
};

/* What each family's counters mean, in the events of docs/FORMAT.md. */
static const struct family_events family_events[NS_SITE__COUNT] = {
    [NS_SITE_ALLOC] = {NS_EVID_ALLOC_COUNT, NS_EVID_ALLOC_BYTES, 0, 0},
    [NS_SITE_IO] = {NS_EVID_IO_CALLS, NS_EVID_IO_BYTES, NS_EVID_IO_TIME, NS_EVID_IO_BYTES},
    [NS_SITE_STDIO] = {NS_EVID_STDIO_CALLS, NS_EVID_STDIO_BYTES, NS_EVID_STDIO_TIME,
                       NS_EVID_STDIO_BYTES},
    /* The histogram of single waits (the hooks pass the wait as the value) gives the
     * report's `waits` distributions and the number of waits. */
    [NS_SITE_LOCK] = {0, 0, NS_EVID_LOCK_WAIT, NS_EVID_LOCK_WAIT},
    [NS_SITE_COND] = {0, 0, NS_EVID_COND_WAIT, NS_EVID_COND_WAIT},
    /* Executions' times are in their DB_STATS records' finer histograms. */
    [NS_SITE_DB_EXEC] = {NS_EVID_DB_CALLS, NS_EVID_DB_ROWS, NS_EVID_DB_TIME, 0},
    [NS_SITE_DB_PREPARE] = {NS_EVID_DB_PREPARES, 0, NS_EVID_DB_TIME, 0},
    [NS_SITE_DB_CONNECT] = {NS_EVID_DB_CONNECTS, 0, NS_EVID_DB_TIME, 0},
    [NS_SITE_DB_CLOSE] = {NS_EVID_DB_CLOSES, 0, NS_EVID_DB_TIME, 0},
};

struct ns_image_region {
    const struct ns_shm_header *hdr; /* local address; NULL: no region */
    struct ns_pw_site_sample batch[NS_EVID__COUNT][SITE_BATCH];
    size_t nbatch[NS_EVID__COUNT];
    uint64_t *resource_file_id; /* the process's resource id → file id */
    size_t resource_ids_bytes;
    uint64_t next_resource_id;
    int in_query; /* describing a query's database */
    uint64_t db_delta[NS_LLH_BUCKETS];
    struct ns_pw_point live[SERIES_MAX], mapped[SERIES_MAX];
    size_t nseries;
    int64_t last_live, last_mapped;
    uint64_t halvings; /* times the series was kept at half resolution */
    uint32_t notes_read;
    int64_t now_us; /* the time of this visit's entries */
    char path[NS_SHM_PATH];
    struct ns_frame frames[NSP_MAX_FRAMES];
};

int ns_image_region_init(struct ns_image *im)
{
    im->region = ns_mem_alloc(sizeof(*im->region));
    return im->region ? 0 : -1;
}

void ns_image_region_destroy(struct ns_image *im)
{
    if (!im->region)
        return;
    ns_mem_free(im->region->resource_file_id, im->region->resource_ids_bytes);
    ns_mem_free(im->region, sizeof(*im->region));
    im->region = NULL;
}

void ns_image_set_region(struct ns_image *im, const struct ns_view *view)
{
    im->view = *view;
    const struct ns_shm_header *h =
        ns_view_at(&im->view, (const void *)(uintptr_t)view->base, sizeof(*h));
    if (h && (h->magic != NS_SHM_MAGIC || h->version != NS_SHM_VERSION))
        h = NULL;
    im->region->hdr = h;
}

/* A region object of type T at owner address p, or NULL. */
#define AT(im, p, T) ((const T *)ns_view_at(&(im)->view, (p), sizeof(T)))

/* --- descriptions: mappings and names ------------------------------------------------ */

static const struct ns_mapping_table *mapping_table(struct ns_image *im)
{
    const struct ns_shm_header *h = im->region->hdr;
    return h ? AT(im, __atomic_load_n(&h->mappings, __ATOMIC_ACQUIRE), struct ns_mapping_table)
             : NULL;
}

static const struct ns_shm_mapping *mapping_entry(struct ns_image *im, uint32_t id)
{
    const struct ns_mapping_table *t = mapping_table(im);
    if (!t || id == 0 || id > __atomic_load_n(&t->n, __ATOMIC_ACQUIRE) ||
        id > NS_MAPPINGS_CHUNK * NS_MAPPINGS_CHUNKS)
        return NULL;
    const struct ns_shm_mapping *chunk = ns_view_at(
        &im->view, t->chunk[(id - 1) / NS_MAPPINGS_CHUNK], NS_MAPPINGS_CHUNK * sizeof(*chunk));
    return chunk ? &chunk[(id - 1) % NS_MAPPINGS_CHUNK] : NULL;
}

uint32_t ns_image_region_mapping_gen(struct ns_image *im, uint32_t id)
{
    const struct ns_shm_mapping *m = mapping_entry(im, id);
    return m ? __atomic_load_n(&m->info.gen, __ATOMIC_ACQUIRE) : 0;
}

int ns_image_region_mapping(struct ns_image *im, uint32_t id, struct ns_mapping_info *out)
{
    const struct ns_shm_mapping *m = mapping_entry(im, id);
    if (!m)
        return -1;
    /* A recycled id is rewritten under its sequence number: copy between two equal, even
     * readings. */
    for (int attempt = 0; attempt < 100; attempt++) {
        uint32_t seq = __atomic_load_n(&m->seq, __ATOMIC_ACQUIRE);
        if (seq & 1)
            continue;
        *out = m->info;
        int ok = ns_view_string(&im->view, out->path, im->region->path, sizeof(im->region->path));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&m->seq, __ATOMIC_RELAXED) != seq)
            continue;
        if (!ok || seq == 0)
            return -1;
        if (out->build_id_len > sizeof(out->build_id))
            out->build_id_len = sizeof(out->build_id);
        out->path = im->region->path;
        return 0;
    }
    return -1;
}

uint32_t ns_image_region_named(struct ns_image *im)
{
    const struct ns_mapping_table *t = mapping_table(im);
    return t ? t->named_id : 0;
}

int ns_image_region_name(struct ns_image *im, uint32_t id, char *out, size_t cap)
{
    const struct ns_shm_header *h = im->region->hdr;
    const struct ns_pseudo_names *n = h ? AT(im, h->names, struct ns_pseudo_names) : NULL;
    if (!n || id == 0 || id > __atomic_load_n(&n->n, __ATOMIC_ACQUIRE) || id > NS_PSEUDO_NAMES_MAX)
        return 0;
    return ns_view_string(&im->view, n->name[id - 1], out, cap) && out[0];
}

/* --- stacks and resources ------------------------------------------------------------ */

/* The file id of a region stack entry (0: none, or not readable). */
static uint64_t stack_file_id(struct ns_image *im, const struct ns_stack_entry *remote)
{
    const struct ns_stack_entry *e = AT(im, remote, struct ns_stack_entry);
    if (!e)
        return 0;
    uint32_t n = e->nframes < NSP_MAX_FRAMES ? e->nframes : NSP_MAX_FRAMES;
    const struct ns_frame *f = ns_view_at(&im->view, &remote->frames[0], n * sizeof(*f));
    if (!f && n)
        return 0;
    /* Copied: the entry is immutable once published, but it is another program's memory. */
    memcpy(im->region->frames, f, n * sizeof(*f));
    return ns_image_stack(im, e->end < NSP_END__COUNT ? e->end : NSP_END_BAD_FRAME,
                          im->region->frames, (int)n);
}

/* File id of a resource of the process, writing its RESOURCE record the first time. */
uint64_t ns_image_resource_file_id(struct ns_image *im, uint32_t id)
{
    struct ns_image_region *r = im->region;
    const struct ns_resources_pub *pub = AT(im, r->hdr->resources, struct ns_resources_pub);
    if (!pub || id == 0 || id > __atomic_load_n(&pub->count, __ATOMIC_ACQUIRE) ||
        id >= NS_RESOURCES_MAX)
        return 0;
    size_t need = ((size_t)id + 1) * sizeof(uint64_t);
    if (need > r->resource_ids_bytes) {
        size_t bytes = r->resource_ids_bytes ? r->resource_ids_bytes : 4096;
        while (bytes < need)
            bytes *= 2;
        uint64_t *p = ns_mem_grow(r->resource_file_id, r->resource_ids_bytes, bytes);
        if (!p)
            return 0;
        r->resource_file_id = p;
        r->resource_ids_bytes = bytes;
    }
    if (r->resource_file_id[id])
        return r->resource_file_id[id];
    const struct ns_resource *chunk =
        ns_view_at(&im->view, pub->chunks[(id - 1) / NS_RESOURCES_CHUNK],
                   NS_RESOURCES_CHUNK * sizeof(struct ns_resource));
    if (!chunk)
        return 0;
    struct ns_resource res = chunk[(id - 1) % NS_RESOURCES_CHUNK]; /* a copy: not ours */
    /* A query's database first (RESOURCE ids are defined before they are referred to); a
     * query is never a database, so this recursion is one level deep. */
    uint64_t parent = 0;
    if (res.kind == NSP_RES_QUERY && res.parent && !r->in_query) {
        r->in_query = 1; /* one level: a damaged region's query of a query stops there */
        parent = ns_image_resource_file_id(im, res.parent);
        r->in_query = 0;
        if (r->resource_file_id[id])
            return r->resource_file_id[id];
    }
    char name[4096];
    if (!ns_view_string(&im->view, res.name, name, sizeof(name)))
        return 0;
    uint64_t name_id = ns_image_string(im, name);
    uint64_t stack = res.stack ? stack_file_id(im, res.stack) : 0;
    uint64_t file_id = r->next_resource_id ? r->next_resource_id : 1;
    if (ns_pw_resource(&im->pw, file_id, res.kind, name_id, stack) < 0)
        return 0;
    r->next_resource_id = file_id + 1;
    r->resource_file_id[id] = file_id;
    if (res.kind == NSP_RES_QUERY) {
        uint64_t example = 0;
        if (res.example && ns_view_string(&im->view, res.example, name, sizeof(name)))
            example = ns_image_string(im, name);
        ns_pw_query(&im->pw, file_id, parent, res.verb, res.flags, example);
    }
    return file_id;
}

/* --- sites ------------------------------------------------------------------------- */

static void flush_event(struct ns_image *im, uint32_t ev)
{
    struct ns_image_region *r = im->region;
    if (r->nbatch[ev]) {
        ns_pw_site_samples(&im->pw, ev, r->batch[ev], r->nbatch[ev]);
        r->nbatch[ev] = 0;
    }
}

static void flush_batches(struct ns_image *im)
{
    for (uint32_t ev = 0; ev < NS_EVID__COUNT; ev++)
        flush_event(im, ev);
}

int64_t ns_image_region_now_us(const struct ns_image *im)
{
    return im->region->now_us;
}

void ns_image_site_batches_flush(struct ns_image *im)
{
    flush_batches(im);
}

void ns_image_site_entry(struct ns_image *im, uint32_t ev, pid_t tid, uint64_t stack,
                         uint64_t resource, uint64_t weight, int64_t time_us)
{
    struct ns_image_region *r = im->region;
    if (!ev || ev >= NS_EVID__COUNT || !weight)
        return;
    ns_image_declare_event(im, ev);
    if (r->nbatch[ev] == SITE_BATCH)
        flush_event(im, ev);
    r->batch[ev][r->nbatch[ev]++] =
        (struct ns_pw_site_sample){{time_us, (uint64_t)tid, stack, weight}, resource};
}

static void add_entry(struct ns_image *im, uint32_t ev, pid_t tid, uint64_t stack,
                      uint64_t resource, uint64_t weight)
{
    ns_image_site_entry(im, ev, tid, stack, resource, weight, im->region->now_us);
}

uint64_t ns_image_region_stack(struct ns_image *im, const void *remote_stack,
                               const struct ns_frame *leaves, int nleaves)
{
    const struct ns_stack_entry *remote = remote_stack;
    const struct ns_stack_entry *e = AT(im, remote, struct ns_stack_entry);
    if (!e || nleaves < 0 || nleaves > 8)
        return 0;
    uint32_t n = e->nframes < NSP_MAX_FRAMES - 8 ? e->nframes : NSP_MAX_FRAMES - 8;
    const struct ns_frame *f = ns_view_at(&im->view, &remote->frames[0], n * sizeof(*f));
    if (!f && n)
        return 0;
    memcpy(im->region->frames + nleaves, f, n * sizeof(*f));
    memcpy(im->region->frames, leaves, (size_t)nleaves * sizeof(*leaves));
    return ns_image_stack(im, e->end < NSP_END__COUNT ? e->end : NSP_END_BAD_FRAME,
                          im->region->frames, (int)n + nleaves);
}

/* Time in blocking calls, as their interposers measured it: off-CPU time when nothing
 * better measures it (NS_WALL_INTERPOSED), under a leaf naming the reason. */
static void emit_blocked(struct ns_image *im, pid_t tid, struct ns_site *s, uint64_t time)
{
    if (im->wall != NS_WALL_INTERPOSED || !time)
        return;
    char name[64];
    snprintf(name, sizeof(name), "[off-CPU: %s]", ns_block_reason_name(s->reason));
    struct ns_frame leaf = ns_image_synthetic(im, name);
    uint64_t stack = ns_image_region_stack(im, s->stack, &leaf, 1);
    uint64_t resource = s->resource ? ns_image_resource_file_id(im, s->resource) : 0;
    add_entry(im, NS_EVID_OFF_CPU, tid, stack, resource, time);
    add_entry(im, NS_EVID_WALL, tid, stack, resource, time);
}

static void emit_histogram(struct ns_image *im, uint32_t ev, pid_t tid, uint64_t stack,
                           uint64_t resource, struct ns_site *s)
{
    uint64_t delta[NS_HIST_BUCKETS];
    size_t n = 0;
    for (size_t i = 0; i < NS_HIST_BUCKETS; i++) {
        uint64_t now = __atomic_load_n(&s->hist[i], __ATOMIC_RELAXED);
        delta[i] = now - s->sent_hist[i];
        s->sent_hist[i] = now;
        if (delta[i])
            n = i + 1;
    }
    if (n)
        ns_pw_histogram(&im->pw, ev, (uint64_t)tid, stack, resource, delta, n);
}

/* An execution site's DB_STATS: the increase of its histogram and counters. */
static void emit_db_stats(struct ns_image *im, pid_t tid, uint64_t stack, uint64_t query,
                          struct ns_site *s, const uint64_t delta_cbt[3])
{
    struct ns_db_site *d =
        ns_view_at_rw(&im->view, __atomic_load_n(&s->db, __ATOMIC_ACQUIRE), sizeof(*d));
    if (!d)
        return;
    uint64_t *delta = im->region->db_delta;
    for (size_t i = 0; i < NS_LLH_BUCKETS; i++) {
        uint64_t now = __atomic_load_n(&d->hist[i], __ATOMIC_RELAXED);
        delta[i] = now - d->sent_hist[i];
        d->sent_hist[i] = now;
    }
    uint8_t regs[NSP_DB_DISTINCT_REGS];
    memcpy(regs, d->distinct, sizeof(regs));
    uint64_t in_loop = __atomic_load_n(&d->in_loop, __ATOMIC_RELAXED);
    uint64_t autocommit = __atomic_load_n(&d->autocommit, __ATOMIC_RELAXED);
    uint64_t errors = __atomic_load_n(&d->errors, __ATOMIC_RELAXED);
    uint32_t outer = __atomic_load_n(&d->outer, __ATOMIC_RELAXED);
    int regs_changed = memcmp(regs, d->sent_distinct, sizeof(regs)) != 0;
    struct ns_pw_db_stats st = {
        .tid = (uint64_t)tid,
        .stack_id = stack,
        .query_id = query,
        .outer_id = outer ? ns_image_resource_file_id(im, outer) : 0,
        .executions = delta_cbt[0],
        .rows = delta_cbt[1],
        .time_ns = delta_cbt[2],
        .in_loop = in_loop - d->sent_in_loop,
        .autocommit = autocommit - d->sent_autocommit,
        .errors = errors - d->sent_errors,
        .distinct = d->with_params && regs_changed ? regs : NULL,
        .hist = delta,
    };
    ns_pw_db_stats(&im->pw, &st);
    d->sent_in_loop = in_loop;
    d->sent_autocommit = autocommit;
    d->sent_errors = errors;
    memcpy(d->sent_distinct, regs, sizeof(regs));
}

static void emit_site(struct ns_image *im, pid_t tid, struct ns_site *s)
{
    uint64_t calls = __atomic_load_n(&s->calls, __ATOMIC_RELAXED);
    uint64_t bytes = __atomic_load_n(&s->bytes, __ATOMIC_RELAXED);
    uint64_t time = __atomic_load_n(&s->time_ns, __ATOMIC_RELAXED);
    if (calls == s->sent_calls && bytes == s->sent_bytes && time == s->sent_time)
        return;
    if (s->family == 0 || s->family >= NS_SITE__COUNT)
        return;
    if (s->family == NS_SITE_BLOCKED) {
        emit_blocked(im, tid, s, time - s->sent_time);
        s->sent_calls = calls;
        s->sent_time = time;
        return;
    }
    const struct family_events *fe = &family_events[s->family];
    uint64_t stack = stack_file_id(im, s->stack);
    uint64_t resource = s->resource ? ns_image_resource_file_id(im, s->resource) : 0;
    /* executions, rows, time: an execution site's DB_STATS carries them too */
    const uint64_t delta[3] = {calls - s->sent_calls, bytes - s->sent_bytes, time - s->sent_time};
    add_entry(im, fe->calls, tid, stack, resource, calls - s->sent_calls);
    add_entry(im, fe->bytes, tid, stack, resource, bytes - s->sent_bytes);
    add_entry(im, fe->time, tid, stack, resource, time - s->sent_time);
    s->sent_calls = calls;
    s->sent_bytes = bytes;
    s->sent_time = time;
    if (fe->hist)
        emit_histogram(im, fe->hist, tid, stack, resource, s);
    if (s->family == NS_SITE_DB_EXEC)
        emit_db_stats(im, tid, stack, resource, s, delta);
}

void ns_image_emit_thread_sites(struct ns_image *im, const struct ns_thread *remote)
{
    const struct ns_thread *th = AT(im, remote, struct ns_thread);
    if (!th || !im->region->hdr)
        return;
    im->region->now_us = ns_image_time_us(im, ns_now_ns());
    emit_thread_sites(im, th);
    ns_image_emit_lock_counts(im, th, 1);
    emit_open_call(im, th, ns_now_ns());
    flush_batches(im);
}

static void emit_thread_sites(struct ns_image *im, const struct ns_thread *th)
{
    const struct ns_site_table *t = AT(im, th->sites, struct ns_site_table);
    if (!t)
        return;
    const struct ns_site_chunk *remote = __atomic_load_n(&t->first, __ATOMIC_ACQUIRE);
    for (size_t k = 0; remote && k <= NS_SITES_MAX / NS_CHUNK_SITES + 1; k++) {
        struct ns_site_chunk *c = ns_view_at_rw(&im->view, remote, sizeof(*c));
        if (!c)
            break;
        uint32_t n = __atomic_load_n(&c->count, __ATOMIC_ACQUIRE);
        for (uint32_t i = 0; i < n && i < NS_CHUNK_SITES; i++)
            emit_site(im, th->tid, &c->sites[i]);
        remote = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE);
    }
}

/* NS_WALL_INTERPOSED: a blocking call still in progress when its thread or process ended
 * (a cancelled thread, a process that exited while another thread slept) never returned to
 * add its time to its site: it waited from its begin to the end. */
static void emit_open_call(struct ns_image *im, const struct ns_thread *th, uint64_t end_ns)
{
    if (im->wall != NS_WALL_INTERPOSED)
        return;
    const struct ns_block_history *h = &th->block;
    uint64_t begun = __atomic_load_n(&h->begun, __ATOMIC_ACQUIRE);
    if (!begun)
        return;
    const struct ns_block_call *c = &h->call[(begun - 1) % NS_BLOCK_HISTORY];
    uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
    uint64_t begin = c->begin_ns, end = __atomic_load_n(&c->end_ns, __ATOMIC_ACQUIRE);
    unsigned reason = c->reason;
    const struct ns_stack_entry *stack = c->stack;
    if (seq != 2 * (begun - 1) + 2 || end || end_ns <= begin)
        return;
    char name[64];
    snprintf(name, sizeof(name), "[off-CPU: %s]", ns_block_reason_name(reason));
    struct ns_frame leaf = ns_image_synthetic(im, name);
    uint64_t id = ns_image_region_stack(im, stack, &leaf, 1);
    add_entry(im, NS_EVID_OFF_CPU, th->tid, id, 0, end_ns - begin);
    add_entry(im, NS_EVID_WALL, th->tid, id, 0, end_ns - begin);
}

static void emit_sites(struct ns_image *im, int final)
{
    const struct ns_thread_dir *dir = AT(im, im->region->hdr->threads, struct ns_thread_dir);
    uint64_t n = dir ? __atomic_load_n(&dir->n, __ATOMIC_ACQUIRE) : 0;
    for (uint64_t i = 0; i < n && i < NS_THREADS_MAX; i++) {
        const struct ns_thread *th = AT(im, dir->slot[i], struct ns_thread);
        if (th && __atomic_load_n(&th->state, __ATOMIC_ACQUIRE) != NS_TH_FREE) {
            emit_thread_sites(im, th);
            ns_image_emit_lock_counts(im, th, final);
            if (final)
                emit_open_call(im, th, im->end_mono_ns ? im->end_mono_ns : ns_now_ns());
        }
    }
    flush_batches(im);
}

/* --- the live heap over time --------------------------------------------------------- */

/*
 * A heap that moves faster than SERIES_MAX points between two flushes (a loop that
 * allocates and frees a large buffer thousands of times a second) is kept at half the
 * resolution: each pair of neighbours becomes the higher of the two, so the peaks survive
 * and the points stay bounded.
 */
static void halve_series(struct ns_image_region *r)
{
    size_t n = 0;
    for (size_t i = 0; i + 1 < r->nseries; i += 2, n++) {
        size_t keep = r->live[i + 1].value > r->live[i].value ? i + 1 : i;
        r->live[n] = r->live[keep];
        r->mapped[n] = r->mapped[keep];
    }
    if (r->nseries % 2) {
        r->live[n] = r->live[r->nseries - 1];
        r->mapped[n] = r->mapped[r->nseries - 1];
        n++;
    }
    r->nseries = n;
    r->halvings++;
}

static void add_point(struct ns_image_region *r, int64_t t, int64_t live, int64_t mapped)
{
    if (r->nseries == SERIES_MAX)
        halve_series(r);
    size_t i = r->nseries++;
    /* Points from several threads arrive nearly in time order: insertion sort is linear. */
    for (; i > 0 && r->live[i - 1].time_us > t; i--) {
        r->live[i] = r->live[i - 1];
        r->mapped[i] = r->mapped[i - 1];
    }
    r->live[i] = (struct ns_pw_point){t, (uint64_t)(live > 0 ? live : 0)};
    r->mapped[i] = (struct ns_pw_point){t, (uint64_t)(mapped > 0 ? mapped : 0)};
    r->last_live = live;
    r->last_mapped = mapped;
}

static const struct ns_alloc_pub *alloc_pub(struct ns_image *im)
{
    const struct ns_shm_header *h = im->region->hdr;
    const struct ns_alloc_pub *a = h ? AT(im, h->alloc, struct ns_alloc_pub) : NULL;
    return a && a->mode != NS_ALLOC_OFF ? a : NULL;
}

void ns_image_poll_region(struct ns_image *im)
{
    struct ns_image_region *r = im->region;
    const struct ns_alloc_pub *a = alloc_pub(im);
    if (!a)
        return;
    struct ns_series_ring *ring = ns_view_at_rw(&im->view, r->hdr->series, sizeof(*ring));
    if (ring) {
        uint64_t i = __atomic_load_n(&ring->drained, __ATOMIC_RELAXED);
        for (size_t n = 0; n < NS_SERIES_RING; n++, i++) {
            const struct ns_series_slot *s = &ring->slot[i & (NS_SERIES_RING - 1)];
            if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != i + 1)
                break; /* not claimed yet, or claimed and still being written */
            struct ns_series_point p = s->p;
            add_point(r, ns_image_time_us(im, p.mono_ns), p.live, p.mapped);
        }
        __atomic_store_n(&ring->drained, i, __ATOMIC_RELEASE);
    }
    int64_t live = __atomic_load_n(&a->live_bytes, __ATOMIC_RELAXED);
    int64_t mapped = __atomic_load_n(&a->mapped_bytes, __ATOMIC_RELAXED);
    if (live != r->last_live || mapped != r->last_mapped)
        add_point(r, ns_image_time_us(im, ns_now_ns()), live, mapped);
}

static void emit_series(struct ns_image *im)
{
    struct ns_image_region *r = im->region;
    if (r->nseries) {
        ns_pw_series(&im->pw, "heap_live_bytes", "bytes", r->live, r->nseries);
        ns_pw_series(&im->pw, "heap_mapped_bytes", "bytes", r->mapped, r->nseries);
        r->nseries = 0;
    }
}

/* At the end: what each stack still holds (leaks) and held at the peak. A heap that ends at
 * its peak (nothing freed since) never crossed the next snapshot step: its peak is now. */
static void emit_leaks(struct ns_image *im, const struct ns_alloc_pub *a)
{
    const struct ns_stacks_pub *pub = AT(im, im->region->hdr->stacks, struct ns_stacks_pub);
    if (!pub)
        return;
    int64_t live_now = __atomic_load_n(&a->live_bytes, __ATOMIC_RELAXED);
    int peak_is_now = live_now > 0 && live_now >= a->peak_bytes && live_now > a->snapshot_at;
    uint64_t n = __atomic_load_n(&pub->count, __ATOMIC_ACQUIRE);
    for (uint64_t i = 0; i < n && i < NS_STACKS_MAX; i++) {
        const struct ns_stack_entry *remote = __atomic_load_n(&pub->list[i], __ATOMIC_ACQUIRE);
        const struct ns_stack_entry *e = AT(im, remote, struct ns_stack_entry);
        if (!e)
            continue;
        int64_t live = __atomic_load_n(&e->live_bytes, __ATOMIC_RELAXED);
        int64_t peak = peak_is_now ? live : __atomic_load_n(&e->peak_bytes, __ATOMIC_RELAXED);
        if (live <= 0 && peak <= 0)
            continue;
        uint64_t stack = stack_file_id(im, remote);
        if (live > 0)
            add_entry(im, NS_EVID_LEAK_BYTES, im->pid, stack, 0, (uint64_t)live);
        if (peak > 0)
            add_entry(im, NS_EVID_PEAK_BYTES, im->pid, stack, 0, (uint64_t)peak);
    }
    flush_batches(im);
}

void ns_image_region_emit(struct ns_image *im, int final)
{
    struct ns_image_region *r = im->region;
    if (!r->hdr)
        return;
    r->now_us = ns_image_time_us(im, ns_now_ns());
    ns_image_poll_region(im);
    emit_sites(im, final);
    emit_series(im);
    const struct ns_alloc_pub *a = alloc_pub(im);
    if (final && a) {
        emit_leaks(im, a);
        if (a->inexact)
            ns_image_note(im, NSP_NOTE_WARNING, "alloc_inexact",
                          "the live-allocation table could not grow (out of memory): some "
                          "allocations were not tracked, so live, peak and leak figures are "
                          "lower bounds");
    }
}

/* --- notes and counters ------------------------------------------------------------ */

void ns_image_region_notes(struct ns_image *im)
{
    struct ns_image_region *r = im->region;
    if (!r->hdr)
        return;
    uint32_t n = __atomic_load_n(&r->hdr->nnotes, __ATOMIC_ACQUIRE);
    for (; r->notes_read < n && r->notes_read < NS_SHM_NOTES; r->notes_read++) {
        const struct ns_shm_note *note = &r->hdr->notes[r->notes_read];
        char code[sizeof(note->code) + 1], text[sizeof(note->text) + 1];
        memcpy(code, note->code, sizeof(note->code));
        code[sizeof(note->code)] = '\0';
        memcpy(text, note->text, sizeof(note->text));
        text[sizeof(note->text)] = '\0';
        ns_pw_note(&im->pw, note->level ? NSP_NOTE_WARNING : NSP_NOTE_INFO, code, text);
    }
}

size_t ns_image_region_counters(struct ns_image *im, const char **names, uint64_t *values,
                                size_t max)
{
    struct ns_image_region *r = im->region;
    size_t k = 0;
    if (!r->hdr)
        return 0;
    for (int c = 0; c < NS_CTR__COUNT && k < max; c++) {
        uint64_t v = __atomic_load_n(&r->hdr->counters[c], __ATOMIC_RELAXED);
        if (v) {
            names[k] = ns_shm_counter_name((enum ns_shm_counter)c);
            values[k++] = v;
        }
    }
    const struct ns_alloc_pub *a = alloc_pub(im);
    if (a) {
        const char *n[] = {"alloc_live_blocks", "alloc_table_bytes", "alloc_peak_bytes"};
        uint64_t v[] = {a->live_blocks, a->table_bytes,
                        (uint64_t)(a->peak_bytes > 0 ? a->peak_bytes : 0)};
        for (size_t i = 0; i < 3 && k < max; i++) {
            if (v[i]) {
                names[k] = n[i];
                values[k++] = v[i];
            }
        }
    }
    if (r->halvings && k < max) {
        names[k] = "alloc_series_halvings";
        values[k++] = r->halvings;
    }
    return k;
}
