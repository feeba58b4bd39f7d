/*
 * split_cpu — CPU time split 25% / 75% between work_a and work_b by construction, in
 * interleaved slices so that any sampling bias over time cancels out.
 *
 * usage: split_cpu [cpu-seconds] [threads]
 * With threads > 1 every thread (named "split-N") runs the same split.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "burn.h"

BURN_FUNCTION(work_a, 0x9e3779b97f4a7c15ull)
BURN_FUNCTION(work_b, 0xbf58476d1ce4e5b9ull)

static double seconds = 2.0;
static volatile uint64_t sink;

__attribute__((noinline)) static void *run_split(void *arg)
{
    (void)arg;
    double end = now_seconds(CLOCK_THREAD_CPUTIME_ID) + seconds;
    uint64_t acc = 0;
    while (now_seconds(CLOCK_THREAD_CPUTIME_ID) < end) {
        acc += work_a(20000);
        acc += work_b(60000);
    }
    sink = acc;
    return NULL;
}

int main(int argc, char **argv)
{
    int nthreads = argc > 2 ? atoi(argv[2]) : 1;
    if (argc > 1)
        seconds = atof(argv[1]);
    if (nthreads <= 1) {
        run_split(NULL);
    } else {
        pthread_t t[64];
        for (int i = 0; i < nthreads && i < 64; i++) {
            char name[16];
            pthread_create(&t[i], NULL, run_split, NULL);
            snprintf(name, sizeof(name), "split-%d", i);
            pthread_setname_np(t[i], name);
        }
        for (int i = 0; i < nthreads && i < 64; i++)
            pthread_join(t[i], NULL);
    }
    printf("done\n");
    return 0;
}
