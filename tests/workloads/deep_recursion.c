/*
 * deep_recursion — spends its CPU time at the bottom of a recursion DEPTH frames deep
 * (default 300, more than the 128 the unwinder must at least handle), through functions
 * that keep no frame pointer.
 *
 * usage: deep_recursion [depth] [cpu-seconds]
 */
#include <stdio.h>
#include <stdlib.h>

#include "burn.h"

BURN_FUNCTION(leaf_work, 7)

static volatile uint64_t sink;
static double seconds = 1.5;

__attribute__((noipa)) uint64_t descend(int depth)
{
    if (depth > 0) {
        /* A volatile local read after the call: gcc can neither turn this recursion into a
         * loop nor make it a tail call, so every level keeps a frame on the stack. */
        volatile uint64_t level = (uint64_t)depth;
        uint64_t r = descend(depth - 1);
        return r + level;
    }
    double end = now_seconds(CLOCK_PROCESS_CPUTIME_ID) + seconds;
    uint64_t acc = 0;
    while (now_seconds(CLOCK_PROCESS_CPUTIME_ID) < end)
        acc += leaf_work(20000);
    return acc;
}

int main(int argc, char **argv)
{
    int depth = argc > 1 ? atoi(argv[1]) : 300;
    if (argc > 2)
        seconds = atof(argv[2]);
    sink = descend(depth);
    printf("done\n");
    return 0;
}
