/*
 * PLT test program (C, -g -O2, PIE), built once per PLT layout against the plt_lib of the same
 * layout. The tests never run it: they take its stubs' addresses from objdump and symbolize
 * them. It calls libc and plt_lib_work, and takes strcmp's address as well as calling it, which
 * sends the calls through .plt.got with GNU ld.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int plt_lib_work(const char *a, const char *b);

int (*volatile plt_main_compare)(const char *, const char *);

int main(int argc, char **argv)
{
    plt_main_compare = strcmp; /* loaded from strcmp's GOT slot */
    const char *arg = argc > 1 ? argv[1] : "0";
    char *copy = strdup(arg);
    if (copy == NULL)
        return 1;
    const char *home = getenv("HOME");
    int r = plt_lib_work(copy, home != NULL ? home : "");
    r += strcmp(copy, arg) + plt_main_compare(copy, "x");
    printf("%d %ld\n", r, strtol(arg, NULL, 10));
    free(copy);
    return 0;
}
