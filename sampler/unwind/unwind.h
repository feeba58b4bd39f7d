/*
 * unwind — walks a thread's user stack with prebuilt CFI tables (cfi.h), from a register
 * set, over either the live stack or a copy of its top (perf's PERF_SAMPLE_STACK_USER).
 *
 * One unwinder serves the signal-handler path (live stack), the writer thread (copied
 * stacks from the perf ring) and allocation stacks. Frame pointers are never trusted:
 * programs built without them (all of Debian) unwind the same as with them.
 *
 * Contract: ns_unwind is async-signal-safe, lock-free, allocation-free and never reads
 * memory outside [mem->lo, mem->hi); it terminates (the CFA must strictly grow).
 */
#ifndef NS_UNWIND_H
#define NS_UNWIND_H

#include <stddef.h>
#include <stdint.h>

#include "cfi.h"
#include "../format/nsp_format.h"

/* A table built after the module list that refers to it was published (nsprof builds
 * tables lazily, for the modules samples really land in). Read with an acquire load. */
enum ns_cfi_state { NS_CFI_PENDING = 0, NS_CFI_READY, NS_CFI_NONE };
struct ns_cfi_cell {
    const struct ns_cfi_table *table; /* NULL until READY (and for NONE) */
    int state;                        /* enum ns_cfi_state */
};

/* A loaded executable segment and what unwinds and names addresses in it. */
struct ns_unwind_module {
    uintptr_t lo, hi; /* [lo, hi) run-time addresses */
    uintptr_t bias;   /* run-time address - ELF vaddr */
    uint32_t mapping_id;
    const struct ns_cfi_table *cfi; /* may be NULL: frames there end the unwind (no_cfi) */
    const struct ns_cfi_cell *cell; /* used when cfi is NULL: a table that may come later */
};

/* Sorted by lo, non-overlapping. */
struct ns_unwind_modules {
    const struct ns_unwind_module *v;
    size_t n;
};

struct ns_regs {
    uint64_t ip, sp, bp;
};

/*
 * What one unwind depended on besides the registers and the module snapshot: every word it
 * read (address, value) and whether it used the rbp it started with. The same registers over
 * the same words unwind the same way, which lets an interposer reuse a stack (capture.c).
 */
struct ns_load_log {
    uint64_t (*words)[2];
    uint32_t n, max;
    int overflow; /* more than max words were read */
    int used_bp;  /* the result depends on regs->bp */
};

/* The stack memory the unwinder may read: [lo, hi). copy == NULL reads live memory at
 * those addresses; otherwise address a is read from copy[a - lo]. log: NULL, or where to
 * record the reads. */
struct ns_stack_mem {
    uintptr_t lo, hi;
    const uint8_t *copy;
    struct ns_load_log *log;
};

struct ns_frame {
    uint32_t mapping_id; /* 0: address outside every module (addr is absolute) */
    uint64_t addr;       /* ELF vaddr; for callers the return address minus one */
};

const struct ns_unwind_module *ns_unwind_find_module(const struct ns_unwind_modules *mods,
                                                     uint64_t pc);

/*
 * Unwinds from regs, writing at most max frames (leaf first) to out. Returns the number
 * written (>= 1 when regs->ip != 0 and max > 0) and stores why it stopped in *end (enum
 * nsp_stack_end). The leaf's addr is regs->ip exactly; each caller's is its return address
 * minus one, except the frame interrupted by a signal (after a signal trampoline), which is
 * exact. Every frame examined is written, including the one where the walk stops.
 *
 * Stops: root (the return address is undefined: _start, a thread's clone3), depth (max
 * frames written), stack_end (a load outside [mem->lo, mem->hi)), no_module, no_cfi (no table
 * or no row), bad_cfi (a rule the tables do not evaluate — e.g. a leaf in gcc's DRAP
 * prologue, whose CFA is r10-based, or in ld.so's _dl_runtime_resolve — or an rbp-based rule
 * after rbp was lost), bad_frame (return address 0, or the CFA did not grow; only a signal
 * frame may move rsp down).
 */
int ns_unwind(const struct ns_unwind_modules *mods, const struct ns_regs *regs,
              const struct ns_stack_mem *mem, struct ns_frame *out, int max, unsigned *end);

/*
 * The same, from the registers of a function's caller as seen at the call: regs->ip is a
 * return address (the leaf is reported and looked up at ip - 1, like every caller), regs->sp
 * the caller's stack pointer after the return. For interposers that capture their call site.
 */
int ns_unwind_caller(const struct ns_unwind_modules *mods, const struct ns_regs *regs,
                     const struct ns_stack_mem *mem, struct ns_frame *out, int max, unsigned *end);

#endif
