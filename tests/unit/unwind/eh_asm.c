/* Assembler of .eh_frame images for the CFI table tests; see eh_asm.h. */
#include "eh_asm.h"

#include <dwarf.h>
#include <string.h>
#include <sys/mman.h>

struct eh_image eh;

void eh_reset(void)
{
    memset(&eh, 0, sizeof eh);
    eh.n = EH_FRAME_AT;
}

/* Fake code lives 1 MB below the image: vaddr v runs at eh_bias() + v. */
uintptr_t eh_bias(void)
{
    return (uintptr_t)eh.b - 0x100000;
}

void eh_bytes(const void *p, size_t n)
{
    memcpy(eh.b + eh.n, p, n);
    eh.n += n;
}

void eh_u8(uint8_t v)
{
    eh_bytes(&v, 1);
}

void eh_u16(uint16_t v)
{
    eh_bytes(&v, 2);
}

void eh_u32(uint32_t v)
{
    eh_bytes(&v, 4);
}

void eh_u64(uint64_t v)
{
    eh_bytes(&v, 8);
}

void eh_uleb(uint64_t v)
{
    do {
        uint8_t b = v & 0x7f;
        v >>= 7;
        eh_u8(b | (v ? 0x80 : 0));
    } while (v);
}

void eh_sleb(int64_t v)
{
    for (;;) {
        uint8_t b = v & 0x7f;
        v >>= 7;
        bool done = (v == 0 && !(b & 0x40)) || (v == -1 && (b & 0x40));
        eh_u8(b | (done ? 0 : 0x80));
        if (done)
            return;
    }
}

static void begin_record(bool dwarf64)
{
    eh.open = eh.n;
    eh.open64 = dwarf64;
    if (dwarf64) {
        eh_u32(0xffffffff);
        eh_u64(0);
    } else {
        eh_u32(0);
    }
}

void eh_end(void)
{
    size_t header = eh.open64 ? 12 : 4;
    uint64_t len = eh.n - eh.open - header;
    if (eh.open64) {
        memcpy(eh.b + eh.open + 4, &len, 8);
    } else {
        uint32_t len32 = (uint32_t)len;
        memcpy(eh.b + eh.open, &len32, 4);
    }
}

struct eh_cie eh_default_cie(void)
{
    return (struct eh_cie){
        .aug = "zR", .version = 1, .code_align = 1, .data_align = -8, .fde_enc = DW_EH_PE_udata8};
}

void eh_cie_begin(struct eh_cie *c)
{
    c->at = eh.n;
    begin_record(c->dwarf64);
    if (c->dwarf64)
        eh_u64(0);
    else
        eh_u32(0);
    eh_u8(c->version);
    eh_bytes(c->aug, strlen(c->aug) + 1);
    eh_uleb(c->code_align);
    eh_sleb(c->data_align);
    if (c->version == 1)
        eh_u8(16);
    else
        eh_uleb(16);
    if (c->aug[0] != 'z')
        return;
    size_t len_at = eh.n;
    eh_u8(0);
    for (const char *a = c->aug + 1; *a; a++) {
        if (*a == 'R')
            eh_u8(c->fde_enc);
        if (*a == 'P') {
            eh_u8(c->pers_enc);
            eh_u32(0x1234);
        }
        if (*a == 'L')
            eh_u8(c->lsda_enc);
    }
    eh.b[len_at] = (uint8_t)(eh.n - len_at - 1);
}

void eh_simple_cie(struct eh_cie *c)
{
    eh_cie_begin(c);
    eh_u8(DW_CFA_def_cfa);
    eh_uleb(7);
    eh_uleb(8);
    eh_u8(DW_CFA_offset | 16);
    eh_uleb(1);
    eh_end();
}

void eh_pointer(const struct eh_cie *c, uint64_t vaddr)
{
    uint64_t pc = eh_bias() + vaddr;
    if ((c->fde_enc & 0x70) == DW_EH_PE_pcrel)
        eh_u32((uint32_t)(int32_t)(pc - ((uintptr_t)eh.b + eh.n)));
    else
        eh_u64(pc);
}

