/*
 * cfi.c — compiles an object's .eh_frame into the sorted row table of cfi.h.
 *
 * Pipeline: .eh_frame_hdr gives .eh_frame and (normally) a sorted table of FDEs; without the
 * table, .eh_frame is walked linearly. The FDE list is sorted by start pc, then each FDE's CIE
 * initial instructions and its own instructions are interpreted into rows. An FDE's rows go
 * to a scratch area past the committed rows first and are committed only if the whole FDE
 * parsed: a malformed FDE leaves no trace. Committing merges identical neighbours and lets a
 * later FDE cut the tail of an earlier one it overlaps (only broken objects overlap).
 *
 * Only what x86-64 unwinding needs is kept: the CFA, the return address (DWARF column 16) and
 * rbp (6). Rules for rsp (7) are checked for consistency with the CFA (the signal trampoline
 * restores rsp from the same slot its CFA expression reads); other registers are ignored.
 *
 * Every read of object memory goes through a cursor (cfi_read.h) bounded by the end of the
 * segment (or of the CIE/FDE record) it lies in. Memory comes from mmap/mremap only: this runs
 * inside arbitrary programs, possibly from a malloc interposer or a dlopen hook.
 *
 * DWARF64 records (length escape 0xffffffff) carry an 8-byte CIE id / CIE pointer, as
 * libunwind reads them.
 */
#include "cfi.h"

#include <dwarf.h> /* DW_CFA_*, DW_OP_*, DW_EH_PE_* (elfutils' header; no libdw link) */
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>

#include "../sysmem.h"
#include "cfi_read.h"

enum { REG_BP = 6, REG_SP = 7, REG_RA = 16 };
enum { STATE_STACK_MAX = 16 };

/* ---- CIE and FDE records ----------------------------------------------------------------- */

struct record {
    const uint8_t *body; /* after the CIE id / CIE pointer */
    const uint8_t *end;
    uintptr_t cie; /* FDE: address of its CIE; 0 for a CIE */
    bool terminator;
};

static bool read_record(const struct object *o, uintptr_t addr, struct record *r)
{
    struct cursor c;
    if (!cursor_at(o, addr, &c))
        return false;
    uint64_t len = read_fixed(&c, 4);
    bool dwarf64 = len == 0xffffffff;
    if (dwarf64)
        len = read_fixed(&c, 8);
    else if (len >= 0xfffffff0)
        return false;
    *r = (struct record){.terminator = len == 0};
    if (c.bad || r->terminator)
        return !c.bad;
    if (len > (uint64_t)(c.end - c.p))
        return false;
    r->end = c.p + len;
    c.end = r->end;
    uintptr_t id_field = (uintptr_t)c.p;
    uint64_t id = read_fixed(&c, dwarf64 ? 8 : 4);
    if (c.bad || (id != 0 && id > id_field))
        return false;
    r->cie = id ? id_field - id : 0;
    r->body = c.p;
    return true;
}

struct cie {
    uintptr_t addr; /* cache key; 0 when empty */
    bool ok;
    bool has_z, signal_frame;
    uint8_t fde_enc;
    uint64_t code_align;
    int64_t data_align;
    const uint8_t *insns, *insns_end;
};

/* The augmentation data, in augmentation-string order; 'z' is required for anything. */
static bool parse_augmentation(struct cursor *c, const char *aug, size_t n, struct cie *cie)
{
    if (n == 0)
        return true;
    if (aug[0] != 'z')
        return false;
    cie->has_z = true;
    uint64_t len = read_uleb(c);
    if (c->bad || len > (uint64_t)(c->end - c->p))
        return false;
    struct cursor data = {c->p, c->p + len, false};
    c->p += len;
    for (size_t i = 1; i < n; i++) {
        switch (aug[i]) {
        case 'R':
            cie->fde_enc = read_u8(&data);
            break;
        case 'P': /* the personality routine: only its size matters */
            skip_pointer(&data, read_u8(&data));
            break;
        case 'L':
            read_u8(&data);
            break;
        case 'S':
            cie->signal_frame = true;
            break;
        default:
            return false;
        }
    }
    return !data.bad;
}

