#include "real.h"

#include <dlfcn.h>

struct ns_real ns_real;

#define RESOLVE(name)                                                                              \
    do {                                                                                           \
        *(void **)&ns_real.name = dlsym(RTLD_NEXT, #name);                                         \
        missing += ns_real.name == NULL;                                                           \
    } while (0)

int ns_real_init(void)
{
    int missing = 0;
    if (ns_real.sigaction)
        return 0;
    RESOLVE(pthread_sigmask);
    RESOLVE(pthread_create);
    RESOLVE(execve);
    RESOLVE(execv);
    RESOLVE(execvp);
    RESOLVE(execvpe);
    RESOLVE(fexecve);
    RESOLVE(execveat);
    RESOLVE(signal);
    *(void **)&ns_real.libc_start_main = dlsym(RTLD_NEXT, "__libc_start_main");
    missing += ns_real.libc_start_main == NULL;
    RESOLVE(posix_spawn);
    RESOLVE(posix_spawnp);
    RESOLVE(dlopen);
    RESOLVE(dlmopen);
    RESOLVE(dlclose);
    RESOLVE(exit);
    RESOLVE(_exit);
    RESOLVE(_Exit);
    /* Last: it doubles as the "initialised" flag above. */
    RESOLVE(sigaction);
    return missing;
}
