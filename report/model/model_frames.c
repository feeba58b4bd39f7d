/*
 * model_frames — turns the (mapping, addr) frames of a profile's stacks into interned
 * function nodes, symbolizing each distinct address once.
 *
 * Naming rules (what a user sees for a frame):
 *  - the symbolizer named it: its (demangled) function name, source file and line; inlined
 *    callees come first, each a frame of its own marked inlined;
 *  - it did not: `module+0xADDR` with the ELF virtual address, which is what
 *    `addr2line -e MODULE 0xADDR` takes;
 *  - outside every mapping: `[unknown]+0xADDR` with the absolute address;
 *  - a pseudo mapping (flag 4, e.g. `[kernel]`): its path, since its frames only say
 *    "a tick there" and have no address worth showing;
 *  - a mapping of named frames (flag 8, nsprof's `[nsprof]`): the string whose id is the
 *    frame's addr (`malloc`, `fwrite`), shown like any function of module `[nsprof]`.
 *
 * nsprof's own code (libnsprof.so, preloaded) never appears: its interposers only stand
 * between the program and the function it called. A run of its frames becomes one frame, the
 * function the program called (`malloc`, `pthread_mutex_lock`: the interposer's exported
 * name) as the object serving that call without nsprof names it (libc.so.6's
 * `__libc_malloc`), as if the program had called it directly: dropped when the frame below
 * it is that function already (the interposer passed the call on), else standing for all
 * of the call's cost (what nsprof's own work called is not shown). A trampoline (exported
 * as NS_TRAMPOLINE_PREFIX...: a thread's start, main's wrapper) is dropped alone, the
 * program's frames below it stay, and so is code nothing exports (what an interposer
 * tail-called). nsprof's own work (exported as NS_OWN_WORK_PREFIX...: its constructor and
 * destructor) is dropped with what it called, its time left with its caller.
 */
#include "debpkg.h"
#include "model_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *path_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

struct module_key {
    const char *path, *build_id;
};

/* A module is its build-id when it has one (however it was reached: the kernel names
 * /usr/lib/.../libsqlite3.so.0.8.6 and the loader the symlink libsqlite3.so.0), else its
 * path as recorded. */
static int module_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_model *m = ctx;
    const struct module_key *k = key;
    if (k->build_id[0])
        return m->modules[value].build_id == k->build_id;
    return m->modules[value].recorded_path == k->path && !m->modules[value].build_id[0];
}

/* The file a recorded path names on this machine, symlinks resolved (the resolver's
 * canonical_path), so that a module has one name in every view; else the recorded path. */
static const char *canonical_path(struct ns_build *b, const char *path)
{
    const struct ns_resolver *r = b->opt->resolver;
    if (path[0] != '/' || !r || !r->canonical_path)
        return path;
    char *real = r->canonical_path(r->ctx, path);
    const char *c = real ? ns_pool_intern(&b->m->pool, real, strlen(real)) : NULL;
    free(real);
    return c ? c : path;
}

