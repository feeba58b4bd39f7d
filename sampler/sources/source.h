/*
 * source — the two ways nsprof takes CPU/wall samples, behind one interface.
 *
 *  perf   (perf_source.c): a per-thread perf_event (software cpu-clock) writes registers
 *         and a copy of the top of the user stack into an mmap'd ring; the writer thread
 *         unwinds the copies. No signal ever reaches the program. Preferred.
 *  signal (signal_source.c): SIGPROF from per-thread timers (CPU clock; capped at the
 *         kernel tick, 250 Hz here) or from the wall ticker thread; the handler unwinds the
 *         live stack into the thread's ring. The fallback when perf_event_open is refused,
 *         and the only way to sample blocked threads (wall mode).
 *
 * A sample reaches the writer through ns_sample_sink.
 */
#ifndef NS_SOURCE_H
#define NS_SOURCE_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "threads.h"
#include "../unwind/unwind.h"

struct ns_sample_sink {
    void (*sample)(void *ctx, pid_t tid, uint64_t time_ns, uint64_t weight, unsigned end,
                   const struct ns_frame *frames, int nframes);
    void (*lost)(void *ctx, const char *counter, uint64_t n);
    void *ctx;
};

struct ns_source_params {
    uint64_t period_ns;  /* 1e9 / freq */
    uint32_t stack_copy; /* perf: bytes of stack per sample */
    uint32_t max_depth;
    int exclude_kernel; /* perf: resolved by ns_perf_probe */
};

struct ns_source {
    const char *name;         /* "perf" / "signal" */
    int build_tables_eagerly; /* unwinding happens where tables can't be built */
    int (*thread_start)(struct ns_thread *th);
    void (*thread_stop)(struct ns_thread *th);    /* disarm; any thread */
    int (*thread_resume)(struct ns_thread *th);   /* re-arm after thread_stop */
    void (*thread_release)(struct ns_thread *th); /* writer, after the last drain */
    /* Writer: hands the thread's pending samples to the sink; returns how many. */
    size_t (*drain)(struct ns_thread *th, const struct ns_sample_sink *sink);
    int (*start)(void); /* process-wide start (handler, ticker) */
    void (*stop)(void); /* process-wide stop */
};

extern const struct ns_source ns_perf_source;
extern const struct ns_source ns_signal_source;
/* event=none: no sampling at all, only what the interposers record. */
extern const struct ns_source ns_none_source;

/* Perf: can this process open sampling events? Chooses exclude_kernel (params->
 * exclude_kernel in: -1 auto, 0 on, 1 off; out: the value that works). 0 if usable,
 * else -errno with a sentence in why. */
int ns_perf_probe(struct ns_source_params *params, char *why, size_t whylen);

void ns_source_configure(const struct ns_source_params *params);
extern struct ns_source_params ns_source_params;

/* Perf: in a fork child, forget the parent's rings (they were not inherited). */
void ns_perf_after_fork(void);

/* Perf: poll descriptor of a thread's ring (writer's poll set), -1 if none. */
int ns_perf_fd(const struct ns_thread *th);

/*
 * Signal, attached to an agent: the handler does not unwind; it copies the registers and the
 * top of the live stack into the thread's ring in the shared region, and the agent unwinds
 * them (so new objects need no table in the process, and the handler is a memcpy). Wall
 * ticks then come from the agent (si_pid = agent): the process runs no ticker thread.
 */
struct ns_raw_sample {
    uint64_t time_ns, weight;
    uint32_t tid, stack_len;
    uint64_t regs[3]; /* bp, sp, ip */
    uint8_t stack[];  /* stack_len bytes from sp */
};
void ns_signal_set_agent(pid_t agent);
/* Around an exec (attached): block SIGPROF, discard ours; a failed exec unblocks it; the
 * new image unblocks it once its handler is in place (NSPROF_UNBLOCK_SIGPROF). */
void ns_signal_block_for_exec(void);
void ns_signal_unblock_after_exec(void);
int ns_signal_blocked_for_exec(void);

/* Signal: the program's own SIGPROF disposition, kept and chained by nsprof. */
int ns_signal_program_sigaction(const struct sigaction *act, struct sigaction *oldact);
int ns_signal_owns_sigprof(void);
/* Signal: discards SIGPROFs already queued for the calling thread (before an exec). */
void ns_signal_drain_pending(void);

#endif
