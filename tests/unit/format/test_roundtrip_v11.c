/*
 * Format 1.1 through the real writer (sampler/format/profile_writer.c) and back: EVENT flags,
 * RESOURCE, SITE_SAMPLES, HISTOGRAM and SERIES across chunks, field by field with extreme
 * values; then the same kind of file cut at every byte, which must load every complete
 * chunk and nothing else.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nsp_craft.h"
#include "nsp_format.h"
#include "profile_reader.h"
#include "profile_writer.h"

static void ok(int rc)
{
    cr_assert_eq(rc, 0, "writer call failed: %d", rc);
}

static void preamble(struct ns_pw *pw)
{
    struct ns_pw_process p = {.pid = 5, .session = "s", .exe = "/bin/app", .producer = "t"};
    ok(ns_pw_process(pw, &p));
    ok(ns_pw_event_flags(pw, 1, "alloc_bytes", "bytes", 1, NSP_EVENT_AGGREGATE));
    ok(ns_pw_event_flags(pw, 2, "leak_bytes", "bytes", 1,
                         NSP_EVENT_AGGREGATE | NSP_EVENT_SNAPSHOT));
    ok(ns_pw_event(pw, 3, "cpu", "ns", 1000000));
    ok(ns_pw_string(pw, 1, "/bin/app", 8));
    ok(ns_pw_string(pw, 2, "[nsprof]", 8));
    ok(ns_pw_string(pw, 3, "malloc", 6));
    ok(ns_pw_string(pw, 4, "/tmp/a\x1b\xff", 8));
    struct ns_pw_mapping app = {.id = 1, .lo = 0x1000, .hi = 0x9000, .path_id = 1, .flags = 1};
    struct ns_pw_mapping ns = {.id = 2, .path_id = 2, .flags = NSP_MAP_PSEUDO | NSP_MAP_NAMED};
    ok(ns_pw_mapping(pw, &app));
    ok(ns_pw_mapping(pw, &ns));
    struct ns_pw_frame f[2] = {{2, 3}, {1, 0x1234}};
    ok(ns_pw_stack(pw, 1, NSP_END_ROOT, f, 2));
}

static const struct ns_pw_site_sample site[] = {
    {{5, 11, 1, 4096}, 1},
    {{3, 12, 1, UINT64_MAX}, 2}, /* earlier: a negative delta */
    {{(int64_t)NSP_MAX_TIME_US, UINT32_MAX, 0, 0}, 0},
};

static uint64_t big_hist[NSP_MAX_HISTOGRAM_BUCKETS];

static const struct ns_pw_point live[] = {{0, 0}, {2000, 1 << 20}, {1000, UINT64_MAX}};

static struct ns_profile *write_and_read(void)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    cr_assert_geq(fd, 0);
    struct ns_pw pw;
    ok(ns_pw_init(&pw, fd, 1 << 20));
    preamble(&pw);
    ok(ns_pw_resource(&pw, 1, NSP_RES_FILE, 4, 0));
    ok(ns_pw_flush(&pw));
    ok(ns_pw_resource(&pw, 2, NSP_RES_LOCK, 3, 1)); /* refers to chunk 0's ids */
    ok(ns_pw_site_samples(&pw, 1, site, 3));
    for (size_t i = 0; i < NSP_MAX_HISTOGRAM_BUCKETS; i++)
        big_hist[i] = i == 64 ? UINT64_MAX : i * 3;
    ok(ns_pw_histogram(&pw, 1, 11, 1, 1, big_hist, NSP_MAX_HISTOGRAM_BUCKETS));
    ok(ns_pw_series(&pw, "heap_live_bytes", "bytes", live, 2));
    ok(ns_pw_flush(&pw));
    ok(ns_pw_histogram(&pw, 1, 11, 1, 1, (uint64_t[]){1, 1}, 2)); /* the same key again */
    ok(ns_pw_series(&pw, "heap_live_bytes", "bytes", live + 2, 1));
    ok(ns_pw_end(&pw, NSP_EXIT_NORMAL, 0, 7));
    ok(ns_pw_flush(&pw));
    ns_pw_destroy(&pw);
    close(fd);
    struct ns_profile *p = NULL;
    struct ns_read_error err;
    cr_assert_eq(ns_profile_read_file(path, &p, &err, NULL, NULL), 0, "%s", err.msg);
    unlink(path);
    return p;
}