static const char *build_id_hex(struct ns_build *b, const struct ns_prof_mapping *map)
{
    char hex[2 * NSP_MAX_BUILD_ID + 1];
    size_t n = map->build_id_len <= NSP_MAX_BUILD_ID ? map->build_id_len : NSP_MAX_BUILD_ID;
    for (size_t i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", map->build_id[i]);
    hex[2 * n] = '\0';
    return ns_pool_intern(&b->m->pool, hex, 2 * n);
}

static uint32_t module_for_mapping(struct ns_build *b, const struct ns_prof_mapping *map)
{
    struct ns_model *m = b->m;
    const struct ns_profile *p = b->prof;
    const struct ns_str *ps = map->path < p->nstrings ? &p->strings[map->path] : NULL;
    struct module_key k = {
        .path = ps ? ns_pool_intern(&m->pool, ps->s, strnlen(ps->s, ps->len)) : "",
        .build_id = build_id_hex(b, map),
    };
    if (!k.path || !k.build_id)
        return NS_NONE;
    uint64_t h = k.build_id[0] ? ns_mix64((uintptr_t)k.build_id)
                               : ns_mix64((uintptr_t)k.path ^ ns_mix64((uintptr_t)k.build_id));
    uint32_t idx = ns_itab_get(&b->module_tab, h, module_eq, m, &k);
    if (idx != NS_NONE)
        return idx;
    if (ns_grow((void **)&m->modules, &b->modules_cap, m->nmodules + 1, sizeof(*m->modules)))
        return NS_NONE;
    idx = (uint32_t)m->nmodules;
    struct ns_module *mod = &m->modules[idx];
    memset(mod, 0, sizeof(*mod));
    mod->recorded_path = k.path;
    mod->path = map->flags & (NSP_MAP_PSEUDO | NSP_MAP_NAMED | NSP_MAP_VDSO)
                    ? k.path
                    : canonical_path(b, k.path);
    mod->base = ns_pool_str(&m->pool, path_basename(mod->path));
    mod->build_id = k.build_id;
    mod->flags = map->flags;
    mod->detail = "";
    mod->package = "";
    mod->own = strcmp(mod->base, "libnsprof.so") == 0 ||
               strncmp(mod->base, "libnsprof.so.", strlen("libnsprof.so.")) == 0;
    if (!mod->base || ns_itab_put(&b->module_tab, h, idx) < 0)
        return NS_NONE;
    m->nmodules++;
    return idx;
}

int nsb_map_modules(struct ns_build *b)
{
    const struct ns_profile *p = b->prof;
    b->module_of_mapping = calloc(p->nmappings ? p->nmappings : 1, sizeof(uint32_t));
    if (!b->module_of_mapping)
        return -1;
    b->module_of_mapping[0] = NS_NONE;
    for (size_t i = 1; i < p->nmappings; i++) {
        b->module_of_mapping[i] = module_for_mapping(b, &p->mappings[i]);
        if (b->module_of_mapping[i] == NS_NONE)
            return -1;
    }
    return 0;
}

static int func_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct ns_func *a = &((const struct ns_model *)ctx)->funcs[value];
    const struct ns_func *k = key;
    return a->name == k->name && a->module == k->module && a->decl_file == k->decl_file &&
           a->kind == k->kind && a->inlined == k->inlined && a->process == k->process &&
           a->named == k->named;
}

uint32_t nsb_func(struct ns_build *b, const struct ns_func *f)
{
    struct ns_model *m = b->m;
    uint64_t h = ns_mix64((uintptr_t)f->name);
    h = ns_mix64(h ^ (uintptr_t)f->module);
    h = ns_mix64(h ^ (uintptr_t)f->decl_file);
    h = ns_mix64(h ^ ((uint64_t)f->process << 24 | (uint64_t)f->named << 16 |
                      (uint64_t)f->kind << 8 | f->inlined));
    uint32_t idx = ns_itab_get(&b->func_tab, h, func_eq, m, f);
    if (idx != NS_NONE)
        return idx;
    if (m->nfuncs >= NS_NONE - 1 ||
        ns_grow((void **)&m->funcs, &b->funcs_cap, m->nfuncs + 1, sizeof(*m->funcs)))
        return NS_NONE;
    idx = (uint32_t)m->nfuncs;
    m->funcs[idx] = *f;
    if (ns_itab_put(&b->func_tab, h, idx) < 0)
        return NS_NONE;
    m->nfuncs++;
    return idx;
}

static int push_rframe(struct ns_build *b, uint32_t func, uint32_t line, const char *file)
{
    if (func == NS_NONE ||
        ns_grow((void **)&b->rframes, &b->rframes_cap, b->nrframes + 1, sizeof(*b->rframes)))
        return -1;
    b->rframes[b->nrframes++] = (struct nsb_frame){func, line, file};
    return 0;
}

