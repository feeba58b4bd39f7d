/*
 * own_malloc — a program with an allocator of its own (a bump arena): its malloc comes
 * before libnsprof.so's in the symbol search order, so nsprof cannot track it and must say
 * so instead of reporting an empty heap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static _Alignas(16) char arena[1 << 20];
static size_t used;

void *malloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (n > sizeof(arena) - used)
        return NULL;
    void *p = arena + used;
    used += n;
    return p;
}

void free(void *p)
{
    (void)p;
}

void *calloc(size_t nmemb, size_t size)
{
    size_t n = nmemb * size;
    void *p = nmemb && n / nmemb != size ? NULL : malloc(n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *realloc(void *p, size_t n)
{
    void *q = malloc(n);
    if (q && p)
        memcpy(q, p, n); /* the arena is contiguous: reading past the old block is safe */
    return q;
}

static void *volatile sink;

int main(void)
{
    for (int i = 0; i < 100; i++)
        sink = malloc(100);
    printf("arena used %zu\n", used);
    return 0;
}
