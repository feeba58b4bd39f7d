/*
 * The CFI table builder on .eh_frame images assembled by the test (eh_asm.h): every CFA
 * instruction, the recognised expressions, state stacks, gaps and merging, the header's
 * table and its absence, 64-bit records, augmentations, and malformed input (which must cost
 * only the FDE concerned, never a crash: the image's segment ends where the bytes do, so an
 * out-of-bounds read shows under ASan).
 */
#include <criterion/criterion.h>
#include <dwarf.h>

#include "eh_asm.h"

static struct ns_cfi_table *g_t;

static void setup(void)
{
    eh_reset();
    g_t = NULL;
}

static void teardown(void)
{
    ns_cfi_free(g_t);
}

TestSuite(cfi, .init = setup, .fini = teardown);

struct want {
    uint8_t cfa;
    int32_t cfa_off;
    uint8_t ra;
    int32_t ra_off;
    uint8_t bp;
    int32_t bp_off;
};

#define SP(o)     NS_CFA_SP_OFF, (o)
#define BP(o)     NS_CFA_BP_OFF, (o)
#define CFA_UNSUP NS_CFA_UNSUPPORTED, 0
#define RA_AT(o)  NS_REG_CFA_OFF, (o)
#define BP_AT(o)  NS_REG_CFA_OFF, (o)
#define SAME      NS_REG_SAME, 0
#define UNSUP     NS_REG_UNSUPPORTED, 0

static void expect_row_at(uint64_t pc, struct want w)
{
    const struct ns_cfi_row *r = ns_cfi_find(g_t, pc);
    cr_assert_not_null(r, "no row covers %#lx", (unsigned long)pc);
    cr_expect_eq(r->cfa_rule, w.cfa, "%#lx: cfa rule %u, want %u", (unsigned long)pc, r->cfa_rule,
                 w.cfa);
    cr_expect_eq(r->cfa_off, w.cfa_off, "%#lx: cfa off %d, want %d", (unsigned long)pc, r->cfa_off,
                 w.cfa_off);
    cr_expect_eq(r->ra_rule, w.ra, "%#lx: ra rule %u, want %u", (unsigned long)pc, r->ra_rule,
                 w.ra);
    cr_expect_eq(r->ra_off, w.ra_off, "%#lx: ra off %d, want %d", (unsigned long)pc, r->ra_off,
                 w.ra_off);
    cr_expect_eq(r->bp_rule, w.bp, "%#lx: bp rule %u, want %u", (unsigned long)pc, r->bp_rule,
                 w.bp);
    cr_expect_eq(r->bp_off, w.bp_off, "%#lx: bp off %d, want %d", (unsigned long)pc, r->bp_off,
                 w.bp_off);
}

#define EXPECT(pc, ...) expect_row_at((pc), (struct want){__VA_ARGS__})

static bool same_rules(const struct ns_cfi_row *a, const struct ns_cfi_row *b)
{
    return a->cfa_rule == b->cfa_rule && a->cfa_off == b->cfa_off && a->ra_rule == b->ra_rule &&
           a->ra_off == b->ra_off && a->bp_rule == b->bp_rule && a->bp_off == b->bp_off &&
           a->signal_frame == b->signal_frame && a->plt_threshold == b->plt_threshold;
}

/* Sorted, no two neighbours alike, ends with a closing NONE row. */
static void check_invariants(const struct ns_cfi_table *t)
{
    cr_assert_gt(t->nrows, 0);
    for (size_t i = 1; i < t->nrows; i++) {
        cr_assert_gt(t->rows[i].pc, t->rows[i - 1].pc, "row %zu not after row %zu", i, i - 1);
        cr_assert(!same_rules(&t->rows[i], &t->rows[i - 1]), "rows %zu and %zu alike", i - 1, i);
    }
    cr_assert_eq(t->rows[t->nrows - 1].cfa_rule, NS_CFA_NONE);
}

static void op(uint8_t opcode)
{
    eh_u8(opcode);
}

static void op_r(uint8_t opcode, uint64_t reg)
{
    eh_u8(opcode);
    eh_uleb(reg);
}

static void op_ru(uint8_t opcode, uint64_t reg, uint64_t v)
{
    op_r(opcode, reg);
    eh_uleb(v);
}

