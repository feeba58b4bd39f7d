/*
 * got_patch — see got_patch.h. The loaded modules are listed with dl_iterate_phdr (names
 * and program headers copied out: nothing that could take the loader's other lock runs
 * while it holds its own); each new module's dynamic section gives its relocations, symbol
 * and string tables; slots are written with the page made writable only when it is RELRO.
 */
#include "got_patch.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* A module as patched. */
struct module {
    uintptr_t base;   /* load bias (dlpi_addr) */
    uintptr_t lo, hi; /* where its PT_LOAD segments are: return addresses inside it */
    char *name;
    void **original; /* per hook: what its slots were bound to, NULL if it imports none */
    int present;     /* seen by the last listing */
};

struct slot {
    void **addr;
    void *previous;
    uintptr_t module_base;
    size_t hook;
    int relro;
};

/* What ns_got_original reads: built whole, published once, never changed or freed (a hook
 * on another thread may be reading an older one). Each keeps the one before it, so that
 * they all stay reachable (a leak checker sees them as kept, which they are). */
struct snapshot {
    size_t nmodules, nhooks;
    struct module *modules;
    void **first; /* per hook: the first previous target recorded */
    void **only;  /* per hook: the target every module's slots had (one copy), else NULL */
    struct snapshot *older;
};

/* A module as dl_iterate_phdr listed it. */
struct listed {
    uintptr_t base;
    char *name;
    const ElfW(Phdr) * phdr;
    ElfW(Half) phnum;
};

#define BY_NAME 256 /* slots of the name index: at most 128 hooks */

static struct {
    pthread_mutex_t lock;
    const struct ns_got_hook *hooks;
    size_t nhooks;
    struct module *modules;
    size_t nmodules, modules_cap;
    struct slot *slots;
    size_t nslots, slots_cap;
    void **first;
    int32_t by_name[BY_NAME]; /* hook index by name hash (open addressing), -1: empty */
    unsigned long long adds, subs;
    int listed_once;
    _Atomic(struct snapshot *) published;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 16;
    while (c < need)
        c *= 2;
    void *p = realloc(*v, c * elem);
    if (!p)
        return -1;
    *v = p;
    *cap = c;
    return 0;
}

/* ---- listing the loaded modules ---- */

struct listing {
    struct listed *v;
    size_t n, cap;
    int unchanged; /* the loader's counters say nothing was loaded or unloaded */
    int failed;
};

static int list_one(struct dl_phdr_info *info, size_t size, void *ctx)
{
    struct listing *l = ctx;
    if (l->n == 0 && size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
        if (g.listed_once && info->dlpi_adds == g.adds && info->dlpi_subs == g.subs) {
            l->unchanged = 1;
            return 1;
        }
        g.adds = info->dlpi_adds;
        g.subs = info->dlpi_subs;
    }
    if (grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v)) < 0 ||
        !(l->v[l->n].name = strdup(info->dlpi_name ? info->dlpi_name : ""))) {
        l->failed = 1;
        return 1;
    }
    l->v[l->n].base = info->dlpi_addr;
    l->v[l->n].phdr = info->dlpi_phdr;
    l->v[l->n].phnum = info->dlpi_phnum;
    l->n++;
    return 0;
}

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* ---- one module's relocations ---- */

struct dynamic {
    const ElfW(Sym) * symtab;
    const char *strtab;
    size_t strsz;
    const ElfW(Rela) * jmprel, *rela;
    size_t jmprel_n, rela_n;
    uintptr_t relro_lo, relro_hi;
};

/* The loader rewrites most dynamic entries to addresses; some (and other loaders) leave
 * them as offsets from the load bias. */
static uintptr_t dyn_addr(uintptr_t base, ElfW(Addr) v)
{
    return v < base ? base + v : v;
}

