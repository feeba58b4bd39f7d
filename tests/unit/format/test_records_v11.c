/*
 * The records of format 1.1 (EVENT flags, RESOURCE, SITE_SAMPLES, HISTOGRAM, SERIES),
 * crafted by hand: each defect is refused with a message naming the file, the chunk and
 * the record; each ceiling is enforced and its exact value accepted; histograms and series
 * are folded as the format says; and damage inside a correctly framed payload never
 * crashes the reader.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsp_craft.h"
#include "nsp_format.h"
#include "profile_reader.h"

#define U CRAFT_U

static void expect_payload_error(const struct buf *payload, const char *needle)
{
    struct buf file = {0};
    craft_file_with(&file, payload);
    struct ns_profile *p = NULL;
    struct ns_read_error err = {0};
    cr_assert_eq(craft_load(&file, &p, &err), -1, "accepted; expected \"%s\"", needle);
    cr_assert(strstr(err.msg, needle), "\"%s\" lacks \"%s\"", err.msg, needle);
    cr_assert(strncmp(err.msg, "t.nsp: chunk at offset 16: record at offset ", 44) == 0, "%s",
              err.msg);
    cr_assert_eq(err.offset, 16);
    buf_free(&file);
}

static struct ns_profile *expect_payload_loads(const struct buf *payload)
{
    struct buf file = {0};
    craft_file_with(&file, payload);
    struct ns_profile *p = NULL;
    struct ns_read_error err = {0};
    cr_assert_eq(craft_load(&file, &p, &err), 0, "%s", err.msg);
    buf_free(&file);
    return p;
}

/*
 * Strings 1 "/bin/x", 2 "[nsprof]", 3 "malloc", 4 "/tmp/f"; mapping 1 /bin/x, mapping 2
 * [nsprof] with named frames; stack 1 = malloc (named) <- /bin/x+0x10.
 */
static void prelude(struct buf *payload)
{
    craft_string(payload, 1, "/bin/x");
    craft_string(payload, 2, "[nsprof]");
    craft_string(payload, 3, "malloc");
    craft_string(payload, 4, "/tmp/f");
    U(payload, NSP_REC_MAPPING, 1, 0x1000, 0x2000, 0, 1, 0, NSP_MAP_MAIN);
    U(payload, NSP_REC_MAPPING, 2, 0, 0, 0, 2, 0, NSP_MAP_PSEUDO | NSP_MAP_NAMED);
    U(payload, NSP_REC_STACK, 1, NSP_END_ROOT, 2, 2, 3, 1, 0x10);
}

/* A body of u fields followed by raw extra fields, for records with a str in the middle. */
static void series_record(struct buf *payload, const char *name, const char *unit, size_t n,
                          const int64_t *dt, const uint64_t *values)
{
    struct buf body = {0};
    buf_str(&body, name);
    buf_str(&body, unit);
    buf_u(&body, n);
    for (size_t i = 0; i < n; i++) {
        buf_s(&body, dt[i]);
        buf_u(&body, values[i]);
    }
    craft_record(payload, NSP_REC_SERIES, &body);
    buf_free(&body);
}

/* ---- EVENT flags ---- */

Test(records_v11, event_flags_are_read_and_default_to_zero)
{
    struct buf payload = {0}, body = {0};
    buf_u(&body, 1);
    buf_str(&body, "cpu");
    buf_str(&body, "ns");
    buf_u(&body, 1000);
    craft_record(&payload, NSP_REC_EVENT, &body); /* a 1.0 EVENT: no flags field */
    buf_free(&body);
    buf_u(&body, 2);
    buf_str(&body, "leak_bytes");
    buf_str(&body, "bytes");
    buf_u(&body, 1);
    buf_u(&body, NSP_EVENT_AGGREGATE | NSP_EVENT_SNAPSHOT);
    craft_record(&payload, NSP_REC_EVENT, &body);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(ns_profile_event(p, 1)->flags, 0);
    cr_assert_eq(ns_profile_event(p, 2)->flags, 3);
    ns_profile_free(p);
    buf_free(&payload);
    buf_free(&body);
    buf_u(&body, 3);
    buf_str(&body, "io_time");
    buf_str(&body, "ns");
    buf_u(&body, 1);
    buf_u(&body, 1ull << 32); /* a flags field over 2^32 */
    craft_record(&payload, NSP_REC_EVENT, &body);
    expect_payload_error(&payload, "event flags over 2^32");
    buf_free(&payload);
    buf_free(&body);
}