static void op_rs(uint8_t opcode, uint64_t reg, int64_t v)
{
    op_r(opcode, reg);
    eh_sleb(v);
}

static void op_u(uint8_t opcode, uint64_t v)
{
    eh_u8(opcode);
    eh_uleb(v);
}

static void op_s(uint8_t opcode, int64_t v)
{
    eh_u8(opcode);
    eh_sleb(v);
}

/* DW_OP_bregN k as a one-operation expression block. */
static void expr_breg(uint8_t reg, int64_t k)
{
    uint8_t tmp[16];
    size_t save = eh.n;
    eh_u8((uint8_t)(DW_OP_breg0 + reg));
    eh_sleb(k);
    size_t len = eh.n - save;
    memcpy(tmp, eh.b + save, len);
    eh.n = save;
    eh_uleb(len);
    eh_bytes(tmp, len);
}

static void advance(int kind)
{
    switch (kind % 4) {
    case 0:
        op(DW_CFA_advance_loc | 1);
        break;
    case 1:
        op(DW_CFA_advance_loc1);
        eh_u8(1);
        break;
    case 2:
        op(DW_CFA_advance_loc2);
        eh_u16(1);
        break;
    default:
        op(DW_CFA_advance_loc4);
        eh_u32(1);
        break;
    }
}

Test(cfi, typical_prologue)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0x1000, 0x40);
    op(DW_CFA_advance_loc | 1);
    op_u(DW_CFA_def_cfa_offset, 16); /* push %rbp */
    op_u(DW_CFA_offset | 6, 2);
    op(DW_CFA_advance_loc | 3);
    op_r(DW_CFA_def_cfa_register, 6); /* mov %rsp, %rbp */
    op(DW_CFA_advance_loc1);
    eh_u8(0x30);
    op_ru(DW_CFA_def_cfa, 7, 8); /* leave */
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    cr_assert_eq(g_t->nrows, 5);
    cr_assert_null(ns_cfi_find(g_t, 0xfff));
    EXPECT(0x1000, SP(8), RA_AT(-8), SAME);
    EXPECT(0x1001, SP(16), RA_AT(-8), BP_AT(-16));
    EXPECT(0x1003, SP(16), RA_AT(-8), BP_AT(-16));
    EXPECT(0x1004, BP(16), RA_AT(-8), BP_AT(-16));
    EXPECT(0x1033, BP(16), RA_AT(-8), BP_AT(-16));
    EXPECT(0x1034, SP(8), RA_AT(-8), BP_AT(-16));
    EXPECT(0x103f, SP(8), RA_AT(-8), BP_AT(-16));
    cr_assert_null(ns_cfi_find(g_t, 0x1040));
    cr_assert_null(ns_cfi_find(g_t, UINT64_MAX));
}

