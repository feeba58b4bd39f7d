/*
 * uw_helpers — test-side tools for the unwinder tests: a module list built from
 * dl_iterate_phdr (the production registry lives elsewhere), a libunwind oracle, the
 * frame-by-frame comparison, a frame-pointer walker (the negative control) and a stack copier
 * that ASan leaves alone. Everything usable in a signal handler is marked so.
 */
#ifndef NS_UNWIND_TEST_HELPERS_H
#define NS_UNWIND_TEST_HELPERS_H

#include <stddef.h>
#include <stdint.h>
#include <ucontext.h>

#include "unwind.h"

#define UW_MAX_MODULES 128
#define UW_MAX_FRAMES  1024

struct uw_object {
    char name[256];
    uintptr_t bias;
    struct ns_cfi_table *cfi;
};

struct uw_modules {
    struct ns_unwind_module v[UW_MAX_MODULES]; /* executable segments, sorted */
    struct uw_object objects[UW_MAX_MODULES];
    size_t nobjects;
    struct ns_unwind_modules view;
};

/* A trace as absolute addresses: the leaf's pc, then each caller's return address - 1 (or the
 * exact pc after a signal frame). */
struct uw_trace {
    uint64_t addr[UW_MAX_FRAMES];
    int n;
    int end; /* ns_unwind: enum nsp_stack_end; oracle: libunwind's last unw_step result */
};

/* Outside signal context. Registers every loaded object's executable segments and builds
 * their CFI tables from memory. */
void uw_modules_build(struct uw_modules *m);
void uw_modules_free(struct uw_modules *m);
/* The loaded object whose name contains `needle`, or NULL. */
const struct uw_object *uw_find_object(const struct uw_modules *m, const char *needle);
const struct uw_object *uw_object_of(const struct uw_modules *m, uint64_t abs_addr);

/* Signal-safe from here on. */
struct ns_regs uw_regs_of(const ucontext_t *uc);
void uw_unwind(const struct uw_modules *m, const struct ns_regs *regs,
               const struct ns_stack_mem *mem, int max, struct uw_trace *out);
/* libunwind from a signal's ucontext (the interrupted frame is exact). */
void uw_oracle_from_ucontext(ucontext_t *uc, struct uw_trace *out);
/* Both unwinders from this function's own registers (unw_getcontext), over the live stack up
 * to stack_top: frame 0 is in uw_capture_here, exact for both. */
void uw_capture_here(const struct uw_modules *m, uintptr_t stack_top, struct uw_trace *ours,
                     struct uw_trace *oracle);
/* Frame-pointer walk, bounds-checked against mem: the method this project must not rely on. */
void uw_fp_walk(const struct ns_regs *regs, const struct ns_stack_mem *mem, struct uw_trace *out);
/* Copies [lo, lo + len) of the live stack. */
void uw_copy_stack(uint8_t *dst, uintptr_t lo, size_t len);

/*
 * -1 when `got` is the oracle's trace: the same frames, and as many of them, unless got
 * stopped for depth or stack_end, where a prefix is right. Otherwise the index of the first
 * frame that differs or is missing.
 */
int uw_first_mismatch(const struct uw_trace *got, const struct uw_trace *oracle);
/* Describes a mismatch for a failure message (not signal-safe). */
void uw_describe(const struct uw_modules *m, const struct uw_trace *got,
                 const struct uw_trace *oracle, char *buf, size_t len);

#endif
