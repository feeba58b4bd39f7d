/*
 * maps — see maps.h.
 */
#include "maps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "nsp_format.h"

/* Every mapping ever described: id - 1 → what MAPPING says about it. */
struct description {
    struct ns_elf_file *file; /* NULL for pseudo mappings */
    uint64_t lo, hi, bias;
    uint32_t flags;
};

static struct {
    struct description *v;
    size_t n, cap;
    uint32_t kernel_id;
} ids;

static uint32_t new_id(struct ns_elf_file *file, uint64_t lo, uint64_t hi, uint64_t bias,
                       uint32_t flags)
{
    if (ids.n == ids.cap) {
        size_t cap = ids.cap ? ids.cap * 2 : 256;
        struct description *v = realloc(ids.v, cap * sizeof(*v));
        if (!v)
            return 0;
        ids.v = v;
        ids.cap = cap;
    }
    ids.v[ids.n++] = (struct description){file, lo, hi, bias, flags};
    return (uint32_t)ids.n;
}

uint32_t ns_maps_kernel_id(void)
{
    if (!ids.kernel_id)
        ids.kernel_id = new_id(NULL, 0, 0, 0, NSP_MAP_PSEUDO);
    return ids.kernel_id;
}

void ns_maps_reset_ids(void)
{
    free(ids.v);
    memset(&ids, 0, sizeof(ids));
}

int ns_maps_describe(void *ctx, uint32_t id, struct ns_mapping_info *out)
{
    (void)ctx;
    if (id == 0 || id > ids.n)
        return -1;
    const struct description *d = &ids.v[id - 1];
    memset(out, 0, sizeof(*out));
    out->id = id;
    out->lo = d->lo;
    out->hi = d->hi;
    out->bias = d->bias;
    out->flags = d->flags;
    if (!d->file) {
        out->path = "[kernel]";
        return 0;
    }
    out->path = d->file->path;
    out->build_id_len = d->file->build_id_len;
    memcpy(out->build_id, d->file->build_id, d->file->build_id_len);
    return 0;
}

static int reserve(struct ns_proc_maps *m, size_t n)
{
    if (n <= m->cap)
        return 0;
    size_t cap = m->cap ? m->cap * 2 : 32;
    while (cap < n)
        cap *= 2;
    struct ns_map_entry *v = realloc(m->v, cap * sizeof(*v));
    if (!v)
        return -1;
    m->v = v;
    m->cap = cap;
    return 0;
}

/* Cuts [lo, hi) out of every entry: entries inside go, entries around it are split. */
static int punch(struct ns_proc_maps *m, uint64_t lo, uint64_t hi)
{
    for (size_t i = 0; i < m->n; i++) {
        struct ns_map_entry *e = &m->v[i];
        if (e->hi <= lo || e->lo >= hi)
            continue;
        if (e->lo < lo && e->hi > hi) { /* split in two */
            if (reserve(m, m->n + 1) < 0)
                return -1;
            e = &m->v[i];
            memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*e));
            m->n++;
            m->v[i].hi = lo;
            m->v[i + 1].pgoff += hi - m->v[i + 1].lo;
            m->v[i + 1].lo = hi;
            i++;
        } else if (e->lo < lo) {
            e->hi = lo;
        } else if (e->hi > hi) {
            e->pgoff += hi - e->lo;
            e->lo = hi;
        } else {
            memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*e));
            m->n--;
            i--;
        }
    }
    return 0;
}

int ns_maps_add(struct ns_proc_maps *m, uint64_t addr, uint64_t len, uint64_t pgoff,
                struct ns_elf_file *file, uint32_t flags)
{
    if (!len || addr + len < addr || punch(m, addr, addr + len) < 0 || reserve(m, m->n + 1) < 0)
        return -1;
    uint64_t bias =
        (flags & NSP_MAP_VDSO) ? addr - file->loads[0].vaddr : ns_elf_bias(file, addr, pgoff);
    if ((flags & NSP_MAP_VDSO) && !file->nloads)
        bias = addr;
    uint32_t id = new_id(file, addr, addr + len, bias, flags);
    if (!id)
        return -1;
    size_t i = 0;
    while (i < m->n && m->v[i].lo < addr)
        i++;
    memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(m->v[0]));
    m->v[i] = (struct ns_map_entry){addr, addr + len, pgoff, bias, id, file};
    m->n++;
    m->stale = 1;
    return 0;
}

