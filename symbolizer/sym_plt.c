/*
 * sym_plt.c — names for PLT stubs, `memcmp@plt`, as perf and objdump show them.
 *
 * A call into another object goes through a stub in .plt, .plt.sec or .plt.got that jumps
 * through a GOT slot; the dynamic linker fills the slot because a relocation names the symbol
 * (R_X86_64_JUMP_SLOT in .rela.plt; R_X86_64_GLOB_DAT in .rela.dyn for .plt.got, whose slot
 * also serves a function pointer). No symbol table names the stubs, so without this a profile
 * of a program busy in memcmp shows `libsqlite3.so.0+0x26b20` next to it.
 *
 * No layout is assumed beyond what the bytes show. Every executable PROGBITS section named
 * .plt, .plt.sec or .plt.got is walked in entries of sh_entsize (16 when 0, as lld writes it).
 * An entry is a stub when it starts with `jmp *disp32(%rip)` (ff 25), after an optional
 * endbr64 and an optional bnd prefix (f2), and the slot it jumps through carries one of those
 * relocations. That covers what GNU ld and lld write:
 *   - lazy .plt: jmp *slot; push index; jmp PLT0. PLT0, the first entry, jumps through GOT[2]
 *     (the resolver), which no relocation names, so it stays unnamed without a special case.
 *   - IRELATIVE slots (glibc calling its own memcpy; a static program's IFUNC stubs) name no
 *     symbol: their addend is the IFUNC's resolver, which the IFUNC symbol's value is, so
 *     the stub is named after the IFUNC symbol at that value (`memcpy@plt`, where objdump
 *     writes `*ABS*+0x9be70@plt` and perf `@plt`).
 *   - IBT (-fcf-protection) and MPX: .plt entries are endbr64; push; jmp PLT0 — no indirect
 *     jump, unnamed — and the jumps through the slots are in .plt.sec.
 *   - .plt.got: 8-byte entries (jmp; xchg), or 16 bytes with endbr64.
 * The jump is decoded from the entry's start, not searched for in its bytes: the push
 * immediate of a lazy entry is the relocation index, and index 0x25ff encodes as `ff 25`.
 * Other shapes (lld's -z retpolineplt) stay unnamed; so does every machine but x86_64, whose
 * stubs are not decoded at all.
 *
 * Names are those of the relocation's symbol without a version (`memcmp@plt`, not
 * `memcmp@GLIBC_2.2.5@plt`), as perf shows them; a mangled one is demangled later, with its
 * "@plt" kept, by ns_sym_display_name.
 *
 * Damaged files: every size, index and offset is checked against the data libelf actually
 * read (elf_getdata fails for a section beyond the end of the file; gelf_getsym and
 * elf_strptr check their index and offset), so a bad file only loses stub names.
 */
#include "sym_internal.h"

#include <gelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
    NS_SYM_PLT_DEFAULT_ENTSIZE = 16,
    NS_SYM_PLT_JMP_LEN = 6, /* ff 25 disp32 */
};

/* A GOT slot and the symbol a relocation fills it with. name points into the ELF data, which
 * lives as long as the Dwfl. */
struct got_slot {
    uint64_t addr;
    const char *name;
};

struct got_slots {
    struct got_slot *v;
    size_t n, cap;
};

struct plt_stubs {
    struct ns_sym_func *v;
    size_t n, cap;
};

/* Appends the elem-byte item to the array v of *n elements with room for *cap. Returns the
 * array, which may have moved, or NULL when memory runs out (v is then unchanged). */
static void *append(void *v, size_t *n, size_t *cap, const void *item, size_t elem)
{
    if (*n == *cap) {
        size_t grown = *cap ? *cap * 2 : 64;
        void *nv = realloc(v, grown * elem);
        if (nv == NULL)
            return NULL;
        v = nv;
        *cap = grown;
    }
    memcpy((char *)v + *n * elem, item, elem);
    (*n)++;
    return v;
}

