/*
 * profile_reader.c — loads a .nsp file (docs/FORMAT.md) into a struct ns_profile.
 *
 * The input is hostile, so the reader is built around three habits:
 *  - Nothing is trusted before it is checked against the bytes really present: a count is
 *    compared with the bytes left in its record (every element takes at least one byte per
 *    field) before anything is reserved for it, and a chunk's CRC is verified before it is
 *    inflated. A chunk may claim to inflate to at most 1032 times its compressed size
 *    (deflate's largest ratio), so no allocation is ever bigger than a small multiple of
 *    what the file can really produce.
 *  - Parsing a body goes through a cursor that never reads past the body: a failed read
 *    returns 0 and records the first problem, and each handler checks it before the record
 *    is allowed to count. A failed load frees everything: partial state never escapes.
 *  - Records that the format says "last one wins" (THREAD, THREAD_STATS, EVENT, SETTING,
 *    COUNTERS) are appended to their arrays, which are folded (profile.c: stable sort,
 *    later entries win) whenever they fill up and once at the end. A hostile file
 *    repeating them millions of times costs O(n log n) time and memory proportional to
 *    the distinct keys — no hash table whose collisions it could choose.
 *
 * Samples are decoded straight into the profile's structure-of-arrays; the common
 * one-byte varint is the inline fast path (1M samples load in a few tens of ms).
 */
#include "profile_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "nsp_format.h"

/* Deflate cannot expand a run by more than this (258-byte matches in ~2 bits). */
#define RD_MAX_INFLATE_RATIO 1032u
#define RD_PROGRESS_EVERY    8 /* chunks between progress callbacks */

/* ---- reader state ---- */

struct rd {
    const char *name;
    const uint8_t *data;
    size_t len;
    struct ns_profile *p;
    struct ns_read_error *err;
    ns_read_progress_fn progress;
    void *progress_ctx;

    uint64_t chunk_off; /* file offset of the chunk being read */
    uint64_t rec_off;   /* offset of the record inside the inflated payload */
    uint64_t rec_kind;
    int in_chunk, in_record;
    uint64_t records; /* records read so far in the file */

    uint8_t *raw;
    size_t raw_cap;
    z_stream zs;
    int zs_ready;

    size_t cap_strings, cap_mappings, cap_stacks, cap_frames, cap_notes;
    size_t cap_threads, cap_events, cap_settings, cap_counters;
    char msg[160];
};

/* Cursor over one record body. Reads past the end return 0 and set err once. */
struct cur {
    const uint8_t *p, *end;
    const char *err;
};

/* ---- errors ---- */

static int fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct rd *r, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    struct ns_read_error *e = r->err;
    e->offset = r->in_chunk ? r->chunk_off : 0;
    if (r->in_record)
        snprintf(e->msg, sizeof e->msg,
                 "%s: chunk at offset %llu: record at offset %llu (kind %llu): %s", r->name,
                 (unsigned long long)r->chunk_off, (unsigned long long)r->rec_off,
                 (unsigned long long)r->rec_kind, what);
    else if (r->in_chunk)
        snprintf(e->msg, sizeof e->msg, "%s: chunk at offset %llu: %s", r->name,
                 (unsigned long long)r->chunk_off, what);
    else
        snprintf(e->msg, sizeof e->msg, "%s: %s", r->name, what);
    return -1;
}

/* Handlers return NULL or a message; this formats one into the reader's buffer. */
static const char *why(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *why(struct rd *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return r->msg;
}

#define GROW(arr, cap, need) ns_profile_grow(&(arr), &(cap), (need), sizeof *(arr))

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
    return NULL;
}

/* A definition must take the next id, and the file may define at most 2^26 of each. */
static const char *check_new_id(struct rd *r, struct cur *c, uint64_t id, size_t count,
                                const char *what)
{
    if (c->err)
        return NULL;
    if (id != count)
        return why(r, "%s id %llu out of order (expected %zu)", what, (unsigned long long)id,
                   count);
    if (id > NSP_MAX_IDS)
        return why(r, "more than 2^26 %ss", what);
    return NULL;
}

