/*
 * modules — see modules.h. The objects themselves (identity, ids, unwind tables) are
 * kept by objects.c; this file scans the loader's list and publishes snapshots.
 * Unwind tables are built inside the dl_iterate_phdr callback on purpose: the
 * loader lock is held there, so no other thread can dlclose (unmap) the object while its
 * .eh_frame is being read.
 */
#include "modules.h"

#include <elf.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#include "../clock.h"
#include "../mem.h"
#include "objects.h"
#include "../interposed/solo.h"
#include "../session/shm.h"
#include "../sources/threads.h"
#include "../format/nsp_format.h"

#define MAX_LOAD_SEGS 16

uint64_t ns_modules_published_seq; /* snapshots published so far */

static struct {
    pthread_mutex_t lock;
    int initialized;
    struct ns_snapshot *current; /* newest; ->older is the history */
    unsigned long long adds, subs;
    char exe_path[PATH_MAX];
    uint32_t kernel_id;
    uint32_t named_id; /* "[nsprof]": frames named after interposed functions */
    uint32_t self_id;  /* libnsprof.so itself */
    uintptr_t vdso_base;
    uint64_t scan_time_ns;
    /* Ids loaded at the last scan, and those found by the scan under way: a rescan costs
     * the number of loaded objects, not the number ever seen. */
    uint32_t *live, *found;
    size_t nlive, nfound, ids_cap;
    struct ns_mapping_table *table; /* the region's copy of every object's description */
} reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Writes an object's description into the region's table, for the reader that names its
 * frames (under reg.lock). A recycled id is rewritten under its sequence number. */
static void publish_object(const struct ns_object *o)
{
    struct ns_shm_header *h = ns_shm_header();
    uint32_t id = o->info.id;
    if (!h || id == 0 || id > NS_MAPPINGS_CHUNK * NS_MAPPINGS_CHUNKS)
        return;
    if (!reg.table) {
        reg.table = ns_shm_alloc(sizeof(*reg.table));
        if (!reg.table)
            return;
        __atomic_store_n(&h->mappings, reg.table, __ATOMIC_RELEASE);
    }
    struct ns_shm_mapping **chunk = &reg.table->chunk[(id - 1) / NS_MAPPINGS_CHUNK];
    if (!*chunk && !(*chunk = ns_shm_alloc(NS_MAPPINGS_CHUNK * sizeof(**chunk))))
        return;
    struct ns_shm_mapping *m = &(*chunk)[(id - 1) % NS_MAPPINGS_CHUNK];
    const char *path = ns_shm_strndup(o->info.path, strlen(o->info.path));
    if (!path)
        return;
    __atomic_add_fetch(&m->seq, 1, __ATOMIC_ACQ_REL); /* odd: being written */
    m->info = o->info;
    m->info.path = path;
    __atomic_add_fetch(&m->seq, 1, __ATOMIC_RELEASE);
    if (id > reg.table->n)
        __atomic_store_n(&reg.table->n, id, __ATOMIC_RELEASE);
    reg.table->self_id = reg.self_id;
    reg.table->named_id = reg.named_id;
    reg.table->kernel_id = reg.kernel_id;
}

/* Freed snapshot blocks kept for reuse: a dlopen/dlclose loop rescans twice per
 * iteration, and an mmap/munmap pair each time costs TLB shootdowns on every CPU. */
#define SNAPSHOT_POOL 256
static struct ns_snapshot *snapshot_pool[SNAPSHOT_POOL];

static struct ns_snapshot *snapshot_alloc(size_t bytes)
{
    for (int i = 0; i < SNAPSHOT_POOL; i++) {
        struct ns_snapshot *s = snapshot_pool[i];
        if (s && s->map_len >= bytes) {
            size_t len = s->map_len;
            snapshot_pool[i] = NULL;
            memset(s, 0, bytes);
            s->map_len = len;
            return s;
        }
    }
    size_t len = (bytes + 4095) & ~(size_t)4095;
    struct ns_snapshot *s = ns_mem_alloc(len);
    if (s)
        s->map_len = len;
    return s;
}

static void snapshot_free(struct ns_snapshot *s)
{
    for (int i = 0; i < SNAPSHOT_POOL; i++) {
        if (!snapshot_pool[i]) {
            snapshot_pool[i] = s;
            return;
        }
    }
    ns_mem_free(s, s->map_len);
}

