/*
 * wall_split — wall time split 50/50 between sleeping in wait_phase and computing in
 * compute_phase: each phase lasts a fixed wall-clock slice (the compute phase spins until
 * its slice has passed), so the wall split is exact whatever else the machine does.
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
    double end = now_seconds(CLOCK_MONOTONIC) + seconds;
    while (now_seconds(CLOCK_MONOTONIC) < end) {
        compute_phase(0.010);
        wait_phase(0.010);
    }
    printf("done\n");
    return 0;
}
