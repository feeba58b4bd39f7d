/*
 * sym_symtab.c — function symbols of one object, sorted, for naming addresses without DWARF.
 *
 * Why not dwfl_module_addrinfo: it scans the whole symbol table on every call, which is
 * O(symbols) per address; a C++ program with 10^5 symbols and 10^4 distinct addresses would
 * cost 10^9 symbol reads. The index here is built once and answers by binary search.
 *
 * Sizes are respected: a sized symbol names only [start, start + size). Stripped programs
 * (Debian's gzip, sqlite3) keep only .dynsym, whose few exported functions would otherwise
 * "cover" all the static code after them. A sizeless symbol (an assembly label) names the
 * bytes after it only when no sized symbol reaches past it and the address is in the same
 * executable section — the rule libdwfl applies too.
 *
 * PLT stubs (sym_plt.c) join the index as sized entries named `memcmp@plt`; they are what
 * names an address in .plt even when the object has DWARF, since no DIE covers the PLT.
 */
#include "sym_internal.h"

#include <gelf.h>
#include <stdlib.h>
#include <string.h>

enum { NS_SYM_MAX_BACKWARD_STEPS = 256 };

static bool in_exec_section(Elf *elf, GElf_Word shndx)
{
    GElf_Shdr mem;
    GElf_Shdr *sh = gelf_getshdr(elf_getscn(elf, shndx), &mem);
    return sh != NULL && (sh->sh_flags & SHF_EXECINSTR) != 0;
}

/* Among symbols at one address: sized before sizeless, functions before labels, global before
 * weak before local, then the public name (malloc) before the internal alias (__libc_malloc).
 * Always >= 1: PLT stubs rank 0, below any symbol. */
static int symbol_rank(const GElf_Sym *sym, const char *name)
{
    int binding = GELF_ST_BIND(sym->st_info) == STB_GLOBAL ? 3
                  : GELF_ST_BIND(sym->st_info) == STB_WEAK ? 2
                                                           : 1;
    int type = GELF_ST_TYPE(sym->st_info);
    int underscores = 0;
    while (name[underscores] == '_' && underscores < 9)
        underscores++;
    return (sym->st_size > 0) * 1000 + (type == STT_FUNC || type == STT_GNU_IFUNC) * 100 +
           binding * 10 - underscores;
}

static bool is_function_symbol(const GElf_Sym *sym, GElf_Word shndx, Elf *elf)
{
    if (shndx == SHN_UNDEF || shndx >= SHN_LORESERVE || shndx == (GElf_Word)-1)
        return false;
    int type = GELF_ST_TYPE(sym->st_info);
    if (type == STT_FUNC || type == STT_GNU_IFUNC)
        return true;
    return type == STT_NOTYPE && in_exec_section(elf, shndx);
}

static int compare_funcs(const void *a, const void *b)
{
    const struct ns_sym_func *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return y->rank - x->rank; /* best first */
}

static int compare_ranges(const void *a, const void *b)
{
    const struct ns_sym_range *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Appends the function symbols to t->funcs, which has room for nsyms more. */
static void collect_functions(struct ns_sym_symtab *t, Dwfl_Module *mod, int nsyms)
{
    for (int i = 0; i < nsyms; i++) {
        GElf_Sym sym;
        GElf_Addr value;
        GElf_Word shndx;
        Elf *elf;
        const char *name = dwfl_module_getsym_info(mod, i, &sym, &value, &shndx, &elf, NULL);
        if (name == NULL || name[0] == '\0' || value == 0 || !is_function_symbol(&sym, shndx, elf))
            continue;
        t->funcs[t->nfuncs++] = (struct ns_sym_func){
            .start = value, .size = sym.st_size, .raw_name = name, .rank = symbol_rank(&sym, name)};
    }
}

/* Keeps the best-ranked symbol per address and computes the running maximum end. */
static void sort_and_dedupe(struct ns_sym_symtab *t)
{
    if (t->nfuncs > 1)
        qsort(t->funcs, t->nfuncs, sizeof *t->funcs, compare_funcs);
    size_t w = 0;
    uint64_t max_end = 0;
    for (size_t r = 0; r < t->nfuncs; r++) {
        if (w > 0 && t->funcs[w - 1].start == t->funcs[r].start)
            continue;
        struct ns_sym_func f = t->funcs[r];
        uint64_t end = f.start + f.size;
        max_end = end > max_end ? end : max_end;
        f.max_end = max_end;
        t->funcs[w++] = f;
    }
    t->nfuncs = w;
}

static void collect_exec_sections(struct ns_sym_symtab *t, Dwfl_Module *mod)
{
    Dwarf_Addr bias;
    Elf *elf = dwfl_module_getelf(mod, &bias);
    size_t nsections;
    if (elf == NULL || elf_getshdrnum(elf, &nsections) != 0 || nsections == 0)
        return;
    t->exec = malloc(nsections * sizeof *t->exec);
    if (t->exec == NULL)
        return;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr mem;
        GElf_Shdr *sh = gelf_getshdr(scn, &mem);
        if (sh != NULL && (sh->sh_flags & SHF_EXECINSTR) && (sh->sh_flags & SHF_ALLOC) &&
            sh->sh_size > 0 && t->nexec < nsections)
            t->exec[t->nexec++] =
                (struct ns_sym_range){sh->sh_addr + bias, sh->sh_addr + bias + sh->sh_size};
    }
    if (t->nexec > 1)
        qsort(t->exec, t->nexec, sizeof *t->exec, compare_ranges);
}

