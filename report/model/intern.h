/*
 * intern — the small containers the report model is built from: a growable-array helper,
 * an open-addressing hash table of uint32 indices, and a string pool that interns strings
 * so that equal strings share one pointer (the model compares names by pointer).
 *
 * Contract: single-threaded; every allocation failure is returned (-1 / NULL), never
 * aborts. Pointers returned by the pool stay valid until ns_pool_free.
 */
#ifndef NS_REPORT_INTERN_H
#define NS_REPORT_INTERN_H

#include <stddef.h>
#include <stdint.h>

#define NS_NONE UINT32_MAX

/* Makes *cap >= need for an array of elem-byte elements at *ptr (doubling); 0 or -1. */
int ns_grow(void **ptr, size_t *cap, size_t need, size_t elem);

/* 64-bit mixing for hashing integers and pointers (splitmix64's finalizer). */
static inline uint64_t ns_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

uint64_t ns_hash_bytes(const void *data, size_t len);

/*
 * Hash table mapping keys to uint32 values (indices into the caller's arrays). The table
 * stores only values and their hashes; the caller compares keys through `eq`, so keys live
 * in the caller's own arrays and are never duplicated.
 */
struct ns_itab_slot {
    uint32_t value; /* NS_NONE = empty */
    uint32_t hash;
};

struct ns_itab {
    struct ns_itab_slot *slots;
    size_t cap, n; /* cap is 0 or a power of two */
};

typedef int (*ns_itab_eq_fn)(const void *ctx, uint32_t value, const void *key);

/* The value stored under key, or NS_NONE. */
uint32_t ns_itab_get(const struct ns_itab *t, uint64_t hash, ns_itab_eq_fn eq, const void *ctx,
                     const void *key);
/* Adds value under hash (the caller made sure the key is absent); 0 or -1. */
int ns_itab_put(struct ns_itab *t, uint64_t hash, uint32_t value);
void ns_itab_free(struct ns_itab *t);

struct ns_pool_block;

struct ns_pool {
    struct ns_pool_block *blocks;
    struct ns_itab set;
    const char **strs; /* interned strings by index */
    uint32_t *lens;
    size_t nstrs, cap;
};

/* Interns len bytes (any bytes but NUL); returns the shared NUL-terminated copy or NULL. */
const char *ns_pool_intern(struct ns_pool *p, const char *s, size_t len);
const char *ns_pool_str(struct ns_pool *p, const char *s);
void ns_pool_free(struct ns_pool *p);

#endif