static int note_found(uint32_t id)
{
    if (reg.nfound == reg.ids_cap) {
        size_t old = reg.ids_cap * sizeof(uint32_t), cap = reg.ids_cap ? reg.ids_cap * 2 : 1024;
        uint32_t *live = ns_mem_grow(reg.live, old, cap * sizeof(uint32_t));
        if (!live)
            return -1;
        reg.live = live;
        uint32_t *found = ns_mem_grow(reg.found, old, cap * sizeof(uint32_t));
        if (!found)
            return -1;
        reg.found = found;
        reg.ids_cap = cap;
    }
    reg.found[reg.nfound++] = id;
    return 0;
}

/* Reads the GNU build-id note from a loaded PT_NOTE segment. */
static size_t read_build_id(uintptr_t start, size_t len, uint8_t *out, size_t cap)
{
    uintptr_t p = start, end = start + len;
    while (p + sizeof(ElfW(Nhdr)) <= end) {
        const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
        uintptr_t name = p + sizeof(*n);
        uintptr_t desc = name + ((n->n_namesz + 3) & ~3u);
        uintptr_t next = desc + ((n->n_descsz + 3) & ~3u);
        if (next > end || next <= p)
            break;
        if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
            memcmp((const void *)name, "GNU", 4) == 0) {
            size_t l = n->n_descsz < cap ? n->n_descsz : cap;
            memcpy(out, (const void *)desc, l);
            return l;
        }
        p = next;
    }
    return 0;
}

struct phdr_facts {
    uintptr_t eh_frame_hdr;
    struct ns_cfi_segment load[MAX_LOAD_SEGS];
    size_t nload;
    uint8_t build_id[64];
    size_t build_id_len;
};

static void read_phdrs(const struct dl_phdr_info *info, struct phdr_facts *f)
{
    memset(f, 0, sizeof(*f));
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && f->nload < MAX_LOAD_SEGS) {
            f->load[f->nload].start = start;
            f->load[f->nload].len = ph->p_memsz;
            f->nload++;
        } else if (ph->p_type == PT_GNU_EH_FRAME) {
            f->eh_frame_hdr = start;
        } else if (ph->p_type == PT_NOTE && f->build_id_len == 0) {
            f->build_id_len = read_build_id(start, ph->p_memsz, f->build_id, 64);
        }
    }
}

static void set_exec_segments(struct ns_object *o, const struct dl_phdr_info *info)
{
    o->nsegs = 0;
    o->info.lo = UINTPTR_MAX;
    o->info.hi = 0;
    for (int i = 0; i < info->dlpi_phnum && o->nsegs < NS_OBJECT_MAX_EXEC_SEGS; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        o->segs[o->nsegs].lo = lo;
        o->segs[o->nsegs].hi = lo + ph->p_memsz;
        o->nsegs++;
        if (lo < o->info.lo)
            o->info.lo = lo;
        if (lo + ph->p_memsz > o->info.hi)
            o->info.hi = lo + ph->p_memsz;
    }
}

static const char *object_path(const struct dl_phdr_info *info, int first, uint32_t *flags,
                               char *buf)
{
    *flags = 0;
    if (first && (!info->dlpi_name || !*info->dlpi_name)) {
        *flags = NSP_MAP_MAIN;
        return reg.exe_path;
    }
    if (info->dlpi_addr == reg.vdso_base || strncmp(info->dlpi_name, "linux-vdso", 10) == 0) {
        *flags = NSP_MAP_VDSO;
        return "[vdso]";
    }
    if (info->dlpi_name[0] != '/' && realpath(info->dlpi_name, buf))
        return buf;
    return info->dlpi_name;
}

/* Unwind tables are built on demand (ns_modules_build_cfi): a short-lived process must not
 * pay ~2 ms for libc's table unless a sample needs it. A table cached for the same build-id
 * (a library loaded again) is ready at once. */
static void init_cell(struct ns_cfi_cell *cell, const struct phdr_facts *f, const char *path)
{
    int found;
    struct ns_cfi_table *t = ns_objects_cached_cfi(f->build_id, f->build_id_len, path, &found);
    cell->table = t;
    cell->state =
        found ? (t ? NS_CFI_READY : NS_CFI_NONE) : (f->eh_frame_hdr ? NS_CFI_PENDING : NS_CFI_NONE);
}

/* The registry's object for a loader entry (created when `create`); NULL if it has no name
 * or memory ran out. *f receives the entry's program-header facts. */
