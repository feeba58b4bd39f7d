/*
 * The CFI table builder on the objects loaded in this process (libc, ld.so, this executable,
 * criterion and its many dependencies, a library with IBT PLTs): known rows of glibc and ld,
 * and every row of every object checked against elfutils' libdw reading the same .eh_frame
 * from the file.
 */
#include <criterion/criterion.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uw_helpers.h"

size_t ibt_lib_calls(const char *s);

static struct uw_modules g_mods;

static void setup(void)
{
    elf_version(EV_CURRENT);
    uw_modules_build(&g_mods);
}

static void teardown(void)
{
    uw_modules_free(&g_mods);
}

TestSuite(real, .init = setup, .fini = teardown);

static const char *path_of(const struct uw_object *o)
{
    return strcmp(o->name, "[exe]") == 0 ? "/proc/self/exe" : o->name;
}

/* [lo, hi) of a section of o's file, as ELF vaddrs. */
static bool section_range(const struct uw_object *o, const char *name, uint64_t *lo, uint64_t *hi)
{
    int fd = open(path_of(o), O_RDONLY);
    cr_assert_geq(fd, 0, "open %s", path_of(o));
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    size_t shstrndx;
    bool found = false;
    cr_assert_eq(elf_getshdrstrndx(e, &shstrndx), 0);
    for (Elf_Scn *s = NULL; !found && (s = elf_nextscn(e, s)) != NULL;) {
        GElf_Shdr sh;
        gelf_getshdr(s, &sh);
        const char *n = elf_strptr(e, shstrndx, sh.sh_name);
        if (n && strcmp(n, name) == 0) {
            *lo = sh.sh_addr;
            *hi = sh.sh_addr + sh.sh_size;
            found = true;
        }
    }
    elf_end(e);
    close(fd);
    return found;
}

static const struct uw_object *object(const char *needle)
{
    const struct uw_object *o = uw_find_object(&g_mods, needle);
    cr_assert_not_null(o, "%s is not loaded", needle);
    cr_assert_not_null(o->cfi, "%s has no table", needle);
    return o;
}

static void noop_handler(int sig)
{
    (void)sig;
}

Test(real, restore_rt_is_a_signal_frame)
{
    signal(SIGUSR1, noop_handler); /* glibc sets SA_RESTORER = __restore_rt */
    struct {
        void *handler;
        unsigned long flags;
        void *restorer;
        uint64_t mask;
    } k;
    cr_assert_eq(syscall(SYS_rt_sigaction, SIGUSR1, NULL, &k, sizeof k.mask), 0);
    const struct uw_object *libc = object("libc.so.6");
    uint64_t pc = (uintptr_t)k.restorer - libc->bias;
    /* glibc starts the FDE one byte early so that a return-address - 1 lookup finds it. */
    for (uint64_t at = pc - 1; at < pc + 9; at++) {
        const struct ns_cfi_row *r = ns_cfi_find(libc->cfi, at);
        cr_assert_not_null(r, "no row at %#lx", (unsigned long)at);
        cr_assert(r->signal_frame);
        cr_assert_eq(r->cfa_rule, NS_CFA_DEREF_SP);
        cr_assert_eq(r->cfa_off, 160); /* uc_mcontext.rsp */
        cr_assert_eq(r->ra_rule, NS_REG_SP_EXPR);
        cr_assert_eq(r->ra_off, 168); /* uc_mcontext.rip */
        cr_assert_eq(r->bp_rule, NS_REG_SP_EXPR);
        cr_assert_eq(r->bp_off, 120); /* uc_mcontext.rbp */
    }
}

