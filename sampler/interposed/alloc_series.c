/*
 * alloc_series — see alloc_series.h. A ring of sequence-stamped slots in the shared region:
 * a producer claims the next index only while it is free (the reader drained the slot a lap
 * ago), fills it, then publishes the index in the slot; the reader takes slots in order
 * while they are published.
 */
#include "alloc_series.h"

#include "../clock.h"
#include "../session/shm.h"
#include "../writer_thread/writer.h"

static struct ns_series_ring *R;

int ns_series_init(void)
{
    struct ns_shm_header *h = ns_shm_header();
    if (R || !h)
        return R ? 0 : -1;
    R = ns_shm_alloc(sizeof(*R));
    if (!R)
        return -1;
    __atomic_store_n(&h->series, R, __ATOMIC_RELEASE);
    return 0;
}

void ns_series_push(int64_t live, int64_t mapped)
{
    if (!R || !ns_shm_owned())
        return;
    uint64_t now = ns_now_ns();
    uint64_t i = __atomic_load_n(&R->claimed, __ATOMIC_RELAXED);
    do {
        if (i - __atomic_load_n(&R->drained, __ATOMIC_ACQUIRE) >= NS_SERIES_RING) {
            ns_shm_count(NS_CTR_ALLOC_SERIES_DROPPED, 1);
            return;
        }
    } while (!__atomic_compare_exchange_n(&R->claimed, &i, i + 1, 1, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    struct ns_series_slot *s = &R->slot[i & (NS_SERIES_RING - 1)];
    s->p = (struct ns_series_point){now, live, mapped};
    __atomic_store_n(&s->seq, i + 1, __ATOMIC_RELEASE);
    /* Half full: the in-process writer drains now rather than at its next flush. */
    if (i - __atomic_load_n(&R->drained, __ATOMIC_ACQUIRE) == NS_SERIES_RING / 2)
        ns_writer_wake();
}

void ns_series_reset(void)
{
    if (!R)
        return;
    for (size_t i = 0; i < NS_SERIES_RING; i++)
        R->slot[i].seq = 0;
    R->claimed = R->drained = 0;
}
