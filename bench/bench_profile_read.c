/*
 * bench_profile_read — times loading a .nsp file with ns_profile_read_file, the first step
 * of every offline command: `bench_profile_read FILE [repeats]` prints the best and the
 * median wall time over the repeats, and the best CPU time (steadier on a busy machine),
 * with what was loaded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "profile_reader.h"

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_profile_read FILE [repeats]\n");
        return 2;
    }
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (repeats < 1 || repeats > 1000)
        repeats = 5;
    double *wall = calloc((size_t)repeats, sizeof *wall), best_cpu = 1e9;
    struct ns_profile *p = NULL;
    for (int i = 0; i < repeats && wall; i++) {
        struct ns_read_error err;
        double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        if (ns_profile_read_file(argv[1], &p, &err, NULL, NULL) != 0) {
            fprintf(stderr, "bench_profile_read: %s\n", err.msg);
            return 1;
        }
        wall[i] = now_s(CLOCK_MONOTONIC) - w0;
        double cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
        best_cpu = cpu < best_cpu ? cpu : best_cpu;
        if (i + 1 < repeats)
            ns_profile_free(p);
    }
    if (!wall || !p)
        return 1;
    qsort(wall, (size_t)repeats, sizeof *wall, cmp_double);
    printf("%s: %llu bytes, %llu chunks, %zu samples, %zu stacks, %zu frames, %zu threads: "
           "wall best %.1f ms, median %.1f ms; CPU best %.1f ms (%d loads)\n",
           argv[1], (unsigned long long)p->file_bytes, (unsigned long long)p->chunks, p->samples.n,
           p->nstacks - 1, p->nframes, p->nthreads, wall[0] * 1e3, wall[repeats / 2] * 1e3,
           best_cpu * 1e3, repeats);
    ns_profile_free(p);
    free(wall);
    return 0;
}