static int read_dynamic(const struct listed *m, struct dynamic *d, uintptr_t *lo, uintptr_t *hi)
{
    memset(d, 0, sizeof(*d));
    const ElfW(Dyn) *dyn = NULL;
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (ElfW(Half) i = 0; i < m->phnum; i++) {
        const ElfW(Phdr) *p = &m->phdr[i];
        if (p->p_type == PT_LOAD) {
            uintptr_t a = m->base + p->p_vaddr;
            *lo = a < *lo ? a : *lo;
            *hi = a + p->p_memsz > *hi ? a + p->p_memsz : *hi;
        } else if (p->p_type == PT_DYNAMIC) {
            dyn = (const ElfW(Dyn) *)(m->base + p->p_vaddr);
        } else if (p->p_type == PT_GNU_RELRO) {
            d->relro_lo = m->base + p->p_vaddr;
            d->relro_hi = d->relro_lo + p->p_memsz;
        }
    }
    if (!dyn)
        return -1;
    size_t relasz = 0, pltrelsz = 0, pltrel = DT_RELA;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB:
            d->symtab = (const ElfW(Sym) *)dyn_addr(m->base, dyn->d_un.d_ptr);
            break;
        case DT_STRTAB:
            d->strtab = (const char *)dyn_addr(m->base, dyn->d_un.d_ptr);
            break;
        case DT_STRSZ:
            d->strsz = dyn->d_un.d_val;
            break;
        case DT_JMPREL:
            d->jmprel = (const ElfW(Rela) *)dyn_addr(m->base, dyn->d_un.d_ptr);
            break;
        case DT_PLTRELSZ:
            pltrelsz = dyn->d_un.d_val;
            break;
        case DT_PLTREL:
            pltrel = dyn->d_un.d_val;
            break;
        case DT_RELA:
            d->rela = (const ElfW(Rela) *)dyn_addr(m->base, dyn->d_un.d_ptr);
            break;
        case DT_RELASZ:
            relasz = dyn->d_un.d_val;
            break;
        default:
            break;
        }
    }
    if (!d->symtab || !d->strtab || pltrel != DT_RELA)
        return -1;
    d->jmprel_n = d->jmprel ? pltrelsz / sizeof(ElfW(Rela)) : 0;
    d->rela_n = d->rela ? relasz / sizeof(ElfW(Rela)) : 0;
    return 0;
}

/* FNV-1a of a NUL-terminated name that must end before `end` (a string table's end). */
static uint32_t name_hash(const char *name, const char *end)
{
    uint32_t h = 2166136261u;
    for (; name < end && *name; name++)
        h = (h ^ (unsigned char)*name) * 16777619u;
    return h ^ (h >> 15);
}

/* The hook index of the imported symbol of relocation r, or -1. */
static long hooked(const struct dynamic *d, const ElfW(Rela) * r)
{
    unsigned long type = ELF64_R_TYPE(r->r_info), sym = ELF64_R_SYM(r->r_info);
    if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || sym == 0)
        return -1;
    const ElfW(Sym) *s = &d->symtab[sym];
    if (ELF64_ST_TYPE(s->st_info) == STT_OBJECT || s->st_name >= d->strsz)
        return -1;
    /* Imports; a library's calls through its PLT to its own exports only where the hook
     * asks for them (and only calls: a GLOB_DAT of its own is a function's address). */
    int own = s->st_shndx != SHN_UNDEF;
    if (own && type != R_X86_64_JUMP_SLOT)
        return -1;
    const char *name = d->strtab + s->st_name;
    /* A program imports thousands of names; a hash probe instead of a comparison with
     * every hooked name keeps the patch at start cheap. */
    uint32_t h = name_hash(name, d->strtab + d->strsz);
    for (uint32_t k = h & (BY_NAME - 1);; k = (k + 1) & (BY_NAME - 1)) {
        int32_t i = g.by_name[k];
        if (i < 0)
            return -1;
        if (strcmp(name, g.hooks[i].name) == 0)
            return own && !(g.hooks[i].flags & NS_GOT_ALSO_OWN) ? -1 : (long)i;
    }
}

/* The function `name` as the loader would bind a lazy slot of module m to it: the global
 * scope first, then the module's own (itself and its dependencies, RTLD_LOCAL ones
 * included). A module loaded with RTLD_DEEPBIND searches its own first; nothing public
 * tells it, so such a module, bound lazily, whose name the global scope also defines, would
 * be forwarded to the global one. */
static void *resolve_in_scope(const struct listed *m, const char *name)
{
    void *f = dlsym(RTLD_DEFAULT, name);
    if (f)
        return f;
    void *h = dlopen(m->name[0] ? m->name : NULL, RTLD_LAZY | RTLD_NOLOAD);
    if (!h)
        return NULL;
    f = dlsym(h, name);
    dlclose(h);
    return f;
}

static int write_slot(void **addr, void *value, int relro)
{
    long page = sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)addr & ~(uintptr_t)(page - 1);
    size_t len = (uintptr_t)(addr + 1) - start;
    if (relro && mprotect((void *)start, len, PROT_READ | PROT_WRITE) != 0)
        return -1;
    __atomic_store_n(addr, value, __ATOMIC_RELEASE);
    if (relro)
        mprotect((void *)start, len, PROT_READ);
    return 0;
}

