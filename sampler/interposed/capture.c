/*
 * capture — see capture.h.
 */
#include "capture.h"

#include <pthread.h>
#include <string.h>

#include "../mem.h"
#include "../unwind/modules.h"
#include "../clock.h"
#include "../format/nsp_format.h"
#include "../session/shm.h"

static const char *names[NS_PSEUDO_NAMES_MAX];
static uint32_t nnames; /* atomic; ids are 1..nnames */
static pthread_mutex_t names_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ns_pseudo_names *shared_names; /* the region's copy, for its reader */
static uint32_t max_depth = 256;
/* Build unwind tables here, on the program's thread, when a capture needs one: with an agent
 * no writer thread of ours builds them (attached mode). */
static int lazy_tables;
static uint64_t rescan_generation, last_rescan_ns;

/* Copies the names the region does not have yet (the first call creates its table; a fork
 * child's region copy already has the parent's). Caller holds names_lock. */
static void share_names(void)
{
    struct ns_shm_header *h = ns_shm_header();
    if (!h)
        return;
    if (!shared_names) {
        shared_names = ns_shm_alloc(sizeof(*shared_names));
        if (!shared_names)
            return;
        __atomic_store_n(&h->names, shared_names, __ATOMIC_RELEASE);
    }
    for (uint32_t i = shared_names->n; i < nnames; i++) {
        shared_names->name[i] = ns_shm_strndup(names[i], strlen(names[i]));
        if (!shared_names->name[i])
            return;
        __atomic_store_n(&shared_names->n, i + 1, __ATOMIC_RELEASE);
    }
}

void ns_capture_configure(uint32_t depth, int lazy)
{
    max_depth = depth;
    lazy_tables = lazy;
}

/*
 * An unwind stopped where a table is missing: build it (no_cfi), or look for objects loaded
 * since the last scan (no_module) — when a dlopen went through nsprof's hook since then, or at
 * most every 100 ms otherwise (code outside every object, e.g. a JIT, must not rescan each
 * call). Runs on the program's thread inside an interposer (th->in_hook: what it calls passes
 * through); it takes the registry's lock and the loader's, which nothing of ours holds while
 * calling back into the program. 1 if a retry can get further.
 */
static int fill_in_tables(unsigned end, const struct ns_frame *last)
{
    if (end == NSP_END_NO_CFI)
        return ns_modules_build_cfi(last->mapping_id) == NS_CFI_READY;
    struct ns_shm_header *h = ns_shm_header();
    uint64_t gen = h ? __atomic_load_n(&h->modules_generation, __ATOMIC_ACQUIRE) : 0;
    uint64_t now = ns_now_ns();
    if (gen == __atomic_load_n(&rescan_generation, __ATOMIC_RELAXED) &&
        now - __atomic_load_n(&last_rescan_ns, __ATOMIC_RELAXED) < 100000000ull)
        return 0;
    __atomic_store_n(&rescan_generation, gen, __ATOMIC_RELAXED);
    __atomic_store_n(&last_rescan_ns, now, __ATOMIC_RELAXED);
    return ns_modules_changed() && ns_modules_rescan(now) > 0;
}

uint32_t ns_pseudo_name(const char *name)
{
    pthread_mutex_lock(&names_lock);
    uint32_t id = 0;
    for (uint32_t i = 0; i < nnames && !id; i++) {
        if (strcmp(names[i], name) == 0)
            id = i + 1;
    }
    if (!id && nnames < NS_PSEUDO_NAMES_MAX) {
        names[nnames] = name;
        id = nnames + 1;
        __atomic_store_n(&nnames, id, __ATOMIC_RELEASE);
    }
    share_names();
    pthread_mutex_unlock(&names_lock);
    return id;
}

const char *ns_pseudo_name_of(uint32_t id)
{
    return id >= 1 && id <= __atomic_load_n(&nnames, __ATOMIC_ACQUIRE) ? names[id - 1] : NULL;
}

