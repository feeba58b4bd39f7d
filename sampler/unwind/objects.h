/*
 * objects — the store behind the module registry: every ELF object seen loaded, found by
 * its identity (interned path, load bias, build-id) in O(1), with a stable mapping id, and
 * its unwind table (cached per build-id, else per path, so each file is parsed once).
 *
 * Bounded: an object unloaded more than NS_OBJECT_RECYCLE_NS ago is recycled for the next
 * new one; its id then gets a new generation (mapping_info.gen), which tells the writer to
 * describe it again. A program that dlopens and dlcloses forever thus holds a bounded store.
 *
 * Not thread-safe and not async-signal-safe: modules.c calls it under its lock.
 */
#ifndef NS_OBJECTS_H
#define NS_OBJECTS_H

#include <stddef.h>
#include <stdint.h>

#include "cfi.h"
#include "modules.h"

#define NS_OBJECT_MAX_EXEC_SEGS 4
/* Far beyond the time between a sample and its unwind (milliseconds). */
#define NS_OBJECT_RECYCLE_NS (10ull * 1000000000ull)

struct ns_object {
    struct ns_mapping_info info;
    struct ns_cfi_cell *cfi; /* never moves: snapshots point at it */
    uint32_t nsegs;
    struct {
        uintptr_t lo, hi;
    } segs[NS_OBJECT_MAX_EXEC_SEGS];
    int seen;               /* found by the scan under way */
    int loaded;             /* in the current snapshot */
    uint64_t dead_since_ns; /* when it was last seen unloaded (0 while loaded) */
};

const char *ns_objects_intern_path(const char *path);
struct ns_object *ns_objects_find(const char *path, uintptr_t bias, const uint8_t *bid,
                                  size_t bid_len);
/* A new object (a recycled slot when one is old enough), or NULL when out of memory. */
struct ns_object *ns_objects_add(const char *path, uintptr_t bias, const uint8_t *bid,
                                 size_t bid_len, uint32_t flags, uint64_t now_ns);
/* Records that o was found unloaded at now_ns (queued for recycling). */
void ns_objects_mark_dead(struct ns_object *o, uint64_t now_ns);
struct ns_object *ns_objects_get(uint32_t id);
/* Ids recycled so far; read without the lock (atomic). */
uint64_t ns_objects_recycled(void);
size_t ns_objects_count(void);

/* A cell for an object's unwind table, from memory that never moves. */
struct ns_cfi_cell *ns_objects_new_cell(void);

/* Unwind table cache. *found = 0 when nothing is cached for this object yet. */
struct ns_cfi_table *ns_objects_cached_cfi(const uint8_t *bid, size_t bid_len, const char *path,
                                           int *found);
void ns_objects_remember_cfi(const uint8_t *bid, size_t bid_len, const char *path,
                             struct ns_cfi_table *t);

#endif
