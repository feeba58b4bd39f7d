/* alloc_region: sampled blocks in nsprof's own range — page runs recycled without system
 * calls, metadata out of band, and calloc's zeroing of a reused run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "alloc_region.h"

static struct ns_sampled info_of(size_t size, uint64_t tag)
{
    return (struct ns_sampled){(struct ns_stack_entry *)(uintptr_t)tag, size, size * 10, tag};
}

/* Mappings of this process: a sampled block must not add one. */
static int mapping_count(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

Test(alloc_region, blocks_are_usable_aligned_and_remember_what_they_stand_for)
{
    cr_assert_eq(ns_region_init(), 0);
    struct ns_sampled in = info_of(100, 7);
    char *p = ns_region_alloc(100, 64, 0, &in);
    cr_assert_not_null(p);
    cr_assert(ns_in_region(p));
    cr_assert_eq((uintptr_t)p % 64, 0);
    memset(p, 0xab, 100);
    const struct ns_sampled *got = ns_region_info(p);
    cr_assert_not_null(got);
    cr_assert_eq(got->size, 100);
    cr_assert_eq(got->weight_count, 7);
    struct ns_sampled out;
    ns_region_free(p, &out);
    cr_assert_eq(out.weight_bytes, 1000);
    cr_assert_null(ns_region_info(p), "a freed block is not live");
}

Test(alloc_region, a_buffer_underflow_cannot_touch_the_metadata)
{
    cr_assert_eq(ns_region_init(), 0);
    struct ns_sampled a_in = info_of(5000, 1), b_in = info_of(64, 2);
    char *a = ns_region_alloc(5000, 16, 0, &a_in);
    char *b = ns_region_alloc(64, 16, 0, &b_in);
    cr_assert(a && b);
    /* what a header before b would have held: the program's bytes now */
    if (b > a + 5000 + 64)
        memset(b - 64, 0xff, 64);
    const struct ns_sampled *got = ns_region_info(b);
    cr_assert_not_null(got);
    cr_assert_eq(got->weight_count, 2);
    struct ns_sampled out;
    ns_region_free(b, &out);
    ns_region_free(a, &out);
    cr_assert_eq(out.weight_count, 1);
}

Test(alloc_region, pointers_it_did_not_hand_out_are_ignored)
{
    cr_assert_eq(ns_region_init(), 0);
    struct ns_sampled in = info_of(32, 3), out;
    char *p = ns_region_alloc(32, 16, 0, &in);
    cr_assert_not_null(p);
    ns_region_free(p + 16, &out); /* inside a block */
    cr_assert_null(out.stack);
    cr_assert_not_null(ns_region_info(p), "still live");
    ns_region_free(p, &out);
    ns_region_free(p, &out); /* twice */
    cr_assert_null(out.stack);
}

Test(alloc_region, steady_state_reuses_runs_and_adds_no_mapping)
{
    cr_assert_eq(ns_region_init(), 0);
    enum { LIVE = 3000 };
    static char *live[LIVE];
    struct ns_sampled in = info_of(200, 9), out;
    int before = mapping_count();
    /* thousands of live blocks of assorted sizes: one writable stretch, not one per block */
    for (int i = 0; i < LIVE; i++) {
        live[i] = ns_region_alloc(16 + (size_t)(i % 7) * 1500, 16, 0, &in);
        cr_assert_not_null(live[i]);
    }
    int grown = mapping_count();
    cr_assert_leq(grown - before, 4, "%d mappings before, %d with %d live blocks", before, grown,
                  LIVE);
    uint64_t high = ns_region_bytes();
    /* every other block freed: no hole of another protection splits the writable stretch */
    for (int i = 0; i < LIVE; i += 2)
        ns_region_free(live[i], &out);
    cr_assert_leq(mapping_count() - before, 4, "freed blocks split the range");
    for (int i = 0; i < LIVE; i += 2)
        live[i] = ns_region_alloc(16 + (size_t)(i % 7) * 1500, 16, 0, &in);
    cr_assert_eq(ns_region_bytes(), high);
    /* churn: the same sizes freed and allocated again never need fresh range */
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < LIVE; i += 2) {
            ns_region_free(live[i], &out);
            live[i] = ns_region_alloc(16 + (size_t)(i % 7) * 1500, 16, 0, &in);
            cr_assert_not_null(live[i]);
        }
    }
    cr_assert_eq(ns_region_bytes(), high);
    cr_assert_leq(mapping_count() - before, 4);
    for (int i = 0; i < LIVE; i++)
        ns_region_free(live[i], &out);
    cr_assert_eq(ns_region_bytes(), 0);
}

Test(alloc_region, calloc_gets_zeroes_from_a_reused_run)
{
    cr_assert_eq(ns_region_init(), 0);
    struct ns_sampled in = info_of(3000, 4), out;
    char *p = ns_region_alloc(3000, 16, 0, &in);
    cr_assert_not_null(p);
    memset(p, 0x5a, 3000);
    ns_region_free(p, &out);
    char *q = ns_region_alloc(3000, 16, 1, &in);
    cr_assert_eq(q, p, "the run is reused");
    for (int i = 0; i < 3000; i++)
        cr_assert_eq(q[i], 0, "byte %d", i);
    ns_region_free(q, &out);
}
