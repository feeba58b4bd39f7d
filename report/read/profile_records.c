/*
 * profile_records.c — the records inside an inflated chunk (docs/FORMAT.md, "Records"),
 * parsed through a cursor that never reads past a record's body. See profile_reader.c for
 * the reader's habits with hostile input.
 */
#include <stdlib.h>
#include <string.h>

#include "nsp_format.h"
#include "profile_reader_internal.h"

/* ---- cursor ---- */

static void cur_fail(struct cur *c, const char *why)
{
    if (!c->err)
        c->err = why;
    c->p = c->end;
}

static uint64_t get_u_slow(struct cur *c)
{
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (c->p >= c->end) {
            cur_fail(c, "field cut short by the end of the record");
            return 0;
        }
        uint8_t b = *c->p++;
        if (i == 9 && b > 1) {
            cur_fail(c, "varint longer than 64 bits");
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80))
            return v;
    }
    return v; /* not reached: the tenth byte either ends the varint or fails */
}

/* Inline for the 1–3 byte varints that make up nearly all of a file, when 10 bytes remain. */
static inline uint64_t get_u(struct cur *c)
{
    const uint8_t *p = c->p;
    if (c->end - p >= 10) {
        uint64_t v = p[0];
        if (p[0] < 0x80) {
            c->p = p + 1;
            return v;
        }
        v = (v & 0x7f) | (uint64_t)p[1] << 7;
        if (p[1] < 0x80) {
            c->p = p + 2;
            return v;
        }
        v = (v & 0x3fff) | (uint64_t)p[2] << 14;
        if (p[2] < 0x80) {
            c->p = p + 3;
            return v;
        }
    }
    return get_u_slow(c);
}

static inline size_t cur_left(const struct cur *c)
{
    return (size_t)(c->end - c->p);
}

/* A `str`/`bytes` field: returns its bytes (inside the payload) or NULL with err set. */
static const uint8_t *get_bytes(struct cur *c, size_t max, size_t *len)
{
    uint64_t n = get_u(c);
    *len = 0;
    if (c->err)
        return NULL;
    if (n > max) {
        cur_fail(c,
                 max == NSP_MAX_STR ? "string longer than 1 MiB" : "bytes field over its ceiling");
        return NULL;
    }
    if (n > cur_left(c)) {
        cur_fail(c, "string cut short by the end of the record");
        return NULL;
    }
    const uint8_t *s = c->p;
    c->p += n;
    *len = (size_t)n;
    return s;
}

static int get_str(struct rd *r, struct cur *c, struct ns_str *out)
{
    size_t len;
    const uint8_t *s = get_bytes(c, NSP_MAX_STR, &len);
    if (!s)
        return c->err ? 0 : -1;
    return ns_profile_str(r->p, s, len, out);
}

/* A `u` that the profile keeps in 32 bits (tids, event ids, levels, flags). */
static uint32_t get_u32(struct cur *c, const char *what)
{
    uint64_t v = get_u(c);
    if (v > UINT32_MAX) {
        cur_fail(c, what);
        return 0;
    }
    return (uint32_t)v;
}

/*
 * Appends a zeroed entry to a "last one wins" array. A full array is folded first and
 * only grows if folding did not free at least half of it.
 */
static void *table_add(struct rd *r, void *arr_slot, size_t *n, size_t *cap, size_t size,
                       int (*fold)(struct ns_profile *))
{
    if (*n == *cap) {
        if (fold(r->p) < 0)
            return NULL;
        if ((*cap == 0 || *n > *cap / 2) && ns_profile_grow(arr_slot, cap, *cap + 1, size) < 0)
            return NULL;
    }
    uint8_t *arr;
    memcpy(&arr, arr_slot, sizeof arr);
    void *slot = arr + (*n)++ * size;
    memset(slot, 0, size);
    return slot;
}