/* One FDE, one instruction group per byte of code: row 0x2000 + i holds group i's state. */
Test(cfi, every_instruction)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0x2000, 0x100);
    int step = 0;
    advance(step++); /* 0: the CIE's rules */
    op_rs(DW_CFA_def_cfa_sf, 7, -2);
    op_ru(DW_CFA_offset_extended, 6, 2);
    advance(step++); /* 1 */
    op_r(DW_CFA_def_cfa_register, 6);
    op_s(DW_CFA_def_cfa_offset_sf, -3);
    op_rs(DW_CFA_offset_extended_sf, 16, -1);
    advance(step++); /* 2 */
    op(DW_CFA_restore | 16);
    op_r(DW_CFA_restore_extended, 6);
    op_ru(DW_CFA_GNU_negative_offset_extended, 6, 3);
    advance(step++); /* 3 */
    op_ru(DW_CFA_def_cfa, 7, 8);
    op_r(DW_CFA_expression, 16);
    expr_breg(7, 16);
    op_r(DW_CFA_expression, 6);
    expr_breg(6, -8);
    op_u(DW_CFA_offset | 3, 5);   /* rbx: ignored */
    op_ru(DW_CFA_register, 3, 5); /* ignored */
    op_r(DW_CFA_expression, 12);  /* ignored, whatever it says */
    expr_breg(1, 0);
    advance(step++); /* 4 */
    op_ru(DW_CFA_register, 6, 3);
    op_ru(DW_CFA_val_offset, 16, 1);
    advance(step++); /* 5 */
    op(DW_CFA_restore | 16);
    op_r(DW_CFA_same_value, 6);
    op_u(DW_CFA_GNU_args_size, 16);
    op(DW_CFA_nop);
    advance(step++); /* 6 */
    op_rs(DW_CFA_val_offset_sf, 6, -2);
    op_r(DW_CFA_val_expression, 16);
    expr_breg(7, 0);
    advance(step++); /* 7 */
    op_r(DW_CFA_undefined, 16);
    op(DW_CFA_restore | 6);
    advance(step++); /* 8 */
    op(DW_CFA_restore | 16);
    op_ru(DW_CFA_def_cfa, 10, 0);
    advance(step++); /* 9 */
    op_u(DW_CFA_def_cfa_offset, 32);
    advance(step++); /* 10 */
    op_r(DW_CFA_def_cfa_register, 7);
    op(DW_CFA_set_loc);
    eh_pointer(&c, 0x2010); /* 11 spans 0x200b..0x200f */
    op_ru(DW_CFA_def_cfa, 7, 8);
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    EXPECT(0x2000, SP(8), RA_AT(-8), SAME);
    EXPECT(0x2001, SP(16), RA_AT(-8), BP_AT(-16));
    EXPECT(0x2002, BP(24), RA_AT(8), BP_AT(-16));
    EXPECT(0x2003, BP(24), RA_AT(-8), BP_AT(24));
    EXPECT(0x2004, SP(8), NS_REG_SP_EXPR, 16, NS_REG_BP_EXPR, -8);
    EXPECT(0x2005, SP(8), UNSUP, UNSUP);
    EXPECT(0x2006, SP(8), RA_AT(-8), SAME);
    EXPECT(0x2007, SP(8), UNSUP, UNSUP);
    EXPECT(0x2008, SP(8), NS_REG_UNDEFINED, 0, SAME);
    EXPECT(0x2009, CFA_UNSUP, RA_AT(-8), SAME); /* CFA = r10 */
    EXPECT(0x200a, CFA_UNSUP, RA_AT(-8), SAME); /* still r10, now + 32 */
    EXPECT(0x200b, SP(32), RA_AT(-8), SAME);
    EXPECT(0x200f, SP(32), RA_AT(-8), SAME);
    EXPECT(0x2010, SP(8), RA_AT(-8), SAME);
    EXPECT(0x20ff, SP(8), RA_AT(-8), SAME);
    cr_assert_null(ns_cfi_find(g_t, 0x2100));
}

static void cfa_expression(const uint8_t *ops, size_t n)
{
    op_u(DW_CFA_def_cfa_expression, n);
    eh_bytes(ops, n);
}