/* ---- RESOURCE ---- */

Test(records_v11, resources_load)
{
    struct buf payload = {0};
    prelude(&payload);
    U(&payload, NSP_REC_RESOURCE, 1, NSP_RES_FILE, 4, 0);
    U(&payload, NSP_REC_RESOURCE, 2, NSP_RES_LOCK, 0, 1);
    U(&payload, NSP_REC_RESOURCE, 3, NSP_RES_UNKNOWN_FD, 1, 0);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->nresources, 4);
    cr_assert_eq(p->resources[0].kind, 0, "entry 0 is the none entry");
    cr_assert_eq(p->resources[1].kind, NSP_RES_FILE);
    cr_assert_eq(p->resources[1].name, 4);
    cr_assert_eq(p->resources[1].stack, 0);
    cr_assert_eq(p->resources[2].kind, NSP_RES_LOCK);
    cr_assert_eq(p->resources[2].stack, 1);
    cr_assert_eq(p->resources[3].kind, NSP_RES_UNKNOWN_FD);
    ns_profile_free(p);
    buf_free(&payload);
}

Test(records_v11, resource_defects)
{
    const struct {
        uint64_t id, kind, name, stack;
        const char *needle;
    } bad[] = {
        {2, NSP_RES_FILE, 1, 0, "resource id 2 out of order (expected 1)"},
        {0, NSP_RES_FILE, 1, 0, "resource id 0 out of order (expected 1)"},
        {1, 0, 1, 0, "unknown resource kind 0"},
        {1, NSP_RES_QUERY + 1, 1, 0, "unknown resource kind 9"},
        {1, NSP_RES_FILE, 99, 0, "reference to undefined string id 99"},
        {1, NSP_RES_LOCK, 1, 2, "reference to undefined stack id 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct buf payload = {0};
        prelude(&payload);
        U(&payload, NSP_REC_RESOURCE, bad[i].id, bad[i].kind, bad[i].name, bad[i].stack);
        expect_payload_error(&payload, bad[i].needle);
        buf_free(&payload);
    }
    struct buf payload = {0};
    prelude(&payload);
    U(&payload, NSP_REC_RESOURCE, 1, NSP_RES_FILE, 1, 0, 5); /* RESOURCE is not extensible */
    expect_payload_error(&payload, "1 bytes left over");
    buf_free(&payload);
    prelude(&payload);
    U(&payload, NSP_REC_RESOURCE, 1, NSP_RES_FILE, 1);
    expect_payload_error(&payload, "cut short by the end of the record");
    buf_free(&payload);
}

/* ---- SITE_SAMPLES ---- */

static void site_samples(struct buf *payload, uint64_t event, size_t n, const int64_t *dt,
                         const uint64_t *fields)
{
    struct buf body = {0};
    buf_u(&body, event);
    buf_u(&body, n);
    for (size_t i = 0; i < n; i++) {
        buf_s(&body, dt[i]);
        for (int k = 0; k < 4; k++)
            buf_u(&body, fields[4 * i + k]); /* tid, stack, weight, resource */
    }
    craft_record(payload, NSP_REC_SITE_SAMPLES, &body);
    buf_free(&body);
}

Test(records_v11, site_samples_store_their_resource)
{
    struct buf payload = {0};
    prelude(&payload);
    U(&payload, NSP_REC_RESOURCE, 1, NSP_RES_FILE, 4, 0);
    U(&payload, NSP_REC_SAMPLES, 5, 1, 6, 7, 1, 100); /* plain: resource 0; dt 3 */
    site_samples(&payload, 6, 2, (int64_t[]){10, -4},
                 (uint64_t[]){7, 1, 4096, 1, UINT32_MAX, 0, UINT64_MAX, 0});
    struct ns_profile *p = expect_payload_loads(&payload);
    const struct ns_prof_samples *s = &p->samples;
    cr_assert_eq(s->n, 3);
    cr_assert_eq(s->resource[0], 0);
    cr_assert_eq(s->event[1], 6);
    cr_assert_eq(s->time_ns[1], 10000);
    cr_assert_eq(s->weight[1], 4096);
    cr_assert_eq(s->resource[1], 1);
    cr_assert_eq(s->time_ns[2], 6000);
    cr_assert_eq(s->tid[2], UINT32_MAX);
    cr_assert_eq(s->weight[2], UINT64_MAX);
    cr_assert_eq(s->resource[2], 0);
    ns_profile_free(p);
    buf_free(&payload);
}

Test(records_v11, site_samples_defects)
{
    const struct {
        int64_t dt;
        uint64_t tid, stack, resource;
        const char *needle;
    } bad[] = {
        {1, 7, 1, 2, "sample 0: reference to undefined resource id 2"},
        {1, 7, 2, 0, "sample 0: reference to undefined stack id 2"},
        {-1, 7, 1, 0, "sample 0 at a time outside the profile"},
        {1, 1ull << 32, 1, 0, "sample 0: tid over 2^32"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct buf payload = {0};
        prelude(&payload);
        U(&payload, NSP_REC_RESOURCE, 1, NSP_RES_FILE, 4, 0);
        site_samples(&payload, 1, 1, &bad[i].dt,
                     (uint64_t[]){bad[i].tid, bad[i].stack, 1, bad[i].resource});
        expect_payload_error(&payload, bad[i].needle);
        buf_free(&payload);
    }
    struct buf payload = {0};
    U(&payload, NSP_REC_SITE_SAMPLES, 1, (uint64_t)NSP_MAX_SAMPLES_PER_RECORD + 1);
    expect_payload_error(&payload, "1048577 samples, over the ceiling of 2^20");
    buf_free(&payload);
    /* 2 entries need at least 10 bytes; 8 are there (a SAMPLES record would fit). */
    U(&payload, NSP_REC_SITE_SAMPLES, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0);
    expect_payload_error(&payload, "sample count larger than the record");
    buf_free(&payload);
    /* A resource defined after the sample that names it. */
    prelude(&payload);
    site_samples(&payload, 1, 1, (int64_t[]){1}, (uint64_t[]){7, 1, 1, 1});
    U(&payload, NSP_REC_RESOURCE, 1, NSP_RES_FILE, 4, 0);
    expect_payload_error(&payload, "undefined resource id 1");
    buf_free(&payload);
    U(&payload, NSP_REC_SITE_SAMPLES, 1, 0); /* empty: fine */
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->samples.n, 0);
    ns_profile_free(p);
    buf_free(&payload);
}

/* ---- HISTOGRAM ---- */

static void histogram(struct buf *payload, uint64_t event, uint64_t tid, uint64_t stack,
                      uint64_t resource, size_t n, const uint64_t *buckets)
{
    struct buf body = {0};
    uint64_t head[] = {event, tid, stack, resource, n};
    for (size_t i = 0; i < 5; i++)
        buf_u(&body, head[i]);
    for (size_t i = 0; i < n; i++)
        buf_u(&body, buckets[i]);
    craft_record(payload, NSP_REC_HISTOGRAM, &body);
    buf_free(&body);
}

static const uint64_t *buckets_of(const struct ns_profile *p, size_t i)
{
    cr_assert_leq(p->histograms[i].first + p->histograms[i].nbuckets, p->nhist_buckets);
    return p->hist_buckets + p->histograms[i].first;
}

Test(records_v11, histograms_with_one_key_add_up)
{
    struct buf payload = {0};
    prelude(&payload);
    U(&payload, NSP_REC_RESOURCE, 1, NSP_RES_FILE, 4, 0);
    histogram(&payload, 21, 7, 1, 1, 3, (uint64_t[]){1, 2, 3});
    histogram(&payload, 21, 7, 1, 0, 1, (uint64_t[]){9}); /* another key: resource 0 */
    histogram(&payload, 21, 7, 1, 1, 5, (uint64_t[]){10, 20, 30, 40, UINT64_MAX});
    histogram(&payload, 21, 7, 1, 1, 2, (uint64_t[]){0, UINT64_MAX}); /* saturates */
    histogram(&payload, 20, 8, 0, 0, 0, NULL);                        /* no buckets */
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->nhistograms, 3);
    /* Sorted by (event, tid, stack, resource). */
    cr_assert_eq(p->histograms[0].event, 20);
    cr_assert_eq(p->histograms[0].nbuckets, 0);
    cr_assert_eq(p->histograms[1].resource, 0);
    cr_assert_eq(p->histograms[1].nbuckets, 1);
    cr_assert_eq(buckets_of(p, 1)[0], 9);
    const struct ns_prof_histogram *h = &p->histograms[2];
    cr_assert_eq(h->event, 21);
    cr_assert_eq(h->tid, 7);
    cr_assert_eq(h->stack, 1);
    cr_assert_eq(h->resource, 1);
    cr_assert_eq(h->nbuckets, 5);
    const uint64_t want[5] = {11, UINT64_MAX, 33, 40, UINT64_MAX};
    for (int i = 0; i < 5; i++)
        cr_assert_eq(buckets_of(p, 2)[i], want[i], "bucket %d", i);
    cr_assert_eq(p->nhist_buckets, 6, "the buckets are compacted");
    ns_profile_free(p);
    buf_free(&payload);
}