#define TABLE_ADD(r, what)                                                                         \
    table_add((r), &(r)->p->what, &(r)->p->n##what, &(r)->cap_##what, sizeof *(r)->p->what,        \
              ns_profile_fold_##what)

/* ---- records ---- */

static const char *rec_process(struct rd *r, struct cur *c)
{
    struct ns_prof_process *pr = &r->p->process;
    pr->pid = get_u(c);
    pr->ppid = get_u(c);
    pr->exec_index = get_u(c);
    pr->start_realtime_ns = get_u(c);
    pr->start_mono_ns = get_u(c);
    struct ns_str *strs[] = {&pr->session,  &pr->exe,    &pr->cmdline,
                             &pr->hostname, &pr->kernel, &pr->producer};
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++)
        if (get_str(r, c, strs[i]) < 0)
            return "out of memory";
    r->p->has_process = 1;
    return NULL;
}

static const char *rec_setting(struct rd *r, struct cur *c)
{
    struct ns_prof_kv *e = TABLE_ADD(r, settings);
    if (!e || get_str(r, c, &e->key) < 0 || get_str(r, c, &e->value) < 0)
        return "out of memory";
    return NULL;
}

static const char *rec_event(struct rd *r, struct cur *c)
{
    struct ns_prof_event *e = TABLE_ADD(r, events);
    if (!e)
        return "out of memory";
    e->id = get_u32(c, "event id over 2^32");
    if (get_str(r, c, &e->name) < 0 || get_str(r, c, &e->unit) < 0)
        return "out of memory";
    e->period = get_u(c);
    e->flags = cur_left(c) ? get_u32(c, "event flags over 2^32") : 0; /* 1.1 */
    return NULL;
}

/* A definition must take the next id, and the file may define at most 2^26 of each. */
static const char *check_new_id(struct rd *r, struct cur *c, uint64_t id, size_t count,
                                const char *what)
{
    if (c->err)
        return NULL;
    if (id != count)
        return ns_rd_why(r, "%s id %llu out of order (expected %zu)", what, (unsigned long long)id,
                         count);
    if (id > NSP_MAX_IDS)
        return ns_rd_why(r, "more than 2^26 %ss", what);
    return NULL;
}

static const char *check_ref(struct rd *r, struct cur *c, uint64_t id, size_t count,
                             const char *what)
{
    if (c->err || id < count)
        return NULL;
    return ns_rd_why(r, "reference to undefined %s id %llu", what, (unsigned long long)id);
}

static const char *rec_string(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    const char *bad = check_new_id(r, c, get_u(c), p->nstrings, "string");
    if (bad)
        return bad;
    if (GROW(p->strings, r->cap_strings, p->nstrings + 1) < 0 ||
        get_str(r, c, &p->strings[p->nstrings]) < 0)
        return "out of memory";
    if (!c->err)
        p->nstrings++;
    return NULL;
}

static const char *rec_mapping(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    const char *bad = check_new_id(r, c, get_u(c), p->nmappings, "mapping");
    if (bad)
        return bad;
    struct ns_prof_mapping m = {0};
    m.lo = get_u(c);
    m.hi = get_u(c);
    m.bias = get_u(c);
    uint64_t path = get_u(c);
    if ((bad = check_ref(r, c, path, p->nstrings, "string")))
        return bad;
    m.path = (uint32_t)path;
    size_t blen;
    const uint8_t *bid = get_bytes(c, NSP_MAX_BUILD_ID, &blen);
    if (bid && blen)
        memcpy(m.build_id, bid, blen);
    m.build_id_len = (uint8_t)blen;
    m.flags = get_u32(c, "mapping flags over 2^32");
    if (!c->err && m.lo > m.hi)
        return "mapping lo above hi";
    if (GROW(p->mappings, r->cap_mappings, p->nmappings + 1) < 0)
        return "out of memory";
    p->mappings[p->nmappings] = m;
    if (!c->err)
        p->nmappings++;
    return NULL;
}

