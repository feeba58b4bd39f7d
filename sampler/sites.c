/*
 * sites — see sites.h. Each thread has a chain of chunks of sites (the writer walks it;
 * a chunk's count is published with a release store after the site is initialised) and an
 * open-addressing index that only the thread itself uses.
 */
#include "sites.h"

#include <string.h>

#include "mem.h"

#define CHUNK_SITES 256

struct site_chunk {
    struct site_chunk *next;
    uint32_t count; /* atomic: initialised sites */
    struct ns_site sites[CHUNK_SITES];
};

struct ns_site_table {
    struct site_chunk *first, *last;
    uint32_t total;
    struct ns_site **index; /* open addressing; NULL = empty */
    size_t index_slots;
    struct ns_site *overflow[NS_SITE__COUNT];
};

static uint64_t overflowed;

static uint64_t key_hash(unsigned family, const struct ns_stack_entry *stack, uint32_t resource)
{
    uint64_t h = (uint64_t)(uintptr_t)stack * 0x9e3779b97f4a7c15ull;
    h ^= ((uint64_t)resource << 8 | family) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 31);
}

static struct ns_site_table *table_of(struct ns_thread *th)
{
    if (!th->sites)
        th->sites = ns_mem_alloc(sizeof(struct ns_site_table));
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
    struct site_chunk *c = t->last;
    if (!c || c->count == CHUNK_SITES) {
        struct site_chunk *nc = c && c->next ? c->next : ns_mem_alloc(sizeof(*nc));
        if (!nc)
            return NULL;
        if (!t->first)
            t->first = nc;
        else if (c->next != nc)
            __atomic_store_n(&c->next, nc, __ATOMIC_RELEASE);
        t->last = c = nc;
    }
    struct ns_site *s = &c->sites[c->count];
    memset(s, 0, sizeof(*s));
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
    __atomic_fetch_add(&overflowed, 1, __ATOMIC_RELAXED);
    if (!t->overflow[family])
        t->overflow[family] = new_site(t, family, ns_stacks_get(NULL, 0, 1 /* depth */), 0);
    return t->overflow[family];
}

struct ns_site *ns_site_get(struct ns_thread *th, unsigned family, struct ns_stack_entry *stack,
                            uint32_t resource)
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
            return s;
    }
    struct ns_site *s = new_site(t, family, stack, resource);
    if (s)
        t->index[i] = s;
    return s;
}

void ns_sites_each(struct ns_thread *th,
                   void (*fn)(void *ctx, struct ns_thread *th, struct ns_site *s), void *ctx)
{
    struct ns_site_table *t = th->sites;
    if (!t)
        return;
    for (struct site_chunk *c = __atomic_load_n(&t->first, __ATOMIC_ACQUIRE); c;
         c = __atomic_load_n(&c->next, __ATOMIC_ACQUIRE)) {
        uint32_t n = __atomic_load_n(&c->count, __ATOMIC_ACQUIRE);
        for (uint32_t i = 0; i < n; i++)
            fn(ctx, th, &c->sites[i]);
    }
}

void ns_sites_reset(struct ns_thread *th)
{
    struct ns_site_table *t = th->sites;
    if (!t)
        return;
    /* Chunks are kept for the next thread of this slot, emptied. */
    for (struct site_chunk *c = t->first; c; c = c->next)
        c->count = 0;
    if (t->index)
        memset(t->index, 0, t->index_slots * sizeof(*t->index));
    t->last = t->first;
    t->total = 0;
    memset(t->overflow, 0, sizeof(t->overflow));
}

uint64_t ns_sites_overflowed(void)
{
    return __atomic_load_n(&overflowed, __ATOMIC_RELAXED);
}