Test(records_v11, histogram_of_exactly_65_buckets_loads)
{
    uint64_t b[NSP_MAX_HISTOGRAM_BUCKETS];
    for (size_t i = 0; i < NSP_MAX_HISTOGRAM_BUCKETS; i++)
        b[i] = i;
    struct buf payload = {0};
    prelude(&payload);
    histogram(&payload, 1, 1, 0, 0, NSP_MAX_HISTOGRAM_BUCKETS, b);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->histograms[0].nbuckets, 65);
    cr_assert_eq(buckets_of(p, 0)[64], 64);
    ns_profile_free(p);
    buf_free(&payload);
}

Test(records_v11, histogram_defects)
{
    struct buf payload = {0};
    prelude(&payload);
    U(&payload, NSP_REC_HISTOGRAM, 1, 1, 0, 0, (uint64_t)NSP_MAX_HISTOGRAM_BUCKETS + 1);
    expect_payload_error(&payload, "66 histogram buckets, over the ceiling of 65");
    buf_free(&payload);
    U(&payload, NSP_REC_HISTOGRAM, 1, 1, 0, 0, 4, 1, 1); /* 4 buckets, 2 bytes */
    expect_payload_error(&payload, "bucket count larger than the record");
    buf_free(&payload);
    U(&payload, NSP_REC_HISTOGRAM, 1, 1, 1, 0, 0);
    expect_payload_error(&payload, "reference to undefined stack id 1");
    buf_free(&payload);
    U(&payload, NSP_REC_HISTOGRAM, 1, 1, 0, 1, 0);
    expect_payload_error(&payload, "reference to undefined resource id 1");
    buf_free(&payload);
    U(&payload, NSP_REC_HISTOGRAM, 1, 1ull << 32, 0, 0, 0);
    expect_payload_error(&payload, "tid over 2^32");
    buf_free(&payload);
    U(&payload, NSP_REC_HISTOGRAM, 1ull << 32, 1, 0, 0, 0);
    expect_payload_error(&payload, "event id over 2^32");
    buf_free(&payload);
    U(&payload, NSP_REC_HISTOGRAM, 1, 1, 0, 0, 1, 1, 1);
    expect_payload_error(&payload, "1 bytes left over");
    buf_free(&payload);
    struct buf body = {0};
    buf_put(&body, "\x01\x01\x00\x00\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 16);
    craft_record(&payload, NSP_REC_HISTOGRAM, &body);
    expect_payload_error(&payload, "varint longer than 64 bits");
    buf_free(&payload);
    buf_free(&body);
}

/* Enough records to fold the table several times while reading. */
Test(records_v11, many_histogram_records_fold_while_reading)
{
    struct buf payload = {0};
    for (uint64_t i = 0; i < 5000; i++)
        histogram(&payload, 1, i % 7, 0, 0, 1 + i % 3, (uint64_t[]){1, i, 2});
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->nhistograms, 7);
    for (uint32_t tid = 0; tid < 7; tid++) {
        const struct ns_prof_histogram *h = &p->histograms[tid];
        cr_assert_eq(h->tid, tid);
        uint64_t n = 0, sum1 = 0, n2 = 0;
        for (uint64_t i = tid; i < 5000; i += 7) {
            n++;
            sum1 += i % 3 >= 1 ? i : 0;
            n2 += i % 3 == 2;
        }
        cr_assert_eq(h->nbuckets, 3);
        cr_assert_eq(buckets_of(p, tid)[0], n, "tid %u", tid);
        cr_assert_eq(buckets_of(p, tid)[1], sum1, "tid %u", tid);
        cr_assert_eq(buckets_of(p, tid)[2], 2 * n2, "tid %u", tid);
    }
    ns_profile_free(p);
    buf_free(&payload);
}

