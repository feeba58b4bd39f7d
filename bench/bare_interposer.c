/*
 * bare_interposer — the least an interposed malloc and free can cost: a preloadable library
 * whose malloc and free only jump to libc's. Run beside nsprof --alloc sample it splits the
 * overhead into what interposing costs at all and what nsprof's sampling decision adds.
 */
#include <dlfcn.h>
#include <stddef.h>

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);

/* dlsym does not allocate for these names in glibc 2.36, so resolving here is safe. */
__attribute__((constructor)) static void resolve(void)
{
    *(void **)&real_malloc = dlsym(RTLD_NEXT, "malloc");
    *(void **)&real_free = dlsym(RTLD_NEXT, "free");
}

void *malloc(size_t size)
{
    return real_malloc(size);
}

void free(void *p)
{
    real_free(p);
}
