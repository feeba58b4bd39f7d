/*
 * timeline — one thread's wall time cut into pieces from perf's records, with nothing
 * provoked: the kernel's switch records (context_switch) bound exact on-CPU spans, the
 * gaps between them are the thread's off-CPU intervals, and its cpu-clock samples cut the
 * on-CPU spans further.
 *
 * Fed one thread's records in time order (the agent merges the rings by time), it hands
 * out pieces that together cover the thread's life exactly once:
 *   - NS_PIECE_SAMPLE: the on-CPU time since the previous piece, up to a sample (the
 *     sample's stack is where it went);
 *   - NS_PIECE_ON_CPU: on-CPU time after the span's last sample (up to a switch-out, a
 *     flush or the end): the caller charges it to the thread's last stack; its reason is
 *     NS_OFF_PREEMPTED when the span ended in a preemption (the thread runs on, and a
 *     sampling clock of its own CPU time goes on where it stopped), else NS_OFF_BLOCKED;
 *   - NS_PIECE_OFF_CPU: time off the CPU, with why it left: preempted (still runnable,
 *     waiting for a CPU: PERF_RECORD_MISC_SWITCH_OUT_PREEMPT), blocked (it waited for
 *     something), or unknown (records were lost meanwhile: nothing is paired across a gap).
 * An interval still open at a flush is handed out up to the flush's horizon and goes on
 * from there, so a process killed later keeps a consistent total; at the thread's end the
 * open piece is closed.
 *
 * Pure bookkeeping: no allocation, no I/O; not thread-safe (the agent's main loop).
 */
#ifndef NS_TIMELINE_H
#define NS_TIMELINE_H

#include <stdint.h>

enum ns_piece_kind {
    NS_PIECE_SAMPLE,
    NS_PIECE_ON_CPU,
    NS_PIECE_OFF_CPU,
};

enum ns_off_reason {
    NS_OFF_BLOCKED,
    NS_OFF_PREEMPTED,
    NS_OFF_UNKNOWN,
};

struct ns_piece {
    enum ns_piece_kind kind;
    enum ns_off_reason reason; /* NS_PIECE_OFF_CPU; NS_PIECE_ON_CPU: how it ended */
    uint64_t start_ns, end_ns;
};

typedef void (*ns_piece_fn)(void *ctx, const struct ns_piece *piece);

enum ns_tl_state {
    NS_TL_ON,      /* on a CPU since acct_ns at the latest */
    NS_TL_OFF,     /* off since its switch-out, charged up to acct_ns */
    NS_TL_UNKNOWN, /* not seen switching yet: on CPU (it runs to be seen) */
    NS_TL_ENDED,
};

struct ns_timeline {
    uint64_t acct_ns; /* the thread's time is handed out up to here */
    uint8_t state;    /* enum ns_tl_state */
    uint8_t reason;   /* enum ns_off_reason, while off */
    uint8_t gap;      /* records were lost since the last switch */
};

/* The thread is known from start_ns: created then (its FORK record: runnable until it first
 * runs), or first seen then (running: it is seen because it runs). */
void ns_tl_start(struct ns_timeline *tl, uint64_t start_ns, int created);
void ns_tl_sample(struct ns_timeline *tl, uint64_t t, ns_piece_fn fn, void *ctx);
void ns_tl_switch_out(struct ns_timeline *tl, uint64_t t, int preempted, ns_piece_fn fn, void *ctx);
void ns_tl_switch_in(struct ns_timeline *tl, uint64_t t, ns_piece_fn fn, void *ctx);
/* Records of the thread's CPU may be missing (PERF_RECORD_LOST): the open piece is closed
 * as unknown at the next switch. */
void ns_tl_lost(struct ns_timeline *tl);
/* Hands out the open piece up to horizon_ns (no record of the thread is older). */
void ns_tl_flush(struct ns_timeline *tl, uint64_t horizon_ns, ns_piece_fn fn, void *ctx);
void ns_tl_end(struct ns_timeline *tl, uint64_t t, ns_piece_fn fn, void *ctx);

#endif
