/*
 * rule_lock — lock_contention. Eight threads each do 100 units of work (~0.25 ms each).
 * `fire`: worker_locked() does each unit while holding one shared mutex, so the threads
 * queue for it. `fixed`: worker_local() works on its own and takes the mutex once, to add
 * its result.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "../burn.h"

#define THREADS     8
#define UNITS       100
#define UNIT_ROUNDS 150000ull

BURN_FUNCTION(unit_of_work, 7)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t total;

__attribute__((noipa)) static void *worker_locked(void *arg)
{
    (void)arg;
    for (int i = 0; i < UNITS; i++) {
        pthread_mutex_lock(&lock);
        total += unit_of_work(UNIT_ROUNDS);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

__attribute__((noipa)) static void *worker_local(void *arg)
{
    (void)arg;
    uint64_t mine = 0;
    for (int i = 0; i < UNITS; i++)
        mine += unit_of_work(UNIT_ROUNDS);
    pthread_mutex_lock(&lock);
    total += mine;
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(int argc, char **argv)
{
    void *(*worker)(void *) =
        argc > 1 && strcmp(argv[1], "fire") == 0 ? worker_locked : worker_local;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, NULL) != 0)
            return 1;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    printf("%llu\n", (unsigned long long)total);
    return 0;
}
