/*
 * sym_resolve.c — one ELF virtual address of one object to frames, innermost first.
 *
 * With DWARF: the concrete scopes containing the address (sym_scopes.c) — lexical blocks,
 * inlined_subroutine instances and finally the subprogram. Each function-like DIE becomes a
 * frame. The innermost frame's line comes from the line table; every outer frame's line is
 * the DW_AT_call_file:DW_AT_call_line of the inlined instance it contains — where the inlined
 * call was written. This is what `eu-addr2line -i -f` prints.
 *
 * Without a covering DIE (no DWARF, or code without a subprogram DIE such as assembly), one
 * frame is named from the symbol index, with a line from the line table when there is one.
 *
 * Function names: a mangled linkage name is demangled (C++ gets its qualified name, template
 * arguments and parameters); otherwise DW_AT_name is used, so glibc's `getenv` is not shown as
 * its internal asm alias `__GI_getenv`.
 */
#include "sym_internal.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <stdlib.h>
#include <string.h>

static bool frame_push(struct ns_sym_frame_buf *buf, struct ns_sym_frame f)
{
    if (buf->n == buf->cap) {
        size_t cap = buf->cap ? buf->cap * 2 : 16;
        struct ns_sym_frame *v = realloc(buf->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        buf->v = v;
        buf->cap = cap;
    }
    buf->v[buf->n++] = f;
    return true;
}

static bool is_function_tag(int tag)
{
    return tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
           tag == DW_TAG_entry_point;
}

static const char *die_raw_name(Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (linkage == NULL)
        linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    if (linkage != NULL && strncmp(linkage, "_Z", 2) == 0)
        return linkage;
    const char *name = dwarf_diename(die);
    return name != NULL ? name : linkage;
}

static uint32_t clamp_line(int64_t line)
{
    return line <= 0 ? 0 : line > UINT32_MAX ? UINT32_MAX : (uint32_t)line;
}

/* Where the inlined instance `inl` was called from (its DW_AT_call_file:DW_AT_call_line). */
static void call_site(struct ns_sym_config *cfg, Dwarf_Die *inl, const char **file, uint32_t *line)
{
    Dwarf_Attribute attr;
    Dwarf_Word value;
    Dwarf_Die cu;
    Dwarf_Files *files;
    size_t nfiles;
    *file = NULL;
    *line = 0;
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &value) == 0 &&
        dwarf_diecu(inl, &cu, NULL, NULL) != NULL && dwarf_getsrcfiles(&cu, &files, &nfiles) == 0 &&
        value < nfiles)
        *file = ns_sym_intern(&cfg->strings, dwarf_filesrc(files, value, NULL, NULL));
    if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &value) == 0)
        *line = clamp_line((int64_t)(value > INT64_MAX ? INT64_MAX : value));
}

static void line_table(struct ns_sym_objfile *o, uint64_t addr, const char **file, uint32_t *line)
{
    int lineno = 0;
    Dwfl_Line *l = dwfl_module_getsrc(o->mod, addr);
    const char *src = l != NULL ? dwfl_lineinfo(l, NULL, &lineno, NULL, NULL, NULL) : NULL;
    *file = ns_sym_intern(&o->cfg->strings, src);
    *line = src != NULL ? clamp_line(lineno) : 0;
}

static const char *symbol_name(struct ns_sym_objfile *o, uint64_t addr)
{
    const struct ns_sym_func *f = ns_sym_symtab_find(&o->symtab, addr);
    return f != NULL ? ns_sym_display_name(o->cfg, f->raw_name) : NULL;
}

/* Compacts the function-like DIEs of a scope chain to the front of the array, innermost
 * first, ending at the first subprogram: a nested subprogram's parent is another frame. */
static int function_chain(Dwarf_Die *scopes, int nscopes)
{
    int n = 0;
    for (int i = 0; i < nscopes; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (!is_function_tag(tag))
            continue;
        scopes[n++] = scopes[i];
        if (tag != DW_TAG_inlined_subroutine)
            break;
    }
    return n;
}

static bool resolve_dwarf(struct ns_sym_objfile *o, uint64_t addr, struct ns_sym_frame_buf *buf)
{
    Dwarf_Die *chain = NULL;
    int nscopes = ns_sym_scope_chain(o, addr, &chain);
    int n = function_chain(chain, nscopes);
    if (n == 0) {
        free(chain);
        return false;
    }
    struct ns_sym_frame f = {0};
    line_table(o, addr, &f.file, &f.line);
    for (int k = 0; k < n; k++) {
        if (k > 0)
            call_site(o->cfg, &chain[k - 1], &f.file, &f.line);
        f.function = ns_sym_display_name(o->cfg, die_raw_name(&chain[k]));
        f.decl_file = ns_sym_intern(&o->cfg->strings, dwarf_decl_file(&chain[k]));
        if (f.function == NULL && k == n - 1)
            f.function = symbol_name(o, addr);
        f.inlined = k < n - 1;
        if (!frame_push(buf, f))
            break;
    }
    free(chain);
    return true;
}

void ns_sym_resolve(struct ns_sym_objfile *o, uint64_t addr, struct ns_sym_frame_buf *buf)
{
    if (o->mod == NULL)
        return;
    if (resolve_dwarf(o, addr, buf))
        return;
    struct ns_sym_frame f = {.function = symbol_name(o, addr)};
    line_table(o, addr, &f.file, &f.line);
    frame_push(buf, f);
}
