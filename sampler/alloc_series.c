/*
 * alloc_series — see alloc_series.h. A ring of sequence-stamped slots: a producer claims the
 * next index only while it is free (the writer drained the slot a lap ago), fills it, then
 * publishes the index in the slot; the writer takes slots in order while they are published.
 */
#include "alloc_series.h"

#include "clock.h"
#include "writer.h"

#define RING 8192 /* power of two */

struct slot {
    struct ns_series_point p;
    uint64_t seq; /* index + 1 once published */
};

static struct {
    uint64_t claimed, drained, dropped;
    struct slot slot[RING];
} R;

void ns_series_push(int64_t live, int64_t mapped)
{
    uint64_t now = ns_now_ns();
    uint64_t i = __atomic_load_n(&R.claimed, __ATOMIC_RELAXED);
    do {
        if (i - __atomic_load_n(&R.drained, __ATOMIC_ACQUIRE) >= RING) {
            __atomic_add_fetch(&R.dropped, 1, __ATOMIC_RELAXED);
            return;
        }
    } while (
        !__atomic_compare_exchange_n(&R.claimed, &i, i + 1, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
    struct slot *s = &R.slot[i & (RING - 1)];
    s->p = (struct ns_series_point){now, live, mapped};
    __atomic_store_n(&s->seq, i + 1, __ATOMIC_RELEASE);
    /* Half full: the writer drains now rather than at its next flush (once per half ring). */
    if (i - __atomic_load_n(&R.drained, __ATOMIC_ACQUIRE) == RING / 2)
        ns_writer_wake();
}

size_t ns_series_drain(struct ns_series_point *out, size_t max)
{
    uint64_t i = R.drained;
    size_t n = 0;
    while (n < max) {
        struct slot *s = &R.slot[i & (RING - 1)];
        if (__atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) != i + 1)
            break; /* not claimed yet, or claimed and still being written */
        out[n++] = s->p;
        i++;
    }
    __atomic_store_n(&R.drained, i, __ATOMIC_RELEASE);
    return n;
}

uint64_t ns_series_dropped(void)
{
    return __atomic_load_n(&R.dropped, __ATOMIC_RELAXED);
}

void ns_series_reset(void)
{
    for (size_t i = 0; i < RING; i++)
        R.slot[i].seq = 0;
    R.claimed = R.drained = R.dropped = 0;
}