/* ---- SERIES ---- */

Test(records_v11, series_points_are_appended_per_name)
{
    struct buf payload = {0};
    series_record(&payload, "heap_live_bytes", "bytes", 2, (int64_t[]){1000, 500},
                  (uint64_t[]){10, 20});
    series_record(&payload, "heap_mapped_bytes", "bytes", 1, (int64_t[]){7}, (uint64_t[]){5});
    series_record(&payload, "heap_live_bytes", "B", 2, (int64_t[]){1200, -1200},
                  (uint64_t[]){UINT64_MAX, 0});
    series_record(&payload, "empty", "count", 0, NULL, NULL);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->nseries, 3);
    const struct ns_prof_series *live = ns_profile_series(p, "heap_live_bytes");
    cr_assert_not_null(live);
    cr_assert_str_eq(live->unit.s, "B", "the last record's unit");
    cr_assert_eq(live->n, 4);
    const int64_t times[4] = {1000000, 1500000, 1200000, 0};
    const uint64_t values[4] = {10, 20, UINT64_MAX, 0};
    for (size_t i = 0; i < 4; i++) {
        cr_assert_eq(p->points[live->first + i].time_ns, times[i], "point %zu", i);
        cr_assert_eq(p->points[live->first + i].value, values[i], "point %zu", i);
    }
    const struct ns_prof_series *mapped = ns_profile_series(p, "heap_mapped_bytes");
    cr_assert_eq(mapped->n, 1);
    cr_assert_eq(p->points[mapped->first].value, 5);
    cr_assert_eq(ns_profile_series(p, "empty")->n, 0);
    cr_assert_null(ns_profile_series(p, "absent"));
    cr_assert_eq(p->npoints, 5);
    ns_profile_free(p);
    buf_free(&payload);
}