static struct ns_object *object_of(struct dl_phdr_info *info, int first, int create,
                                   struct phdr_facts *f)
{
    char buf[PATH_MAX];
    uint32_t flags;
    const char *path = object_path(info, first, &flags, buf);
    if (!*path)
        return NULL;
    read_phdrs(info, f);
    const char *stored = ns_objects_intern_path(path);
    if (!stored)
        return NULL;
    struct ns_object *o = ns_objects_find(stored, info->dlpi_addr, f->build_id, f->build_id_len);
    if (o || !create)
        return o;
    o = ns_objects_add(stored, info->dlpi_addr, f->build_id, f->build_id_len, flags,
                       reg.scan_time_ns);
    if (o) {
        o->cfi = ns_objects_new_cell();
        if (o->cfi)
            init_cell(o->cfi, f, stored);
        set_exec_segments(o, info);
        publish_object(o);
    }
    return o;
}

struct scan_ctx {
    int index;
    int failed;
};

static int scan_object(struct dl_phdr_info *info, size_t size, void *data)
{
    struct scan_ctx *ctx = data;
    struct phdr_facts f;
    (void)size;
    int first = ctx->index++ == 0;
    if (first) {
        reg.adds = info->dlpi_adds;
        reg.subs = info->dlpi_subs;
    }
    struct ns_object *o = object_of(info, first, 1, &f);
    if (!o) {
        ctx->failed = 1;
        return 0;
    }
    uintptr_t self = (uintptr_t)&ns_modules_init;
    if (self >= o->info.lo && self < o->info.hi && reg.self_id != o->info.id) {
        reg.self_id = o->info.id;
        publish_object(o);
    }
    if (!o->seen && note_found(o->info.id) == 0)
        o->seen = 1;
    return 0;
}

/* Insertion sort: a few hundred segments at most, and qsort may call malloc. */
static void sort_by_lo(struct ns_unwind_module *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        struct ns_unwind_module m = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1].lo > m.lo; j--)
            v[j] = v[j - 1];
        v[j] = m;
    }
}

static struct ns_snapshot *build_snapshot(uint64_t valid_from_ns)
{
    size_t n = 0;
    for (size_t i = 0; i < reg.nfound; i++)
        n += ns_objects_get(reg.found[i])->nsegs;
    size_t bytes = sizeof(struct ns_snapshot) + n * sizeof(struct ns_unwind_module);
    struct ns_snapshot *s = snapshot_alloc(bytes);
    if (!s)
        return NULL;
    struct ns_unwind_module *v = (struct ns_unwind_module *)(s + 1);
    size_t k = 0;
    for (size_t i = 0; i < reg.nfound; i++) {
        const struct ns_object *o = ns_objects_get(reg.found[i]);
        for (uint32_t j = 0; j < o->nsegs; j++) {
            v[k].lo = o->segs[j].lo;
            v[k].hi = o->segs[j].hi;
            v[k].bias = o->info.bias;
            v[k].mapping_id = o->info.id;
            v[k].cfi = NULL;
            v[k].cell = o->cfi;
            k++;
        }
    }
    sort_by_lo(v, n);
    s->mods.v = v;
    s->mods.n = n;
    s->valid_from_ns = valid_from_ns;
    s->valid_to_ns = UINT64_MAX;
    return s;
}

static int same_modules(const struct ns_snapshot *a, const struct ns_snapshot *b)
{
    if (!a || !b || a->mods.n != b->mods.n)
        return 0;
    for (size_t i = 0; i < a->mods.n; i++) {
        if (a->mods.v[i].lo != b->mods.v[i].lo ||
            a->mods.v[i].mapping_id != b->mods.v[i].mapping_id)
            return 0;
    }
    return 1;
}

/* Objects loaded before and not found now are dead from now on (recyclable later); the
 * found list becomes the live list. */
static void update_liveness(void)
{
    for (size_t i = 0; i < reg.nfound; i++) {
        struct ns_object *o = ns_objects_get(reg.found[i]);
        o->loaded = 1;
        o->dead_since_ns = 0;
    }
    for (size_t i = 0; i < reg.nlive; i++) {
        struct ns_object *o = ns_objects_get(reg.live[i]);
        if (!o->seen)
            ns_objects_mark_dead(o, reg.scan_time_ns);
    }
    for (size_t i = 0; i < reg.nfound; i++)
        ns_objects_get(reg.found[i])->seen = 0;
    uint32_t *t = reg.live;
    reg.live = reg.found;
    reg.found = t;
    reg.nlive = reg.nfound;
    reg.nfound = 0;
}

