#include "lock_counts.h"

#include "../session/shm.h"
#include "../sources/threads.h"
#include "capture.h"

#define PROBES 8

static struct ns_lock_count *new_entry(struct ns_thread *th, struct ns_lock_count *e, uint64_t lock,
                                       uintptr_t caller, const char *name, uint32_t *name_id)
{
    int was = th->in_hook;
    th->in_hook = 1;
    uint32_t id = __atomic_load_n(name_id, __ATOMIC_RELAXED);
    if (!id) {
        id = ns_pseudo_name(name);
        __atomic_store_n(name_id, id, __ATOMIC_RELAXED);
    }
    e->stack = ns_capture_call_site(th, caller, id);
    th->in_hook = was;
    e->caller = caller;
    __atomic_store_n(&e->lock, lock, __ATOMIC_RELEASE);
    return e;
}

void ns_lock_count(struct ns_thread *th, const void *lock, uintptr_t caller, const char *name,
                   uint32_t *name_id, int contended, uint32_t resource)
{
    struct ns_lock_counts *t = th->lock_counts;
    if (__builtin_expect(!t, 0)) {
        int was = th->in_hook;
        th->in_hook = 1;
        t = ns_shm_alloc(sizeof(*t));
        th->in_hook = was;
        if (!t)
            return;
        __atomic_store_n(&th->lock_counts, t, __ATOMIC_RELEASE);
    }
    uint64_t key = (uint64_t)(uintptr_t)lock;
    uint64_t h = (key ^ (uint64_t)caller * 0x9e3779b97f4a7c15ull) * 0xff51afd7ed558ccdull;
    size_t i = (size_t)(h >> 40) & (NS_LOCK_COUNTS - 1);
    struct ns_lock_count *e = NULL;
    for (int p = 0; p < PROBES; p++, i = (i + 1) & (NS_LOCK_COUNTS - 1)) {
        struct ns_lock_count *c = &t->e[i];
        if (c->lock == key && c->caller == caller) {
            e = c;
            break;
        }
        if (c->lock == 0) {
            e = new_entry(th, c, key, caller, name, name_id);
            break;
        }
    }
    if (!e) {
        t->untracked++;
        return;
    }
    /* Plain increments of the owner's counters; the reader loads them whole. */
    __atomic_store_n(&e->calls, e->calls + 1, __ATOMIC_RELAXED);
    if (contended) {
        if (resource && !e->resource)
            e->resource = resource;
        __atomic_store_n(&e->contended, e->contended + 1, __ATOMIC_RELAXED);
    }
}