/* A frame the symbolizer could not name. */
static int push_unknown(struct ns_build *b, uint32_t module, uint64_t addr)
{
    struct ns_model *m = b->m;
    const struct ns_module *mod = module != NS_NONE ? &m->modules[module] : NULL;
    char name[4200];
    if (mod && (mod->flags & NSP_MAP_PSEUDO))
        snprintf(name, sizeof(name), "%s", mod->path);
    else
        snprintf(name, sizeof(name), "%s+0x%" PRIx64, mod ? mod->base : "[unknown]", addr);
    struct ns_func f = {
        .name = ns_pool_str(&m->pool, name),
        .module = mod ? mod->base : ns_pool_str(&m->pool, ""),
        .file = ns_pool_str(&m->pool, ""),
        .module_index = module,
        .process = NS_NONE,
        .kind = NS_FUNC_FRAME,
    };
    if (!f.name || !f.module || !f.file)
        return -1;
    return push_rframe(b, nsb_func(b, &f), 0, f.file);
}

/* A frame of a named mapping: its addr is a string id of the profile. */
static int push_named(struct ns_build *b, uint32_t module, uint64_t addr)
{
    struct ns_model *m = b->m;
    const struct ns_profile *p = b->prof;
    const struct ns_str *s = addr < p->nstrings ? &p->strings[addr] : NULL;
    size_t len = s && s->s ? strnlen(s->s, s->len) : 0;
    if (!len)
        return push_unknown(b, module, addr);
    const char *base = m->modules[module].base;
    struct ns_func f = {
        .name = ns_pool_intern(&m->pool, s->s, len),
        .module = base[0] ? base : ns_pool_str(&m->pool, "[nsprof]"),
        .file = ns_pool_str(&m->pool, ""),
        .module_index = module,
        .process = NS_NONE,
        .kind = NS_FUNC_FRAME,
        .symbolized = 1,
        .named = 1,
    };
    if (!f.name || !f.module || !f.file)
        return -1;
    return push_rframe(b, nsb_func(b, &f), 0, f.file);
}

static void module_status_once(struct ns_build *b, uint32_t module, const struct ns_sym_object *obj)
{
    const struct ns_resolver *r = b->opt->resolver;
    struct ns_module *mod = &b->m->modules[module];
    /* The vDSO is never on disk; its frames are named when the symbolizer can, and a
     * "missing file" for it would be noise, not a problem a user can fix. */
    if (mod->status_known || !r->module_status || (mod->flags & NSP_MAP_VDSO))
        return;
    const char *detail = NULL;
    mod->status = r->module_status(r->ctx, obj, &detail);
    mod->detail = ns_pool_str(&b->m->pool, detail ? detail : "");
    if (!mod->detail)
        mod->detail = "";
    mod->status_known = 1;
}

static int push_symbolized(struct ns_build *b, uint32_t module, const struct ns_sym_frame *sf,
                           int keep_inline)
{
    struct ns_model *m = b->m;
    struct ns_func f = {
        .name = ns_pool_str(&m->pool, sf->function),
        .module = m->modules[module].base,
        .file = ns_pool_str(&m->pool, sf->file ? sf->file : ""),
        .decl_file = sf->decl_file ? ns_pool_str(&m->pool, sf->decl_file) : NULL,
        .module_index = module,
        .process = NS_NONE,
        .kind = NS_FUNC_FRAME,
        .inlined = (uint8_t)(keep_inline && sf->inlined),
        .symbolized = 1,
    };
    if (!f.name || !f.file || (sf->decl_file && !f.decl_file))
        return -1;
    return push_rframe(b, nsb_func(b, &f), sf->line, f.file);
}

static uint32_t module_of(const struct ns_build *b, uint32_t mapping)
{
    return mapping && mapping < b->prof->nmappings ? b->module_of_mapping[mapping] : NS_NONE;
}

static struct ns_sym_object sym_object(const struct ns_build *b, uint32_t mapping)
{
    const struct ns_prof_mapping *map = &b->prof->mappings[mapping];
    return (struct ns_sym_object){
        .path = b->m->modules[b->module_of_mapping[mapping]].path,
        .build_id = map->build_id,
        .build_id_len = map->build_id_len <= NSP_MAX_BUILD_ID ? map->build_id_len : 0,
    };
}

/* Where a call of `name` goes when nsprof is not there: the first other ELF object of the
 * profile exporting it (libc.so.6 for everything nsprof interposes), looked up once per
 * name. 0 when none does. */