static bool parse_cie(const struct object *o, uintptr_t addr, struct cie *cie)
{
    struct record r;
    *cie = (struct cie){.addr = addr};
    if (!read_record(o, addr, &r) || r.terminator || r.cie != 0)
        return false;
    struct cursor c = {r.body, r.end, false};
    uint8_t version = read_u8(&c);
    if (version != 1 && version != 3 && version != 4)
        return false;
    const char *aug = (const char *)c.p;
    size_t aug_len = 0;
    while (read_u8(&c) != 0 && !c.bad)
        aug_len++;
    if (version == 4 && (read_u8(&c) != 8 || read_u8(&c) != 0))
        return false; /* address size, segment selector size */
    cie->code_align = read_uleb(&c);
    cie->data_align = read_sleb(&c);
    uint64_t ra = version == 1 ? read_u8(&c) : read_uleb(&c);
    if (c.bad || ra != REG_RA || !parse_augmentation(&c, aug, aug_len, cie))
        return false;
    cie->insns = c.p;
    cie->insns_end = r.end;
    cie->ok = true;
    return true;
}

struct fde {
    const struct cie *cie;
    uint64_t pc_begin, pc_end; /* run-time addresses */
    const uint8_t *insns, *insns_end;
};

static bool parse_fde(const struct object *o, uintptr_t addr, struct cie *cache, struct fde *f)
{
    struct record r;
    if (!read_record(o, addr, &r) || r.terminator || r.cie == 0)
        return false;
    if (cache->addr != r.cie)
        parse_cie(o, r.cie, cache);
    if (!cache->ok)
        return false;
    struct cursor c = {r.body, r.end, false};
    f->cie = cache;
    f->pc_begin = read_pointer(&c, cache->fde_enc, 0);
    uint64_t range = read_pe_value(&c, cache->fde_enc);
    if (cache->has_z) {
        uint64_t len = read_uleb(&c);
        if (len > (uint64_t)(c.end - c.p))
            return false;
        c.p += len;
    }
    f->pc_end = f->pc_begin + range;
    f->insns = c.p;
    f->insns_end = r.end;
    return !c.bad && range != 0 && f->pc_end > f->pc_begin;
}

/* ---- growable mmap arrays ---------------------------------------------------------------- */

struct vec {
    uint8_t *p;
    size_t cap; /* bytes mapped */
};

static bool vec_reserve(struct vec *v, size_t bytes)
{
    if (bytes <= v->cap)
        return true;
    size_t cap = v->cap ? v->cap : 64 * 1024;
    while (cap < bytes)
        cap *= 2;
    void *p =
        v->p ? ns_sys_mremap(v->p, v->cap, cap, MREMAP_MAYMOVE)
             : ns_sys_mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return false;
    v->p = p;
    v->cap = cap;
    return true;
}

static void vec_free(struct vec *v)
{
    if (v->p)
        ns_sys_munmap(v->p, v->cap);
    v->p = NULL;
    v->cap = 0;
}

/* ---- rows: the interpreter's state and its conversion to table rows ----------------------- */

enum { RULE_CFA = 0xff }; /* rsp's default: the caller's rsp is the CFA */
enum { NO_REG = 0xff };   /* the CFA is an expression, not register + offset */

struct rule {
    uint8_t kind; /* enum ns_reg_rule, or RULE_CFA */
    int64_t off;
};

struct state {
    uint8_t cfa_rule; /* enum ns_cfa_rule */
    uint8_t cfa_reg, plt_threshold;
    int64_t cfa_off;
    struct rule ra, bp, sp;
};

static const struct state default_state = {
    .cfa_rule = NS_CFA_UNSUPPORTED,
    .cfa_reg = NO_REG,
    .ra = {NS_REG_UNSUPPORTED, 0},
    .bp = {NS_REG_SAME, 0},
    .sp = {RULE_CFA, 0},
};

static bool fits32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

static uint8_t cfa_rule_of(const struct state *s)
{
    /* A rule for rsp other than "the CFA" is only consistent when it reads the same slot as
     * the CFA expression (glibc's __restore_rt). */
    bool sp_ok =
        s->sp.kind == RULE_CFA ||
        (s->sp.kind == NS_REG_SP_EXPR && s->cfa_rule == NS_CFA_DEREF_SP && s->sp.off == s->cfa_off);
    return sp_ok && fits32(s->cfa_off) ? s->cfa_rule : NS_CFA_UNSUPPORTED;
}

