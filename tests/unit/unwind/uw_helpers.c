/* Test-side tools for the unwinder tests; see uw_helpers.h. */
#include "uw_helpers.h"

#include <elf.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

struct build_ctx {
    struct uw_modules *m;
    size_t nmods;
};

static void add_module(struct build_ctx *b, uintptr_t lo, uintptr_t hi, uintptr_t bias, uint32_t id,
                       const struct ns_cfi_table *cfi)
{
    struct ns_unwind_module *v = b->m->v;
    size_t i = b->nmods++;
    while (i > 0 && v[i - 1].lo > lo) { /* insertion sort by lo */
        v[i] = v[i - 1];
        i--;
    }
    v[i] = (struct ns_unwind_module){lo, hi, bias, id, cfi, NULL};
}

static int on_object(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct build_ctx *b = arg;
    struct uw_modules *m = b->m;
    if (m->nobjects == UW_MAX_MODULES)
        return 1;
    struct ns_cfi_segment segs[32];
    size_t nsegs = 0;
    uintptr_t hdr = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_R) && nsegs < 32)
            segs[nsegs++] = (struct ns_cfi_segment){info->dlpi_addr + ph->p_vaddr, ph->p_memsz};
        if (ph->p_type == PT_GNU_EH_FRAME)
            hdr = info->dlpi_addr + ph->p_vaddr;
    }
    struct uw_object *o = &m->objects[m->nobjects++];
    snprintf(o->name, sizeof o->name, "%s", info->dlpi_name[0] ? info->dlpi_name : "[exe]");
    o->bias = info->dlpi_addr;
    o->cfi = hdr ? ns_cfi_build_from_memory(o->bias, hdr, segs, nsegs) : NULL;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && b->nmods < UW_MAX_MODULES)
            add_module(b, lo, lo + ph->p_memsz, o->bias, (uint32_t)m->nobjects, o->cfi);
    }
    return 0;
}

void uw_modules_build(struct uw_modules *m)
{
    memset(m, 0, sizeof *m);
    struct build_ctx b = {m, 0};
    dl_iterate_phdr(on_object, &b);
    m->view = (struct ns_unwind_modules){m->v, b.nmods};
}

void uw_modules_free(struct uw_modules *m)
{
    for (size_t i = 0; i < m->nobjects; i++)
        ns_cfi_free(m->objects[i].cfi);
    memset(m, 0, sizeof *m);
}

const struct uw_object *uw_find_object(const struct uw_modules *m, const char *needle)
{
    for (size_t i = 0; i < m->nobjects; i++)
        if (strstr(m->objects[i].name, needle))
            return &m->objects[i];
    return NULL;
}

const struct uw_object *uw_object_of(const struct uw_modules *m, uint64_t abs_addr)
{
    const struct ns_unwind_module *mod = ns_unwind_find_module(&m->view, abs_addr);
    return mod ? &m->objects[mod->mapping_id - 1] : NULL;
}

struct ns_regs uw_regs_of(const ucontext_t *uc)
{
    const greg_t *g = uc->uc_mcontext.gregs;
    return (struct ns_regs){(uint64_t)g[REG_RIP], (uint64_t)g[REG_RSP], (uint64_t)g[REG_RBP]};
}

void uw_unwind(const struct uw_modules *m, const struct ns_regs *regs,
               const struct ns_stack_mem *mem, int max, struct uw_trace *out)
{
    struct ns_frame frames[UW_MAX_FRAMES];
    unsigned end;
    if (max > UW_MAX_FRAMES)
        max = UW_MAX_FRAMES;
    out->n = ns_unwind(&m->view, regs, mem, frames, max, &end);
    out->end = (int)end;
    for (int i = 0; i < out->n; i++) {
        uint64_t bias = frames[i].mapping_id ? m->objects[frames[i].mapping_id - 1].bias : 0;
        out->addr[i] = frames[i].addr + bias;
    }
}

/* The x86-64 sigreturn trampoline: mov $15, %rax; syscall. libunwind 1.6's
 * unw_is_signal_frame answers for the frame after the trampoline, so the oracle recognises
 * the trampoline by its code, as libunwind itself does internally. */
static int is_sigreturn(unw_word_t ip)
{
    static const uint8_t code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
    return memcmp((const void *)ip, code, sizeof code) == 0;
}

static void oracle_walk(unw_cursor_t *c, struct uw_trace *out)
{
    int ret, exact = 1;
    out->n = 0;
    do {
        unw_word_t ip = 0;
        unw_get_reg(c, UNW_REG_IP, &ip);
        out->addr[out->n++] = exact ? ip : ip - 1;
        exact = is_sigreturn(ip);
        ret = unw_step(c);
    } while (ret > 0 && out->n < UW_MAX_FRAMES);
    out->end = ret;
}