Test(records_v11, series_defects)
{
    struct buf payload = {0}, body = {0};
    series_record(&payload, "s", "bytes", 2, (int64_t[]){5, -6}, (uint64_t[]){1, 1});
    expect_payload_error(&payload, "point 1 at a time outside the profile");
    buf_free(&payload);
    series_record(&payload, "s", "bytes", 1, (int64_t[]){(int64_t)NSP_MAX_TIME_US + 1},
                  (uint64_t[]){1});
    expect_payload_error(&payload, "point 0 at a time outside the profile");
    buf_free(&payload);
    buf_str(&body, "s");
    buf_str(&body, "bytes");
    buf_u(&body, (uint64_t)NSP_MAX_SAMPLES_PER_RECORD + 1);
    craft_record(&payload, NSP_REC_SERIES, &body);
    expect_payload_error(&payload, "1048577 points, over the ceiling of 2^20");
    buf_free(&payload);
    buf_free(&body);
    buf_str(&body, "s");
    buf_str(&body, "bytes");
    buf_u(&body, 3);
    buf_u(&body, 0);
    buf_u(&body, 0);
    craft_record(&payload, NSP_REC_SERIES, &body);
    expect_payload_error(&payload, "point count larger than the record");
    buf_free(&payload);
    buf_free(&body);
    buf_u(&body, (uint64_t)NSP_MAX_STR + 1); /* a name over the ceiling */
    craft_record(&payload, NSP_REC_SERIES, &body);
    expect_payload_error(&payload, "string longer than 1 MiB");
    buf_free(&payload);
    buf_free(&body);
}

