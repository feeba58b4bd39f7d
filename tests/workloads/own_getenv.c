/*
 * own_getenv — a program that defines (and exports, linked -rdynamic) its own getenv, as
 * bash does: it answers nothing until main has run. A preloaded library that asks getenv in
 * its constructor then believes it runs outside any session.
 *
 * Prints "NSPROF_SESSION_AGENT set" or "unset" as its main sees it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

extern char **environ;
static int ready;

char *getenv(const char *name)
{
    if (!ready)
        return NULL;
    size_t n = strlen(name);
    for (char **e = environ; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

int main(void)
{
    ready = 1;
    struct timespec d = {0, 50000000};
    nanosleep(&d, NULL);
    printf("NSPROF_SESSION_AGENT %s\n", getenv("NSPROF_SESSION_AGENT") ? "set" : "unset");
    return 0;
}
