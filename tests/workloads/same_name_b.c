/* b.c's `step`: see same_name_a.c. */
#include <stdint.h>

uint64_t run_b(uint64_t rounds);

__attribute__((noinline)) static uint64_t step(uint64_t x)
{
    for (int i = 0; i < 1000; i++)
        x = x * 2862933555777941757ull + 3037000493ull;
    return x;
}

uint64_t run_b(uint64_t rounds)
{
    uint64_t x = 2;
    for (uint64_t r = 0; r < rounds; r++)
        x = step(x);
    return x;
}
