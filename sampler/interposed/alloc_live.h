/*
 * alloc_live — alloc=full's table of live allocations: address → (size, stack).
 *
 * 256 stripes by address, each an open-addressing table behind its own spinlock, so two
 * threads rarely meet on a lock and no lock is held longer than one insert or remove (or a
 * stripe's rehash); a process with one thread takes no lock at all (solo.h). An entry costs 24
 * bytes at a load factor of at most 1/2: about 48 bytes per live block. Tables grow with the heap;
 * if one cannot grow, it fills up to 7/8 and retries growing every few thousand inserts; an insert
 * into a full one fails and the caller marks the profile inexact.
 *
 * While the process has one thread, the newest few blocks wait in a nursery before they go
 * to the stripes: a block that dies young (most do) never touches them.
 */
#ifndef NS_ALLOC_LIVE_H
#define NS_ALLOC_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "stacks.h"

/* 0, or -1 when the table could not grow (the allocation is then not tracked). */
int ns_live_insert(uintptr_t addr, size_t size, struct ns_stack_entry *stack);
/* Removes addr; 1 and its size and stack if it was there, else 0. */
int ns_live_remove(uintptr_t addr, size_t *size, struct ns_stack_entry **stack);
/* Bytes the table itself uses (for the profile's counters). */
uint64_t ns_live_table_bytes(void);
/* Where the table keeps its block count and size (the shared region, for its reader). */
void ns_live_set_counters(uint64_t *blocks, uint64_t *bytes);
/* The block count is the stripes' sum, written to *blocks by these (and at each growth):
 * inserts and removes share no counter. */
void ns_live_publish(void);
uint64_t ns_live_count(void);

/* 1 once a block could not move from the nursery to a full table (it went untracked). */
int ns_live_lost(void);

void ns_live_prefork(void);
void ns_live_postfork(int child);

#endif
