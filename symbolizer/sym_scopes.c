/*
 * sym_scopes.c — the DWARF scopes containing an address, found through a per-CU index.
 *
 * Why not dwarf_getscopes + dwarf_getscopes_die (what eu-addr2line -i does): both walk the
 * compilation unit from its root on every call, and the second one descends every namespace
 * and class on the way. One C++ translation unit that includes the standard library has tens
 * of thousands of such DIEs; measured here, that made one lookup cost ~15 ms.
 *
 * Instead, the first address that falls in a CU indexes that CU once: the address ranges of
 * every subprogram (looking inside namespaces, classes and modules, where Rust and some C++
 * compilers put definitions, and inside imported partial units), sorted. A lookup then binary
 * searches the subprogram and descends only its own children, through the lexical blocks and
 * inlined instances whose ranges contain the address. The result is the same concrete scope
 * chain dwarf_getscopes_die would give, innermost first.
 */
#include "sym_internal.h"

#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

enum {
    NS_SYM_MAX_NESTING = 128,       /* corrupt or cyclic DWARF must not recurse forever */
    NS_SYM_MAX_OVERLAP_STEPS = 256, /* see ns_sym_symtab_find: bounds a backward scan */
};

struct ns_sym_fn_range {
    uint64_t lo, hi;
    uint64_t max_hi; /* highest hi among this and all earlier entries */
    size_t order;    /* position in the DIE tree: the first of overlapping aliases wins */
    Dwarf_Die die;
};

struct ns_sym_cu_fns {
    struct ns_sym_fn_range *v;
    size_t n, cap;
};

struct die_vec {
    Dwarf_Die *v;
    size_t n, cap;
};

static bool push_range(struct ns_sym_cu_fns *f, uint64_t lo, uint64_t hi, const Dwarf_Die *die)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct ns_sym_fn_range *v = realloc(f->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        f->v = v;
        f->cap = cap;
    }
    f->v[f->n] = (struct ns_sym_fn_range){.lo = lo, .hi = hi, .order = f->n, .die = *die};
    f->n++;
    return true;
}

static void add_subprogram(struct ns_sym_cu_fns *f, Dwarf_Die *die)
{
    Dwarf_Addr base, start, end;
    ptrdiff_t off = 0;
    while ((off = dwarf_ranges(die, off, &base, &start, &end)) > 0)
        if (end > start && !push_range(f, start, end, die))
            return;
}

static void index_children(struct ns_sym_cu_fns *f, Dwarf_Die *parent, int depth);

/* A DW_TAG_imported_unit stands for the children of the partial unit it names. */
static void index_imported(struct ns_sym_cu_fns *f, Dwarf_Die *import, int depth)
{
    Dwarf_Attribute attr;
    Dwarf_Die unit;
    if (dwarf_formref_die(dwarf_attr(import, DW_AT_import, &attr), &unit) != NULL &&
        dwarf_tag(&unit) != DW_TAG_compile_unit)
        index_children(f, &unit, depth + 1);
}

static void index_children(struct ns_sym_cu_fns *f, Dwarf_Die *parent, int depth)
{
    Dwarf_Die child;
    if (depth > NS_SYM_MAX_NESTING || dwarf_child(parent, &child) != 0)
        return;
    do {
        switch (dwarf_tag(&child)) {
        case DW_TAG_subprogram:
            add_subprogram(f, &child);
            break;
        case DW_TAG_namespace:
        case DW_TAG_module:
        case DW_TAG_class_type:
        case DW_TAG_structure_type:
        case DW_TAG_union_type:
            index_children(f, &child, depth + 1);
            break;
        case DW_TAG_imported_unit:
            index_imported(f, &child, depth);
            break;
        default:
            break;
        }
    } while (dwarf_siblingof(&child, &child) == 0);
}

