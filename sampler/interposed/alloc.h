/*
 * alloc — allocation tracking behind the malloc family's interposers (preload/hooks_alloc.c).
 *
 * Modes (setting alloc):
 *  - sample: every thread counts bytes down to a draw from an exponential distribution of
 *    mean alloc_interval (tcmalloc's and jemalloc's byte-based Poisson sampling); the
 *    allocation that crosses zero is sampled: its stack is captured and it is weighed
 *    s / (1 - exp(-s/T)) bytes (1 / (1 - exp(-s/T)) allocations), which makes the totals
 *    unbiased whatever the allocation sizes. Sampled blocks are served from an address range
 *    of nsprof's own, so free() recognises them with two comparisons — no lookup at all for
 *    the other 99.99% of calls.
 *  - full: every allocation and free, with its stack: exact bytes and counts per stack,
 *    live heap, peak, leaks. The live-allocation table costs ~48 bytes per live block and
 *    grows with the heap; if it cannot grow, the profile says the numbers are inexact.
 *
 * Early allocations (dlsym itself allocates while the real functions are being found) come
 * from a bootstrap arena in the same range; free, realloc and malloc_usable_size know it.
 *
 * Contract: the ns_alloc_* functions are what the interposers call; they never call back
 * into the interposers, and they pass calls straight through for nsprof's own threads and
 * for calls made while nsprof's code runs (th->in_hook).
 */
#ifndef NS_ALLOC_H
#define NS_ALLOC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../preload/settings.h"
#include "alloc_region.h"
#include "../unwind/unwind.h"

enum ns_alloc_fn {
    NS_AF_MALLOC,
    NS_AF_CALLOC,
    NS_AF_REALLOC,
    NS_AF_REALLOCARRAY,
    NS_AF_POSIX_MEMALIGN,
    NS_AF_ALIGNED_ALLOC,
    NS_AF_MEMALIGN,
    NS_AF_VALLOC,
    NS_AF_PVALLOC,
    NS_AF_MMAP,
    NS_AF__COUNT
};

/* The heap as the region's reader sees it (shm.h: header->alloc); counters of sampled,
 * untracked... allocations are the header's (enum ns_shm_counter). */
struct ns_alloc_pub {
    int32_t mode;       /* enum ns_alloc_mode */
    int32_t inexact;    /* the live table could not grow: lower bounds */
    int64_t live_bytes; /* atomics, like the rest */
    int64_t peak_bytes;
    int64_t mapped_bytes;
    int64_t snapshot_at; /* live_bytes at the last peak snapshot */
    int64_t series_last; /* live_bytes at the last series point */
    int32_t snapshot_busy;
    int32_t pad;
    uint64_t live_blocks, table_bytes; /* the full-mode live table's (alloc_live.c) */
};

/* Starts tracking (from the constructor): mode is enum ns_alloc_mode. Needs the region. */
int ns_alloc_start(unsigned mode, uint64_t interval);
void ns_alloc_stop(void);
int ns_alloc_mode(void);

/*
 * The interposers' inline fast path: what decides, without a call, that the real function
 * serves a call as if nsprof were not there (sample mode, not this allocation; alloc=off).
 * alloc.c owns these; the real functions are NULL until resolved.
 */
struct ns_alloc_real {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*memalign)(size_t, size_t);
    size_t (*usable_size)(void *);
    /* libc's mmap and munmap, so a profile shows the program calling them (a raw syscall()
     * would show as libc's `syscall`); NULL until resolved, then the system call is made. */
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
};
#define NS_ALLOC_HIDDEN __attribute__((visibility("hidden")))
extern struct ns_alloc_real ns_alloc_real NS_ALLOC_HIDDEN;
/* Bytes this thread may still allocate before its next call must take the slow path: in
 * sample mode, the distance to the next sampled allocation; in full mode 0 (every call is
 * slow); in off mode a recheck distance, so a thread notices tracking start within it. */
extern __thread int64_t ns_alloc_countdown NS_ALLOC_HIDDEN
    __attribute__((tls_model("initial-exec")));
/* Addresses whose free() takes the slow path: everything until the real allocator is known
 * and in full mode; nsprof's sampled-block range otherwise. lo only changes while size is
 * UINTPTR_MAX, so a reader never pairs a new size with an old lo. */
extern uintptr_t ns_free_trap_lo NS_ALLOC_HIDDEN, ns_free_trap_size NS_ALLOC_HIDDEN;

/* 1: an allocation of size bytes goes straight to the real allocator. The countdown is
 * positive only once the real allocator is known and the mode lets calls pass. */
static inline int ns_alloc_passes(size_t size)
{
    return (ns_alloc_countdown -= (int64_t)size) > 0;
}

/* 1: free(p) goes straight to the real allocator (p not ours, nothing tracks frees). */
static inline int ns_alloc_free_passes(const void *p)
{
    uintptr_t lo = __atomic_load_n(&ns_free_trap_lo, __ATOMIC_ACQUIRE);
    return (uintptr_t)p - lo >= __atomic_load_n(&ns_free_trap_size, __ATOMIC_RELAXED) &&
           !ns_in_boot(p);
}

/* The interposers' slow path, after ns_alloc_passes said no (sample mode: the countdown
 * was already charged). caller: registers of the program's call site (capture.h). */
void *ns_alloc_malloc(size_t size, unsigned fn, const struct ns_regs *caller);
void *ns_alloc_aligned(size_t align, size_t size, unsigned fn, const struct ns_regs *caller);
void *ns_alloc_realloc(void *p, size_t size, unsigned fn, const struct ns_regs *caller);
/* The same after the interposer's inline path charged size (p non-NULL, size non-zero). */
void *ns_alloc_realloc_charged(void *p, size_t size, unsigned fn, const struct ns_regs *caller);
void ns_alloc_free(void *p);
size_t ns_alloc_usable_size(void *p);
void *ns_alloc_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                    const struct ns_regs *caller);
int ns_alloc_munmap(void *addr, size_t len);

/* Process-wide: bytes live now (full: exact; sample: estimated) and at the peak. */
int64_t ns_alloc_live_bytes(void);
int64_t ns_alloc_peak_bytes(void);
int64_t ns_alloc_mapped_bytes(void);
/* At the end: if the heap is at its peak now, the peak snapshot is now. */
void ns_alloc_settle_peak(void);
/* The live table could not grow at some point: full-mode numbers are a lower bound. */
int ns_alloc_inexact(void);

/* fork: no lock of ours may be held across fork by another thread. */
void ns_alloc_prefork(void);
void ns_alloc_postfork(int child);

#endif
