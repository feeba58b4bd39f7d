/*
 * sym_store.c — the symbolizer's memory: an arena whose blocks never move (so frame arrays
 * and strings handed to callers stay put until ns_sym_free), interned strings (a profile names
 * the same few thousand functions and files over and over), and a u64-keyed open-addressing
 * map used for the per-object address cache and the demangled-name cache.
 */
#include "sym_internal.h"

#include <stdlib.h>
#include <string.h>

enum { NS_SYM_ARENA_BLOCK = 64 * 1024 };

struct ns_sym_arena_block {
    struct ns_sym_arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

void *ns_sym_arena_alloc(struct ns_sym_arena *a, size_t size)
{
    size = (size + _Alignof(max_align_t) - 1) & ~(size_t)(_Alignof(max_align_t) - 1);
    struct ns_sym_arena_block *b = a->head;
    if (b == NULL || b->cap - b->used < size) {
        size_t cap = size > NS_SYM_ARENA_BLOCK / 4 ? size : NS_SYM_ARENA_BLOCK;
        struct ns_sym_arena_block *nb = malloc(sizeof *nb + cap);
        if (nb == NULL)
            return NULL;
        nb->used = 0;
        nb->cap = cap;
        /* An oversized request gets a block of its own behind the current one, so the
         * current block's free space is not wasted. */
        if (b != NULL && cap != NS_SYM_ARENA_BLOCK) {
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += size;
    return p;
}

char *ns_sym_arena_strdup(struct ns_sym_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = ns_sym_arena_alloc(a, n);
    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

void ns_sym_arena_free(struct ns_sym_arena *a)
{
    struct ns_sym_arena_block *b = a->head;
    while (b != NULL) {
        struct ns_sym_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* Eight bytes per step: build-ids are hashed on every lookup, so byte-wise FNV would show. */
uint64_t ns_sym_hash_bytes(const void *p, size_t n)
{
    const unsigned char *c = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
    for (; n >= 8; c += 8, n -= 8) {
        memcpy(&w, c, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    w = 0;
    memcpy(&w, c, n);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static size_t u64_slot(uint64_t key, size_t cap)
{
    /* Fibonacci hashing: addresses and pointers differ mostly in low and middle bits. */
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (cap - 1);
}

void *ns_sym_u64map_get(const struct ns_sym_u64map *m, uint64_t key)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = u64_slot(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].value == NULL)
            return NULL;
        if (m->slots[i].key == key)
            return m->slots[i].value;
    }
}

static void u64map_insert(struct ns_sym_u64map_slot *slots, size_t cap, uint64_t key, void *value)
{
    size_t i = u64_slot(key, cap);
    while (slots[i].value != NULL && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    slots[i].key = key;
    slots[i].value = value;
}

static bool u64map_grow(struct ns_sym_u64map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    struct ns_sym_u64map_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return false;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].value != NULL)
            u64map_insert(slots, cap, m->slots[i].key, m->slots[i].value);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return true;
}

bool ns_sym_u64map_put(struct ns_sym_u64map *m, uint64_t key, void *value)
{
    if ((m->count + 1) * 2 > m->cap && !u64map_grow(m))
        return false;
    u64map_insert(m->slots, m->cap, key, value);
    m->count++;
    return true;
}

void ns_sym_u64map_free(struct ns_sym_u64map *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static bool strings_grow(struct ns_sym_strings *t)
{
    size_t cap = t->cap ? t->cap * 2 : 1024;
    const char **slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return false;
    for (size_t i = 0; i < t->cap; i++) {
        const char *s = t->slots[i];
        if (s == NULL)
            continue;
        size_t j = ns_sym_hash_bytes(s, strlen(s)) & (cap - 1);
        while (slots[j] != NULL)
            j = (j + 1) & (cap - 1);
        slots[j] = s;
    }
    free(t->slots);
    t->slots = slots;
    t->cap = cap;
    return true;
}

const char *ns_sym_intern(struct ns_sym_strings *t, const char *s)
{
    if (s == NULL)
        return NULL;
    if ((t->count + 1) * 2 > t->cap && !strings_grow(t))
        return NULL;
    size_t i = ns_sym_hash_bytes(s, strlen(s)) & (t->cap - 1);
    for (; t->slots[i] != NULL; i = (i + 1) & (t->cap - 1))
        if (strcmp(t->slots[i], s) == 0)
            return t->slots[i];
    char *copy = ns_sym_arena_strdup(&t->arena, s);
    if (copy == NULL)
        return NULL;
    t->slots[i] = copy;
    t->count++;
    return copy;
}

void ns_sym_strings_free(struct ns_sym_strings *t)
{
    ns_sym_arena_free(&t->arena);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

const char *ns_sym_display_name(struct ns_sym_config *cfg, const char *raw)
{
    if (raw == NULL)
        return NULL;
    const char *cached = ns_sym_u64map_get(&cfg->demangled, (uint64_t)(uintptr_t)raw);
    if (cached != NULL)
        return cached;
    char *demangled = ns_sym_demangle(raw);
    const char *name = ns_sym_intern(&cfg->strings, demangled != NULL ? demangled : raw);
    free(demangled);
    if (name != NULL)
        ns_sym_u64map_put(&cfg->demangled, (uint64_t)(uintptr_t)raw, (void *)name);
    return name;
}
