/*
 * image_locks — the lock interposers' per-thread counts (lock_counts.h) become the events
 * lock_calls and lock_contended: one SITE_SAMPLES entry per (thread, call site, lock) and
 * event, with the increase since the last visit.
 *
 * A lock is named (a resource) only once some thread found it busy; a thread whose own
 * calls never did still took the same lock. So the names are shared by lock address: a map
 * from the addresses of named locks to their resources, filled from every entry that has
 * one. An entry with no name yet keeps its counts until its lock gets one, or until `all`
 * (its thread or the process ended): then they are written without a resource (a lock
 * nobody waited for is no contention).
 *
 * The table belongs to another program: entries are copied and checked (an entry's stack
 * goes through the view like any other); what is written back is the reader's sent_*.
 */
#include <string.h>

#include "../preload/settings.h"
#include "image_internal.h"
#include "lock_counts.h"
#include "mem.h"
#include "threads.h"

#define NAMED_SLOTS 4096 /* a power of two */

struct ns_image_locks {
    uint64_t addr[NAMED_SLOTS]; /* 0: free */
    uint32_t resource[NAMED_SLOTS];
};

static struct ns_image_locks *locks_of(struct ns_image *im)
{
    if (!im->locks)
        im->locks = ns_mem_alloc(sizeof(*im->locks));
    return im->locks;
}

static uint32_t *named_slot(struct ns_image_locks *l, uint64_t addr, int insert)
{
    size_t i = (size_t)((addr * 0x9e3779b97f4a7c15ull) >> 52) & (NAMED_SLOTS - 1);
    for (int p = 0; p < 16; p++, i = (i + 1) & (NAMED_SLOTS - 1)) {
        if (l->addr[i] == addr)
            return &l->resource[i];
        if (l->addr[i] == 0) {
            if (!insert)
                return NULL;
            l->addr[i] = addr;
            return &l->resource[i];
        }
    }
    return NULL;
}

static void emit_entry(struct ns_image *im, pid_t tid, struct ns_lock_count *e, uint32_t resource)
{
    uint64_t calls = __atomic_load_n(&e->calls, __ATOMIC_RELAXED);
    uint64_t contended = __atomic_load_n(&e->contended, __ATOMIC_RELAXED);
    if (calls == e->sent_calls && contended == e->sent_contended)
        return;
    uint64_t stack = ns_image_region_stack(im, e->stack, NULL, 0);
    uint64_t res = resource ? ns_image_resource_file_id(im, resource) : 0;
    int64_t now = ns_image_region_now_us(im);
    if (stack) {
        ns_image_site_entry(im, NS_EVID_LOCK_CALLS, tid, stack, res, calls - e->sent_calls, now);
        ns_image_site_entry(im, NS_EVID_LOCK_CONTENDED, tid, stack, res,
                            contended - e->sent_contended, now);
    }
    e->sent_calls = calls;
    e->sent_contended = contended;
}

void ns_image_emit_lock_counts(struct ns_image *im, const struct ns_thread *th, int all)
{
    struct ns_lock_counts *t =
        ns_view_at_rw(&im->view, __atomic_load_n(&th->lock_counts, __ATOMIC_ACQUIRE), sizeof(*t));
    struct ns_image_locks *l = t ? locks_of(im) : NULL;
    if (!l)
        return;
    /* Names first, so that an entry of a lock this thread never waited for finds it. */
    for (size_t i = 0; i < NS_LOCK_COUNTS; i++) {
        struct ns_lock_count *e = &t->e[i];
        uint64_t addr = __atomic_load_n(&e->lock, __ATOMIC_ACQUIRE);
        uint32_t res = __atomic_load_n(&e->resource, __ATOMIC_RELAXED);
        uint32_t *slot = addr && res ? named_slot(l, addr, 1) : NULL;
        if (slot && !*slot)
            *slot = res;
    }
    for (size_t i = 0; i < NS_LOCK_COUNTS; i++) {
        struct ns_lock_count *e = &t->e[i];
        uint64_t addr = __atomic_load_n(&e->lock, __ATOMIC_ACQUIRE);
        if (!addr)
            continue;
        uint32_t res = __atomic_load_n(&e->resource, __ATOMIC_RELAXED);
        if (!res) {
            uint32_t *slot = named_slot(l, addr, 0);
            res = slot ? *slot : 0;
        }
        if (res || all)
            emit_entry(im, th->tid, e, res);
    }
    uint64_t untracked = __atomic_load_n(&t->untracked, __ATOMIC_RELAXED);
    if (untracked)
        ns_image_count(im, "lock_calls_untracked", untracked);
    t->untracked = 0; /* the reader's to reset: the owner only adds */
}

void ns_image_locks_destroy(struct ns_image *im)
{
    ns_mem_free(im->locks, sizeof(*im->locks));
    im->locks = NULL;
}
