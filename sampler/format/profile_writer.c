/*
 * profile_writer.c — the .nsp encoder (docs/FORMAT.md) that runs on nsprof's writer thread
 * inside the profiled program.
 *
 * Memory: ns_pw_init maps one arena and never allocates again. The arena holds
 *
 *     [struct ns_pw_arena (z_stream + bump pointer)] [zlib's deflate state] [raw] [comp]
 *
 * zlib gets its state from the arena through zalloc/zfree: deflateInit2 runs once and
 * deflateReset reuses that state for every chunk, so zlib never calls malloc either. The
 * comp buffer is sized with compressBound(raw_cap), which for windowBits 15 / memLevel 8 is
 * the bound under which one deflate(Z_FINISH) call always completes.
 *
 * Crash safety: a chunk (20-byte header + payload) leaves in one write() where the kernel
 * allows, so a kill mid-write leaves a torn tail that the reader reports as truncation.
 * The first failed write is sticky: everything after it is dropped, which keeps the file
 * a valid prefix (no later chunk can refer to ids defined in a chunk that never made it).
 *
 * Compression level 1: on realistic sample records it compresses about 11% worse than
 * level 6 for a quarter of the CPU time (numbers at PW_ZLIB_LEVEL), and CPU spent here is
 * CPU taken from the profiled program.
 */
#include "profile_writer.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include "../sysmem.h"
#include "nsp_format.h"

/*
 * Level 1 vs 6, measured on the 251 one-second chunks (7.9 MB of records) of a 1M-sample
 * 4-thread profile from bench/gen_synthetic_profile on this 2-core VM: level 1 compresses
 * 1.94x at 61 MB/s (0.13 us per sample), level 6 2.17x at 14 MB/s (0.57 us per sample).
 * Files 11% smaller are not worth 4.4x the CPU taken from the profiled program.
 */
#define PW_ZLIB_LEVEL       1
#define PW_ZLIB_WINDOW_BITS 15
#define PW_ZLIB_MEM_LEVEL   8
/* deflate_state + window + prev + head + pending_buf at 15/8 is about 262 KiB. */
#define PW_ZLIB_ARENA_BYTES (320u << 10)
#define PW_MIN_RAW_CAP      256u
#define PW_ALIGN            64u

/* Worst-case framing of a record: kind (< 128: 1 byte) + body_len (< 2^28: 4 bytes). */
#define PW_REC_OVERHEAD 5u

struct ns_pw_arena {
    size_t map_len;
    uint8_t *zlib_next, *zlib_end;
    z_stream zs;
};

static size_t align_up(size_t n, size_t a)
{
    return (n + a - 1) & ~(a - 1);
}

/* zlib's allocator: bump allocation inside the arena; freeing happens with the arena. */
static voidpf arena_zalloc(voidpf opaque, uInt items, uInt size)
{
    struct ns_pw_arena *a = opaque;
    size_t n = align_up((size_t)items * size, 16);
    if (n > (size_t)(a->zlib_end - a->zlib_next))
        return Z_NULL;
    void *p = a->zlib_next;
    a->zlib_next += n;
    return p;
}

static void arena_zfree(voidpf opaque, voidpf address)
{
    (void)opaque;
    (void)address;
}

/* ---- varints ---- */

static size_t uv_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint8_t *uv_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *bytes_put(uint8_t *p, const void *data, size_t len)
{
    p = uv_put(p, len);
    if (len)
        memcpy(p, data, len);
    return p + len;
}