Test(cfi, recognised_expressions)
{
    static const uint8_t deref_sp[] = {DW_OP_breg7, 0xa0, 0x01, DW_OP_deref}; /* rsp + 160 */
    static const uint8_t deref_bp[] = {DW_OP_breg6, 0x70, DW_OP_deref};       /* rbp - 16 */
    static const uint8_t plt11[] = {DW_OP_breg7, 8,         DW_OP_breg16, 0,
                                    DW_OP_lit15, DW_OP_and, DW_OP_lit11,  DW_OP_ge,
                                    DW_OP_lit3,  DW_OP_shl, DW_OP_plus};
    static const uint8_t plt9[] = {DW_OP_breg7, 8,         DW_OP_breg16, 0,
                                   DW_OP_lit15, DW_OP_and, DW_OP_lit9,   DW_OP_ge,
                                   DW_OP_lit3,  DW_OP_shl, DW_OP_plus};
    static const uint8_t plt_bad[] = {DW_OP_breg7, 8,         DW_OP_breg16, 0,
                                      DW_OP_lit15, DW_OP_and, DW_OP_lit11,  DW_OP_ge,
                                      DW_OP_lit2,  DW_OP_shl, DW_OP_plus};
    static const uint8_t deref_plus[] = {DW_OP_breg7, 8, DW_OP_deref, DW_OP_lit1, DW_OP_plus};
    static const uint8_t deref_r3[] = {DW_OP_breg3, 8, DW_OP_deref};
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0x3000, 0x10);
    cfa_expression(deref_sp, sizeof deref_sp); /* glibc's __restore_rt */
    op_r(DW_CFA_expression, 16);
    expr_breg(7, 168);
    op_r(DW_CFA_expression, 6);
    expr_breg(7, 120);
    op_r(DW_CFA_expression, 7); /* rsp restored from the CFA's own slot: consistent */
    expr_breg(7, 160);
    advance(0);
    op_r(DW_CFA_expression, 7); /* another slot: inconsistent */
    expr_breg(7, 152);
    advance(0);
    op_ru(DW_CFA_def_cfa, 7, 8);
    op(DW_CFA_restore | 16);
    op(DW_CFA_restore | 6);
    op(DW_CFA_restore | 7);
    cfa_expression(deref_bp, sizeof deref_bp); /* gcc's DRAP */
    op_r(DW_CFA_expression, 6);
    expr_breg(6, 0);
    advance(0);
    op(DW_CFA_restore | 6);
    cfa_expression(plt11, sizeof plt11);
    advance(0);
    cfa_expression(plt9, sizeof plt9);
    advance(0);
    cfa_expression(plt_bad, sizeof plt_bad);
    advance(0);
    cfa_expression(deref_plus, sizeof deref_plus);
    advance(0);
    cfa_expression(deref_r3, sizeof deref_r3);
    advance(0);
    cfa_expression(deref_sp, sizeof deref_sp);
    op_u(DW_CFA_def_cfa_offset, 16); /* an offset for an expression: meaningless */
    advance(0);
    cfa_expression(deref_bp, sizeof deref_bp);
    op_r(DW_CFA_def_cfa_register, 7); /* a register for an expression: meaningless */
    advance(0);
    op_ru(DW_CFA_def_cfa, 7, 8);
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    EXPECT(0x3000, NS_CFA_DEREF_SP, 160, NS_REG_SP_EXPR, 168, NS_REG_SP_EXPR, 120);
    EXPECT(0x3001, CFA_UNSUP, NS_REG_SP_EXPR, 168, NS_REG_SP_EXPR, 120);
    EXPECT(0x3002, NS_CFA_DEREF_BP, -16, RA_AT(-8), NS_REG_BP_EXPR, 0);
    EXPECT(0x3003, NS_CFA_PLT, 8, RA_AT(-8), SAME);
    cr_assert_eq(ns_cfi_find(g_t, 0x3003)->plt_threshold, 11);
    EXPECT(0x3004, NS_CFA_PLT, 8, RA_AT(-8), SAME);
    cr_assert_eq(ns_cfi_find(g_t, 0x3004)->plt_threshold, 9);
    for (uint64_t pc = 0x3005; pc <= 0x3009; pc++)
        EXPECT(pc, CFA_UNSUP, RA_AT(-8), SAME);
    EXPECT(0x300a, SP(8), RA_AT(-8), SAME);
}

Test(cfi, remember_and_restore_state)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0x4000, 0x20);
    op_u(DW_CFA_def_cfa_offset, 16);
    op_u(DW_CFA_offset | 6, 2);
    advance(0);
    op(DW_CFA_remember_state); /* an early return */
    op_u(DW_CFA_def_cfa_offset, 8);
    op(DW_CFA_restore | 6);
    advance(0);
    op(DW_CFA_restore_state); /* back in the body: CFA and rbp come back */
    op(DW_CFA_remember_state);
    op(DW_CFA_remember_state);
    op_r(DW_CFA_def_cfa_register, 6);
    advance(0);
    op(DW_CFA_restore_state);
    advance(0);
    op(DW_CFA_restore_state);
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    EXPECT(0x4000, SP(16), RA_AT(-8), BP_AT(-16));
    EXPECT(0x4001, SP(8), RA_AT(-8), SAME);
    EXPECT(0x4002, BP(16), RA_AT(-8), BP_AT(-16));
    EXPECT(0x4003, SP(16), RA_AT(-8), BP_AT(-16));
    EXPECT(0x401f, SP(16), RA_AT(-8), BP_AT(-16));
}

