/*
 * ns_unwind step by step, on hand-made CFI tables and hand-made stacks: every rule, every
 * stop reason, the exact-pc rule after signal frames, and termination on hostile stacks.
 *
 * Layout: module 1 is [0x401000, 0x402000) with bias 0x400000 (so ELF vaddrs are 0x1xxx);
 * module 2 is [0x500000, 0x501000) without CFI. The stack is an array of words that the
 * unwinder sees at address STACK (copy mode) or at its own address (live mode).
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "unwind.h"

#define BIAS   0x400000u
#define STACK  0x7fff00000000ull
#define NWORDS 64

/* Functions of module 1, by ELF vaddr. */
enum {
    F_LEAF = 0x1000,  /* CFA = rsp + 16 */
    F_MID = 0x1100,   /* CFA = rsp + 8 */
    F_START = 0x1200, /* the outermost frame */
    F_GAP = 0x1300,   /* no CFI */
    F_TRAMP = 0x1400, /* signal trampoline, FDE starts one byte early like glibc's */
    F_DRAP = 0x1500,  /* CFA = *(rbp - 16), rbp = *(rbp) */
    F_FP = 0x1600,    /* CFA = rbp + 16, rbp saved at CFA - 16 */
    F_PLT = 0x1700,   /* a lazy PLT entry */
    F_UNSUP = 0x1800, /* CFA unsupported */
    F_NOBP = 0x1900,  /* CFA = rsp + 8, rbp cannot be recovered */
    F_STILL = 0x1a00, /* CFA = rsp + 0: does not grow */
    F_BADRA = 0x1b00, /* return address unsupported */
    F_END = 0x1c00,
};

static struct ns_cfi_row row(uint64_t pc, uint8_t cfa, int32_t cfa_off, uint8_t ra, int32_t ra_off,
                             uint8_t bp, int32_t bp_off)
{
    return (struct ns_cfi_row){.pc = pc,
                               .cfa_rule = cfa,
                               .cfa_off = cfa_off,
                               .ra_rule = ra,
                               .ra_off = ra_off,
                               .bp_rule = bp,
                               .bp_off = bp_off};
}

static struct ns_cfi_table *g_table;
static struct ns_unwind_module g_mods[2];
static struct ns_unwind_modules g_view = {g_mods, 2};
static uint64_t g_stack[NWORDS];

static void setup(void)
{
    struct ns_cfi_row rows[] = {
        row(F_LEAF, NS_CFA_SP_OFF, 16, NS_REG_CFA_OFF, -8, NS_REG_SAME, 0),
        row(F_MID, NS_CFA_SP_OFF, 8, NS_REG_CFA_OFF, -8, NS_REG_SAME, 0),
        row(F_START, NS_CFA_SP_OFF, 8, NS_REG_UNDEFINED, 0, NS_REG_SAME, 0),
        row(F_GAP, NS_CFA_NONE, 0, 0, 0, 0, 0),
        row(F_TRAMP - 1, NS_CFA_DEREF_SP, 8, NS_REG_SP_EXPR, 16, NS_REG_SP_EXPR, 24),
        row(F_DRAP, NS_CFA_DEREF_BP, -16, NS_REG_CFA_OFF, -8, NS_REG_BP_EXPR, 0),
        row(F_FP, NS_CFA_BP_OFF, 16, NS_REG_CFA_OFF, -8, NS_REG_CFA_OFF, -16),
        row(F_PLT, NS_CFA_PLT, 8, NS_REG_CFA_OFF, -8, NS_REG_SAME, 0),
        row(F_UNSUP, NS_CFA_UNSUPPORTED, 0, NS_REG_CFA_OFF, -8, NS_REG_SAME, 0),
        row(F_NOBP, NS_CFA_SP_OFF, 8, NS_REG_CFA_OFF, -8, NS_REG_UNSUPPORTED, 0),
        row(F_STILL, NS_CFA_SP_OFF, 0, NS_REG_CFA_OFF, 0, NS_REG_SAME, 0),
        row(F_BADRA, NS_CFA_SP_OFF, 8, NS_REG_UNSUPPORTED, 0, NS_REG_SAME, 0),
        row(F_END, NS_CFA_NONE, 0, 0, 0, 0, 0),
    };
    size_t n = sizeof rows / sizeof rows[0];
    g_table = calloc(1, sizeof *g_table + sizeof rows);
    g_table->nrows = n;
    memcpy(g_table->rows, rows, sizeof rows);
    g_table->rows[4].signal_frame = 1;
    g_table->rows[7].plt_threshold = 11;
    g_mods[0] = (struct ns_unwind_module){BIAS + 0x1000, BIAS + 0x2000, BIAS, 1, g_table, NULL};
    g_mods[1] = (struct ns_unwind_module){0x500000, 0x501000, 0x500000, 2, NULL, NULL};
    memset(g_stack, 0, sizeof g_stack);
}