void ns_maps_clear(struct ns_proc_maps *m)
{
    m->n = 0;
    m->stale = 1;
    m->saw_main = 0;
}

int ns_maps_copy(struct ns_proc_maps *dst, const struct ns_proc_maps *src)
{
    ns_maps_clear(dst);
    if (reserve(dst, src->n) < 0)
        return -1;
    memcpy(dst->v, src->v, src->n * sizeof(src->v[0]));
    dst->n = src->n;
    dst->saw_main = src->saw_main;
    return 0;
}

void ns_maps_free(struct ns_proc_maps *m)
{
    free(m->v);
    free(m->mods);
    memset(m, 0, sizeof(*m));
}

const struct ns_unwind_modules *ns_maps_modules(struct ns_proc_maps *m)
{
    static struct ns_unwind_modules out;
    if (m->stale || !m->mods) {
        if (m->n > m->mods_cap) {
            struct ns_unwind_module *v = realloc(m->mods, m->n * sizeof(*v));
            if (!v) {
                out = (struct ns_unwind_modules){NULL, 0};
                return &out;
            }
            m->mods = v;
            m->mods_cap = m->n;
        }
        for (size_t i = 0; i < m->n; i++) {
            const struct ns_map_entry *e = &m->v[i];
            m->mods[i] = (struct ns_unwind_module){
                .lo = e->lo,
                .hi = e->hi,
                .bias = e->bias,
                .mapping_id = e->id | 0x80000000u, /* NS_MAP_AGENT */
                .cfi = e->file && e->file->cfi_state == NS_CFI_READY ? e->file->cfi : NULL,
            };
        }
        m->stale = 0;
    }
    out = (struct ns_unwind_modules){m->mods, m->n};
    return &out;
}

int ns_maps_build_cfi(struct ns_proc_maps *m, uint32_t id, pid_t pid)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].id != id || !m->v[i].file)
            continue;
        if (m->v[i].file->cfi_state != NS_CFI_PENDING)
            return 0;
        int built = ns_elf_cfi(m->v[i].file, pid) != NULL;
        m->stale = 1;
        return built;
    }
    return 0;
}

const struct ns_map_entry *ns_maps_find(const struct ns_proc_maps *m, uint64_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (m->v[mid].hi <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < m->n && m->v[lo].lo <= addr ? &m->v[lo] : NULL;
}

int ns_maps_from_proc(struct ns_proc_maps *m, pid_t pid)
{
    char path[64], exe[4096] = "", line[4096 + 256];
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(path, exe, sizeof(exe) - 1);
    exe[n > 0 ? n : 0] = '\0';
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f)) {
        unsigned long long lo, hi, off, ino;
        unsigned dmaj, dmin;
        char perms[8];
        int name_at = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &lo, &hi, perms, &off, &dmaj, &dmin,
                   &ino, &name_at) < 7 ||
            perms[2] != 'x')
            continue;
        char *name = line + name_at;
        name[strcspn(name, "\n")] = '\0';
        uint32_t flags = 0;
        struct ns_elf_file *file;
        if (strcmp(name, "[vdso]") == 0) {
            file = ns_elf_vdso();
            flags = NSP_MAP_VDSO;
        } else if (name[0] == '/') {
            struct ns_elf_identity id = {name, NULL, 0, makedev(dmaj, dmin), ino};
            file = ns_elf_file_get(pid, &id);
            if (exe[0] && strcmp(name, exe) == 0)
                flags = NSP_MAP_MAIN;
        } else {
            continue; /* anonymous code (a JIT), [vsyscall]: nothing to name or unwind with */
        }
        if (file)
            ns_maps_add(m, lo, hi - lo, off, file, flags);
    }
    fclose(f);
    return 0;
}