Test(records_v11, series_of_exactly_the_ceiling_loads)
{
    size_t n = NSP_MAX_SAMPLES_PER_RECORD;
    int64_t *dt = calloc(n, sizeof(*dt));
    uint64_t *v = calloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        dt[i] = 1, v[i] = i;
    struct buf payload = {0};
    series_record(&payload, "big", "count", n, dt, v);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->npoints, n);
    cr_assert_eq(p->points[n - 1].time_ns, (int64_t)n * 1000);
    cr_assert_eq(p->points[n - 1].value, n - 1);
    ns_profile_free(p);
    buf_free(&payload);
    free(dt);
    free(v);
}

/* ---- damage inside a well-framed payload ---- */

/* Every record kind of 1.1, after a prelude. */
static void all_records(struct buf *payload)
{
    prelude(payload);
    U(payload, NSP_REC_RESOURCE, 1, NSP_RES_SOCKET, 4, 1);
    site_samples(payload, 3, 2, (int64_t[]){3, 300}, (uint64_t[]){7, 1, 64, 1, 8, 0, 9, 0});
    histogram(payload, 3, 7, 1, 1, 4, (uint64_t[]){0, 1, 2, 300});
    series_record(payload, "heap_live_bytes", "bytes", 3, (int64_t[]){1, 2, 3},
                  (uint64_t[]){100, 200, 150});
}

static void load_damaged(const struct buf *proc, const uint8_t *records, size_t len)
{
    struct buf payload = {0}, file = {0};
    buf_put(&payload, proc->b, proc->len);
    buf_put(&payload, records, len);
    craft_file_header(&file, NSP_VERSION_MAJOR, 1);
    craft_chunk(&file, 0, &payload);
    struct ns_profile *p = NULL;
    struct ns_read_error err = {0};
    if (craft_load(&file, &p, &err) == 0) {
        /* Whatever loaded, every id it holds points inside its arrays. */
        for (size_t i = 0; i < p->samples.n; i++) {
            cr_assert_lt(p->samples.stack[i], p->nstacks);
            cr_assert_lt(p->samples.resource[i], p->nresources);
        }
        for (size_t i = 1; i < p->nresources; i++)
            cr_assert_lt(p->resources[i].name, p->nstrings);
        for (size_t i = 0; i < p->nhistograms; i++)
            cr_assert_leq(p->histograms[i].first + p->histograms[i].nbuckets, p->nhist_buckets);
        for (size_t i = 0; i < p->nseries; i++)
            cr_assert_leq(p->series[i].first + p->series[i].n, p->npoints);
        ns_profile_free(p);
    } else {
        cr_assert(strncmp(err.msg, "t.nsp: chunk at offset 16: record at offset ", 44) == 0, "%s",
                  err.msg);
    }
    buf_free(&payload);
    buf_free(&file);
}

Test(records_v11, damaged_or_cut_records_never_crash)
{
    struct buf proc = {0}, records = {0};
    craft_process(&proc);
    all_records(&records);
    load_damaged(&proc, records.b, records.len); /* intact: loads */
    static const uint8_t values[] = {0x00, 0x01, 0x7f, 0x80, 0xff};
    uint8_t *copy = malloc(records.len);
    for (size_t pos = 0; pos < records.len; pos++) {
        for (size_t v = 0; v < sizeof values; v++) {
            memcpy(copy, records.b, records.len);
            copy[pos] = values[v];
            load_damaged(&proc, copy, records.len);
        }
        load_damaged(&proc, records.b, pos); /* cut: a record ends early */
    }
    free(copy);
    buf_free(&proc);
    buf_free(&records);
}
