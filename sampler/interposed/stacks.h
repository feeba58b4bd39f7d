/*
 * stacks — the process-wide table of call stacks seen by interposers (allocations, I/O,
 * locks): frames → one entry, shared by every thread, with the live-heap counters of the
 * allocations made at that stack.
 *
 * Contract:
 *  - Entries live in the shared region (shm.h); NULL when there is none.
 *  - ns_stacks_get is lock-free and allocation-free (entries come from mmap'd chunks) and
 *    may be called from any interposer; never from a signal handler (it may mmap).
 *  - Entries never move and are never freed: an entry pointer is a stable stack handle.
 *  - Bounded: past NS_STACKS_MAX entries every new stack maps to one "overflow" entry
 *    (counted), so memory stays bounded and nothing is lost from the totals.
 */
#ifndef NS_STACKS_H
#define NS_STACKS_H

#include <stddef.h>
#include <stdint.h>

#include "../unwind/unwind.h"

#define NS_STACKS_MAX (1u << 18)

struct ns_stack_entry {
    uint64_t hash;
    uint32_t nframes, end; /* end: enum nsp_stack_end */
    /* live allocations made at this stack (alloc tracking; atomics) */
    int64_t live_bytes, live_count;
    int64_t peak_bytes; /* live_bytes when the heap last reached a new peak */
    struct ns_frame frames[];
};

struct ns_stack_entry *ns_stacks_get(const struct ns_frame *frames, int nframes, unsigned end);
/* What a reader of the region walks (shm.h: header->stacks): entries in insertion order.
 * list[i] for i < count may still be NULL while another thread is publishing it. */
struct ns_stacks_pub {
    uint64_t count; /* atomic */
    struct ns_stack_entry *list[NS_STACKS_MAX];
};

/* Iteration in this process: entries 0 .. ns_stacks_count()-1 (an entry may be NULL).
 * Stacks that did not fit any more go to the overflow entry (counter stacks_overflowed). */
size_t ns_stacks_count(void);
/* Creates the table now (it is made at the first stack otherwise). */
void ns_stacks_prepare(void);
struct ns_stack_entry *ns_stacks_at(size_t i);
void ns_stacks_prefork(void);
void ns_stacks_postfork(int child);

#endif
