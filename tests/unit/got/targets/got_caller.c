/* A module that imports got_add (built lazily bound and bound now with full RELRO): the
 * calls the patcher redirects, through the PLT (JUMP_SLOT) and through a function pointer
 * loaded from the GOT (GLOB_DAT, in the build bound now). CALLER(x) names each build's functions
 * apart. */
#ifdef GOT_LAZY
#define CALLER(x) lazy_##x
#else
#define CALLER(x) now_##x
#endif
int got_add(int a, int b);
int got_twice(int a);

typedef int (*add_fn)(int, int);

int CALLER(add)(int a, int b);
#ifndef GOT_LAZY
add_fn CALLER(pointer)(void);
#endif
int CALLER(twice)(int a);

int CALLER(add)(int a, int b)
{
    return got_add(a, b);
}

/* Only in the build bound now: taking the address makes the linker bind the PLT's calls
 * through the GLOB_DAT slot too, and the lazy build must keep a lazy JUMP_SLOT. */
#ifndef GOT_LAZY
add_fn CALLER(pointer)(void)
{
    return &got_add;
}
#endif

int CALLER(twice)(int a)
{
    return got_twice(a);
}