static const char *rec_thread(struct rd *r, struct cur *c)
{
    struct ns_prof_thread *e = TABLE_ADD(r, threads);
    if (!e)
        return "out of memory";
    e->tid = get_u32(c, "tid over 2^32");
    uint64_t name = get_u(c);
    const char *bad = check_ref(r, c, name, r->p->nstrings, "string");
    if (bad)
        return bad;
    e->name = (uint32_t)name;
    e->start_mono_ns = get_u(c);
    return NULL;
}

static const char *rec_thread_stats(struct rd *r, struct cur *c)
{
    struct ns_prof_thread *e = TABLE_ADD(r, threads);
    if (!e)
        return "out of memory";
    e->tid = get_u32(c, "tid over 2^32");
    e->cpu_ns = get_u(c);
    e->samples = get_u(c);
    e->flags = get_u(c);
    if (e->flags & NSP_THREAD_TIMES) {
        e->blocked_ns = get_u(c);
        e->runnable_ns = get_u(c);
        e->off_unknown_ns = get_u(c);
    }
    e->has_stats = 1;
    return NULL;
}

static const char *read_frames(struct rd *r, struct cur *c, size_t n)
{
    struct ns_profile *p = r->p;
    for (size_t i = 0; i < n; i++) {
        struct ns_prof_frame *f = &p->frames[p->nframes + i];
        uint64_t map = get_u(c);
        const char *bad = check_ref(r, c, map, p->nmappings, "mapping");
        if (bad)
            return bad;
        f->mapping = (uint32_t)map;
        f->addr = get_u(c);
    }
    return NULL;
}

static const char *rec_stack(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    const char *bad = check_new_id(r, c, get_u(c), p->nstacks, "stack");
    if (bad)
        return bad;
    uint64_t end = get_u(c), n = get_u(c);
    if (c->err)
        return NULL;
    if (end >= NSP_END__COUNT)
        return ns_rd_why(r, "unknown stack end %llu", (unsigned long long)end);
    if (n > NSP_MAX_FRAMES)
        return ns_rd_why(r, "%llu frames, over the ceiling of 4096", (unsigned long long)n);
    if (n * 2 > cur_left(c))
        return "frame count larger than the record";
    if (p->nframes + n > UINT32_MAX)
        return "more than 2^32 frames in the file";
    if (GROW(p->frames, r->cap_frames, p->nframes + n) < 0 ||
        GROW(p->stacks, r->cap_stacks, p->nstacks + 1) < 0)
        return "out of memory";
    if ((bad = read_frames(r, c, (size_t)n)) || c->err)
        return bad;
    p->stacks[p->nstacks++] = (struct ns_prof_stack){
        .first = (uint32_t)p->nframes, .nframes = (uint32_t)n, .end = (uint8_t)end};
    p->nframes += n;
    return NULL;
}

/* A delta time in µs that keeps t within [0, 2^40] µs; |dt| is checked first so that
 * t + dt cannot overflow. */
static inline int time_ok(int64_t t, int64_t dt)
{
    return dt <= (int64_t)NSP_MAX_TIME_US && dt >= -(int64_t)NSP_MAX_TIME_US && t + dt >= 0 &&
           t + dt <= (int64_t)NSP_MAX_TIME_US;
}

/* The hot loop of the reader: one iteration per sample. with_res: SITE_SAMPLES, whose
 * entries end with a resource id. */