static int compare_slots(const void *a, const void *b)
{
    const struct got_slot *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Section ndx's header and data, if it has the given type and libelf could read it. */
static Elf_Data *section_data(Elf *elf, size_t ndx, GElf_Word type, GElf_Shdr *sh)
{
    Elf_Scn *scn = elf_getscn(elf, ndx);
    if (scn == NULL || gelf_getshdr(scn, sh) == NULL || sh->sh_type != type)
        return NULL;
    Elf_Data *data = elf_getdata(scn, NULL);
    return data != NULL && data->d_buf != NULL ? data : NULL;
}

/* The symbol table a relocation section refers to (its sh_link), as read by libelf. */
struct symtab_ref {
    Elf_Data *syms;
    size_t count;
    size_t strndx;
};

static bool open_symtab(Elf *elf, size_t ndx, struct symtab_ref *ref)
{
    GElf_Shdr sh;
    size_t symsize = gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
    ref->syms = section_data(elf, ndx, SHT_DYNSYM, &sh);
    if (ref->syms == NULL)
        ref->syms = section_data(elf, ndx, SHT_SYMTAB, &sh);
    if (ref->syms == NULL || symsize == 0)
        return false;
    ref->count = ref->syms->d_size / symsize;
    ref->strndx = sh.sh_link;
    return true;
}

/* The name of symbol ndx, NULL if it has none. elf_strptr checks the string table's type and
 * that the string ends inside it. */
static const char *symbol_name(Elf *elf, const struct symtab_ref *ref, uint64_t ndx)
{
    GElf_Sym sym;
    if (ndx == 0 || ndx >= ref->count || ndx > INT_MAX ||
        gelf_getsym(ref->syms, (int)ndx, &sym) == NULL)
        return NULL;
    const char *name = elf_strptr(elf, ref->strndx, sym.st_name);
    return name != NULL && name[0] != '\0' ? name : NULL;
}

/* The IFUNC symbol whose value (its resolver) is addr, the alias with the fewest leading
 * underscores; NULL if none. */
static const char *ifunc_at(Elf *elf, const struct symtab_ref *ref, uint64_t addr)
{
    const char *best = NULL;
    for (size_t i = 1; i < ref->count && i <= INT_MAX; i++) {
        GElf_Sym sym;
        if (gelf_getsym(ref->syms, (int)i, &sym) == NULL ||
            GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC || sym.st_value != addr ||
            sym.st_shndx == SHN_UNDEF)
            continue;
        const char *name = elf_strptr(elf, ref->strndx, sym.st_name);
        if (name != NULL && name[0] != '\0' &&
            (best == NULL || strspn(name, "_") < strspn(best, "_")))
            best = name;
    }
    return best;
}

/* Adds the JUMP_SLOT, GLOB_DAT and IRELATIVE relocations of one SHT_RELA section (x86_64 has no
 * REL). Only loaded sections (.rela.plt, .rela.dyn) hold dynamic relocations; --emit-relocs copies
 * of the static ones are not read. */
static void add_relocations(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct got_slots *slots)
{
    struct symtab_ref ref;
    Elf_Data *data = elf_getdata(scn, NULL);
    size_t relsize = gelf_fsize(elf, ELF_T_RELA, 1, EV_CURRENT);
    if (data == NULL || data->d_buf == NULL || relsize == 0 || !open_symtab(elf, sh->sh_link, &ref))
        return;
    size_t n = data->d_size / relsize;
    for (size_t i = 0; i < n && i <= INT_MAX; i++) {
        GElf_Rela rela;
        if (gelf_getrela(data, (int)i, &rela) == NULL)
            break;
        uint64_t type = GELF_R_TYPE(rela.r_info);
        if (type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT && type != R_X86_64_IRELATIVE)
            continue;
        const char *name = type == R_X86_64_IRELATIVE
                               ? ifunc_at(elf, &ref, (uint64_t)rela.r_addend)
                               : symbol_name(elf, &ref, GELF_R_SYM(rela.r_info));
        if (name == NULL)
            continue;
        struct got_slot slot = {rela.r_offset, name};
        void *v = append(slots->v, &slots->n, &slots->cap, &slot, sizeof slot);
        if (v == NULL)
            return;
        slots->v = v;
    }
}

static void collect_got_slots(Elf *elf, struct got_slots *slots)
{
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) != NULL && sh.sh_type == SHT_RELA && (sh.sh_flags & SHF_ALLOC))
            add_relocations(elf, scn, &sh, slots);
    }
    if (slots->n > 1)
        qsort(slots->v, slots->n, sizeof *slots->v, compare_slots);
}

static const char *slot_symbol(const struct got_slots *slots, uint64_t addr)
{
    struct got_slot key = {addr, NULL};
    const struct got_slot *s = bsearch(&key, slots->v, slots->n, sizeof *slots->v, compare_slots);
    return s != NULL ? s->name : NULL;
}