static int patch_slot(const struct listed *m, struct module *mod, const struct dynamic *d,
                      const ElfW(Rela) * r, size_t hook)
{
    void **addr = (void **)(m->base + r->r_offset);
    void *previous = __atomic_load_n(addr, __ATOMIC_ACQUIRE);
    if (previous == g.hooks[hook].hook)
        return 0;
    /* Still bound lazily: the slot points at the module's own PLT. */
    if ((uintptr_t)previous >= mod->lo && (uintptr_t)previous < mod->hi)
        previous = resolve_in_scope(m, g.hooks[hook].name);
    if (!previous)
        return 0; /* nothing to forward to: leave the call as it is */
    int relro = (uintptr_t)addr >= d->relro_lo && (uintptr_t)addr < d->relro_hi;
    if (grow((void **)&g.slots, &g.slots_cap, g.nslots + 1, sizeof(*g.slots)) < 0)
        return -1;
    if (write_slot(addr, g.hooks[hook].hook, relro) < 0)
        return 0;
    g.slots[g.nslots++] = (struct slot){addr, previous, m->base, hook, relro};
    if (!mod->original[hook])
        mod->original[hook] = previous;
    if (!g.first[hook])
        g.first[hook] = previous;
    return 1;
}

/* Patches module m (new); the number of slots patched, or -1. */
static int patch_module(const struct listed *m, uintptr_t self)
{
    struct dynamic d;
    uintptr_t lo, hi;
    if (read_dynamic(m, &d, &lo, &hi) < 0 || (self >= lo && self < hi))
        return 0; /* nothing to relocate, or nsprof's own module */
    if (grow((void **)&g.modules, &g.modules_cap, g.nmodules + 1, sizeof(*g.modules)) < 0)
        return -1;
    struct module *mod = &g.modules[g.nmodules];
    *mod = (struct module){.base = m->base, .lo = lo, .hi = hi, .present = 1};
    mod->name = strdup(m->name);
    mod->original = calloc(g.nhooks ? g.nhooks : 1, sizeof(void *));
    if (!mod->name || !mod->original) {
        free(mod->name);
        free(mod->original);
        return -1;
    }
    g.nmodules++;
    int patched = 0;
    const ElfW(Rela) * tables[2] = {d.jmprel, d.rela};
    size_t counts[2] = {d.jmprel_n, d.rela_n};
    for (int t = 0; t < 2; t++)
        for (size_t i = 0; i < counts[t]; i++) {
            long h = hooked(&d, &tables[t][i]);
            int rc = h < 0 ? 0 : patch_slot(m, mod, &d, &tables[t][i], (size_t)h);
            if (rc < 0)
                return -1;
            patched += rc;
        }
    return patched;
}

/* ---- what ns_got_original reads ---- */

static int publish(void)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->nhooks = g.nhooks;
    s->modules = calloc(g.nmodules ? g.nmodules : 1, sizeof(*s->modules));
    s->first = calloc(g.nhooks ? g.nhooks : 1, sizeof(void *));
    s->only = calloc(g.nhooks ? g.nhooks : 1, sizeof(void *));
    if (!s->modules || !s->first || !s->only) {
        free(s->modules);
        free(s->first);
        free(s->only);
        free(s);
        return -1;
    }
    for (size_t i = 0; i < g.nmodules; i++)
        if (g.modules[i].present) {
            s->modules[s->nmodules] = g.modules[i];
            s->modules[s->nmodules++].name = NULL; /* not the snapshot's: freed on unpatch */
        }
    memcpy(s->first, g.first, g.nhooks * sizeof(void *));
    /* One copy of the library (the usual case): every call forwards there, without looking
     * its caller's module up. */
    for (size_t h = 0; h < g.nhooks; h++) {
        void *only = g.first[h];
        for (size_t i = 0; i < s->nmodules && only; i++)
            if (s->modules[i].original[h] && s->modules[i].original[h] != only)
                only = NULL;
        s->only[h] = only;
    }
    s->older = atomic_load_explicit(&g.published, memory_order_relaxed);
    atomic_store_explicit(&g.published, s, memory_order_release);
    return 0;
}

/* Whether the module at base still has the hooks in its patched slots: not when it was
 * unloaded and another copy loaded at the same address between two refreshes. */
static int still_patched(uintptr_t base)
{
    for (size_t s = 0; s < g.nslots; s++)
        if (g.slots[s].module_base == base &&
            __atomic_load_n(g.slots[s].addr, __ATOMIC_ACQUIRE) != g.hooks[g.slots[s].hook].hook)
            return 0;
    return 1;
}

/* Forgets module i and its slots (it is gone, or was replaced). */
static void forget_module(size_t i)
{
    size_t kept = 0;
    for (size_t s = 0; s < g.nslots; s++)
        if (g.slots[s].module_base != g.modules[i].base)
            g.slots[kept++] = g.slots[s];
    g.nslots = kept;
    /* Its table of originals stays: an older snapshot may point to it. */
    free(g.modules[i].name);
    g.modules[i] = g.modules[--g.nmodules];
}