static const char *read_samples(struct rd *r, struct cur *c, uint32_t event, size_t count,
                                int with_res)
{
    struct ns_prof_samples *s = &r->p->samples;
    size_t nstacks = r->p->nstacks, nres = r->p->nresources, base = s->n;
    /* Locals, so the compiler need not reload the array pointers after every store. */
    uint32_t *ev = s->event + base, *tids = s->tid + base, *stacks = s->stack + base;
    uint32_t *res = s->resource + base;
    int64_t *times = s->time_ns + base;
    uint64_t *weights = s->weight + base;
    int64_t t = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t dt = nsp_unzigzag(get_u(c));
        uint64_t tid = get_u(c), stack = get_u(c), weight = get_u(c);
        uint64_t resource = with_res ? get_u(c) : 0;
        if (c->err)
            return NULL;
        if (!time_ok(t, dt))
            return ns_rd_why(r, "sample %zu at a time outside the profile", i);
        t += dt;
        if (tid > UINT32_MAX)
            return ns_rd_why(r, "sample %zu: tid over 2^32", i);
        if (stack >= nstacks)
            return ns_rd_why(r, "sample %zu: reference to undefined stack id %llu", i,
                             (unsigned long long)stack);
        if (resource >= nres)
            return ns_rd_why(r, "sample %zu: reference to undefined resource id %llu", i,
                             (unsigned long long)resource);
        ev[i] = event;
        times[i] = t * 1000;
        tids[i] = (uint32_t)tid;
        stacks[i] = (uint32_t)stack;
        weights[i] = weight;
        res[i] = (uint32_t)resource;
    }
    s->n = base + count;
    return NULL;
}

static const char *parse_samples(struct rd *r, struct cur *c, int with_res)
{
    uint32_t event = get_u32(c, "event id over 2^32");
    uint64_t count = get_u(c);
    if (c->err)
        return NULL;
    if (count > NSP_MAX_SAMPLES_PER_RECORD)
        return ns_rd_why(r, "%llu samples, over the ceiling of 2^20", (unsigned long long)count);
    /* Every field of an entry takes at least one byte. */
    if (count * (with_res ? 5 : 4) > cur_left(c))
        return "sample count larger than the record";
    if (count == 0)
        return NULL; /* the arrays may not exist yet: no arithmetic on their NULL */
    if (ns_profile_reserve_samples(r->p, r->p->samples.n + count) < 0)
        return "out of memory";
    return read_samples(r, c, event, (size_t)count, with_res);
}

static const char *rec_samples(struct rd *r, struct cur *c)
{
    return parse_samples(r, c, 0);
}

static const char *rec_site_samples(struct rd *r, struct cur *c)
{
    return parse_samples(r, c, 1);
}

static const char *rec_resource(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    const char *bad = check_new_id(r, c, get_u(c), p->nresources, "resource");
    if (bad)
        return bad;
    uint64_t kind = get_u(c), name = get_u(c), stack = get_u(c);
    if (c->err)
        return NULL;
    if (kind < NSP_RES_FILE || kind > NSP_RES_QUERY)
        return ns_rd_why(r, "unknown resource kind %llu", (unsigned long long)kind);
    if ((bad = check_ref(r, c, name, p->nstrings, "string")) ||
        (bad = check_ref(r, c, stack, p->nstacks, "stack")))
        return bad;
    if (GROW(p->resources, r->cap_resources, p->nresources + 1) < 0)
        return "out of memory";
    p->resources[p->nresources++] = (struct ns_prof_resource){
        .kind = (uint32_t)kind, .name = (uint32_t)name, .stack = (uint32_t)stack};
    return NULL;
}

