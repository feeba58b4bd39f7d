/*
 * sleep_loop — a loop that waits, then computes, the way real programs do: one call to
 * wait (no retry on EINTR, as most programs write it), then CPU work measured by the thread's
 * own CPU clock. Its own clocks give the truth a profiler must not change: how long each wait
 * lasted, how many returned early, and the share of the run spent waiting.
 *
 * usage: sleep_loop KIND ITERATIONS WAIT_MS COMPUTE_MS
 *   KIND: nanosleep | usleep | poll | select | sleep (whole seconds: WAIT_MS / 1000) |
 *         system (runs `sleep WAIT_MS/1000` through the shell and waits for it)
 * Prints "waited_ns=W computed_ns=C total_ns=T early=E" (early: waits that returned before
 * their time, by the call's own answer or the clock).
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include "burn.h"

BURN_FUNCTION(spin, 0x243f6a8885a308d3ull)

static volatile uint64_t sink;

static uint64_t ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One wait of ms milliseconds; 1 if the call said it ended early. */
__attribute__((noinline)) static int wait_once(const char *kind, unsigned ms)
{
    if (strcmp(kind, "nanosleep") == 0) {
        struct timespec d = {ms / 1000, (long)(ms % 1000) * 1000000L};
        return nanosleep(&d, NULL) != 0;
    }
    if (strcmp(kind, "usleep") == 0)
        return usleep(ms * 1000u) != 0;
    if (strcmp(kind, "poll") == 0)
        return poll(NULL, 0, (int)ms) != 0;
    if (strcmp(kind, "select") == 0) {
        struct timeval tv = {ms / 1000, (long)(ms % 1000) * 1000L};
        return select(0, NULL, NULL, NULL, &tv) != 0;
    }
    if (strcmp(kind, "system") == 0) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "sleep %u.%03u", ms / 1000, ms % 1000);
        return system(cmd) != 0;
    }
    return sleep(ms / 1000) != 0;
}

__attribute__((noinline)) static void compute(unsigned ms)
{
    uint64_t end = ns(CLOCK_THREAD_CPUTIME_ID) + (uint64_t)ms * 1000000ull, acc = 0;
    while (ns(CLOCK_THREAD_CPUTIME_ID) < end)
        acc += spin(5000);
    sink = acc;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: sleep_loop nanosleep|usleep|poll|select|sleep|system ITERATIONS "
                        "WAIT_MS COMPUTE_MS\n");
        return 2;
    }
    const char *kind = argv[1];
    int iterations = atoi(argv[2]);
    unsigned wait_ms = (unsigned)atoi(argv[3]), compute_ms = (unsigned)atoi(argv[4]);
    uint64_t waited = 0, computed = 0, t_start = ns(CLOCK_MONOTONIC);
    int early = 0;
    for (int i = 0; i < iterations; i++) {
        uint64_t t0 = ns(CLOCK_MONOTONIC);
        int said_early = wait_once(kind, wait_ms);
        uint64_t t1 = ns(CLOCK_MONOTONIC);
        compute(compute_ms);
        uint64_t t2 = ns(CLOCK_MONOTONIC);
        waited += t1 - t0;
        computed += t2 - t1;
        if (said_early || t1 - t0 < (uint64_t)wait_ms * 1000000ull)
            early++;
    }
    printf("waited_ns=%llu computed_ns=%llu total_ns=%llu early=%d\n", (unsigned long long)waited,
           (unsigned long long)computed, (unsigned long long)(ns(CLOCK_MONOTONIC) - t_start),
           early);
    return 0;
}