static void le16_put(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void le32_put(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- output ---- */

static int write_all(struct ns_pw *pw, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(pw->fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* write() returning 0 for a non-empty buffer would loop forever: call it EIO. */
            pw->error = n < 0 ? -errno : -EIO;
            return pw->error;
        }
        pw->bytes_written += (uint64_t)n;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static int write_file_header(struct ns_pw *pw)
{
    uint8_t h[NSP_FILE_HEADER_LEN];
    memcpy(h, NSP_MAGIC, NSP_MAGIC_LEN);
    le16_put(h + 8, NSP_VERSION_MAJOR);
    le16_put(h + 10, NSP_VERSION_MINOR);
    le32_put(h + 12, (uint32_t)crc32(0, h, 12));
    return write_all(pw, h, sizeof h);
}

static int arena_map(struct ns_pw *pw, size_t raw_cap)
{
    size_t comp_cap = NSP_CHUNK_HEADER_LEN + compressBound(raw_cap);
    size_t head = align_up(sizeof(struct ns_pw_arena), PW_ALIGN);
    size_t len = head + PW_ZLIB_ARENA_BYTES + align_up(raw_cap, PW_ALIGN) + comp_cap;
    len = align_up(len, (size_t)sysconf(_SC_PAGESIZE));
    uint8_t *base =
        ns_sys_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return -errno;
    struct ns_pw_arena *a = (struct ns_pw_arena *)base;
    a->map_len = len;
    a->zlib_next = base + head;
    a->zlib_end = a->zlib_next + PW_ZLIB_ARENA_BYTES;
    pw->arena = a;
    pw->zstream = &a->zs;
    pw->raw = a->zlib_end;
    pw->raw_cap = raw_cap;
    pw->comp = pw->raw + align_up(raw_cap, PW_ALIGN);
    pw->comp_cap = comp_cap;
    return 0;
}

static int deflate_setup(struct ns_pw *pw)
{
    z_stream *zs = pw->zstream;
    zs->zalloc = arena_zalloc;
    zs->zfree = arena_zfree;
    zs->opaque = pw->arena;
    if (deflateInit2(zs, PW_ZLIB_LEVEL, Z_DEFLATED, PW_ZLIB_WINDOW_BITS, PW_ZLIB_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    /* compressBound assumes these very parameters; refuse to run if zlib disagrees. */
    if (deflateBound(zs, pw->raw_cap) > pw->comp_cap - NSP_CHUNK_HEADER_LEN)
        return -EOVERFLOW;
    return 0;
}

int ns_pw_init(struct ns_pw *pw, int fd, size_t raw_cap)
{
    memset(pw, 0, sizeof *pw);
    pw->fd = fd;
    /* Even incompressible records must fit the reader's 64 MiB ceiling on comp_len. */
    if (raw_cap < PW_MIN_RAW_CAP || compressBound(raw_cap) > NSP_MAX_CHUNK_BYTES)
        return -EINVAL;
    int rc = arena_map(pw, raw_cap);
    if (rc == 0)
        rc = deflate_setup(pw);
    if (rc == 0)
        rc = write_file_header(pw);
    if (rc != 0)
        ns_pw_destroy(pw);
    return rc;
}

void ns_pw_destroy(struct ns_pw *pw)
{
    if (!pw->arena)
        return;
    /* deflateEnd only hands memory back to arena_zfree; skip it, unmapping frees it all. */
    ns_sys_munmap(pw->arena, pw->arena->map_len);
    int fd = pw->fd, error = pw->error;
    memset(pw, 0, sizeof *pw);
    pw->fd = fd;
    pw->error = error;
}

size_t ns_pw_room(const struct ns_pw *pw)
{
    return pw->raw_cap - pw->raw_len;
}

static int compress_chunk(struct ns_pw *pw, size_t *comp_len)
{
    z_stream *zs = pw->zstream;
    if (deflateReset(zs) != Z_OK)
        return -EIO;
    zs->next_in = pw->raw;
    zs->avail_in = (uInt)pw->raw_len;
    zs->next_out = pw->comp + NSP_CHUNK_HEADER_LEN;
    zs->avail_out = (uInt)(pw->comp_cap - NSP_CHUNK_HEADER_LEN);
    if (deflate(zs, Z_FINISH) != Z_STREAM_END)
        return -EIO;
    *comp_len = zs->total_out;
    return 0;
}

int ns_pw_flush(struct ns_pw *pw)
{
    if (pw->error || pw->raw_len == 0)
        return pw->error;
    size_t comp_len;
    int rc = compress_chunk(pw, &comp_len);
    if (rc != 0) {
        /* Dropping the chunk would leave later chunks referring to its ids: stop here. */
        pw->error = rc;
        return rc;
    }
    uint8_t *h = pw->comp;
    memcpy(h, NSP_CHUNK_MAGIC, 4);
    le32_put(h + 4, pw->seq);
    le32_put(h + 8, (uint32_t)comp_len);
    le32_put(h + 12, (uint32_t)pw->raw_len);
    uLong crc = crc32(0, h, 16);
    le32_put(h + 16, (uint32_t)crc32(crc, h + NSP_CHUNK_HEADER_LEN, (uInt)comp_len));
    pw->raw_len = 0;
    rc = write_all(pw, h, NSP_CHUNK_HEADER_LEN + comp_len);
    if (rc == 0) {
        pw->seq++;
        pw->chunks_written++;
    }
    return rc;
}

/*
 * Makes room for a record of rec_len bytes (framing included) in the current chunk,
 * flushing the chunk first if it is too full. Returns where to encode it.
 */
static int reserve(struct ns_pw *pw, size_t rec_len, uint8_t **at)
{
    if (pw->error)
        return pw->error;
    if (rec_len > pw->raw_cap)
        return -E2BIG;
    if (rec_len > ns_pw_room(pw)) {
        int rc = ns_pw_flush(pw);
        if (rc != 0)
            return rc;
    }
    *at = pw->raw + pw->raw_len;
    return 0;
}

static uint8_t *record_start(uint8_t *p, unsigned kind, size_t body_len)
{
    *p++ = (uint8_t)kind;
    return uv_put(p, body_len);
}

static size_t record_len(size_t body_len)
{
    return 1 + uv_size(body_len) + body_len;
}

static void commit(struct ns_pw *pw, const uint8_t *end)
{
    pw->raw_len = (size_t)(end - pw->raw);
}

/*
 * Most records are a flat list of `u` and `str` fields: they are described as an array of
 * pw_field and encoded by one function, which measures the body first so the body length
 * can be written in front of it without moving bytes.
 */
struct pw_field {
    const void *str; /* NULL: a `u` field holding v; else a `str` of v bytes */
    uint64_t v;
};

#define FU(x)                                                                                      \
    {                                                                                              \
        NULL, (uint64_t)(x)                                                                        \
    }
#define FB(ptr, len)                                                                               \
    {                                                                                              \
        (ptr) ? (const void *)(ptr) : "", (ptr) ? (uint64_t)(len) : 0                              \
    }
#define FS(cstr) FB((cstr), (cstr) ? strlen(cstr) : 0)

static int put_fields(struct ns_pw *pw, unsigned kind, const struct pw_field *f, size_t n)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].str && f[i].v > NSP_MAX_STR)
            return -EINVAL;
        body += f[i].str ? uv_size(f[i].v) + f[i].v : uv_size(f[i].v);
    }
    uint8_t *p;
    int rc = reserve(pw, record_len(body), &p);
    if (rc != 0)
        return rc;
    p = record_start(p, kind, body);
    for (size_t i = 0; i < n; i++)
        p = f[i].str ? bytes_put(p, f[i].str, f[i].v) : uv_put(p, f[i].v);
    commit(pw, p);
    return 0;
}

#define PUT_FIELDS(pw, kind, ...)                                                                  \
    put_fields((pw), (kind), (const struct pw_field[]){__VA_ARGS__},                               \
               sizeof((const struct pw_field[]){__VA_ARGS__}) / sizeof(struct pw_field))

int ns_pw_process(struct ns_pw *pw, const struct ns_pw_process *p)
{
    return PUT_FIELDS(pw, NSP_REC_PROCESS, FU(p->pid), FU(p->ppid), FU(p->exec_index),
                      FU(p->start_realtime_ns), FU(p->start_mono_ns), FS(p->session), FS(p->exe),
                      FB(p->cmdline, p->cmdline_len), FS(p->hostname), FS(p->kernel),
                      FS(p->producer));
}

int ns_pw_setting(struct ns_pw *pw, const char *key, const char *value)
{
    return PUT_FIELDS(pw, NSP_REC_SETTING, FS(key), FS(value));
}

int ns_pw_event(struct ns_pw *pw, uint64_t event_id, const char *name, const char *unit,
                uint64_t period)
{
    return ns_pw_event_flags(pw, event_id, name, unit, period, 0);
}

int ns_pw_event_flags(struct ns_pw *pw, uint64_t event_id, const char *name, const char *unit,
                      uint64_t period, uint64_t flags)
{
    return PUT_FIELDS(pw, NSP_REC_EVENT, FU(event_id), FS(name), FS(unit), FU(period), FU(flags));
}

int ns_pw_resource(struct ns_pw *pw, uint64_t id, uint64_t kind, uint64_t name_id,
                   uint64_t stack_id)
{
    return PUT_FIELDS(pw, NSP_REC_RESOURCE, FU(id), FU(kind), FU(name_id), FU(stack_id));
}

int ns_pw_string(struct ns_pw *pw, uint64_t id, const char *text, size_t len)
{
    return PUT_FIELDS(pw, NSP_REC_STRING, FU(id), FB(text, len));
}

int ns_pw_mapping(struct ns_pw *pw, const struct ns_pw_mapping *m)
{
    if (m->build_id_len > NSP_MAX_BUILD_ID)
        return -EINVAL;
    return PUT_FIELDS(pw, NSP_REC_MAPPING, FU(m->id), FU(m->lo), FU(m->hi), FU(m->bias),
                      FU(m->path_id), FB(m->build_id, m->build_id_len), FU(m->flags));
}

int ns_pw_thread(struct ns_pw *pw, uint64_t tid, uint64_t name_id, uint64_t start_mono_ns)
{
    return PUT_FIELDS(pw, NSP_REC_THREAD, FU(tid), FU(name_id), FU(start_mono_ns));
}

int ns_pw_thread_stats(struct ns_pw *pw, uint64_t tid, uint64_t cpu_ns, uint64_t samples,
                       uint64_t flags)
{
    return PUT_FIELDS(pw, NSP_REC_THREAD_STATS, FU(tid), FU(cpu_ns), FU(samples), FU(flags));
}

int ns_pw_thread_times(struct ns_pw *pw, uint64_t tid, uint64_t cpu_ns, uint64_t samples,
                       uint64_t flags, const struct ns_pw_off_cpu *off)
{
    return PUT_FIELDS(pw, NSP_REC_THREAD_STATS, FU(tid), FU(cpu_ns), FU(samples),
                      FU(flags | NSP_THREAD_TIMES), FU(off->blocked_ns), FU(off->runnable_ns),
                      FU(off->unknown_ns));
}

int ns_pw_note(struct ns_pw *pw, unsigned level, const char *code, const char *text)
{
    return PUT_FIELDS(pw, NSP_REC_NOTE, FU(level), FS(code), FS(text));
}

int ns_pw_end(struct ns_pw *pw, unsigned reason, uint64_t status, uint64_t end_mono_ns)
{
    return PUT_FIELDS(pw, NSP_REC_END, FU(reason), FU(status), FU(end_mono_ns));
}

int ns_pw_query(struct ns_pw *pw, uint64_t id, uint64_t database_id, uint64_t verb, uint64_t flags,
                uint64_t example_id)
{
    return PUT_FIELDS(pw, NSP_REC_QUERY, FU(id), FU(database_id), FU(verb), FU(flags),
                      FU(example_id));
}

int ns_pw_db_stats(struct ns_pw *pw, const struct ns_pw_db_stats *d)
{
    size_t nonzero = 0, nregs = d->distinct ? NSP_DB_DISTINCT_REGS : 0;
    size_t body = uv_size(d->tid) + uv_size(d->stack_id) + uv_size(d->query_id) +
                  uv_size(d->outer_id) + uv_size(d->executions) + uv_size(d->rows) +
                  uv_size(d->time_ns) + uv_size(d->in_loop) + uv_size(d->autocommit) +
                  uv_size(d->errors) + uv_size(nregs) + nregs;
    for (size_t i = 0; i < NSP_DB_HIST_BUCKETS; i++) {
        if (d->hist[i]) {
            nonzero++;
            body += uv_size(i) + uv_size(d->hist[i]);
        }
    }
    body += uv_size(nonzero);
    uint8_t *p;
    int rc = reserve(pw, record_len(body), &p);
    if (rc != 0)
        return rc;
    p = record_start(p, NSP_REC_DB_STATS, body);
    p = uv_put(p, d->tid);
    p = uv_put(p, d->stack_id);
    p = uv_put(p, d->query_id);
    p = uv_put(p, d->outer_id);
    p = uv_put(p, d->executions);
    p = uv_put(p, d->rows);
    p = uv_put(p, d->time_ns);
    p = uv_put(p, d->in_loop);
    p = uv_put(p, d->autocommit);
    p = uv_put(p, d->errors);
    p = uv_put(p, nregs);
    if (nregs) {
        memcpy(p, d->distinct, nregs);
        p += nregs;
    }
    p = uv_put(p, nonzero);
    for (size_t i = 0; i < NSP_DB_HIST_BUCKETS; i++) {
        if (d->hist[i]) {
            p = uv_put(p, i);
            p = uv_put(p, d->hist[i]);
        }
    }
    commit(pw, p);
    return 0;
}

int ns_pw_histogram(struct ns_pw *pw, uint64_t event_id, uint64_t tid, uint64_t stack_id,
                    uint64_t resource_id, const uint64_t *buckets, size_t nbuckets)
{
    if (nbuckets > NSP_MAX_HISTOGRAM_BUCKETS)
        return -EINVAL;
    size_t body = uv_size(event_id) + uv_size(tid) + uv_size(stack_id) + uv_size(resource_id) +
                  uv_size(nbuckets);
    for (size_t i = 0; i < nbuckets; i++)
        body += uv_size(buckets[i]);
    uint8_t *p;
    int rc = reserve(pw, record_len(body), &p);
    if (rc != 0)
        return rc;
    p = record_start(p, NSP_REC_HISTOGRAM, body);
    p = uv_put(p, event_id);
    p = uv_put(p, tid);
    p = uv_put(p, stack_id);
    p = uv_put(p, resource_id);
    p = uv_put(p, nbuckets);
    for (size_t i = 0; i < nbuckets; i++)
        p = uv_put(p, buckets[i]);
    commit(pw, p);
    return 0;
}

int ns_pw_series(struct ns_pw *pw, const char *name, const char *unit,
                 const struct ns_pw_point *points, size_t count)
{
    size_t nlen = strlen(name), ulen = strlen(unit);
    if (count > NSP_MAX_SAMPLES_PER_RECORD || nlen > NSP_MAX_STR || ulen > NSP_MAX_STR)
        return -EINVAL;
    size_t body = uv_size(nlen) + nlen + uv_size(ulen) + ulen + uv_size(count);
    int64_t prev = 0;
    for (size_t i = 0; i < count; i++) {
        if (points[i].time_us < 0 || (uint64_t)points[i].time_us > NSP_MAX_TIME_US)
            return -EINVAL;
        body += uv_size(nsp_zigzag(points[i].time_us - prev)) + uv_size(points[i].value);
        prev = points[i].time_us;
    }
    uint8_t *p;
    int rc = reserve(pw, record_len(body), &p);
    if (rc != 0)
        return rc;
    p = record_start(p, NSP_REC_SERIES, body);
    p = bytes_put(p, name, nlen);
    p = bytes_put(p, unit, ulen);
    p = uv_put(p, count);
    prev = 0;
    for (size_t i = 0; i < count; i++) {
        p = uv_put(p, nsp_zigzag(points[i].time_us - prev));
        p = uv_put(p, points[i].value);
        prev = points[i].time_us;
    }
    commit(pw, p);
    return 0;
}

int ns_pw_stack(struct ns_pw *pw, uint64_t id, unsigned end, const struct ns_pw_frame *frames,
                size_t nframes)
{
    if (nframes > NSP_MAX_FRAMES)
        return -EINVAL;
    size_t body = uv_size(id) + uv_size(end) + uv_size(nframes);
    for (size_t i = 0; i < nframes; i++)
        body += uv_size(frames[i].mapping_id) + uv_size(frames[i].addr);
    uint8_t *p;
    int rc = reserve(pw, record_len(body), &p);
    if (rc != 0)
        return rc;
    p = record_start(p, NSP_REC_STACK, body);
    p = uv_put(p, id);
    p = uv_put(p, end);
    p = uv_put(p, nframes);
    for (size_t i = 0; i < nframes; i++) {
        p = uv_put(p, frames[i].mapping_id);
        p = uv_put(p, frames[i].addr);
    }
    commit(pw, p);
    return 0;
}

int ns_pw_counters(struct ns_pw *pw, const char *const *names, const uint64_t *values, size_t count)
{
    if (count > NSP_MAX_COUNTERS_PER_RECORD)
        return -EINVAL;
    size_t body = uv_size(count);
    for (size_t i = 0; i < count; i++) {
        size_t len = names[i] ? strlen(names[i]) : 0;
        if (len > NSP_MAX_STR)
            return -EINVAL;
        body += uv_size(len) + len + uv_size(values[i]);
    }
    uint8_t *p;
    int rc = reserve(pw, record_len(body), &p);
    if (rc != 0)
        return rc;
    p = record_start(p, NSP_REC_COUNTERS, body);
    p = uv_put(p, count);
    for (size_t i = 0; i < count; i++) {
        struct pw_field name = FS(names[i]);
        p = bytes_put(p, name.str, name.v);
        p = uv_put(p, values[i]);
    }
    commit(pw, p);
    return 0;
}

/* ---- samples ----
 * SAMPLES and SITE_SAMPLES share one encoder: a batch is walked through `stride`, and a
 * site sample is a sample followed by its resource id. */

struct sample_batch {
    const uint8_t *base;
    size_t stride, count;
    int with_resource;
};

static const struct ns_pw_sample *batch_at(const struct sample_batch *b, size_t i)
{
    return (const struct ns_pw_sample *)(const void *)(b->base + i * b->stride);
}

static uint64_t batch_resource(const struct sample_batch *b, size_t i)
{
    return b->with_resource
               ? ((const struct ns_pw_site_sample *)(const void *)batch_at(b, i))->resource_id
               : 0;
}

static size_t sample_size(const struct sample_batch *b, size_t i, int64_t prev_us)
{
    const struct ns_pw_sample *s = batch_at(b, i);
    size_t n = uv_size(nsp_zigzag(s->time_us - prev_us)) + uv_size(s->tid) + uv_size(s->stack_id) +
               uv_size(s->weight);
    return n + (b->with_resource ? uv_size(batch_resource(b, i)) : 0);
}

/* How many samples from `first` fit in `budget` bytes of body; *bytes gets their size. */
static size_t samples_that_fit(const struct sample_batch *b, size_t first, size_t budget,
                               size_t *bytes)
{
    size_t n = 0, used = 0, count = b->count - first;
    int64_t prev = 0;
    if (count > NSP_MAX_SAMPLES_PER_RECORD)
        count = NSP_MAX_SAMPLES_PER_RECORD;
    while (n < count) {
        size_t sz = sample_size(b, first + n, prev);
        if (used + sz > budget)
            break;
        used += sz;
        prev = batch_at(b, first + n)->time_us;
        n++;
    }
    *bytes = used;
    return n;
}

static void put_samples(struct ns_pw *pw, uint64_t event_id, const struct sample_batch *b,
                        size_t first, size_t n, size_t sample_bytes)
{
    size_t body = uv_size(event_id) + uv_size(n) + sample_bytes;
    unsigned kind = b->with_resource ? NSP_REC_SITE_SAMPLES : NSP_REC_SAMPLES;
    uint8_t *p = record_start(pw->raw + pw->raw_len, kind, body);
    p = uv_put(p, event_id);
    p = uv_put(p, n);
    int64_t prev = 0;
    for (size_t i = first; i < first + n; i++) {
        const struct ns_pw_sample *s = batch_at(b, i);
        p = uv_put(p, nsp_zigzag(s->time_us - prev));
        p = uv_put(p, s->tid);
        p = uv_put(p, s->stack_id);
        p = uv_put(p, s->weight);
        if (b->with_resource)
            p = uv_put(p, batch_resource(b, i));
        prev = s->time_us;
    }
    commit(pw, p);
}

static int samples_valid(const struct sample_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        int64_t t = batch_at(b, i)->time_us;
        if (t < 0 || (uint64_t)t > NSP_MAX_TIME_US)
            return 0;
    }
    return 1;
}

