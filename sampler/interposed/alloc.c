/*
 * alloc — see alloc.h. The common case (sample mode, allocation not sampled) costs a load of
 * the mode, the TLS pointer, a subtraction and a branch on top of the real malloc; free()
 * of a block that was not sampled costs two comparisons.
 */
#include "alloc.h"

#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "alloc_live.h"
#include "alloc_region.h"
#include "alloc_series.h"
#include "capture.h"
#include "../clock.h"
#include "../../preload/settings.h"
#include "../session/shm.h"
#include "sites.h"
#include "solo.h"
#include "../sources/threads.h"

struct ns_alloc_real ns_alloc_real;
__thread int64_t ns_alloc_countdown __attribute__((tls_model("initial-exec")));
uintptr_t ns_free_trap_lo, ns_free_trap_size = UINTPTR_MAX;
/* Off mode: a thread rechecks the mode after this many bytes (threads that already existed
 * when tracking started join it within that much allocation). */
#define OFF_RECHECK_BYTES (1 << 20)
/* The thread drew its first countdown (a fresh thread's 0 must not sample its first call). */
static __thread int tls_armed __attribute__((tls_model("initial-exec")));
static __thread uint64_t tls_rng __attribute__((tls_model("initial-exec")));
static int resolving;

static struct {
    double interval;
    uint32_t pseudo[NS_AF__COUNT];
} P;
/* The heap's totals, in the shared region once tracking starts (shm.h: header->alloc). */
static struct ns_alloc_pub unshared, *A = &unshared;

/* The mode the interposers obey; on the page a _Fork child gets zeroed (shm.h). */
static inline int alloc_mode(void)
{
    return __atomic_load_n(&ns_shm_local->alloc_active, __ATOMIC_RELAXED);
}

static const char *const fn_names[NS_AF__COUNT] = {
    [NS_AF_MALLOC] = "malloc",
    [NS_AF_CALLOC] = "calloc",
    [NS_AF_REALLOC] = "realloc",
    [NS_AF_REALLOCARRAY] = "reallocarray",
    [NS_AF_POSIX_MEMALIGN] = "posix_memalign",
    [NS_AF_ALIGNED_ALLOC] = "aligned_alloc",
    [NS_AF_MEMALIGN] = "memalign",
    [NS_AF_VALLOC] = "valloc",
    [NS_AF_PVALLOC] = "pvalloc",
    [NS_AF_MMAP] = "mmap",
};

/* ---- the real allocator ---- */

/* Which frees the fast path must leave to ns_alloc_free, for the current mode. */
static void update_free_trap(void)
{
    int full = alloc_mode() == NS_ALLOC_FULL;
    uintptr_t lo = full ? 0 : ns_region_lo, size = full ? UINTPTR_MAX : ns_region_size;
    __atomic_store_n(&ns_free_trap_size, UINTPTR_MAX, __ATOMIC_RELEASE);
    __atomic_store_n(&ns_free_trap_lo, lo, __ATOMIC_RELEASE);
    __atomic_store_n(&ns_free_trap_size, size, __ATOMIC_RELEASE);
}

/* dlsym allocates: while it runs, our malloc serves the bootstrap arena (resolving). */
static void resolve(void)
{
    if (__atomic_exchange_n(&resolving, 1, __ATOMIC_ACQ_REL))
        return;
    struct ns_alloc_real r;
    *(void **)&r.malloc = dlsym(RTLD_NEXT, "malloc");
    *(void **)&r.free = dlsym(RTLD_NEXT, "free");
    *(void **)&r.calloc = dlsym(RTLD_NEXT, "calloc");
    *(void **)&r.realloc = dlsym(RTLD_NEXT, "realloc");
    *(void **)&r.memalign = dlsym(RTLD_NEXT, "memalign");
    *(void **)&r.usable_size = dlsym(RTLD_NEXT, "malloc_usable_size");
    *(void **)&r.mmap = dlsym(RTLD_NEXT, "mmap");
    *(void **)&r.munmap = dlsym(RTLD_NEXT, "munmap");
    if (r.malloc && r.free && r.calloc && r.realloc && r.memalign) {
        /* malloc last: the fast path takes a non-NULL malloc to mean all are there. */
        void *(*m)(size_t) = r.malloc;
        r.malloc = NULL;
        ns_alloc_real = r;
        __atomic_store_n(&ns_alloc_real.malloc, m, __ATOMIC_RELEASE);
        update_free_trap(); /* frees can reach libc directly from now on */
    }
    __atomic_store_n(&resolving, 0, __ATOMIC_RELEASE);
}

