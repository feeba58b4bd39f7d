/*
 * perf_session — the agent's perf events: one software cpu-clock event (or, for wall time,
 * a dummy event that samples nothing: ns_perf_params.switches_only) per CPU on the
 * session's first process, inherited by every thread and child it will ever have
 * (`inherit`), sampling user registers and the top of the user stack, with the records that
 * describe the tree: FORK, EXIT, COMM (names, exec), MMAP2 (with build-ids) and
 * context-switch records (each thread's exact time on CPU). All events of a CPU write into
 * that CPU's ring, which only the agent maps: the profiled processes hold no descriptor and
 * run no thread, and a ring drained from outside keeps what a SIGKILLed process sampled.
 *
 * A capture thread of the agent empties the kernel's rings into large queues in the agent's
 * memory every few milliseconds, whatever the agent's main thread is busy with (opening a
 * file, compiling an unwind table): the rings, small because locked, never overflow for
 * that. Records are read from the queues in time order across CPUs (each ring is in time
 * order by itself): ns_perf_session_read hands out every record older than a cutoff, so
 * that a record written a moment later on another CPU cannot be older than one already
 * handed out.
 *
 * Not thread-safe: one caller (the capture thread is the session's own).
 */
#ifndef NS_PERF_SESSION_H
#define NS_PERF_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <sys/types.h>

#include "ring.h"

#define NS_PERF_MAX_CPUS 1024

struct ns_perf_params {
    uint64_t period_ns;
    uint32_t stack_copy;
    int exclude_kernel; /* in: -1 auto, 0 include, 1 exclude; out: what was opened */
    /* 1: a `dummy` event that samples nothing and carries only the records (switches,
     * FORK/EXIT/COMM/MMAP2): wall mode, whose on-CPU stacks come from the threads' CPU
     * timers. A sampling cpu-clock event costs each context switch of the program its
     * hrtimer's cancel and re-arm (several µs on a VM); a dummy event costs almost nothing. */
    int switches_only;
};

struct ns_perf_ring {
    int fd; /* the event whose buffer this is (the CPU's other events write here too) */
    int cpu;
    uint8_t *map;
    size_t map_len;
    uint64_t data_size;
    uint64_t head, tail; /* head as last read; tail: what was handed out */
};

struct ns_perf_session {
    struct ns_perf_ring rings[NS_PERF_MAX_CPUS];
    int nrings;
    int *fds; /* every event (several per CPU when several threads were opened) */
    size_t nfds, fds_cap;
    struct ns_perf_params params;
    uint64_t ring_bytes; /* locked memory the rings take */
    /* what the capture thread moved out of each ring */
    struct ns_ring queues[NS_PERF_MAX_CPUS];
    uint64_t queue_dropped[NS_PERF_MAX_CPUS];
    pthread_t capture;
    int capturing, capture_stop;
    uint64_t captured_ns; /* when the capture thread last emptied the rings */
};

/* The parameters the session's settings give (exclude_kernel -1 for kernel=auto). */
struct ns_config;
struct ns_perf_params ns_perf_params_of(const struct ns_config *cfg);

/* Opens the events on pid (every CPU, inherit, enable_on_exec when the process is about to
 * exec). 0, or -errno with a sentence in why. */
int ns_perf_session_open(struct ns_perf_session *s, pid_t pid, const struct ns_perf_params *p,
                         int enable_on_exec, char *why, size_t whylen);
/* Opens the events of one thread (pid = its tid) on every CPU, disabled, for a process that
 * opens them on itself and hands them to the agent (LD_PRELOAD). Stores the fds in out and
 * their CPUs in out_cpus (cap entries); returns how many, or -errno with a sentence in why.
 * p->exclude_kernel must be 0 or 1. */
int ns_perf_open_thread(pid_t tid, const struct ns_perf_params *p, int *out, int *out_cpus,
                        size_t cap, char *why, size_t whylen);
/* The agent's side of the above: events opened elsewhere, each with its CPU. Maps one ring
 * per CPU and redirects the CPU's other events into it; enable them afterwards. */
int ns_perf_session_adopt(struct ns_perf_session *s, const int *fds, const int *cpus, size_t nfds,
                          const struct ns_perf_params *p, char *why, size_t whylen);
void ns_perf_session_close(struct ns_perf_session *s);
/* Enables every event (after the rings are mapped). */
void ns_perf_session_enable(struct ns_perf_session *s);

/* Starts the capture thread (after the events are enabled); stopping it empties the rings
 * one last time. 0, or -1 with a sentence. */
int ns_perf_session_start_capture(struct ns_perf_session *s, char *why, size_t whylen);
void ns_perf_session_stop_capture(struct ns_perf_session *s);
/* When the capture thread last emptied every ring: records older than that minus a margin
 * are all in the queues. (Without a capture thread, empties them now.) */
uint64_t ns_perf_session_captured(struct ns_perf_session *s);
/* Records of ring i dropped because its queue was full, since the last call. */
uint64_t ns_perf_session_dropped(struct ns_perf_session *s, int i);

/* Calls fn for every record with time < cutoff, oldest first across the rings, then frees
 * their space in the rings. `rec` is the whole record (header first), valid during the call.
 * cutoff UINT64_MAX: everything there is. Returns the number of records. */
typedef void (*ns_perf_record_fn)(void *ctx, int cpu, const uint8_t *rec, size_t len,
                                  uint64_t time_ns);
size_t ns_perf_session_read(struct ns_perf_session *s, uint64_t cutoff, ns_perf_record_fn fn,
                            void *ctx);

/* The fields of a PERF_RECORD_SAMPLE with the session's sample_type. */
struct ns_perf_sample {
    uint64_t ip, time, abi;
    uint32_t pid, tid;
    uint64_t regs[3]; /* bp, sp, ip */
    const uint8_t *stack;
    uint64_t stack_size, dyn_size;
};
int ns_perf_parse_sample(const uint8_t *rec, size_t len, struct ns_perf_sample *out);
/* The pid/tid/time of any other record (sample_id_all). */
int ns_perf_record_ids(const uint8_t *rec, size_t len, uint32_t *pid, uint32_t *tid,
                       uint64_t *time);

#endif
