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
 *    the distinct keys — no hash table whose collisions it could choose. HISTOGRAM records
 *    fold the same way but add up; SERIES records are grouped by name once at the end.
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
#include "profile_reader_internal.h"

/* Deflate cannot expand a run by more than this (258-byte matches in ~2 bits). */
#define RD_MAX_INFLATE_RATIO 1032u
#define RD_PROGRESS_EVERY    8 /* chunks between progress callbacks */

/* ---- errors ---- */

int ns_rd_fail(struct rd *r, const char *fmt, ...)
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

const char *ns_rd_why(struct rd *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->msg, sizeof r->msg, fmt, ap);
    va_end(ap);
    return r->msg;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int inflate_payload(struct rd *r, const uint8_t *comp, uint32_t comp_len, uint32_t raw_len)
{
    if (!r->zs_ready) {
        if (inflateInit(&r->zs) != Z_OK)
            return ns_rd_fail(r, "out of memory");
        r->zs_ready = 1;
    } else if (inflateReset(&r->zs) != Z_OK) {
        return ns_rd_fail(r, "inflate reset failed");
    }
    if (raw_len > r->raw_cap) {
        free(r->raw);
        r->raw_cap = 0;
        if (!(r->raw = malloc(raw_len)))
            return ns_rd_fail(r, "out of memory");
        r->raw_cap = raw_len;
    }
    r->zs.next_in = (Bytef *)comp;
    r->zs.avail_in = comp_len;
    r->zs.next_out = r->raw;
    r->zs.avail_out = raw_len;
    int zr = inflate(&r->zs, Z_FINISH);
    if (zr == Z_STREAM_END && r->zs.avail_out != 0)
        return ns_rd_fail(r, "payload inflates to %lu bytes, not raw_len %u", r->zs.total_out,
                          raw_len);
    if (zr == Z_STREAM_END && r->zs.avail_in != 0)
        return ns_rd_fail(r, "%u bytes after the end of the zlib stream", r->zs.avail_in);
    /* Output full with input left: more data. Input used up before the end marker: cut. */
    if (zr == Z_BUF_ERROR && r->zs.avail_in != 0)
        return ns_rd_fail(r, "payload inflates to more than raw_len %u", raw_len);
    if (zr == Z_BUF_ERROR)
        return ns_rd_fail(r, "zlib stream cut short");
    if (zr != Z_STREAM_END)
        return ns_rd_fail(r, "inflate error: %s", r->zs.msg ? r->zs.msg : "unknown");
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
        return ns_rd_fail(r, "bad chunk magic");
    if (have >= 8 && le32(h + 4) != r->p->chunks)
        return ns_rd_fail(r, "chunk seq %u, expected %llu", le32(h + 4),
                          (unsigned long long)r->p->chunks);
    uint32_t comp_len = have >= 12 ? le32(h + 8) : 1, raw_len = have >= 16 ? le32(h + 12) : 1;
    if (comp_len == 0 || comp_len > NSP_MAX_CHUNK_BYTES)
        return ns_rd_fail(r, "comp_len %u outside 1..64 MiB", comp_len);
    if (raw_len == 0 || raw_len > NSP_MAX_CHUNK_BYTES)
        return ns_rd_fail(r, "raw_len %u outside 1..64 MiB", raw_len);
    if (have >= 16 && raw_len / RD_MAX_INFLATE_RATIO > comp_len)
        return ns_rd_fail(r, "raw_len %u impossible for comp_len %u", raw_len, comp_len);
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
        ns_rd_fail(r, "CRC mismatch");
        return -1;
    }
    if (inflate_payload(r, payload, comp_len, raw_len) < 0 ||
        ns_rd_parse_payload(r, r->raw, raw_len) < 0)
        return -1;
    return (int64_t)NSP_CHUNK_HEADER_LEN + comp_len;
}

static int read_file_header(struct rd *r)
{
    size_t have = r->len < NSP_FILE_HEADER_LEN ? r->len : NSP_FILE_HEADER_LEN;
    if (have && memcmp(r->data, NSP_MAGIC, have < NSP_MAGIC_LEN ? have : NSP_MAGIC_LEN) != 0)
        return ns_rd_fail(r, "not an nsprof profile (bad magic)");
    if (have < NSP_FILE_HEADER_LEN) {
        mark_truncated(r, 0);
        return 0;
    }
    const uint8_t *h = r->data;
    if (crc32(0, h, 12) != le32(h + 12))
        return ns_rd_fail(r, "file header CRC mismatch");
    unsigned major = h[8] | h[9] << 8;
    if (major != NSP_VERSION_MAJOR)
        return ns_rd_fail(r, "format version %u.%u is not supported (this reader reads %u.x)",
                          major, h[10] | h[11] << 8, NSP_VERSION_MAJOR);
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
        ns_profile_fold_settings(p) < 0 || ns_profile_fold_counters(p) < 0 ||
        ns_profile_fold_histograms(p) < 0 || ns_profile_fold_series(p) < 0)
        return ns_rd_fail(r, "out of memory");
    if (p->nthreads > NSP_MAX_IDS)
        return ns_rd_fail(r, "more than 2^26 threads");
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
    r.cap_strings = r.cap_mappings = r.cap_stacks = r.cap_resources = 1;
    r.p = ns_profile_new(name);
    int rc = r.p ? read_all(&r) : ns_rd_fail(&r, "out of memory");
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
