/*
 * alloc_series — the live heap over time: a point whenever it moved by a step (1% of the
 * peak, at least 16 KiB) since the last point, so a run of a second or a day gets the same
 * shape, not one point per flush.
 *
 * Contract: ns_series_push is called by the program's threads with the live bytes they just
 * produced; it is lock-free. The ring is in the shared region (shm.h: header->series) and
 * its reader alone drains it (advancing `drained`). Bounded: points the reader has not
 * drained when the ring is full are dropped and counted (alloc_series_dropped), never
 * waited for.
 */
#ifndef NS_ALLOC_SERIES_H
#define NS_ALLOC_SERIES_H

#include <stddef.h>
#include <stdint.h>

struct ns_series_point {
    uint64_t mono_ns;
    int64_t live, mapped;
};

#define NS_SERIES_RING 8192 /* power of two */

struct ns_series_slot {
    struct ns_series_point p;
    uint64_t seq; /* index + 1 once published */
};

struct ns_series_ring {
    uint64_t claimed; /* producers (atomic) */
    uint64_t drained; /* the reader (atomic) */
    struct ns_series_slot slot[NS_SERIES_RING];
};

/* Creates the ring in the region (alloc tracking start); -1 without a region. */
int ns_series_init(void);
void ns_series_push(int64_t live, int64_t mapped);

/* Whether live moved by a step since the last point; claims the step when it did. */
static inline int ns_series_due(int64_t *last, int64_t live, int64_t peak)
{
    int64_t prev = __atomic_load_n(last, __ATOMIC_RELAXED);
    int64_t step = peak / 100 > 16384 ? peak / 100 : 16384;
    int64_t moved = live > prev ? live - prev : prev - live;
    return moved >= step &&
           __atomic_compare_exchange_n(last, &prev, live, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}

/* fork child: the parent's points are not the child's. */
void ns_series_reset(void);

#endif