/*
 * Fills the current chunk with as many samples as fit, flushes, and goes on: a batch of
 * any size becomes a run of records, each complete inside one chunk. Each record restarts
 * the delta encoding, so chunks stay independent.
 */
static int write_batch(struct ns_pw *pw, uint64_t event_id, const struct sample_batch *b)
{
    if (pw->error)
        return pw->error;
    if (!samples_valid(b))
        return -EINVAL;
    /* kind + body_len + event_id + count (< 2^21: at most 3 bytes) */
    size_t overhead = PW_REC_OVERHEAD + uv_size(event_id) + 3;
    for (size_t done = 0; done < b->count;) {
        size_t room = ns_pw_room(pw), bytes = 0, n = 0;
        if (room > overhead)
            n = samples_that_fit(b, done, room - overhead, &bytes);
        if (n == 0) {
            if (pw->raw_len == 0)
                return -E2BIG;
            int rc = ns_pw_flush(pw);
            if (rc != 0)
                return rc;
            continue;
        }
        put_samples(pw, event_id, b, done, n, bytes);
        done += n;
    }
    return 0;
}

int ns_pw_samples(struct ns_pw *pw, uint64_t event_id, const struct ns_pw_sample *samples,
                  size_t count)
{
    struct sample_batch b = {(const uint8_t *)samples, sizeof(*samples), count, 0};
    return write_batch(pw, event_id, &b);
}

int ns_pw_site_samples(struct ns_pw *pw, uint64_t event_id, const struct ns_pw_site_sample *samples,
                       size_t count)
{
    struct sample_batch b = {(const uint8_t *)samples, sizeof(*samples), count, 1};
    return write_batch(pw, event_id, &b);
}
