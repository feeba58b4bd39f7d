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
struct stress {
    struct ns_ring ring;
    uint32_t records;
    size_t (*len_of)(uint32_t seq);
};

static void *stress_producer(void *arg)
{
    struct stress *st = arg;
    for (uint32_t i = 0; i < st->records;) {
        size_t len = st->len_of(i);
        uint8_t *p = ns_ring_reserve(&st->ring, len);
        if (!p)
            continue; /* the consumer will make room */
        memset(p, (int)(i & 0xff), len);
        memcpy(p, &i, sizeof(i));
        ns_ring_commit(&st->ring, len);
        i++;
    }
    return NULL;
}

static void stress_run(size_t ring_size, uint32_t records, size_t (*len_of)(uint32_t))
{
    static struct stress st;
    st.records = records;
    st.len_of = len_of;
    cr_assert_eq(ns_ring_init(&st.ring, ring_size), 0);
    pthread_t t;
    pthread_create(&t, NULL, stress_producer, &st);
    for (uint32_t expect = 0; expect < records;) {
        size_t len;
        const uint8_t *p = ns_ring_peek(&st.ring, &len);
        if (!p)
            continue;
        uint32_t seq;
        memcpy(&seq, p, sizeof(seq));
        cr_assert_eq(seq, expect);
        size_t sent = len_of(seq);
        cr_assert_eq(len, (sent + 7) & ~(size_t)7, "record %u: %zu bytes", seq, len);
        for (size_t i = sizeof(seq); i < sent; i += 1 + sent / 64)
            cr_assert_eq(p[i], (uint8_t)(seq & 0xff), "byte %zu of record %u", i, seq);
        ns_ring_release(&st.ring, len);
        expect++;
    }
    pthread_join(t, NULL);
    ns_ring_destroy(&st.ring);
}

static size_t small_records(uint32_t seq)
{
    return 16 + (seq % 13) * 8;
}

Test(ring, concurrent_producer_and_consumer)
{
    stress_run(4096, 200000, small_records);
}

static size_t odd_records(uint32_t seq)
{
    return 16 + (seq * 7919u % 4000);
}

/* A large ring whose consumer often catches up, so that the producer goes back to the start
 * often (and sometimes lags): the same guarantees. */
Test(ring, concurrent_recycling_keeps_order)
{
    stress_run(1u << 20, 100000, odd_records);
}
