/*
 * eh_asm — assembles .eh_frame_hdr + .eh_frame images in memory for the CFI table tests:
 * CIEs and FDEs with chosen encodings and augmentations, 32- or 64-bit records, a sorted
 * binary-search table or none. Code addresses are fake (nothing reads them); they lie near
 * the image so that pc-relative 4-byte encodings reach them.
 */
#ifndef NS_UNWIND_TEST_EH_ASM_H
#define NS_UNWIND_TEST_EH_ASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfi.h"

#define EH_IMAGE_SIZE 16384
#define EH_FRAME_AT   1024 /* .eh_frame starts here; the header and its table come first */
#define EH_MAX_FDES   64

struct eh_cie {
    const char *aug; /* e.g. "zR" */
    uint8_t version;
    uint64_t code_align;
    int64_t data_align;
    uint8_t fde_enc;  /* 'R' */
    uint8_t pers_enc; /* 'P' (the personality pointer is written as 4 bytes) */
    uint8_t lsda_enc; /* 'L' (FDEs then carry a 4-byte LSDA pointer) */
    bool dwarf64;
    size_t at; /* offset in the image, set by eh_cie() */
};

struct eh_image {
    uint8_t b[EH_IMAGE_SIZE] __attribute__((aligned(4096)));
    size_t n; /* write position */
    struct {
        uint64_t pc;
        size_t at;
    } fdes[EH_MAX_FDES];
    int nfdes;
    size_t open; /* the record being written */
    bool open64;
};

extern struct eh_image eh;

void eh_reset(void);
uintptr_t eh_bias(void);
void eh_u8(uint8_t v);
void eh_u16(uint16_t v);
void eh_u32(uint32_t v);
void eh_u64(uint64_t v);
void eh_uleb(uint64_t v);
void eh_sleb(int64_t v);
void eh_bytes(const void *p, size_t n);

/* The default CIE: "zR", caf 1, daf -8, udata8 pcs, CFA = rsp + 8, RA at CFA - 8. */
struct eh_cie eh_default_cie(void);
/* Writes the CIE header; its initial instructions follow; eh_end() closes it. */
void eh_cie_begin(struct eh_cie *c);
/* Writes an FDE header for [vaddr, vaddr + range); its instructions follow; eh_end(). */
void eh_fde_begin(const struct eh_cie *c, uint64_t vaddr, uint64_t range);
void eh_end(void);
/* A CIE with the default instructions, closed. */
void eh_simple_cie(struct eh_cie *c);
/* set_loc operand in the CIE's encoding */
void eh_pointer(const struct eh_cie *c, uint64_t vaddr);

/* Terminates .eh_frame and writes the header (with or without its table); returns the
 * image's length. */
size_t eh_finish(bool with_table);
/* eh_finish, then builds over a segment that ends right after the terminator. */
struct ns_cfi_table *eh_build(bool with_table);
/* Builds a copy of the first len bytes placed right before an inaccessible page, so that any
 * read past the segment faults. Addresses in the copy move with it: only for tests that do
 * not look at pcs. */
struct ns_cfi_table *eh_build_guarded(size_t len);
/* Same, over an explicit segment (header corruption tests). */
struct ns_cfi_table *eh_build_raw(uintptr_t hdr, const struct ns_cfi_segment *segs, size_t n);

#endif