/* FDE bodies that must be rejected whole; the FDEs around them survive. */
static void bad_fde(int kind)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0x5000, 0x10);
    op_u(DW_CFA_def_cfa_offset, 24);
    eh_end();
    eh_fde_begin(&c, 0x5010, 0x10);
    op_u(DW_CFA_def_cfa_offset, 16);
    advance(0);
    switch (kind) {
    case 0: /* restore_state with nothing remembered */
        op(DW_CFA_restore_state);
        break;
    case 1: /* a state stack deeper than any compiler makes */
        for (int i = 0; i < 17; i++)
            op(DW_CFA_remember_state);
        break;
    case 2: /* an opcode whose operands cannot be known */
        op(0x3c);
        break;
    case 3: /* set_loc backwards */
        op(DW_CFA_set_loc);
        eh_pointer(&c, 0x5010);
        break;
    case 4: /* an expression block running past the FDE */
        op_u(DW_CFA_def_cfa_expression, 100);
        break;
    case 5: /* an uleb running past the FDE */
        eh_u8(DW_CFA_def_cfa_offset);
        eh_u8(0x80);
        break;
    }
    eh_end();
    eh_fde_begin(&c, 0x5020, 0x10);
    op_u(DW_CFA_def_cfa_offset, 32);
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    EXPECT(0x5000, SP(24), RA_AT(-8), SAME);
    cr_assert_null(ns_cfi_find(g_t, 0x5010), "malformed FDE %d kept", kind);
    cr_assert_null(ns_cfi_find(g_t, 0x5018));
    EXPECT(0x5020, SP(32), RA_AT(-8), SAME);
}

Test(cfi, malformed_fde_is_skipped)
{
    for (int kind = 0; kind < 6; kind++) {
        ns_cfi_free(g_t);
        eh_reset();
        bad_fde(kind);
    }
}

Test(cfi, gaps_close_with_none_and_identical_neighbours_merge)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0x6000, 0x10);
    eh_end();
    eh_fde_begin(&c, 0x6010, 0x10); /* adjacent, same rules: one row */
    eh_end();
    eh_fde_begin(&c, 0x6030, 0x10); /* after a gap */
    eh_end();
    eh_fde_begin(&c, 0x6040, 0x10); /* adjacent, different rules */
    op_u(DW_CFA_def_cfa_offset, 16);
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    cr_assert_eq(g_t->nrows, 5);
    uint64_t pcs[] = {0x6000, 0x6020, 0x6030, 0x6040, 0x6050};
    for (int i = 0; i < 5; i++)
        cr_expect_eq(g_t->rows[i].pc, pcs[i]);
    cr_assert_null(ns_cfi_find(g_t, 0x6020));
    cr_assert_null(ns_cfi_find(g_t, 0x602f));
    EXPECT(0x601f, SP(8), RA_AT(-8), SAME);
    EXPECT(0x604f, SP(16), RA_AT(-8), SAME);
}

Test(cfi, advance_past_the_end_is_clamped)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0x7000, 0x8);
    op_u(DW_CFA_def_cfa_offset, 16);
    op(DW_CFA_advance_loc2);
    eh_u16(0x100);
    op_u(DW_CFA_def_cfa_offset, 32);
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    cr_assert_eq(g_t->nrows, 2);
    EXPECT(0x7007, SP(16), RA_AT(-8), SAME);
    cr_assert_null(ns_cfi_find(g_t, 0x7008));
}

Test(cfi, overlapping_fde_cuts_the_earlier_one)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0x8000, 0x20);
    op_u(DW_CFA_def_cfa_offset, 16);
    eh_end();
    eh_fde_begin(&c, 0x8010, 0x8);
    op_u(DW_CFA_def_cfa_offset, 32);
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    EXPECT(0x800f, SP(16), RA_AT(-8), SAME);
    EXPECT(0x8010, SP(32), RA_AT(-8), SAME);
    cr_assert_null(ns_cfi_find(g_t, 0x8018));
}

static void three_unsorted_fdes(const struct eh_cie *c)
{
    uint64_t at[] = {0x9200, 0x9000, 0x9100};
    for (int i = 0; i < 3; i++) {
        eh_fde_begin(c, at[i], 0x10);
        op_u(DW_CFA_def_cfa_offset, 16 + 8 * (uint64_t)i);
        eh_end();
    }
}

Test(cfi, linear_walk_without_table_sorts)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    three_unsorted_fdes(&c);
    g_t = eh_build(false);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    cr_assert_eq(g_t->nrows, 6);
    EXPECT(0x9000, SP(24), RA_AT(-8), SAME);
    EXPECT(0x9100, SP(32), RA_AT(-8), SAME);
    EXPECT(0x9200, SP(16), RA_AT(-8), SAME);
}

