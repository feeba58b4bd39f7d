#include "intern.h"

#include <string.h>

#include "../mem.h"

static uint32_t hash_bytes(const void *key, size_t len)
{
    /* FNV-1a over 8-byte words where possible: stacks are arrays of words. */
    const uint8_t *p = key;
    uint64_t h = 0xcbf29ce484222325ull;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 32;
    return (uint32_t)h | 1; /* 0 marks an empty slot */
}

#define FIRST_SLOTS 4096

static struct ns_intern_slot *alloc_slots(size_t n)
{
    struct ns_intern_slot *slots = ns_mem_alloc(n * sizeof(*slots));
    if (slots)
        memset(slots, 0, n * sizeof(*slots)); /* fault the pages in for writing, once */
    return slots;
}

int ns_intern_init(struct ns_intern *t, size_t max_entries, size_t max_key_bytes)
{
    memset(t, 0, sizeof(*t));
    size_t max = 16;
    while (max < max_entries * 2)
        max <<= 1;
    t->max_slots = max;
    t->nslots = max < FIRST_SLOTS ? max : FIRST_SLOTS;
    t->slots = alloc_slots(t->nslots);
    t->keys = ns_mem_alloc(max_key_bytes);
    t->keys_cap = t->keys ? max_key_bytes : 0;
    if (!t->slots || !t->keys) {
        ns_intern_destroy(t);
        return -1;
    }
    return 0;
}

void ns_intern_destroy(struct ns_intern *t)
{
    ns_mem_free(t->slots, t->nslots ? t->nslots * sizeof(*t->slots) : 0);
    ns_mem_free(t->keys, t->keys_cap);
    memset(t, 0, sizeof(*t));
}

void ns_intern_clear(struct ns_intern *t)
{
    memset(t->slots, 0, t->nslots * sizeof(*t->slots));
    t->used = 0;
    t->keys_used = 0;
}

static size_t find(const struct ns_intern *t, const void *key, size_t len, uint32_t h)
{
    size_t mask = t->nslots - 1, i = h & mask;
    for (;; i = (i + 1) & mask) {
        const struct ns_intern_slot *s = &t->slots[i];
        if (s->hash == 0)
            return i;
        if (s->hash == h && s->len == len && memcmp(t->keys + s->offset, key, len) == 0)
            return i;
    }
}

uint64_t ns_intern_get(const struct ns_intern *t, const void *key, size_t len)
{
    const struct ns_intern_slot *s = &t->slots[find(t, key, len, hash_bytes(key, len))];
    return s->hash ? s->id : 0;
}

/* Doubles the slot table, re-inserting every entry. */
static int grow(struct ns_intern *t)
{
    size_t n = t->nslots * 2;
    struct ns_intern_slot *slots = alloc_slots(n);
    if (!slots)
        return -1;
    for (size_t i = 0; i < t->nslots; i++) {
        const struct ns_intern_slot *s = &t->slots[i];
        if (!s->hash)
            continue;
        size_t j = s->hash & (n - 1);
        while (slots[j].hash)
            j = (j + 1) & (n - 1);
        slots[j] = *s;
    }
    ns_mem_free(t->slots, t->nslots * sizeof(*t->slots));
    t->slots = slots;
    t->nslots = n;
    return 0;
}

int ns_intern_put(struct ns_intern *t, const void *key, size_t len, uint64_t id)
{
    if (t->used + 1 > t->nslots / 2 && (t->nslots >= t->max_slots || grow(t) < 0))
        return -1;
    if (t->keys_cap - t->keys_used < len)
        return -1;
    uint32_t h = hash_bytes(key, len);
    struct ns_intern_slot *s = &t->slots[find(t, key, len, h)];
    memcpy(t->keys + t->keys_used, key, len);
    s->hash = h;
    s->len = (uint32_t)len;
    s->offset = t->keys_used;
    s->id = id;
    t->keys_used += len;
    t->used++;
    return 0;
}
