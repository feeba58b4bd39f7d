/*
 * solo — read-modify-writes that skip the locked instruction while the process has a single
 * thread, glibc's own rule (its malloc takes no arena lock then, stdio no stream lock).
 * Nothing can race with the only thread; readers in other processes (the agent) read whole
 * aligned words, which plain stores write whole. glibc clears __libc_single_threaded before
 * a second thread exists (pthread_create), so no update is ever half in one regime.
 *
 * Async-signal-safe (a handler runs on the same thread, after or before a whole update).
 */
#ifndef NS_SOLO_H
#define NS_SOLO_H

#include <stdint.h>
#include <sys/single_threaded.h>

static inline int ns_solo(void)
{
    return __libc_single_threaded;
}

/* *p += v; returns the new value. */
static inline int64_t ns_solo_add(int64_t *p, int64_t v)
{
    if (!ns_solo())
        return __atomic_add_fetch(p, v, __ATOMIC_RELAXED);
    int64_t n = __atomic_load_n(p, __ATOMIC_RELAXED) + v;
    __atomic_store_n(p, n, __ATOMIC_RELAXED);
    return n;
}

#endif
