#include "blocking.h"

#include <errno.h>

#include "../clock.h"
#include "capture.h"
#include "hooks.h"
#include "sites.h"

struct ns_block_token ns_block_begin(const struct ns_regs *caller, const char *name,
                                     uint32_t *name_id, enum ns_block_reason reason)
{
    struct ns_block_token tok = {0};
    int saved = errno;
    struct ns_thread *th = ns_hook_enter(NS_HOOK_BLOCK);
    if (!th) {
        errno = saved;
        return tok;
    }
    uint32_t pseudo_id = __atomic_load_n(name_id, __ATOMIC_RELAXED);
    if (!pseudo_id) {
        pseudo_id = ns_pseudo_name(name);
        __atomic_store_n(name_id, pseudo_id, __ATOMIC_RELAXED);
    }
    struct ns_stack_entry *stack = ns_capture(th, caller, pseudo_id);
    struct ns_block_history *h = &th->block;
    /* The thread is the only writer; a handler that blocks while this entry is being
     * written cannot begin (in_hook is set), so the count needs no atomic read-modify-write. */
    uint64_t k = h->begun;
    struct ns_block_call *c = &h->call[k % NS_BLOCK_HISTORY];
    __atomic_store_n(&c->seq, 2 * k + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    c->stack = stack;
    c->reason = reason;
    c->resource = 0;
    c->end_ns = 0;
    c->begin_ns = ns_now_ns();
    __atomic_store_n(&c->seq, 2 * k + 2, __ATOMIC_RELEASE);
    __atomic_store_n(&h->begun, k + 1, __ATOMIC_RELEASE);
    tok = (struct ns_block_token){th, c, 2 * k + 2};
    ns_hook_leave(th);
    errno = saved;
    return tok;
}

void ns_block_end(struct ns_block_token tok, uint32_t resource)
{
    if (!tok.c)
        return;
    uint64_t t1 = ns_now_ns();
    struct ns_block_call *c = tok.c;
    /* A handler's calls may have gone round the history meanwhile: then the entry is
     * another call's, and only the site below keeps this one. */
    if (__atomic_load_n(&c->seq, __ATOMIC_RELAXED) != tok.seq)
        return;
    uint64_t t0 = c->begin_ns;
    struct ns_stack_entry *stack = c->stack;
    unsigned reason = c->reason;
    c->resource = resource;
    __atomic_store_n(&c->end_ns, t1 > t0 ? t1 : t0 + 1, __ATOMIC_RELEASE);
    struct ns_thread *th = tok.th;
    if (th->in_hook || !stack || !(ns_hooks_enabled() & NS_HOOK_BLOCK_SITES))
        return;
    int saved = errno;
    th->in_hook = 1;
    struct ns_site *s = ns_site_get(th, NS_SITE_BLOCKED, stack, resource);
    if (s) {
        s->reason = (uint16_t)reason;
        ns_site_add(s, 0, t1 - t0, 0);
    }
    ns_hook_leave(th);
    errno = saved;
}
