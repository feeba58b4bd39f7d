/*
 * objects — see objects.h. Three small open-addressing hash tables (paths, identities,
 * unwind tables) over arrays that live in mmap'd memory; no malloc (this runs from dlopen
 * and dlclose hooks, and later under a malloc interposer).
 */
#include "objects.h"

#include <string.h>

#include "../mem.h"

#define EMPTY     0u
#define TOMBSTONE UINT32_MAX

/* A block of the path arena; blocks never move so interned paths stay valid. */
struct str_block {
    struct str_block *next;
    size_t used, cap;
    char data[];
};

struct index_table {
    uint32_t *slots; /* entry index + 1, EMPTY or TOMBSTONE */
    size_t n, used;  /* used counts tombstones too */
};

struct cfi_entry {
    uint8_t key[64];
    uint8_t keylen;
    const char *path_key; /* objects without build-id are cached by path */
    struct ns_cfi_table *table;
};

/* Cells are handed out from blocks that are never moved nor freed. */
#define CELLS_PER_BLOCK 4096
struct cell_block {
    struct cell_block *next;
    size_t used;
    struct ns_cfi_cell cells[CELLS_PER_BLOCK];
};

struct dead {
    uint32_t id;
    uint64_t since;
};

static struct {
    struct ns_object *objs;
    size_t nobjs, objs_bytes;
    struct index_table by_identity;
    const char **paths;
    size_t npaths, paths_bytes;
    struct index_table by_path;
    struct str_block *strings;
    struct cfi_entry *cfi;
    size_t ncfi, cfi_bytes;
    struct index_table by_cfi_key;
    struct dead *dead; /* FIFO of unloaded objects, oldest first */
    size_t dead_head, dead_tail, dead_bytes;
    uint64_t recycled;
    struct cell_block *cells;
} st;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return mix(h);
}

static int grow_array(void **array, size_t *bytes, size_t need)
{
    if (need <= *bytes)
        return 0;
    size_t nb = *bytes ? *bytes * 2 : 65536;
    while (nb < need)
        nb *= 2;
    void *p = ns_mem_grow(*array, *bytes, nb);
    if (!p)
        return -1;
    *array = p;
    *bytes = nb;
    return 0;
}

/* --- index tables: lookups go through a caller's equality test --------------------- */

typedef int (*match_fn)(uint32_t index, const void *key);

static uint32_t *index_probe(struct index_table *t, uint64_t h, match_fn match, const void *key,
                             int for_insert)
{
    size_t mask = t->n - 1;
    uint32_t *first_free = NULL;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint32_t v = t->slots[i];
        if (v == EMPTY)
            return for_insert && first_free ? first_free : &t->slots[i];
        if (v == TOMBSTONE) {
            if (!first_free)
                first_free = &t->slots[i];
        } else if (match(v - 1, key)) {
            return &t->slots[i];
        }
    }
}

static int index_resize(struct index_table *t, size_t n, size_t count,
                        uint64_t (*hash_of)(uint32_t index))
{
    uint32_t *slots = ns_mem_alloc(n * sizeof(uint32_t));
    if (!slots)
        return -1;
    ns_mem_free(t->slots, t->n * sizeof(uint32_t));
    t->slots = slots;
    t->n = n;
    t->used = 0;
    for (uint32_t i = 0; i < count; i++) {
        uint64_t h = hash_of(i);
        if (h == 0)
            continue; /* not indexed (a free slot) */
        size_t mask = n - 1, j = h & mask;
        while (slots[j] != EMPTY)
            j = (j + 1) & mask;
        slots[j] = i + 1;
        t->used++;
    }
    return 0;
}

/* Makes room for one more entry (count = entries that should be indexed after it). */
static int index_reserve(struct index_table *t, size_t count, uint64_t (*hash_of)(uint32_t))
{
    if (t->n && (t->used + 1) * 2 <= t->n)
        return 0;
    size_t n = 64;
    while (n < (count + 1) * 4)
        n *= 2;
    return index_resize(t, n, count, hash_of);
}

/* --- paths ------------------------------------------------------------------------- */

static uint64_t path_hash(const char *s)
{
    return hash_bytes(s, strlen(s), 0xcbf29ce484222325ull) | 1;
}

static uint64_t path_hash_of(uint32_t i)
{
    return path_hash(st.paths[i]);
}

static int path_match(uint32_t i, const void *key)
{
    return strcmp(st.paths[i], key) == 0;
}

static const char *store_string(const char *s)
{
    size_t len = strlen(s) + 1;
    struct str_block *b = st.strings;
    if (!b || b->cap - b->used < len) {
        size_t cap = len > 60000 ? len : 60000;
        struct str_block *nb = ns_mem_alloc(sizeof(*nb) + cap);
        if (!nb)
            return NULL;
        nb->cap = cap;
        nb->next = b;
        st.strings = b = nb;
    }
    char *p = b->data + b->used;
    memcpy(p, s, len);
    b->used += len;
    return p;
}

