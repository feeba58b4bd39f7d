/* The SPSC ring between a thread's signal handler and the writer thread. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "ring.h"

static void push(struct ns_ring *r, uint32_t seq, size_t len)
{
    uint8_t *p = ns_ring_reserve(r, len);
    cr_assert_not_null(p, "record %u of %zu bytes refused", seq, len);
    memset(p, (int)(seq & 0xff), len);
    memcpy(p, &seq, sizeof(seq));
    ns_ring_commit(r, len);
}

static uint32_t pop(struct ns_ring *r, size_t expect_len)
{
    size_t len;
    const uint8_t *p = ns_ring_peek(r, &len);
    cr_assert_not_null(p);
    cr_assert_geq(len, expect_len);
    uint32_t seq;
    memcpy(&seq, p, sizeof(seq));
    for (size_t i = sizeof(seq); i < expect_len; i++)
        cr_assert_eq(p[i], (uint8_t)(seq & 0xff), "byte %zu of record %u", i, seq);
    ns_ring_release(r, len);
    return seq;
}

Test(ring, empty_then_fifo)
{
    struct ns_ring r;
    cr_assert_eq(ns_ring_init(&r, 4096), 0);
    size_t len;
    cr_assert_null(ns_ring_peek(&r, &len));
    for (uint32_t i = 0; i < 10; i++)
        push(&r, i, 40 + i);
    for (uint32_t i = 0; i < 10; i++)
        cr_assert_eq(pop(&r, 40 + i), i);
    cr_assert_null(ns_ring_peek(&r, &len));
    ns_ring_destroy(&r);
}

Test(ring, full_ring_refuses_and_keeps_what_it_has)
{
    struct ns_ring r;
    cr_assert_eq(ns_ring_init(&r, 1024), 0);
    uint32_t n = 0;
    while (ns_ring_reserve(&r, 100))
        push(&r, n++, 100);
    cr_assert_gt(n, 5);
    cr_assert_null(ns_ring_reserve(&r, 100), "a full ring refuses, it never overwrites");
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(pop(&r, 100), i);
    ns_ring_destroy(&r);
}

Test(ring, records_never_wrap_and_order_survives_wrapping)
{
    struct ns_ring r;
    cr_assert_eq(ns_ring_init(&r, 1024), 0);
    uint32_t next_push = 0, next_pop = 0;
    /* Odd sizes walk the write position across the end of the buffer many times. */
    for (int round = 0; round < 500; round++) {
        size_t len = 24 + (size_t)(round * 37 % 200);
        while (!ns_ring_reserve(&r, len))
            cr_assert_eq(pop(&r, 24), next_pop++);
        push(&r, next_push++, len);
    }
    while (next_pop < next_push)
        cr_assert_eq(pop(&r, 24), next_pop++);
    ns_ring_destroy(&r);
}

/* A consumer that keeps up keeps the producer in the ring's first 256 KiB: the rest of a
 * large ring is never touched (faulted in) without a backlog, and order survives. */
Test(ring, empty_ring_goes_back_to_its_start)
{
    struct ns_ring r;
    size_t size = 4u << 20;
    cr_assert_eq(ns_ring_init(&r, size), 0);
    uintptr_t highest = 0;
    for (uint32_t i = 0; i < 20000; i++) {
        uint8_t *p = ns_ring_reserve(&r, 1000);
        cr_assert_not_null(p);
        if ((uintptr_t)(p - r.buf) > highest)
            highest = (uintptr_t)(p - r.buf);
        memset(p, (int)(i & 0xff), 1000);
        memcpy(p, &i, sizeof(i));
        ns_ring_commit(&r, 1000);
        cr_assert_eq(pop(&r, 1000), i);
    }
    cr_assert_lt(highest, (256u << 10) + 1016, "the producer went to offset %zu", (size_t)highest);
    /* With a backlog the whole ring is used, in order. */
    for (uint32_t i = 0; i < 4000; i++)
        push(&r, i, 1000);
    for (uint32_t i = 0; i < 4000; i++)
        cr_assert_eq(pop(&r, 1000), i);
    ns_ring_destroy(&r);
}

/* Going back to the start costs no capacity: a consumer that stays away right after the
 * producer recycled still finds the whole ring usable. (The skipped end used to count as
 * used until the consumer's next look: a busy agent's 32 MiB queue then held 256 KiB, and
 * it dropped the records that describe processes.) */