static const char *rec_histogram(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    uint32_t event = get_u32(c, "event id over 2^32");
    uint32_t tid = get_u32(c, "tid over 2^32");
    uint64_t stack = get_u(c), resource = get_u(c), n = get_u(c);
    const char *bad;
    if ((bad = check_ref(r, c, stack, p->nstacks, "stack")) ||
        (bad = check_ref(r, c, resource, p->nresources, "resource")) || c->err)
        return bad;
    if (n > NSP_MAX_HISTOGRAM_BUCKETS)
        return ns_rd_why(r, "%llu histogram buckets, over the ceiling of 65",
                         (unsigned long long)n);
    if (n > cur_left(c))
        return "bucket count larger than the record";
    /* The add may fold the table, which compacts the buckets: they are placed after it. */
    struct ns_prof_histogram *h = TABLE_ADD(r, histograms);
    if (!h)
        return "out of memory";
    if (p->nhist_buckets + n > UINT32_MAX)
        return "more than 2^32 histogram buckets in the file";
    if (GROW(p->hist_buckets, r->cap_hist_buckets, p->nhist_buckets + n) < 0)
        return "out of memory";
    *h = (struct ns_prof_histogram){.event = event,
                                    .tid = tid,
                                    .stack = (uint32_t)stack,
                                    .resource = (uint32_t)resource,
                                    .first = (uint32_t)p->nhist_buckets,
                                    .nbuckets = (uint32_t)n};
    for (size_t i = 0; i < n; i++)
        p->hist_buckets[p->nhist_buckets + i] = get_u(c);
    if (!c->err)
        p->nhist_buckets += n;
    return NULL;
}

static const char *rec_query(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    uint64_t id = get_u(c), database = get_u(c), verb = get_u(c), flags = get_u(c);
    uint64_t example = get_u(c);
    const char *bad;
    if (c->err)
        return NULL;
    if ((bad = check_ref(r, c, id, p->nresources, "resource")) ||
        (bad = check_ref(r, c, database, p->nresources, "resource")) ||
        (bad = check_ref(r, c, example, p->nstrings, "string")))
        return bad;
    struct ns_prof_resource *q = &p->resources[id];
    if (id == 0 || q->kind != NSP_RES_QUERY)
        return "QUERY of a resource that is not a query";
    if (database && p->resources[database].kind != NSP_RES_DATABASE)
        return "QUERY whose database is not a database resource";
    if (verb > NSP_VERB_END)
        verb = NSP_VERB_OTHER; /* a later minor's verb */
    q->database = (uint32_t)database;
    q->example = (uint32_t)example;
    q->verb = (uint16_t)verb;
    q->flags = (uint16_t)(flags & (NSP_QUERY_CUT | NSP_QUERY_LITERALS));
    q->has_query = 1;
    return NULL;
}

static const char *rec_db_stats(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    struct ns_prof_db_stats d = {0};
    d.tid = get_u32(c, "tid over 2^32");
    uint64_t stack = get_u(c), query = get_u(c), outer = get_u(c);
    d.executions = get_u(c);
    d.rows = get_u(c);
    d.time_ns = get_u(c);
    d.in_loop = get_u(c);
    d.autocommit = get_u(c);
    d.errors = get_u(c);
    uint64_t nregs = get_u(c);
    const char *bad;
    if (c->err)
        return NULL;
    if ((bad = check_ref(r, c, stack, p->nstacks, "stack")) ||
        (bad = check_ref(r, c, query, p->nresources, "resource")) ||
        (bad = check_ref(r, c, outer, p->nresources, "resource")))
        return bad;
    if (!query || p->resources[query].kind != NSP_RES_QUERY ||
        (outer && p->resources[outer].kind != NSP_RES_QUERY))
        return "DB_STATS of a resource that is not a query";
    if (nregs != 0 && nregs != NSP_DB_DISTINCT_REGS)
        return ns_rd_why(r, "%llu distinct-value registers, not 0 or %d", (unsigned long long)nregs,
                         NSP_DB_DISTINCT_REGS);
    if (nregs > cur_left(c))
        return "registers past the end of the record";
    if (nregs) {
        memcpy(d.distinct, c->p, NSP_DB_DISTINCT_REGS);
        c->p += NSP_DB_DISTINCT_REGS;
        d.has_distinct = 1;
        for (size_t i = 0; i < NSP_DB_DISTINCT_REGS; i++)
            if (d.distinct[i] > 64)
                return "distinct-value register over 64";
    }
    uint64_t n = get_u(c);
    if (c->err)
        return NULL;
    if (n > NSP_DB_HIST_BUCKETS || n * 2 > cur_left(c))
        return ns_rd_why(r, "%llu histogram buckets, over the record or the ceiling of %d",
                         (unsigned long long)n, NSP_DB_HIST_BUCKETS);
    if (GROW(p->db_buckets, r->cap_db_buckets, p->ndb_buckets + n) < 0 ||
        GROW(p->db_stats, r->cap_db_stats, p->ndb_stats + 1) < 0)
        return "out of memory";
    d.stack = (uint32_t)stack;
    d.query = (uint32_t)query;
    d.outer = (uint32_t)outer;
    d.first = p->ndb_buckets;
    d.nbuckets = n;
    uint64_t prev = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b = get_u(c), count = get_u(c);
        if (c->err)
            return NULL;
        if (b >= NSP_DB_HIST_BUCKETS || (i && b <= prev))
            return "DB_STATS buckets out of range or out of order";
        prev = b;
        p->db_buckets[p->ndb_buckets + i] = (struct ns_prof_db_bucket){(uint32_t)b, count};
    }
    p->ndb_buckets += n;
    p->db_stats[p->ndb_stats++] = d;
    return NULL;
}