static void teardown(void)
{
    free(g_table);
}

TestSuite(steps, .init = setup, .fini = teardown);

static uint64_t at(int word)
{
    return STACK + 8u * (unsigned)word;
}

static const struct ns_stack_mem g_mem = {
    .lo = STACK, .hi = STACK + sizeof g_stack, .copy = (const uint8_t *)g_stack};

struct result {
    struct ns_frame f[NWORDS];
    int n;
    unsigned end;
};

static struct result unwind_from(uint64_t ip, uint64_t sp, uint64_t bp,
                                 const struct ns_stack_mem *mem, int max)
{
    struct result r;
    struct ns_regs regs = {ip, sp, bp};
    r.n = ns_unwind(&g_view, &regs, mem, r.f, max, &r.end);
    return r;
}

static void expect_frame(const struct result *r, int i, uint32_t mapping, uint64_t addr)
{
    cr_assert_lt(i, r->n);
    cr_expect_eq(r->f[i].mapping_id, mapping, "frame %d mapping %u", i, r->f[i].mapping_id);
    cr_expect_eq(r->f[i].addr, addr, "frame %d addr %#lx, want %#lx", i,
                 (unsigned long)r->f[i].addr, (unsigned long)addr);
}

/* leaf (CFA = sp + 16) -> mid (CFA = sp + 8) -> start (root) */
static void build_chain(void)
{
    g_stack[1] = BIAS + F_MID + 0x50;   /* leaf's return address, at CFA - 8 */
    g_stack[2] = BIAS + F_START + 0x10; /* mid's return address */
}

Test(steps, chain_reaches_root_and_callers_are_return_address_minus_one)
{
    build_chain();
    struct result r = unwind_from(BIAS + F_LEAF + 0x10, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_ROOT);
    cr_assert_eq(r.n, 3);
    expect_frame(&r, 0, 1, F_LEAF + 0x10);
    expect_frame(&r, 1, 1, F_MID + 0x4f);
    expect_frame(&r, 2, 1, F_START + 0x0f);
}

Test(steps, depth)
{
    build_chain();
    struct result r = unwind_from(BIAS + F_LEAF, at(0), 0, &g_mem, 2);
    cr_assert_eq(r.end, NSP_END_DEPTH);
    cr_assert_eq(r.n, 2);
    r = unwind_from(BIAS + F_LEAF, at(0), 0, &g_mem, 1);
    cr_assert_eq(r.end, NSP_END_DEPTH);
    cr_assert_eq(r.n, 1);
    r = unwind_from(BIAS + F_LEAF, at(0), 0, &g_mem, 0);
    cr_assert_eq(r.end, NSP_END_DEPTH);
    cr_assert_eq(r.n, 0);
    /* The outermost frame is root even when it is also the last one allowed. */
    r = unwind_from(BIAS + F_LEAF, at(0), 0, &g_mem, 3);
    cr_assert_eq(r.end, NSP_END_ROOT);
}

Test(steps, stack_end_when_a_load_leaves_the_copy)
{
    build_chain();
    struct ns_stack_mem small = {
        .lo = STACK, .hi = at(2), .copy = (const uint8_t *)g_stack}; /* words 0 and 1 */
    struct result r = unwind_from(BIAS + F_LEAF, at(0), 0, &small, NWORDS);
    cr_assert_eq(r.end, NSP_END_STACK_END);
    cr_assert_eq(r.n, 2);
    struct ns_stack_mem tiny = {
        .lo = STACK, .hi = at(1) + 7, .copy = (const uint8_t *)g_stack}; /* word 1 cut */
    r = unwind_from(BIAS + F_LEAF, at(0), 0, &tiny, NWORDS);
    cr_assert_eq(r.end, NSP_END_STACK_END);
    cr_assert_eq(r.n, 1);
    r = unwind_from(BIAS + F_LEAF, STACK - 16, 0, &g_mem, NWORDS); /* RA below the copy */
    cr_assert_eq(r.end, NSP_END_STACK_END);
}

