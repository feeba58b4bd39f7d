/*
 * ring — see ring.h. Each record is preceded by an 8-byte header holding its padded
 * length; a header with the PAD bit marks the unused tail of the buffer when a record
 * would not fit before the end, so records never wrap.
 */
#include "ring.h"

#include "../mem.h"

#define HDR        8u
#define PAD_BIT    (1ull << 63)
#define RECYCLE_AT (256u << 10)

static size_t padded(size_t len)
{
    return (len + 7) & ~(size_t)7;
}

int ns_ring_init(struct ns_ring *r, size_t size)
{
    r->buf = ns_mem_alloc(size);
    if (!r->buf)
        return -1;
    r->size = size;
    r->head = r->tail = 0;
    return 0;
}

void ns_ring_attach(struct ns_ring *r, void *buf, size_t size)
{
    r->buf = buf;
    r->size = size;
    r->head = r->tail = 0;
}

void ns_ring_destroy(struct ns_ring *r)
{
    ns_mem_free(r->buf, r->size);
    r->buf = NULL;
}

void *ns_ring_reserve(struct ns_ring *r, size_t len)
{
    uint64_t head = r->head; /* only this producer writes it */
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    size_t need = HDR + padded(len);
    size_t off = (size_t)(head & (r->size - 1));
    size_t to_end = r->size - off;
    size_t pad = need > to_end ? to_end : 0;
    /* An empty ring starts again at its beginning: while the consumer keeps up, only the
     * first RECYCLE_AT bytes are ever touched, and a large ring's memory is faulted in only
     * when a backlog needs it (a page fault per 4 KiB costs more than the copy into it). */
    int recycle = tail == head && off >= RECYCLE_AT;
    if (recycle)
        pad = to_end;
    if (need + pad > r->size || head + pad + need - tail > r->size)
        return NULL;
    if (pad) {
        *(uint64_t *)(r->buf + off) = PAD_BIT | pad;
        head += pad;
        /* Publish the pad now so that commit only has to add the record itself. */
        __atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
        /* A recycling pad is skipped here, not left to the consumer: until the consumer's
         * next look (which a busy consumer may not take for a long while) the pad would
         * count as used, and the ring would hold only its first `off` bytes. Nothing else
         * is in the ring, so the consumer either skips the pad itself (storing the same
         * position) or finds it skipped. */
        if (recycle) {
            uint64_t expect = head - pad;
            /* seq_cst: the record written next must not be seen before the skip */
            __atomic_compare_exchange_n(&r->tail, &expect, head, 0, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED);
        }
        off = 0;
    }
    return r->buf + off + HDR;
}

size_t ns_ring_used(const struct ns_ring *r)
{
    return (size_t)(r->head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE));
}

void ns_ring_commit(struct ns_ring *r, size_t len)
{
    size_t off = (size_t)(r->head & (r->size - 1));
    *(uint64_t *)(r->buf + off) = padded(len);
    __atomic_store_n(&r->head, r->head + HDR + padded(len), __ATOMIC_RELEASE);
}

const void *ns_ring_peek(struct ns_ring *r, size_t *len)
{
    for (;;) {
        /* tail first (atomic: the producer may skip a recycling pad for us, see
         * ns_ring_reserve): a tail moved by the producer is never ahead of the head read
         * after it. */
        uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
        uint64_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
        if (tail == head)
            return NULL;
        size_t off = (size_t)(tail & (r->size - 1));
        uint64_t h = *(const uint64_t *)(r->buf + off);
        /* If the producer skipped the pad at tail meanwhile, it may already have written
         * over that header: look again from the new position. */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&r->tail, __ATOMIC_RELAXED) != tail)
            continue;
        if (h & PAD_BIT) {
            __atomic_store_n(&r->tail, tail + (h & ~PAD_BIT), __ATOMIC_RELEASE);
            continue;
        }
        *len = (size_t)h;
        return r->buf + off + HDR;
    }
}

void ns_ring_release(struct ns_ring *r, size_t len)
{
    uint64_t tail = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
    __atomic_store_n(&r->tail, tail + HDR + padded(len), __ATOMIC_RELEASE);
}

void ns_ring_reset(struct ns_ring *r)
{
    __atomic_store_n(&r->tail, __atomic_load_n(&r->head, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
}