const char *ns_objects_intern_path(const char *path)
{
    if (index_reserve(&st.by_path, st.npaths, path_hash_of) < 0)
        return NULL;
    uint64_t h = path_hash(path);
    uint32_t *slot = index_probe(&st.by_path, h, path_match, path, 0);
    if (*slot != EMPTY)
        return st.paths[*slot - 1];
    const char *stored = store_string(path);
    if (!stored ||
        grow_array((void **)&st.paths, &st.paths_bytes, (st.npaths + 1) * sizeof(char *)) < 0)
        return NULL;
    st.paths[st.npaths++] = stored;
    *index_probe(&st.by_path, h, path_match, path, 1) = (uint32_t)st.npaths;
    st.by_path.used++;
    return stored;
}

/* --- objects by identity ------------------------------------------------------------ */

struct identity {
    const char *path; /* interned: compared by pointer */
    uintptr_t bias;
    const uint8_t *bid;
    size_t bid_len;
};

static uint64_t identity_hash(const struct identity *k)
{
    uint64_t h = mix((uint64_t)(uintptr_t)k->path * 31 + k->bias);
    return hash_bytes(k->bid, k->bid_len, h) | 1;
}

static uint64_t object_hash_of(uint32_t i)
{
    const struct ns_object *o = &st.objs[i];
    struct identity k = {o->info.path, o->info.bias, o->info.build_id, o->info.build_id_len};
    return identity_hash(&k);
}

static int identity_match(uint32_t i, const void *key)
{
    const struct identity *k = key;
    const struct ns_object *o = &st.objs[i];
    return o->info.path == k->path && o->info.bias == k->bias &&
           o->info.build_id_len == k->bid_len && memcmp(o->info.build_id, k->bid, k->bid_len) == 0;
}

struct ns_object *ns_objects_find(const char *path, uintptr_t bias, const uint8_t *bid,
                                  size_t bid_len)
{
    if (!st.by_identity.n)
        return NULL;
    struct identity k = {path, bias, bid, bid_len};
    uint32_t *slot = index_probe(&st.by_identity, identity_hash(&k), identity_match, &k, 0);
    return *slot == EMPTY ? NULL : &st.objs[*slot - 1];
}

static void set_identity(struct ns_object *o, const char *path, uintptr_t bias, const uint8_t *bid,
                         size_t bid_len, uint32_t flags)
{
    uint32_t id = o->info.id, gen = o->info.gen;
    memset(o, 0, sizeof(*o));
    o->info.id = id;
    o->info.gen = gen;
    /* A recycled slot gets a new cell: snapshots still unwinding the old object may point
     * at the old one. */
    o->info.flags = flags;
    o->info.bias = bias;
    o->info.path = path;
    if (bid_len > sizeof(o->info.build_id))
        bid_len = sizeof(o->info.build_id);
    memcpy(o->info.build_id, bid, bid_len);
    o->info.build_id_len = (uint8_t)bid_len;
}

/* The oldest dead object, if it has been dead long enough to forget. */
static struct ns_object *take_recyclable(uint64_t now_ns)
{
    size_t cap = st.dead_bytes / sizeof(struct dead);
    while (st.dead_head != st.dead_tail) {
        struct dead d = st.dead[st.dead_head % cap];
        struct ns_object *o = &st.objs[d.id - 1];
        if (o->loaded || o->dead_since_ns != d.since) {
            st.dead_head++; /* reloaded since: stale entry */
            continue;
        }
        if (now_ns - d.since < NS_OBJECT_RECYCLE_NS)
            return NULL;
        st.dead_head++;
        return o;
    }
    return NULL;
}

static void unindex(struct ns_object *o)
{
    struct identity k = {o->info.path, o->info.bias, o->info.build_id, o->info.build_id_len};
    uint32_t *slot = index_probe(&st.by_identity, identity_hash(&k), identity_match, &k, 0);
    if (*slot != EMPTY)
        *slot = TOMBSTONE;
}

struct ns_object *ns_objects_add(const char *path, uintptr_t bias, const uint8_t *bid,
                                 size_t bid_len, uint32_t flags, uint64_t now_ns)
{
    struct ns_object *o = take_recyclable(now_ns);
    if (o) {
        unindex(o);
        o->info.gen++;
        __atomic_add_fetch(&st.recycled, 1, __ATOMIC_RELEASE);
    } else {
        if (grow_array((void **)&st.objs, &st.objs_bytes, (st.nobjs + 1) * sizeof(*o)) < 0 ||
            index_reserve(&st.by_identity, st.nobjs, object_hash_of) < 0)
            return NULL;
        o = &st.objs[st.nobjs++];
        memset(o, 0, sizeof(*o));
        o->info.id = (uint32_t)st.nobjs;
    }
    set_identity(o, path, bias, bid, bid_len, flags);
    struct identity k = {path, bias, o->info.build_id, o->info.build_id_len};
    uint32_t *slot = index_probe(&st.by_identity, identity_hash(&k), identity_match, &k, 1);
    if (*slot == EMPTY)
        st.by_identity.used++;
    *slot = o->info.id;
    return o;
}

