/*
 * threads — one slot per sampled thread: its sampling resources (perf ring or signal ring
 * and timer), its stack bounds, and its counters.
 *
 * Slots live in the shared region (shm.h), listed in a directory the reader walks; a thread
 * finds its own through one initial-exec TLS pointer
 * (a library loaded later by dlopen only has a small static-TLS reserve, so never more).
 * Lifecycle: FREE → ACTIVE (registered by the thread itself, or by the writer for threads
 * found in /proc/self/task) → EXITED (the thread is gone or going) → FREE (the writer
 * drained what was left and released the resources). A thread whose sampling could not be
 * set up stays FAILED until it is gone. Only the writer frees slots.
 *
 * Async-signal-safe: ns_threads_self, ns_threads_find, ns_threads_count, ns_threads_at.
 */
#ifndef NS_THREADS_H
#define NS_THREADS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "ring.h"
#include "../interposed/blocking.h"
#include "../unwind/unwind.h"

struct ns_site_table;
struct ns_lock_counts;
struct ns_capture_cache;

enum ns_thread_state {
    NS_TH_FREE = 0,
    NS_TH_CLAIMED, /* being set up */
    NS_TH_ACTIVE,
    NS_TH_EXITED,
    NS_TH_FAILED, /* sampling could not be set up: remembered so it is not retried */
};

struct ns_thread {
    int state; /* enum ns_thread_state, atomic */
    pid_t tid;
    uint64_t start_mono_ns;
    int self_registered; /* registered by the thread itself: exit is seen by its TLS destructor */

    /* Live-stack bounds for the signal path; 0 when unknown (found later by the writer
     * from the sp the handler leaves in last_sp). */
    uintptr_t stack_lo, stack_hi;
    uintptr_t last_sp;

    /* signal mechanism */
    struct ns_ring ring;
    timer_t timer;
    int has_timer;
    int in_handler;
    int snapshot_busy; /* reading a module snapshot (modules.h) */
    uint64_t last_sample_ns;
    uint64_t last_sample_cpu_ns; /* its CPU clock at its last sample (or at arming) */

    /* perf mechanism */
    int perf_fd;
    void *perf_map;
    size_t perf_map_len;

    /* interposers (allocations, I/O, locks) */
    int in_hook;              /* inside an interposer: calls it makes pass straight through */
    struct ns_frame *scratch; /* frames of the stack being captured (max_depth + 1) */
    struct ns_capture_cache *capture_cache; /* stacks this thread unwound lately (capture.c) */
    struct ns_site_table *sites;
    struct ns_block_history block;      /* the calls it blocked in lately (blocking.h) */
    struct ns_lock_counts *lock_counts; /* its lock calls by lock and site (lock_counts.h) */

    /* accounting: counters bumped by the signal handler are atomic */
    uint64_t dropped_ring_full;
    uint64_t dropped_reentrant;
    uint64_t samples;     /* writer */
    uint64_t cpu_ns;      /* CPU time while profiled: last reading, writer or the exiting thread */
    uint64_t cpu_base_ns; /* the thread's CPU clock when its sampling started */
    int names_sent;       /* writer: THREAD record emitted for the current name */
    char name[16];
};

#define NS_THREADS_MAX 16384

/* The region's directory of slots (shm.h: header->threads): slot[0..n) allocated. */
struct ns_thread_dir {
    uint64_t n; /* atomic */
    struct ns_thread *slot[NS_THREADS_MAX];
};

/* The thread's CPU time since its sampling started (the loader and nsprof's own start-up
 * are not part of what was sampled, so they must not lower the achieved rate). */
uint64_t ns_thread_profiled_cpu(const struct ns_thread *th);

/* Claims a slot for tid; NULL when the table is full. The slot is CLAIMED: set it up, then
 * ns_threads_activate. self = 1 when called by the thread itself (sets the TLS pointer and
 * the stack bounds). */
struct ns_thread *ns_threads_claim(pid_t tid, int self);
void ns_threads_activate(struct ns_thread *th);
/* Marks, in a thread's TLS pointer, that it was looked up and has no slot. */
#define NS_THREAD_NONE ((struct ns_thread *)1)

/* The calling thread's slot, NULL, or NS_THREAD_NONE. Async-signal-safe. */
extern __thread struct ns_thread *ns_threads_tls_self
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
static inline struct ns_thread *ns_threads_self(void)
{
    return ns_threads_tls_self; /* inline: every interposed call asks */
}
/* For interposers: the calling thread's slot, looked up once by tid if the thread did not
 * register itself (the answer, even "none", is kept in TLS); NULL when it has none. */
struct ns_thread *ns_threads_current(void);
/* Looks a tid up among claimed/active slots (first signal of a thread registered by the
 * writer); caches it in TLS. Async-signal-safe. */
struct ns_thread *ns_threads_self_slow(pid_t tid);
struct ns_thread *ns_threads_find(pid_t tid);
void ns_threads_set_exited(struct ns_thread *th);
/* The thread cannot be sampled; its slot only remembers that (freed when it is gone). */
void ns_threads_set_failed(struct ns_thread *th);
/* Writer: returns an EXITED or FAILED slot to the free list (resources already released). */
void ns_threads_free(struct ns_thread *th);
/* Iteration over every slot ever allocated (check state). */
size_t ns_threads_count(void);
struct ns_thread *ns_threads_at(size_t i);
/* fork child: forget every slot but the caller's (their threads do not exist here);
 * release_fn frees each forgotten slot's resources. */
void ns_threads_after_fork(void (*release_fn)(struct ns_thread *));
/* Clears the calling thread's TLS pointer (its slot is gone). */
void ns_threads_forget_self(void);

/* Whether any thread is reading a module snapshot right now. */
int ns_threads_snapshot_busy(void);

/* Lists the tids in /proc/self/task (no allocation); returns how many. */
size_t ns_list_tasks(pid_t *tids, size_t cap);

/* nsprof's own threads, which are never sampled nor registered from /proc. */
enum { NS_INTERNAL_WRITER, NS_INTERNAL_TICKER, NS_INTERNAL_THREADS };
void ns_threads_set_internal(int which, pid_t tid);
pid_t ns_threads_internal_tid(int which);
int ns_threads_is_internal(pid_t tid);

#endif