static uint8_t reg_rule_of(struct rule r, bool is_ra, int32_t *off)
{
    *off = 0;
    switch (r.kind) {
    case NS_REG_CFA_OFF:
    case NS_REG_SP_EXPR:
    case NS_REG_BP_EXPR:
        if (!fits32(r.off))
            return NS_REG_UNSUPPORTED;
        *off = (int32_t)r.off;
        return r.kind;
    case NS_REG_SAME:
        return is_ra ? NS_REG_UNSUPPORTED : NS_REG_SAME;
    case NS_REG_UNDEFINED:
        return NS_REG_UNDEFINED;
    default:
        return NS_REG_UNSUPPORTED;
    }
}

static struct ns_cfi_row row_of(const struct state *s, uint64_t pc, bool signal_frame)
{
    struct ns_cfi_row row = {.pc = pc, .signal_frame = signal_frame};
    row.cfa_rule = cfa_rule_of(s);
    if (row.cfa_rule != NS_CFA_UNSUPPORTED) {
        row.cfa_off = (int32_t)s->cfa_off;
        if (row.cfa_rule == NS_CFA_PLT)
            row.plt_threshold = s->plt_threshold;
    }
    row.ra_rule = reg_rule_of(s->ra, true, &row.ra_off);
    row.bp_rule = reg_rule_of(s->bp, false, &row.bp_off);
    return row;
}

static bool same_rules(const struct ns_cfi_row *a, const struct ns_cfi_row *b)
{
    return a->cfa_rule == b->cfa_rule && a->cfa_off == b->cfa_off && a->ra_rule == b->ra_rule &&
           a->ra_off == b->ra_off && a->bp_rule == b->bp_rule && a->bp_off == b->bp_off &&
           a->signal_frame == b->signal_frame && a->plt_threshold == b->plt_threshold;
}

/* ---- the table under construction -------------------------------------------------------- */

struct builder {
    struct vec mem; /* struct ns_cfi_table followed by rows */
    size_t committed, scratch;
    bool oom;
};

static struct ns_cfi_table *table_of(struct builder *b)
{
    return (struct ns_cfi_table *)b->mem.p;
}

static void push_scratch(struct builder *b, struct ns_cfi_row row)
{
    size_t need =
        sizeof(struct ns_cfi_table) + (b->committed + b->scratch + 1) * sizeof(struct ns_cfi_row);
    if (!vec_reserve(&b->mem, need)) {
        b->oom = true;
        return;
    }
    table_of(b)->rows[b->committed + b->scratch++] = row;
}

/* Moves the scratch rows (one FDE's, increasing pcs) behind the committed ones, in place. */
static void commit_scratch(struct builder *b)
{
    struct ns_cfi_row *rows = table_of(b)->rows;
    size_t n = b->committed, from = b->committed, to = from + b->scratch;
    for (size_t i = from; i < to; i++) {
        while (n > 0 && rows[n - 1].pc >= rows[i].pc)
            n--;
        if (n > 0 && same_rules(&rows[n - 1], &rows[i]))
            continue;
        rows[n++] = rows[i];
    }
    b->committed = n;
    b->scratch = 0;
}

/* ---- the CFA program interpreter --------------------------------------------------------- */

struct interp {
    const struct object *o;
    const struct cie *cie;
    struct state st;
    const struct state *initial; /* after the CIE's instructions; NULL while running them */
    struct state stack[STATE_STACK_MAX];
    int depth;
    uint64_t loc, end; /* ELF vaddrs; rows are emitted only while running an FDE */
    struct builder *b;
};

static struct rule *rule_for(struct state *s, uint64_t reg)
{
    return reg == REG_RA ? &s->ra : reg == REG_BP ? &s->bp : reg == REG_SP ? &s->sp : NULL;
}

static void set_rule(struct interp *in, uint64_t reg, uint8_t kind, int64_t off)
{
    struct rule *r = rule_for(&in->st, reg);
    if (r)
        *r = (struct rule){kind, off};
}

static void restore_rule(struct interp *in, uint64_t reg)
{
    struct rule *r = rule_for(&in->st, reg);
    const struct state *from = in->initial ? in->initial : &default_state;
    if (r)
        *r = *rule_for((struct state *)from, reg);
}

