/*
 * alloc_region — see alloc_region.h.
 *
 * The range is reserved PROT_NONE once and made readable and writable from its start as the
 * sampled blocks' high-water mark grows, COMMIT_STEP at a time: one mprotect per step, and
 * the writable part stays one mapping (adjacent ranges of equal protection merge), so
 * vm.max_map_count never counts sampled blocks. A block takes a run of whole pages and
 * starts at the run's first page. Its metadata is in a side table indexed by that page (a
 * second reservation, made writable in step with the range), never next to the program's
 * pointer, where a buffer underflow of the program would overwrite it.
 *
 * Freed runs are kept sorted and coalesced, and reused as they are: no system call for a
 * sampled block in steady state. Their pages stay the process's until more than DIRTY_MAX of
 * them are free, when they all go back to the kernel at once (MADV_DONTNEED). A use after
 * free of a sampled block is therefore not caught: it writes into memory nsprof keeps for
 * later sampled blocks, as it would into the real allocator's — nsprof does not change what
 * the program does, even a wrong one.
 */
#include "alloc_region.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../mem.h"

#define REGION_BYTES (64ull << 30)
#define PAGE         4096u
#define REGION_PAGES (REGION_BYTES / PAGE)
#define COMMIT_STEP  (2u << 20)
#define DIRTY_MAX    (32u << 20)

uintptr_t ns_region_lo, ns_region_size;
char ns_boot_arena[NS_BOOT_BYTES] __attribute__((aligned(64)));

/* What the side table keeps for the run that starts at its page. */
struct meta {
    struct ns_sampled info;
    uint32_t pages;
    uint32_t live; /* a block starts here and is not freed */
};

struct run {
    uintptr_t start;
    size_t pages;
};

static struct {
    pthread_mutex_t lock;
    size_t boot_used;      /* atomic */
    struct meta *meta;     /* REGION_PAGES entries, reserved; writable up to committed */
    uintptr_t bump;        /* first never-used page */
    uintptr_t committed;   /* the range is writable below this */
    struct run *free_runs; /* sorted by start, coalesced */
    size_t nfree, free_bytes;
    uint64_t in_use, dirty; /* bytes in live runs; bytes of free runs still backed */
} G = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- bootstrap ---- */

void *ns_boot_alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    for (;;) {
        size_t used = __atomic_load_n(&G.boot_used, __ATOMIC_ACQUIRE);
        size_t start = (used + 16 + align - 1) & ~(align - 1); /* room for the size word */
        if (start + size > NS_BOOT_BYTES || start + size < start)
            return NULL;
        if (__atomic_compare_exchange_n(&G.boot_used, &used, start + size, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            memcpy(ns_boot_arena + start - sizeof(size_t), &size, sizeof(size));
            return ns_boot_arena + start;
        }
    }
}

size_t ns_boot_size(const void *p)
{
    size_t size;
    memcpy(&size, (const char *)p - sizeof(size_t), sizeof(size));
    return size;
}

/* ---- the sampled range ---- */

static void *reserve(size_t bytes)
{
    long p = syscall(SYS_mmap, NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                     -1, 0);
    return p == -1 ? NULL : (void *)p;
}

int ns_region_init(void)
{
    pthread_mutex_lock(&G.lock);
    if (!ns_region_size) {
        void *range = reserve(REGION_BYTES);
        void *meta = range ? reserve(REGION_PAGES * sizeof(struct meta)) : NULL;
        if (meta) {
            G.meta = meta;
            G.bump = G.committed = (uintptr_t)range;
            ns_region_lo = (uintptr_t)range;
            __atomic_store_n(&ns_region_size, REGION_BYTES, __ATOMIC_RELEASE);
        } else if (range) {
            syscall(SYS_munmap, range, REGION_BYTES);
        }
    }
    pthread_mutex_unlock(&G.lock);
    return ns_region_size ? 0 : -1;
}

static size_t page_index(uintptr_t a)
{
    return (size_t)((a - ns_region_lo) / PAGE);
}