void ns_sym_symtab_build(struct ns_sym_symtab *t, Dwfl_Module *mod, struct ns_sym_strings *names)
{
    memset(t, 0, sizeof *t);
    int nsyms = dwfl_module_getsymtab(mod);
    if (nsyms < 0)
        nsyms = 0;
    struct ns_sym_func *stubs;
    size_t nstubs = ns_sym_plt_stubs(mod, names, &stubs);
    if (nsyms > 0 || nstubs > 0)
        t->funcs = malloc(((size_t)nsyms + nstubs) * sizeof *t->funcs);
    if (t->funcs != NULL) {
        collect_functions(t, mod, nsyms);
        t->has_symbols = t->nfuncs > 0;
        /* Stubs have rank 0, below every symbol_rank: a symbol at a stub's address wins. */
        if (nstubs > 0)
            memcpy(t->funcs + t->nfuncs, stubs, nstubs * sizeof *stubs);
        t->nfuncs += nstubs;
    }
    free(stubs);
    if (t->nfuncs == 0)
        return;
    sort_and_dedupe(t);
    collect_exec_sections(t, mod);
}

static const struct ns_sym_range *exec_section_of(const struct ns_sym_symtab *t, uint64_t addr)
{
    size_t lo = 0, hi = t->nexec;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->exec[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || addr >= t->exec[lo - 1].end)
        return NULL;
    return &t->exec[lo - 1];
}

/* Index of the last symbol starting at or below addr, or -1. */
static ptrdiff_t last_at_or_below(const struct ns_sym_symtab *t, uint64_t addr)
{
    size_t lo = 0, hi = t->nfuncs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->funcs[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

const struct ns_sym_func *ns_sym_symtab_find(const struct ns_sym_symtab *t, uint64_t addr)
{
    ptrdiff_t closest = last_at_or_below(t, addr);
    if (closest < 0)
        return NULL;
    /* A sized symbol may contain addr even if a later (nested) one starts closer; max_end
     * bounds how far back one can be. The step limit keeps a pathological table (one huge
     * symbol spanning everything) from making each lookup linear; it can only cost a name. */
    for (ptrdiff_t j = closest; j >= 0 && closest - j < NS_SYM_MAX_BACKWARD_STEPS; j--) {
        const struct ns_sym_func *f = &t->funcs[j];
        if (f->max_end <= addr)
            break;
        if (f->size > 0 && addr - f->start < f->size)
            return f;
    }
    const struct ns_sym_func *label = &t->funcs[closest];
    if (label->size != 0 || (closest > 0 && t->funcs[closest - 1].max_end > label->start))
        return NULL;
    const struct ns_sym_range *section = exec_section_of(t, addr);
    if (section == NULL || label->start < section->start)
        return NULL;
    return label;
}

void ns_sym_symtab_free(struct ns_sym_symtab *t)
{
    free(t->funcs);
    free(t->exec);
    memset(t, 0, sizeof *t);
}
