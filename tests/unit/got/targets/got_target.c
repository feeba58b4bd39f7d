/* The library whose function the tests hook (got_add), built twice: as libgot_target with
 * GOT_BIAS 0 and as libgot_target2 with GOT_BIAS 1000, two copies of one library that
 * different modules are bound to. */
#ifndef GOT_BIAS
#define GOT_BIAS 0
#endif

int got_add(int a, int b);
int got_twice(int a);

int got_add(int a, int b)
{
    return a + b + GOT_BIAS;
}

/* Calls its own export through its own PLT: a call the patcher must leave alone. */
int got_twice(int a)
{
    return got_add(a, a);
}

#if GOT_BIAS
/* Only in the second copy, which only the RTLD_LOCAL plugin reaches: not in the global
 * scope, so a lazy slot of it is resolved in the plugin's own scope (dlopen RTLD_NOLOAD). */
int got_local_add(int a, int b);
int got_local_add(int a, int b)
{
    return a + b + GOT_BIAS;
}
#endif