static const char *check_ref(struct rd *r, struct cur *c, uint64_t id, size_t count,
                             const char *what)
{
    if (c->err || id < count)
        return NULL;
    return why(r, "reference to undefined %s id %llu", what, (unsigned long long)id);
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
        return why(r, "unknown stack end %llu", (unsigned long long)end);
    if (n > NSP_MAX_FRAMES)
        return why(r, "%llu frames, over the ceiling of 4096", (unsigned long long)n);
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

/* The hot loop of the reader: one iteration per sample. */
static const char *read_samples(struct rd *r, struct cur *c, uint32_t event, size_t count)
{
    struct ns_prof_samples *s = &r->p->samples;
    size_t nstacks = r->p->nstacks, base = s->n;
    /* Locals, so the compiler need not reload the array pointers after every store. */
    uint32_t *ev = s->event + base, *tids = s->tid + base, *stacks = s->stack + base;
    int64_t *times = s->time_ns + base;
    uint64_t *weights = s->weight + base;
    int64_t t = 0;
    for (size_t i = 0; i < count; i++) {
        int64_t dt = nsp_unzigzag(get_u(c));
        uint64_t tid = get_u(c), stack = get_u(c), weight = get_u(c);
        if (c->err)
            return NULL;
        /* |dt| is checked first so that t + dt cannot overflow. */
        if (dt > (int64_t)NSP_MAX_TIME_US || dt < -(int64_t)NSP_MAX_TIME_US || t + dt < 0 ||
            t + dt > (int64_t)NSP_MAX_TIME_US)
            return why(r, "sample %zu at a time outside the profile", i);
        t += dt;
        if (tid > UINT32_MAX)
            return why(r, "sample %zu: tid over 2^32", i);
        if (stack >= nstacks)
            return why(r, "sample %zu: reference to undefined stack id %llu", i,
                       (unsigned long long)stack);
        ev[i] = event;
        times[i] = t * 1000;
        tids[i] = (uint32_t)tid;
        stacks[i] = (uint32_t)stack;
        weights[i] = weight;
    }
    s->n = base + count;
    return NULL;
}

static const char *rec_samples(struct rd *r, struct cur *c)
{
    uint32_t event = get_u32(c, "event id over 2^32");
    uint64_t count = get_u(c);
    if (c->err)
        return NULL;
    if (count > NSP_MAX_SAMPLES_PER_RECORD)
        return why(r, "%llu samples, over the ceiling of 2^20", (unsigned long long)count);
    if (count * 4 > cur_left(c))
        return "sample count larger than the record";
    if (count == 0)
        return NULL; /* the arrays may not exist yet: no arithmetic on their NULL */
    if (ns_profile_reserve_samples(r->p, r->p->samples.n + count) < 0)
        return "out of memory";
    return read_samples(r, c, event, (size_t)count);
}

static const char *rec_counters(struct rd *r, struct cur *c)
{
    uint64_t count = get_u(c);
    if (c->err)
        return NULL;
    if (count > NSP_MAX_COUNTERS_PER_RECORD)
        return why(r, "%llu counters, over the ceiling of 4096", (unsigned long long)count);
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
    [NSP_REC_EVENT] = {rec_event, 0},
    [NSP_REC_STRING] = {rec_string, 0},
    [NSP_REC_MAPPING] = {rec_mapping, 1},
    [NSP_REC_THREAD] = {rec_thread, 0},
    [NSP_REC_STACK] = {rec_stack, 0},
    [NSP_REC_SAMPLES] = {rec_samples, 0},
    [NSP_REC_THREAD_STATS] = {rec_thread_stats, 1},
    [NSP_REC_COUNTERS] = {rec_counters, 0},
    [NSP_REC_NOTE] = {rec_note, 0},
    [NSP_REC_END] = {rec_end, 0},
};

static int parse_record(struct rd *r, uint64_t kind, const uint8_t *body, size_t len)
{
    if ((r->records == 0) != (kind == NSP_REC_PROCESS))
        return fail(r, r->records ? "PROCESS record after the first record"
                                  : "the file does not start with a PROCESS record");
    /* An exec writes END before the image is replaced; if the exec then fails the process
     * goes on writing, and only a final END counts (docs/FORMAT.md, END). */
    if (r->p->has_end && r->p->end_reason != NSP_EXIT_EXEC)
        return fail(r, "record after END");
    r->p->has_end = 0;
    r->records++;
    if (kind >= sizeof rec_kinds / sizeof rec_kinds[0] || !rec_kinds[kind].parse)
        return 0; /* a kind from a later minor version */
    struct cur c = {body, body + len, NULL};
    const char *bad = rec_kinds[kind].parse(r, &c);
    if (bad)
        return fail(r, "%s", bad);
    if (c.err)
        return fail(r, "%s", c.err);
    if (c.p != c.end && !rec_kinds[kind].extensible)
        return fail(r, "%zu bytes left over after the record's fields", cur_left(&c));
    return 0;
}

static int parse_payload(struct rd *r, const uint8_t *buf, size_t len)
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
            return fail(r, "record header cut short by the end of the chunk");
        if (body_len > cur_left(&c))
            return fail(r, "body of %llu bytes runs past the end of the chunk",
                        (unsigned long long)body_len);
        if (parse_record(r, kind, c.p, (size_t)body_len) < 0)
            return -1;
        c.p += body_len;
    }
    r->in_record = 0;
    return 0;
}