/* Rows are emitted when the location moves, for the range just left. */
static bool advance_to(struct interp *in, uint64_t loc)
{
    if (!in->b || loc < in->loc)
        return false; /* no advancing in a CIE; no going backwards */
    if (in->loc >= in->end || loc == in->loc)
        return true;
    push_scratch(in->b, row_of(&in->st, in->loc, in->cie->signal_frame));
    in->loc = loc < in->end ? loc : in->end;
    return true;
}

static bool advance_by(struct interp *in, uint64_t delta)
{
    uint64_t bytes;
    if (__builtin_mul_overflow(delta, in->cie->code_align, &bytes) || in->loc + bytes < in->loc)
        return false;
    return advance_to(in, in->loc + bytes);
}

/* Reads a factored operand (an uleb or sleb times a code/data alignment factor). */
static bool factored(struct cursor *c, bool is_signed, int64_t factor, int64_t *out)
{
    uint64_t v = is_signed ? (uint64_t)read_sleb(c) : read_uleb(c);
    if (!is_signed && v > INT64_MAX)
        return false;
    return !__builtin_mul_overflow((int64_t)v, factor, out);
}

/* DW_OP_bregN k at the cursor: returns N (or -1) and stores k. */
static int read_breg(struct cursor *c, int64_t *k)
{
    uint8_t op = read_u8(c);
    if (op < DW_OP_breg0 || op > DW_OP_breg31)
        return -1;
    *k = read_sleb(c);
    return c->bad ? -1 : op - DW_OP_breg0;
}

static bool expect_ops(struct cursor *c, const uint8_t *ops, size_t n)
{
    const uint8_t *at = take(c, n);
    return at && memcmp(at, ops, n) == 0;
}

/* The PLT expression after its leading DW_OP_breg7 k. */
static bool match_plt(struct cursor *c, uint8_t *threshold)
{
    static const uint8_t head[] = {DW_OP_breg0 + REG_RA, 0, DW_OP_lit15, DW_OP_and};
    static const uint8_t tail[] = {DW_OP_ge, DW_OP_lit3, DW_OP_shl, DW_OP_plus};
    if (!expect_ops(c, head, sizeof head))
        return false;
    uint8_t lit = read_u8(c);
    if (lit < DW_OP_lit0 || lit > DW_OP_lit15 || !expect_ops(c, tail, sizeof tail))
        return false;
    *threshold = lit - DW_OP_lit0;
    return c->p == c->end;
}

static void def_cfa_expression(struct state *s, struct cursor expr)
{
    int64_t k = 0;
    int reg = read_breg(&expr, &k);
    s->cfa_rule = NS_CFA_UNSUPPORTED;
    s->cfa_reg = NO_REG;
    s->cfa_off = k;
    if (reg != REG_SP && reg != REG_BP)
        return;
    struct cursor rest = expr;
    if (read_u8(&rest) == DW_OP_deref && rest.p == rest.end && !rest.bad)
        s->cfa_rule = reg == REG_SP ? NS_CFA_DEREF_SP : NS_CFA_DEREF_BP;
    else if (reg == REG_SP && match_plt(&expr, &s->plt_threshold))
        s->cfa_rule = NS_CFA_PLT;
}

static void reg_expression(struct interp *in, uint64_t reg, struct cursor expr)
{
    int64_t k = 0;
    int base = read_breg(&expr, &k);
    if (expr.p == expr.end && base == REG_SP)
        set_rule(in, reg, NS_REG_SP_EXPR, k);
    else if (expr.p == expr.end && base == REG_BP)
        set_rule(in, reg, NS_REG_BP_EXPR, k);
    else
        set_rule(in, reg, NS_REG_UNSUPPORTED, 0);
}

static void set_cfa_reg(struct state *s, uint64_t reg)
{
    s->cfa_reg = reg < NO_REG ? (uint8_t)reg : NO_REG;
    s->cfa_rule = reg == REG_SP   ? NS_CFA_SP_OFF
                  : reg == REG_BP ? NS_CFA_BP_OFF
                                  : NS_CFA_UNSUPPORTED;
}

static bool set_cfa_offset(struct state *s, struct cursor *c, bool is_signed, int64_t factor)
{
    if (s->cfa_reg == NO_REG) /* an offset for an expression is meaningless */
        s->cfa_rule = NS_CFA_UNSUPPORTED;
    return factored(c, is_signed, factor, &s->cfa_off);
}

