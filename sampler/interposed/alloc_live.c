/*
 * alloc_live — see alloc_live.h. Deletion uses backward shifting, so lookups never wade
 * through tombstones however long the program runs.
 */
#include "alloc_live.h"

#include <string.h>

#include "../mem.h"
#include "solo.h"

#define STRIPES     256
#define FIRST_SLOTS 1024

struct entry {
    uintptr_t addr; /* 0 = empty */
    size_t size;
    struct ns_stack_entry *stack;
};

struct stripe {
    int lock;
    uint32_t grow_backoff; /* inserts before retrying a growth that failed */
    struct entry *slots;
    size_t nslots, used;
    char cache_line[64 - sizeof(int) * 2 - sizeof(void *) - sizeof(size_t) * 2];
};

#define GROW_BACKOFF 4096

static struct stripe stripes[STRIPES] __attribute__((aligned(64)));
static uint64_t unshared[2];
/* live_count: published at each growth and when asked for (ns_live_count), from the
 * stripes' own counts, so that no insert or remove writes a word all threads share. */
static uint64_t *live_count = &unshared[0], *table_bytes = &unshared[1];

void ns_live_set_counters(uint64_t *blocks, uint64_t *bytes)
{
    live_count = blocks;
    table_bytes = bytes;
}

static uint64_t mix(uintptr_t a)
{
    uint64_t h = (uint64_t)a * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

static struct stripe *stripe_of(uintptr_t addr, uint64_t *h)
{
    *h = mix(addr);
    return &stripes[(*h >> 56) % STRIPES];
}

static void spin_lock(int *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

static void lock_always(struct stripe *s)
{
    spin_lock(&s->lock);
}

/* While the process has one thread nothing else can hold a stripe (solo.h): 0, no lock. */
static int lock(struct stripe *s)
{
    if (ns_solo())
        return 0;
    lock_always(s);
    return 1;
}

static void unlock(struct stripe *s, int locked)
{
    if (locked)
        __atomic_store_n(&s->lock, 0, __ATOMIC_RELEASE);
}

/*
 * The nursery: while the process has one thread, the newest blocks wait here before they
 * go to the stripes. Most blocks die young (a buffer grown and freed, a pair of malloc and
 * free), and a block that dies in the nursery never touches a stripe, whose slots lie all
 * over a table of megabytes. Only the process's one thread uses it, so it needs no lock;
 * the first insert or remove made once a second thread exists moves it into the stripes,
 * under drain_lock. It is not used again: glibc never counts the process single-threaded
 * again, not even in a fork child (measured on 2.36).
 */
#define NURSERY 8

static struct {
    uintptr_t addr[NURSERY];
    size_t size[NURSERY];
    struct ns_stack_entry *stack[NURSERY];
    uint32_t n;      /* atomic: read by every thread once there are several */
    uint32_t victim; /* the next to leave for the stripes when it is full */
} nursery;
static int drain_lock;
static int nursery_lost; /* a block the stripes could not take when it left */

void ns_live_publish(void)
{
    uint64_t n = __atomic_load_n(&nursery.n, __ATOMIC_RELAXED);
    for (int i = 0; i < STRIPES; i++)
        n += __atomic_load_n(&stripes[i].used, __ATOMIC_RELAXED);
    __atomic_store_n(live_count, n, __ATOMIC_RELAXED);
}

static void put(struct entry *slots, size_t nslots, const struct entry *e)
{
    size_t mask = nslots - 1, i = mix(e->addr) & mask;
    while (slots[i].addr)
        i = (i + 1) & mask;
    slots[i] = *e;
}

static int grow(struct stripe *s)
{
    size_t n = s->nslots ? s->nslots * 2 : FIRST_SLOTS;
    struct entry *slots = ns_mem_alloc(n * sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < s->nslots; i++) {
        if (s->slots[i].addr)
            put(slots, n, &s->slots[i]);
    }
    ns_mem_free(s->slots, s->nslots * sizeof(*slots));
    __atomic_add_fetch(table_bytes, (n - s->nslots) * sizeof(*slots), __ATOMIC_RELAXED);
    ns_live_publish();
    s->slots = slots;
    s->nslots = n;
    return 0;
}

/* Into the stripe's table; the caller holds the stripe's lock or runs alone. */
static int table_insert(struct stripe *s, uint64_t h, uintptr_t addr, size_t size,
                        struct ns_stack_entry *stack)
{
    /* Out of memory, every insert would try (and fail) to map a bigger table: retry only
     * now and then, and fill the table further meanwhile, up to 7/8 of its slots. */
    if ((s->used + 1) * 2 > s->nslots) {
        if (s->grow_backoff)
            s->grow_backoff--;
        else if (grow(s) < 0)
            s->grow_backoff = GROW_BACKOFF;
    }
    if ((s->used + 1) * 8 > s->nslots * 7)
        return -1;
    size_t mask = s->nslots - 1, i = h & mask;
    while (s->slots[i].addr && s->slots[i].addr != addr)
        i = (i + 1) & mask;
    if (!s->slots[i].addr)
        __atomic_store_n(&s->used, s->used + 1, __ATOMIC_RELAXED);
    /* An address already present means its free went untracked (a block freed by some
     * path nsprof does not see): the newer allocation replaces it. */
    s->slots[i] = (struct entry){addr, size, stack};
    return 0;
}

static int table_remove(struct stripe *s, uint64_t h, uintptr_t addr, size_t *size,
                        struct ns_stack_entry **stack)
{
    if (!s->nslots)
        return 0;
    size_t mask = s->nslots - 1, i = h & mask;
    for (; s->slots[i].addr; i = (i + 1) & mask) {
        if (s->slots[i].addr != addr)
            continue;
        *size = s->slots[i].size;
        *stack = s->slots[i].stack;
        size_t hole = i;
        for (size_t j = (i + 1) & mask; s->slots[j].addr; j = (j + 1) & mask) {
            size_t home = mix(s->slots[j].addr) & mask;
            if (((j - home) & mask) >= ((j - hole) & mask)) {
                s->slots[hole] = s->slots[j];
                hole = j;
            }
        }
        s->slots[hole].addr = 0;
        __atomic_store_n(&s->used, s->used - 1, __ATOMIC_RELAXED);
        return 1;
    }
    return 0;
}

static __attribute__((noinline)) int insert_locked(uintptr_t addr, size_t size,
                                                   struct ns_stack_entry *stack)
{
    uint64_t h;
    struct stripe *s = stripe_of(addr, &h);
    int locked = lock(s);
    int r = table_insert(s, h, addr, size, stack);
    unlock(s, locked);
    return r;
}

static void drain_nursery(void)
{
    spin_lock(&drain_lock);
    for (uint32_t i = 0; i < nursery.n; i++)
        if (insert_locked(nursery.addr[i], nursery.size[i], nursery.stack[i]) != 0)
            __atomic_store_n(&nursery_lost, 1, __ATOMIC_RELAXED);
    __atomic_store_n(&nursery.n, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&drain_lock, 0, __ATOMIC_RELEASE);
}

/* Several threads: the nursery, if it still holds blocks, goes to the stripes first. */
static inline void leave_nursery(void)
{
    if (__builtin_expect(__atomic_load_n(&nursery.n, __ATOMIC_ACQUIRE) != 0, 0))
        drain_nursery();
}

/* A full nursery: its victim leaves for the stripes and the new block takes its place. */
static __attribute__((noinline)) int nursery_evict(uintptr_t addr, size_t size,
                                                   struct ns_stack_entry *stack)
{
    uint32_t i = nursery.victim;
    if (insert_locked(nursery.addr[i], nursery.size[i], nursery.stack[i]) != 0)
        return -1; /* the victim stays; the new block goes untracked */
    nursery.victim = (i + 1) % NURSERY;
    nursery.addr[i] = addr;
    nursery.size[i] = size;
    nursery.stack[i] = stack;
    return 0;
}

static int nursery_insert(uintptr_t addr, size_t size, struct ns_stack_entry *stack)
{
    uint32_t i = nursery.n;
    if (i == NURSERY)
        return nursery_evict(addr, size, stack);
    __atomic_store_n(&nursery.n, i + 1, __ATOMIC_RELAXED);
    nursery.addr[i] = addr;
    nursery.size[i] = size;
    nursery.stack[i] = stack;
    return 0;
}

/* 1 if addr was in the nursery (now taken out), else 0. */
static int nursery_remove(uintptr_t addr, size_t *size, struct ns_stack_entry **stack)
{
    uint32_t n = nursery.n;
    for (uint32_t i = n; i-- > 0;) {
        if (nursery.addr[i] != addr)
            continue;
        *size = nursery.size[i];
        *stack = nursery.stack[i];
        nursery.addr[i] = nursery.addr[n - 1];
        nursery.size[i] = nursery.size[n - 1];
        nursery.stack[i] = nursery.stack[n - 1];
        __atomic_store_n(&nursery.n, n - 1, __ATOMIC_RELAXED);
        return 1;
    }
    return 0;
}

int ns_live_insert(uintptr_t addr, size_t size, struct ns_stack_entry *stack)
{
    if (ns_solo())
        return nursery_insert(addr, size, stack);
    leave_nursery();
    return insert_locked(addr, size, stack);
}

static __attribute__((noinline)) int remove_locked(uintptr_t addr, size_t *size,
                                                   struct ns_stack_entry **stack)
{
    uint64_t h;
    struct stripe *s = stripe_of(addr, &h);
    int locked = lock(s);
    int found = table_remove(s, h, addr, size, stack);
    unlock(s, locked);
    return found;
}

int ns_live_remove(uintptr_t addr, size_t *size, struct ns_stack_entry **stack)
{
    if (ns_solo()) {
        if (nursery_remove(addr, size, stack))
            return 1;
    } else
        leave_nursery();
    return remove_locked(addr, size, stack);
}

uint64_t ns_live_table_bytes(void)
{
    return __atomic_load_n(table_bytes, __ATOMIC_RELAXED);
}

uint64_t ns_live_count(void)
{
    ns_live_publish();
    return __atomic_load_n(live_count, __ATOMIC_RELAXED);
}

int ns_live_lost(void)
{
    return __atomic_load_n(&nursery_lost, __ATOMIC_RELAXED);
}

void ns_live_prefork(void)
{
    spin_lock(&drain_lock);
    for (int i = 0; i < STRIPES; i++)
        lock_always(&stripes[i]);
}

void ns_live_postfork(int child)
{
    (void)child; /* the forking thread holds every lock, in the parent and in the child */
    for (int i = 0; i < STRIPES; i++)
        unlock(&stripes[i], 1);
    __atomic_store_n(&drain_lock, 0, __ATOMIC_RELEASE);
}
