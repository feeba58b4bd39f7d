/*
 * ring — a single-producer single-consumer ring of variable-length records in mmap'd
 * memory: the signal handler of a thread produces, the writer thread consumes.
 *
 * Contract: ns_ring_reserve/ns_ring_commit are async-signal-safe, lock-free and never
 * block: when the ring is full the record is refused (the caller counts the drop).
 * Records are contiguous (never split across the end), 8-byte aligned. An empty ring goes
 * back to its start, so memory past the first 256 KiB is touched only by a backlog; that
 * costs no capacity (the producer moves the consumer's position past the skipped end of an
 * empty ring itself, with a compare-and-swap, so tail is atomic on both sides).
 */
#ifndef NS_RING_H
#define NS_RING_H

#include <stddef.h>
#include <stdint.h>

struct ns_ring {
    uint8_t *buf;
    size_t size;                /* power of two */
    _Alignas(64) uint64_t head; /* producer position (bytes ever written) */
    _Alignas(64) uint64_t tail; /* consumer position */
};

int ns_ring_init(struct ns_ring *r, size_t size);
/* A ring over memory the caller provides (size a power of two), e.g. in the shared region. */
void ns_ring_attach(struct ns_ring *r, void *buf, size_t size);
void ns_ring_destroy(struct ns_ring *r);
/* Producer: space for up to len bytes, or NULL if full. Commit with the length actually
 * used (<= the reserved len). */
void *ns_ring_reserve(struct ns_ring *r, size_t len);
void ns_ring_commit(struct ns_ring *r, size_t len);
/* Producer: bytes in use (records not yet released, with their headers and padding). */
size_t ns_ring_used(const struct ns_ring *r);
/* Consumer: the next record (its length in *len) or NULL if empty; release after use. */
const void *ns_ring_peek(struct ns_ring *r, size_t *len);
void ns_ring_release(struct ns_ring *r, size_t len);
/* Drops everything (consumer side; e.g. in a fork child). */
void ns_ring_reset(struct ns_ring *r);

#endif
