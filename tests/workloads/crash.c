/*
 * crash — burns CPU in doomed_work, then dies: "segv" dereferences NULL, "kill" sends
 * itself SIGKILL (which nothing can intercept), "abort" calls abort(), "term" gets the
 * SIGTERM that `kill` sends by default.
 *
 * usage: crash segv|kill|abort|term [cpu-seconds]
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "burn.h"

BURN_FUNCTION(doomed_work, 31)

static volatile uint64_t sink;

int main(int argc, char **argv)
{
    const char *how = argc > 1 ? argv[1] : "segv";
    double seconds = argc > 2 ? atof(argv[2]) : 1.5;
    double end = now_seconds(CLOCK_PROCESS_CPUTIME_ID) + seconds;
    while (now_seconds(CLOCK_PROCESS_CPUTIME_ID) < end)
        sink += doomed_work(20000);
    fflush(stdout);
    if (strcmp(how, "kill") == 0)
        raise(SIGKILL);
    if (strcmp(how, "abort") == 0)
        abort();
    if (strcmp(how, "term") == 0)
        raise(SIGTERM);
    volatile int *null = NULL;
    return *null;
}
