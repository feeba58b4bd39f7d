/*
 * Symbolizer test program (C, -g -O2). The tests never run it: they read its symbol table and
 * symbolize addresses of it. Markers written as "@name" comments are looked up in this source
 * by the tests, so expected line numbers follow edits to this file.
 *
 * sym_inline_marker is an assembly label placed inside sym_inner, which is inlined into
 * sym_middle, which is inlined into sym_outer: its address is an instruction of a two-level
 * inline chain that the tests can find without reading DWARF themselves.
 */
#include <stdio.h>
#include <stdlib.h>

volatile int sym_sink;

__attribute__((noinline)) int sym_known_leaf(int n)
{ /* @leaf-begin */
    int acc = 0;
    for (int i = 0; i < n; i++)
        acc += i * sym_sink;
#if NS_SYM_TARGET_VARIANT == 2
    acc ^= 0x5a5a; /* another build of the same program: different code, different build-id */
#endif
    return acc;
} /* @leaf-end */

static inline __attribute__((always_inline)) void sym_inner(int x)
{ /* @inner-begin */
    sym_sink = x * 3;
    __asm__ volatile("sym_inline_marker:");
    sym_sink = x * 5;
} /* @inner-end */

static inline __attribute__((always_inline)) void sym_middle(int x)
{
    sym_sink = x + 1;
    sym_inner(x + 2); /* @middle-call */
    sym_sink = x + 4;
}

__attribute__((noinline)) void sym_outer(int x)
{ /* @outer-begin */
    sym_sink = x;
    sym_middle(x * 7); /* @outer-call */
    sym_sink = x - 1;
} /* @outer-end */

int main(int argc, char **argv)
{
    (void)argv;
    sym_outer(argc);
    printf("%d\n", sym_known_leaf(argc * 1000));
    return 0;
}
