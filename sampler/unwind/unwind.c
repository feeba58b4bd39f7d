/*
 * unwind.c — one CFI step per frame over prebuilt tables (cfi.h).
 *
 * A step: find the module of the pc (binary search), its row (binary search), compute the
 * CFA from rsp or rbp, load the return address and the caller's rbp through the bounds-checked
 * loader, check the frame, move up. Nothing here allocates, locks or calls out, so the same
 * code serves a signal handler on the live stack and the writer thread on a perf stack copy.
 *
 * Termination: every iteration writes one frame and there are at most `max`; within a run of
 * ordinary frames the CFA must strictly grow. Only a signal frame may move rsp anywhere
 * (sigreturn restores the interrupted rsp, below the handler's frames on an alternate stack
 * or wherever the kernel put the frame); the bounds check of every load still applies.
 *
 * rbp: the caller's rbp is only needed by frames whose CFA or saved registers are rbp-based
 * (gcc's stack realignment, frame-pointer code). When a row says rbp cannot be recovered the
 * walk goes on with rbp unknown and stops with bad_cfi only if a later frame needs it.
 */
#include "unwind.h"

#include <stdbool.h>

struct walker {
    uint64_t ip, sp, bp;
    bool bp_known;
    bool bp_initial;  /* bp is still the register the walk started with */
    uint64_t bp_addr; /* else the stack word it was loaded from (logged only if used) */
    bool exact;       /* ip is the interrupted pc itself (leaf, or just after a signal frame) */
};

const struct ns_unwind_module *ns_unwind_find_module(const struct ns_unwind_modules *mods,
                                                     uint64_t pc)
{
    size_t lo = 0, hi = mods->n;
    while (lo < hi) { /* first module with lo > pc */
        size_t mid = lo + (hi - lo) / 2;
        if (mods->v[mid].lo <= pc)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || pc >= mods->v[lo - 1].hi)
        return NULL;
    return &mods->v[lo - 1];
}

static void log_word(struct ns_load_log *log, uint64_t addr, uint64_t value)
{
    if (log->n < log->max) {
        log->words[log->n][0] = addr;
        log->words[log->n++][1] = value;
    } else {
        log->overflow = 1;
    }
}

/* A saved rbp is logged when a frame uses it, not when it is loaded: in code built without
 * frame pointers rbp is an ordinary register, often a loop counter, which would make every
 * unwind look different. */
static void note_bp_use(const struct walker *w, const struct ns_stack_mem *mem)
{
    if (!mem->log)
        return;
    if (w->bp_initial)
        mem->log->used_bp = 1;
    else
        log_word(mem->log, w->bp_addr, w->bp);
}

static bool load_quiet(const struct ns_stack_mem *mem, uint64_t addr, uint64_t *out)
{
    if (addr < mem->lo || addr >= mem->hi || mem->hi - addr < sizeof *out)
        return false;
    const void *src =
        mem->copy ? (const void *)(mem->copy + (addr - mem->lo)) : (const void *)(uintptr_t)addr;
    __builtin_memcpy(out, src, sizeof *out); /* may be unaligned in a copy */
    return true;
}

static bool load(const struct ns_stack_mem *mem, uint64_t addr, uint64_t *out)
{
    if (!load_quiet(mem, addr, out))
        return false;
    if (mem->log)
        log_word(mem->log, addr, *out);
    return true;
}

/* Address of a register saved by rule (base + off); an NSP_END_* or -1 when known. */
static int saved_reg_addr(const struct walker *w, const struct ns_stack_mem *mem, uint8_t rule,
                          int32_t off, uint64_t cfa, uint64_t *addr)
{
    uint64_t base;
    switch (rule) {
    case NS_REG_CFA_OFF:
        base = cfa;
        break;
    case NS_REG_SP_EXPR:
        base = w->sp;
        break;
    case NS_REG_BP_EXPR:
        if (!w->bp_known)
            return NSP_END_BAD_CFI;
        note_bp_use(w, mem);
        base = w->bp;
        break;
    default:
        return NSP_END_BAD_CFI;
    }
    *addr = base + (uint64_t)(int64_t)off;
    return -1;
}

static int saved_reg(const struct walker *w, const struct ns_stack_mem *mem, uint8_t rule,
                     int32_t off, uint64_t cfa, uint64_t *out)
{
    uint64_t addr;
    int end = saved_reg_addr(w, mem, rule, off, cfa, &addr);
    if (end >= 0)
        return end;
    return load(mem, addr, out) ? -1 : NSP_END_STACK_END;
}

/*
 * The caller's rbp. gcc describes epilogues by the CFA alone: after `pop %rbp` the rule
 * still names the slot, which now lies below rsp — the register already holds the
 * restored value, and a copied stack (which starts at rsp) does not even contain the slot.
 * A slot that cannot be read leaves rbp unknown rather than ending the walk: only frames
 * whose CFA depends on rbp need it.
 */