/* The GOT slot the entry at addr (n bytes at p) jumps through, decoded as described above. */
static bool decode_slot(const unsigned char *p, size_t n, uint64_t addr, uint64_t *slot)
{
    static const unsigned char endbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
    size_t i = 0;
    if (n >= sizeof endbr64 && memcmp(p, endbr64, sizeof endbr64) == 0)
        i += sizeof endbr64;
    if (i < n && p[i] == 0xf2) /* bnd */
        i++;
    if (n - i < NS_SYM_PLT_JMP_LEN || p[i] != 0xff || p[i + 1] != 0x25)
        return false;
    /* Little-endian whatever the machine running the analysis. */
    uint32_t disp = (uint32_t)p[i + 2] | (uint32_t)p[i + 3] << 8 | (uint32_t)p[i + 4] << 16 |
                    (uint32_t)p[i + 5] << 24;
    *slot = addr + i + NS_SYM_PLT_JMP_LEN + (uint64_t)(int64_t)(int32_t)disp;
    return true;
}

static bool is_plt_section(const char *name)
{
    return name != NULL && (strcmp(name, ".plt") == 0 || strcmp(name, ".plt.sec") == 0 ||
                            strcmp(name, ".plt.got") == 0);
}

/* Interns "<name>@plt", the name cut at a version suffix ('@'). */
static const char *stub_name(struct ns_sym_strings *names, const char *sym)
{
    static const char suffix[] = "@plt";
    size_t n = strcspn(sym, "@");
    char *buf = malloc(n + sizeof suffix);
    if (buf == NULL)
        return NULL;
    memcpy(buf, sym, n);
    memcpy(buf + n, suffix, sizeof suffix);
    const char *name = ns_sym_intern(names, buf);
    free(buf);
    return name;
}

static void add_section_stubs(Elf_Scn *scn, const GElf_Shdr *sh, uint64_t bias,
                              const struct got_slots *slots, struct ns_sym_strings *names,
                              struct plt_stubs *stubs)
{
    Elf_Data *data = elf_getdata(scn, NULL);
    if (data == NULL || data->d_buf == NULL)
        return;
    size_t size = data->d_size < sh->sh_size ? data->d_size : (size_t)sh->sh_size;
    uint64_t entsize = sh->sh_entsize != 0 ? sh->sh_entsize : NS_SYM_PLT_DEFAULT_ENTSIZE;
    if (entsize < NS_SYM_PLT_JMP_LEN || entsize > size)
        return;
    const unsigned char *bytes = data->d_buf;
    for (size_t off = 0; size - off >= entsize; off += entsize) {
        uint64_t addr = sh->sh_addr + off, slot;
        const char *sym =
            decode_slot(bytes + off, entsize, addr, &slot) ? slot_symbol(slots, slot) : NULL;
        const char *name = sym != NULL ? stub_name(names, sym) : NULL;
        if (name == NULL)
            continue;
        struct ns_sym_func stub = {.start = addr + bias, .size = entsize, .raw_name = name};
        void *v = append(stubs->v, &stubs->n, &stubs->cap, &stub, sizeof stub);
        if (v == NULL)
            return;
        stubs->v = v;
    }
}

size_t ns_sym_plt_stubs(Dwfl_Module *mod, struct ns_sym_strings *names, struct ns_sym_func **stubs)
{
    *stubs = NULL;
    Dwarf_Addr bias;
    Elf *elf = dwfl_module_getelf(mod, &bias);
    GElf_Ehdr ehdr;
    size_t shstrndx;
    if (elf == NULL || gelf_getehdr(elf, &ehdr) == NULL || ehdr.e_machine != EM_X86_64 ||
        elf_getshdrstrndx(elf, &shstrndx) != 0)
        return 0;
    struct got_slots slots = {0};
    collect_got_slots(elf, &slots);
    struct plt_stubs found = {0};
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn != NULL && slots.n > 0;
         scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (gelf_getshdr(scn, &sh) != NULL && sh.sh_type == SHT_PROGBITS &&
            (sh.sh_flags & SHF_EXECINSTR) && is_plt_section(elf_strptr(elf, shstrndx, sh.sh_name)))
            add_section_stubs(scn, &sh, bias, &slots, names, &found);
    }
    free(slots.v);
    *stubs = found.v;
    return found.n;
}
