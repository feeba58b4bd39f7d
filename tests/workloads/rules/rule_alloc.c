/*
 * rule_alloc — alloc_churn. `fire`: churn() mallocs and frees a small block per iteration,
 * millions of times. `fixed`: reuse() does the same work in one block allocated once.
 * argv[2]: iterations (default 1,500,000).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noipa)) static uint64_t churn(unsigned long n)
{
    uint64_t sum = 0;
    for (unsigned long i = 0; i < n; i++) {
        char *p = malloc(48);
        if (!p)
            abort();
        memset(p, (int)i, 48);
        sum += (unsigned char)p[i % 48];
        free(p);
    }
    return sum;
}

__attribute__((noipa)) static uint64_t reuse(unsigned long n)
{
    char *p = malloc(48);
    if (!p)
        abort();
    uint64_t sum = 0;
    for (unsigned long i = 0; i < n; i++) {
        memset(p, (int)i, 48);
        sum += (unsigned char)p[i % 48];
    }
    free(p);
    return sum;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 2 ? strtoul(argv[2], NULL, 10) : 1500000;
    int fire = argc > 1 && strcmp(argv[1], "fire") == 0;
    printf("%llu\n", (unsigned long long)(fire ? churn(n) : reuse(n)));
    return 0;
}