Test(steps, no_module)
{
    g_stack[1] = 0x900001;
    struct result r = unwind_from(BIAS + F_LEAF, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_NO_MODULE);
    cr_assert_eq(r.n, 2);
    expect_frame(&r, 1, 0, 0x900000);
    r = unwind_from(0x1234, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_NO_MODULE);
    expect_frame(&r, 0, 0, 0x1234);
}

Test(steps, no_cfi)
{
    g_stack[1] = 0x500101; /* module 2 has no table */
    struct result r = unwind_from(BIAS + F_LEAF, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_NO_CFI);
    expect_frame(&r, 1, 2, 0x100);
    g_stack[1] = BIAS + F_GAP + 0x21; /* a gap between FDEs */
    r = unwind_from(BIAS + F_LEAF, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_NO_CFI);
    expect_frame(&r, 1, 1, F_GAP + 0x20);
}

Test(steps, bad_cfi)
{
    struct result r = unwind_from(BIAS + F_UNSUP, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_BAD_CFI);
    cr_assert_eq(r.n, 1);
    r = unwind_from(BIAS + F_BADRA, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_BAD_CFI);
    /* rbp is lost in the first frame, needed by the second: bad_cfi there. */
    g_stack[0] = BIAS + F_FP + 0x11;
    r = unwind_from(BIAS + F_NOBP, at(0), at(10), &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_BAD_CFI);
    cr_assert_eq(r.n, 2);
}

Test(steps, bad_frame)
{
    struct result r = unwind_from(BIAS + F_LEAF, at(0), 0, &g_mem, NWORDS); /* RA slot is 0 */
    cr_assert_eq(r.end, NSP_END_BAD_FRAME);
    cr_assert_eq(r.n, 1);
    g_stack[0] = BIAS + F_LEAF + 1;
    r = unwind_from(BIAS + F_STILL, at(0), 0, &g_mem, NWORDS); /* CFA == sp */
    cr_assert_eq(r.end, NSP_END_BAD_FRAME);
    r = unwind_from(0, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_BAD_FRAME);
    cr_assert_eq(r.n, 0);
}

/* handler (CFA = sp + 8) returns into the trampoline, which restores the interrupted rsp,
 * rip and rbp from the signal frame; the interrupted pc is exact. */
static void build_signal_frame(uint64_t restored_sp, uint64_t interrupted_ip)
{
    g_stack[0] = BIAS + F_TRAMP; /* the handler's return address */
    g_stack[2] = restored_sp;    /* trampoline sp = word 1; *(sp + 8) */
    g_stack[3] = interrupted_ip; /* *(sp + 16) */
    g_stack[4] = at(40);         /* *(sp + 24): the interrupted rbp */
}

Test(steps, signal_frame_caller_is_exact)
{
    build_signal_frame(at(20), BIAS + F_LEAF); /* the first byte of a function */
    g_stack[21] = BIAS + F_START + 1;          /* leaf: CFA = at(22), RA at at(21) */
    struct result r = unwind_from(BIAS + F_MID + 4, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_ROOT, "end %u after %d frames", r.end, r.n);
    cr_assert_eq(r.n, 4);
    expect_frame(&r, 1, 1, F_TRAMP - 1);
    expect_frame(&r, 2, 1, F_LEAF); /* exact: not F_LEAF - 1, which is outside any FDE */
    expect_frame(&r, 3, 1, F_START);
}

Test(steps, signal_frame_may_restore_a_lower_sp)
{
    /* An alternate signal stack above the interrupted one: rsp goes down, and that is fine
     * for a signal frame only. */
    build_signal_frame(at(0) - 64, BIAS + F_LEAF);
    struct result r = unwind_from(BIAS + F_MID + 4, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.n, 3);
    expect_frame(&r, 2, 1, F_LEAF);
    cr_assert_eq(r.end, NSP_END_STACK_END, "the interrupted stack is outside the copy");
}

Test(steps, hostile_signal_frame_loop_terminates)
{
    /* A "trampoline" whose saved rsp points back at itself, forever. */
    g_stack[0] = at(0) - 8; /* restored rsp: the same trampoline sp again */
    g_stack[1] = BIAS + F_TRAMP;
    struct result r = unwind_from(BIAS + F_TRAMP, at(0) - 8, 0, &g_mem, 40);
    cr_assert_eq(r.end, NSP_END_DEPTH);
    cr_assert_eq(r.n, 40);
}