static bool remember(struct interp *in, bool push)
{
    if (push) {
        if (in->depth == STATE_STACK_MAX)
            return false;
        in->stack[in->depth++] = in->st;
    } else {
        if (in->depth == 0)
            return false;
        in->st = in->stack[--in->depth];
    }
    return true;
}

/* Operations whose first operand is a register. */
static bool exec_reg_op(struct interp *in, struct cursor *c, uint8_t op, uint64_t reg)
{
    int64_t daf = in->cie->data_align, off;
    switch (op) {
    case DW_CFA_offset:
    case DW_CFA_offset_extended:
    case DW_CFA_offset_extended_sf:
    case DW_CFA_GNU_negative_offset_extended:
        if (!factored(c, op == DW_CFA_offset_extended_sf,
                      op == DW_CFA_GNU_negative_offset_extended ? -daf : daf, &off))
            return false;
        set_rule(in, reg, NS_REG_CFA_OFF, off);
        return true;
    case DW_CFA_restore:
    case DW_CFA_restore_extended:
        restore_rule(in, reg);
        return true;
    case DW_CFA_undefined:
        set_rule(in, reg, reg == REG_SP ? RULE_CFA : NS_REG_UNDEFINED, 0);
        return true;
    case DW_CFA_same_value:
        set_rule(in, reg, reg == REG_SP ? NS_REG_UNSUPPORTED : NS_REG_SAME, 0);
        return true;
    case DW_CFA_register:
    case DW_CFA_val_offset:
    case DW_CFA_val_offset_sf: /* an sleb takes as many bytes as an uleb */
        read_uleb(c);
        set_rule(in, reg, NS_REG_UNSUPPORTED, 0);
        return true;
    case DW_CFA_val_expression:
        read_block(c);
        set_rule(in, reg, NS_REG_UNSUPPORTED, 0);
        return true;
    case DW_CFA_expression:
        reg_expression(in, reg, read_block(c));
        return true;
    case DW_CFA_def_cfa:
    case DW_CFA_def_cfa_sf:
        set_cfa_reg(&in->st, reg);
        return set_cfa_offset(&in->st, c, op == DW_CFA_def_cfa_sf, op == DW_CFA_def_cfa ? 1 : daf);
    case DW_CFA_def_cfa_register:
        if (in->st.cfa_reg != NO_REG)
            set_cfa_reg(&in->st, reg);
        else
            in->st.cfa_rule = NS_CFA_UNSUPPORTED;
        return true;
    default:
        return false;
    }
}

static bool exec_op(struct interp *in, struct cursor *c)
{
    uint8_t op = read_u8(c);
    switch (op & 0xc0) {
    case DW_CFA_advance_loc:
        return advance_by(in, op & 0x3f);
    case DW_CFA_offset:
    case DW_CFA_restore:
        return exec_reg_op(in, c, op & 0xc0, op & 0x3f);
    }
    switch (op) {
    case DW_CFA_nop:
        return true;
    case DW_CFA_set_loc:
        return advance_to(in, read_pointer(c, in->cie->fde_enc, 0) - in->o->bias);
    case DW_CFA_advance_loc1:
        return advance_by(in, read_fixed(c, 1));
    case DW_CFA_advance_loc2:
        return advance_by(in, read_fixed(c, 2));
    case DW_CFA_advance_loc4:
        return advance_by(in, read_fixed(c, 4));
    case DW_CFA_remember_state:
    case DW_CFA_restore_state:
        return remember(in, op == DW_CFA_remember_state);
    case DW_CFA_def_cfa_offset:
    case DW_CFA_def_cfa_offset_sf:
        return set_cfa_offset(&in->st, c, op == DW_CFA_def_cfa_offset_sf,
                              op == DW_CFA_def_cfa_offset ? 1 : in->cie->data_align);
    case DW_CFA_def_cfa_expression:
        def_cfa_expression(&in->st, read_block(c));
        return true;
    case DW_CFA_GNU_args_size:
        read_uleb(c);
        return true;
    default:
        if (op > DW_CFA_val_expression && op != DW_CFA_GNU_negative_offset_extended)
            return false; /* unknown operand layout: the rest cannot be decoded */
        return exec_reg_op(in, c, op, read_uleb(c));
    }
}