/* ---- chunks ---- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int inflate_payload(struct rd *r, const uint8_t *comp, uint32_t comp_len, uint32_t raw_len)
{
    if (!r->zs_ready) {
        if (inflateInit(&r->zs) != Z_OK)
            return fail(r, "out of memory");
        r->zs_ready = 1;
    } else if (inflateReset(&r->zs) != Z_OK) {
        return fail(r, "inflate reset failed");
    }
    if (raw_len > r->raw_cap) {
        free(r->raw);
        r->raw_cap = 0;
        if (!(r->raw = malloc(raw_len)))
            return fail(r, "out of memory");
        r->raw_cap = raw_len;
    }
    r->zs.next_in = (Bytef *)comp;
    r->zs.avail_in = comp_len;
    r->zs.next_out = r->raw;
    r->zs.avail_out = raw_len;
    int zr = inflate(&r->zs, Z_FINISH);
    if (zr == Z_STREAM_END && r->zs.avail_out != 0)
        return fail(r, "payload inflates to %lu bytes, not raw_len %u", r->zs.total_out, raw_len);
    if (zr == Z_STREAM_END && r->zs.avail_in != 0)
        return fail(r, "%u bytes after the end of the zlib stream", r->zs.avail_in);
    /* Output full with input left: more data. Input used up before the end marker: cut. */
    if (zr == Z_BUF_ERROR && r->zs.avail_in != 0)
        return fail(r, "payload inflates to more than raw_len %u", raw_len);
    if (zr == Z_BUF_ERROR)
        return fail(r, "zlib stream cut short");
    if (zr != Z_STREAM_END)
        return fail(r, "inflate error: %s", r->zs.msg ? r->zs.msg : "unknown");
    return 0;
}

/*
 * Checks the header fields that `have` bytes of a chunk header contain. A prefix of a
 * valid header is what a kill mid-write leaves, so the caller calls the rest truncation.
 */
static int check_chunk_header(struct rd *r, const uint8_t *h, size_t have)
{
    size_t m = have < 4 ? have : 4;
    if (memcmp(h, NSP_CHUNK_MAGIC, m) != 0)
        return fail(r, "bad chunk magic");
    if (have >= 8 && le32(h + 4) != r->p->chunks)
        return fail(r, "chunk seq %u, expected %llu", le32(h + 4),
                    (unsigned long long)r->p->chunks);
    uint32_t comp_len = have >= 12 ? le32(h + 8) : 1, raw_len = have >= 16 ? le32(h + 12) : 1;
    if (comp_len == 0 || comp_len > NSP_MAX_CHUNK_BYTES)
        return fail(r, "comp_len %u outside 1..64 MiB", comp_len);
    if (raw_len == 0 || raw_len > NSP_MAX_CHUNK_BYTES)
        return fail(r, "raw_len %u outside 1..64 MiB", raw_len);
    if (have >= 16 && raw_len / RD_MAX_INFLATE_RATIO > comp_len)
        return fail(r, "raw_len %u impossible for comp_len %u", raw_len, comp_len);
    return 0;
}

static void mark_truncated(struct rd *r, uint64_t off)
{
    r->p->truncated = 1;
    r->p->truncated_at = off;
}

/* Reads the chunk at r->chunk_off. Returns its size, 0 at a torn tail, -1 on corruption. */
static int64_t read_chunk(struct rd *r)
{
    const uint8_t *h = r->data + r->chunk_off;
    size_t have = r->len - r->chunk_off;
    if (check_chunk_header(r, h, have < NSP_CHUNK_HEADER_LEN ? have : NSP_CHUNK_HEADER_LEN) < 0)
        return -1;
    if (have < NSP_CHUNK_HEADER_LEN || have - NSP_CHUNK_HEADER_LEN < le32(h + 8)) {
        mark_truncated(r, r->chunk_off);
        return 0;
    }
    uint32_t comp_len = le32(h + 8), raw_len = le32(h + 12);
    const uint8_t *payload = h + NSP_CHUNK_HEADER_LEN;
    uLong crc = crc32(crc32(0, h, 16), payload, comp_len);
    if (crc != le32(h + 16)) {
        fail(r, "CRC mismatch");
        return -1;
    }
    if (inflate_payload(r, payload, comp_len, raw_len) < 0 || parse_payload(r, r->raw, raw_len) < 0)
        return -1;
    return (int64_t)NSP_CHUNK_HEADER_LEN + comp_len;
}

