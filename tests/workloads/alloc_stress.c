/*
 * alloc_stress — threads allocating and freeing at full speed, each freeing blocks another
 * thread allocated (a shared mailbox of pointers), so the live table sees inserts and removes
 * of the same addresses from different threads at once.
 *
 *   alloc_stress [threads] [allocations per thread]     (default 4, 200000)
 *
 * Known by construction: every thread makes exactly N allocations from churn() (sizes 16,
 * 32, ... 112 bytes in turn) and 5 of 256 bytes from keep_some(), which leak; everything
 * else is freed. Prints the expected totals, so the test need not repeat the arithmetic.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAILBOX 1024
#define LEAKS   5

static void *mailbox[MAILBOX];
static long per_thread = 200000;
static void *volatile kept[64 * LEAKS];

static size_t size_of(long i)
{
    return 16 * (size_t)(1 + i % 7);
}

__attribute__((noinline)) static void churn(unsigned seed)
{
    for (long i = 0; i < per_thread; i++) {
        void *p = malloc(size_of(i));
        if (!p)
            abort();
        ((volatile char *)p)[0] = (char)i;
        seed = seed * 1103515245u + 12345u;
        void *old = __atomic_exchange_n(&mailbox[(seed >> 8) % MAILBOX], p, __ATOMIC_ACQ_REL);
        free(old);
    }
}

__attribute__((noinline)) static void keep_some(int t)
{
    for (int i = 0; i < LEAKS; i++)
        kept[t * LEAKS + i] = malloc(256);
}

struct worker {
    pthread_t id;
    int index;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    churn(0x9e3779b9u * (unsigned)(w->index + 1));
    keep_some(w->index);
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        per_thread = atol(argv[2]);
    if (threads < 1 || threads > 64 || per_thread < 1) {
        fprintf(stderr, "usage: alloc_stress [threads 1-64] [allocations per thread]\n");
        return 2;
    }
    struct worker w[64];
    for (int i = 0; i < threads; i++) {
        w[i].index = i;
        if (pthread_create(&w[i].id, NULL, work, &w[i]) != 0)
            return 1;
    }
    for (int i = 0; i < threads; i++)
        pthread_join(w[i].id, NULL);
    for (int i = 0; i < MAILBOX; i++)
        free(mailbox[i]);
    unsigned long long bytes = 0;
    for (long i = 0; i < per_thread; i++)
        bytes += size_of(i);
    printf("churn allocations %lld bytes %llu\n", (long long)threads * per_thread,
           bytes * (unsigned long long)threads);
    printf("leaked allocations %d bytes %d\n", threads * LEAKS, threads * LEAKS * 256);
    return 0;
}
