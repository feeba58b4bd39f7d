/*
 * lock_counts — how often each thread takes each lock from each call site, and how often it
 * found the lock taken: contention as a rate, not only as time blocked. Two threads taking
 * one mutex ten million times a second mostly bounce its cache line and wait in short
 * futex calls; their lock_wait is small, their contended rate is not.
 *
 * Per thread, in its slot (threads.h), a small open-addressing table keyed by (lock
 * address, caller's return address): the lock interposers count every acquiring call that
 * could wait (not the single-threaded fast path) and every call whose first try found the
 * lock busy. Only the owning thread writes its table, with plain stores: the uncontended
 * path adds a hash, a compare and an increment, and touches nothing another thread
 * writes. An entry's stack ([called function, caller]) is made when the entry is, once per
 * (lock, call site) per thread; its resource (the lock's name) when the lock is first
 * contended there. Past NS_LOCK_COUNTS entries calls are only counted in `untracked`.
 *
 * The reader (writer/image_region.c) writes the increases as events lock_calls and
 * lock_contended, and copies resources between entries of the same lock address.
 *
 * Contract: for the lock interposers only, with `th` the calling thread's slot.
 */
#ifndef NS_LOCK_COUNTS_H
#define NS_LOCK_COUNTS_H

#include <stdint.h>

struct ns_thread;
struct ns_stack_entry;

#define NS_LOCK_COUNTS 512 /* a power of two */

struct ns_lock_count {
    uint64_t lock, caller; /* lock 0: free; published last (release) */
    struct ns_stack_entry *stack;
    uint32_t resource; /* resources.h id once contended in this thread, else 0 */
    uint32_t pad;
    uint64_t calls, contended;           /* the owner's */
    uint64_t sent_calls, sent_contended; /* the reader's */
};

struct ns_lock_counts {
    uint64_t untracked; /* calls of pairs that found no free entry */
    struct ns_lock_count e[NS_LOCK_COUNTS];
};

/* Counts one acquiring call of `lock` from `caller` (the hook's return address) by the
 * interposer of function `name` (a literal; *name_id caches its pseudo id, looked up only
 * when an entry is made, inside nsprof); contended: its try found the lock busy, then
 * resource is the lock's (0 if unknown). */
void ns_lock_count(struct ns_thread *th, const void *lock, uintptr_t caller, const char *name,
                   uint32_t *name_id, int contended, uint32_t resource);

#endif