static struct nsb_serving serving(struct ns_build *b, const char *name)
{
    for (size_t i = 0; i < b->nserving; i++)
        if (b->serving[i].name == name)
            return b->serving[i];
    const struct ns_resolver *r = b->opt->resolver;
    struct nsb_serving found = {.name = name};
    for (uint32_t i = 1; i < b->prof->nmappings && !found.mapping && r->export_addr; i++) {
        const struct ns_module *mod = &b->m->modules[b->module_of_mapping[i]];
        if (mod->own || (mod->flags & (NSP_MAP_PSEUDO | NSP_MAP_NAMED | NSP_MAP_VDSO)))
            continue;
        struct ns_sym_object obj = sym_object(b, i);
        if (r->export_addr(r->ctx, &obj, name, &found.addr))
            found.mapping = i;
    }
    if (b->nserving < sizeof(b->serving) / sizeof(b->serving[0]))
        b->serving[b->nserving++] = found;
    return found;
}

static int symbolize(struct ns_build *b, uint32_t mapping, uint64_t addr);

/* The frame that stands for a sample inside nsprof's interposer at addr: the function the
 * program called, as the object serving it names it (`free` is libc's `__libc_free`), so
 * the interposer's time joins that function's; no frame when addr is in no exported
 * function. */
static int push_interposed(struct ns_build *b, uint32_t mapping, uint64_t addr)
{
    const struct ns_resolver *r = b->opt->resolver;
    uint32_t module = module_of(b, mapping);
    /* Without libnsprof.so's own exports (another build on disk, no file) nothing tells an
     * interposer from a trampoline: keep what is below, the safe reading of both. */
    b->trampoline = 1;
    if (!r || !r->exported_at || module == NS_NONE)
        return 0;
    struct ns_sym_object obj = sym_object(b, mapping);
    module_status_once(b, module, &obj);
    const struct ns_module *own = &b->m->modules[module];
    if (own->status_known && own->status != NS_SYM_OK && own->status != NS_SYM_NO_DEBUG_INFO &&
        own->status != NS_SYM_NO_SYMBOLS)
        return 0;
    /* A function nothing exports is one an interposer tail-called (its own frame is gone):
     * what it called is the program's call, so it is kept, like a trampoline's. */
    const char *name = r->exported_at(r->ctx, &obj, addr);
    if (!name || !name[0] || strncmp(name, NS_TRAMPOLINE_PREFIX, strlen(NS_TRAMPOLINE_PREFIX)) == 0)
        return 0;
    b->trampoline = 0;
    if (strncmp(name, NS_OWN_WORK_PREFIX, strlen(NS_OWN_WORK_PREFIX)) == 0)
        return 0;
    struct nsb_serving to = serving(b, name);
    size_t start = b->nrframes;
    if (to.mapping) {
        if (symbolize(b, to.mapping, to.addr) < 0)
            return -1;
        /* Its containing function only, at no particular line: the time was spent before
         * any line of it ran. */
        b->rframes[start] = b->rframes[b->nrframes - 1];
        b->rframes[start].line = 0;
        b->nrframes = start + 1;
        if (b->m->funcs[b->rframes[start].func].symbolized)
            return 0;
        b->nrframes = start; /* unnamed there: name it as the program did */
    }
    struct ns_model *m = b->m;
    uint32_t serving_module = to.mapping ? b->module_of_mapping[to.mapping] : NS_NONE;
    struct ns_func f = {
        .name = ns_pool_str(&m->pool, name),
        .module =
            serving_module != NS_NONE ? m->modules[serving_module].base : ns_pool_str(&m->pool, ""),
        .file = ns_pool_str(&m->pool, ""),
        .module_index = serving_module,
        .process = NS_NONE,
        .kind = NS_FUNC_FRAME,
        .symbolized = 1,
    };
    if (!f.name || !f.module || !f.file)
        return -1;
    return push_rframe(b, nsb_func(b, &f), 0, f.file);
}