static int read_file_header(struct rd *r)
{
    size_t have = r->len < NSP_FILE_HEADER_LEN ? r->len : NSP_FILE_HEADER_LEN;
    if (have && memcmp(r->data, NSP_MAGIC, have < NSP_MAGIC_LEN ? have : NSP_MAGIC_LEN) != 0)
        return fail(r, "not an nsprof profile (bad magic)");
    if (have < NSP_FILE_HEADER_LEN) {
        mark_truncated(r, 0);
        return 0;
    }
    const uint8_t *h = r->data;
    if (crc32(0, h, 12) != le32(h + 12))
        return fail(r, "file header CRC mismatch");
    unsigned major = h[8] | h[9] << 8;
    if (major != NSP_VERSION_MAJOR)
        return fail(r, "format version %u.%u is not supported (this reader reads %u.x)", major,
                    h[10] | h[11] << 8, NSP_VERSION_MAJOR);
    return 0;
}

static int read_chunks(struct rd *r)
{
    uint64_t off = NSP_FILE_HEADER_LEN;
    r->in_chunk = 1;
    while (off < r->len) {
        r->chunk_off = off;
        int64_t n = read_chunk(r);
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        off += (uint64_t)n;
        r->p->chunks++;
        if (r->progress && r->p->chunks % RD_PROGRESS_EVERY == 0)
            r->progress(r->progress_ctx, off, r->len);
    }
    r->in_chunk = 0;
    return 0;
}

/* ---- the finished profile ---- */

static int fold_tables(struct rd *r)
{
    struct ns_profile *p = r->p;
    if (ns_profile_fold_threads(p) < 0 || ns_profile_fold_events(p) < 0 ||
        ns_profile_fold_settings(p) < 0 || ns_profile_fold_counters(p) < 0)
        return fail(r, "out of memory");
    if (p->nthreads > NSP_MAX_IDS)
        return fail(r, "more than 2^26 threads");
    return 0;
}

static int read_all(struct rd *r)
{
    if (read_file_header(r) < 0)
        return -1;
    if (r->len > NSP_FILE_HEADER_LEN && read_chunks(r) < 0)
        return -1;
    if (fold_tables(r) < 0)
        return -1;
    r->p->file_bytes = r->len;
    if (r->progress)
        r->progress(r->progress_ctx, r->len, r->len);
    return 0;
}

static int read_mem(const uint8_t *data, size_t len, const char *name, struct ns_profile **out,
                    struct ns_read_error *err, ns_read_progress_fn progress, void *ctx)
{
    struct rd r = {.data = data, .len = len, .name = name, .err = err};
    r.progress = progress;
    r.progress_ctx = ctx;
    /* The id-0 entries are allocated with room for exactly one. */
    r.cap_strings = r.cap_mappings = r.cap_stacks = 1;
    r.p = ns_profile_new(name);
    int rc = r.p ? read_all(&r) : fail(&r, "out of memory");
    free(r.raw);
    if (r.zs_ready)
        inflateEnd(&r.zs);
    if (rc < 0) {
        ns_profile_free(r.p);
        return -1;
    }
    *out = r.p;
    return 0;
}

int ns_profile_read_mem(const uint8_t *data, size_t len, const char *name, struct ns_profile **out,
                        struct ns_read_error *err)
{
    return read_mem(data, len, name, out, err, NULL, NULL);
}

/* Reads all of fd; works for pipes too, so the buffer grows with what really arrives. */
static int slurp(int fd, uint8_t **buf, size_t *len)
{
    struct stat st;
    size_t cap = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 1 << 16;
    size_t n = 0;
    uint8_t *b = malloc(cap);
    for (;;) {
        if (!b)
            return -ENOMEM;
        ssize_t got = read(fd, b + n, cap - n);
        if (got == 0)
            break;
        if (got < 0 && errno != EINTR) {
            int rc = -errno;
            free(b);
            return rc;
        }
        n += got > 0 ? (size_t)got : 0;
        if (n == cap) {
            uint8_t *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    *buf = b;
    *len = n;
    return 0;
}

int ns_profile_read_file(const char *path, struct ns_profile **out, struct ns_read_error *err,
                         ns_read_progress_fn progress, void *progress_ctx)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err->offset = 0;
        snprintf(err->msg, sizeof err->msg, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = slurp(fd, &buf, &len);
    close(fd);
    if (rc < 0) {
        err->offset = 0;
        snprintf(err->msg, sizeof err->msg, "%s: cannot read: %s", path, strerror(-rc));
        return -1;
    }
    rc = read_mem(buf, len, path, out, err, progress, progress_ctx);
    free(buf);
    return rc;
}
