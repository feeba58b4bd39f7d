/*
 * PLT test library (C, -g -O2), built once per PLT layout (see CMakeLists.txt). The tests never
 * run it: they take its stubs' addresses from objdump and symbolize them.
 *
 * Its calls to libc go through its PLT. memcmp is also reached through a function pointer: its
 * GOT slot then has a GLOB_DAT relocation and GNU ld sends the direct call through .plt.got.
 */
#include <stdlib.h>
#include <string.h>

int (*volatile plt_lib_compare)(const void *, const void *, size_t);

int plt_lib_work(const char *a, const char *b)
{
    plt_lib_compare = memcmp; /* loaded from memcmp's GOT slot */
    size_t n = strlen(a);
    char *copy = malloc(n + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, a, n + 1);
    int r = memcmp(copy, b, n) + plt_lib_compare(copy, b, 1) + (int)strtol(copy, NULL, 10);
    free(copy);
    return r;
}
