/*
 * cancel_blocked — four threads cancelled while blocked: in read() of an empty pipe, in
 * pthread_cond_wait, in nanosleep, in poll. None of their calls ever returns, so a profiler
 * that counts a wait when the call returns never sees them; the waits still lasted from the
 * thread's block to its cancellation (HOLD_MS, by the main thread's clock). Their cleanup
 * handlers must run and pthread_join must say they were cancelled, as unprofiled.
 *
 * usage: cancel_blocked [HOLD_MS]
 * Prints "victimN cancelled cleanup" for each, then "held_ns=H".
 */
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int pfd[2];
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int cleaned[4];
static pthread_barrier_t ready;

static void cleanup(void *a)
{
    cleaned[(long)a] = 1;
}

static void unlock(void *a)
{
    (void)a;
    pthread_mutex_unlock(&m);
}

__attribute__((noinline)) static void blocked_read(void)
{
    char c;
    if (read(pfd[0], &c, 1) < 0)
        perror("read");
}

__attribute__((noinline)) static void blocked_cond(void)
{
    pthread_mutex_lock(&m);
    pthread_cleanup_push(unlock, NULL);
    for (;;)
        pthread_cond_wait(&cv, &m);
    pthread_cleanup_pop(1);
}

__attribute__((noinline)) static void blocked_sleep(void)
{
    struct timespec d = {1000, 0};
    nanosleep(&d, NULL);
}

__attribute__((noinline)) static void blocked_poll(void)
{
    struct pollfd p = {pfd[0], POLLIN, 0};
    poll(&p, 1, 1000000);
}

static void *victim(void *a)
{
    long i = (long)a;
    char name[16];
    snprintf(name, sizeof(name), "victim%ld", i);
    pthread_setname_np(pthread_self(), name);
    pthread_cleanup_push(cleanup, a);
    pthread_barrier_wait(&ready);
    if (i == 0)
        blocked_read();
    else if (i == 1)
        blocked_cond();
    else if (i == 2)
        blocked_sleep();
    else
        blocked_poll();
    pthread_cleanup_pop(0);
    return NULL;
}

static uint64_t ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    unsigned hold_ms = argc > 1 ? (unsigned)atoi(argv[1]) : 200;
    if (pipe(pfd) != 0)
        return 1;
    pthread_barrier_init(&ready, NULL, 5);
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, victim, (void *)i);
    pthread_barrier_wait(&ready);
    uint64_t t0 = ns();
    struct timespec d = {hold_ms / 1000, (long)(hold_ms % 1000) * 1000000L};
    while (nanosleep(&d, &d) != 0)
        ;
    for (int i = 0; i < 4; i++)
        pthread_cancel(t[i]);
    for (int i = 0; i < 4; i++) {
        void *r;
        pthread_join(t[i], &r);
        printf("victim%d %s %s\n", i, r == PTHREAD_CANCELED ? "cancelled" : "NOT-cancelled",
               cleaned[i] ? "cleanup" : "NO-cleanup");
    }
    printf("held_ns=%llu\n", (unsigned long long)(ns() - t0));
    return 0;
}