/*
 * The thread's live stack, from the caller's sp to the top of its stack. Bounds unknown (a
 * thread registered by the writer): the call site alone this time, and the writer finds the
 * mapping that holds last_sp — not pthread_getattr_np here, which takes a lock and mallocs,
 * and the interposed call may come from inside it.
 */
static int stack_bounds(struct ns_thread *th, uintptr_t sp, struct ns_stack_mem *mem)
{
    uintptr_t hi = __atomic_load_n(&th->stack_hi, __ATOMIC_ACQUIRE);
    mem->lo = mem->hi = sp;
    mem->copy = NULL;
    mem->log = NULL;
    if (!hi) {
        th->last_sp = sp;
        return -1;
    }
    if (sp < th->stack_lo || sp >= hi)
        return -1; /* an alternate or coroutine stack: the call site alone */
    mem->hi = hi;
    return 0;
}

/*
 * The stack cache. A hot call site calls malloc (or write) from the same pc and sp, through
 * the same callers, millions of times: unwinding each time costs ~20 ns a frame, while
 * checking that nothing it depended on changed costs one load a frame. An entry keeps the
 * registers it unwound from, the module snapshot, and every stack word the unwind read
 * (ns_load_log); the same registers over the same words in the same snapshot unwind to the
 * same frames, so a hit is exact, not a guess. Unwinds that depended on a table still being
 * built (no_cfi, no_module) are not kept.
 */
#define CACHE_SLOTS 32
#define CACHE_WORDS 96 /* words an unwind may read to be kept: ~48-96 frames */

struct cache_slot {
    uint64_t ip, sp, bp, snapshot;
    uint64_t stack_hi; /* the words lie below it: a slot reused by a thread with another
                        * stack must not read them */
    uint32_t pseudo, nwords;
    int used_bp;
    struct ns_stack_entry *stack;
    uint64_t words[CACHE_WORDS][2];
};

struct ns_capture_cache {
    struct cache_slot slot[CACHE_SLOTS];
};

static struct cache_slot *cache_slot(struct ns_thread *th, const struct ns_regs *r, uint32_t pseudo)
{
    if (!th->capture_cache) {
        th->capture_cache = ns_mem_alloc(sizeof(struct ns_capture_cache));
        if (!th->capture_cache)
            return NULL;
    }
    uint64_t h = (r->ip ^ (r->sp >> 4) ^ pseudo) * 0x9e3779b97f4a7c15ull;
    return &th->capture_cache->slot[h >> 59];
}

/* The words are on the live stack between sp and the top, which the key's sp bounds. */
static int cache_hit(const struct cache_slot *c, const struct ns_regs *r, uint32_t pseudo,
                     uint64_t snapshot, uintptr_t stack_hi)
{
    if (!c->stack || c->ip != r->ip || c->sp != r->sp || c->pseudo != pseudo ||
        c->snapshot != snapshot || c->stack_hi != stack_hi || (c->used_bp && c->bp != r->bp))
        return 0;
    for (uint32_t i = 0; i < c->nwords; i++) {
        if (*(const uint64_t *)(uintptr_t)c->words[i][0] != c->words[i][1])
            return 0;
    }
    return 1;
}

static void cache_keep(struct cache_slot *c, const struct ns_regs *r, uint32_t pseudo,
                       uint64_t snapshot, uintptr_t stack_hi, const struct ns_load_log *log,
                       unsigned end, struct ns_stack_entry *stack)
{
    c->stack = NULL;
    if (!stack || log->overflow || end == NSP_END_NO_CFI || end == NSP_END_NO_MODULE)
        return;
    c->ip = r->ip;
    c->sp = r->sp;
    c->bp = r->bp;
    c->snapshot = snapshot;
    c->stack_hi = stack_hi;
    c->pseudo = pseudo;
    c->used_bp = log->used_bp;
    c->nwords = log->n; /* already in c->words: the unwind logged into them */
    c->stack = stack;
}

void ns_capture_prepare(struct ns_thread *th)
{
    if (!th->scratch)
        th->scratch = ns_mem_alloc((NSP_MAX_FRAMES + 1) * sizeof(struct ns_frame));
    if (!th->capture_cache)
        th->capture_cache = ns_mem_alloc(sizeof(struct ns_capture_cache));
    ns_stacks_prepare();
}

