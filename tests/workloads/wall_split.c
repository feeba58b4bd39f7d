/*
 * wall_split — wall time split 50/50 between sleeping in wait_phase and computing in
 * compute_phase: each phase lasts a fixed wall-clock slice (the compute phase spins until
 * its slice has passed), so the wall split is about even whatever else the machine does. It
 * prints what its own clocks measured: the CPU time its compute phases got, their wall time
 * and the wall time its waits took (on a busy machine a wait lasts longer, to the moment the
 * thread gets a CPU again, and a compute phase gets less CPU than its wall time, which only
 * a profiler that sees time runnable, with the kernel's switch records, counts as its).
 *
 * usage: wall_split [wall-seconds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "burn.h"

BURN_FUNCTION(spin_step, 0x1234567ull)

static volatile uint64_t sink;

__attribute__((noipa)) void compute_phase(double slice)
{
    double end = now_seconds(CLOCK_MONOTONIC) + slice;
    while (now_seconds(CLOCK_MONOTONIC) < end)
        sink += spin_step(2000);
}

__attribute__((noipa)) void wait_phase(double slice)
{
    double end = now_seconds(CLOCK_MONOTONIC) + slice;
    double left;
    /* nanosleep may return early (EINTR from a wall-mode signal): sleep the rest. */
    while ((left = end - now_seconds(CLOCK_MONOTONIC)) > 0) {
        struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    double end = now_seconds(CLOCK_MONOTONIC) + seconds, cpu = 0, computed = 0, waited = 0;
    while (now_seconds(CLOCK_MONOTONIC) < end) {
        double c0 = now_seconds(CLOCK_THREAD_CPUTIME_ID), t0 = now_seconds(CLOCK_MONOTONIC);
        compute_phase(0.010);
        cpu += now_seconds(CLOCK_THREAD_CPUTIME_ID) - c0;
        double w0 = now_seconds(CLOCK_MONOTONIC);
        computed += w0 - t0;
        wait_phase(0.010);
        waited += now_seconds(CLOCK_MONOTONIC) - w0;
    }
    printf("compute_cpu_ns=%.0f compute_ns=%.0f wait_ns=%.0f\n", cpu * 1e9, computed * 1e9,
           waited * 1e9);
    printf("done\n");
    return 0;
}
