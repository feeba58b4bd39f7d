/*
 * alloc_region — see alloc_region.h.
 *
 * The range is reserved PROT_NONE and never given back. A sampled block takes a run of
 * whole pages, made readable and writable for it and returned to PROT_NONE (and its memory
 * to the kernel) when it is freed: a use after free of a sampled block faults at once, which
 * is kinder than corrupting nsprof's own state. Free runs are kept sorted and coalesced, so
 * the range is reused and its use stays bounded by the sampled blocks live at once.
 * The block's header sits right before the pointer the program gets.
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
#define MAGIC        0x6e7370726f664231ull /* "nsprofB1" */

uintptr_t ns_region_lo, ns_region_size;
char ns_boot_arena[NS_BOOT_BYTES] __attribute__((aligned(64)));

struct header {
    uint64_t magic;
    uintptr_t run; /* first page of the run */
    size_t run_pages;
    struct ns_sampled info;
    uint64_t pad; /* the header is 64 bytes: the block after it stays 16-byte aligned */
};

struct run {
    uintptr_t start;
    size_t pages;
};

static struct {
    pthread_mutex_t lock;
    size_t boot_used;      /* atomic */
    uintptr_t bump;        /* first never-used page */
    struct run *free_runs; /* sorted by start, coalesced */
    size_t nfree, free_bytes;
    uint64_t in_use;
} G = {.lock = PTHREAD_MUTEX_INITIALIZER};

_Static_assert(sizeof(struct header) == 64, "header keeps blocks 16-byte aligned");

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

int ns_region_init(void)
{
    pthread_mutex_lock(&G.lock);
    if (!ns_region_size) {
        long p = syscall(SYS_mmap, NULL, REGION_BYTES, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != -1) {
            G.bump = (uintptr_t)p;
            ns_region_lo = (uintptr_t)p;
            __atomic_store_n(&ns_region_size, REGION_BYTES, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&G.lock);
    return ns_region_size ? 0 : -1;
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
        return start;
    }
    if (G.bump + (uintptr_t)pages * PAGE > ns_region_lo + ns_region_size)
        return 0;
    uintptr_t start = G.bump;
    G.bump += (uintptr_t)pages * PAGE;
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

void *ns_region_alloc(size_t size, size_t align, const struct ns_sampled *info)
{
    if (!ns_region_size || align > PAGE || size > REGION_BYTES / 4)
        return NULL;
    if (align < 16)
        align = 16;
    /* header, padding for alignment, block */
    size_t offset = (sizeof(struct header) + align - 1) & ~(align - 1);
    size_t pages = (offset + size + PAGE - 1) / PAGE;
    pthread_mutex_lock(&G.lock);
    uintptr_t run = take_run(pages);
    if (run && syscall(SYS_mprotect, run, pages * PAGE, PROT_READ | PROT_WRITE) != 0) {
        give_run(run, pages);
        run = 0;
    }
    if (run)
        G.in_use += pages * PAGE;
    pthread_mutex_unlock(&G.lock);
    if (!run)
        return NULL;
    uintptr_t block = run + offset;
    struct header *h = (struct header *)(block - sizeof(*h));
    *h = (struct header){MAGIC, run, pages, *info, 0};
    return (void *)block;
}

const struct ns_sampled *ns_region_info(const void *p)
{
    const struct header *h = (const struct header *)((uintptr_t)p - sizeof(struct header));
    if (((uintptr_t)p & 15) || (uintptr_t)h < ns_region_lo || h->magic != MAGIC)
        return NULL;
    return &h->info;
}

void ns_region_free(void *p, struct ns_sampled *info)
{
    struct header *h = (struct header *)((uintptr_t)p - sizeof(*h));
    if (((uintptr_t)p & 15) || h->magic != MAGIC) {
        memset(info, 0, sizeof(*info)); /* not a block we handed out: ignore, as free would */
        return;
    }
    *info = h->info;
    uintptr_t run = h->run;
    size_t pages = h->run_pages;
    h->magic = 0;
    /* Fresh zero pages, no access: the memory goes back to the kernel and a use after
     * free faults instead of writing into a later block. */
    syscall(SYS_mmap, run, pages * PAGE, PROT_NONE,
            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
    pthread_mutex_lock(&G.lock);
    give_run(run, pages);
    G.in_use -= pages * PAGE;
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
