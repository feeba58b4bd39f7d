/* alloc_live's cases, shared by the criterion tests (which run with criterion's threads:
 * the stripes alone) and by alloc_live_solo, a program that runs them while it has one
 * thread (the nursery). The includer defines CHECK(cond, fmt, ...). */
#ifndef NS_TEST_ALLOC_LIVE_CASES_H
#define NS_TEST_ALLOC_LIVE_CASES_H

#include <pthread.h>
#include <stdint.h>

#include "alloc_live.h"

#define BLOCKS 1000

static struct ns_stack_entry *stack_of(uintptr_t addr)
{
    return (struct ns_stack_entry *)(addr * 3 + 1);
}

static uintptr_t addr_of(int i)
{
    return 0x100000 + (uintptr_t)i * 48;
}

static void insert_block(uintptr_t addr)
{
    CHECK(ns_live_insert(addr, addr / 16, stack_of(addr)) == 0, "insert %#lx failed",
          (unsigned long)addr);
}

static void assert_removed(uintptr_t addr)
{
    size_t size = 0;
    struct ns_stack_entry *stack = NULL;
    CHECK(ns_live_remove(addr, &size, &stack), "block %#lx lost", (unsigned long)addr);
    CHECK(size == addr / 16, "block %#lx: size %zu", (unsigned long)addr, size);
    CHECK(stack == stack_of(addr), "block %#lx: wrong stack", (unsigned long)addr);
    CHECK(!ns_live_remove(addr, &size, &stack), "block %#lx found twice", (unsigned long)addr);
}

/* Young blocks (freed right after they were made, or after a few others) and old ones
 * (freed newest first, then oldest first). */
static void case_young_and_old(void)
{
    for (int i = 0; i < BLOCKS; i++) {
        insert_block(addr_of(i));
        if (i % 3 == 2) {
            assert_removed(addr_of(i));
            assert_removed(addr_of(i - 2));
        }
    }
    uint64_t left = ns_live_count();
    CHECK(left == BLOCKS - 2 * (BLOCKS / 3), "%llu blocks counted", (unsigned long long)left);
    for (int i = BLOCKS - 1; i >= BLOCKS / 2; i--)
        if (i % 3 == 1 || i >= 3 * (BLOCKS / 3))
            assert_removed(addr_of(i));
    for (int i = 0; i < BLOCKS / 2; i++)
        if (i % 3 == 1)
            assert_removed(addr_of(i));
    CHECK(ns_live_count() == 0, "%llu blocks left", (unsigned long long)ns_live_count());
}

/* An address made again while its first block is still there (its free went untracked):
 * one entry, the newer, wherever each of them is. */
static void case_address_made_again(void)
{
    insert_block(0x5000);
    insert_block(0x5000);
    for (int i = 0; i < 20; i++) /* push both out of the nursery */
        insert_block(addr_of(i));
    assert_removed(0x5000);
    for (int i = 0; i < 20; i++)
        assert_removed(addr_of(i));
}

static void *free_from_another_thread(void *arg)
{
    int *n = arg;
    for (int i = 0; i < *n; i++)
        assert_removed(addr_of(i));
    return NULL;
}

/* Blocks made while the process had one thread, some still in the nursery when a second
 * thread appears: that thread finds every one of them; then the stripes alone. */
static void case_found_by_a_later_thread(void)
{
    int n = 5; /* fewer than the nursery holds */
    for (int i = 0; i < n; i++)
        insert_block(addr_of(i));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, free_from_another_thread, &n) == 0, "pthread_create");
    pthread_join(t, NULL);
    CHECK(ns_live_count() == 0, "%llu blocks left", (unsigned long long)ns_live_count());
    n = 100;
    for (int i = 0; i < n; i++)
        insert_block(addr_of(i));
    CHECK(pthread_create(&t, NULL, free_from_another_thread, &n) == 0, "pthread_create");
    pthread_join(t, NULL);
    CHECK(ns_live_count() == 0, "%llu blocks left", (unsigned long long)ns_live_count());
}

#endif
