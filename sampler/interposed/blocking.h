/*
 * blocking — the calls a thread blocks in (sleep, poll, wait, join, lock and condition
 * waits, I/O), published by their interposers as they begin, so that the time the thread
 * then spends off its CPU can be charged to the stack that entered the call.
 *
 * Two readers, two uses:
 *   - with perf's switch records (the agent's perf mechanism) the kernel gives exact off-CPU
 *     intervals; the agent finds the call each interval falls in by time in the thread's
 *     history: the last NS_BLOCK_HISTORY calls it began, in its slot (threads.h), each with
 *     its stack, reason, resource, and begin and end times (the end 0 while in the call);
 *   - without them (signal mechanism, in-process mode) the interposers' own clock is all
 *     there is: each call's duration is also added to a call site of family NS_SITE_BLOCKED
 *     (sites.h), whose reason the site keeps, and the reader writes those as off-CPU time.
 *
 * The history is written by its thread only; a reader in another process copies an entry
 * and keeps it only if its sequence number was the same, even, before and after.
 * An interval whose entry was overwritten before the agent read it (a thread blocking more
 * than NS_BLOCK_HISTORY times during the agent's lag) is charged to the oldest entry left
 * (agent/off_cpu.c says how and counts it).
 *
 * Not async-signal-safe (captures a stack), like every interposer; a signal handler's own
 * blocking call nests: it takes the next entry and leaves the interrupted one as it was.
 */
#ifndef NS_BLOCKING_H
#define NS_BLOCKING_H

#include <stdint.h>

#include "../unwind/unwind.h"

/* Why a call blocks; the profile's off-CPU reasons (agent/off_cpu.c adds preempted, other
 * and unknown, which no call gives). */
enum ns_block_reason {
    NS_BLOCK_NONE = 0,
    NS_BLOCK_SLEEP,  /* nanosleep, clock_nanosleep, sleep, usleep */
    NS_BLOCK_IO,     /* read, write, recv, send, accept, connect... */
    NS_BLOCK_LOCK,   /* mutex, rwlock, semaphore waits */
    NS_BLOCK_COND,   /* condition-variable waits */
    NS_BLOCK_POLL,   /* poll, select, epoll_wait */
    NS_BLOCK_WAIT,   /* wait for a child or a thread: waitpid, pthread_join */
    NS_BLOCK_SIGNAL, /* sigwait, sigsuspend, pause */
    NS_BLOCK__COUNT
};

struct ns_stack_entry;
struct ns_thread;

struct ns_block_call {
    uint64_t seq; /* 2 * (call number + 1) once written, odd while being written */
    uint64_t begin_ns;
    uint64_t end_ns; /* 0: still in the call */
    struct ns_stack_entry *stack;
    uint32_t reason; /* enum ns_block_reason */
    uint32_t resource;
};

#define NS_BLOCK_HISTORY 64

struct ns_block_history {
    uint64_t begun; /* calls begun: call k is in call[k % NS_BLOCK_HISTORY] */
    struct ns_block_call call[NS_BLOCK_HISTORY];
};

/* A call in progress, as its interposer holds it (c NULL: nothing is recorded). */
struct ns_block_token {
    struct ns_thread *th;
    struct ns_block_call *c;
    uint64_t seq;
};

/* A call about to block, from the interposer of function `name` (a literal; *name_id caches
 * its pseudo id, capture.h, looked up only inside nsprof: the lookup takes a lock, whose
 * interposer may come back here) whose caller's registers are `caller`. Nothing is recorded
 * (c NULL) when wall time is not profiled, for a thread nsprof does not know, or for
 * nsprof's own calls. */
struct ns_block_token ns_block_begin(const struct ns_regs *caller, const char *name,
                                     uint32_t *name_id, enum ns_block_reason reason);
/* The call returned; resource: what it waited on (resources.h id, 0 for none). Keeps errno. */
void ns_block_end(struct ns_block_token tok, uint32_t resource);

/* The name of a reason in the profile ("sleep", "io"...). */
static inline const char *ns_block_reason_name(unsigned reason)
{
    static const char *const names[NS_BLOCK__COUNT] = {
        [NS_BLOCK_NONE] = "other", [NS_BLOCK_SLEEP] = "sleep",   [NS_BLOCK_IO] = "io",
        [NS_BLOCK_LOCK] = "lock",  [NS_BLOCK_COND] = "cond",     [NS_BLOCK_POLL] = "poll",
        [NS_BLOCK_WAIT] = "wait",  [NS_BLOCK_SIGNAL] = "signal",
    };
    return reason < NS_BLOCK__COUNT ? names[reason] : "other";
}

#endif
