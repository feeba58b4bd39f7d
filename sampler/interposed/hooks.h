/*
 * hooks — what every interposer of I/O and lock calls shares (the malloc family has its own
 * fast path in alloc.c): whether its capability is on, the thread to account the call to,
 * and the guard that lets nsprof's own calls pass straight through.
 *
 * The pattern, for a call that may take time:
 *
 *     struct ns_regs caller;
 *     NS_CALLER_REGS(caller);              // the hook is built with frame pointers
 *     uint64_t t0 = ns_now_ns();
 *     ssize_t r = real_write(fd, buf, n);   // the real call runs unguarded: what it calls
 *     int saved = errno;                    //   (malloc...) is the program's too
 *     struct ns_thread *th = ns_hook_enter(NS_HOOK_IO);
 *     if (th) {
 *         ... ns_capture(th, &caller, id) → ns_site_get → ns_site_add ...
 *         ns_hook_leave(th);
 *     }
 *     errno = saved;
 *     return r;
 */
#ifndef NS_HOOKS_H
#define NS_HOOKS_H

#include "../session/shm.h"
#include "../sources/threads.h"

enum ns_hook_kind {
    NS_HOOK_IO = 1,
    NS_HOOK_LOCKS = 2,
    NS_HOOK_BLOCK = 4, /* blocking calls publish themselves (blocking.h): wall time */
    /* ... and add their own clock's time up per site: nothing else measures off-CPU time
     * (no perf switch records) */
    NS_HOOK_BLOCK_SITES = 8,
    NS_HOOK_DB = 16, /* database client calls (preload/db/db_hooks.h) */
};

/* enum ns_hook_kind bits now on: set at start, cleared at the end; 0 in a _Fork child (the
 * flags are on the page it gets wiped, shm.h). */
static inline unsigned ns_hooks_enabled(void)
{
    return __atomic_load_n(&ns_shm_local->hooks_on, __ATOMIC_RELAXED);
}

void ns_hooks_set(unsigned kinds);

/* Blocking calls publish themselves (blocking.h): wall time is profiled. */
static inline int ns_hooks_block_on(void)
{
    return ns_hooks_enabled() & NS_HOOK_BLOCK;
}

/* The calling thread, marked as inside nsprof, or NULL: capability off, a thread nsprof does
 * not know, or a call made by nsprof itself. */
static inline struct ns_thread *ns_hook_enter(unsigned kind)
{
    if (!(ns_hooks_enabled() & kind))
        return 0;
    struct ns_thread *th = ns_threads_current();
    if (!th || th->in_hook)
        return 0;
    th->in_hook = 1;
    return th;
}

static inline void ns_hook_leave(struct ns_thread *th)
{
    th->in_hook = 0;
}

/* fork: the locks of the stack table, the resources and the allocator tracking must not be
 * held across fork by another thread. */
void ns_hooks_prefork(void);
void ns_hooks_postfork(int child);

#endif
