/*
 * sites — see sites.h. Each thread has a chain of chunks of sites in the shared region (the
 * reader walks it; a chunk's count is published with a release store after the site is
 * initialised) and an open-addressing index in private memory that only the thread uses.
 */
#include "sites.h"

#include <string.h>

#include "../mem.h"
#include "../session/shm.h"
#include "db_sites.h"

static uint64_t key_hash(unsigned family, const struct ns_stack_entry *stack, uint32_t resource)
{
    uint64_t h = (uint64_t)(uintptr_t)stack * 0x9e3779b97f4a7c15ull;
    h ^= ((uint64_t)resource << 8 | family) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 31);
}

static struct ns_site_table *table_of(struct ns_thread *th)
{
    if (!th->sites)
        th->sites = ns_shm_alloc(sizeof(struct ns_site_table));
    return th->sites;
}

static int grow_index(struct ns_site_table *t)
{
    size_t slots = t->index_slots ? t->index_slots * 2 : 512;
    struct ns_site **index = ns_mem_alloc(slots * sizeof(*index));
    if (!index)
        return -1;
    for (size_t i = 0; i < t->index_slots; i++) {
        struct ns_site *s = t->index[i];
        if (!s)
            continue;
        size_t j = key_hash(s->family, s->stack, s->resource) & (slots - 1);
        while (index[j])
            j = (j + 1) & (slots - 1);
        index[j] = s;
    }
    ns_mem_free(t->index, t->index_slots * sizeof(*index));
    t->index = index;
    t->index_slots = slots;
    return 0;
}

/* A fresh site in the chunk chain (published to the writer once initialised). */
static struct ns_site *new_site(struct ns_site_table *t, unsigned family,
                                struct ns_stack_entry *stack, uint32_t resource)
{
    struct ns_site_chunk *c = t->last;
    if (!c || c->count == NS_CHUNK_SITES) {
        struct ns_site_chunk *nc = c && c->next ? c->next : ns_shm_alloc(sizeof(*nc));
        if (!nc)
            return NULL;
        if (!t->first)
            t->first = nc;
        else if (c->next != nc)
            __atomic_store_n(&c->next, nc, __ATOMIC_RELEASE);
        t->last = c = nc;
    }
    struct ns_site *s = &c->sites[c->count];
    struct ns_db_site *db = s->db; /* a reused slot's: kept, emptied */
    memset(s, 0, sizeof(*s));
    if (db)
        memset(db, 0, sizeof(*db));
    s->db = db;
    s->stack = stack;
    s->resource = resource;
    s->family = (uint16_t)family;
    __atomic_store_n(&c->count, c->count + 1, __ATOMIC_RELEASE);
    t->total++;
    return s;
}

/* Past NS_SITES_MAX a thread's calls of a family add up in one site without a stack. */
static struct ns_site *overflow_site(struct ns_site_table *t, unsigned family)
{
    ns_shm_count(NS_CTR_SITES_OVERFLOWED, 1);
    if (!t->overflow[family])
        t->overflow[family] = new_site(t, family, ns_stacks_get(NULL, 0, 1 /* depth */), 0);
    return t->overflow[family];
}

/* Not the site asked for last: the index, or a new site. Out of line, so that the common
 * case (ns_site_get) saves no registers for it. */
static __attribute__((noinline)) struct ns_site *
site_lookup(struct ns_thread *th, unsigned family, struct ns_stack_entry *stack, uint32_t resource)
{
    struct ns_site_table *t = table_of(th);
    if (!t || family >= NS_SITE__COUNT)
        return NULL;
    if ((t->total + 1) * 2 > t->index_slots) {
        if (t->total >= NS_SITES_MAX || grow_index(t) < 0)
            return overflow_site(t, family);
    }
    size_t mask = t->index_slots - 1, i = key_hash(family, stack, resource) & mask;
    for (;; i = (i + 1) & mask) {
        struct ns_site *s = t->index[i];
        if (!s)
            break;
        if (s->stack == stack && s->resource == resource && s->family == family)
            return t->hot = s;
    }
    struct ns_site *s = new_site(t, family, stack, resource);
    if (s)
        t->index[i] = t->hot = s;
    return s;
}

struct ns_site *ns_site_get(struct ns_thread *th, unsigned family, struct ns_stack_entry *stack,
                            uint32_t resource)
{
    struct ns_site *hot = th->sites ? th->sites->hot : NULL;
    if (hot && hot->stack == stack && hot->resource == resource && hot->family == family)
        return hot;
    return site_lookup(th, family, stack, resource);
}

void ns_sites_reset(struct ns_thread *th)
{
    struct ns_site_table *t = th->sites;
    if (!t)
        return;
    /* Chunks are kept for the next thread of this slot, emptied. */
    for (struct ns_site_chunk *c = t->first; c; c = c->next)
        c->count = 0;
    if (t->index)
        memset(t->index, 0, t->index_slots * sizeof(*t->index));
    t->last = t->first;
    t->total = 0;
    t->hot = NULL;
    memset(t->overflow, 0, sizeof(t->overflow));
}

struct ns_db_site *ns_db_site_of(struct ns_site *s)
{
    struct ns_db_site *d = s->db;
    if (d)
        return d;
    d = ns_shm_alloc(sizeof(*d));
    if (d) {
        memset(d, 0, sizeof(*d));
        __atomic_store_n(&s->db, d, __ATOMIC_RELEASE);
    }
    return d;
}
