/*
 * lock_hammer — two threads taking a mutex as fast as they can, each ROUNDS times, around a
 * one-line critical section: `shared` (one mutex for both: most of their time goes to
 * bouncing its cache line and to short futex waits, while the time either thread spends
 * blocked stays small) or `apart` (a mutex each: no contention at all). Every lock call is
 * made after both threads exist, so each thread makes exactly ROUNDS of them.
 *
 * usage: lock_hammer shared|apart [ROUNDS]
 * Prints "lock_calls=N" (both threads' calls).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t locks[2] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};
static long rounds = 2000000;
static int shared;
static volatile long counter[2 * 16];
static pthread_barrier_t start;

__attribute__((noinline)) static void *hammer(void *arg)
{
    int me = (int)(long)arg;
    pthread_mutex_t *m = &locks[shared ? 0 : me];
    pthread_barrier_wait(&start);
    for (long i = 0; i < rounds; i++) {
        pthread_mutex_lock(m);
        counter[shared ? 0 : 16 * me]++;
        pthread_mutex_unlock(m);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "shared") != 0 && strcmp(argv[1], "apart") != 0)) {
        fprintf(stderr, "usage: lock_hammer shared|apart [ROUNDS]\n");
        return 2;
    }
    shared = strcmp(argv[1], "shared") == 0;
    if (argc > 2)
        rounds = atol(argv[2]);
    pthread_barrier_init(&start, NULL, 2);
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, hammer, (void *)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("lock_calls=%ld\n", 2 * rounds);
    return 0;
}
