/*
 * alloc_region — memory that nsprof hands to the program itself:
 *  - the bootstrap arena, for allocations made before the real allocator is known (dlsym
 *    allocates while nsprof looks it up); never freed;
 *  - sampled blocks (alloc=sample): each in a run of pages of one reserved address range,
 *    so that free() recognises a sampled pointer by its address alone; what each block
 *    stands for is in a side table, never next to the block.
 *
 * Both are recognised with one subtraction and one comparison each (the globals below are
 * read without locks). Allocating and freeing sampled blocks takes a mutex (they are rare:
 * one per alloc_interval bytes allocated), never the program's malloc, and in steady state
 * no system call: runs are recycled; the range is made writable as its high-water mark
 * grows, and freed pages go back to the kernel in bulk.
 */
#ifndef NS_ALLOC_REGION_H
#define NS_ALLOC_REGION_H

#include <stddef.h>
#include <stdint.h>

#include "stacks.h"

#define NS_BOOT_BYTES (256u << 10)

extern uintptr_t ns_region_lo, ns_region_size; /* 0, 0 until reserved */
extern char ns_boot_arena[NS_BOOT_BYTES];

static inline int ns_in_region(const void *p)
{
    return (uintptr_t)p - ns_region_lo < ns_region_size;
}

static inline int ns_in_boot(const void *p)
{
    return (uintptr_t)p - (uintptr_t)ns_boot_arena < NS_BOOT_BYTES;
}

/* Bootstrap arena: lock-free bump allocation; NULL when exhausted. */
void *ns_boot_alloc(size_t size, size_t align);
size_t ns_boot_size(const void *p);

/* What a sampled block remembers about its allocation. */
struct ns_sampled {
    struct ns_stack_entry *stack;
    size_t size;
    uint64_t weight_bytes, weight_count; /* the unbiased estimates it stands for */
};

/* Reserves the range (once); -1 if the address space cannot be had (then nothing is
 * sampled, and the profile says so). */
int ns_region_init(void);
/* A block of size bytes aligned to align (a power of two, <= a page), zeroed if `zero`;
 * NULL when the range cannot serve it. */
void *ns_region_alloc(size_t size, size_t align, int zero, const struct ns_sampled *info);
/* Frees a block; *info receives what it was allocated with. */
void ns_region_free(void *p, struct ns_sampled *info);
/* The block's info (size: what was asked); NULL if p is not a live sampled block. */
const struct ns_sampled *ns_region_info(const void *p);
/* Bytes of address range in use by sampled blocks (pages). */
uint64_t ns_region_bytes(void);
void ns_region_prefork(void);
void ns_region_postfork(int child);

#endif