/* Appends the frames of one address to rframes, innermost first. */
static int symbolize(struct ns_build *b, uint32_t mapping, uint64_t addr)
{
    const struct ns_resolver *r = b->opt->resolver;
    uint32_t module = module_of(b, mapping);
    if (module != NS_NONE && (b->m->modules[module].flags & NSP_MAP_NAMED))
        return push_named(b, module, addr);
    if (module == NS_NONE || !r || (b->m->modules[module].flags & NSP_MAP_PSEUDO))
        return push_unknown(b, module, addr);

    struct ns_sym_object obj = sym_object(b, mapping);
    module_status_once(b, module, &obj);
    const struct ns_sym_frame *frames = NULL;
    size_t n = 0;
    r->lookup(r->ctx, &obj, addr, &frames, &n);
    if (!frames || n == 0)
        return push_unknown(b, module, addr);
    /* Without inline expansion only the containing function (the last frame) is kept; its
     * line is where the inlined code was called from, which is the line of that function. */
    size_t first = b->opt->no_inline ? n - 1 : 0;
    for (size_t i = first; i < n; i++) {
        int rc = frames[i].function && frames[i].function[0]
                     ? push_symbolized(b, module, &frames[i], !b->opt->no_inline)
                     : push_unknown(b, module, addr);
        if (rc < 0)
            return -1;
    }
    return 0;
}

struct addr_key {
    uint32_t mapping; /* | INTERPOSED_KEY: the frame that stands for an interposer there */
    uint64_t addr;
};

#define INTERPOSED_KEY 0x80000000u

static int addr_eq(const void *ctx, uint32_t value, const void *key)
{
    const struct nsb_addr *a = &((const struct ns_build *)ctx)->addrs[value];
    const struct addr_key *k = key;
    return a->mapping == k->mapping && a->addr == k->addr;
}

static const struct nsb_addr *resolve_addr(struct ns_build *b, uint32_t mapping, uint64_t addr)
{
    struct addr_key k = {mapping, addr};
    uint64_t h = ns_mix64(addr ^ ns_mix64(mapping));
    uint32_t idx = ns_itab_get(&b->addr_tab, h, addr_eq, b, &k);
    if (idx != NS_NONE)
        return &b->addrs[idx];
    size_t start = b->nrframes;
    b->trampoline = 0;
    int rc = mapping & INTERPOSED_KEY ? push_interposed(b, mapping & ~INTERPOSED_KEY, addr)
                                      : symbolize(b, mapping, addr);
    if (rc < 0 || ns_grow((void **)&b->addrs, &b->addrs_cap, b->naddrs + 1, sizeof(*b->addrs)))
        return NULL;
    idx = (uint32_t)b->naddrs;
    b->addrs[idx] = (struct nsb_addr){
        .mapping = mapping,
        .addr = addr,
        .first = (uint32_t)start,
        .n = (uint32_t)(b->nrframes - start),
        .trampoline = b->trampoline,
    };
    if (ns_itab_put(&b->addr_tab, h, idx) < 0)
        return NULL;
    b->naddrs++;
    return &b->addrs[idx];
}

static int own_frame(const struct ns_build *b, const struct ns_prof_frame *fr)
{
    uint32_t module = module_of(b, fr->mapping);
    return module != NS_NONE && b->m->modules[module].own && !(fr->mapping & INTERPOSED_KEY);
}

/* Appends the frames of one profile frame (several when it has inlined calls) to path. */
static int append_frames(struct ns_build *b, uint32_t mapping, uint64_t addr)
{
    const struct nsb_addr *a = resolve_addr(b, mapping, addr);
    if (!a || ns_grow((void **)&b->path, &b->path_cap, b->npath + a->n, sizeof(*b->path)))
        return -1;
    memcpy(&b->path[b->npath], &b->rframes[a->first], a->n * sizeof(*b->path));
    b->npath += a->n;
    return 0;
}