static int have_real(void)
{
    if (__builtin_expect(__atomic_load_n(&ns_alloc_real.malloc, __ATOMIC_ACQUIRE) != NULL, 1))
        return 1;
    resolve();
    return ns_alloc_real.malloc != NULL;
}

/* ---- sampling ---- */

static uint64_t next_random(void)
{
    uint64_t x = tls_rng;
    if (!x) /* per thread: the address of its TLS, and when it first drew */
        x = ((uint64_t)(uintptr_t)&tls_rng * 0x9e3779b97f4a7c15ull) ^ ns_now_ns() ^ 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    tls_rng = x;
    return x;
}

/* Bytes until the next sample: exponential with mean alloc_interval. An allocation of s
 * bytes is sampled when the countdown, less s, is no longer positive: when floor(X) + 1 <= s,
 * i.e. X < s, with probability exactly 1 - e^(-s/T) (floor(X) alone would sample it when
 * X < s + 1: 1.6% too often for 64-byte blocks). */
static int64_t draw_countdown(void)
{
    double u = ((double)(next_random() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
    double d = -log(u) * P.interval;
    return d > 9e18 ? (int64_t)9e18 : (int64_t)d + 1;
}

/* x rounded down or up at random, so that its expected value is x: the weights are whole
 * numbers in the tables, and rounding 1/p = 1.6 to 2 would count 24% too many. */
static uint64_t unbiased_round(double x)
{
    if (!(x < 9e18))
        return (uint64_t)9e18;
    uint64_t whole = (uint64_t)x;
    double frac = x - (double)whole;
    double u = (double)(next_random() >> 11) * (1.0 / 9007199254740992.0);
    return whole + (u < frac);
}

static void note_live(struct ns_stack_entry *stack, int64_t bytes, int64_t count);

/* A sampled block: the unbiased weights of an allocation of `size` bytes. */
static struct ns_sampled weigh(struct ns_stack_entry *stack, size_t size)
{
    double p = -expm1(-(double)(size ? size : 1) / P.interval); /* 1 - e^(-s/T) */
    struct ns_sampled info = {stack, size, unbiased_round((double)size / p),
                              unbiased_round(1.0 / p)};
    return info;
}

static struct ns_stack_entry *capture(struct ns_thread *th, unsigned fn,
                                      const struct ns_regs *caller)
{
    if (!P.pseudo[fn])
        P.pseudo[fn] = ns_pseudo_name(fn_names[fn]);
    return ns_capture(th, caller, P.pseudo[fn]);
}

static void *real_alloc(size_t size, size_t align, unsigned fn);

/* A sampled allocation: from our range, with its stack and weights; where the range cannot
 * serve it (too big, too aligned, exhausted), from the real allocator, counted but not
 * followed. NULL when the allocation fails: a failed call allocated nothing. */
static void *sample_alloc(struct ns_thread *th, size_t size, size_t align, unsigned fn,
                          const struct ns_regs *caller)
{
    th->in_hook = 1;
    struct ns_stack_entry *stack = capture(th, fn, caller);
    struct ns_sampled info = weigh(stack, size);
    void *p = stack ? ns_region_alloc(size, align, fn == NS_AF_CALLOC, &info) : NULL;
    int ours = p != NULL;
    if (!p) {
        p = real_alloc(size, align, fn);
        if (p && stack)
            ns_shm_count(NS_CTR_ALLOC_REGION_FALLBACKS, 1);
    }
    struct ns_site *site = p && stack ? ns_site_get(th, NS_SITE_ALLOC, stack, 0) : NULL;
    if (site) {
        site->calls += info.weight_count;
        site->bytes += info.weight_bytes;
    }
    if (ours) {
        note_live(stack, (int64_t)info.weight_bytes, (int64_t)info.weight_count);
        ns_shm_count(NS_CTR_ALLOC_SAMPLED, 1);
    }
    th->in_hook = 0;
    return p;
}

static void sampled_free(void *p)
{
    struct ns_sampled info;
    ns_region_free(p, &info);
    /* In a _Fork child the stack is in the parent's region: not ours to change. */
    if (info.stack && ns_shm_owned())
        note_live(info.stack, -(int64_t)info.weight_bytes, -(int64_t)info.weight_count);
}

/* ---- full tracking ---- */

static void take_peak_snapshot(int64_t live)
{
    if (__atomic_exchange_n(&A->snapshot_busy, 1, __ATOMIC_ACQUIRE))
        return;
    size_t n = ns_stacks_count();
    for (size_t i = 0; i < n; i++) {
        struct ns_stack_entry *e = ns_stacks_at(i);
        if (e)
            __atomic_store_n(&e->peak_bytes, __atomic_load_n(&e->live_bytes, __ATOMIC_RELAXED),
                             __ATOMIC_RELAXED);
    }
    __atomic_store_n(&A->snapshot_at, live, __ATOMIC_RELAXED);
    ns_shm_count(NS_CTR_ALLOC_PEAK_SNAPSHOTS, 1);
    __atomic_store_n(&A->snapshot_busy, 0, __ATOMIC_RELEASE);
}

/*
 * Live bytes per stack and in all; a new peak 1% (and 4 KiB) above the last snapshot
 * copies every stack's live bytes into its peak_bytes — so "live at the peak" is exact to
 * within 1% of the peak, and snapshots stay few (logarithmic in the heap's growth).
 */
static void note_live(struct ns_stack_entry *stack, int64_t bytes, int64_t count)
{
    ns_solo_add(&stack->live_bytes, bytes);
    ns_solo_add(&stack->live_count, count);
    int64_t live = ns_solo_add(&A->live_bytes, bytes);
    int64_t peak = __atomic_load_n(&A->peak_bytes, __ATOMIC_RELAXED);
    if (ns_series_due(&A->series_last, live, peak)) {
        ns_series_push(live, __atomic_load_n(&A->mapped_bytes, __ATOMIC_RELAXED));
        if (alloc_mode() == NS_ALLOC_FULL)
            ns_live_publish();
    }
    if (bytes <= 0)
        return;
    while (live > peak && !__atomic_compare_exchange_n(&A->peak_bytes, &peak, live, 1,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    int64_t at = __atomic_load_n(&A->snapshot_at, __ATOMIC_RELAXED);
    int64_t step = at / 100 > 4096 ? at / 100 : 4096;
    if (live > peak && live >= at + step)
        take_peak_snapshot(live);
}

/* A new block p of size bytes. was/was_stack: the block a realloc replaced, whose free is
 * noted here too (was_stack NULL: none) — in one update when both have the same stack, as
 * the steps of a realloc chain have. */
static void track_replacing(struct ns_thread *th, void *p, size_t size, unsigned fn,
                            const struct ns_regs *caller, size_t was,
                            struct ns_stack_entry *was_stack)
{
    th->in_hook = 1;
    struct ns_stack_entry *stack = capture(th, fn, caller);
    struct ns_site *site = stack ? ns_site_get(th, NS_SITE_ALLOC, stack, 0) : NULL;
    if (site) {
        site->calls++;
        site->bytes += size;
    }
    int tracked = stack && ns_live_insert((uintptr_t)p, size, stack) == 0;
    if (!tracked)
        __atomic_store_n(&A->inexact, 1, __ATOMIC_RELAXED);
    if (was_stack && tracked && was_stack == stack)
        note_live(stack, (int64_t)size - (int64_t)was, 0);
    else {
        if (was_stack)
            note_live(was_stack, -(int64_t)was, -1);
        if (tracked)
            note_live(stack, (int64_t)size, 1);
    }
    th->in_hook = 0;
}

static void track(struct ns_thread *th, void *p, size_t size, unsigned fn,
                  const struct ns_regs *caller)
{
    track_replacing(th, p, size, fn, caller, 0, NULL);
}

static void untrack(void *p)
{
    size_t size;
    struct ns_stack_entry *stack;
    if (ns_live_remove((uintptr_t)p, &size, &stack))
        note_live(stack, -(int64_t)size, -1);
}

/* The thread to account a call to, or NULL to pass it through. */
static struct ns_thread *accounting_thread(void)
{
    if (!alloc_mode())
        return NULL;
    struct ns_thread *th = ns_threads_self();
    if (__builtin_expect(!th || th == NS_THREAD_NONE, 0)) {
        th = ns_threads_current();
        if (!th) {
            ns_shm_count(NS_CTR_ALLOC_UNTRACKED, 1);
            return NULL;
        }
    }
    return th->in_hook ? NULL : th;
}

/* ---- the interposers' entry points ---- */

/*
 * Sample mode, the countdown charged with this allocation and crossed: the thread to sample
 * it for, or NULL. Every byte is a sample point with probability 1/alloc_interval, so after
 * a crossing the next distance is a fresh draw. A thread's first crossing is not one: its
 * countdown started at 0, so the draw is made now and charged with this allocation.
 */
static struct ns_thread *sampling_thread(void)
{
    if (!tls_armed) {
        tls_armed = 1;
        ns_alloc_countdown += draw_countdown();
        if (ns_alloc_countdown > 0)
            return NULL;
    }
    ns_alloc_countdown = draw_countdown();
    return accounting_thread();
}

static void *real_alloc(size_t size, size_t align, unsigned fn)
{
    if (align > 16)
        return ns_alloc_real.memalign(align, size);
    return fn == NS_AF_CALLOC ? ns_alloc_real.calloc(1, size) : ns_alloc_real.malloc(size);
}

/* charged: sample mode's countdown already counts this allocation (the inline fast path). */
static void *alloc_slow(size_t size, size_t align, unsigned fn, const struct ns_regs *caller,
                        int charged)
{
    if (!have_real())
        return ns_boot_alloc(size, align);
    int mode = alloc_mode();
    if (mode == NS_ALLOC_SAMPLE) {
        if (!charged && (ns_alloc_countdown -= (int64_t)size) > 0)
            return real_alloc(size, align, fn);
        struct ns_thread *th = sampling_thread();
        return th ? sample_alloc(th, size, align, fn, caller) : real_alloc(size, align, fn);
    }
    ns_alloc_countdown = mode == NS_ALLOC_FULL ? 0 : OFF_RECHECK_BYTES;
    struct ns_thread *th = mode == NS_ALLOC_FULL ? accounting_thread() : NULL;
    void *p = real_alloc(size, align, fn);
    if (p && th)
        track(th, p, size, fn, caller);
    return p;
}

void *ns_alloc_malloc(size_t size, unsigned fn, const struct ns_regs *caller)
{
    return alloc_slow(size, 16, fn, caller, 1);
}

void *ns_alloc_aligned(size_t align, size_t size, unsigned fn, const struct ns_regs *caller)
{
    return alloc_slow(size, align < 16 ? 16 : align, fn, caller, 1);
}

static size_t old_size(void *p)
{
    if (ns_in_boot(p))
        return ns_boot_size(p);
    const struct ns_sampled *info = ns_in_region(p) ? ns_region_info(p) : NULL;
    if (info)
        return info->size;
    return ns_alloc_real.usable_size ? ns_alloc_real.usable_size(p) : 0;
}

/* realloc of a block the real allocator cannot realloc: a new block, a copy, the old freed.
 * charged: sample mode's countdown already counts the new block. */
static void *move_block(void *p, size_t size, unsigned fn, const struct ns_regs *caller,
                        int charged)
{
    void *q = alloc_slow(size, 16, fn, caller, charged);
    if (!q)
        return NULL;
    size_t n = old_size(p);
    memcpy(q, p, n < size ? n : size);
    ns_alloc_free(p);
    return q;
}

/* realloc: an allocation of the new size and a free of the old block (docs/INTERPOSED.md);
 * charged as in alloc_slow (the interposer's inline path charged the new size). */
static void *realloc_slow(void *p, size_t size, unsigned fn, const struct ns_regs *caller,
                          int charged)
{
    if (size == 0) {
        if (p)
            ns_alloc_free(p); /* glibc: realloc(p, 0) frees p and returns NULL */
        return p ? NULL : alloc_slow(0, 16, fn, caller, charged);
    }
    if (!p)
        return alloc_slow(size, 16, fn, caller, charged);
    if (ns_in_boot(p) || ns_in_region(p))
        return move_block(p, size, fn, caller, charged);
    int mode = alloc_mode();
    if (mode == NS_ALLOC_SAMPLE) {
        if (!charged && (ns_alloc_countdown -= (int64_t)size) > 0)
            return ns_alloc_real.realloc(p, size);
        return move_block(p, size, fn, caller, 1); /* sampled: the new block is ours */
    }
    if (charged) /* the mode changed since the inline path looked */
        ns_alloc_countdown = mode == NS_ALLOC_FULL ? 0 : OFF_RECHECK_BYTES;
    struct ns_thread *th = mode == NS_ALLOC_FULL ? accounting_thread() : NULL;
    if (th) {
        size_t was;
        struct ns_stack_entry *stack;
        int tracked = ns_live_remove((uintptr_t)p, &was, &stack);
        void *q = ns_alloc_real.realloc(p, size);
        if (!q) {
            if (tracked && ns_live_insert((uintptr_t)p, was, stack) != 0)
                __atomic_store_n(&A->inexact, 1, __ATOMIC_RELAXED);
            return NULL;
        }
        track_replacing(th, q, size, fn, caller, was, tracked ? stack : NULL);
        return q;
    }
    if (mode == NS_ALLOC_FULL)
        untrack(p);
    return have_real() ? ns_alloc_real.realloc(p, size) : NULL;
}

void *ns_alloc_realloc(void *p, size_t size, unsigned fn, const struct ns_regs *caller)
{
    return realloc_slow(p, size, fn, caller, 0);
}

void *ns_alloc_realloc_charged(void *p, size_t size, unsigned fn, const struct ns_regs *caller)
{
    return realloc_slow(p, size, fn, caller, 1);
}

void ns_alloc_free(void *p)
{
    if (!p || ns_in_boot(p))
        return;
    if (ns_in_region(p)) {
        sampled_free(p);
        return;
    }
    if (alloc_mode() == NS_ALLOC_FULL)
        untrack(p);
    if (have_real())
        ns_alloc_real.free(p);
}

size_t ns_alloc_usable_size(void *p)
{
    if (!p)
        return 0;
    return old_size(p);
}

/* ---- anonymous mappings ---- */

void *ns_alloc_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
                    const struct ns_regs *caller)
{
    void *p = have_real() && ns_alloc_real.mmap
                  ? ns_alloc_real.mmap(addr, len, prot, flags, fd, off)
                  : (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
    if (p == MAP_FAILED || !(flags & MAP_ANONYMOUS))
        return p;
    struct ns_thread *th = accounting_thread();
    if (th) {
        __atomic_add_fetch(&A->mapped_bytes, (int64_t)len, __ATOMIC_RELAXED);
        track(th, p, len, NS_AF_MMAP, caller);
    }
    return p;
}

int ns_alloc_munmap(void *addr, size_t len)
{
    size_t size;
    struct ns_stack_entry *stack;
    /* A mapping unmapped whole (the common case) leaves the live set; part of one stays
     * counted at its full size until the rest goes. */
    if (alloc_mode() && ns_live_remove((uintptr_t)addr, &size, &stack)) {
        if (size == len) {
            note_live(stack, -(int64_t)size, -1);
            __atomic_sub_fetch(&A->mapped_bytes, (int64_t)size, __ATOMIC_RELAXED);
        } else if (len < size && ns_live_insert((uintptr_t)addr + len, size - len, stack) == 0) {
            note_live(stack, -(int64_t)len, 0);
            __atomic_sub_fetch(&A->mapped_bytes, (int64_t)len, __ATOMIC_RELAXED);
        }
    }
    return have_real() && ns_alloc_real.munmap ? ns_alloc_real.munmap(addr, len)
                                               : (int)syscall(SYS_munmap, addr, len);
}

/* ---- control ---- */

int ns_alloc_start(unsigned mode, uint64_t interval)
{
    struct ns_shm_header *h = ns_shm_header();
    if (!have_real() || !h)
        return -1;
    P.interval = (double)(interval ? interval : 1);
    if (mode == NS_ALLOC_SAMPLE && ns_region_init() < 0)
        return -1;
    if (A == &unshared) {
        struct ns_alloc_pub *pub = ns_shm_alloc(sizeof(*pub));
        if (!pub || ns_series_init() < 0)
            return -1;
        A = pub;
        ns_live_set_counters(&pub->live_blocks, &pub->table_bytes);
    }
    A->mode = (int)mode;
    __atomic_store_n(&h->alloc, A, __ATOMIC_RELEASE);
    /* Full mode traps every free before the first allocation is tracked. */
    if (mode == NS_ALLOC_FULL)
        __atomic_store_n(&ns_free_trap_size, UINTPTR_MAX, __ATOMIC_RELEASE);
    __atomic_store_n(&ns_shm_local->alloc_active, (int)mode, __ATOMIC_RELEASE);
    update_free_trap();
    ns_alloc_countdown = 0; /* the starting thread takes the slow path at once */
    return 0;
}

void ns_alloc_stop(void)
{
    if (ns_shm_local->alloc_active)
        __atomic_store_n(&ns_shm_local->alloc_active, NS_ALLOC_OFF, __ATOMIC_RELEASE);
    update_free_trap();
}

int ns_alloc_mode(void)
{
    return __atomic_load_n(&ns_shm_local->alloc_active, __ATOMIC_ACQUIRE);
}

int64_t ns_alloc_live_bytes(void)
{
    return __atomic_load_n(&A->live_bytes, __ATOMIC_RELAXED);
}

int64_t ns_alloc_peak_bytes(void)
{
    return __atomic_load_n(&A->peak_bytes, __ATOMIC_RELAXED);
}

/* A heap that ends at its peak (nothing freed since) never crossed the next step. */
void ns_alloc_settle_peak(void)
{
    ns_live_publish();
    int64_t live = __atomic_load_n(&A->live_bytes, __ATOMIC_RELAXED);
    if (live > 0 && live >= __atomic_load_n(&A->peak_bytes, __ATOMIC_RELAXED) &&
        live > __atomic_load_n(&A->snapshot_at, __ATOMIC_RELAXED))
        take_peak_snapshot(live);
}

int64_t ns_alloc_mapped_bytes(void)
{
    return __atomic_load_n(&A->mapped_bytes, __ATOMIC_RELAXED);
}

int ns_alloc_inexact(void)
{
    return __atomic_load_n(&A->inexact, __ATOMIC_RELAXED) || ns_live_lost();
}

void ns_alloc_prefork(void)
{
    ns_region_prefork();
    ns_live_prefork();
}

void ns_alloc_postfork(int child)
{
    if (child)
        ns_series_reset();
    ns_live_postfork(child);
    ns_region_postfork(child);
}
