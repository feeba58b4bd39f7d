/*
 * resources — see resources.h. The registry is a table of chunk pointers (entries never
 * move), indexed by name through a hash for de-duplication; descriptors map to ids through
 * a two-level table filled on demand; locks through an address hash under the mutex. The
 * entries, their names and the chunk table are in the shared region (the reader names
 * resources from them); the indexes are private.
 */
#include "resources.h"

#include <pthread.h>
#include <string.h>

#include "../mem.h"
#include "../format/nsp_format.h"
#include "../session/shm.h"

#define CHUNK      NS_RESOURCES_CHUNK
#define FD_CHUNK   4096
#define FD_CHUNKS  1024 /* descriptors up to 4M */
#define NAME_BLOCK (64u << 10)

struct name_block {
    struct name_block *next;
    size_t used;
    char data[NAME_BLOCK];
};

struct lock_entry {
    const void *addr;
    uint32_t id;
};

static struct {
    pthread_mutex_t lock;
    struct ns_resources_pub *pub; /* chunks and count, in the region */
    uint32_t *by_name;            /* open addressing: id, 0 = empty */
    size_t by_name_slots;
    struct name_block *names;
    uint32_t too_many[16];
    uint32_t *fds[FD_CHUNKS];
    struct lock_entry *locks;
    size_t lock_slots, nlocks;
} R = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t name_hash(unsigned kind, uint32_t parent, const char *name)
{
    uint64_t h = (0xcbf29ce484222325ull ^ kind) + (uint64_t)parent * 0x9e3779b97f4a7c15ull;
    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

static const char *store_name(const char *name)
{
    size_t len = strnlen(name, 4095) + 1;
    struct name_block *b = R.names;
    if (!b || NAME_BLOCK - b->used < len) {
        struct name_block *nb = ns_shm_alloc(sizeof(*nb));
        if (!nb)
            return NULL;
        nb->next = b;
        R.names = b = nb;
    }
    char *p = b->data + b->used;
    memcpy(p, name, len - 1);
    p[len - 1] = '\0';
    b->used += len;
    return p;
}

const struct ns_resource *ns_resource_get(uint32_t id)
{
    if (id == 0 || id > ns_resource_count())
        return NULL;
    return &R.pub->chunks[(id - 1) / CHUNK][(id - 1) % CHUNK];
}

uint32_t ns_resource_count(void)
{
    return R.pub ? __atomic_load_n(&R.pub->count, __ATOMIC_ACQUIRE) : 0;
}

static int grow_by_name(void)
{
    size_t slots = R.by_name_slots ? R.by_name_slots * 2 : 1024;
    uint32_t *t = ns_mem_alloc(slots * sizeof(*t));
    if (!t)
        return -1;
    for (size_t i = 0; i < R.by_name_slots; i++) {
        uint32_t id = R.by_name[i];
        if (!id)
            continue;
        const struct ns_resource *r = ns_resource_get(id);
        size_t j = name_hash(r->kind, r->parent, r->name) & (slots - 1);
        while (t[j])
            j = (j + 1) & (slots - 1);
        t[j] = id;
    }
    ns_mem_free(R.by_name, R.by_name_slots * sizeof(*t));
    R.by_name = t;
    R.by_name_slots = slots;
    return 0;
}

/* Caller holds R.lock. */
static uint32_t add_locked(unsigned kind, const char *name, struct ns_stack_entry *stack,
                           const struct ns_resource *in)
{
    struct ns_shm_header *h = ns_shm_header();
    if (!R.pub && h && (R.pub = ns_shm_alloc(sizeof(*R.pub))) != NULL)
        __atomic_store_n(&h->resources, R.pub, __ATOMIC_RELEASE);
    if (!R.pub)
        return 0;
    uint32_t n = R.pub->count;
    if (n + 1 >= NS_RESOURCES_MAX)
        return 0;
    struct ns_resource **chunk = &R.pub->chunks[n / CHUNK];
    if (!*chunk && !(*chunk = ns_shm_alloc(CHUNK * sizeof(struct ns_resource))))
        return 0;
    const char *stored = store_name(name);
    if (!stored)
        return 0;
    struct ns_resource r = {.kind = kind, .name = stored, .stack = stack};
    if (in) {
        r.parent = in->parent;
        r.verb = in->verb;
        r.flags = in->flags;
        r.example = in->example ? store_name(in->example) : NULL;
    }
    (*chunk)[n % CHUNK] = r;
    __atomic_store_n(&R.pub->count, n + 1, __ATOMIC_RELEASE);
    return n + 1;
}

static uint32_t too_many(unsigned kind)
{
    unsigned k = kind < 16 ? kind : 0;
    if (!R.too_many[k])
        R.too_many[k] = add_locked(kind, "(too many to tell apart)", NULL, NULL);
    return R.too_many[k];
}

static uint32_t get_or_add(unsigned kind, const char *name, struct ns_stack_entry *stack,
                           const struct ns_resource *in)
{
    uint32_t id = 0, parent = in ? in->parent : 0;
    if (!ns_shm_owned())
        return 0;
    pthread_mutex_lock(&R.lock);
    if ((ns_resource_count() + 1) * 2 > R.by_name_slots && grow_by_name() < 0) {
        id = too_many(kind);
        goto out;
    }
    size_t mask = R.by_name_slots - 1, i = name_hash(kind, parent, name) & mask;
    for (; R.by_name[i]; i = (i + 1) & mask) {
        const struct ns_resource *r = ns_resource_get(R.by_name[i]);
        if (r->kind == kind && r->parent == parent && strcmp(r->name, name) == 0) {
            id = R.by_name[i];
            goto out;
        }
    }
    id = add_locked(kind, name, stack, in);
    if (id)
        R.by_name[i] = id;
    else
        id = too_many(kind);
out:
    pthread_mutex_unlock(&R.lock);
    return id;
}

uint32_t ns_resource_get_or_add(unsigned kind, const char *name, struct ns_stack_entry *stack)
{
    return get_or_add(kind, name, stack, NULL);
}

uint32_t ns_resource_get_or_add_in(unsigned kind, uint32_t parent, const char *name, unsigned verb,
                                   unsigned flags, const char *example)
{
    struct ns_resource in = {
        .parent = parent, .verb = (uint16_t)verb, .flags = (uint16_t)flags, .example = example};
    return get_or_add(kind, name, NULL, &in);
}

/* ---- descriptors ---- */

static uint32_t *fd_slot(int fd, int create)
{
    if (fd < 0 || (unsigned)fd >= FD_CHUNK * FD_CHUNKS)
        return NULL;
    uint32_t **chunk = &R.fds[(unsigned)fd / FD_CHUNK];
    uint32_t *c = __atomic_load_n(chunk, __ATOMIC_ACQUIRE);
    if (!c && create) {
        uint32_t *nc = ns_mem_alloc(FD_CHUNK * sizeof(*nc));
        if (!nc)
            return NULL;
        uint32_t *expected = NULL;
        if (__atomic_compare_exchange_n(chunk, &expected, nc, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            c = nc;
        else {
            ns_mem_free(nc, FD_CHUNK * sizeof(*nc)); /* another thread won */
            c = expected;
        }
    }
    return c ? &c[(unsigned)fd % FD_CHUNK] : NULL;
}

void ns_fd_set(int fd, uint32_t resource)
{
    uint32_t *s = fd_slot(fd, 1);
    if (s)
        __atomic_store_n(s, resource, __ATOMIC_RELEASE);
}

uint32_t ns_fd_resource(int fd)
{
    uint32_t *s = fd_slot(fd, 0);
    return s ? __atomic_load_n(s, __ATOMIC_ACQUIRE) : 0;
}

void ns_fd_clear(int fd)
{
    uint32_t *s = fd_slot(fd, 0);
    if (s)
        __atomic_store_n(s, 0, __ATOMIC_RELEASE);
}

void ns_fd_clear_range(unsigned first, unsigned last)
{
    if (last >= FD_CHUNK * FD_CHUNKS)
        last = FD_CHUNK * FD_CHUNKS - 1;
    for (unsigned fd = first; fd <= last && fd >= first; fd++) {
        if (!R.fds[fd / FD_CHUNK]) {
            fd |= FD_CHUNK - 1; /* a whole chunk never used: skip it */
            continue;
        }
        ns_fd_clear((int)fd);
    }
}

/* ---- locks ---- */

static uint64_t addr_hash(const void *addr)
{
    uint64_t h = (uint64_t)(uintptr_t)addr * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 32);
}

static int grow_locks(void)
{
    size_t slots = R.lock_slots ? R.lock_slots * 2 : 1024;
    struct lock_entry *t = ns_mem_alloc(slots * sizeof(*t));
    if (!t)
        return -1;
    for (size_t i = 0; i < R.lock_slots; i++) {
        if (!R.locks[i].addr)
            continue;
        size_t j = addr_hash(R.locks[i].addr) & (slots - 1);
        while (t[j].addr)
            j = (j + 1) & (slots - 1);
        t[j] = R.locks[i];
    }
    ns_mem_free(R.locks, R.lock_slots * sizeof(*t));
    R.locks = t;
    R.lock_slots = slots;
    return 0;
}

uint32_t ns_lock_resource(const void *addr, const char *name,
                          struct ns_stack_entry *(*make_stack)(void *ctx), void *ctx)
{
    uint32_t id = 0;
    if (!ns_shm_owned())
        return 0;
    pthread_mutex_lock(&R.lock);
    if ((R.nlocks + 1) * 2 > R.lock_slots && grow_locks() < 0) {
        id = too_many(NSP_RES_LOCK);
        goto out;
    }
    size_t mask = R.lock_slots - 1, i = addr_hash(addr) & mask;
    for (; R.locks[i].addr; i = (i + 1) & mask) {
        if (R.locks[i].addr == addr) {
            id = R.locks[i].id;
            goto out;
        }
    }
    /* Every lock is a resource of its own (two mutexes are not the same lock because they
     * were created at the same place): no de-duplication by name here. */
    id = add_locked(NSP_RES_LOCK, name, make_stack ? make_stack(ctx) : NULL, NULL);
    if (!id)
        id = too_many(NSP_RES_LOCK);
    R.locks[i] = (struct lock_entry){addr, id};
    R.nlocks++;
out:
    pthread_mutex_unlock(&R.lock);
    return id;
}

void ns_lock_forget(const void *addr)
{
    pthread_mutex_lock(&R.lock);
    if (R.lock_slots) {
        size_t mask = R.lock_slots - 1, i = addr_hash(addr) & mask;
        for (; R.locks[i].addr; i = (i + 1) & mask) {
            if (R.locks[i].addr != addr)
                continue;
            /* Backward-shift deletion keeps the probe chains intact. */
            size_t hole = i;
            for (size_t j = (i + 1) & mask; R.locks[j].addr; j = (j + 1) & mask) {
                size_t home = addr_hash(R.locks[j].addr) & mask;
                /* It may move into the hole if the hole lies on its probe path. */
                if (((j - home) & mask) >= ((j - hole) & mask)) {
                    R.locks[hole] = R.locks[j];
                    hole = j;
                }
            }
            R.locks[hole] = (struct lock_entry){NULL, 0};
            R.nlocks--;
            break;
        }
    }
    pthread_mutex_unlock(&R.lock);
}

void ns_resources_prefork(void)
{
    pthread_mutex_lock(&R.lock);
}

void ns_resources_postfork(int child)
{
    if (child)
        pthread_mutex_init(&R.lock, NULL);
    else
        pthread_mutex_unlock(&R.lock);
}
