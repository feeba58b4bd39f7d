/*
 * profile_reader_internal.h — what the two halves of the reader share: profile_reader.c
 * (the file, its chunks, inflating them) and profile_records.c (the records inside a chunk).
 * Internal to them.
 */
#ifndef NS_PROFILE_READER_INTERNAL_H
#define NS_PROFILE_READER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "profile_reader.h"

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
    size_t cap_resources, cap_histograms, cap_hist_buckets, cap_series, cap_points;
    size_t cap_db_stats, cap_db_buckets;
    char msg[160];
};

/* Cursor over one record body. Reads past the end return 0 and set err once. */
struct cur {
    const uint8_t *p, *end;
    const char *err;
};

/* Fails the load with a message that names the file, the chunk and the record where the
 * reader is. Returns -1. */
int ns_rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Record handlers return NULL or a message; this formats one into the reader's buffer. */
const char *ns_rd_why(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define GROW(arr, cap, need) ns_profile_grow(&(arr), &(cap), (need), sizeof *(arr))

/* Parses the records of one inflated chunk payload into r->p. 0, or -1 (r->err set). */
int ns_rd_parse_payload(struct rd *r, const uint8_t *buf, size_t len);

#endif
