/*
 * short_threads — 50 short-lived threads, one after another: thread i names itself
 * "short-NN", burns about 3 ms of its own CPU time in short_burn, and exits; the main
 * thread only creates and joins them. A profiler that needs time to notice a new thread
 * misses most of their samples.
 *
 * usage: short_threads [threads [cpu-ms-each]]   (default 50 3)
 * Prints "threads=N cpu_ns=TOTAL" (TOTAL: CPU time the threads' loops measured, summed) and
 * one "tid NN TID cpu_ns=X" line per thread.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "burn.h"

BURN_FUNCTION(short_burn, 41)

struct job {
    int index;
    double ms;
    int tid;
    double cpu_ns;
    uint64_t sink;
};

static void *run(void *arg)
{
    struct job *job = arg;
    char name[16];
    snprintf(name, sizeof name, "short-%02d", job->index);
    pthread_setname_np(pthread_self(), name);
    job->tid = gettid();
    double start = now_seconds(CLOCK_THREAD_CPUTIME_ID);
    double end = start + job->ms * 1e-3;
    double now;
    do {
        job->sink += short_burn(20000);
        now = now_seconds(CLOCK_THREAD_CPUTIME_ID);
    } while (now < end);
    job->cpu_ns = (now - start) * 1e9;
    return NULL;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 50;
    double ms = argc > 2 ? atof(argv[2]) : 3;
    if (n < 1 || n > 1000)
        n = 50;
    struct job *jobs = calloc((size_t)n, sizeof *jobs);
    double total = 0;
    for (int i = 0; i < n; i++) {
        jobs[i].index = i;
        jobs[i].ms = ms;
        pthread_t th;
        if (pthread_create(&th, NULL, run, &jobs[i]) != 0 || pthread_join(th, NULL) != 0) {
            fprintf(stderr, "short_threads: thread %d failed\n", i);
            return 1;
        }
        total += jobs[i].cpu_ns;
    }
    printf("threads=%d cpu_ns=%.0f\n", n, total);
    for (int i = 0; i < n; i++)
        printf("tid %02d %d cpu_ns=%.0f\n", i, jobs[i].tid, jobs[i].cpu_ns);
    free(jobs);
    return 0;
}
