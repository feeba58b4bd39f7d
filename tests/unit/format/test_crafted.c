/*
 * Hand-crafted defects, one per test: each must be refused with a message that names the
 * file, the chunk offset and (for records) the record offset — or, where the format says
 * so (higher minor version, unknown kinds, extensible records), accepted.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "nsp_craft.h"
#include "nsp_format.h"
#include "profile_reader.h"

#define FIRST_CHUNK 16 /* offset of chunk 0 */

static void expect_error(const struct buf *file, const char *needle, uint64_t offset)
{
    struct ns_profile *p = NULL;
    struct ns_read_error err = {0};
    cr_assert_eq(craft_load(file, &p, &err), -1, "accepted; expected \"%s\"", needle);
    cr_assert_null(p);
    cr_assert(strstr(err.msg, needle), "\"%s\" lacks \"%s\"", err.msg, needle);
    cr_assert(strncmp(err.msg, "t.nsp: ", 7) == 0, "%s", err.msg);
    cr_assert_eq(err.offset, offset, "%s", err.msg);
}

/* The payload follows a PROCESS record in the file's only chunk. */
static void expect_payload_error(const struct buf *payload, const char *needle)
{
    struct buf file = {0};
    craft_file_with(&file, payload);
    expect_error(&file, needle, FIRST_CHUNK);
    buf_free(&file);
}

static struct ns_profile *expect_load(const struct buf *file)
{
    struct ns_profile *p = NULL;
    struct ns_read_error err = {0};
    cr_assert_eq(craft_load(file, &p, &err), 0, "%s", err.msg);
    return p;
}

static struct ns_profile *expect_payload_loads(const struct buf *payload)
{
    struct buf file = {0};
    craft_file_with(&file, payload);
    struct ns_profile *p = expect_load(&file);
    buf_free(&file);
    return p;
}

/* A record of u fields: REC_U(payload, kind, field, field...). */
#define REC_U(payload, kind, ...)                                                                  \
    craft_record_u((payload), (kind), sizeof((uint64_t[]){__VA_ARGS__}) / sizeof(uint64_t),        \
                   (uint64_t[]){__VA_ARGS__})