void uw_oracle_from_ucontext(ucontext_t *uc, struct uw_trace *out)
{
    unw_cursor_t c;
    out->n = 0;
    out->end = unw_init_local2(&c, (unw_context_t *)uc, UNW_INIT_SIGNAL_FRAME);
    if (out->end == 0)
        oracle_walk(&c, out);
}

__attribute__((noinline)) void uw_capture_here(const struct uw_modules *m, uintptr_t stack_top,
                                               struct uw_trace *ours, struct uw_trace *oracle)
{
    unw_context_t uc;
    unw_cursor_t c;
    oracle->n = 0;
    oracle->end = unw_getcontext(&uc);
    struct ns_regs regs = uw_regs_of((ucontext_t *)&uc);
    struct ns_stack_mem live = {.lo = regs.sp, .hi = stack_top, .copy = NULL};
    uw_unwind(m, &regs, &live, UW_MAX_FRAMES, ours);
    if (oracle->end == 0)
        oracle->end = unw_init_local(&c, &uc);
    if (oracle->end == 0)
        oracle_walk(&c, oracle);
    __asm__ volatile("" ::: "memory"); /* keeps this frame (no tail call) */
}

/* Stack reads that ASan must not check: other frames' redzones are poisoned. */
__attribute__((no_sanitize_address)) static int read_word(const struct ns_stack_mem *mem,
                                                          uint64_t addr, uint64_t *out)
{
    if (addr < mem->lo || addr >= mem->hi || mem->hi - addr < 8)
        return 0;
    if (mem->copy)
        memcpy(out, mem->copy + (addr - mem->lo), 8);
    else
        *out = *(const volatile uint64_t *)(uintptr_t)addr;
    return 1;
}

void uw_fp_walk(const struct ns_regs *regs, const struct ns_stack_mem *mem, struct uw_trace *out)
{
    uint64_t bp = regs->bp, next, ra;
    out->n = 0;
    out->addr[out->n++] = regs->ip;
    while (out->n < UW_MAX_FRAMES && read_word(mem, bp, &next) && read_word(mem, bp + 8, &ra) &&
           ra != 0) {
        out->addr[out->n++] = ra - 1;
        if (next <= bp)
            break;
        bp = next;
    }
    out->end = NSP_END_ROOT; /* it believes it is done */
}

__attribute__((no_sanitize_address)) void uw_copy_stack(uint8_t *dst, uintptr_t lo, size_t len)
{
    const volatile uint8_t *src = (const volatile uint8_t *)lo;
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i];
}

int uw_first_mismatch(const struct uw_trace *got, const struct uw_trace *oracle)
{
    int n = got->n < oracle->n ? got->n : oracle->n;
    for (int i = 0; i < n; i++)
        if (got->addr[i] != oracle->addr[i])
            return i;
    bool prefix_ok = got->end == NSP_END_DEPTH || got->end == NSP_END_STACK_END;
    if (got->n == oracle->n && (got->end == NSP_END_ROOT || prefix_ok))
        return -1;
    if (got->n < oracle->n && prefix_ok)
        return -1;
    return n;
}

static void describe_frame(const struct uw_modules *m, uint64_t addr, char *buf, size_t len)
{
    const struct uw_object *o = uw_object_of(m, addr);
    if (o)
        snprintf(buf, len, "%s+0x%lx", strrchr(o->name, '/') ? strrchr(o->name, '/') + 1 : o->name,
                 (unsigned long)(addr - o->bias));
    else
        snprintf(buf, len, "0x%lx", (unsigned long)addr);
}

void uw_describe(const struct uw_modules *m, const struct uw_trace *got,
                 const struct uw_trace *oracle, char *buf, size_t len)
{
    int at = uw_first_mismatch(got, oracle);
    size_t used = (size_t)snprintf(buf, len,
                                   "got %d frames (end %d), oracle %d (end %d); first "
                                   "mismatch at %d:",
                                   got->n, got->end, oracle->n, oracle->end, at);
    int from = at > 2 ? at - 2 : 0;
    for (int i = from; i < at + 3 && used < len; i++) {
        char a[96] = "-", b[96] = "-";
        if (i < got->n)
            describe_frame(m, got->addr[i], a, sizeof a);
        if (i < oracle->n)
            describe_frame(m, oracle->addr[i], b, sizeof b);
        used += (size_t)snprintf(buf + used, len - used, "\n  #%d got %s oracle %s", i, a, b);
    }
}
