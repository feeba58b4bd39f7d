/*
 * off_cpu — wall time from the kernel's switch records (the agent's perf mechanism, -e wall):
 * every piece of a thread's time line (timeline.h) becomes wall time at a stack, and its
 * off-CPU pieces off_cpu time as well, under a leaf frame naming why the thread was off:
 *
 *   - on CPU: a sample's piece (the time since the previous piece) at the sample's stack; the
 *     rest of a span after its last sample at the thread's last sampled stack;
 *   - blocked inside a call an interposer published (sampler/interposed/blocking.h): at the
 *     stack that entered the call, "[off-CPU: sleep|io|lock|cond|poll|wait|signal]";
 *   - blocked anywhere else (a raw system call, libc's internal waits): "[off-CPU: other]"
 *     above "[last sampled stack]" and the thread's last sampled stack — marked, because
 *     that is where the thread last ran, not necessarily where it waits;
 *   - preempted (runnable, waiting for a CPU): "[off-CPU: preempted]" at the call it was in,
 *     or at its last sampled stack, marked the same way;
 *   - records lost meanwhile: "[off-CPU: unknown]", the same way.
 * So a thread's wall total is its life as the switch records bound it. Where perf sees user
 * space only (exclude_kernel), ticks that land in the kernel are dropped: a sample's piece
 * (the thread's CPU time since its previous sample, across preemptions, as perf's timer
 * counts it) that is longer than 1.5 periods held that much unsampled kernel time, charged as
 * a "[kernel]" leaf to the blocking call the thread was in (a read copying from the page
 * cache), or else above the sample's own stack (where the thread came back to).
 *
 * A call is found by time in the thread's history (the last NS_BLOCK_HISTORY calls it
 * began): the latest whose begin is at or before the interval's start and whose end (or
 * the next call's begin, for one left by a cancelled thread) is at or after its end. When
 * the thread began more calls than that since the interval, the oldest entry still there
 * stands for it (counted as off_cpu_nearest_call_ns): a thread that blocks tens of
 * thousands of times a second almost always blocks in the same few calls.
 *
 * Internal to agent/. Not thread-safe (the agent's main loop).
 */
#ifndef NS_OFF_CPU_H
#define NS_OFF_CPU_H

#include "procs.h"

/* A piece of th's time line, in wall mode (ns_procs_add_piece calls it). */
void ns_offcpu_piece(struct ns_athread *th, const struct ns_piece *piece);
/* A sample of th was written at file stack `stack` (frames as unwound): wall_ns, the time
 * of its piece, is wall time there, and it is the thread's last sampled stack from now on. */
void ns_offcpu_sampled(struct ns_athread *th, uint64_t stack, uint64_t time_ns, uint64_t wall_ns,
                       unsigned end, const struct ns_frame *frames, int nframes);
/* A piece held before p's image opened (procs.c replays them with the held samples). */
void ns_offcpu_replay_piece(struct ns_procs *t, struct ns_aproc *p, const struct ns_early_piece *e);
/* th's slot in its region is about to be given back: keep its history. */
void ns_offcpu_slot_gone(struct ns_athread *th, const struct ns_thread *slot);
/* th's process exec'd: its last stack (an id in the old file, frames of the old program) and
 * its slot (in the old region) are forgotten. */
void ns_offcpu_new_image(struct ns_athread *th);
/* Frees what th holds for this module. */
void ns_offcpu_forget(struct ns_athread *th);

#endif
