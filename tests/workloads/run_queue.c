/*
 * run_queue — off-CPU time known by construction, measured by each thread with its own
 * clocks: four CPU-bound threads ("burn-N") on a machine of fewer cores wait for a CPU
 * (runnable) for about their wall time minus their CPU time; a "sleeper" thread blocks in
 * nanosleep for a known total; the main thread blocks in pthread_join meanwhile.
 *
 * usage: run_queue [cpu-seconds-per-burner] [burners]
 * Prints, per thread, "thread TID NAME wall_ns=W cpu_ns=C" from its first to its last
 * instruction of work (CLOCK_MONOTONIC and CLOCK_THREAD_CPUTIME_ID).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "burn.h"

BURN_FUNCTION(spin, 0x9e3779b97f4a7c15ull)

static double cpu_seconds = 0.4;
static volatile uint64_t sink;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void report(const char *name, uint64_t wall0, uint64_t cpu0)
{
    uint64_t wall = ns(CLOCK_MONOTONIC) - wall0, cpu = ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    pthread_mutex_lock(&print_lock);
    printf("thread %ld %s wall_ns=%llu cpu_ns=%llu\n", (long)syscall(SYS_gettid), name,
           (unsigned long long)wall, (unsigned long long)cpu);
    fflush(stdout);
    pthread_mutex_unlock(&print_lock);
}

__attribute__((noinline)) static void *burner(void *arg)
{
    char name[16];
    snprintf(name, sizeof(name), "burn-%d", (int)(intptr_t)arg);
    pthread_setname_np(pthread_self(), name);
    uint64_t wall0 = ns(CLOCK_MONOTONIC), cpu0 = ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t end = cpu0 + (uint64_t)(cpu_seconds * 1e9), acc = 0;
    while (ns(CLOCK_THREAD_CPUTIME_ID) < end)
        acc += spin(20000);
    sink = acc;
    report(name, wall0, cpu0);
    return NULL;
}

__attribute__((noinline)) static void *sleeper(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "sleeper");
    uint64_t wall0 = ns(CLOCK_MONOTONIC), cpu0 = ns(CLOCK_THREAD_CPUTIME_ID);
    for (int i = 0; i < 10; i++) {
        struct timespec d = {0, 20000000};
        while (nanosleep(&d, &d) != 0) /* the rest of an interrupted sleep, if any */
            ;
    }
    report("sleeper", wall0, cpu0);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        cpu_seconds = atof(argv[1]);
    int burners = argc > 2 ? atoi(argv[2]) : 4;
    if (burners < 0 || burners > 64 || cpu_seconds <= 0) {
        fprintf(stderr, "usage: run_queue [cpu-seconds-per-burner] [burners (0-64)]\n");
        return 2;
    }
    pthread_t t[65];
    for (int i = 0; i < burners; i++)
        pthread_create(&t[i], NULL, burner, (void *)(intptr_t)i);
    pthread_create(&t[burners], NULL, sleeper, NULL);
    for (int i = 0; i <= burners; i++)
        pthread_join(t[i], NULL);
    return 0;
}