/* Lazy PLT: PLT0 pushes, then every 16-byte entry pushes once past `threshold`. */
static void check_lazy_plt(const char *needle, int threshold)
{
    const struct uw_object *o = object(needle);
    uint64_t lo, hi;
    cr_assert(section_range(o, ".plt", &lo, &hi), "%s has no .plt", needle);
    const struct ns_cfi_row *r = ns_cfi_find(o->cfi, lo);
    cr_assert(r && r->cfa_rule == NS_CFA_SP_OFF && r->cfa_off == 16);
    r = ns_cfi_find(o->cfi, lo + 6);
    cr_assert(r && r->cfa_rule == NS_CFA_SP_OFF && r->cfa_off == 24);
    cr_assert_gt(hi - lo, 16, "no PLT entries");
    for (uint64_t pc = lo + 16; pc < hi; pc++) {
        r = ns_cfi_find(o->cfi, pc);
        cr_assert_not_null(r);
        cr_assert_eq(r->cfa_rule, NS_CFA_PLT, "%s %#lx", needle, (unsigned long)pc);
        cr_assert_eq(r->cfa_off, 8);
        cr_assert_eq(r->plt_threshold, threshold);
        cr_assert_eq(r->ra_rule, NS_REG_CFA_OFF);
        cr_assert_eq(r->ra_off, -8);
    }
}

Test(real, lazy_plt_rows)
{
    check_lazy_plt("libc.so.6", 11);
    check_lazy_plt("[exe]", 11);
    cr_assert_eq(ibt_lib_calls("abc"), 3);
    check_lazy_plt("libns_unwind_ibt", 9);
    /* .plt.sec entries only jump: the CIE's CFA = rsp + 8 holds. */
    const struct uw_object *o = object("libns_unwind_ibt");
    uint64_t lo, hi;
    cr_assert(section_range(o, ".plt.sec", &lo, &hi));
    for (uint64_t pc = lo; pc < hi; pc++) {
        const struct ns_cfi_row *r = ns_cfi_find(o->cfi, pc);
        cr_assert(r && r->cfa_rule == NS_CFA_SP_OFF && r->cfa_off == 8, "%#lx", (unsigned long)pc);
    }
}

Test(real, start_is_the_root)
{
    extern char _start[];
    const struct uw_object *exe = object("[exe]");
    const struct ns_cfi_row *r = ns_cfi_find(exe->cfi, (uintptr_t)_start - exe->bias + 4);
    cr_assert_not_null(r);
    cr_assert_eq(r->ra_rule, NS_REG_UNDEFINED);
}

/* ---- libdw as the oracle ---- */

static bool is_op(const Dwarf_Op *op, unsigned atom, int64_t number)
{
    return op->atom == atom && (int64_t)op->number == number;
}

static struct ns_cfi_row cfa_from_libdw(Dwarf_Frame *f)
{
    static const uint8_t plt_tail[] = {DW_OP_lit15, DW_OP_and, 0,         DW_OP_ge,
                                       DW_OP_lit3,  DW_OP_shl, DW_OP_plus};
    struct ns_cfi_row r = {.cfa_rule = NS_CFA_UNSUPPORTED};
    Dwarf_Op *ops;
    size_t n;
    cr_assert_eq(dwarf_frame_cfa(f, &ops, &n), 0);
    if (n == 1 && ops[0].atom == DW_OP_bregx && (ops[0].number == 7 || ops[0].number == 6)) {
        r.cfa_rule = ops[0].number == 7 ? NS_CFA_SP_OFF : NS_CFA_BP_OFF;
        r.cfa_off = (int32_t)ops[0].number2;
    } else if (n == 2 && ops[1].atom == DW_OP_deref &&
               (ops[0].atom == DW_OP_breg7 || ops[0].atom == DW_OP_breg6)) {
        r.cfa_rule = ops[0].atom == DW_OP_breg7 ? NS_CFA_DEREF_SP : NS_CFA_DEREF_BP;
        r.cfa_off = (int32_t)ops[0].number;
    } else if (n == 9 && ops[0].atom == DW_OP_breg7 && is_op(&ops[1], DW_OP_breg16, 0)) {
        bool plt = ops[4].atom >= DW_OP_lit0 && ops[4].atom <= DW_OP_lit15;
        for (int i = 0; i < 7; i++)
            plt = plt && (i == 2 || ops[2 + i].atom == plt_tail[i]);
        if (plt) {
            r.cfa_rule = NS_CFA_PLT;
            r.cfa_off = (int32_t)ops[0].number;
            r.plt_threshold = (uint8_t)(ops[4].atom - DW_OP_lit0);
        }
    }
    return r;
}

