/* same_name A B: A rounds of a.c's step, B of b.c's (see same_name_a.c). */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t run_a(uint64_t rounds);
uint64_t run_b(uint64_t rounds);

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: same_name A B\n");
        return 2;
    }
    uint64_t a = strtoull(argv[1], NULL, 10), b = strtoull(argv[2], NULL, 10);
    printf("%" PRIx64 "\n", run_a(a) ^ run_b(b));
    return 0;
}
