/*
 * sym_exports.c — an object's exported functions (its .dynsym): the name under which the
 * function containing an address is exported, and where a name is exported, if at all.
 *
 * The report uses them for interposers: a sample inside a preloaded library's `malloc` is
 * shown as the `malloc` the program called (the library's own name for that code, say
 * ns_hook_malloc, means nothing to the program's author), charged to the object that would
 * have served the call without the preload.
 *
 * Only the main file's .dynsym is read (a separate debug file's is empty): the dynamic
 * symbols are what the dynamic linker binds calls to. Every index and offset is checked.
 */
#include "sym_internal.h"

#include <gelf.h>
#include <string.h>

struct dynsym_view {
    Elf_Data *syms, *strs;
    size_t nsyms;
};

static bool dynsym_view(struct ns_sym_objfile *o, struct dynsym_view *v)
{
    memset(v, 0, sizeof *v);
    if (o->mod == NULL || o->main_is_debug_file)
        return false;
    GElf_Addr bias;
    Elf *elf = dwfl_module_getelf(o->mod, &bias);
    if (elf == NULL)
        return false;
    size_t nsections = 0;
    if (elf_getshdrnum(elf, &nsections) != 0)
        return false;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) == NULL || sh.sh_type != SHT_DYNSYM || sh.sh_link == 0 ||
            sh.sh_link >= nsections)
            continue;
        Elf_Scn *str = elf_getscn(elf, sh.sh_link);
        v->syms = elf_getdata(scn, NULL);
        v->strs = str != NULL ? elf_getdata(str, NULL) : NULL;
        if (v->syms == NULL || v->strs == NULL || v->strs->d_buf == NULL)
            return false;
        size_t entsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
        v->nsyms = entsize ? v->syms->d_size / entsize : 0;
        return v->nsyms > 0;
    }
    return false;
}

/* The name of a defined, visible global or weak function symbol, else NULL. */
static const char *exported_function(const struct dynsym_view *v, size_t i, GElf_Sym *sym)
{
    if (gelf_getsym(v->syms, (int)i, sym) == NULL || sym->st_shndx == SHN_UNDEF)
        return NULL;
    int type = GELF_ST_TYPE(sym->st_info), bind = GELF_ST_BIND(sym->st_info);
    int vis = GELF_ST_VISIBILITY(sym->st_other);
    if ((type != STT_FUNC && type != STT_GNU_IFUNC) || (bind != STB_GLOBAL && bind != STB_WEAK) ||
        (vis != STV_DEFAULT && vis != STV_PROTECTED) || sym->st_name >= v->strs->d_size)
        return NULL;
    const char *name = (const char *)v->strs->d_buf + sym->st_name;
    size_t left = v->strs->d_size - sym->st_name;
    return name[0] != '\0' && memchr(name, '\0', left) != NULL ? name : NULL;
}

static size_t leading_underscores(const char *s)
{
    size_t n = 0;
    while (s[n] == '_')
        n++;
    return n;
}

/* Of two aliases, the one a program's author most likely wrote: `open` over `__open_2`,
 * `mmap` over `mmap64`. */
static bool better_alias(const char *a, const char *b)
{
    size_t ua = leading_underscores(a), ub = leading_underscores(b);
    if (ua != ub)
        return ua < ub;
    size_t la = strlen(a), lb = strlen(b);
    return la != lb ? la < lb : strcmp(a, b) < 0;
}

const char *ns_sym_objfile_exported_at(struct ns_sym_objfile *o, uint64_t addr)
{
    struct dynsym_view v;
    if (!dynsym_view(o, &v))
        return NULL;
    const char *best = NULL;
    for (size_t i = 1; i < v.nsyms; i++) {
        GElf_Sym sym;
        const char *name = exported_function(&v, i, &sym);
        if (name == NULL || addr < sym.st_value)
            continue;
        bool inside = sym.st_size ? addr - sym.st_value < sym.st_size : addr == sym.st_value;
        if (inside && (best == NULL || better_alias(name, best)))
            best = name;
    }
    return best != NULL ? ns_sym_intern(&o->cfg->strings, best) : NULL;
}

bool ns_sym_objfile_export_addr(struct ns_sym_objfile *o, const char *name, uint64_t *addr)
{
    struct dynsym_view v;
    if (name == NULL || !dynsym_view(o, &v))
        return false;
    for (size_t i = 1; i < v.nsyms; i++) {
        GElf_Sym sym;
        const char *n = exported_function(&v, i, &sym);
        if (n != NULL && strcmp(n, name) == 0) {
            *addr = sym.st_value;
            return true;
        }
    }
    return false;
}
