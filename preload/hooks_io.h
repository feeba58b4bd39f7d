/*
 * hooks_io — what the I/O interposers (hooks_fd.c, hooks_io.c, hooks_stdio.c) share: libc's
 * real functions, resolved lazily, the accounting of one finished call, and the map from
 * descriptors to the resources they are (files, sockets, pipes).
 *
 * Contract: every hook runs the real call first, unguarded (it may be a cancellation point,
 * and what it calls is the program's), then accounts for it through ns_io_done, which
 * preserves errno and does nothing when --io is off, for threads nsprof does not know and
 * for nsprof's own calls. No malloc and no global lock on the hot path; naming a descriptor
 * (an open, a first use of an inherited fd) takes the resources mutex once.
 */
#ifndef NS_HOOKS_IO_H
#define NS_HOOKS_IO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "../sampler/interposed/blocking.h"
#include "../sampler/interposed/capture.h"
#include "../sampler/clock.h"
#include "../sampler/interposed/hooks.h"
#include "../sampler/interposed/sites.h"

#define NS_EXPORT_AS(name) __attribute__((visibility("default"), alias(#name)))

/* libc's definition of `name`, found with dlsym(RTLD_NEXT) on first use and kept in *slot.
 * Thread-safe without a lock: racing threads store the same pointer. NULL if libc has none. */
void *ns_io_real(void **slot, const char *name);

/* The real function of the same name as a hook, with the type of its declaration. */
#define REAL(fn)                                                                                   \
    ({                                                                                             \
        static void *real_slot_;                                                                   \
        void *p_ = __atomic_load_n(&real_slot_, __ATOMIC_ACQUIRE);                                 \
        (__typeof__(&fn))(p_ ? p_ : ns_io_real(&real_slot_, #fn));                                 \
    })

static inline int ns_io_on(void)
{
    return ns_hooks_enabled() & NS_HOOK_IO;
}

/* Declares `tok`, the blocking entry (blocking.h) of an I/O call about to be made from the
 * hook whose caller's registers are `regs`, under the name `fname`. */
#define IO_BLOCK_BEGIN(tok, regs, fname)                                                           \
    static uint32_t tok##_name_id;                                                                 \
    struct ns_block_token tok = ns_block_begin(&(regs), fname, &tok##_name_id, NS_BLOCK_IO)

/* One finished call, as seen by its hook. */
struct ns_io_call {
    const char *name;  /* the called function, a string literal */
    uint32_t *name_id; /* the hook's cache of ns_pseudo_name(name) */
    unsigned family;   /* NS_SITE_IO or NS_SITE_STDIO */
    int fd;            /* the resource, named now if need be; -1: `resource` instead */
    uint32_t resource; /* when fd is -1 (0: none) */
    uint64_t bytes;
    int with_hist; /* a data transfer (its size goes in the histogram), not an open or close */
    uint64_t t0;   /* ns_now_ns() before the real call */
};

/* Accounts for the call to the hook's caller (`caller`: NS_CALLER_REGS in the hook).
 * Preserves errno. */
void ns_io_done(const struct ns_regs *caller, const struct ns_io_call *c);

/* Accounts for a data call on fd that moved `ret` bytes (negative: failed, 0 bytes). */
#define IO_DONE(regs, fname, fdv, ret, t0v, hist)                                                  \
    do {                                                                                           \
        static uint32_t name_id_;                                                                  \
        struct ns_io_call c_ = {fname,  &name_id_, NS_SITE_IO,                                     \
                                (fdv),  0,         (ret) > 0 ? (uint64_t)(ret) : 0,                \
                                (hist), (t0v)};                                                    \
        ns_io_done(&(regs), &c_);                                                                  \
    } while (0)

/* The resource id of fd, naming it now (readlink of /proc/self/fd, the socket's peer) if
 * nsprof did not see it opened; the answer is cached in the descriptor map. */
uint32_t ns_io_fd_resource(int fd);

/* The same from outside an accounted call (before fclose): 0 when --io is off or for
 * nsprof's own calls. */
uint32_t ns_io_fd_name_now(int fd);

/* Descriptor map updates, done whenever --io is on, from any thread (a descriptor opened
 * by a thread nsprof does not sample is used by one it does). */
/* fd is new or became something else (opened, connected, closed): named again on next use. */
void ns_io_fd_forget(int fd);
/* fd `to` now is what `from` is (dup). */
void ns_io_fd_copied(int from, int to);
/* fds are the two ends of a pipe or socketpair. */
void ns_io_fd_pair(const int fds[2], unsigned kind, const char *name);

#endif