static int compare_ranges(const void *a, const void *b)
{
    const struct ns_sym_fn_range *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static struct ns_sym_cu_fns *build_cu_index(Dwarf_Die *cudie)
{
    struct ns_sym_cu_fns *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    index_children(f, cudie, 0);
    if (f->n > 1) /* f->v is NULL when the CU describes no code */
        qsort(f->v, f->n, sizeof *f->v, compare_ranges);
    uint64_t max_hi = 0;
    for (size_t i = 0; i < f->n; i++) {
        max_hi = f->v[i].hi > max_hi ? f->v[i].hi : max_hi;
        f->v[i].max_hi = max_hi;
    }
    return f;
}

static struct ns_sym_cu_fns *cu_index(struct ns_sym_objfile *o, Dwarf_Die *cudie)
{
    uint64_t key = dwarf_dieoffset(cudie);
    struct ns_sym_cu_fns *f = ns_sym_u64map_get(&o->cu_index, key);
    if (f != NULL)
        return f;
    f = build_cu_index(cudie);
    if (f != NULL && !ns_sym_u64map_put(&o->cu_index, key, f)) {
        free(f->v);
        free(f);
        return NULL;
    }
    return f;
}

/* Of the subprograms containing pc, the first in DIE order — the one dwarf_getscopes finds
 * (assembly often describes one body under several alias names). */
static const struct ns_sym_fn_range *find_subprogram(const struct ns_sym_cu_fns *f, uint64_t pc)
{
    size_t lo = 0, hi = f->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->v[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct ns_sym_fn_range *best = NULL;
    for (size_t j = lo, steps = 0; j-- > 0 && steps < NS_SYM_MAX_OVERLAP_STEPS; steps++) {
        if (f->v[j].max_hi <= pc)
            break;
        if (pc < f->v[j].hi && (best == NULL || f->v[j].order < best->order))
            best = &f->v[j];
    }
    return best;
}

static bool push_die(struct die_vec *d, const Dwarf_Die *die)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        Dwarf_Die *v = realloc(d->v, cap * sizeof *v);
        if (v == NULL)
            return false;
        d->v = v;
        d->cap = cap;
    }
    d->v[d->n++] = *die;
    return true;
}

/* The tags dwarf_getscopes matches by address. */
static bool is_scope_tag(int tag)
{
    switch (tag) {
    case DW_TAG_lexical_block:
    case DW_TAG_inlined_subroutine:
    case DW_TAG_subprogram:
    case DW_TAG_entry_point:
    case DW_TAG_with_stmt:
    case DW_TAG_catch_block:
    case DW_TAG_try_block:
    case DW_TAG_module:
        return true;
    default:
        return false;
    }
}

/* The first child of parent that is a scope containing pc. */
static bool child_containing(Dwarf_Die *parent, uint64_t pc, Dwarf_Die *out)
{
    if (dwarf_child(parent, out) != 0)
        return false;
    do {
        if (is_scope_tag(dwarf_tag(out)) && dwarf_haspc(out, pc) > 0)
            return true;
    } while (dwarf_siblingof(out, out) == 0);
    return false;
}

int ns_sym_scope_chain(struct ns_sym_objfile *o, uint64_t addr, Dwarf_Die **chain)
{
    *chain = NULL;
    Dwarf_Addr bias;
    Dwarf_Die *cudie = dwfl_module_addrdie(o->mod, addr, &bias);
    struct ns_sym_cu_fns *f = cudie != NULL ? cu_index(o, cudie) : NULL;
    const struct ns_sym_fn_range *sub = f != NULL ? find_subprogram(f, addr - bias) : NULL;
    if (sub == NULL)
        return 0;
    struct die_vec d = {0};
    Dwarf_Die cur = sub->die, next;
    bool ok = push_die(&d, &cur);
    for (int depth = 0; ok && depth < NS_SYM_MAX_NESTING; depth++) {
        if (!child_containing(&cur, addr - bias, &next))
            break;
        ok = push_die(&d, &next);
        cur = next;
    }
    if (!ok) {
        free(d.v);
        return 0;
    }
    for (size_t i = 0; i < d.n / 2; i++) { /* outermost first -> innermost first */
        Dwarf_Die t = d.v[i];
        d.v[i] = d.v[d.n - 1 - i];
        d.v[d.n - 1 - i] = t;
    }
    *chain = d.v;
    return (int)d.n;
}

void ns_sym_scopes_free(struct ns_sym_objfile *o)
{
    for (size_t i = 0; i < o->cu_index.cap; i++) {
        struct ns_sym_cu_fns *f = o->cu_index.slots[i].value;
        if (f != NULL) {
            free(f->v);
            free(f);
        }
    }
    ns_sym_u64map_free(&o->cu_index);
}
