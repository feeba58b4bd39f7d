/*
 * cfi_read.h — bounded readers of .eh_frame bytes in this process's memory, private to
 * cfi.c: a cursor that cannot leave the segment (or record) it was opened on, LEB128, and
 * the DW_EH_PE pointer encodings.
 *
 * A cursor fails sticky: after any out-of-bounds read `bad` is set and every later read
 * returns 0, so a parser checks once after a group of reads instead of after each.
 */
#ifndef NS_CFI_READ_H
#define NS_CFI_READ_H

#include <dwarf.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "cfi.h"

struct object {
    uintptr_t bias;
    const struct ns_cfi_segment *segs;
    size_t nsegs;
    uintptr_t hdr; /* base of DW_EH_PE_datarel in .eh_frame_hdr */
};

struct cursor {
    const uint8_t *p, *end;
    bool bad;
};

static inline uintptr_t segment_end(const struct object *o, uintptr_t addr)
{
    for (size_t i = 0; i < o->nsegs; i++)
        if (addr >= o->segs[i].start && addr - o->segs[i].start < o->segs[i].len)
            return o->segs[i].start + o->segs[i].len;
    return 0;
}

static inline bool cursor_at(const struct object *o, uintptr_t addr, struct cursor *c)
{
    uintptr_t end = segment_end(o, addr);
    *c = (struct cursor){(const uint8_t *)addr, (const uint8_t *)end, end == 0};
    return end != 0;
}

static inline const uint8_t *take(struct cursor *c, size_t n)
{
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = true;
        return NULL;
    }
    const uint8_t *at = c->p;
    c->p += n;
    return at;
}

static inline uint64_t read_fixed(struct cursor *c, size_t n)
{
    const uint8_t *at = take(c, n);
    uint64_t v = 0;
    if (at)
        memcpy(&v, at, n); /* little-endian host */
    return v;
}

static inline uint8_t read_u8(struct cursor *c)
{
    return (uint8_t)read_fixed(c, 1);
}

static inline uint64_t read_uleb(struct cursor *c)
{
    uint64_t v = 0;
    for (unsigned shift = 0;; shift += 7) {
        uint8_t b = read_u8(c);
        if (c->bad)
            return 0;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
}

static inline int64_t read_sleb(struct cursor *c)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = read_u8(c);
        if (c->bad)
            return 0;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    return (int64_t)v;
}

/* Decodes the value part of a DW_EH_PE encoding (its low nibble). */
static inline uint64_t read_pe_value(struct cursor *c, uint8_t enc)
{
    static const uint8_t size[8] = {8, 0, 2, 4, 8}; /* absptr, uleb128, data2, data4, data8 */
    unsigned format = enc & 0x07, bits = size[format] * 8u;
    if ((enc & 0x0f) == DW_EH_PE_uleb128)
        return read_uleb(c);
    if ((enc & 0x0f) == DW_EH_PE_sleb128)
        return (uint64_t)read_sleb(c);
    if (format > 4 || bits == 0) {
        c->bad = true;
        return 0;
    }
    uint64_t v = read_fixed(c, bits / 8);
    if ((enc & DW_EH_PE_signed) && bits < 64) /* sign-extend sdata2/sdata4 */
        v = (uint64_t)((int64_t)(v << (64 - bits)) >> (64 - bits));
    return v;
}

static inline void skip_pointer(struct cursor *c, uint8_t enc)
{
    if ((enc & 0x70) == DW_EH_PE_aligned) {
        take(c, (8 - ((uintptr_t)c->p & 7)) & 7);
        read_fixed(c, 8);
    } else if (enc != DW_EH_PE_omit) {
        read_pe_value(c, enc);
    }
}

/*
 * Reads an encoded pointer as a run-time address. datarel is only meaningful in
 * .eh_frame_hdr (pass 0 elsewhere: unsupported); textrel and funcrel are never emitted on
 * x86-64 Linux. Indirect pointers are refused: the pointer would have to be dereferenced
 * (only the personality routine uses them, and it is skipped).
 */
static inline uint64_t read_pointer(struct cursor *c, uint8_t enc, uintptr_t datarel)
{
    uintptr_t field = (uintptr_t)c->p;
    if (enc == DW_EH_PE_omit || (enc & DW_EH_PE_indirect)) {
        c->bad = true;
        return 0;
    }
    switch (enc & 0x70) {
    case DW_EH_PE_absptr:
        return read_pe_value(c, enc);
    case DW_EH_PE_pcrel:
        return field + read_pe_value(c, enc);
    case DW_EH_PE_datarel:
        if (!datarel)
            c->bad = true;
        return datarel + read_pe_value(c, enc);
    case DW_EH_PE_aligned: {
        size_t pad = (8 - (field & 7)) & 7;
        take(c, pad);
        return read_fixed(c, 8);
    }
    default:
        c->bad = true;
        return 0;
    }
}

static inline struct cursor read_block(struct cursor *c)
{
    uint64_t len = read_uleb(c);
    const uint8_t *at = len <= (uint64_t)(c->end - c->p) ? take(c, len) : NULL;
    if (!at)
        c->bad = true;
    return (struct cursor){at, at ? at + len : NULL, at == NULL};
}

#endif
