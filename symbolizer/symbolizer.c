/*
 * symbolizer.c — the public API: objects are opened once per identity, addresses are named
 * once per object.
 *
 * Identity is the recorded build-id, or the path for an object recorded without one, so two
 * mappings of one library (or the same library in two processes of a session) share one Dwfl
 * and one address cache. A profile of a million samples with ten thousand distinct addresses
 * therefore costs ten thousand DWARF lookups; every repeat is one hash probe. Cached frame
 * arrays live in an arena and their strings are interned, so everything handed out stays valid
 * until ns_sym_free.
 */
#include "sym_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const default_debug_dirs[] = {"/usr/lib/debug", NULL};

/* An object is identified by its build-id, or by its path when it was recorded without one. */
struct ns_sym_identity {
    char kind; /* 'B' or 'P' */
    const void *data;
    size_t len;
    uint64_t hash;
};

struct ns_sym_entry {
    char kind;
    size_t len;
    void *data;
    uint64_t hash;
    struct ns_sym_objfile file;
};

struct ns_sym_cached {
    size_t n;
    struct ns_sym_frame frames[];
};

struct ns_sym {
    struct ns_sym_config cfg;
    struct ns_sym_arena frames; /* struct ns_sym_cached records */
    struct ns_sym_entry **entries;
    size_t cap, count; /* open addressing; cap is 0 or a power of two */
    struct ns_sym_frame_buf scratch;
};

static const struct ns_sym_frame unknown_frame = {NULL, NULL, 0, 0, NULL};

static bool copy_debug_dirs(struct ns_sym_config *cfg, const char *const *dirs)
{
    size_t n = 0;
    while (dirs[n] != NULL)
        n++;
    cfg->debug_dirs = calloc(n + 1, sizeof *cfg->debug_dirs);
    if (cfg->debug_dirs == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((cfg->debug_dirs[i] = strdup(dirs[i])) == NULL)
            return false;
    return true;
}

struct ns_sym *ns_sym_new(const struct ns_sym_options *opt)
{
    elf_version(EV_CURRENT);
    struct ns_sym *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    const char *const *dirs =
        opt != NULL && opt->debug_dirs != NULL ? opt->debug_dirs : default_debug_dirs;
    const char *sysroot = opt != NULL && opt->sysroot != NULL ? opt->sysroot : "";
    s->cfg.sysroot = strdup(sysroot);
    if (!copy_debug_dirs(&s->cfg, dirs) || s->cfg.sysroot == NULL) {
        ns_sym_free(s);
        return NULL;
    }
    return s;
}

void ns_sym_free(struct ns_sym *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->cap; i++) {
        struct ns_sym_entry *e = s->entries[i];
        if (e == NULL)
            continue;
        ns_sym_objfile_close(&e->file);
        free(e->data);
        free(e);
    }
    free(s->entries);
    ns_sym_arena_free(&s->frames);
    free(s->scratch.v);
    ns_sym_strings_free(&s->cfg.strings);
    ns_sym_u64map_free(&s->cfg.demangled);
    for (char **d = s->cfg.debug_dirs; d != NULL && *d != NULL; d++)
        free(*d);
    free(s->cfg.debug_dirs);
    free(s->cfg.sysroot);
    free(s);
}

static struct ns_sym_identity identity_of(const struct ns_sym_object *obj)
{
    struct ns_sym_identity id;
    if (obj->build_id_len > 0) {
        id = (struct ns_sym_identity){'B', obj->build_id, obj->build_id_len, 0};
    } else {
        const char *path = obj->path != NULL ? obj->path : "";
        id = (struct ns_sym_identity){'P', path, strlen(path), 0};
    }
    id.hash = ns_sym_hash_bytes(id.data, id.len) ^ (uint64_t)id.kind;
    return id;
}

static bool grow_entries(struct ns_sym *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    struct ns_sym_entry **entries = calloc(cap, sizeof *entries);
    if (entries == NULL)
        return false;
    for (size_t i = 0; i < s->cap; i++) {
        struct ns_sym_entry *e = s->entries[i];
        if (e == NULL)
            continue;
        size_t j = e->hash & (cap - 1);
        while (entries[j] != NULL)
            j = (j + 1) & (cap - 1);
        entries[j] = e;
    }
    free(s->entries);
    s->entries = entries;
    s->cap = cap;
    return true;
}