static bool run_program(struct interp *in, const uint8_t *p, const uint8_t *end)
{
    struct cursor c = {p, end, false};
    while (c.p < c.end && in->loc < in->end)
        if (!exec_op(in, &c) || c.bad || (in->b && in->b->oom))
            return false;
    return true;
}

static void compile_fde(const struct object *o, uintptr_t addr, struct cie *cache,
                        struct builder *b)
{
    struct fde f;
    if (!parse_fde(o, addr, cache, &f))
        return;
    struct interp in = {.o = o, .cie = f.cie, .st = default_state, .end = 1};
    if (!run_program(&in, f.cie->insns, f.cie->insns_end))
        return;
    struct state initial = in.st;
    in.initial = &initial;
    in.depth = 0;
    in.b = b;
    in.loc = f.pc_begin - o->bias;
    in.end = f.pc_end - o->bias;
    bool ok = in.end > in.loc && run_program(&in, f.insns, f.insns_end);
    if (ok && in.loc < in.end)
        push_scratch(b, row_of(&in.st, in.loc, f.cie->signal_frame));
    if (ok)
        push_scratch(b, (struct ns_cfi_row){.pc = in.end, .cfa_rule = NS_CFA_NONE});
    if (ok && !b->oom)
        commit_scratch(b);
    b->scratch = 0;
}

/* ---- the FDE list ---------------------------------------------------------------------- */

struct fde_ref {
    uint64_t pc; /* run-time start, the sort key */
    uintptr_t addr;
};

static bool push_ref(struct vec *v, size_t *n, uint64_t pc, uintptr_t addr)
{
    if (!vec_reserve(v, (*n + 1) * sizeof(struct fde_ref)))
        return false;
    ((struct fde_ref *)v->p)[(*n)++] = (struct fde_ref){pc, addr};
    return true;
}

/* The binary-search table of .eh_frame_hdr; false if absent or unusable. */
static bool list_from_table(const struct object *o, struct cursor *c, uint8_t count_enc,
                            uint8_t table_enc, struct vec *v, size_t *n)
{
    if (count_enc == DW_EH_PE_omit || table_enc == DW_EH_PE_omit)
        return false;
    uint64_t count = read_pointer(c, count_enc, o->hdr);
    if (c->bad || count == 0 || count > (uint64_t)(c->end - c->p) / 2)
        return false; /* each entry takes at least two bytes */
    for (uint64_t i = 0; i < count; i++) {
        uint64_t pc = read_pointer(c, table_enc, o->hdr);
        uint64_t fde = read_pointer(c, table_enc, o->hdr);
        if (c->bad || !push_ref(v, n, pc, fde))
            return false;
    }
    return true;
}

/* Without a table: walk .eh_frame up to its zero terminator or the first malformed record. */
static bool list_from_walk(const struct object *o, uintptr_t eh_frame, struct vec *v, size_t *n)
{
    struct cie cache = {0};
    struct record r;
    for (uintptr_t at = eh_frame; read_record(o, at, &r) && !r.terminator; at = (uintptr_t)r.end) {
        struct fde f;
        if (r.cie != 0 && parse_fde(o, at, &cache, &f) && !push_ref(v, n, f.pc_begin, at))
            return false;
    }
    return true;
}

static void sift_down(struct fde_ref *a, size_t root, size_t n)
{
    for (size_t child; (child = 2 * root + 1) < n; root = child) {
        if (child + 1 < n && a[child + 1].pc > a[child].pc)
            child++;
        if (a[root].pc >= a[child].pc)
            return;
        struct fde_ref t = a[root];
        a[root] = a[child];
        a[child] = t;
    }
}