void ns_objects_mark_dead(struct ns_object *o, uint64_t now_ns)
{
    size_t cap = st.dead_bytes / sizeof(struct dead);
    if (st.dead_tail - st.dead_head == cap) {
        /* Grow the ring, unrolling it so that head becomes 0. */
        size_t n = st.dead_tail - st.dead_head, nbytes = st.dead_bytes ? st.dead_bytes * 2 : 4096;
        struct dead *d = ns_mem_alloc(nbytes);
        if (!d)
            return; /* not recycled, merely kept: still correct */
        for (size_t i = 0; i < n; i++)
            d[i] = st.dead[(st.dead_head + i) % cap];
        ns_mem_free(st.dead, st.dead_bytes);
        st.dead = d;
        st.dead_bytes = nbytes;
        st.dead_head = 0;
        st.dead_tail = n;
        cap = nbytes / sizeof(struct dead);
    }
    o->loaded = 0;
    o->dead_since_ns = now_ns ? now_ns : 1;
    st.dead[st.dead_tail++ % cap] = (struct dead){o->info.id, o->dead_since_ns};
}

struct ns_cfi_cell *ns_objects_new_cell(void)
{
    struct cell_block *b = st.cells;
    if (!b || b->used == CELLS_PER_BLOCK) {
        b = ns_mem_alloc(sizeof(*b));
        if (!b)
            return NULL;
        b->next = st.cells;
        st.cells = b;
    }
    return &b->cells[b->used++];
}

struct ns_object *ns_objects_get(uint32_t id)
{
    return id >= 1 && id <= st.nobjs ? &st.objs[id - 1] : NULL;
}

uint64_t ns_objects_recycled(void)
{
    return __atomic_load_n(&st.recycled, __ATOMIC_ACQUIRE);
}

size_t ns_objects_count(void)
{
    return st.nobjs;
}

/* --- unwind tables ------------------------------------------------------------------ */

struct cfi_key {
    const uint8_t *bid;
    size_t bid_len;
    const char *path;
};

static uint64_t cfi_key_hash(const struct cfi_key *k)
{
    return k->bid_len ? hash_bytes(k->bid, k->bid_len, 7) | 1
                      : mix((uint64_t)(uintptr_t)k->path) | 1;
}

static uint64_t cfi_hash_of(uint32_t i)
{
    struct cfi_key k = {st.cfi[i].key, st.cfi[i].keylen, st.cfi[i].path_key};
    return cfi_key_hash(&k);
}

static int cfi_match(uint32_t i, const void *key)
{
    const struct cfi_key *k = key;
    const struct cfi_entry *e = &st.cfi[i];
    if (k->bid_len)
        return e->keylen == k->bid_len && memcmp(e->key, k->bid, k->bid_len) == 0;
    return e->keylen == 0 && e->path_key == k->path;
}

struct ns_cfi_table *ns_objects_cached_cfi(const uint8_t *bid, size_t bid_len, const char *path,
                                           int *found)
{
    struct cfi_key k = {bid, bid_len > 64 ? 64 : bid_len, path};
    *found = 0;
    if (!st.by_cfi_key.n)
        return NULL;
    uint32_t *slot = index_probe(&st.by_cfi_key, cfi_key_hash(&k), cfi_match, &k, 0);
    if (*slot == EMPTY)
        return NULL;
    *found = 1;
    return st.cfi[*slot - 1].table;
}

void ns_objects_remember_cfi(const uint8_t *bid, size_t bid_len, const char *path,
                             struct ns_cfi_table *t)
{
    if (grow_array((void **)&st.cfi, &st.cfi_bytes, (st.ncfi + 1) * sizeof(struct cfi_entry)) < 0 ||
        index_reserve(&st.by_cfi_key, st.ncfi, cfi_hash_of) < 0)
        return;
    struct cfi_entry *e = &st.cfi[st.ncfi++];
    memset(e, 0, sizeof(*e));
    e->keylen = (uint8_t)(bid_len > sizeof(e->key) ? sizeof(e->key) : bid_len);
    memcpy(e->key, bid, e->keylen);
    e->path_key = path;
    e->table = t;
    struct cfi_key k = {e->key, e->keylen, path};
    *index_probe(&st.by_cfi_key, cfi_key_hash(&k), cfi_match, &k, 1) = (uint32_t)st.ncfi;
    st.by_cfi_key.used++;
}