static int rescan_locked(uint64_t valid_from_ns)
{
    struct scan_ctx ctx = {0, 0};
    reg.scan_time_ns = ns_now_ns();
    reg.nfound = 0;
    dl_iterate_phdr(scan_object, &ctx);
    /* The pseudo objects never unload. */
    if (reg.kernel_id && note_found(reg.kernel_id) == 0)
        ns_objects_get(reg.kernel_id)->seen = 1;
    if (reg.named_id && note_found(reg.named_id) == 0)
        ns_objects_get(reg.named_id)->seen = 1;
    struct ns_snapshot *s = build_snapshot(valid_from_ns);
    update_liveness();
    if (!s)
        return -1;
    struct ns_snapshot *cur = reg.current;
    if (same_modules(cur, s)) {
        snapshot_free(s);
        return 0;
    }
    if (cur) {
        /* A snapshot can't start before the one it replaces. */
        if (s->valid_from_ns < cur->valid_from_ns)
            s->valid_from_ns = cur->valid_from_ns;
        cur->valid_to_ns = s->valid_from_ns;
    }
    s->older = cur;
    /* A fork child goes on counting: its caches stay sound. Published before the pointer,
     * so a reader that sees the old count (ns_modules_published) has the old snapshot's
     * answer at worst for the instant the two differ. */
    s->seq = ns_modules_published_seq + 1;
    __atomic_store_n(&ns_modules_published_seq, s->seq, __ATOMIC_RELEASE);
    __atomic_store_n(&reg.current, s, __ATOMIC_SEQ_CST);
    return 1;
}

struct build_ctx {
    int index;
    const struct ns_object *only; /* NULL: every pending object */
};

/* Builds the table of a loaded object whose cell is pending. Runs inside dl_iterate_phdr, so
 * the loader lock keeps the object mapped while its .eh_frame is read. */
static int build_object(struct dl_phdr_info *info, size_t size, void *data)
{
    struct build_ctx *ctx = data;
    struct phdr_facts f;
    (void)size;
    struct ns_object *o = object_of(info, ctx->index++ == 0, 0, &f);
    if (!o || !o->cfi || o->cfi->state != NS_CFI_PENDING || (ctx->only && o != ctx->only))
        return 0;
    struct ns_cfi_table *t =
        ns_cfi_build_from_memory(info->dlpi_addr, f.eh_frame_hdr, f.load, f.nload);
    ns_objects_remember_cfi(f.build_id, f.build_id_len, o->info.path, t);
    __atomic_store_n(&o->cfi->table, t, __ATOMIC_RELEASE);
    o->cfi->state = t ? NS_CFI_READY : NS_CFI_NONE;
    return 0;
}

int ns_modules_build_cfi(uint32_t id)
{
    int state = NS_CFI_NONE;
    pthread_mutex_lock(&reg.lock);
    struct ns_object *o = ns_objects_get(id);
    if (o && o->cfi) {
        if (o->cfi->state == NS_CFI_PENDING) {
            struct build_ctx ctx = {0, o};
            dl_iterate_phdr(build_object, &ctx);
            if (o->cfi->state == NS_CFI_PENDING)
                o->cfi->state = NS_CFI_NONE; /* unloaded before we got to it */
        }
        state = o->cfi->state;
    }
    pthread_mutex_unlock(&reg.lock);
    return state;
}

void ns_modules_build_pending(void)
{
    pthread_mutex_lock(&reg.lock);
    int pending = 0;
    for (size_t i = 0; i < reg.nlive && !pending; i++) {
        const struct ns_object *o = ns_objects_get(reg.live[i]);
        pending = o->cfi && o->cfi->state == NS_CFI_PENDING;
    }
    if (pending) {
        struct build_ctx ctx = {0, NULL};
        dl_iterate_phdr(build_object, &ctx);
    }
    pthread_mutex_unlock(&reg.lock);
}

int ns_modules_init(const char *exe_path)
{
    pthread_mutex_lock(&reg.lock);
    if (!reg.initialized) {
        strncpy(reg.exe_path, exe_path, sizeof(reg.exe_path) - 1);
        reg.vdso_base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
        const char *path = ns_objects_intern_path("[kernel]");
        struct ns_object *k = path ? ns_objects_add(path, 0, NULL, 0, NSP_MAP_PSEUDO, 0) : NULL;
        reg.kernel_id = k ? k->info.id : 0;
        if (k)
            publish_object(k);
        path = ns_objects_intern_path("[nsprof]");
        k = path ? ns_objects_add(path, 0, NULL, 0, NSP_MAP_PSEUDO | NSP_MAP_NAMED, 0) : NULL;
        reg.named_id = k ? k->info.id : 0;
        if (k)
            publish_object(k);
        reg.initialized = 1;
    }
    int r = rescan_locked(0);
    pthread_mutex_unlock(&reg.lock);
    return r < 0 ? -1 : 0;
}