/* Makes the range writable up to at least `end` (and the side table with it). */
static int commit(uintptr_t end)
{
    if (end <= G.committed)
        return 0;
    uintptr_t limit = ns_region_lo + ns_region_size;
    uintptr_t to =
        (end - ns_region_lo + COMMIT_STEP - 1) / COMMIT_STEP * COMMIT_STEP + ns_region_lo;
    if (to > limit)
        to = limit;
    uintptr_t meta_from = (uintptr_t)&G.meta[page_index(G.committed)] & ~(uintptr_t)(PAGE - 1);
    uintptr_t meta_to = ((uintptr_t)&G.meta[page_index(to)] + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
    if (syscall(SYS_mprotect, meta_from, meta_to - meta_from, PROT_READ | PROT_WRITE) != 0 ||
        syscall(SYS_mprotect, G.committed, to - G.committed, PROT_READ | PROT_WRITE) != 0)
        return -1;
    G.committed = to;
    return 0;
}

static int grow_free_list(void)
{
    size_t cap = G.free_bytes / sizeof(struct run);
    if (G.nfree < cap)
        return 0;
    size_t bytes = G.free_bytes ? G.free_bytes * 2 : PAGE;
    struct run *r = ns_mem_grow(G.free_runs, G.free_bytes, bytes);
    if (!r)
        return -1;
    G.free_runs = r;
    G.free_bytes = bytes;
    return 0;
}

/* First fit among the free runs, else fresh pages; 0 when the range is exhausted. */
static uintptr_t take_run(size_t pages)
{
    for (size_t i = 0; i < G.nfree; i++) {
        struct run *r = &G.free_runs[i];
        if (r->pages < pages)
            continue;
        uintptr_t start = r->start;
        r->start += (uintptr_t)pages * PAGE;
        r->pages -= pages;
        if (!r->pages) {
            memmove(r, r + 1, (G.nfree - i - 1) * sizeof(*r));
            G.nfree--;
        }
        uint64_t bytes = (uint64_t)pages * PAGE;
        G.dirty -= bytes < G.dirty ? bytes : G.dirty;
        return start;
    }
    uintptr_t end = G.bump + (uintptr_t)pages * PAGE;
    if (end > ns_region_lo + ns_region_size || end < G.bump || commit(end) < 0)
        return 0;
    uintptr_t start = G.bump;
    G.bump = end;
    return start;
}

/* Gives a run back, merging it with its neighbours. */
static void give_run(uintptr_t start, size_t pages)
{
    size_t i = 0;
    while (i < G.nfree && G.free_runs[i].start < start)
        i++;
    int merged = 0;
    if (i > 0 && G.free_runs[i - 1].start + G.free_runs[i - 1].pages * PAGE == start) {
        G.free_runs[i - 1].pages += pages;
        merged = 1;
        i--;
    } else if (grow_free_list() == 0) {
        memmove(&G.free_runs[i + 1], &G.free_runs[i], (G.nfree - i) * sizeof(struct run));
        G.free_runs[i] = (struct run){start, pages};
        G.nfree++;
        merged = 1;
    }
    if (!merged)
        return; /* no memory for the list: this stretch of range is simply not reused */
    struct run *r = &G.free_runs[i];
    if (i + 1 < G.nfree && r->start + r->pages * PAGE == G.free_runs[i + 1].start) {
        r->pages += G.free_runs[i + 1].pages;
        memmove(&G.free_runs[i + 1], &G.free_runs[i + 2], (G.nfree - i - 2) * sizeof(*r));
        G.nfree--;
    }
}

/* Too much freed memory still backed: all of it back to the kernel, once. */
static void purge(void)
{
    for (size_t i = 0; i < G.nfree; i++)
        syscall(SYS_madvise, G.free_runs[i].start, G.free_runs[i].pages * PAGE, MADV_DONTNEED);
    G.dirty = 0;
}

void *ns_region_alloc(size_t size, size_t align, int zero, const struct ns_sampled *info)
{
    if (!ns_region_size || align > PAGE || size > REGION_BYTES / 4)
        return NULL;
    size_t pages = size ? (size + PAGE - 1) / PAGE : 1;
    pthread_mutex_lock(&G.lock);
    uintptr_t run = take_run(pages);
    if (run) {
        G.in_use += pages * PAGE;
        struct meta *m = &G.meta[page_index(run)];
        m->info = *info;
        m->pages = (uint32_t)pages;
        m->live = 1;
    }
    pthread_mutex_unlock(&G.lock);
    /* A reused run holds an earlier block's bytes (fresh pages are zero already, but which
     * is which is not kept: calloc clears what it asked for). */
    if (run && zero)
        memset((void *)run, 0, size);
    return (void *)run;
}

/* The live block's entry, or NULL (the lock held). */
static struct meta *live_meta(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if ((a & (PAGE - 1)) || a < ns_region_lo || a >= G.bump)
        return NULL;
    struct meta *m = &G.meta[page_index(a)];
    return m->live ? m : NULL;
}

const struct ns_sampled *ns_region_info(const void *p)
{
    pthread_mutex_lock(&G.lock);
    struct meta *m = live_meta(p);
    pthread_mutex_unlock(&G.lock);
    /* Its entry does not change until the block is freed, which its owner has not done. */
    return m ? &m->info : NULL;
}

void ns_region_free(void *p, struct ns_sampled *info)
{
    pthread_mutex_lock(&G.lock);
    struct meta *m = live_meta(p);
    if (!m) { /* not a block we handed out, or freed twice: ignored, as glibc may not */
        pthread_mutex_unlock(&G.lock);
        memset(info, 0, sizeof(*info));
        return;
    }
    *info = m->info;
    m->live = 0;
    size_t pages = m->pages;
    give_run((uintptr_t)p, pages);
    G.in_use -= pages * PAGE;
    G.dirty += pages * PAGE;
    if (G.dirty > DIRTY_MAX)
        purge();
    pthread_mutex_unlock(&G.lock);
}

uint64_t ns_region_bytes(void)
{
    return __atomic_load_n(&G.in_use, __ATOMIC_RELAXED);
}

void ns_region_prefork(void)
{
    pthread_mutex_lock(&G.lock);
}

void ns_region_postfork(int child)
{
    if (child)
        pthread_mutex_init(&G.lock, NULL);
    else
        pthread_mutex_unlock(&G.lock);
}
