/*
 * cfi — prebuilt unwind tables for one loaded ELF object, compiled from the DWARF call
 * frame information of its .eh_frame (found through PT_GNU_EH_FRAME / .eh_frame_hdr) as it
 * lies in this process's memory.
 *
 * Why prebuilt: a sample's unwind (in a signal handler, or in the writer thread over a
 * copied stack) must not parse DWARF, allocate, lock or call into the loader. So every FDE's
 * CFA program is interpreted once, outside any signal context, into a sorted array of rows,
 * one per address range with a constant rule; an unwind step is then a binary search and a
 * few bounds-checked loads (tens of ns).
 *
 * Contract:
 *  - ns_cfi_build_* may allocate (mmap only, never malloc: it runs inside other programs,
 *    including from a dlopen hook) and must be called outside signal handlers.
 *  - A built table is immutable and position independent: pcs are ELF virtual addresses
 *    (run-time address minus the load bias), so one table serves every load of the object.
 *  - ns_cfi_find is async-signal-safe, lock-free and allocation-free.
 *  - Reads of the object's memory while building are bounds-checked against the segments
 *    given; a malformed .eh_frame yields a table with fewer rows, never a crash.
 */
#ifndef NS_CFI_H
#define NS_CFI_H

#include <stddef.h>
#include <stdint.h>

/* How the canonical frame address (CFA: the caller's stack pointer) is found. */
enum ns_cfa_rule {
    NS_CFA_NONE = 0,    /* no CFI covers this pc */
    NS_CFA_SP_OFF,      /* CFA = rsp + off */
    NS_CFA_BP_OFF,      /* CFA = rbp + off */
    NS_CFA_DEREF_SP,    /* CFA = *(rsp + off)   (signal trampoline: uc_mcontext.rsp) */
    NS_CFA_DEREF_BP,    /* CFA = *(rbp + off)   (gcc's stack realignment: DW_OP_breg6; deref) */
    NS_CFA_PLT,         /* CFA = rsp + off + ((pc & 15) >= plt_threshold ? 8 : 0)   (lazy PLT:
                           ld emits threshold 11 for .plt, 9 for the IBT .plt of -z ibtplt) */
    NS_CFA_UNSUPPORTED, /* an expression the unwinder does not evaluate */
};

/* Where a register of the caller (return address, rbp) is found. */
enum ns_reg_rule {
    NS_REG_SAME = 0,    /* unchanged (rbp only; for the return address it is unsupported) */
    NS_REG_CFA_OFF,     /* saved at *(CFA + off) */
    NS_REG_SP_EXPR,     /* saved at *(rsp + off)   (DW_CFA_expression DW_OP_breg7 off) */
    NS_REG_BP_EXPR,     /* saved at *(rbp + off)   (DW_CFA_expression DW_OP_breg6 off) */
    NS_REG_UNDEFINED,   /* return address: this is the outermost frame; rbp: unknown */
    NS_REG_UNSUPPORTED, /* return address: stop (bad_cfi); rbp: the caller's rbp is unknown,
                           which only matters if a caller's CFA rule needs it */
};

struct ns_cfi_row {
    uint64_t pc; /* first ELF vaddr the row covers; it covers up to the next row's pc */
    int32_t cfa_off;
    int32_t ra_off;
    int32_t bp_off;
    uint8_t cfa_rule;          /* enum ns_cfa_rule */
    uint8_t ra_rule;           /* enum ns_reg_rule */
    uint8_t bp_rule;           /* enum ns_reg_rule */
    uint8_t signal_frame : 1;  /* CIE augmentation 'S': the caller's pc is exact, not a return
                                  address */
    uint8_t plt_threshold : 4; /* NS_CFA_PLT only */
};

struct ns_cfi_table {
    size_t nrows;
    size_t map_len; /* bytes of the mmap holding this table */
    /* A bucket index after the rows narrows the binary search to a row or two:
     * index[b] = the last row with pc <= index_base + (b << index_shift). index_len 0: none
     * (ns_cfi_find then searches all rows, e.g. in a hand-made table). */
    uint64_t index_base;
    uint32_t index_shift, index_len;
    struct ns_cfi_row rows[]; /* sorted by pc, strictly increasing */
};

/* One PT_LOAD segment of the object in this process: [start, start + len) is readable. */
struct ns_cfi_segment {
    uintptr_t start;
    size_t len;
};

/*
 * Builds the table of an object loaded at `bias` whose PT_GNU_EH_FRAME segment starts at
 * run-time address eh_frame_hdr. segs lists the object's loaded segments (for bounds).
 * Returns NULL when there is no usable CFI or on out-of-memory.
 */
struct ns_cfi_table *ns_cfi_build_from_memory(uintptr_t bias, uintptr_t eh_frame_hdr,
                                              const struct ns_cfi_segment *segs, size_t nsegs);

/* Row covering ELF vaddr `pc`, or NULL (pc before the first row or in a NS_CFA_NONE gap). */
const struct ns_cfi_row *ns_cfi_find(const struct ns_cfi_table *t, uint64_t pc);

void ns_cfi_free(struct ns_cfi_table *t);

#endif
