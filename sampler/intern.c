#include "intern.h"

#include <string.h>

#include "mem.h"

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

int ns_intern_init(struct ns_intern *t, size_t max_entries, size_t max_key_bytes)
{
    memset(t, 0, sizeof(*t));
    size_t n = 16;
    while (n < max_entries * 2)
        n <<= 1;
    t->slots = ns_mem_alloc(n * sizeof(*t->slots));
    t->keys = ns_mem_alloc(max_key_bytes);
    if (!t->slots || !t->keys) {
        ns_intern_destroy(t);
        return -1;
    }
    t->nslots = n;
    t->keys_cap = max_key_bytes;
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

int ns_intern_put(struct ns_intern *t, const void *key, size_t len, uint64_t id)
{
    if (t->used + 1 > t->nslots / 2 || t->keys_cap - t->keys_used < len)
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
