/*
 * intern — byte strings → dense ids, for the writer thread's stacks and strings.
 *
 * Bounded: the slot table starts small and doubles up to a fixed capacity; the key storage
 * is one mmap of fixed size, touched only as it fills. When either is full, ns_intern_put
 * returns -1 and the caller clears the table and starts over; ids keep increasing (they are
 * the caller's), so a profile only repeats definitions. The slot table is written once
 * when it is allocated: a hash table first read through the zero page and then written
 * takes a copy-on-write fault and a TLB shootdown of every CPU per page.
 * Writer thread only; not thread-safe.
 */
#ifndef NS_INTERN_H
#define NS_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct ns_intern_slot {
    uint64_t id;
    uint32_t hash, len;
    uint64_t offset;
};

struct ns_intern {
    struct ns_intern_slot *slots;
    size_t nslots, used; /* nslots is a power of two; used <= nslots / 2 */
    size_t max_slots;
    uint8_t *keys;
    size_t keys_cap, keys_used;
};

int ns_intern_init(struct ns_intern *t, size_t max_entries, size_t max_key_bytes);
void ns_intern_destroy(struct ns_intern *t);
void ns_intern_clear(struct ns_intern *t);
/* The id stored for key, or 0 if absent. */
uint64_t ns_intern_get(const struct ns_intern *t, const void *key, size_t len);
/* Stores key → id (key must be absent). 0 on success, -1 when full. */
int ns_intern_put(struct ns_intern *t, const void *key, size_t len, uint64_t id);

#endif