/* A miss: unwinds, interns and keeps the result in the cache. Out of line, so that a hit
 * (ns_capture) saves no registers and sets up no frame for it. */
static __attribute__((noinline)) struct ns_stack_entry *
capture_unwinding(struct ns_thread *th, const struct ns_regs *caller, uint32_t pseudo_id)
{
    if (!th->scratch) {
        th->scratch = ns_mem_alloc((NSP_MAX_FRAMES + 1) * sizeof(struct ns_frame));
        if (!th->scratch)
            return NULL;
    }
    struct ns_frame *f = th->scratch;
    struct ns_stack_mem mem;
    unsigned end = NSP_END_STACK_END;
    int n = 0, max = (int)max_depth;
    if (pseudo_id) {
        f[n++] = (struct ns_frame){ns_modules_named_mapping(), pseudo_id};
    }
    /* Outside the thread's stack the window is empty: the call site alone is recorded. */
    int live = stack_bounds(th, caller->sp, &mem) == 0;
    const struct ns_snapshot *snap = ns_modules_acquire(&th->snapshot_busy);
    struct cache_slot *c = live && snap ? cache_slot(th, caller, pseudo_id) : NULL;
    struct ns_stack_entry *stack = NULL;
    struct ns_load_log log = {.words = c ? c->words : NULL, .max = c ? CACHE_WORDS : 0};
    if (c) {
        c->stack = NULL; /* its words are about to be overwritten */
        mem.log = &log;
    }
    int base = n;
    for (int attempt = 0; snap && attempt < 8; attempt++) {
        log.n = 0;
        log.overflow = log.used_bp = 0;
        n = base + ns_unwind_caller(&snap->mods, caller, &mem, f + base, max - base, &end);
        if (!lazy_tables || (end != NSP_END_NO_CFI && end != NSP_END_NO_MODULE) || n <= base ||
            !fill_in_tables(end, &f[n - 1]))
            break;
        ns_modules_release(&th->snapshot_busy);
        /* Snapshots replaced by the rescan: freed once no thread reads them. */
        ns_modules_retire(ns_now_ns());
        snap = ns_modules_acquire(&th->snapshot_busy);
    }
    stack = ns_stacks_get(f, n, end);
    if (c)
        cache_keep(c, caller, pseudo_id, snap->seq, mem.hi, &log, end, stack);
    ns_modules_release(&th->snapshot_busy);
    return stack;
}

struct ns_stack_entry *ns_capture(struct ns_thread *th, const struct ns_regs *caller,
                                  uint32_t pseudo_id)
{
    /* A hit needs neither the snapshot (its seq says whether it is still current) nor the
     * scratch frames: the words it checks are on this thread's live stack. */
    uintptr_t hi = __atomic_load_n(&th->stack_hi, __ATOMIC_ACQUIRE);
    if (th->capture_cache && caller->sp >= th->stack_lo && caller->sp < hi) {
        struct cache_slot *c = cache_slot(th, caller, pseudo_id);
        if (cache_hit(c, caller, pseudo_id, ns_modules_published(), hi))
            return c->stack;
    }
    return capture_unwinding(th, caller, pseudo_id);
}

struct ns_stack_entry *ns_capture_call_site(struct ns_thread *th, uintptr_t ip, uint32_t pseudo_id)
{
    struct ns_frame f[2] = {{ns_modules_named_mapping(), pseudo_id}};
    int n = 1;
    const struct ns_snapshot *snap = ns_modules_acquire(&th->snapshot_busy);
    if (snap) {
        struct ns_regs regs = {.ip = ip};
        struct ns_stack_mem none = {0}; /* reads no stack: the call site alone */
        unsigned end;
        n += ns_unwind_caller(&snap->mods, &regs, &none, f + 1, 1, &end);
    }
    ns_modules_release(&th->snapshot_busy);
    return ns_stacks_get(f, n, NSP_END_DEPTH);
}