/* libdw's description of a register, in cfi.h's terms. */
static uint8_t reg_from_libdw(Dwarf_Frame *f, int regno, int32_t *off)
{
    Dwarf_Op mem[3], *ops;
    size_t n;
    *off = 0;
    cr_assert_eq(dwarf_frame_register(f, regno, mem, &ops, &n), 0);
    if (n == 0)
        return ops == NULL ? NS_REG_SAME : NS_REG_UNDEFINED;
    if (n == 1 && ops[0].atom == DW_OP_call_frame_cfa)
        return NS_REG_CFA_OFF;
    if (n == 2 && ops[0].atom == DW_OP_call_frame_cfa) {
        *off = (int32_t)ops[1].number;
        if (ops[1].atom == DW_OP_plus_uconst)
            return NS_REG_CFA_OFF;
        if (ops[1].atom == DW_OP_breg7)
            return NS_REG_SP_EXPR;
        if (ops[1].atom == DW_OP_breg6)
            return NS_REG_BP_EXPR;
    }
    *off = 0;
    return NS_REG_UNSUPPORTED;
}

static struct ns_cfi_row row_from_libdw(Dwarf_Frame *f)
{
    Dwarf_Addr start, end;
    bool signal_frame;
    struct ns_cfi_row r = cfa_from_libdw(f);
    cr_assert_eq(dwarf_frame_info(f, &start, &end, &signal_frame), 16);
    r.signal_frame = signal_frame;
    r.ra_rule = reg_from_libdw(f, 16, &r.ra_off);
    if (r.ra_rule == NS_REG_SAME)
        r.ra_rule = NS_REG_UNSUPPORTED;
    r.bp_rule = reg_from_libdw(f, 6, &r.bp_off);
    int32_t sp_off;
    Dwarf_Op mem[3], *ops;
    size_t n;
    cr_assert_eq(dwarf_frame_register(f, 7, mem, &ops, &n), 0);
    bool sp_is_cfa = (n == 2 && ops[1].atom == DW_OP_stack_value) || (n == 0 && ops != NULL);
    uint8_t sp = reg_from_libdw(f, 7, &sp_off);
    bool sp_consistent =
        sp == NS_REG_SP_EXPR && r.cfa_rule == NS_CFA_DEREF_SP && sp_off == r.cfa_off;
    if (!sp_is_cfa && !sp_consistent)
        r.cfa_rule = NS_CFA_UNSUPPORTED;
    if (r.cfa_rule == NS_CFA_UNSUPPORTED)
        r.cfa_off = 0;
    return r;
}

static void expect_same(const struct ns_cfi_row *got, const struct ns_cfi_row *want,
                        const char *obj, uint64_t pc)
{
    cr_assert(got->cfa_rule == want->cfa_rule && got->cfa_off == want->cfa_off &&
                  got->plt_threshold == want->plt_threshold && got->ra_rule == want->ra_rule &&
                  got->ra_off == want->ra_off && got->bp_rule == want->bp_rule &&
                  got->bp_off == want->bp_off && got->signal_frame == want->signal_frame,
              "%s %#lx: got cfa %u%+d/%u ra %u%+d bp %u%+d sig %u; libdw cfa %u%+d/%u ra %u%+d bp "
              "%u%+d sig %u",
              obj, (unsigned long)pc, got->cfa_rule, got->cfa_off, got->plt_threshold, got->ra_rule,
              got->ra_off, got->bp_rule, got->bp_off, got->signal_frame, want->cfa_rule,
              want->cfa_off, want->plt_threshold, want->ra_rule, want->ra_off, want->bp_rule,
              want->bp_off, want->signal_frame);
}