Test(roundtrip_v11, every_new_record_field_by_field)
{
    struct ns_profile *p = write_and_read();
    cr_assert_eq(p->chunks, 3);
    cr_assert_eq(ns_profile_event(p, 1)->flags, NSP_EVENT_AGGREGATE);
    cr_assert_eq(ns_profile_event(p, 2)->flags, NSP_EVENT_AGGREGATE | NSP_EVENT_SNAPSHOT);
    cr_assert_eq(ns_profile_event(p, 3)->flags, 0);
    cr_assert_eq(p->mappings[2].flags, NSP_MAP_PSEUDO | NSP_MAP_NAMED);
    cr_assert_eq(p->frames[p->stacks[1].first].addr, 3, "a named frame's addr is a string id");

    cr_assert_eq(p->nresources, 3);
    cr_assert_eq(p->resources[1].kind, NSP_RES_FILE);
    cr_assert_eq(p->resources[1].name, 4);
    cr_assert_eq(p->resources[2].kind, NSP_RES_LOCK);
    cr_assert_eq(p->resources[2].stack, 1);

    cr_assert_eq(p->samples.n, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(p->samples.event[i], 1);
        cr_assert_eq(p->samples.time_ns[i], site[i].s.time_us * 1000);
        cr_assert_eq(p->samples.tid[i], site[i].s.tid);
        cr_assert_eq(p->samples.stack[i], site[i].s.stack_id);
        cr_assert_eq(p->samples.weight[i], site[i].s.weight);
        cr_assert_eq(p->samples.resource[i], site[i].resource_id);
    }

    cr_assert_eq(p->nhistograms, 1, "two records of one key are one histogram");
    const struct ns_prof_histogram *h = &p->histograms[0];
    cr_assert_eq(h->event, 1);
    cr_assert_eq(h->tid, 11);
    cr_assert_eq(h->stack, 1);
    cr_assert_eq(h->resource, 1);
    cr_assert_eq(h->nbuckets, NSP_MAX_HISTOGRAM_BUCKETS);
    const uint64_t *b = p->hist_buckets + h->first;
    cr_assert_eq(b[0], 1);
    cr_assert_eq(b[1], 4);
    cr_assert_eq(b[2], 6);
    cr_assert_eq(b[64], UINT64_MAX);

    cr_assert_eq(p->nseries, 1);
    const struct ns_prof_series *s = ns_profile_series(p, "heap_live_bytes");
    cr_assert_not_null(s);
    cr_assert_str_eq(s->unit.s, "bytes");
    cr_assert_eq(s->n, 3);
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(p->points[s->first + i].time_ns, live[i].time_us * 1000, "point %zu", i);
        cr_assert_eq(p->points[s->first + i].value, live[i].value, "point %zu", i);
    }
    cr_assert(p->has_end);
    ns_profile_free(p);
}

/* ---- a 1.1 file cut at every byte ---- */

#define GROUPS 5

/* Chunk 0: preamble; chunk k (1..GROUPS): resource k, k site samples on it, a histogram
 * and a series point; the last chunk: END. */
static uint8_t *fixture(size_t *len)
{
    char path[64];
    int fd = craft_tmpfile(path, sizeof path);
    struct ns_pw pw;
    ok(ns_pw_init(&pw, fd, 4096));
    preamble(&pw);
    ok(ns_pw_flush(&pw));
    for (uint64_t k = 1; k <= GROUPS; k++) {
        ok(ns_pw_resource(&pw, k, NSP_RES_FILE, 4, k % 2));
        struct ns_pw_site_sample s[GROUPS];
        for (uint64_t i = 0; i < k; i++)
            s[i] = (struct ns_pw_site_sample){{(int64_t)(k * 100 + i), 11, 1, 8}, k};
        ok(ns_pw_site_samples(&pw, 1, s, k));
        ok(ns_pw_histogram(&pw, 1, 11, 1, k % 2 ? k : 1, (uint64_t[]){k, k}, 2));
        struct ns_pw_point pt = {(int64_t)k, k};
        ok(ns_pw_series(&pw, "heap_live_bytes", "bytes", &pt, 1));
        ok(ns_pw_flush(&pw));
    }
    ok(ns_pw_end(&pw, NSP_EXIT_NORMAL, 0, 99));
    ok(ns_pw_flush(&pw));
    ns_pw_destroy(&pw);
    close(fd);
    uint8_t *data = craft_slurp(path, len);
    unlink(path);
    return data;
}

/* What the first `groups` group chunks must have produced. */
static void check_groups(const struct ns_profile *p, size_t groups, size_t cut)
{
    cr_assert_eq(p->nresources, 1 + groups, "cut %zu", cut);
    cr_assert_eq(p->samples.n, groups * (groups + 1) / 2, "cut %zu", cut);
    for (size_t i = 0; i < p->samples.n; i++)
        cr_assert_lt(p->samples.resource[i], p->nresources, "cut %zu", cut);
    /* Histograms of odd groups have their own resource; even groups use resource 1, the
     * key of group 1's: one key per odd group. */
    cr_assert_eq(p->nhistograms, (groups + 1) / 2, "cut %zu", cut);
    uint64_t total = 0;
    for (size_t i = 0; i < p->nhistograms; i++)
        total += p->hist_buckets[p->histograms[i].first];
    cr_assert_eq(total, groups * (groups + 1) / 2, "cut %zu", cut);
    const struct ns_prof_series *s = ns_profile_series(p, "heap_live_bytes");
    cr_assert_eq(s ? s->n : 0, groups, "cut %zu", cut);
}

Test(roundtrip_v11, cut_at_every_byte_keeps_complete_chunks)
{
    size_t len;
    uint8_t *data = fixture(&len);
    uint64_t offs[GROUPS + 2];
    cr_assert_eq(craft_chunk_offsets(data, len, offs, GROUPS + 2), GROUPS + 2);
    for (size_t cut = 0; cut <= len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, data, cut);
        struct ns_profile *p = NULL;
        struct ns_read_error err;
        cr_assert_eq(ns_profile_read_mem(copy, cut, "cut.nsp", &p, &err), 0, "cut %zu: %s", cut,
                     err.msg);
        size_t k = 0; /* chunks complete before the cut */
        while (k < GROUPS + 2 && (k + 1 < GROUPS + 2 ? offs[k + 1] : len) <= cut)
            k++;
        size_t groups = k <= 1 ? 0 : k - 1 > GROUPS ? GROUPS : k - 1;
        check_groups(p, groups, cut);
        cr_assert_eq(p->has_end, k == GROUPS + 2, "cut %zu", cut);
        ns_profile_free(p);
        free(copy);
    }
    free(data);
}
