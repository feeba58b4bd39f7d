/*
 * procs — the agent's table of the session's processes and threads, and what it does with
 * each record it reads: a process's life (fork, exec, the end of its last thread), its
 * threads' names and time on CPU, its mapped files, its samples (unwound here), and the
 * profile image of each of its programs (writer/image.h), opened when there is something to
 * write and closed when the image ended and every record older than its end was read.
 *
 * Internal to agent/. Not thread-safe.
 */
#ifndef NS_PROCS_H
#define NS_PROCS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent.h"
#include "image.h"
#include "maps.h"
#include "timeline.h"
#include "view.h"

struct ns_thread;
struct ns_block_history;

struct ns_pending_sample {
    pid_t tid;
    uint32_t end, nframes;
    uint64_t time_ns, weight;
    uint64_t wall_ns; /* wall mode: the time its piece stands for */
    struct ns_frame *frames;
};

/* A piece of a thread's time line that came before its image opened (wall mode). */
struct ns_early_piece {
    pid_t tid;
    struct ns_piece piece;
};

/* "[off-CPU: REASON]" leaves: the blocking calls' reasons (blocking.h), then preempted,
 * unknown (records lost) and other (not an interposed call). */
#define NS_OFFCPU_LEAVES 16

struct ns_athread {
    pid_t tid;
    struct ns_aproc *proc;
    uint64_t start_ns;
    uint64_t on_cpu_since; /* 0: off CPU (or unknown) */
    uint64_t cpu_ns;
    struct ns_timeline tl;    /* perf: on/off CPU from switch records */
    struct ns_pw_off_cpu off; /* off-CPU time so far, by reason */
    /* wall mode (off_cpu.c) */
    uint64_t wall_pending_ns;     /* the time of the sample being taken */
    uint64_t last_stack;          /* file id of its last sampled stack, 0: none yet */
    struct ns_frame *last_frames; /* its frames (up to NS_OFFCPU_FRAMES) */
    uint32_t nlast_frames, last_end;
    const struct ns_thread *slot;  /* its slot in the region (remote address), if found */
    struct ns_block_history *kept; /* the slot's history, kept when the slot was freed */
    /* the file's stack ids of its last few blocking calls' stacks under a leaf (off_cpu.c) */
    struct {
        const void *remote; /* the call's stack in the region */
        uint32_t leaf;
        uint64_t stack;
    } off_stacks[4];
    uint32_t off_stacks_next;
    int exited;
    char comm[16];
    struct ns_athread *hash_next;
};

enum ns_aproc_state {
    NS_AP_ALIVE,
    NS_AP_ENDED, /* its last thread ended (or pidfd said so): final once records caught up */
};

struct ns_aregion {
    int tried_ns_valid;
    uint64_t next_try_ns;
    uint8_t *map;
    size_t map_len;
    struct ns_view view;
    char path[4096];
    const struct ns_shm_header *hdr; /* local */
};

struct ns_aproc {
    pid_t pid, ppid;
    int64_t exec_index; /* -1: the root before its first exec */
    int state;
    uint64_t image_start_ns; /* CLOCK_MONOTONIC: fork, exec, or when the agent looked */
    uint64_t fork_ns;        /* when the process began (its FORK record, or when first seen) */
    uint64_t end_ns;
    int pidfd;
    int is_root;
    struct ns_proc_maps maps;
    uint64_t maps_generation; /* self-sampled: the region's dlopen/dlclose count at the read */
    char exe[4096];
    char comm[16];
    size_t live_threads;
    int have_threads; /* threads are known (records or the root's list) */

    /* the current image's profile */
    struct ns_image image;
    int image_state; /* 0 none yet, 1 open, -1 refused (could not create the file) */
    char out_path[4096];
    struct ns_aregion region;
    uint64_t region_before_ns; /* while an image ends by exec: regions from then on are not its */
    uint64_t samples_since_flush;
    /* Samples of an image without a region yet, held until it gets one or shows it will not:
     * a child between vfork (posix_spawn) and exec runs no constructor of ours, and its few
     * samples of the exec itself make no profile of their own. */
    struct ns_pending_sample *pending;
    size_t npending;
    /* wall time from switch records (the perf mechanism, -e wall: off_cpu.c), and its
     * pieces held like the samples until the image opens */
    int wall_kernel;
    /* perf sees user space only: a sample's piece longer than a period held kernel time */
    uint64_t user_period_ns; /* the sampling period when so, else 0 */
    struct ns_early_piece *early;
    size_t nearly;
    /* the "[off-CPU: ...]" leaf frames in the current image, by off_cpu.c's leaf index
     * (mapping_id 0: not made yet) */
    struct ns_frame off_leaf[NS_OFFCPU_LEAVES];
    uint64_t dropped_before_exec;

    struct ns_aproc *next; /* the table's list */
};