Test(steps, drap_realignment)
{
    /* rbp = word 8: *(rbp - 16) = CFA = word 12, RA at word 11, caller rbp = *(rbp). */
    g_stack[6] = at(12);
    g_stack[8] = at(30);
    g_stack[11] = BIAS + F_MID + 1;
    g_stack[12] = BIAS + F_START + 1;
    struct result r = unwind_from(BIAS + F_DRAP + 8, at(2), at(8), &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_ROOT, "end %u after %d frames", r.end, r.n);
    cr_assert_eq(r.n, 3);
    expect_frame(&r, 1, 1, F_MID);
}

Test(steps, frame_pointer_function_restores_rbp)
{
    /* fp (CFA = rbp + 16, rbp saved at CFA - 16) called by fp again, then by mid. */
    g_stack[4] = at(10);               /* saved rbp of the first frame */
    g_stack[5] = BIAS + F_FP + 0x21;   /* RA */
    g_stack[10] = at(20);              /* saved rbp of the second frame */
    g_stack[11] = BIAS + F_MID + 0x31; /* RA */
    g_stack[12] = BIAS + F_START + 1;  /* mid: CFA = at(13), RA at at(12) */
    struct result r = unwind_from(BIAS + F_FP + 4, at(1), at(4), &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_ROOT, "end %u after %d frames", r.end, r.n);
    cr_assert_eq(r.n, 4);
    expect_frame(&r, 1, 1, F_FP + 0x20);
    expect_frame(&r, 2, 1, F_MID + 0x30);
}

Test(steps, lazy_plt_entry)
{
    g_stack[0] = 7;                  /* pushed relocation index */
    g_stack[1] = BIAS + F_START + 1; /* the PLT's caller */
    /* Before the push (pc & 15 < 11): CFA = sp + 8. */
    struct result r = unwind_from(BIAS + F_PLT + 16, at(1), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_ROOT);
    cr_assert_eq(r.n, 2);
    /* After it (pc & 15 >= 11): CFA = sp + 16. */
    r = unwind_from(BIAS + F_PLT + 16 + 11, at(0), 0, &g_mem, NWORDS);
    cr_assert_eq(r.end, NSP_END_ROOT);
    cr_assert_eq(r.n, 2);
    expect_frame(&r, 1, 1, F_START);
}

Test(steps, live_memory)
{
    uint64_t words[8] = {0};
    struct ns_stack_mem live = {.lo = (uintptr_t)words, .hi = (uintptr_t)(words + 8), .copy = NULL};
    words[1] = BIAS + F_MID + 0x50;
    words[2] = BIAS + F_START + 0x10;
    struct result r = unwind_from(BIAS + F_LEAF, (uintptr_t)words, 0, &live, NWORDS);
    cr_assert_eq(r.end, NSP_END_ROOT);
    cr_assert_eq(r.n, 3);
    live.hi = (uintptr_t)(words + 2);
    r = unwind_from(BIAS + F_LEAF, (uintptr_t)words, 0, &live, NWORDS);
    cr_assert_eq(r.end, NSP_END_STACK_END);
}

Test(steps, find_module)
{
    struct ns_unwind_module v[3] = {{0x1000, 0x2000, 0, 1, NULL, NULL},
                                    {0x3000, 0x4000, 0, 2, NULL, NULL},
                                    {0x4000, 0x5000, 0, 3, NULL, NULL}};
    struct ns_unwind_modules mods = {v, 3};
    uint64_t probes[] = {0,      0xfff,  0x1000, 0x1fff, 0x2000, 0x2fff,
                         0x3000, 0x3fff, 0x4000, 0x4fff, 0x5000, UINT64_MAX};
    uint32_t want[] = {0, 0, 1, 1, 0, 0, 2, 2, 3, 3, 0, 0};
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        const struct ns_unwind_module *m = ns_unwind_find_module(&mods, probes[i]);
        cr_expect_eq(m ? m->mapping_id : 0, want[i], "pc %#lx", (unsigned long)probes[i]);
    }
    struct ns_unwind_modules none = {v, 0};
    cr_assert_null(ns_unwind_find_module(&none, 0x1000));
}