int ns_modules_rescan(uint64_t valid_from_ns)
{
    pthread_mutex_lock(&reg.lock);
    int r = reg.initialized ? rescan_locked(valid_from_ns) : -1;
    pthread_mutex_unlock(&reg.lock);
    return r;
}

static int read_counters(struct dl_phdr_info *info, size_t size, void *data)
{
    unsigned long long *c = data;
    (void)size;
    c[0] = info->dlpi_adds;
    c[1] = info->dlpi_subs;
    return 1; /* the first object carries the counters; stop there */
}

int ns_modules_changed(void)
{
    unsigned long long c[2] = {0, 0};
    dl_iterate_phdr(read_counters, c);
    return c[0] != __atomic_load_n(&reg.adds, __ATOMIC_RELAXED) ||
           c[1] != __atomic_load_n(&reg.subs, __ATOMIC_RELAXED);
}

const struct ns_snapshot *ns_modules_acquire(int *busy)
{
    /* Mark ourselves before loading the pointer: a retire that sees no reader after the
     * pointer moved on can then be sure nobody still holds the old snapshot. The mark is
     * per thread, so readers on different CPUs never share a cache line. With one thread
     * the retiring thread is this one: program order is enough (solo.h). */
    if (ns_solo()) {
        __atomic_store_n(busy, 1, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        return __atomic_load_n(&reg.current, __ATOMIC_RELAXED);
    }
    __atomic_store_n(busy, 1, __ATOMIC_SEQ_CST);
    return __atomic_load_n(&reg.current, __ATOMIC_SEQ_CST);
}

void ns_modules_release(int *busy)
{
    __atomic_store_n(busy, 0, __ATOMIC_RELEASE);
}

const struct ns_snapshot *ns_modules_at(uint64_t t_ns)
{
    pthread_mutex_lock(&reg.lock);
    const struct ns_snapshot *s = reg.current;
    while (s && s->older && s->valid_from_ns > t_ns)
        s = s->older;
    pthread_mutex_unlock(&reg.lock);
    return s;
}

int ns_modules_mapping(uint32_t id, struct ns_mapping_info *out)
{
    int r = -1;
    pthread_mutex_lock(&reg.lock);
    const struct ns_object *o = ns_objects_get(id);
    if (o) {
        *out = o->info;
        r = 0;
    }
    pthread_mutex_unlock(&reg.lock);
    return r;
}

void ns_modules_retire(uint64_t before_ns)
{
    pthread_mutex_lock(&reg.lock);
    struct ns_snapshot *keep = reg.current;
    while (keep && keep->older && keep->older->valid_to_ns >= before_ns)
        keep = keep->older;
    if (keep && keep->older && !ns_threads_snapshot_busy()) {
        struct ns_snapshot *s = keep->older;
        keep->older = NULL;
        while (s) {
            struct ns_snapshot *next = s->older;
            snapshot_free(s);
            s = next;
        }
    }
    pthread_mutex_unlock(&reg.lock);
}

uint64_t ns_modules_recycled(void)
{
    return ns_objects_recycled();
}

void ns_modules_generations(uint32_t first, uint32_t *gens, size_t n)
{
    pthread_mutex_lock(&reg.lock);
    for (size_t i = 0; i < n; i++) {
        const struct ns_object *o = ns_objects_get(first + (uint32_t)i);
        gens[i] = o ? o->info.gen : 0;
    }
    pthread_mutex_unlock(&reg.lock);
}

uint32_t ns_modules_self_mapping(void)
{
    return __atomic_load_n(&reg.self_id, __ATOMIC_RELAXED);
}

uint32_t ns_modules_named_mapping(void)
{
    return reg.named_id;
}

uint32_t ns_modules_kernel_mapping(void)
{
    return reg.kernel_id;
}

void ns_modules_lock(void)
{
    pthread_mutex_lock(&reg.lock);
}

void ns_modules_unlock(void)
{
    pthread_mutex_unlock(&reg.lock);
}