/* Heapsort: qsort may call malloc. Tables from ld are already sorted; this is the fallback. */
static void sort_refs(struct fde_ref *a, size_t n)
{
    size_t i = 1;
    while (i < n && a[i - 1].pc <= a[i].pc)
        i++;
    if (i >= n)
        return;
    for (size_t k = n / 2; k-- > 0;)
        sift_down(a, k, n);
    for (size_t end = n - 1; end > 0; end--) {
        struct fde_ref t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
}

/* ---- public API ---------------------------------------------------------------------------- */

/* About one bucket per row: a lookup reads one index entry and searches a row or two. */
static void build_index(struct ns_cfi_table *t)
{
    uint64_t span = t->rows[t->nrows - 1].pc - t->rows[0].pc;
    uint32_t shift = 4;
    while (shift < 63 && (span >> shift) >= t->nrows) /* nrows >= 2: ends by shift 63 */
        shift++;
    uint32_t *index = (uint32_t *)(t->rows + t->nrows);
    t->index_base = t->rows[0].pc;
    t->index_shift = shift;
    t->index_len = (uint32_t)(span >> shift) + 1;
    size_t row = 0;
    for (uint32_t b = 0; b < t->index_len; b++) {
        uint64_t start = t->index_base + ((uint64_t)b << shift);
        while (row + 1 < t->nrows && t->rows[row + 1].pc <= start)
            row++;
        index[b] = (uint32_t)row;
    }
}

static struct ns_cfi_table *finish(struct builder *b)
{
    size_t rows_end = sizeof(struct ns_cfi_table) + b->committed * sizeof(struct ns_cfi_row);
    /* the index has at most one entry per row (build_index) */
    size_t bytes = rows_end + b->committed * sizeof(uint32_t);
    if (b->oom || b->committed == 0 || b->committed > UINT32_MAX || !vec_reserve(&b->mem, bytes)) {
        vec_free(&b->mem);
        return NULL;
    }
    size_t page = 4096, len = (bytes + page - 1) & ~(page - 1);
    if (len < b->mem.cap && ns_sys_mremap(b->mem.p, b->mem.cap, len, 0) != MAP_FAILED)
        b->mem.cap = len;
    struct ns_cfi_table *t = table_of(b);
    t->nrows = b->committed;
    t->map_len = b->mem.cap;
    build_index(t);
    return t;
}

struct ns_cfi_table *ns_cfi_build_from_memory(uintptr_t bias, uintptr_t eh_frame_hdr,
                                              const struct ns_cfi_segment *segs, size_t nsegs)
{
    struct object o = {bias, segs, nsegs, eh_frame_hdr};
    struct cursor c;
    if (!cursor_at(&o, eh_frame_hdr, &c) || read_u8(&c) != 1)
        return NULL;
    uint8_t ptr_enc = read_u8(&c), count_enc = read_u8(&c), table_enc = read_u8(&c);
    uintptr_t eh_frame = read_pointer(&c, ptr_enc, eh_frame_hdr);
    if (c.bad)
        return NULL;
    struct vec refs = {0};
    size_t n = 0;
    bool listed = list_from_table(&o, &c, count_enc, table_enc, &refs, &n);
    if (!listed) {
        n = 0;
        listed = list_from_walk(&o, eh_frame, &refs, &n);
    }
    struct builder b = {0};
    if (listed && n > 0) {
        struct fde_ref *a = (struct fde_ref *)refs.p;
        struct cie cache = {0};
        sort_refs(a, n);
        for (size_t i = 0; i < n && !b.oom; i++)
            compile_fde(&o, a[i].addr, &cache, &b);
    }
    vec_free(&refs);
    return finish(&b);
}

const struct ns_cfi_row *ns_cfi_find(const struct ns_cfi_table *t, uint64_t pc)
{
    if (!t || t->nrows == 0 || pc < t->rows[0].pc || pc >= t->rows[t->nrows - 1].pc)
        return NULL; /* the last row is always a closing NONE */
    const struct ns_cfi_row *base = t->rows;
    size_t n = t->nrows;
    if (t->index_len) {
        const uint32_t *index = (const uint32_t *)(t->rows + t->nrows);
        uint64_t b = (pc - t->index_base) >> t->index_shift;
        size_t lo = index[b], hi = b + 1 < t->index_len ? index[b + 1] : t->nrows - 1;
        base = t->rows + lo;
        n = hi - lo + 1;
    }
    /* Branch-free binary search for the last row with pc <= the given pc: the comparisons
     * are unpredictable, and a conditional move is cheaper than a mispredicted branch. */
    for (; n > 1; n -= n / 2)
        base = base[n / 2].pc <= pc ? base + n / 2 : base;
    return base->cfa_rule == NS_CFA_NONE ? NULL : base;
}

void ns_cfi_free(struct ns_cfi_table *t)
{
    if (t)
        ns_sys_munmap(t, t->map_len);
}