static void rec_string(struct buf *payload, uint64_t id, const char *text)
{
    struct buf body = {0};
    buf_u(&body, id);
    buf_str(&body, text);
    craft_record(payload, NSP_REC_STRING, &body);
    buf_free(&body);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ---- file and chunk framing ---- */

Test(crafted, bad_file_magic)
{
    struct buf file = {0}, payload = {0};
    craft_file_with(&file, &payload);
    file.b[1] = 'X';
    expect_error(&file, "bad magic", 0);
    struct buf text = {0};
    buf_put(&text, "GIF89a", 6);
    expect_error(&text, "bad magic", 0);
    buf_free(&file);
    buf_free(&text);
}

Test(crafted, wrong_major_version_is_refused)
{
    struct buf file = {0}, payload = {0};
    craft_process(&payload);
    craft_file_header(&file, 2, 0);
    craft_chunk(&file, 0, &payload);
    expect_error(&file, "version 2.0 is not supported", 0);
    buf_free(&file);
    buf_free(&payload);
}

Test(crafted, higher_minor_version_and_unknown_kinds_are_accepted)
{
    struct buf file = {0}, payload = {0}, body = {0};
    craft_process(&payload);
    buf_str(&body, "a record kind from version 1.7");
    craft_record(&payload, 99, &body);
    craft_record(&payload, 1ull << 40, &body);
    buf_free(&body);
    craft_record(&payload, 0, &body); /* empty body */
    rec_string(&payload, 1, "after the unknown ones");
    craft_file_header(&file, 1, 7);
    craft_chunk(&file, 0, &payload);
    struct ns_profile *p = expect_load(&file);
    cr_assert_eq(p->nstrings, 2);
    cr_assert_str_eq(p->strings[1].s, "after the unknown ones");
    ns_profile_free(p);
    buf_free(&file);
    buf_free(&payload);
}

static void two_chunks(struct buf *file, uint32_t second_seq, uint64_t *second_off)
{
    struct buf a = {0}, b = {0};
    craft_process(&a);
    rec_string(&b, 1, "x");
    craft_file_header(file, 1, 0);
    craft_chunk(file, 0, &a);
    *second_off = file->len;
    craft_chunk(file, second_seq, &b);
    buf_free(&a);
    buf_free(&b);
}

Test(crafted, chunk_seq_gap_and_repeat)
{
    struct buf file = {0};
    uint64_t off;
    two_chunks(&file, 2, &off);
    expect_error(&file, "chunk seq 2, expected 1", off);
    buf_free(&file);
    two_chunks(&file, 0, &off);
    expect_error(&file, "chunk seq 0, expected 1", off);
    buf_free(&file);
    two_chunks(&file, 1, &off);
    ns_profile_free(expect_load(&file));
    buf_free(&file);
}

Test(crafted, chunk_length_ceilings)
{
    const struct {
        uint32_t comp_len, raw_len;
        const char *needle;
    } cases[] = {
        {0, 10, "comp_len 0 outside"},
        {NSP_MAX_CHUNK_BYTES + 1, 10, "comp_len 67108865 outside"},
        {10, 0, "raw_len 0 outside"},
        {10, NSP_MAX_CHUNK_BYTES + 1, "raw_len 67108865 outside"},
        {10, 20000, "impossible for comp_len 10"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf file = {0}, payload = {0};
        craft_file_with(&file, &payload);
        put_le32(file.b + FIRST_CHUNK + 8, cases[i].comp_len);
        put_le32(file.b + FIRST_CHUNK + 12, cases[i].raw_len);
        expect_error(&file, cases[i].needle, FIRST_CHUNK);
        buf_free(&file);
    }
}

Test(crafted, garbage_after_the_last_chunk)
{
    struct buf file = {0}, payload = {0};
    craft_file_with(&file, &payload);
    uint64_t end = file.len;
    buf_put(&file, "\0\0\0\0\0", 5);
    expect_error(&file, "bad chunk magic", end);
    file.len = end;
    buf_put(&file, "NS\0", 3); /* not a prefix of "NSCK": corruption, not a torn write */
    expect_error(&file, "bad chunk magic", end);
    file.len = end;
    buf_put(&file, "NSC", 3); /* a torn chunk header */
    struct ns_profile *p = expect_load(&file);
    cr_assert(p->truncated);
    cr_assert_eq(p->truncated_at, end);
    ns_profile_free(p);
    buf_free(&file);
}

/* ---- inflate ---- */

static void chunk_from_comp(struct buf *file, const uint8_t *comp, uint32_t comp_len,
                            uint32_t raw_len)
{
    craft_file_header(file, 1, 0);
    craft_chunk_raw(file, 0, comp, comp_len, raw_len);
}

Test(crafted, payload_that_does_not_inflate_to_raw_len)
{
    struct buf payload = {0};
    craft_process(&payload);
    uint8_t comp[512];
    uLongf clen = sizeof comp;
    cr_assert_eq(compress2(comp, &clen, payload.b, payload.len, 6), Z_OK);
    uint32_t raw = (uint32_t)payload.len, c = (uint32_t)clen;
    const struct {
        uint32_t comp_len, raw_len;
        const char *needle;
    } cases[] = {
        {c, raw + 1, "inflates to"},
        {c, raw - 1, "more than raw_len"},
        {c - 3, raw, "cut short"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct buf file = {0};
        chunk_from_comp(&file, comp, cases[i].comp_len, cases[i].raw_len);
        expect_error(&file, cases[i].needle, FIRST_CHUNK);
        buf_free(&file);
    }
    struct buf file = {0};
    memcpy(comp + c, "xyz", 3); /* bytes after the end of the zlib stream */
    chunk_from_comp(&file, comp, c + 3, raw);
    expect_error(&file, "after the end of the zlib stream", FIRST_CHUNK);
    buf_free(&file);
    chunk_from_comp(&file, (const uint8_t *)"definitely not zlib", 19, 19);
    expect_error(&file, "inflate error", FIRST_CHUNK);
    buf_free(&file);
    buf_free(&payload);
}

/* ---- records ---- */

Test(crafted, record_error_names_the_record_offset)
{
    struct buf proc = {0}, payload = {0};
    craft_process(&proc);
    rec_string(&payload, 1, "fine");
    size_t bad_at = proc.len + payload.len;
    REC_U(&payload, NSP_REC_THREAD, 5ull, 1ull, 2ull, 3ull); /* one field too many */
    char needle[96];
    snprintf(needle, sizeof needle,
             "t.nsp: chunk at offset 16: record at offset %zu (kind 6): 1 bytes left over", bad_at);
    expect_payload_error(&payload, needle);
    buf_free(&proc);
    buf_free(&payload);
}

Test(crafted, process_must_come_first_and_once)
{
    struct buf file = {0}, payload = {0};
    rec_string(&payload, 1, "x");
    craft_file_header(&file, 1, 0);
    craft_chunk(&file, 0, &payload);
    expect_error(&file, "does not start with a PROCESS", FIRST_CHUNK);
    buf_free(&file);
    buf_free(&payload);
    craft_process(&payload);
    expect_payload_error(&payload, "PROCESS record after the first");
    buf_free(&payload);
}

Test(crafted, nothing_after_end)
{
    struct buf payload = {0};
    REC_U(&payload, NSP_REC_END, 0ull, 0ull, 1ull);
    rec_string(&payload, 1, "late");
    expect_payload_error(&payload, "record after END");
    buf_free(&payload);
}

/* A failed exec: END(exec) was written, then the process went on. Only a final END counts. */
Test(crafted, records_after_an_exec_end)
{
    struct buf payload = {0};
    REC_U(&payload, NSP_REC_END, (unsigned long long)NSP_EXIT_EXEC, 0ull, 1ull);
    rec_string(&payload, 1, "after the failed exec");
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_expect_eq(p->has_end, 0, "an END(exec) followed by records no longer closes the file");
    cr_expect_eq(p->nstrings, 2);
    ns_profile_free(p);
    REC_U(&payload, NSP_REC_END, 0ull, 3ull, 2ull);
    p = expect_payload_loads(&payload);
    cr_expect_eq(p->has_end, 1);
    cr_expect_eq(p->end_reason, 0);
    cr_expect_eq(p->end_status, 3);
    ns_profile_free(p);
    buf_free(&payload);
}

Test(crafted, ids_out_of_order)
{
    struct buf payload = {0};
    rec_string(&payload, 2, "skips id 1");
    expect_payload_error(&payload, "string id 2 out of order (expected 1)");
    buf_free(&payload);
    rec_string(&payload, 1, "a");
    rec_string(&payload, 1, "a again");
    expect_payload_error(&payload, "string id 1 out of order (expected 2)");
    buf_free(&payload);
    REC_U(&payload, NSP_REC_MAPPING, 0ull, 1ull, 2ull, 0ull, 0ull, 0ull, 0ull);
    expect_payload_error(&payload, "mapping id 0 out of order");
    buf_free(&payload);
    REC_U(&payload, NSP_REC_STACK, 3ull, 0ull, 0ull);
    expect_payload_error(&payload, "stack id 3 out of order");
    buf_free(&payload);
}

Test(crafted, references_to_undefined_ids)
{
    struct buf payload = {0};
    REC_U(&payload, NSP_REC_THREAD, 5ull, 1ull, 0ull);
    rec_string(&payload, 1, "defined too late");
    expect_payload_error(&payload, "undefined string id 1");
    buf_free(&payload);
    REC_U(&payload, NSP_REC_MAPPING, 1ull, 1ull, 2ull, 0ull, 9ull, 0ull, 0ull);
    expect_payload_error(&payload, "undefined string id 9");
    buf_free(&payload);
    REC_U(&payload, NSP_REC_STACK, 1ull, 0ull, 1ull, 1ull, 0x10ull);
    expect_payload_error(&payload, "undefined mapping id 1");
    buf_free(&payload);
    REC_U(&payload, NSP_REC_SAMPLES, 1ull, 1ull, 0ull, 5ull, 1ull, 1ull);
    expect_payload_error(&payload, "undefined stack id 1");
    buf_free(&payload);
}

Test(crafted, over_ceiling_lengths_and_counts)
{
    struct buf payload = {0}, body = {0};
    buf_u(&body, 1);
    buf_u(&body, NSP_MAX_STR + 1); /* claimed, not present: the ceiling is checked first */
    craft_record(&payload, NSP_REC_STRING, &body);
    expect_payload_error(&payload, "string longer than 1 MiB");
    buf_free(&payload);
    buf_free(&body);

    uint8_t bid[NSP_MAX_BUILD_ID + 1] = {0};
    rec_string(&payload, 1, "lib");
    const uint64_t head[] = {1, 0, 16, 0, 1};
    for (size_t i = 0; i < 5; i++)
        buf_u(&body, head[i]);
    buf_bytes(&body, bid, sizeof bid);
    buf_u(&body, 0);
    craft_record(&payload, NSP_REC_MAPPING, &body);
    expect_payload_error(&payload, "bytes field over its ceiling");
    buf_free(&payload);
    buf_free(&body);

    REC_U(&payload, NSP_REC_STACK, 1ull, 0ull, (uint64_t)NSP_MAX_FRAMES + 1);
    expect_payload_error(&payload, "4097 frames, over the ceiling");
    buf_free(&payload);
    REC_U(&payload, NSP_REC_SAMPLES, 1ull, (uint64_t)NSP_MAX_SAMPLES_PER_RECORD + 1);
    expect_payload_error(&payload, "1048577 samples, over the ceiling");
    buf_free(&payload);
    REC_U(&payload, NSP_REC_COUNTERS, (uint64_t)NSP_MAX_COUNTERS_PER_RECORD + 1);
    expect_payload_error(&payload, "4097 counters, over the ceiling");
    buf_free(&payload);
    REC_U(&payload, NSP_REC_SAMPLES, 1ull, 5ull, 0ull); /* 5 samples in 1 byte */
    expect_payload_error(&payload, "sample count larger than the record");
    buf_free(&payload);
}

Test(crafted, string_of_exactly_the_ceiling_loads)
{
    struct buf payload = {0}, body = {0};
    char *big = malloc(NSP_MAX_STR);
    memset(big, 'q', NSP_MAX_STR);
    buf_u(&body, 1);
    buf_bytes(&body, big, NSP_MAX_STR);
    craft_record(&payload, NSP_REC_STRING, &body);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->strings[1].len, NSP_MAX_STR);
    cr_assert_eq(p->strings[1].s[NSP_MAX_STR - 1], 'q');
    ns_profile_free(p);
    free(big);
    buf_free(&payload);
    buf_free(&body);
}

Test(crafted, trailing_bytes_only_in_extensible_records)
{
    struct buf payload = {0};
    REC_U(&payload, NSP_REC_END, 0ull, 0ull, 1ull, 7ull);
    expect_payload_error(&payload, "1 bytes left over");
    buf_free(&payload);
    /* MAPPING and THREAD_STATS may grow fields in later minors (PROCESS too). */
    REC_U(&payload, NSP_REC_MAPPING, 1ull, 1ull, 2ull, 0ull, 0ull, 0ull, 4ull, 99ull, 98ull);
    REC_U(&payload, NSP_REC_THREAD_STATS, 5ull, 10ull, 1ull, 0ull, 1ull, 2ull);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->nmappings, 2);
    cr_assert_eq(p->mappings[1].hi, 2);
    cr_assert_eq(p->mappings[1].flags, 4);
    cr_assert_eq(p->nthreads, 1);
    cr_assert_eq(p->threads[0].cpu_ns, 10);
    ns_profile_free(p);
    buf_free(&payload);
}

Test(crafted, process_with_appended_fields_loads)
{
    struct buf payload = {0}, file = {0};
    craft_process(&payload);
    payload.b[1]++; /* one more byte of body: PROCESS body lengths stay below 128 here */
    buf_put(&payload, "\x05", 1);
    craft_file_header(&file, 1, 0);
    craft_chunk(&file, 0, &payload);
    struct ns_profile *p = expect_load(&file);
    cr_assert_eq(p->process.pid, 77);
    cr_assert_str_eq(p->process.producer.s, "craft");
    ns_profile_free(p);
    buf_free(&payload);
    buf_free(&file);
}

Test(crafted, malformed_record_framing_and_varints)
{
    struct buf payload = {0}, body = {0};
    buf_u(&payload, NSP_REC_STRING);
    buf_u(&payload, 50); /* body runs past the payload */
    buf_put(&payload, "abc", 3);
    expect_payload_error(&payload, "body of 50 bytes runs past the end");
    buf_free(&payload);
    buf_put(&payload, "\x85", 1); /* kind varint cut by the end of the chunk */
    expect_payload_error(&payload, "record header cut short");
    buf_free(&payload);
    buf_put(&body, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11);
    craft_record(&payload, NSP_REC_THREAD_STATS, &body);
    expect_payload_error(&payload, "varint longer than 64 bits");
    buf_free(&payload);
    buf_free(&body);
    buf_put(&body, "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11); /* 2^64 + ... */
    craft_record(&payload, NSP_REC_THREAD_STATS, &body);
    expect_payload_error(&payload, "varint longer than 64 bits");
    buf_free(&payload);
    buf_free(&body);
    buf_put(&body, "\x01\x02", 2); /* END cut short */
    craft_record(&payload, NSP_REC_END, &body);
    expect_payload_error(&payload, "cut short by the end of the record");
    buf_free(&payload);
    buf_free(&body);
}

Test(crafted, largest_varint_is_accepted)
{
    struct buf payload = {0}, body = {0};
    buf_put(&body, "\x02\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
    craft_record(&payload, NSP_REC_END, &body);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->end_reason, 2);
    cr_assert_eq(p->end_status, 1);
    cr_assert_eq(p->end_mono_ns, UINT64_MAX);
    ns_profile_free(p);
    buf_free(&payload);
    buf_free(&body);
}

static void samples_record(struct buf *payload, int64_t dt1, int64_t dt2, uint64_t tid)
{
    struct buf body = {0};
    buf_u(&body, 1);
    buf_u(&body, 2);
    buf_s(&body, dt1);
    buf_u(&body, tid);
    buf_u(&body, 0);
    buf_u(&body, 1);
    buf_s(&body, dt2);
    buf_u(&body, tid);
    buf_u(&body, 0);
    buf_u(&body, 1);
    craft_record(payload, NSP_REC_SAMPLES, &body);
    buf_free(&body);
}

Test(crafted, sample_times_and_tids_out_of_range)
{
    const int64_t max = (int64_t)NSP_MAX_TIME_US;
    const struct {
        int64_t dt1, dt2;
        uint64_t tid;
        const char *needle;
    } bad[] = {
        {-1, 0, 1, "sample 0 at a time outside the profile"},
        {5, -6, 1, "sample 1 at a time outside the profile"},
        {max, 1, 1, "sample 1 at a time outside the profile"},
        {INT64_MIN, 0, 1, "sample 0 at a time outside"},
        {INT64_MAX, INT64_MAX, 1, "sample 0 at a time outside"},
        {1, 1, 1ull << 32, "tid over 2^32"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct buf payload = {0};
        samples_record(&payload, bad[i].dt1, bad[i].dt2, bad[i].tid);
        expect_payload_error(&payload, bad[i].needle);
        buf_free(&payload);
    }
    struct buf payload = {0};
    samples_record(&payload, max, -max, UINT32_MAX);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->samples.time_ns[0], max * 1000);
    cr_assert_eq(p->samples.time_ns[1], 0);
    cr_assert_eq(p->samples.tid[1], UINT32_MAX);
    ns_profile_free(p);
    buf_free(&payload);
}

/* Found by the fuzzer: an empty SAMPLES record before any sample did NULL + 0. */
Test(crafted, empty_samples_records_load)
{
    struct buf payload = {0};
    REC_U(&payload, NSP_REC_SAMPLES, 1ull, 0ull);
    REC_U(&payload, NSP_REC_SAMPLES, 2ull, 1ull, 2ull, 3ull, 0ull, 4ull);
    REC_U(&payload, NSP_REC_SAMPLES, 1ull, 0ull);
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->samples.n, 1);
    cr_assert_eq(p->samples.event[0], 2);
    cr_assert_eq(p->samples.time_ns[0], 1000);
    cr_assert_eq(p->samples.tid[0], 3);
    cr_assert_eq(p->samples.weight[0], 4);
    ns_profile_free(p);
    buf_free(&payload);
}

Test(crafted, bad_stack_end_and_mapping_span)
{
    struct buf payload = {0};
    REC_U(&payload, NSP_REC_STACK, 1ull, (uint64_t)NSP_END__COUNT, 0ull);
    expect_payload_error(&payload, "unknown stack end 7");
    buf_free(&payload);
    REC_U(&payload, NSP_REC_MAPPING, 1ull, 9ull, 8ull, 0ull, 0ull, 0ull, 0ull);
    expect_payload_error(&payload, "mapping lo above hi");
    buf_free(&payload);
}

Test(crafted, last_one_wins_under_many_repeats)
{
    /* Enough repeats to force several folds of the tables while reading. */
    struct buf payload = {0};
    rec_string(&payload, 1, "name");
    for (uint64_t i = 0; i < 5000; i++) {
        REC_U(&payload, NSP_REC_THREAD_STATS, i % 7, i, i, 0ull);
        REC_U(&payload, NSP_REC_THREAD, i % 5, i % 2, i);
        struct buf body = {0};
        buf_u(&body, 1);
        buf_str(&body, i % 2 ? "odd" : "even");
        buf_u(&body, i);
        craft_record(&payload, NSP_REC_COUNTERS, &body);
        buf_free(&body);
    }
    struct ns_profile *p = expect_payload_loads(&payload);
    cr_assert_eq(p->nthreads, 7);
    for (uint32_t tid = 0; tid < 7; tid++) {
        const struct ns_prof_thread *t = ns_profile_thread(p, tid);
        cr_assert_not_null(t);
        uint64_t last_stats = 4999 - (4999 - tid) % 7; /* largest i < 5000 with i % 7 == tid */
        cr_assert_eq(t->cpu_ns, last_stats, "tid %u", tid);
        if (tid < 5) {
            uint64_t last = 4999 - (4999 - tid) % 5;
            cr_assert_eq(t->start_mono_ns, last, "tid %u", tid);
            cr_assert_eq(t->name, last % 2, "tid %u", tid);
        } else {
            cr_assert_eq(t->name, 0);
        }
    }
    cr_assert_eq(p->ncounters, 2);
    cr_assert_eq(ns_profile_counter(p, "odd"), 4999);
    cr_assert_eq(ns_profile_counter(p, "even"), 4998);
    ns_profile_free(p);
    buf_free(&payload);
}