Test(cfi, pcrel_sdata4_and_datarel_table)
{
    struct eh_cie c = eh_default_cie();
    c.fde_enc = DW_EH_PE_pcrel | DW_EH_PE_sdata4; /* what gcc emits */
    eh_simple_cie(&c);
    three_unsorted_fdes(&c);
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    EXPECT(0x9000, SP(24), RA_AT(-8), SAME);
    EXPECT(0x920f, SP(16), RA_AT(-8), SAME);
}

Test(cfi, dwarf64_records)
{
    struct eh_cie c = eh_default_cie();
    c.dwarf64 = true;
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0xa000, 0x10);
    op_u(DW_CFA_def_cfa_offset, 48);
    eh_end();
    struct eh_cie c32 = eh_default_cie(); /* mixed with 32-bit records */
    eh_simple_cie(&c32);
    eh_fde_begin(&c32, 0xa010, 0x10);
    eh_end();
    g_t = eh_build(false);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    EXPECT(0xa000, SP(48), RA_AT(-8), SAME);
    EXPECT(0xa010, SP(8), RA_AT(-8), SAME);
}

Test(cfi, augmentations_and_signal_frames)
{
    struct eh_cie c = eh_default_cie();
    c.aug = "zPLRS";
    c.pers_enc = DW_EH_PE_indirect | DW_EH_PE_pcrel | DW_EH_PE_sdata4;
    c.lsda_enc = DW_EH_PE_pcrel | DW_EH_PE_sdata4;
    c.fde_enc = DW_EH_PE_pcrel | DW_EH_PE_sdata4;
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0xb000, 0x10);
    op_u(DW_CFA_def_cfa_offset, 16);
    eh_end();
    struct eh_cie v3 = eh_default_cie(); /* version 3, code alignment 4 */
    v3.version = 3;
    v3.code_align = 4;
    eh_simple_cie(&v3);
    eh_fde_begin(&v3, 0xb010, 0x10);
    op(DW_CFA_advance_loc | 2);
    op_u(DW_CFA_def_cfa_offset, 16);
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    EXPECT(0xb000, SP(16), RA_AT(-8), SAME);
    cr_assert(ns_cfi_find(g_t, 0xb000)->signal_frame);
    EXPECT(0xb017, SP(8), RA_AT(-8), SAME);
    cr_assert(!ns_cfi_find(g_t, 0xb017)->signal_frame);
    EXPECT(0xb018, SP(16), RA_AT(-8), SAME);
}

Test(cfi, unusable_cies)
{
    struct eh_cie eh_aug = eh_default_cie();
    eh_aug.aug = "eh"; /* pre-'z' gcc: data of unknown size */
    eh_simple_cie(&eh_aug);
    eh_fde_begin(&eh_aug, 0xc000, 0x10);
    eh_end();
    struct eh_cie unknown = eh_default_cie();
    unknown.aug = "zRX";
    eh_simple_cie(&unknown);
    eh_fde_begin(&unknown, 0xc010, 0x10);
    eh_end();
    struct eh_cie textrel = eh_default_cie();
    textrel.fde_enc = DW_EH_PE_textrel | DW_EH_PE_udata8;
    eh_simple_cie(&textrel);
    eh_fde_begin(&textrel, 0xc020, 0x10);
    eh_end();
    struct eh_cie good = eh_default_cie();
    eh_simple_cie(&good);
    eh_fde_begin(&good, 0xc030, 0x10);
    eh_end();
    g_t = eh_build(false);
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    cr_assert_eq(g_t->nrows, 2);
    EXPECT(0xc030, SP(8), RA_AT(-8), SAME);
}

