/*
 * hooks_thread — threads and loaded objects.
 *
 * pthread_create: every new thread registers itself for sampling before running the
 * program's start routine (its exit is seen by a TLS destructor). fork: pthread_atfork
 * handlers give the child its own profile and writer. dlopen/dlclose: the unwinder's view of
 * the loaded objects is refreshed.
 *
 * dlopen is special: glibc resolves a bare library name against the RUNPATH of the *caller*
 * (the return address of the dlopen call). So our dlopen only notes the time and then
 * tail-calls libc's, leaving the program's return address in place; the writer notices the
 * new object through the loader's counters within milliseconds and dates it from that time.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>

#include "../sampler/clock.h"
#include "../sampler/real.h"
#include "../sampler/sampler.h"
#include "db/db_hooks.h"
#include "preload.h"

#define NS_EXPORT __attribute__((visibility("default")))

struct start_routine {
    void *(*fn)(void *);
    void *arg;
};

/* Exported under a name the analyzer knows (NS_TRAMPOLINE_PREFIX, report/model/model.h): a
 * profile shows the thread's own frames below start_thread, not this. */
NS_EXPORT void *__nsprof_trampoline_thread(void *p);
NS_EXPORT void *__nsprof_trampoline_thread(void *p)
{
    struct start_routine s = *(struct start_routine *)p;
    free(p);
    ns_sampler_thread_begin();
    return s.fn(s.arg);
}

NS_EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                             void *arg)
{
    ns_real_init();
    if (!ns_sampler_in_owner_process())
        return ns_real.pthread_create(thread, attr, fn, arg);
    struct start_routine *s = malloc(sizeof(*s));
    if (!s)
        return EAGAIN; /* what pthread_create itself says when memory is short */
    s->fn = fn;
    s->arg = arg;
    int r = ns_real.pthread_create(thread, attr, __nsprof_trampoline_thread, s);
    if (r != 0)
        free(s);
    return r;
}

/* Whether dlopen may run from here rather than from its caller: the file is named by a
 * path (no search along the caller's RUNPATH, no $ORIGIN) and the caller is in the base
 * namespace (a dlmopen'ed library's dlopen loads into its own). */
static int loads_the_same_from_here(const char *file, const void *caller)
{
    if (!file || !strchr(file, '/') || strchr(file, '$'))
        return 0;
    Dl_info info;
    struct link_map *map = NULL;
    Lmid_t ns = LM_ID_BASE;
    if (!dladdr1(caller, &info, (void **)&map, RTLD_DL_LINKMAP) || !map ||
        dlinfo(map, RTLD_DI_LMID, &ns) != 0)
        return 0;
    return ns == LM_ID_BASE;
}

__attribute__((optimize("optimize-sibling-calls"))) NS_EXPORT void *dlopen(const char *file,
                                                                           int mode)
{
    ns_real_init();
    ns_sampler_modules_announced(ns_now_ns());
    /* The database hooks patch what the new module imports right after it is loaded
     * (before it runs: language drivers call the library as soon as they are loaded).
     * A bare name must be searched from the caller: then the patch waits for the next
     * database connection or dlopen by path. */
    if (ns_db_hooks_installed() && loads_the_same_from_here(file, __builtin_return_address(0))) {
        void *h = ns_real.dlopen(file, mode);
        if (h)
            ns_db_hooks_refresh();
        return h;
    }
    return ns_real.dlopen(file, mode);
}

__attribute__((optimize("optimize-sibling-calls"))) NS_EXPORT void *
dlmopen(Lmid_t lmid, const char *file, int mode)
{
    ns_real_init();
    ns_sampler_modules_announced(ns_now_ns());
    return ns_real.dlmopen(lmid, file, mode);
}

NS_EXPORT int dlclose(void *handle)
{
    ns_real_init();
    ns_sampler_before_dlclose();
    int r = ns_real.dlclose(handle);
    /* Samples taken before now still find the unloaded object in the older snapshot. */
    ns_sampler_modules_changed(ns_now_ns());
    return r;
}

__attribute__((constructor(101))) static void register_fork_handlers(void)
{
    pthread_atfork(ns_sampler_prefork, ns_sampler_postfork_parent, ns_sampler_postfork_child);
    NS_KEEP_FRAME();
}

/* nsprof's own work (see __nsprof_own_init in preload.c). */
void __nsprof_own_fork_handlers(void)
    __attribute__((visibility("default"), alias("register_fork_handlers")));
