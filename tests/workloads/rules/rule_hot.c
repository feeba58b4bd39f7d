/*
 * rule_hot — hot_function. `fire`: hot_loop takes ~60% of the CPU, eight other functions 5%
 * each. `fixed`: hot_loop takes ~6% and the eight others ~12% each, all below the 20%
 * threshold. Each round of every function costs the same (burn.h), so the shares hold by
 * construction.
 */
#include <stdio.h>
#include <string.h>

#include "../burn.h"

BURN_FUNCTION(part_0, 11)
BURN_FUNCTION(part_1, 12)
BURN_FUNCTION(part_2, 13)
BURN_FUNCTION(part_3, 14)
BURN_FUNCTION(part_4, 15)
BURN_FUNCTION(part_5, 16)
BURN_FUNCTION(part_6, 17)
BURN_FUNCTION(part_7, 18)

/* Written out rather than with BURN_FUNCTION so that its lines are its own. */
__attribute__((noipa)) static uint64_t hot_loop(uint64_t n)
{
    uint64_t x = 1;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

#define ROUNDS 2500000ull /* one unit of work, ~4 ms */

int main(int argc, char **argv)
{
    int fire = argc > 1 && strcmp(argv[1], "fire") == 0;
    uint64_t (*const parts[])(uint64_t) = {part_0, part_1, part_2, part_3,
                                           part_4, part_5, part_6, part_7};
    uint64_t sum = hot_loop((fire ? 96 : 8) * ROUNDS);
    for (int i = 0; i < 8; i++)
        sum += parts[i]((fire ? 8 : 16) * ROUNDS);
    printf("%llu\n", (unsigned long long)sum);
    return 0;
}