Test(cfi, corrupt_length)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0xd000, 0x10);
    eh_end();
    eh_fde_begin(&c, 0xd010, 0x10);
    size_t corrupt = eh.open;
    eh_end();
    eh_fde_begin(&c, 0xd020, 0x10);
    eh_end();
    uint32_t huge = 0x7ffffff0;
    memcpy(eh.b + corrupt, &huge, 4);
    g_t = eh_build(true); /* the table still reaches the FDE after it */
    cr_assert_not_null(g_t);
    check_invariants(g_t);
    cr_assert_not_null(ns_cfi_find(g_t, 0xd000));
    cr_assert_null(ns_cfi_find(g_t, 0xd010));
    cr_assert_not_null(ns_cfi_find(g_t, 0xd020));
    ns_cfi_free(g_t);
    struct ns_cfi_segment seg = {(uintptr_t)eh.b, eh.n};
    eh.b[2] = eh.b[3] = DW_EH_PE_omit; /* a linear walk cannot go past it */
    g_t = eh_build_raw((uintptr_t)eh.b, &seg, 1);
    cr_assert_not_null(g_t);
    cr_assert_not_null(ns_cfi_find(g_t, 0xd000));
    cr_assert_null(ns_cfi_find(g_t, 0xd020));
}

Test(cfi, unusable_headers)
{
    struct eh_cie c = eh_default_cie();
    eh_simple_cie(&c);
    eh_fde_begin(&c, 0xe000, 0x10);
    eh_end();
    g_t = eh_build(true);
    cr_assert_not_null(g_t);
    struct ns_cfi_segment seg = {(uintptr_t)eh.b, eh.n};
    cr_assert_null(eh_build_raw((uintptr_t)eh.b - 64, &seg, 1), "header outside the segments");
    cr_assert_null(eh_build_raw((uintptr_t)eh.b + eh.n - 2, &seg, 1), "header cut short");
    eh.b[0] = 2;
    cr_assert_null(eh_build_raw((uintptr_t)eh.b, &seg, 1), "version 2");
    eh.b[0] = 1;
    eh.b[1] = DW_EH_PE_omit;
    cr_assert_null(eh_build_raw((uintptr_t)eh.b, &seg, 1), "no .eh_frame pointer");
    eh.b[1] = DW_EH_PE_pcrel | DW_EH_PE_sdata4;
    uint32_t count = 100000;
    memcpy(eh.b + 8, &count, 4); /* a table longer than the segment: walk instead */
    struct ns_cfi_table *walked = eh_build_raw((uintptr_t)eh.b, &seg, 1);
    cr_assert_not_null(walked);
    cr_assert_eq(walked->nrows, g_t->nrows);
    ns_cfi_free(walked);
}

Test(cfi, empty_eh_frame)
{
    g_t = eh_build(true);
    cr_assert_null(g_t);
}

static uint64_t xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static size_t assemble_for_fuzz(int round)
{
    eh_reset();
    struct eh_cie c = eh_default_cie();
    c.fde_enc = round % 2 ? DW_EH_PE_pcrel | DW_EH_PE_sdata4 : DW_EH_PE_udata8;
    c.dwarf64 = round % 5 == 0;
    eh_simple_cie(&c);
    for (int f = 0; f < 4; f++) {
        eh_fde_begin(&c, 0xf000 + 0x40 * (uint64_t)f, 0x40);
        op_u(DW_CFA_def_cfa_offset, 16);
        op(DW_CFA_remember_state);
        op_r(DW_CFA_expression, 16);
        expr_breg(7, 8);
        advance(f);
        op(DW_CFA_restore_state);
        eh_end();
    }
    return eh_finish(round % 3 != 0);
}

/* Deterministic corruption of valid images, header included, built right before an
 * inaccessible page: no read leaves the segment, and whatever comes out is a valid table. */
Test(cfi, corrupted_images_never_crash)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int built = 0;
    for (int round = 0; round < 3000; round++) {
        size_t len = assemble_for_fuzz(round);
        for (int flips = 1 + round % 4; flips > 0; flips--) {
            uint64_t r = xorshift(&x);
            size_t at = r % 8 == 0 ? r % 32 : EH_FRAME_AT + r % (len - EH_FRAME_AT);
            eh.b[at] ^= (uint8_t)(1u << (r >> 32) % 8);
        }
        struct ns_cfi_table *t = eh_build_guarded(len);
        if (t) {
            built++;
            for (size_t i = 1; i < t->nrows; i++)
                cr_assert_gt(t->rows[i].pc, t->rows[i - 1].pc);
            cr_assert_eq(t->rows[t->nrows - 1].cfa_rule, NS_CFA_NONE);
        }
        ns_cfi_free(t);
    }
    cr_assert_gt(built, 1000, "most corruptions leave some FDEs usable (%d)", built);
}
