/*
 * same_name_a / same_name_b — two static functions of one name, `step`, one in each file,
 * for `nsprof diff` and the report (a function is its name, module and declaring file).
 * same_name (same_name_main.c) runs A rounds of a.c's step and B of b.c's:
 *   same_name A B      prints a checksum that depends on A and B only
 */
#include <stdint.h>

uint64_t run_a(uint64_t rounds);

__attribute__((noinline)) static uint64_t step(uint64_t x)
{
    for (int i = 0; i < 1000; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

uint64_t run_a(uint64_t rounds)
{
    uint64_t x = 1;
    for (uint64_t r = 0; r < rounds; r++)
        x = step(x);
    return x;
}
