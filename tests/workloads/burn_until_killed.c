/*
 * burn_until_killed — a single-threaded CPU burner that is meant to be killed: it prints
 * "pid N" (and flushes), then burns CPU in killed_burn until it has used a cap of CPU time
 * (default 60 s, a safety net should nobody kill it) and exits 0.
 *
 * usage: burn_until_killed [cap-cpu-seconds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "burn.h"

BURN_FUNCTION(killed_burn, 37)

static volatile uint64_t sink;

int main(int argc, char **argv)
{
    double cap = argc > 1 ? atof(argv[1]) : 60;
    printf("pid %d\n", (int)getpid());
    fflush(stdout);
    double end = now_seconds(CLOCK_PROCESS_CPUTIME_ID) + cap;
    while (now_seconds(CLOCK_PROCESS_CPUTIME_ID) < end)
        sink += killed_burn(20000);
    return 0;
}