static const char *read_points(struct rd *r, struct cur *c, struct ns_prof_point *out, size_t count)
{
    int64_t t = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t dt = nsp_unzigzag(get_u(c));
        uint64_t value = get_u(c);
        if (c->err)
            return NULL;
        if (!time_ok(t, dt))
            return ns_rd_why(r, "point %zu at a time outside the profile", i);
        t += dt;
        out[i] = (struct ns_prof_point){.time_ns = t * 1000, .value = value};
    }
    return NULL;
}

static const char *rec_series(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    struct ns_str name = {0}, unit = {0};
    if (get_str(r, c, &name) < 0 || get_str(r, c, &unit) < 0)
        return "out of memory";
    uint64_t count = get_u(c);
    if (c->err)
        return NULL;
    if (count > NSP_MAX_SAMPLES_PER_RECORD)
        return ns_rd_why(r, "%llu points, over the ceiling of 2^20", (unsigned long long)count);
    if (count * 2 > cur_left(c))
        return "point count larger than the record";
    if (GROW(p->series, r->cap_series, p->nseries + 1) < 0 ||
        GROW(p->points, r->cap_points, p->npoints + count) < 0)
        return "out of memory";
    const char *bad = read_points(r, c, p->points + p->npoints, (size_t)count);
    if (bad || c->err)
        return bad;
    p->series[p->nseries++] =
        (struct ns_prof_series){.name = name, .unit = unit, .first = p->npoints, .n = count};
    p->npoints += count;
    return NULL;
}

static const char *rec_counters(struct rd *r, struct cur *c)
{
    uint64_t count = get_u(c);
    if (c->err)
        return NULL;
    if (count > NSP_MAX_COUNTERS_PER_RECORD)
        return ns_rd_why(r, "%llu counters, over the ceiling of 4096", (unsigned long long)count);
    if (count * 2 > cur_left(c))
        return "counter count larger than the record";
    for (uint64_t i = 0; i < count && !c->err; i++) {
        struct ns_prof_counter *e = TABLE_ADD(r, counters);
        if (!e || get_str(r, c, &e->name) < 0)
            return "out of memory";
        e->value = get_u(c);
    }
    return NULL;
}

static const char *rec_note(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    if (GROW(p->notes, r->cap_notes, p->nnotes + 1) < 0)
        return "out of memory";
    struct ns_prof_note *n = &p->notes[p->nnotes];
    memset(n, 0, sizeof *n);
    n->level = get_u32(c, "note level over 2^32");
    if (get_str(r, c, &n->code) < 0 || get_str(r, c, &n->text) < 0)
        return "out of memory";
    if (!c->err)
        p->nnotes++;
    return NULL;
}