static void restore_bp(const struct walker *w, const struct ns_stack_mem *mem,
                       const struct ns_cfi_row *row, uint64_t cfa, struct walker *caller)
{
    uint64_t addr;
    caller->bp = w->bp;
    caller->bp_known = w->bp_known;
    caller->bp_initial = w->bp_initial;
    caller->bp_addr = w->bp_addr;
    if (row->bp_rule == NS_REG_SAME)
        return;
    if (row->bp_rule == NS_REG_UNDEFINED || row->bp_rule == NS_REG_UNSUPPORTED ||
        saved_reg_addr(w, mem, row->bp_rule, row->bp_off, cfa, &addr) >= 0) {
        caller->bp_known = false;
        return;
    }
    if (addr < w->sp)
        return; /* already popped: the register is current */
    caller->bp_known = load_quiet(mem, addr, &caller->bp);
    caller->bp_initial = false;
    caller->bp_addr = addr;
}

static int compute_cfa(const struct walker *w, const struct ns_stack_mem *mem,
                       const struct ns_cfi_row *row, uint64_t pc, uint64_t *cfa)
{
    uint64_t off = (uint64_t)(int64_t)row->cfa_off;
    bool needs_bp = row->cfa_rule == NS_CFA_BP_OFF || row->cfa_rule == NS_CFA_DEREF_BP;
    if (needs_bp && !w->bp_known)
        return NSP_END_BAD_CFI;
    if (needs_bp)
        note_bp_use(w, mem);
    switch (row->cfa_rule) {
    case NS_CFA_SP_OFF:
        *cfa = w->sp + off;
        return -1;
    case NS_CFA_BP_OFF:
        *cfa = w->bp + off;
        return -1;
    case NS_CFA_DEREF_SP:
        return load(mem, w->sp + off, cfa) ? -1 : NSP_END_STACK_END;
    case NS_CFA_DEREF_BP:
        return load(mem, w->bp + off, cfa) ? -1 : NSP_END_STACK_END;
    case NS_CFA_PLT: /* the lazy PLT entry has pushed one word once pc passed the push */
        *cfa = w->sp + off + ((pc & 15) >= row->plt_threshold ? 8 : 0);
        return -1;
    default:
        return NSP_END_BAD_CFI;
    }
}

/* Moves w to the caller of the frame whose row is `row`; an NSP_END_* or -1 to go on. */
static int step(struct walker *w, const struct ns_stack_mem *mem, const struct ns_cfi_row *row,
                uint64_t pc)
{
    uint64_t cfa, ra;
    struct walker caller;
    int end = compute_cfa(w, mem, row, pc, &cfa);
    if (end < 0)
        end = saved_reg(w, mem, row->ra_rule, row->ra_off, cfa, &ra);
    if (end >= 0)
        return end;
    restore_bp(w, mem, row, cfa, &caller);
    if (ra == 0 || (!row->signal_frame && cfa <= w->sp))
        return NSP_END_BAD_FRAME;
    caller.ip = ra;
    caller.sp = cfa;
    caller.exact = row->signal_frame;
    *w = caller;
    return -1;
}

static int walk(const struct ns_unwind_modules *mods, const struct ns_regs *regs,
                const struct ns_stack_mem *mem, struct ns_frame *out, int max, unsigned *end,
                bool leaf_exact)
{
    struct walker w = {regs->ip, regs->sp, regs->bp, true, true, 0, leaf_exact};
    const struct ns_unwind_module *m = NULL;
    int n = 0;
    int why = max <= 0 ? NSP_END_DEPTH : w.ip == 0 ? NSP_END_BAD_FRAME : -1;
    while (why < 0) {
        /* A return address is the instruction after the call, which may belong to the next
         * function (noreturn calls) or lie past the FDE: look up and report the call itself. */
        uint64_t pc = w.exact ? w.ip : w.ip - 1;
        if (!m || pc < m->lo || pc >= m->hi) /* callers are often in the same module */
            m = ns_unwind_find_module(mods, pc);
        uint64_t vaddr = m ? pc - m->bias : pc;
        out[n++] = (struct ns_frame){m ? m->mapping_id : 0, vaddr};
        const struct ns_cfi_table *t = NULL;
        if (m)
            t = m->cfi    ? m->cfi
                : m->cell ? __atomic_load_n(&m->cell->table, __ATOMIC_ACQUIRE)
                          : NULL;
        const struct ns_cfi_row *row = t ? ns_cfi_find(t, vaddr) : NULL;
        if (!m)
            why = NSP_END_NO_MODULE;
        else if (!row)
            why = NSP_END_NO_CFI;
        else if (row->ra_rule == NS_REG_UNDEFINED)
            why = NSP_END_ROOT;
        else if (n == max)
            why = NSP_END_DEPTH;
        else
            why = step(&w, mem, row, vaddr);
    }
    *end = (unsigned)why;
    return n;
}

int ns_unwind(const struct ns_unwind_modules *mods, const struct ns_regs *regs,
              const struct ns_stack_mem *mem, struct ns_frame *out, int max, unsigned *end)
{
    return walk(mods, regs, mem, out, max, end, true);
}

int ns_unwind_caller(const struct ns_unwind_modules *mods, const struct ns_regs *regs,
                     const struct ns_stack_mem *mem, struct ns_frame *out, int max, unsigned *end)
{
    return walk(mods, regs, mem, out, max, end, false);
}