/* The slot holding id, or the empty slot where it belongs. */
static struct ns_sym_entry **find_slot(struct ns_sym *s, const struct ns_sym_identity *id)
{
    size_t i = id->hash & (s->cap - 1);
    for (;; i = (i + 1) & (s->cap - 1)) {
        struct ns_sym_entry *e = s->entries[i];
        if (e == NULL || (e->hash == id->hash && e->kind == id->kind && e->len == id->len &&
                          memcmp(e->data, id->data, id->len) == 0))
            return &s->entries[i];
    }
}

/* The object for obj, opened on first use; NULL only when memory runs out. */
static struct ns_sym_objfile *object_for(struct ns_sym *s, const struct ns_sym_object *obj)
{
    if ((s->count + 1) * 2 > s->cap && !grow_entries(s))
        return NULL;
    struct ns_sym_object recorded = *obj;
    if (recorded.build_id == NULL)
        recorded.build_id_len = 0;
    obj = &recorded;
    struct ns_sym_identity id = identity_of(obj);
    struct ns_sym_entry **slot = find_slot(s, &id);
    if (*slot != NULL)
        return &(*slot)->file;
    struct ns_sym_entry *e = calloc(1, sizeof *e);
    void *data = malloc(id.len ? id.len : 1);
    if (e == NULL || data == NULL) {
        free(e);
        free(data);
        return NULL;
    }
    memcpy(data, id.data, id.len);
    *e = (struct ns_sym_entry){.kind = id.kind, .len = id.len, .data = data, .hash = id.hash};
    ns_sym_objfile_open(&e->file, &s->cfg, obj);
    *slot = e;
    s->count++;
    return &e->file;
}

static struct ns_sym_cached *resolve_and_cache(struct ns_sym *s, struct ns_sym_objfile *o,
                                               uint64_t addr)
{
    s->scratch.n = 0;
    ns_sym_resolve(o, addr, &s->scratch);
    size_t n = s->scratch.n;
    struct ns_sym_cached *c =
        ns_sym_arena_alloc(&s->frames, sizeof *c + (n ? n : 1) * sizeof c->frames[0]);
    if (c == NULL)
        return NULL;
    if (n == 0) {
        c->n = 1;
        c->frames[0] = unknown_frame;
    } else {
        c->n = n;
        memcpy(c->frames, s->scratch.v, n * sizeof c->frames[0]);
    }
    ns_sym_u64map_put(&o->addr_cache, addr, c);
    return c;
}

void ns_sym_lookup(struct ns_sym *s, const struct ns_sym_object *obj, uint64_t addr,
                   const struct ns_sym_frame **frames, size_t *nframes)
{
    *frames = &unknown_frame;
    *nframes = 1;
    struct ns_sym_objfile *o = object_for(s, obj);
    if (o == NULL || o->mod == NULL)
        return;
    struct ns_sym_cached *c = ns_sym_u64map_get(&o->addr_cache, addr);
    if (c == NULL)
        c = resolve_and_cache(s, o, addr);
    if (c != NULL) {
        *frames = c->frames;
        *nframes = c->n;
    }
}

enum ns_sym_status ns_sym_module_status(struct ns_sym *s, const struct ns_sym_object *obj,
                                        const char **detail)
{
    struct ns_sym_objfile *o = object_for(s, obj);
    if (o == NULL) {
        if (detail != NULL)
            *detail = "out of memory while opening the object";
        return NS_SYM_NOT_ELF;
    }
    if (detail != NULL)
        *detail = o->detail != NULL ? o->detail : "out of memory while describing the object";
    return o->status;
}

const char *ns_sym_exported_at(struct ns_sym *s, const struct ns_sym_object *obj, uint64_t addr)
{
    struct ns_sym_objfile *o = object_for(s, obj);
    return o != NULL ? ns_sym_objfile_exported_at(o, addr) : NULL;
}

int ns_sym_export_addr(struct ns_sym *s, const struct ns_sym_object *obj, const char *name,
                       uint64_t *addr)
{
    struct ns_sym_objfile *o = object_for(s, obj);
    return o != NULL && ns_sym_objfile_export_addr(o, name, addr);
}