static const char *rec_end(struct rd *r, struct cur *c)
{
    struct ns_profile *p = r->p;
    p->end_reason = get_u32(c, "end reason over 2^32");
    p->end_status = get_u(c);
    p->end_mono_ns = get_u(c);
    p->has_end = !c->err;
    return NULL;
}

struct rec_kind {
    const char *(*parse)(struct rd *r, struct cur *c);
    int extensible; /* later minors may append fields: trailing bytes are allowed */
};

static const struct rec_kind rec_kinds[] = {
    [NSP_REC_PROCESS] = {rec_process, 1},
    [NSP_REC_SETTING] = {rec_setting, 0},
    [NSP_REC_EVENT] = {rec_event, 1},
    [NSP_REC_STRING] = {rec_string, 0},
    [NSP_REC_MAPPING] = {rec_mapping, 1},
    [NSP_REC_THREAD] = {rec_thread, 0},
    [NSP_REC_STACK] = {rec_stack, 0},
    [NSP_REC_SAMPLES] = {rec_samples, 0},
    [NSP_REC_THREAD_STATS] = {rec_thread_stats, 1},
    [NSP_REC_COUNTERS] = {rec_counters, 0},
    [NSP_REC_NOTE] = {rec_note, 0},
    [NSP_REC_END] = {rec_end, 0},
    [NSP_REC_RESOURCE] = {rec_resource, 0},
    [NSP_REC_SITE_SAMPLES] = {rec_site_samples, 0},
    [NSP_REC_HISTOGRAM] = {rec_histogram, 0},
    [NSP_REC_SERIES] = {rec_series, 0},
    [NSP_REC_QUERY] = {rec_query, 1},
    [NSP_REC_DB_STATS] = {rec_db_stats, 1},
};

static int parse_record(struct rd *r, uint64_t kind, const uint8_t *body, size_t len)
{
    if ((r->records == 0) != (kind == NSP_REC_PROCESS))
        return ns_rd_fail(r, r->records ? "PROCESS record after the first record"
                                        : "the file does not start with a PROCESS record");
    /* An exec writes END before the image is replaced; if the exec then fails the process
     * goes on writing, and only a final END counts (docs/FORMAT.md, END). */
    if (r->p->has_end && r->p->end_reason != NSP_EXIT_EXEC)
        return ns_rd_fail(r, "record after END");
    r->p->has_end = 0;
    r->records++;
    if (kind >= sizeof rec_kinds / sizeof rec_kinds[0] || !rec_kinds[kind].parse)
        return 0; /* a kind from a later minor version */
    struct cur c = {body, body + len, NULL};
    const char *bad = rec_kinds[kind].parse(r, &c);
    if (bad)
        return ns_rd_fail(r, "%s", bad);
    if (c.err)
        return ns_rd_fail(r, "%s", c.err);
    if (c.p != c.end && !rec_kinds[kind].extensible)
        return ns_rd_fail(r, "%zu bytes left over after the record's fields", cur_left(&c));
    return 0;
}

int ns_rd_parse_payload(struct rd *r, const uint8_t *buf, size_t len)
{
    struct cur c = {buf, buf + len, NULL};
    while (c.p < c.end) {
        r->rec_off = (uint64_t)(c.p - buf);
        r->rec_kind = 0;
        r->in_record = 1;
        uint64_t kind = get_u(&c);
        r->rec_kind = kind;
        uint64_t body_len = get_u(&c);
        if (c.err)
            return ns_rd_fail(r, "record header cut short by the end of the chunk");
        if (body_len > cur_left(&c))
            return ns_rd_fail(r, "body of %llu bytes runs past the end of the chunk",
                              (unsigned long long)body_len);
        if (parse_record(r, kind, c.p, (size_t)body_len) < 0)
            return -1;
        c.p += body_len;
    }
    r->in_record = 0;
    return 0;
}

/* ---- chunks ---- */
