/*
 * capture — the call stack of an interposed call (malloc, write, pthread_mutex_lock...),
 * unwound from the interposer's caller with the CFI unwinder, ending in a named pseudo
 * frame for the function that was called, and interned in the process-wide stack table.
 *
 * Contract: for interposers only (not signal handlers): may mmap. The calling thread must
 * own `th` and have set th->in_hook, so that anything the capture calls passes through the
 * interposers. Allocation-free otherwise; no lock on the common path.
 */
#ifndef NS_CAPTURE_H
#define NS_CAPTURE_H

#include <stdint.h>

#include "stacks.h"
#include "../sources/threads.h"

/*
 * The registers of the caller of the function this expands in. That function must keep a
 * frame pointer (the interposer files are built with -fno-omit-frame-pointer): the return
 * address is then above the saved rbp, and the caller's stack pointer right above that.
 */
#define NS_CALLER_REGS(r)                                                                          \
    do {                                                                                           \
        uintptr_t *fp_ = (uintptr_t *)__builtin_frame_address(0);                                  \
        (r).ip = (uint64_t)(uintptr_t)__builtin_return_address(0);                                 \
        (r).sp = (uint64_t)(uintptr_t)(fp_ + 2);                                                   \
        (r).bp = (uint64_t)fp_[0];                                                                 \
    } while (0)

/* The names as the region's reader finds them (shm.h: header->names): id i is name[i - 1]. */
#define NS_PSEUDO_NAMES_MAX 256
struct ns_pseudo_names {
    uint32_t n; /* atomic */
    const char *name[NS_PSEUDO_NAMES_MAX];
};

/* A stable small id for the name of an interposed function ("malloc", "write"), used as the
 * address of its pseudo frame. `name` must be a string literal (it is kept). Callers cache
 * the result in a static variable. 0 when the name table is full. */
uint32_t ns_pseudo_name(const char *name);
/* ns_pseudo_name cached in *cache (a static of the caller): what a hook calls per call. */
static inline uint32_t ns_pseudo_name_cached(uint32_t *cache, const char *name)
{
    uint32_t id = __atomic_load_n(cache, __ATOMIC_RELAXED);
    if (!id) {
        id = ns_pseudo_name(name);
        __atomic_store_n(cache, id, __ATOMIC_RELAXED);
    }
    return id;
}

/* The name for an id, NULL if unknown. */
const char *ns_pseudo_name_of(uint32_t id);

/* The interned stack of the call: [called function] + the caller's frames. NULL only when
 * the stack table cannot be created (out of memory). */
struct ns_stack_entry *ns_capture(struct ns_thread *th, const struct ns_regs *caller,
                                  uint32_t pseudo_id);

/* [called function, call site]: the one frame known of a call from its return address `ip`
 * (no stack is read), interned like any stack; a stack of the called function alone when
 * the module snapshot is busy. Same contract as ns_capture. */
struct ns_stack_entry *ns_capture_call_site(struct ns_thread *th, uintptr_t ip, uint32_t pseudo_id);

/* Allocates now what a thread's first capture would (its frame buffer and cache), and the
 * process's stack table: for callers whose first capture must not take longer than the
 * others (a blocking call about to wait). */
void ns_capture_prepare(struct ns_thread *th);

/* Maximum frames kept (the max_depth setting), and whether a capture builds the unwind
 * tables it misses itself (lazy: no writer thread builds them); set once at start. */
void ns_capture_configure(uint32_t max_depth, int lazy);

#endif