Test(ring, recycled_ring_keeps_its_capacity)
{
    struct ns_ring r;
    size_t size = 1u << 20;
    cr_assert_eq(ns_ring_init(&r, size), 0);
    /* Up to the first 256 KiB and past, then empty: the next record goes back to the start. */
    for (uint32_t i = 0; (r.head & (size - 1)) < (256u << 10); i++) {
        push(&r, i, 1000);
        cr_assert_eq(pop(&r, 1000), i);
    }
    uint32_t n = 0;
    while (ns_ring_reserve(&r, 1000))
        push(&r, n++, 1000);
    cr_assert_geq(n, size / 1008 - 1, "only %u records of 1000 bytes fit in %zu bytes", n, size);
    for (uint32_t i = 0; i < n; i++)
        cr_assert_eq(pop(&r, 1000), i);
    ns_ring_destroy(&r);
}

/* Concurrently, with the consumer often catching up (so the producer recycles often) and
 * sometimes lagging: every record arrives once, in order, intact. */
#define RECYCLE_RECORDS 100000
static struct ns_ring recycling;

static void *recycling_producer(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < RECYCLE_RECORDS;) {
        size_t len = 16 + (i * 7919u % 4000);
        uint8_t *p = ns_ring_reserve(&recycling, len);
        if (!p)
            continue;
        memset(p, (int)(i & 0xff), len);
        memcpy(p, &i, sizeof(i));
        ns_ring_commit(&recycling, len);
        i++;
    }
    return NULL;
}

Test(ring, concurrent_recycling_keeps_order)
{
    cr_assert_eq(ns_ring_init(&recycling, 1u << 20), 0);
    pthread_t t;
    pthread_create(&t, NULL, recycling_producer, NULL);
    for (uint32_t expect = 0; expect < RECYCLE_RECORDS;) {
        size_t len;
        const uint8_t *p = ns_ring_peek(&recycling, &len);
        if (!p)
            continue;
        uint32_t seq;
        memcpy(&seq, p, sizeof(seq));
        cr_assert_eq(seq, expect);
        size_t sent = 16 + (seq * 7919u % 4000);
        cr_assert_eq(len, (sent + 7) & ~(size_t)7, "record %u: %zu bytes", seq, len);
        for (size_t i = sizeof(seq); i < sent; i += 97)
            cr_assert_eq(p[i], (uint8_t)(seq & 0xff), "byte %zu of record %u", i, seq);
        ns_ring_release(&recycling, len);
        expect++;
    }
    pthread_join(t, NULL);
    ns_ring_destroy(&recycling);
}

Test(ring, commit_shorter_than_reserved)
{
    struct ns_ring r;
    cr_assert_eq(ns_ring_init(&r, 4096), 0);
    uint8_t *p = ns_ring_reserve(&r, 2000);
    cr_assert_not_null(p);
    memset(p, 7, 16);
    ns_ring_commit(&r, 16);
    push(&r, 99, 32);
    size_t len;
    const uint8_t *q = ns_ring_peek(&r, &len);
    cr_assert_eq(len, 16, "the record is as long as committed, not as reserved");
    cr_assert_eq(q[0], 7);
    ns_ring_release(&r, len);
    cr_assert_eq(pop(&r, 32), 99);
    ns_ring_destroy(&r);
}

Test(ring, oversized_record_is_refused)
{
    struct ns_ring r;
    cr_assert_eq(ns_ring_init(&r, 1024), 0);
    cr_assert_null(ns_ring_reserve(&r, 2000));
    cr_assert_null(ns_ring_reserve(&r, 1024));
    ns_ring_destroy(&r);
}

/* One producer, one consumer, concurrently: every record arrives once, in order, intact. */
#define STRESS_RECORDS 200000
static struct ns_ring stress;
static uint64_t refused;

static void *producer(void *arg)
{
    (void)arg;
    for (uint32_t i = 0; i < STRESS_RECORDS;) {
        size_t len = 16 + (i % 13) * 8;
        uint8_t *p = ns_ring_reserve(&stress, len);
        if (!p) {
            refused++;
            continue; /* the consumer will make room */
        }
        memset(p, (int)(i & 0xff), len);
        memcpy(p, &i, sizeof(i));
        ns_ring_commit(&stress, len);
        i++;
    }
    return NULL;
}

Test(ring, concurrent_producer_and_consumer)
{
    cr_assert_eq(ns_ring_init(&stress, 4096), 0);
    pthread_t t;
    pthread_create(&t, NULL, producer, NULL);
    for (uint32_t expect = 0; expect < STRESS_RECORDS;) {
        size_t len;
        const uint8_t *p = ns_ring_peek(&stress, &len);
        if (!p)
            continue;
        uint32_t seq;
        memcpy(&seq, p, sizeof(seq));
        cr_assert_eq(seq, expect);
        cr_assert_eq(len, 16 + (seq % 13) * 8);
        for (size_t i = sizeof(seq); i < len; i++)
            cr_assert_eq(p[i], (uint8_t)(seq & 0xff));
        ns_ring_release(&stress, len);
        expect++;
    }
    pthread_join(t, NULL);
    ns_ring_destroy(&stress);
}