/* Lists the modules and patches those not seen before; forgets those gone. Holds g.lock. */
static int refresh_locked(void)
{
    struct listing l = {0};
    dl_iterate_phdr(list_one, &l);
    g.listed_once = 1;
    if (l.unchanged || l.failed) {
        listing_free(&l);
        return l.failed ? -1 : 0;
    }
    for (size_t i = 0; i < g.nmodules; i++)
        g.modules[i].present = 0;
    uintptr_t self = (uintptr_t)&ns_got_patch;
    int total = 0, rc = 0;
    for (size_t k = 0; k < l.n && rc >= 0; k++) {
        size_t i = 0;
        while (i < g.nmodules &&
               !(g.modules[i].base == l.v[k].base && strcmp(g.modules[i].name, l.v[k].name) == 0))
            i++;
        if (i < g.nmodules && still_patched(g.modules[i].base)) {
            g.modules[i].present = 1;
            continue;
        }
        if (i < g.nmodules)
            forget_module(i);
        rc = patch_module(&l.v[k], self);
        total += rc > 0 ? rc : 0;
    }
    /* A module unloaded took its slots with it (nothing to restore there) and is forgotten:
     * one loaded later at its address, of its name, is a new one to patch. */
    for (size_t i = g.nmodules; i-- > 0;)
        if (!g.modules[i].present)
            forget_module(i);
    listing_free(&l);
    if (publish() < 0)
        rc = -1;
    return rc < 0 ? -1 : total;
}

/* The patcher resolves lazy slots with dlopen(RTLD_NOLOAD): an interposed dlopen that
 * refreshes after loading (nsprof's) comes back here on the same thread, which holds the
 * lock. Such a refresh has nothing to do: the patcher is listing the modules already. */
static __thread int patching;

int ns_got_patch(const struct ns_got_hook *hooks, size_t n)
{
    pthread_mutex_lock(&g.lock);
    int rc = -1;
    if (!g.hooks && n <= BY_NAME / 2 && (g.first = calloc(n ? n : 1, sizeof(void *)))) {
        g.hooks = hooks;
        g.nhooks = n;
        for (size_t k = 0; k < BY_NAME; k++)
            g.by_name[k] = -1;
        for (size_t i = 0; i < n; i++) {
            uint32_t k = name_hash(hooks[i].name, hooks[i].name + strlen(hooks[i].name) + 1);
            while (g.by_name[k & (BY_NAME - 1)] >= 0)
                k++;
            g.by_name[k & (BY_NAME - 1)] = (int32_t)i;
        }
        g.listed_once = 0;
        patching = 1;
        rc = refresh_locked();
        patching = 0;
    }
    pthread_mutex_unlock(&g.lock);
    return rc;
}

int ns_got_refresh(void)
{
    if (patching)
        return 0;
    pthread_mutex_lock(&g.lock);
    patching = 1;
    int rc = g.hooks ? refresh_locked() : -1;
    patching = 0;
    pthread_mutex_unlock(&g.lock);
    return rc;
}

void *ns_got_original(size_t index, const void *return_address)
{
    const struct snapshot *s = atomic_load_explicit(&g.published, memory_order_acquire);
    if (!s || index >= s->nhooks)
        return NULL;
    if (s->only[index])
        return s->only[index];
    uintptr_t a = (uintptr_t)return_address;
    for (size_t i = 0; i < s->nmodules; i++)
        if (a >= s->modules[i].lo && a < s->modules[i].hi && s->modules[i].original[index])
            return s->modules[i].original[index];
    return s->first[index];
}

int ns_got_unpatch(void)
{
    pthread_mutex_lock(&g.lock);
    int rc = 0;
    for (size_t s = 0; s < g.nslots; s++)
        if (write_slot(g.slots[s].addr, g.slots[s].previous, g.slots[s].relro) < 0)
            rc = -1;
    g.nslots = 0;
    /* The published snapshot stays: a hook still running forwards through it. The modules'
     * original tables are referenced by it and are kept for the same reason. */
    for (size_t i = 0; i < g.nmodules; i++)
        free(g.modules[i].name);
    g.nmodules = 0;
    g.hooks = NULL;
    g.nhooks = 0;
    free(g.first); /* the snapshot has its own copy */
    g.first = NULL;
    pthread_mutex_unlock(&g.lock);
    return rc;
}

size_t ns_got_patched_slots(void)
{
    pthread_mutex_lock(&g.lock);
    size_t n = g.nslots;
    pthread_mutex_unlock(&g.lock);
    return n;
}