/* Walks every libdw row inside each of our rows; returns the number of libdw rows seen. */
static size_t compare_with_libdw(const struct uw_object *o)
{
    int fd = open(path_of(o), O_RDONLY);
    cr_assert_geq(fd, 0);
    Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    Dwarf_CFI *cfi = dwarf_getcfi_elf(e);
    cr_assert_not_null(cfi, "%s: %s", o->name, dwarf_errmsg(-1));
    const struct ns_cfi_table *t = o->cfi;
    size_t seen = 0;
    for (size_t i = 0; i + 1 < t->nrows; i++) {
        const struct ns_cfi_row *r = &t->rows[i];
        Dwarf_Frame *f;
        if (r->cfa_rule == NS_CFA_NONE) {
            cr_assert_neq(dwarf_cfi_addrframe(cfi, r->pc, &f), 0, "%s %#lx: libdw has CFI in a gap",
                          o->name, (unsigned long)r->pc);
            continue;
        }
        for (uint64_t pc = r->pc; pc < t->rows[i + 1].pc;) {
            cr_assert_eq(dwarf_cfi_addrframe(cfi, pc, &f), 0, "%s %#lx: %s", o->name,
                         (unsigned long)pc, dwarf_errmsg(-1));
            struct ns_cfi_row want = row_from_libdw(f);
            expect_same(r, &want, o->name, pc);
            Dwarf_Addr start, end;
            bool sig;
            dwarf_frame_info(f, &start, &end, &sig);
            free(f);
            pc = end > pc ? end : pc + 1;
            seen++;
        }
    }
    dwarf_cfi_end(cfi);
    elf_end(e);
    close(fd);
    return seen;
}

Test(real, every_row_of_every_object_agrees_with_libdw)
{
    cr_assert_eq(ibt_lib_calls("x"), 1);
    size_t objects = 0, rows = 0;
    for (size_t i = 0; i < g_mods.nobjects; i++) {
        const struct uw_object *o = &g_mods.objects[i];
        if (!o->cfi || strstr(o->name, "linux-vdso"))
            continue; /* the vDSO has no file for libdw */
        rows += compare_with_libdw(o);
        objects++;
    }
    cr_log_info("%zu objects, %zu libdw rows compared", objects, rows);
    cr_assert_geq(objects, 8, "only %zu objects compared", objects);
    cr_assert_gt(rows, 50000, "only %zu rows compared", rows);
}

Test(real, tables_are_well_formed)
{
    size_t tables = 0;
    for (size_t i = 0; i < g_mods.nobjects; i++) {
        const struct ns_cfi_table *t = g_mods.objects[i].cfi;
        if (!t)
            continue;
        tables++;
        for (size_t k = 1; k < t->nrows; k++)
            cr_assert_gt(t->rows[k].pc, t->rows[k - 1].pc, "%s row %zu", g_mods.objects[i].name, k);
        cr_assert_eq(t->rows[t->nrows - 1].cfa_rule, NS_CFA_NONE);
        cr_assert_geq(t->map_len, sizeof *t + t->nrows * sizeof t->rows[0]);
    }
    cr_assert_eq(tables, g_mods.nobjects, "every loaded object has CFI here, the vDSO included");
}

static const struct ns_cfi_row *live_row(const struct ns_cfi_table *t, size_t i)
{
    return t->rows[i].cfa_rule == NS_CFA_NONE ? NULL : &t->rows[i];
}

/* ns_cfi_find (bucket index + search) against the rows themselves, at both ends of every
 * row of every table. */
Test(real, lookups_find_the_covering_row)
{
    size_t checked = 0;
    for (size_t o = 0; o < g_mods.nobjects; o++) {
        const struct ns_cfi_table *t = g_mods.objects[o].cfi;
        cr_assert_gt(t->index_len, 0);
        cr_assert_null(ns_cfi_find(t, t->rows[0].pc - 1));
        for (size_t i = 0; i + 1 < t->nrows; i++) {
            uint64_t first = t->rows[i].pc, last = t->rows[i + 1].pc - 1;
            cr_assert_eq(ns_cfi_find(t, first), live_row(t, i), "%s row %zu",
                         g_mods.objects[o].name, i);
            cr_assert_eq(ns_cfi_find(t, last), live_row(t, i), "%s row %zu end",
                         g_mods.objects[o].name, i);
            cr_assert_eq(ns_cfi_find(t, first + (last - first) / 2), live_row(t, i));
            checked++;
        }
        cr_assert_null(ns_cfi_find(t, t->rows[t->nrows - 1].pc));
        cr_assert_null(ns_cfi_find(t, UINT64_MAX));
    }
    cr_assert_gt(checked, 50000);
}