/* Appends what stands for a run of nsprof's frames whose outermost is `outer`:
 *  - an interposer: the function the program called. When the run passed the call on to
 *    that very function (the frame below is it already) nothing is added; when it called
 *    something else (its own bookkeeping: memcpy, mmap, the kernel), that work is the call's
 *    cost as the program sees it: the frames below are dropped, the time is the function's.
 *  - a trampoline (a thread's start, main's wrapper), or code nothing exports (an
 *    interposer's tail call): nothing; what is below is the program's and stays.
 *  - nsprof's own work (NS_OWN_WORK_PREFIX: the constructor, the destructor): it and what it
 *    called are dropped, the time left with the caller. */
static int append_stand_in(struct ns_build *b, const struct ns_prof_frame *outer)
{
    const struct nsb_addr *a = resolve_addr(b, outer->mapping | INTERPOSED_KEY, outer->addr);
    if (!a)
        return -1;
    if (a->trampoline ||
        (a->n && b->npath && b->path[b->npath - 1].func == b->rframes[a->first].func))
        return 0;
    b->npath = 0;
    return a->n ? append_frames(b, outer->mapping | INTERPOSED_KEY, outer->addr) : 0;
}

int nsb_resolve_stack(struct ns_build *b, uint32_t stack)
{
    const struct ns_profile *p = b->prof;
    b->npath = 0;
    if (stack == 0 || stack >= p->nstacks)
        return 0;
    const struct ns_prof_stack *st = &p->stacks[stack];
    if (st->first > p->nframes || st->nframes > p->nframes - st->first)
        return 0; /* the reader validates this; a model never reads outside frames[] */
    /* nsprof's own frames: each run of them becomes the function the program called, or
     * nothing (see the top of this file). */
    const struct ns_prof_frame *own_outer = NULL;
    for (uint32_t i = 0; i < st->nframes; i++) {
        const struct ns_prof_frame *fr = &p->frames[st->first + i];
        if (own_frame(b, fr)) {
            own_outer = fr;
            continue;
        }
        if (own_outer && append_stand_in(b, own_outer) < 0)
            return -1;
        own_outer = NULL;
        if (append_frames(b, fr->mapping, fr->addr) < 0)
            return -1;
    }
    return own_outer ? append_stand_in(b, own_outer) : 0;
}

/* A module whose names could come from a debug package: its file is the one profiled. */
static int wants_package(const struct ns_module *mod)
{
    return mod->status_known && mod->unnamed_samples + mod->leaf_samples > 0 &&
           (mod->status == NS_SYM_NO_DEBUG_INFO || mod->status == NS_SYM_NO_SYMBOLS);
}

int nsb_find_packages(struct ns_build *b)
{
    struct ns_model *m = b->m;
    const char *dir = b->opt->dpkg_info_dir;
    if ((dir && !dir[0]) || !m->nmodules)
        return 0;
    char **paths = calloc(m->nmodules, sizeof(*paths)), **pkgs = calloc(m->nmodules, sizeof(*pkgs));
    int rc = -1;
    if (!paths || !pkgs)
        goto out;
    size_t want = 0;
    for (size_t i = 0; i < m->nmodules; i++)
        if (wants_package(&m->modules[i]) && m->modules[i].path[0] == '/') {
            paths[i] = (char *)m->modules[i].path;
            want++;
        }
    if (want && ns_debian_packages(dir, paths, m->nmodules, pkgs) < 0)
        goto out;
    rc = 0;
    for (size_t i = 0; i < m->nmodules; i++)
        if (pkgs[i] && !(m->modules[i].package = ns_pool_str(&m->pool, pkgs[i])))
            rc = -1;
out:
    for (size_t i = 0; pkgs && i < m->nmodules; i++)
        free(pkgs[i]);
    free(pkgs);
    free(paths);
    return rc;
}

void nsb_free_profile_state(struct ns_build *b)
{
    free(b->module_of_mapping);
    b->module_of_mapping = NULL;
    ns_itab_free(&b->addr_tab);
    free(b->addrs);
    b->addrs = NULL;
    b->naddrs = b->addrs_cap = 0;
    free(b->rframes);
    b->rframes = NULL;
    b->nrframes = b->rframes_cap = 0;
    free(b->keys);
    b->keys = NULL;
    b->nkeys = b->keys_cap = 0;
    b->nserving = 0;
}