static void write_range(const struct eh_cie *c, uint64_t range)
{
    if ((c->fde_enc & 0x0f) == DW_EH_PE_sdata4 || (c->fde_enc & 0x0f) == DW_EH_PE_udata4)
        eh_u32((uint32_t)range);
    else
        eh_u64(range);
}

void eh_fde_begin(const struct eh_cie *c, uint64_t vaddr, uint64_t range)
{
    size_t start = eh.n;
    begin_record(c->dwarf64);
    uint64_t back = eh.n - c->at;
    if (c->dwarf64)
        eh_u64(back);
    else
        eh_u32((uint32_t)back);
    eh_pointer(c, vaddr);
    write_range(c, range);
    if (c->aug[0] == 'z') {
        bool lsda = strchr(c->aug, 'L') != NULL;
        eh_uleb(lsda ? 4 : 0);
        if (lsda)
            eh_u32(0);
    }
    if (eh.nfdes < EH_MAX_FDES) {
        eh.fdes[eh.nfdes].pc = eh_bias() + vaddr;
        eh.fdes[eh.nfdes++].at = start;
    }
}

static void write_header(bool with_table)
{
    uintptr_t hdr = (uintptr_t)eh.b;
    eh.b[0] = 1;
    eh.b[1] = DW_EH_PE_pcrel | DW_EH_PE_sdata4;
    eh.b[2] = with_table ? DW_EH_PE_udata4 : DW_EH_PE_omit;
    eh.b[3] = with_table ? DW_EH_PE_datarel | DW_EH_PE_sdata4 : DW_EH_PE_omit;
    int32_t to_eh_frame = (int32_t)(EH_FRAME_AT - 4);
    memcpy(eh.b + 4, &to_eh_frame, 4);
    if (!with_table)
        return;
    uint32_t count = (uint32_t)eh.nfdes;
    memcpy(eh.b + 8, &count, 4);
    for (int i = 1; i < eh.nfdes; i++) /* insertion sort by pc */
        for (int j = i; j > 0 && eh.fdes[j - 1].pc > eh.fdes[j].pc; j--) {
            __typeof__(eh.fdes[0]) t = eh.fdes[j];
            eh.fdes[j] = eh.fdes[j - 1];
            eh.fdes[j - 1] = t;
        }
    for (int i = 0; i < eh.nfdes; i++) {
        int32_t entry[2] = {(int32_t)(eh.fdes[i].pc - hdr), (int32_t)eh.fdes[i].at};
        memcpy(eh.b + 12 + 8 * i, entry, 8);
    }
}

struct ns_cfi_table *eh_build_raw(uintptr_t hdr, const struct ns_cfi_segment *segs, size_t n)
{
    return ns_cfi_build_from_memory(eh_bias(), hdr, segs, n);
}

size_t eh_finish(bool with_table)
{
    eh_u32(0); /* terminator */
    write_header(with_table);
    return eh.n;
}

struct ns_cfi_table *eh_build(bool with_table)
{
    struct ns_cfi_segment seg = {(uintptr_t)eh.b, eh_finish(with_table)};
    return eh_build_raw((uintptr_t)eh.b, &seg, 1);
}

struct ns_cfi_table *eh_build_guarded(size_t len)
{
    size_t page = 4096, span = (len + page - 1) / page * page;
    uint8_t *map =
        mmap(NULL, span + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map + span, page, PROT_NONE) != 0)
        return NULL;
    uint8_t *copy = map + span - len;
    memcpy(copy, eh.b, len);
    struct ns_cfi_segment seg = {(uintptr_t)copy, len};
    struct ns_cfi_table *t =
        ns_cfi_build_from_memory(eh_bias() + (uintptr_t)(copy - eh.b), (uintptr_t)copy, &seg, 1);
    munmap(map, span + page);
    return t;
}
