/*
 * stacks — see stacks.h. An open-addressing table of entry pointers, claimed with a CAS;
 * entries are bump-allocated from chunks. Two threads inserting the same new stack at once
 * both allocate an entry, one wins the slot and the other's entry is simply never used.
 * Entries and the list of them live in the shared region (the reader walks the list); the
 * hash index is this process's own.
 */
#include "stacks.h"

#include <pthread.h>
#include <string.h>

#include "../mem.h"
#include "../session/shm.h"

#define TABLE_SLOTS (NS_STACKS_MAX * 2)
#define CHUNK_BYTES (1u << 20)

struct chunk {
    struct chunk *next;
    size_t used;
    uint8_t data[];
};

static struct {
    struct ns_stack_entry **slots; /* TABLE_SLOTS, allocated at first use */
    struct ns_stacks_pub *pub;     /* the list, in the region */
    struct chunk *chunk;           /* current chunk; grows under lock */
    pthread_mutex_t lock;
    struct ns_stack_entry *overflow;
} st = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t hash_frames(const struct ns_frame *f, int n, unsigned end)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (uint64_t)end ^ ((uint64_t)n << 32);
    for (int i = 0; i < n; i++) {
        h ^= f[i].addr + ((uint64_t)f[i].mapping_id << 48);
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    return h | 1;
}

/* Caller holds st.lock. */
static void *bump_locked(size_t size)
{
    size = (size + 15) & ~(size_t)15;
    struct chunk *c = st.chunk;
    if (!c || CHUNK_BYTES - sizeof(*c) - c->used < size) {
        size_t bytes = size + sizeof(*c) > CHUNK_BYTES ? size + sizeof(*c) : CHUNK_BYTES;
        struct chunk *nc = ns_shm_alloc(bytes);
        if (!nc)
            return NULL;
        nc->next = c;
        st.chunk = c = nc;
    }
    void *p = c->data + c->used;
    c->used += size;
    return p;
}

static struct ns_stack_entry *new_entry_locked(const struct ns_frame *f, int n, unsigned end,
                                               uint64_t h)
{
    struct ns_stack_entry *e = bump_locked(sizeof(*e) + (size_t)n * sizeof(*f));
    if (!e)
        return NULL;
    e->hash = h;
    e->nframes = (uint32_t)n;
    e->end = end;
    if (n)
        memcpy(e->frames, f, (size_t)n * sizeof(*f));
    return e;
}

static struct ns_stack_entry *new_entry(const struct ns_frame *f, int n, unsigned end, uint64_t h)
{
    pthread_mutex_lock(&st.lock);
    struct ns_stack_entry *e = new_entry_locked(f, n, end, h);
    pthread_mutex_unlock(&st.lock);
    return e;
}

static int same(const struct ns_stack_entry *e, const struct ns_frame *f, int n, unsigned end,
                uint64_t h)
{
    if (e->hash != h || e->nframes != (uint32_t)n || e->end != end)
        return 0;
    for (int i = 0; i < n; i++) {
        if (e->frames[i].addr != f[i].addr || e->frames[i].mapping_id != f[i].mapping_id)
            return 0;
    }
    return 1;
}

static int init_tables(void)
{
    pthread_mutex_lock(&st.lock);
    struct ns_shm_header *h = ns_shm_header();
    if (!st.slots && h) {
        struct ns_stacks_pub *pub = ns_shm_alloc(sizeof(*pub));
        struct ns_stack_entry **slots = ns_mem_alloc(TABLE_SLOTS * sizeof(*slots));
        /* Entry 0: where stacks go when the table is full (listed, so that its counters are
         * reported like any other stack's). */
        struct ns_stack_entry *overflow = new_entry_locked(NULL, 0, 1 /* depth */, 1);
        if (pub && slots && overflow) {
            st.pub = pub;
            st.overflow = overflow;
            pub->list[0] = overflow;
            pub->count = 1;
            __atomic_store_n(&h->stacks, pub, __ATOMIC_RELEASE);
            __atomic_store_n(&st.slots, slots, __ATOMIC_RELEASE);
        }
    }
    pthread_mutex_unlock(&st.lock);
    return st.slots ? 0 : -1;
}

void ns_stacks_prepare(void)
{
    if (!__atomic_load_n(&st.slots, __ATOMIC_ACQUIRE))
        init_tables();
}

static struct ns_stack_entry *overflow(void)
{
    ns_shm_count(NS_CTR_STACKS_OVERFLOWED, 1);
    return st.overflow;
}

struct ns_stack_entry *ns_stacks_get(const struct ns_frame *frames, int nframes, unsigned end)
{
    if (!ns_shm_owned())
        return NULL; /* a _Fork child: the region is its parent's */
    struct ns_stack_entry **slots = __atomic_load_n(&st.slots, __ATOMIC_ACQUIRE);
    if (!slots && (init_tables() < 0 || !(slots = st.slots)))
        return NULL;
    uint64_t h = hash_frames(frames, nframes, end);
    struct ns_stack_entry *mine = NULL;
    for (size_t i = h & (TABLE_SLOTS - 1), probes = 0; probes < TABLE_SLOTS;
         i = (i + 1) & (TABLE_SLOTS - 1), probes++) {
        struct ns_stack_entry *e = __atomic_load_n(&slots[i], __ATOMIC_ACQUIRE);
        if (e) {
            if (same(e, frames, nframes, end, h))
                return e;
            continue;
        }
        if (__atomic_load_n(&st.pub->count, __ATOMIC_RELAXED) >= NS_STACKS_MAX - 1)
            return overflow();
        if (!mine && !(mine = new_entry(frames, nframes, end, h)))
            return overflow();
        struct ns_stack_entry *expected = NULL;
        if (__atomic_compare_exchange_n(&slots[i], &expected, mine, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            size_t k = __atomic_fetch_add(&st.pub->count, 1, __ATOMIC_ACQ_REL);
            __atomic_store_n(&st.pub->list[k], mine, __ATOMIC_RELEASE);
            return mine;
        }
        if (same(expected, frames, nframes, end, h))
            return expected; /* another thread published the same stack first */
    }
    return overflow();
}

size_t ns_stacks_count(void)
{
    return st.pub ? __atomic_load_n(&st.pub->count, __ATOMIC_ACQUIRE) : 0;
}

struct ns_stack_entry *ns_stacks_at(size_t i)
{
    return __atomic_load_n(&st.pub->list[i], __ATOMIC_ACQUIRE);
}

void ns_stacks_prefork(void)
{
    pthread_mutex_lock(&st.lock);
}

void ns_stacks_postfork(int child)
{
    if (child)
        pthread_mutex_init(&st.lock, NULL);
    else
        pthread_mutex_unlock(&st.lock);
}
