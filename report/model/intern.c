/*
 * intern — growable arrays, an index hash table and a string pool for the report model
 * (see intern.h). The hash table is linear probing at a load factor of at most 1/2: the
 * model's tables are looked up far more often than they grow, and short probe runs keep
 * the per-frame cost of building a tree small.
 */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

int ns_grow(void **ptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / elem)
            return -1;
        ncap *= 2;
    }
    void *np = realloc(*ptr, ncap * elem);
    if (!np)
        return -1;
    *ptr = np;
    *cap = ncap;
    return 0;
}

uint64_t ns_hash_bytes(const void *data, size_t len)
{
    /* FNV-1a, then mixed so that the low bits used for the slot index are well spread. */
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return ns_mix64(h);
}

uint32_t ns_itab_get(const struct ns_itab *t, uint64_t hash, ns_itab_eq_fn eq, const void *ctx,
                     const void *key)
{
    if (!t->cap)
        return NS_NONE;
    uint32_t h32 = (uint32_t)hash;
    size_t mask = t->cap - 1;
    for (size_t i = h32 & mask;; i = (i + 1) & mask) {
        const struct ns_itab_slot *s = &t->slots[i];
        if (s->value == NS_NONE)
            return NS_NONE;
        if (s->hash == h32 && eq(ctx, s->value, key))
            return s->value;
    }
}

static void itab_place(struct ns_itab_slot *slots, size_t cap, uint32_t h32, uint32_t value)
{
    size_t mask = cap - 1;
    size_t i = h32 & mask;
    while (slots[i].value != NS_NONE)
        i = (i + 1) & mask;
    slots[i].value = value;
    slots[i].hash = h32;
}

static int itab_resize(struct ns_itab *t, size_t ncap)
{
    struct ns_itab_slot *ns = malloc(ncap * sizeof(*ns));
    if (!ns)
        return -1;
    for (size_t i = 0; i < ncap; i++)
        ns[i].value = NS_NONE;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].value != NS_NONE)
            itab_place(ns, ncap, t->slots[i].hash, t->slots[i].value);
    free(t->slots);
    t->slots = ns;
    t->cap = ncap;
    return 0;
}

int ns_itab_put(struct ns_itab *t, uint64_t hash, uint32_t value)
{
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        if (ncap < t->cap || itab_resize(t, ncap) < 0)
            return -1;
    }
    itab_place(t->slots, t->cap, (uint32_t)hash, value);
    t->n++;
    return 0;
}

void ns_itab_free(struct ns_itab *t)
{
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

/* Strings live in blocks that are never moved, so interned pointers stay valid. */
#define POOL_BLOCK_BYTES (64 * 1024)

struct ns_pool_block {
    struct ns_pool_block *next;
    size_t used, size;
    char data[];
};

struct pool_key {
    const char *s;
    size_t len;
};

static int pool_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_pool *p = ctx;
    const struct pool_key *k = key;
    return p->lens[value] == k->len && memcmp(p->strs[value], k->s, k->len) == 0;
}

static char *pool_alloc(struct ns_pool *p, size_t n)
{
    struct ns_pool_block *b = p->blocks;
    if (!b || b->size - b->used < n) {
        size_t size = n > POOL_BLOCK_BYTES ? n : POOL_BLOCK_BYTES;
        b = malloc(sizeof(*b) + size);
        if (!b)
            return NULL;
        b->size = size;
        b->used = 0;
        /* A block made for one oversized string goes behind the current one, which may
         * still have room for many small strings. */
        if (size > POOL_BLOCK_BYTES && p->blocks) {
            b->next = p->blocks->next;
            p->blocks->next = b;
        } else {
            b->next = p->blocks;
            p->blocks = b;
        }
    }
    char *r = b->data + b->used;
    b->used += n;
    return r;
}

const char *ns_pool_intern(struct ns_pool *p, const char *s, size_t len)
{
    if (len > UINT32_MAX - 1)
        return NULL;
    struct pool_key key = {s, len};
    uint64_t h = ns_hash_bytes(s, len);
    uint32_t idx = ns_itab_get(&p->set, h, pool_eq, p, &key);
    if (idx != NS_NONE)
        return p->strs[idx];
    if (p->nstrs >= NS_NONE - 1)
        return NULL;
    size_t cap = p->cap;
    if (ns_grow((void **)&p->strs, &cap, p->nstrs + 1, sizeof(*p->strs)) < 0)
        return NULL;
    cap = p->cap;
    if (ns_grow((void **)&p->lens, &cap, p->nstrs + 1, sizeof(*p->lens)) < 0)
        return NULL;
    p->cap = cap;
    char *copy = pool_alloc(p, len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    if (ns_itab_put(&p->set, h, (uint32_t)p->nstrs) < 0)
        return NULL;
    p->strs[p->nstrs] = copy;
    p->lens[p->nstrs] = (uint32_t)len;
    p->nstrs++;
    return copy;
}

const char *ns_pool_str(struct ns_pool *p, const char *s)
{
    return ns_pool_intern(p, s ? s : "", s ? strlen(s) : 0);
}

void ns_pool_free(struct ns_pool *p)
{
    struct ns_pool_block *b = p->blocks;
    while (b) {
        struct ns_pool_block *next = b->next;
        free(b);
        b = next;
    }
    ns_itab_free(&p->set);
    free(p->strs);
    free(p->lens);
    memset(p, 0, sizeof(*p));
}
