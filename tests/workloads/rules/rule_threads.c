/*
 * rule_threads — waiting_for_cpu. `fire`: three CPU-bound threads per online CPU, each
 * burning 0.25 s of CPU, so that each waits for a CPU about twice as long as it runs.
 * `fixed`: one such thread per two CPUs (at least one): nobody waits. The work is spread
 * over eight functions of equal cost (burn.h) so that no function is hot by itself, called in
 * a pseudo-random order: in a fixed order the loop is periodic, and a sampling clock whose
 * period is near a multiple of the loop's sees one function far more often than its share
 * (a CI run once found 24% of the samples in one of the eight).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../burn.h"

BURN_FUNCTION(part_0, 21)
BURN_FUNCTION(part_1, 22)
BURN_FUNCTION(part_2, 23)
BURN_FUNCTION(part_3, 24)
BURN_FUNCTION(part_4, 25)
BURN_FUNCTION(part_5, 26)
BURN_FUNCTION(part_6, 27)
BURN_FUNCTION(part_7, 28)

static volatile uint64_t sink;

static void *worker(void *arg)
{
    (void)arg;
    uint64_t (*const parts[])(uint64_t) = {part_0, part_1, part_2, part_3,
                                           part_4, part_5, part_6, part_7};
    double end = now_seconds(CLOCK_THREAD_CPUTIME_ID) + 0.25;
    uint64_t acc = 0, order = (uint64_t)(uintptr_t)&acc | 1; /* xorshift state, per thread */
    while (now_seconds(CLOCK_THREAD_CPUTIME_ID) < end) {
        order ^= order << 13;
        order ^= order >> 7;
        order ^= order << 17;
        acc += parts[order % 8](20000);
    }
    sink = acc;
    return NULL;
}

int main(int argc, char **argv)
{
    int fire = argc > 1 && strcmp(argv[1], "fire") == 0;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus < 1)
        cpus = 1;
    long n = fire ? 3 * cpus : (cpus / 2 > 0 ? cpus / 2 : 1);
    if (n > 256)
        n = 256;
    pthread_t t[256];
    for (long i = 0; i < n; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (long i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    printf("rule_threads: %ld threads on %ld CPUs\n", n, cpus);
    return 0;
}