struct ns_procs {
    const struct ns_agent_config *cfg;
    struct ns_aproc *list;
    size_t nlive;             /* processes not yet finalized */
    struct ns_athread **tids; /* hash by tid */
    size_t tid_slots;
    uint64_t mono_to_real; /* CLOCK_REALTIME - CLOCK_MONOTONIC at start */
    uint64_t period_ns;
    uint32_t extra_events;
    const char *const *settings; /* key, value, ..., NULL */
    pid_t cpu_pid[1024];         /* the process last seen on each CPU (for LOST records) */
    int root_status;             /* record: the root's wait status once reaped, else -1 */
    /* Every record older than this was handled: a region created later may belong to an
     * image whose exec is still to be read, so it is not attached yet. */
    uint64_t horizon_ns;
    /* self-sampled sessions (self_sampled.c) */
    uint64_t last_activity_ns; /* a region appeared, or a process ended */
    uint64_t next_scan_ns;
    struct ns_frame frames[4097];
};

int ns_procs_init(struct ns_procs *t, const struct ns_agent_config *cfg,
                  const char *const *settings);
void ns_procs_destroy(struct ns_procs *t);

struct ns_aproc *ns_procs_find(struct ns_procs *t, pid_t pid);
/* A process the agent learns of without a FORK record (the root, or a lost record). */
struct ns_aproc *ns_procs_add(struct ns_procs *t, pid_t pid, pid_t ppid, uint64_t start_ns,
                              int64_t exec_index);
struct ns_athread *ns_procs_add_thread(struct ns_procs *t, struct ns_aproc *p, pid_t tid,
                                       uint64_t start_ns);

/* One perf record (perf_session.h's callback). */
void ns_procs_perf_record(void *ctx, int cpu, const uint8_t *rec, size_t len, uint64_t time_ns);
/* A counter of a CPU's records (lost, throttled): charged to the process that ran there last. */
void ns_procs_count_on_cpu(struct ns_procs *t, int cpu, const char *what, uint64_t n);
/* A sample taken by the process itself (signal mechanism), from its region's rings. */
void ns_procs_raw_sample(struct ns_procs *t, struct ns_aproc *p, pid_t tid, uint64_t time_ns,
                         uint64_t weight, const uint64_t regs[3], const uint8_t *stack,
                         size_t stack_len);

/* For procs.c and perf_records.c only: opens the file of p's current image when there is
 * something to write (1 if open); names a thread in its image after its comm; adds a piece
 * of a thread's time line (timeline.h) to its off-CPU totals (ctx: the thread); unwinds and
 * writes (or holds) one sample; gives a thread a new tid (exec: its tid becomes the pid). */
int ns_procs_open_image(struct ns_procs *t, struct ns_aproc *p);
void ns_procs_name_thread(struct ns_procs *t, struct ns_athread *th, void *ctx);
void ns_procs_add_piece(void *ctx, const struct ns_piece *piece);
void ns_procs_take_sample(struct ns_procs *t, struct ns_aproc *p, pid_t tid, uint64_t time_ns,
                          uint64_t weight, uint64_t ip, const uint64_t regs3[3],
                          const uint8_t *stack, size_t stack_len);
void ns_procs_rekey_thread(struct ns_procs *t, struct ns_athread *th, pid_t tid);

/* The thread with this tid, or NULL. */
struct ns_athread *ns_procs_thread(struct ns_procs *t, pid_t tid);
/* p exec'd at time_ns: its image ends (END exec) and image exec_index begins. */
void ns_procs_next_image(struct ns_procs *t, struct ns_aproc *p, uint64_t time_ns,
                         int64_t exec_index);
/* The process ended at end_ns (its pidfd said so, or its last thread's EXIT). */
void ns_procs_ended(struct ns_procs *t, struct ns_aproc *p, uint64_t end_ns);
/* The thread slots of p's region: self_sampled, the raw samples in their rings older than
 * limit_ns are unwound and written; for every mode, a slot whose thread ended has its last
 * calls written and is given back (threads_region.c). */
void ns_procs_read_threads(struct ns_procs *t, struct ns_aproc *p, int self_sampled,
                           uint64_t limit_ns);
/* With perf's switch records and self-taken samples (cfg->timer_samples): hands out th's
 * samples older than limit_ns, so that a record of th at limit_ns comes after them. */
void ns_procs_self_drain(struct ns_procs *t, struct ns_athread *th, uint64_t limit_ns);
/* th's slot in its process's region (a local pointer; found once, then remembered), or NULL. */
struct ns_thread *ns_procs_thread_slot(struct ns_athread *th);

/* Sessions without perf (self_sampled.c): processes learnt from their regions, live
 * threads' CPU time. */
void ns_self_discover(struct ns_procs *t, uint64_t now_ns);
void ns_self_thread_cpu(struct ns_procs *t, struct ns_aproc *p);

/* Ends the processes without a pidfd that are gone (see procs.c). */
void ns_procs_check_alive(struct ns_procs *t, uint64_t now_ns);
/* Finalizes every ended process whose records up to its end were all read (caught_up_ns:
 * every record older than this was handed out); returns how many are still not final. */
size_t ns_procs_finalize(struct ns_procs *t, uint64_t caught_up_ns);
/* Every flush interval: each open image writes a chunk (thread CPU of live threads,
 * regions' sites...). */
void ns_procs_flush(struct ns_procs *t);
/* Looks for the regions of processes that have none yet (rate-limited per process). */
void ns_procs_attach_regions(struct ns_procs *t, uint64_t now_ns);
/* Polls each region for its live-heap series (cheap; every drain). */
void ns_procs_poll_regions(struct ns_procs *t);

#endif
